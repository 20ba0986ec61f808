/**
 * The sandbox (issue #8) of the repository checks and of a command past its timeout, on both mechanisms:
 *
 * - a repository check (runRepositoryChecks with deps.sandbox) sees the same isolation as a command proposer:
 *   no other process (no canary in /proc), the target checkout hidden, linked paths (node_modules) readable
 *   but not writable;
 * - a timeout kills everything the agent started, also children that ignore SIGTERM or left its session.
 *
 * Controls without a sandbox show what each assertion would catch.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandProposerSchema, type CommandProposerConfig } from '../src/config/schema.js';
import { headSha } from '../src/git/git.js';
import { createCommandProposer, type CommandProvenance } from '../src/propose/command.js';
import type { ProposerResult } from '../src/propose/types.js';
import { runRepositoryChecks, type CheckSignal } from '../src/reflect/checks.js';
import { chooseSandbox, type SandboxMechanism } from '../src/sandbox/mechanism.js';
import { planSandbox } from '../src/sandbox/plan.js';
import type { SandboxPlan } from '../src/sandbox/runner.js';
import type { TempRepo } from './helpers/git-repo.js';
import {
  canariesIn,
  eachMechanism,
  fixture,
  killMarked,
  makeCanaries,
  makeTargetRepo,
  markedProcesses,
  proposerContext,
  randomHex,
  sandboxTools,
  snapshotTree,
  startHolder,
  type Canaries,
  type Holder,
} from './sandbox.helpers.js';

const TOOLS = await sandboxTools();
const NODE_MODULE = 'module.exports = "installed";\n';

let repo: TempRepo;
let base: string;
let home: string;
let canaries: Canaries;
let holder: Holder;
const marks: string[] = [];

beforeAll(async () => {
  canaries = makeCanaries();
  repo = await makeTargetRepo({
    'docs/guide.md': '# Guide\n\nteh weather, teh forecast\n',
    'README.md': 'hello\n',
  });
  await repo.git(
    'config',
    'http.https://github.com/.extraheader',
    `AUTHORIZATION: basic ${canaries.checkout}`,
  );
  base = await headSha(repo.dir);
  // Installed dependencies: untracked, linked into the checks' work tree (linkPaths).
  await repo.write({ 'node_modules/pkg/index.js': NODE_MODULE });
  home = await mkdtemp(join(repo.dir, '..', 'se-sbx-home-'));
  holder = await startHolder(canaries);
});
afterAll(async () => {
  for (const m of marks) await killMarked(m);
  await holder?.stop();
  if (home) await rm(home, { recursive: true, force: true });
  await repo?.cleanup();
});

/** A fresh marker for the command lines of what an agent starts. */
function freshMark(): string {
  const mark = `semark${randomHex(6)}`;
  marks.push(mark);
  return mark;
}

/** The environment given to proposers and checks: canaries with secret names, and what agents are told. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    LANG: 'C',
    ...canaries.env,
    SE_TARGET: repo.dir,
    SE_HOLDER_PID: String(holder.pid),
    ...extra,
  };
}

/** The run's sandbox for `mechanism` (planSandbox, the real chooseSandbox) with the given default network. */
async function planFor(mechanism: SandboxMechanism, network: 'on' | 'none'): Promise<SandboxPlan> {
  const decision = await planSandbox(
    { mode: mechanism, network, hidePaths: [] },
    { repoDir: repo.dir, env: env() },
    chooseSandbox,
  );
  if (!decision.ok) throw new Error(decision.message);
  return decision.plan;
}

/** Runs `command` through the command proposer, in the sandbox `plan` when given. */
function propose(
  command: string,
  plan: SandboxPlan | undefined,
  cfg: Partial<CommandProposerConfig> = {},
  extraEnv: Record<string, string> = {},
): Promise<ProposerResult> {
  return createCommandProposer(
    CommandProposerSchema.parse({ kind: 'command', name: 'agent', command, ...cfg }),
    { env: env(extraEnv), ...(plan ? { sandbox: plan } : {}) },
  ).propose(proposerContext(repo.dir, base));
}

/** The provenance of the first proposal or failure. */
function provenanceOf(r: ProposerResult): CommandProvenance {
  return (r.proposals[0]?.provenance ?? r.failures[0]!.provenance) as CommandProvenance;
}

/**
 * Checks that show what a check sees: processes and canaries in /proc, the target, a linked path. The pattern
 * SECANAR[Y] does not match itself on the checks' own command lines.
 */
const ISOLATION_CHECKS = [
  {
    name: 'procs',
    command: [
      'n=$(ls -d /proc/[0-9]* | wc -l)',
      "c=$(cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\\000' '\\n' | grep -c 'SECANAR[Y]')",
      'echo "processes=$n canary-lines=$c"',
      'if [ -e "/proc/$SE_HOLDER_PID/environ" ] && grep -q -a "SECANAR[Y]" "/proc/$SE_HOLDER_PID/environ"; then echo holder-visible; else echo holder-invisible; fi',
    ].join('\n'),
    timeoutSeconds: 30,
  },
  {
    name: 'checkout',
    command: [
      'if [ -e "$SE_TARGET/README.md" ] || [ -e "$SE_TARGET/.git/config" ]; then echo target-visible; else echo target-hidden; fi',
      'grep -c "SECANAR[Y]" "$SE_TARGET/.git/config" 2>/dev/null || echo no-config',
    ].join('\n'),
    timeoutSeconds: 30,
  },
  {
    name: 'linked',
    command: [
      'cat node_modules/pkg/index.js',
      '(echo tampered >> node_modules/pkg/index.js) 2>/dev/null && echo append-ok || echo append-denied',
      '(touch node_modules/pkg/new.js) 2>/dev/null && echo create-ok || echo create-denied',
    ].join('\n'),
    timeoutSeconds: 30,
  },
];

