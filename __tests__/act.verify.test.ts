/**
 * Live mode's verification (src/act/verify.ts) on a real temporary repository: the change applied in a scratch
 * work tree of the base commit, commands in order until the first failure, timeouts and aborts that kill the
 * whole process group, masked evidence, the sandbox's hidden paths (on each mechanism that works here), no
 * workspace left behind; publishableAfterVerify; recordVerify on a real Postgres database.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  publishableAfterVerify,
  VERIFY_NOT_CONFIGURED_REASON,
  verifyProposal,
  type VerifyCommandInput,
  type VerifyInput,
} from '../src/act/verify.js';
import { RunInterrupted } from '../src/deps.js';
import { runGit } from '../src/git/exec.js';
import { headSha } from '../src/git/git.js';
import type { VerifyReport } from '../src/records.js';
import { chooseSandbox } from '../src/sandbox/mechanism.js';
import { planSandbox } from '../src/sandbox/plan.js';
import type { CommandLogEntry, SandboxPlan } from '../src/sandbox/runner.js';
import { createWorkspace, type Workspace } from '../src/sandbox/workspace.js';
import type { Db } from '../src/store/db.js';
import { insertProposal, listProposals, recordVerify, type NewProposal } from '../src/store/proposals.js';
import { startRun } from '../src/store/runs.js';
import type { TempRepo } from './helpers/git-repo.js';
import { openRunDatabase } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import {
  eachMechanism,
  makeTargetRepo,
  processAlive,
  randomHex,
  sandboxTools,
  scratchDir,
  waitFor,
} from './sandbox.helpers.js';

const TOOLS = await sandboxTools();
const PATCHED_LINE = 'hello, patched world';
const SECRET = `verify-secret-${randomHex(6)}`;
const TOKEN = `ghp_${'Vq7'.repeat(12)}`;

let repo: TempRepo;
let base: string;
let patch: string;
/** The root of every workspace verifyProposal made here (createWorkspace, tracked). */
const roots: string[] = [];
/** Files the commands write outside their workspace (markers, pid files). */
let outside: string;

beforeAll(async () => {
  repo = await makeTargetRepo({
    'src/greeting.txt': 'hello\n',
    'README.md': 'a target\n',
  });
  base = await headSha(repo.dir);
  // The change: made on a branch, the checkout back at the base afterwards.
  await repo.git('switch', '--quiet', '-c', 'change');
  const changed = await repo.commit({ 'src/greeting.txt': `hello\n${PATCHED_LINE}\n` });
  patch = (await runGit(['diff', '--binary', base, changed], { cwd: repo.dir })).stdout;
  await repo.git('switch', '--quiet', 'main');
  outside = await scratchDir('se-verify-out-');
});
afterAll(async () => {
  if (outside) await rm(outside, { recursive: true, force: true });
  await repo?.cleanup();
});

/** The workspaces made here that still exist (each is a self-evolution-* directory of the temporary directory). */
function leftovers(): string[] {
  return roots.filter((r) => existsSync(r));
}

/** createWorkspace, recording the root of each workspace it makes. */
async function trackedWorkspace(repoDir: string, baseSha: string): Promise<Workspace> {
  const ws = await createWorkspace(repoDir, baseSha);
  expect(basename(ws.root).startsWith('self-evolution-')).toBe(true);
  roots.push(ws.root);
  return ws;
}

/** A path outside every workspace, fresh per call. */
const outsidePath = (name: string): string => join(outside, `${name}-${randomHex(4)}`);

/** What verifyProposal logged and gave to onCommand. */
interface Recorded {
  lines: string[];
  commands: CommandLogEntry[];
}

/** verifyProposal on the test repository and its change, recording into a fresh Recorded. */
async function verify(
  commands: readonly VerifyCommandInput[],
  more: Partial<VerifyInput> = {},
): Promise<{ report: VerifyReport; recorded: Recorded }> {
  const recorded: Recorded = { lines: [], commands: [] };
  const log = (m: string): void => void recorded.lines.push(m);
  const report = await verifyProposal({
    repoDir: repo.dir,
    baseSha: base,
    patch,
    commands,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' },
    logger: { debug: log, info: log, warn: log, error: log },
    onCommand: (e) => void recorded.commands.push(e),
    createWorkspace: trackedWorkspace,
    ...more,
  });
  return { report, recorded };
}

