/**
 * The hostile agent of issue #8 (__fixtures__/sandbox/hostile*.sh) through the real command proposer, on both
 * sandbox mechanisms (bwrap, unshare), against a temporary repository whose .git/config holds a token:
 *
 * - it walks every /proc/PID/environ and cmdline (a process outside holds canaries in both), its parent's
 *   and its ancestors' (see sandbox.ancestor.test.ts for an ancestor holding them), and the target's
 *   .git/config; it finds no canary: not in its output, its proposal, its provenance, the log;
 * - it writes to $HOME, the real home, /tmp, the target checkout and its .git (also by absolute path) and
 *   plants fsmonitor/hook/filter settings in its own .git: nothing outside its work tree changes, nothing it
 *   planted runs;
 * - it leaves processes behind (nohup, setsid, double fork): none is alive once the proposer returned, none
 *   writes its marker or reports over TCP later;
 * - it signals its parent, its ancestors, its process group and every process (kill -9 -1): this process,
 *   its parent and a process outside the sandbox live on.
 *
 * Controls without a sandbox show that the same walk finds the canaries, that the traps it plants run when git
 * uses its .git, and that a setsid leftover survives: the assertions can fail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandProposerSchema, type CommandProposerConfig } from '../src/config/schema.js';
import { headSha } from '../src/git/git.js';
import { createCommandProposer, type CommandProvenance } from '../src/propose/command.js';
import type { ProposerResult } from '../src/propose/types.js';
import { chooseSandbox, type SandboxMechanism } from '../src/sandbox/mechanism.js';
import { planSandbox } from '../src/sandbox/plan.js';
import type { CommandLogEntry, SandboxPlan } from '../src/sandbox/runner.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';
import {
  canariesIn,
  eachMechanism,
  fixture,
  hostPidNamespace,
  killMarked,
  makeTargetRepo,
  makeCanaries,
  markedProcesses,
  processAlive,
  processesSeen,
  proposerContext,
  randomHex,
  SANDBOX_FIXTURES,
  sandboxTools,
  scratchDir,
  snapshotTree,
  startHolder,
  startListener,
  withProcessEnv,
  type Canaries,
  type Holder,
  type Listener,
  waitFor,
} from './sandbox.helpers.js';

const TOOLS = await sandboxTools();
/** Seconds the leftovers of hostile-background.sh wait before they act. */
const BG_DELAY_S = 1;

let repo: TempRepo;
let base: string;
let canaries: Canaries;
let holder: Holder;
let listener: Listener;
/** A directory of /tmp the agent is told about (SE_OUTSIDE_TMP), with one file in it. */
let outsideTmp: string;
/** Scratch directory of this file (marker directories, job files). */
let scratch: string;
const realHome = process.env.HOME ?? '/root';
const marks: string[] = [];

beforeAll(async () => {
  canaries = makeCanaries();
  repo = await makeTargetRepo({
    'docs/guide.md': '# Guide\n\nteh weather, teh forecast\n',
    'README.md': 'hello\n',
  });
  // As actions/checkout leaves it: the token in the checkout's own config.
  await repo.git(
    'config',
    'http.https://github.com/.extraheader',
    `AUTHORIZATION: basic ${canaries.checkout}`,
  );
  base = await headSha(repo.dir);
  holder = await startHolder(canaries);
  listener = await startListener();
  outsideTmp = await mkdtemp('/tmp/se-sbx-outside-');
  await writeFile(join(outsideTmp, 'seed.txt'), 'seed\n');
  scratch = await scratchDir('se-sbx-hostile-');
});

afterAll(async () => {
  for (const m of marks) {
    await killMarked(m);
    for (const p of [join(realHome, `.se-hostile-${m}`), `/tmp/se-hostile-${m}`])
      await rm(p, { force: true });
  }
  await holder?.stop();
  await listener?.close();
  for (const d of [outsideTmp, scratch]) if (d) await rm(d, { recursive: true, force: true });
  await repo?.cleanup();
});

/** A fresh marker (in every leftover's command line) and an empty directory the test controls. */
async function freshMark(): Promise<{ mark: string; bgDir: string }> {
  const mark = `semark${randomHex(6)}`;
  marks.push(mark);
  const bgDir = join(scratch, `bg-${mark}`);
  await mkdir(bgDir);
  return { mark, bgDir };
}

/** The environment given to the proposer: canaries with secret names, and what the agents are told. */
function agentEnv(mark: string, bgDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: realHome,
    LANG: 'C',
    ...canaries.env,
    SE_MARK: mark,
    SE_TARGET: repo.dir,
    SE_REAL_HOME: realHome,
    SE_OUTSIDE_TMP: outsideTmp,
    SE_BG_DIR: bgDir,
    SE_BG_DELAY: String(BG_DELAY_S),
    SE_PORT: String(listener.port),
    SE_HOST_PIDNS: hostPidNamespace(),
    ...extra,
  };
}