/** Runs {@link ISOLATION_CHECKS} (in `plan` when given); the signals by check name. */
async function isolationChecks(plan: SandboxPlan | undefined): Promise<Record<string, CheckSignal>> {
  const signals = await runRepositoryChecks(repo.dir, base, ISOLATION_CHECKS, {
    env: env(),
    linkPaths: ['node_modules'],
    ...(plan ? { sandbox: plan } : {}),
  });
  return Object.fromEntries(signals.map((s) => [s.name, s]));
}

/** The check `name` of {@link ISOLATION_CHECKS} alone, in `plan`; also asserts the checkout did not change. */
async function oneCheck(name: string, plan: SandboxPlan): Promise<string> {
  const before = await snapshotTree(repo.dir);
  const signals = await runRepositoryChecks(
    repo.dir,
    base,
    ISOLATION_CHECKS.filter((c) => c.name === name),
    { env: env(), linkPaths: ['node_modules'], sandbox: plan },
  );
  expect(signals).toHaveLength(1);
  expect(canariesIn(JSON.stringify(signals), canaries)).toEqual([]);
  expect(await snapshotTree(repo.dir)).toEqual(before);
  return signals[0]!.outputTail;
}

eachMechanism(TOOLS, (mechanism) => {
  it('a repository check sees no other process and no canary in /proc', async () => {
    const out = await oneCheck('procs', await planFor(mechanism, 'none'));
    const procs = /processes=(\d+) canary-lines=(\d+)/.exec(out);
    expect(procs).not.toBeNull();
    expect(Number(procs![1])).toBeLessThan(10);
    expect(procs![2]).toBe('0');
    expect(out).toContain('holder-invisible');
  });

  it('a repository check does not see the target checkout', async () => {
    const out = await oneCheck('checkout', await planFor(mechanism, 'none'));
    expect(out).toContain('target-hidden');
    expect(out).toContain('no-config');
  });

  it('a repository check reads linked paths (node_modules) but cannot write them', async () => {
    const out = await oneCheck('linked', await planFor(mechanism, 'none'));
    expect(out.split('\n')).toEqual(
      expect.arrayContaining(['module.exports = "installed";', 'append-denied', 'create-denied']),
    );
  });

  it('a timeout kills the agent and everything it started, also what ignores SIGTERM or left its session', async () => {
    const mark = freshMark();
    const plan = await planFor(mechanism, 'none');
    const started = Date.now();
    // 4 s: the unshare sandbox's own setup takes up to a second on a loaded machine, before the agent runs.
    const r = await propose(fixture('hostile-linger.sh'), plan, { timeoutSeconds: 4 }, { SE_MARK: mark });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.failures[0]?.error).toMatch(/timed out after 4 s/);
    expect(provenanceOf(r)).toMatchObject({ timedOut: true, sandbox: mechanism });
    expect(provenanceOf(r).stdoutTail).toContain('lingering');
    expect(markedProcesses(mark)).toEqual([]);
    await new Promise((res) => setTimeout(res, 300));
    expect(markedProcesses(mark)).toEqual([]);
  });
});

describe('without a sandbox (controls)', () => {
  it('a check sees the other processes, their canaries, the checkout, and can write through a link', async () => {
    const s = await isolationChecks(undefined);
    try {
      const procs = /processes=(\d+) canary-lines=(\d+)/.exec(s.procs!.outputTail);
      expect(Number(procs![1])).toBeGreaterThan(10);
      expect(Number(procs![2])).toBeGreaterThan(0);
      expect(s.procs!.outputTail).toContain('holder-visible');
      expect(s.checkout!.outputTail).toContain('target-visible');
      expect(s.linked!.outputTail).toContain('append-ok');
    } finally {
      await writeFile(join(repo.dir, 'node_modules/pkg/index.js'), NODE_MODULE);
      await rm(join(repo.dir, 'node_modules/pkg/new.js'), { force: true });
    }
    expect(await readFile(join(repo.dir, 'node_modules/pkg/index.js'), 'utf8')).toBe(NODE_MODULE);
  });

  it('a timeout leaves the child that left the session alive', async () => {
    const mark = freshMark();
    try {
      const r = await propose(
        fixture('hostile-linger.sh'),
        undefined,
        { timeoutSeconds: 1 },
        { SE_MARK: mark },
      );
      expect(provenanceOf(r).timedOut).toBe(true);
      expect(markedProcesses(mark).map((p) => p.cmdline)).toEqual([
        expect.stringContaining(`linger-setsid-${mark}`),
      ]);
    } finally {
      await killMarked(mark);
    }
  });
});