describe('verifyProposal without a sandbox', () => {
  it('applies the change in a scratch work tree of the base commit and records each passing command', async () => {
    const { report, recorded } = await verify([
      { name: 'patched', command: `grep -q '${PATCHED_LINE}' src/greeting.txt && echo found-patched-line` },
      { name: 'both streams', command: 'echo to-stdout; echo to-stderr >&2; pwd', timeoutSeconds: 30 },
    ]);
    expect(report.status).toBe('passed');
    expect(report.reason).toBeUndefined();
    expect(report.commands.map((c) => [c.name, c.exitCode, c.signal, c.timedOut, c.sandbox])).toEqual([
      ['patched', 0, null, false, 'none'],
      ['both streams', 0, null, false, 'none'],
    ]);
    expect(report.commands[0]!.stdoutTail).toBe('found-patched-line\n');
    expect(report.commands[0]!.command).toBe(
      `grep -q '${PATCHED_LINE}' src/greeting.txt && echo found-patched-line`,
    );
    expect(report.commands[1]!.stderrTail).toBe('to-stderr\n');
    const cwd = report.commands[1]!.stdoutTail.split('\n')[1]!;
    expect(cwd).toBe(join(roots.at(-1)!, 'work'));
    for (const c of report.commands) expect(c.durationMs).toBeGreaterThanOrEqual(0);
    // One commands.jsonl entry per command, kind 'verify', in the same work tree.
    expect(recorded.commands.map((e) => [e.kind, e.name, e.exitCode, e.cwd, e.timeoutMs])).toEqual([
      ['verify', 'patched', 0, cwd, 300_000],
      ['verify', 'both streams', 0, cwd, 30_000],
    ]);
    // The checkout itself is untouched, and no workspace is left.
    expect(await readFile(join(repo.dir, 'src/greeting.txt'), 'utf8')).toBe('hello\n');
    expect(existsSync(cwd)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('the control: with another change (README only) the same grep fails', async () => {
    const readmeOnly = [
      'diff --git a/README.md b/README.md',
      '--- a/README.md',
      '+++ b/README.md',
      '@@ -1 +1 @@',
      '-a target',
      '+a target, changed',
      '',
    ].join('\n');
    const { report } = await verify(
      [{ name: 'patched', command: `grep -q '${PATCHED_LINE}' src/greeting.txt` }],
      { patch: readmeOnly },
    );
    expect(report.status).toBe('failed');
    expect(report.reason).toBe('verify command "patched" exited 1');
  });

  it('an empty patch is no change git applies: failed, nothing runs', async () => {
    const { report, recorded } = await verify([{ name: 'test', command: 'true' }], { patch: '' });
    expect(report.status).toBe('failed');
    expect(report.reason!.startsWith(`the change does not apply to ${base.slice(0, 8)}: `)).toBe(true);
    expect(report.commands).toEqual([]);
    expect(recorded.commands).toEqual([]);
  });

  it('stops at the first failing command: a later one does not run', async () => {
    const marker = outsidePath('later-ran');
    const { report, recorded } = await verify([
      { name: 'ok', command: 'true' },
      { name: 'test', command: 'echo "running 3 tests"; echo "2 tests failed" >&2; exit 3' },
      { name: 'later', command: `touch '${marker}'` },
    ]);
    expect(report.status).toBe('failed');
    expect(report.reason).toBe('verify command "test" exited 3: 2 tests failed');
    expect(report.commands.map((c) => [c.name, c.exitCode])).toEqual([
      ['ok', 0],
      ['test', 3],
    ]);
    expect(report.commands[1]!.stdoutTail).toBe('running 3 tests\n');
    expect(recorded.commands.map((e) => e.name)).toEqual(['ok', 'test']);
    expect(existsSync(marker)).toBe(false);
    expect(leftovers()).toEqual([]);

    // The control: alone, the later command does create its marker.
    const { report: alone } = await verify([{ name: 'later', command: `touch '${marker}'` }]);
    expect(alone.status).toBe('passed');
    expect(existsSync(marker)).toBe(true);
  });

  it('kills the whole process group on timeout: a background child does not outlive the call', async () => {
    const pidFile = outsidePath('child-pid');
    const marker = outsidePath('after-timeout');
    const { report } = await verify([
      { name: 'hangs', command: `sleep 300 & echo $! > '${pidFile}'; wait`, timeoutSeconds: 1 },
      { name: 'later', command: `touch '${marker}'` },
    ]);
    expect(report.status).toBe('failed');
    expect(report.reason).toBe('verify command "hangs" timed out after 1 s');
    expect(report.commands).toHaveLength(1);
    expect(report.commands[0]).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGTERM' });
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(pid).toBeGreaterThan(1);
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(marker)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it("a change that does not apply to the base fails with git's reason, and no command runs", async () => {
    const marker = outsidePath('ran');
    const stale = [
      'diff --git a/src/greeting.txt b/src/greeting.txt',
      '--- a/src/greeting.txt',
      '+++ b/src/greeting.txt',
      '@@ -1 +1 @@',
      '-a line the base does not have',
      '+whatever',
      '',
    ].join('\n');
    const { report, recorded } = await verify([{ name: 'test', command: `touch '${marker}'` }], {
      patch: stale,
    });
    expect(report.status).toBe('failed');
    expect(report.commands).toEqual([]);
    expect(report.reason!.startsWith(`the change does not apply to ${base.slice(0, 8)}: `)).toBe(true);
    expect(report.reason).toMatch(/patch (failed|does not apply)/);
    // git's words, not the path of the scratch work tree.
    expect(report.reason).not.toContain(roots.at(-1)!);
    expect(recorded.commands).toEqual([]);
    expect(existsSync(marker)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('masks secrets in the output, the command text and the reason; the environment is scrubbed', async () => {
    const apiKey = `key-${randomHex(8)}`;
    const { report, recorded } = await verify(
      [
        {
          name: 'prints',
          command: `echo "given ${SECRET}"; echo "key=$SERVICE_API_KEY gh=\${GITHUB_TOKEN:-unset}"`,
        },
        { name: 'fails', command: `echo "token ${TOKEN}" >&2; exit 1` },
      ],
      {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          GITHUB_TOKEN: `ghs_${randomHex(12)}`,
          SERVICE_API_KEY: apiKey,
        },
        passEnv: ['SERVICE_API_KEY'],
        secrets: [SECRET],
      },
    );
    expect(report.status).toBe('failed');
    const [prints, fails] = report.commands;
    expect(prints!.command).toBe('echo "given ***"; echo "key=$SERVICE_API_KEY gh=${GITHUB_TOKEN:-unset}"');
    // passEnv let the key through, but its value is masked; GITHUB_TOKEN never reaches the command.
    expect(prints!.stdoutTail).toBe('given ***\nkey=*** gh=unset\n');
    expect(fails!.stderrTail).toBe('token ***\n');
    expect(report.reason).toBe('verify command "fails" exited 1: token ***');
    const everything = JSON.stringify({ report, recorded });
    for (const s of [SECRET, TOKEN, apiKey]) expect(everything).not.toContain(s);
  });

  it('returns not-configured without commands, making no work tree', async () => {
    const made = roots.length;
    const { report, recorded } = await verify([], { repoDir: '/nonexistent/repository' });
    expect(roots.length).toBe(made);
    expect(report).toEqual({ status: 'not-configured', commands: [] });
    expect(recorded.commands).toEqual([]);
  });

  it("an abort kills the running command's process group and rejects; later commands do not run", async () => {
    const pidFile = outsidePath('abort-pid');
    const finished = outsidePath('abort-finished');
    const later = outsidePath('abort-later');
    const controller = new AbortController();
    const pending = verify(
      [
        {
          name: 'long',
          command: `sleep 60 & echo $! > '${pidFile}'; wait; touch '${finished}'`,
          timeoutSeconds: 120,
        },
        { name: 'later', command: `touch '${later}'` },
      ],
      { signal: controller.signal },
    );
    const outcome = pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(await waitFor(() => existsSync(pidFile), 10_000)).toBe(true);
    controller.abort({ kind: 'signal', signal: 'SIGTERM' });
    const error = await outcome;
    expect(error).toBeInstanceOf(RunInterrupted);
    expect((error as RunInterrupted).reason).toEqual({ kind: 'signal', signal: 'SIGTERM' });
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(finished)).toBe(false);
    expect(existsSync(later)).toBe(false);
    expect(leftovers()).toEqual([]);
  }, 30_000);

  it('an already aborted signal runs nothing', async () => {
    const marker = outsidePath('pre-aborted');
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    const made = roots.length;
    await expect(
      verify([{ name: 'test', command: `touch '${marker}'` }], { signal: controller.signal }),
    ).rejects.toThrow('stop now');
    expect(existsSync(marker)).toBe(false);
    expect(roots.length).toBe(made);
  });

  it('refuses a timeout that is not a positive number before anything runs', async () => {
    await expect(verify([{ name: 'test', command: 'true', timeoutSeconds: 0 }])).rejects.toThrow(
      'verify command "test": timeoutSeconds must be a positive number, got 0',
    );
  });
});

describe('verifyProposal in the sandbox', () => {
  let secretDir: string;
  let secretFile: string;
  const secretText = `planted-${randomHex(8)}`;

  beforeAll(async () => {
    secretDir = await scratchDir('se-verify-hidden-');
    secretFile = join(secretDir, 'credentials');
    await writeFile(secretFile, `${secretText}\n`);
  });
  afterAll(async () => {
    if (secretDir) await rm(secretDir, { recursive: true, force: true });
  });

  const env = () => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    SE_TARGET: repo.dir,
    SE_PLANTED_FILE: secretFile,
  });

  /** What the command sees: the change, the target checkout, the planted file. */
  const LOOK = [
    `grep -q '${PATCHED_LINE}' src/greeting.txt && echo change-applied || echo change-missing`,
    'if [ -e "$SE_TARGET/README.md" ] || [ -e "$SE_TARGET/.git/config" ]',
    'then echo target-visible; else echo target-hidden; fi',
    'cat "$SE_PLANTED_FILE" 2>/dev/null || echo secret-hidden',
  ].join('\n');

  it('the control: without a sandbox the command sees the target checkout and the planted file', async () => {
    const { report } = await verify([{ name: 'look', command: LOOK }], { env: env() });
    expect(report.status).toBe('passed');
    expect(report.commands[0]!.stdoutTail).toBe(`change-applied\ntarget-visible\n${secretText}\n`);
  });

  eachMechanism(TOOLS, (mechanism) => {
    /** The run's plan: the real planSandbox, the planted directory among the hidden paths. */
    async function plan(network: 'on' | 'none'): Promise<SandboxPlan> {
      const decision = await planSandbox(
        { mode: mechanism, network, hidePaths: [secretDir] },
        { repoDir: repo.dir, env: env() },
        chooseSandbox,
      );
      if (!decision.ok) throw new Error(decision.message);
      return decision.plan;
    }

    it("runs the commands with the change applied, hiding the checkout and the plan's hidden paths", async () => {
      const { report, recorded } = await verify([{ name: 'look', command: LOOK }], {
        env: env(),
        sandbox: await plan('none'),
      });
      expect(report.status).toBe('passed');
      expect(report.commands[0]!.sandbox).toBe(mechanism);
      expect(report.commands[0]!.stdoutTail).toBe('change-applied\ntarget-hidden\nsecret-hidden\n');
      expect(recorded.commands[0]!.sandbox).toBe(mechanism);
      expect(leftovers()).toEqual([]);
    });

    it('a failing command in the sandbox stops the later ones', async () => {
      const marker = outsidePath('sandbox-later');
      const { report } = await verify(
        [
          { name: 'test', command: 'exit 2' },
          { name: 'later', command: `touch '${marker}'` },
        ],
        { env: env(), sandbox: await plan('on') },
      );
      expect(report.status).toBe('failed');
      expect(report.reason).toBe('verify command "test" exited 2');
      expect(report.commands.map((c) => c.name)).toEqual(['test']);
      expect(existsSync(marker)).toBe(false);
    });
  });
});

describe('publishableAfterVerify', () => {
  const passed: VerifyReport = { status: 'passed', commands: [] };
  const failed: VerifyReport = { status: 'failed', commands: [], reason: 'verify command "test" exited 1' };
  const none: VerifyReport = { status: 'not-configured', commands: [] };

  it.each([
    [passed, 0, false, { ok: true }],
    [passed, 5, false, { ok: true }],
    [failed, 0, false, { ok: false, reason: 'verify command "test" exited 1' }],
    [failed, 1, true, { ok: false, reason: 'verify command "test" exited 1' }],
    [none, 0, false, { ok: true }],
    [none, 1, false, { ok: true }],
    [none, 2, false, { ok: false, reason: VERIFY_NOT_CONFIGURED_REASON }],
    [none, 5, false, { ok: false, reason: VERIFY_NOT_CONFIGURED_REASON }],
    [none, null, false, { ok: false, reason: VERIFY_NOT_CONFIGURED_REASON }],
    [none, 2, true, { ok: true }],
    [none, 5, true, { ok: true }],
  ] as const)('%j at risk %s, optional %s -> %j', (verify, computedRisk, optional, expected) => {
    expect(publishableAfterVerify({ verify, computedRisk, optional })).toEqual(expected);
  });

  it('a failed report without a reason still says it failed', () => {
    expect(
      publishableAfterVerify({ verify: { status: 'failed', commands: [] }, computedRisk: 0, optional: true }),
    ).toEqual({ ok: false, reason: 'verify failed' });
  });

  it('the reason for a missing verify names the fix', () => {
    expect(VERIFY_NOT_CONFIGURED_REASON).toBe(
      'no verify commands configured; a change of risk 2 or more needs them (or verify.optional: true)',
    );
  });
});

describe('recordVerify on Postgres', () => {
  let database: TestDatabase;
  let db: Db;
  let runId: number;

  beforeAll(async () => {
    ({ database, admin: db } = await openRunDatabase('act verify'));
    const started = await startRun(db, {
      repository: 'octo/verify',
      runDate: '2026-03-01',
      trigger: 'schedule',
      dryRun: false,
      forced: false,
      gates: [],
      startedAt: new Date('2026-03-01T02:00:00Z'),
      config: {},
      overrides: {},
    });
    if (!started.ok) throw new Error('the run was not started');
    runId = started.run.id;
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const proposal = (overrides: Partial<NewProposal> = {}): NewProposal => ({
    proposer: 'command:agent',
    type: 'cleanup',
    title: 'Fix typos',
    description: 'Two typos.',
    riskLevel: 1,
    effort: 1,
    status: 'evaluated',
    verdict: 'allowed',
    blockedReasons: [],
    violations: [],
    filesChanged: 1,
    linesAdded: 1,
    linesDeleted: 1,
    patch: 'diff --git a/a b/a\n',
    provenance: {},
    ...overrides,
  });

  const row = async (id: number) => (await listProposals(db, runId)).find((p) => p.id === id)!;

  const evidence = {
    name: 'test',
    command: 'npm test',
    exitCode: 1,
    signal: null,
    timedOut: false,
    durationMs: 1234,
    stdoutTail: 'ran 3\n',
    stderrTail: '1 failed\n',
    sandbox: 'bwrap',
  } as const;

  it('stores a passing report and keeps the status evaluated', async () => {
    const id = await insertProposal(db, runId, proposal());
    expect((await row(id)).verify).toBeNull();
    const report: VerifyReport = { status: 'passed', commands: [{ ...evidence, exitCode: 0 }] };
    await recordVerify(db, id, report);
    const stored = await row(id);
    expect(stored.status).toBe('evaluated');
    expect(stored.verify).toEqual(report);
    expect(stored.verdict).toBe('allowed');
  });

  it('a failed report sets verify-failed; a later passing one sets it back to evaluated', async () => {
    const id = await insertProposal(db, runId, proposal({ title: 'Risky' }));
    const report: VerifyReport = {
      status: 'failed',
      commands: [evidence],
      reason: 'verify command "test" exited 1',
    };
    await recordVerify(db, id, report);
    const stored = await row(id);
    expect(stored.status).toBe('verify-failed');
    expect(stored.verdict).toBe('allowed');
    expect(stored.verify).toEqual(report);
    await recordVerify(db, id, { status: 'not-configured', commands: [] });
    expect(await row(id)).toMatchObject({
      status: 'evaluated',
      verify: { status: 'not-configured', commands: [] },
    });
  });

  it('refuses a blocked proposal and an unknown id, changing nothing', async () => {
    const id = await insertProposal(
      db,
      runId,
      proposal({ title: 'Blocked', verdict: 'blocked', blockedReasons: ['path-blocked: .github/x'] }),
    );
    await expect(recordVerify(db, id, { status: 'failed', commands: [], reason: 'x' })).rejects.toThrow(
      `proposal ${id}: no allowed proposal with that id`,
    );
    expect(await row(id)).toMatchObject({ status: 'evaluated', verdict: 'blocked', verify: null });
    await expect(recordVerify(db, 987654, { status: 'passed', commands: [] })).rejects.toThrow(
      'proposal 987654: no allowed proposal with that id',
    );
  });
});

describe('workspaces', () => {
  it('every workspace verifyProposal made in this file was removed', () => {
    expect(roots.length).toBeGreaterThan(5);
    expect(leftovers()).toEqual([]);
  });
});