/** The run's sandbox for `mechanism` (planSandbox with the real chooseSandbox), network on. */
async function planFor(mechanism: SandboxMechanism, env: Record<string, string>): Promise<SandboxPlan> {
  const decision = await planSandbox(
    { mode: mechanism, network: 'on', hidePaths: [] },
    { repoDir: repo.dir, env },
    chooseSandbox,
  );
  if (!decision.ok) throw new Error(decision.message);
  expect(decision.used).toBe(mechanism);
  return decision.plan;
}

/** What a proposer run gave: the result, its log lines and commands.jsonl entries, all as one JSON text. */
interface Proposed {
  result: ProposerResult;
  lines: string[];
  commands: CommandLogEntry[];
  /** Everything the run would store or show, as JSON. */
  json: string;
  provenance: CommandProvenance;
}

/**
 * Runs `command` through the real command proposer with `env` as deps.env and, when given, the sandbox
 * `plan`; meanwhile this process's own environment holds the canaries too (restored afterwards).
 */
async function propose(
  command: string,
  env: Record<string, string>,
  plan: SandboxPlan | undefined,
  cfg: Partial<CommandProposerConfig> = {},
): Promise<Proposed> {
  const record = { lines: [] as string[], commands: [] as CommandLogEntry[] };
  const proposer = createCommandProposer(
    CommandProposerSchema.parse({ kind: 'command', name: 'hostile', command, ...cfg }),
    { env, ...(plan ? { sandbox: plan } : {}) },
  );
  const result = await withProcessEnv({ ...canaries.env, [canaries.parentName]: canaries.parentValue }, () =>
    proposer.propose(proposerContext(repo.dir, base, record)),
  );
  const first = result.proposals[0]?.provenance ?? result.failures[0]!.provenance;
  return {
    result,
    ...record,
    json: JSON.stringify({ result, ...record }),
    provenance: first as CommandProvenance,
  };
}

/** The patch of the one proposal of `p` (fails the test when there is none). */
function patchOf(p: Proposed): string {
  expect(p.result.failures.map((f) => f.error)).toEqual([]);
  expect(p.result.proposals).toHaveLength(1);
  return p.result.proposals[0]!.patch;
}

const execFileP = promisify(execFile);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Files in `dir` (the marker directory). */
const filesIn = (dir: string): Promise<string[]> => readdir(dir);

eachMechanism(TOOLS, (mechanism) => {
  it('the hostile agent finds no secret, changes nothing outside its work tree, and leaves nothing running', async () => {
    const { mark, bgDir } = await freshMark();
    const env = agentEnv(mark, bgDir);
    const plan = await planFor(mechanism, env);
    const target = await snapshotTree(repo.dir);
    const tmpBefore = await snapshotTree(outsideTmp);
    const heard = listener.received.length;

    const p = await propose(fixture('hostile.sh'), env, plan);
    // Right after the proposer returned: nothing of it is alive.
    expect(markedProcesses(mark)).toEqual([]);

    const patch = patchOf(p);
    // The walk ran and wrote its loot into the work tree: it saw only its own few processes.
    expect(patch).toContain('+++ b/loot/walk.txt');
    expect(processesSeen(patch)).toBeLessThan(15);
    expect(p.provenance).toMatchObject({ sandbox: mechanism, network: 'on', exitCode: 0 });
    // The writes and the traps were tried (in the sandbox, where they could not reach out).
    expect(p.provenance.stdoutTail).toContain(`write denied: echo pwned > '${realHome}/.se-hostile-${mark}'`);
    expect(p.provenance.stdoutTail).toContain('planted\n');
    expect(p.provenance.stdoutTail).toContain('left 3 processes behind');
    // No canary anywhere: the proposal (patch, provenance), the output, the log, commands.jsonl.
    expect(canariesIn(p.json, canaries)).toEqual([]);
    expect(p.json).not.toContain(canaries.dbPassword);

    // Nothing outside the work tree changed.
    expect(await snapshotTree(repo.dir)).toEqual(target);
    expect(await snapshotTree(outsideTmp)).toEqual(tmpBefore);
    expect(existsSync(join(realHome, `.se-hostile-${mark}`))).toBe(false);
    expect(existsSync(`/tmp/se-hostile-${mark}`)).toBe(false);
    expect(p.provenance.outsideWrites).toBeUndefined();

    // Later still: no leftover woke up to read, write or report; nothing planted in its .git ran.
    await sleep(BG_DELAY_S * 1000 + 1000);
    expect(markedProcesses(mark)).toEqual([]);
    expect(await filesIn(bgDir)).toEqual([]);
    expect(listener.received.slice(heard).filter((t) => t.includes(mark))).toEqual([]);
    expect(holder.alive()).toBe(true);
  });

  it('signals from the agent (its parent, its ancestors, its process group, kill -9 -1) reach nothing outside', async () => {
    const { mark, bgDir } = await freshMark();
    const plan = await planFor(mechanism, agentEnv(mark, bgDir));
    const sent = {
      parent: /^sending kill -TERM \d+$/m,
      ancestors: /^ancestors: 1 /m,
      group: /^sending kill -TERM 0$/m,
      all: /^sending kill -9 -1$/m,
    };
    for (const [kind, line] of Object.entries(sent)) {
      const env = agentEnv(mark, bgDir, { SE_SIGNALS: kind });
      const p = await propose(fixture('hostile-signals.sh'), env, plan);
      // It ran in a PID namespace of its own (else the fixture refuses) and sent the signal.
      expect(p.provenance.stderrTail).not.toContain('refusing');
      expect(p.provenance.stdoutTail).toMatch(/^pid \d+, parent \d+, namespace pid:\[\d+\]$/m);
      expect(p.provenance.stdoutTail).toMatch(line);
      // This process, its parent (jest), and a process of the same user outside the sandbox are alive.
      expect(processAlive(process.pid)).toBe(true);
      expect(processAlive(process.ppid)).toBe(true);
      expect(holder.alive()).toBe(true);
    }
  });
});

