/**
 * A real CLI process interrupted mid-proposer (issue #9, part 8), against a real Postgres: GitHub's cancel sends
 * SIGINT, then SIGTERM 7.5 s later, then SIGKILL; Ctrl-C is SIGINT.
 * - SIGINT (then more signals while it cleans up): exits 130 by itself within CANCEL_GRACE_MS of the signal, row
 *   'cancelled', no process of its proposer and no scratch directory left, artifacts written;
 * - SIGTERM: exits 143 the same way;
 * - the connection holding its run lock terminated (pg_terminate_backend): exits 1, row 'failed' with "lost the
 *   run lock".
 * "Within CANCEL_GRACE_MS" is asserted the way GitHub enforces it: the test SIGKILLs the process at that bound
 * and asserts that it had exited by itself before (no duration is compared).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CANCEL_GRACE_MS } from '../src/sandbox/interrupts.js';
import type { Db } from '../src/store/db.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';
import { startCli, type CliResult } from './helpers/cli.js';
import {
  SLEEPER_FILES,
  alive,
  lockBackendPid,
  scratchDirsOf,
  sleeperPids,
  waitFor,
} from './helpers/cancel.js';

let database: TestDatabase;
let admin: Db;
let repo: TempRepo;
/** The CLI's TMPDIR: its scratch directories go there, and only there. */
let tmp: string;
let pidsDir: string;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('cli_cancel'));
  await resetRuns(admin);
  repo = await makeTempRepo(SLEEPER_FILES);
});

afterAll(async () => {
  await repo?.cleanup();
  await admin?.close();
  await database?.drop();
});

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'se-cli-cancel-tmp-'));
  pidsDir = await mkdtemp(join(tmpdir(), 'se-cli-cancel-pids-'));
});

afterEach(async () => {
  const pids = sleeperPids(pidsDir);
  for (const pid of pids ? [pids.main, pids.bg] : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await rm(tmp, { recursive: true, force: true });
  await rm(pidsDir, { recursive: true, force: true });
});

interface Interrupted {
  result: CliResult;
  /** The test had to SIGKILL it at CANCEL_GRACE_MS after the first signal (it had not exited by itself). */
  killedAtBound: boolean;
  /** The proposer's pids. */
  pids: { main: number; bg: number };
  /** The CLI's pid. */
  cliPid: number;
}

/**
 * Starts `self-evolution run` for `repository` with its proposer sleeping, waits until it sleeps, calls
 * `interrupt`, and waits for the process: SIGKILLed at CANCEL_GRACE_MS after `interrupt` was called when it is
 * still there.
 */
async function interruptedRun(
  repository: string,
  interrupt: (cliPid: number) => Promise<void>,
): Promise<Interrupted> {
  const cli = startCli(['run', '--repo', repo.dir, '--repository', repository, '--no-jitter', '--json'], {
    DATABASE_URL: database.url,
    SE_TEST_PIDS: pidsDir,
    TMPDIR: tmp,
  });
  let exited = false;
  cli.child.on('exit', () => (exited = true));
  try {
    const started = await waitFor(() => sleeperPids(pidsDir) !== undefined || exited, 60_000);
    if (!started || exited)
      throw new Error(`the proposer did not start: ${(await cli.result).stderr.slice(-2000)}`);
    const pids = sleeperPids(pidsDir)!;
    expect([alive(pids.main), alive(pids.bg)]).toEqual([true, true]);
    const signalledAt = Date.now();
    await interrupt(cli.child.pid!);
    let killedAtBound = false;
    const bound = setTimeout(() => {
      if (exited) return;
      killedAtBound = true;
      cli.child.kill('SIGKILL');
    }, CANCEL_GRACE_MS);
    const result = await cli.result;
    clearTimeout(bound);
    // The time it took, with SE_TEST_FIGURES=1 (a passing `npm test` prints its summary only).
    if (process.env.SE_TEST_FIGURES === '1') {
      process.stderr.write(
        `cli.cancel: ${repository}: exit ${result.code} ${Date.now() - signalledAt} ms after the interruption\n`,
      );
    }
    return { result, killedAtBound, pids, cliPid: cli.child.pid! };
  } finally {
    if (!exited) cli.child.kill('SIGKILL');
  }
}

/** The runs of `repository`, oldest first. */
async function runsOf(
  repository: string,
): Promise<Array<{ id: number; status: string; error: string | null }>> {
  return admin.query('SELECT id, status, error FROM self_evolution_runs WHERE repository = $1 ORDER BY id', [
    repository,
  ]);
}

describe('self-evolution run, interrupted', () => {
  it('SIGINT (and more signals while it cleans up): exits 130 by itself within the grace time, cancelled and clean', async () => {
    const { result, killedAtBound, pids, cliPid } = await interruptedRun('acme/sigint', async (pid) => {
      process.kill(pid, 'SIGINT');
      // A second Ctrl-C and GitHub's SIGTERM must not cut the cleanup short.
      await new Promise((r) => setTimeout(r, 150));
      process.kill(pid, 'SIGINT');
      process.kill(pid, 'SIGTERM');
    });
    expect(killedAtBound).toBe(false);
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('SIGINT: cancelling the run');
    expect(result.stderr).toContain('SIGTERM: already cancelling');
    const json = JSON.parse(result.stdout) as { status: string; runId: number; artifactsDir: string };
    expect(json.status).toBe('cancelled');
    expect(await runsOf('acme/sigint')).toEqual([{ id: json.runId, status: 'cancelled', error: null }]);
    expect(existsSync(join(json.artifactsDir, 'run.json'))).toBe(true);
    expect([alive(pids.main), alive(pids.bg)]).toEqual([false, false]);
    expect(scratchDirsOf(cliPid, tmp)).toEqual([]);
  }, 120_000);

  it('SIGTERM: exits 143 by itself within the grace time, cancelled', async () => {
    const { result, killedAtBound, pids, cliPid } = await interruptedRun('acme/sigterm', async (pid) => {
      process.kill(pid, 'SIGTERM');
    });
    expect(killedAtBound).toBe(false);
    expect(result.code).toBe(143);
    const json = JSON.parse(result.stdout) as { status: string; runId: number };
    expect(json.status).toBe('cancelled');
    expect(await runsOf('acme/sigterm')).toEqual([{ id: json.runId, status: 'cancelled', error: null }]);
    expect([alive(pids.main), alive(pids.bg)]).toEqual([false, false]);
    expect(scratchDirsOf(cliPid, tmp)).toEqual([]);
  }, 120_000);

  it('its lock connection terminated: exits 1, failed with "lost the run lock"', async () => {
    const { result, killedAtBound, pids, cliPid } = await interruptedRun('acme/lost-lock', async () => {
      const backend = await lockBackendPid(admin, 'acme/lost-lock');
      expect(backend).toEqual(expect.any(Number));
      await admin.query('SELECT pg_terminate_backend($1)', [backend]);
    });
    expect(killedAtBound).toBe(false);
    expect(result.code).toBe(1);
    const json = JSON.parse(result.stdout) as { status: string; runId: number; error: string };
    expect(json.status).toBe('failed');
    expect(json.error).toMatch(/^lost the run lock: /);
    const rows = await runsOf('acme/lost-lock');
    expect(rows).toEqual([{ id: json.runId, status: 'failed', error: json.error }]);
    expect([alive(pids.main), alive(pids.bg)]).toEqual([false, false]);
    expect(scratchDirsOf(cliPid, tmp)).toEqual([]);
  }, 120_000);
});