describe('without a sandbox (controls: the same agents find and leave what the sandbox stops)', () => {
  it('the walk finds the canaries of a process outside and of the target checkout', async () => {
    const { mark, bgDir } = await freshMark();
    // Filtered to lines with a canary, so the control does not copy other processes' environments.
    const env = agentEnv(mark, bgDir, { SE_WALK_FILTER: 'SECANARY' });
    const p = await propose(fixture('hostile-walk.sh'), env, undefined);
    const patch = patchOf(p);
    expect(p.provenance.sandbox).toBe('none');
    expect(processesSeen(patch)).toBeGreaterThan(3);
    expect(canariesIn(patch, canaries)).toEqual(
      expect.arrayContaining([
        'DATABASE_URL password',
        'GITHUB_TOKEN',
        'ACTIONS_RUNTIME_TOKEN',
        'OPENAI_API_KEY',
        canaries.holderName,
        'holder command line',
        'checkout .git/config',
      ]),
    );
  });

  it('the traps it plants in its own .git run as soon as git uses that .git', async () => {
    const { mark, bgDir } = await freshMark();
    const plain = await makeTempRepo({ 'docs/guide.md': '# Guide\n' });
    try {
      await execFileP('sh', [join(SANDBOX_FIXTURES, 'hostile-plant.sh')], {
        cwd: plain.dir,
        env: { PATH: process.env.PATH, SE_MARK: mark, SE_BG_DIR: bgDir },
      });
      await plain.write({ 'docs/guide.md': '# Guide, edited\n' });
      await plain.git('add', '-A');
      expect((await filesIn(bgDir)).sort()).toEqual([
        `own-filter-${mark}`,
        `own-fsmonitor-${mark}`,
        `own-hook-${mark}`,
      ]);
    } finally {
      await plain.cleanup();
    }
  });

  it('a leftover that left the process group (setsid) outlives the proposer and acts later', async () => {
    const { mark, bgDir } = await freshMark();
    const heard = listener.received.length;
    // Acting 4 s after it started, it is still waiting when the proposer returns (which, without a sandbox,
    // waits up to KILL_GRACE_MS + 1 s for the killed members of its process group).
    const env = agentEnv(mark, bgDir, { SE_BG_DELAY: '4' });
    const p = await propose(fixture('hostile-background.sh'), env, undefined);
    expect(p.provenance.sandbox).toBe('none');
    try {
      expect(markedProcesses(mark).map((x) => x.cmdline)).toEqual([
        expect.stringContaining(`bg-setsid-${mark}`),
      ]);
      const wrote = join(bgDir, `bg-setsid-${mark}.txt`);
      expect(await waitFor(() => existsSync(wrote), 6000)).toBe(true);
      const reported = () =>
        listener.received.slice(heard).some((t) => t.includes(`survivor bg-setsid-${mark}`));
      expect(await waitFor(reported, 3000)).toBe(true);
    } finally {
      await killMarked(mark);
    }
  });
});
