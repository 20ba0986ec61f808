/**
 * bench/fleet.ts (`npm run bench:fleet`): its counting from both sides (the database's rows and the runs' own
 * results) on made-up runs, its options, and one small fleet end to end (4 repositories, max_connections 20, a
 * 1-second proposer, in-process) whose figures must add up.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

import {
  countRuns,
  parseFleetArgs,
  renderFigures,
  type FleetFigures,
  type RunResult,
} from '../bench/fleet.js';

const BENCH = fileURLToPath(new URL('../bench/fleet.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A run's result: exit 0 and a report of `status`, unless overridden. */
function result(repository: string, over: Partial<RunResult> = {}, status = 'success'): RunResult {
  return {
    repository,
    exitCode: status === 'failed' ? 1 : 0,
    signal: null,
    report: { runId: null, status, skipReason: null, error: null, summary: `${status}` },
    errorLine: null,
    stderrTail: '',
    maxRssKib: null,
    cpuSeconds: null,
    ms: 1000,
    timedOut: false,
    ...over,
  };
}

/** A row of self_evolution_runs. */
function row(id: number, repository: string, status: string, over: Record<string, unknown> = {}) {
  return { id, repository, status, skip_reason: null, error: null, summary: null, stages: null, ...over };
}

describe('countRuns', () => {
  it('counts both sides and groups the reasons: recorded success, skipped, failed, and not recorded', () => {
    const results = [
      result('fleet/repo-1', {
        report: { runId: 1, status: 'success', skipReason: null, error: null, summary: '' },
      }),
      result('fleet/repo-2', {
        report: { runId: 2, status: 'skipped', skipReason: 'lock held', error: null, summary: '' },
      }),
      result('fleet/repo-3', {
        exitCode: 1,
        report: { runId: 3, status: 'failed', skipReason: null, error: 'boom', summary: '' },
      }),
      result('fleet/repo-4', {
        exitCode: 1,
        report: {
          runId: null,
          status: 'failed',
          skipReason: null,
          error: 'too many connections (53300)',
          summary: 'database unavailable, nothing was run: too many connections (53300)',
        },
      }),
      result('fleet/repo-5', {
        exitCode: 1,
        report: {
          runId: null,
          status: 'failed',
          skipReason: null,
          error: 'x',
          summary: 'database unavailable, nothing was run: too many connections (53300)',
        },
      }),
    ];
    const rows = [
      row(1, 'fleet/repo-1', 'success'),
      row(2, 'fleet/repo-2', 'skipped', { skip_reason: 'lock held' }),
      row(3, 'fleet/repo-3', 'failed', { error: 'boom\nsecond line' }),
    ];
    const c = countRuns(results, rows);
    expect(c.database).toEqual({ success: 1, skipped: 1, failed: 1, none: 2, other: 0 });
    expect(c.results).toEqual({ success: 1, skipped: 1, failed: 3, none: 0, other: 0 });
    expect(c.recorded).toBe(3);
    expect(c.failed).toBe(3);
    expect(c.skippedReasons).toEqual([['lock held', 1]]);
    expect(c.failedErrors).toEqual([['boom', 1]]);
    expect(c.notRecordedReasons).toEqual([
      ['database unavailable, nothing was run: too many connections (53300)', 2],
    ]);
    expect(c.exitCodes).toEqual([
      ['0', 2],
      ['1', 3],
    ]);
    expect(c.mismatches).toEqual([]);
  });

  it('flags every disagreement between the rows and the results', () => {
    const results = [
      // reported success, the row says failed
      result('fleet/repo-1', {
        report: { runId: 1, status: 'success', skipReason: null, error: null, summary: '' },
      }),
      // two rows
      result('fleet/repo-2', {
        report: { runId: 3, status: 'success', skipReason: null, error: null, summary: '' },
      }),
      // a row but no report (the process died)
      result('fleet/repo-3', { exitCode: null, signal: 'SIGKILL', report: null }),
      // skipped but exit code 1
      result('fleet/repo-4', {
        exitCode: 1,
        report: { runId: 5, status: 'skipped', skipReason: 'r', error: null, summary: '' },
      }),
      // a run id without its row
      result('fleet/repo-5', {
        report: { runId: 99, status: 'success', skipReason: null, error: null, summary: '' },
      }),
    ];
    const rows = [
      row(1, 'fleet/repo-1', 'failed'),
      row(2, 'fleet/repo-2', 'skipped'),
      row(3, 'fleet/repo-2', 'success'),
      row(4, 'fleet/repo-3', 'running'),
      row(5, 'fleet/repo-4', 'skipped', { skip_reason: 'r' }),
      row(6, 'fleet/repo-9', 'success'),
    ];
    const c = countRuns(results, rows);
    const text = c.mismatches.join('\n');
    expect(text).toContain("fleet/repo-1: the run reported 'success', its row #1 says 'failed'");
    expect(text).toContain('fleet/repo-2: 2 rows (#2, #3)');
    expect(text).toContain("fleet/repo-3: its row #4 is still 'running'");
    expect(text).toContain("fleet/repo-3: row #4 ('running') but no report");
    expect(text).toContain("fleet/repo-4: status 'skipped' but exit code 1");
    expect(text).toContain('fleet/repo-5: the run reported run #99, which has no row of it');
    expect(text).toContain('fleet/repo-9: rows of a repository the benchmark did not run');
    expect(c.database.other).toBe(1);
    expect(c.results.none).toBe(1);
    // repo-1's failed row and repo-5 (no row) are failures.
    expect(c.failed).toBe(2);
  });

  it('counts a run cancelled at the deadline as failed, with the reason', () => {
    const c = countRuns([result('fleet/repo-1', { timedOut: true, exitCode: 143, report: null })], []);
    expect(c.failed).toBe(1);
    expect(c.timedOut).toBe(1);
    expect(c.notRecordedReasons).toEqual([['timed out (cancelled at the deadline)', 1]]);
  });
});

describe('parseFleetArgs', () => {
  it("has the issue's defaults", () => {
    expect(parseFleetArgs([])).toEqual({
      repositories: 200,
      maxConnections: 50,
      proposerSeconds: 8,
      mode: 'auto',
      sandbox: 'none',
      deadlineSeconds: 600,
      json: false,
    });
  });

  it('rejects what it cannot run', () => {
    expect(() => parseFleetArgs(['--repositories', '0'])).toThrow(/--repositories/);
    expect(() => parseFleetArgs(['--max-connections', '3'])).toThrow(/--max-connections/);
    expect(() => parseFleetArgs(['--mode', 'threads'])).toThrow(/--mode/);
    expect(() => parseFleetArgs(['--proposer-seconds', '-1'])).toThrow(/--proposer-seconds/);
    expect(() => parseFleetArgs(['--nope'])).toThrow();
  });
});

/** Runs the benchmark as `npm run bench:fleet` would (through tsx), returning its exit code and output. */
function runBench(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['--import', TSX, BENCH, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, pid: child.pid! }));
  });
}

describe('a small fleet end to end', () => {
  it('records 4 of 4 runs, counts them from both sides, and removes its server and repositories', async () => {
    const r = await runBench([
      ...['--repositories', '4', '--max-connections', '20', '--proposer-seconds', '1'],
      ...['--mode', 'in-process', '--json'],
    ]);
    let figures: FleetFigures;
    try {
      figures = JSON.parse(r.stdout) as FleetFigures;
    } catch {
      throw new Error(`no JSON on stdout (exit ${r.code}); stderr:\n${r.stderr}`);
    }
    expect({ code: r.code, mismatches: figures.mismatches }).toEqual({ code: 0, mismatches: [] });
    expect(figures.mode).toBe('in-process');
    expect(figures.recorded).toBe(4);
    expect(figures.database.success + figures.database.skipped).toBe(4);
    expect(figures.results.success + figures.results.skipped).toBe(4);
    expect(figures.database.none + figures.failed).toBe(0);
    expect(figures.exitCodes).toEqual([['0', 4]]);
    // The sampler's own connection is counted: at least it and one run's.
    expect(figures.peakConnections).toBeGreaterThanOrEqual(2);
    expect(figures.peakConnections).toBeLessThanOrEqual(20);
    expect(figures.peakRunConnections).toBeGreaterThanOrEqual(1);
    expect(figures.peakWithinMax).toBe(true);
    expect(figures.samples).toBeGreaterThan(0);
    expect(figures.wallSeconds).toBeGreaterThan(0);
    expect(figures.targetMet).toBe(true);
    expect(figures.stages.map(([stage]) => stage)).toEqual(expect.arrayContaining(['database', 'propose']));
    expect(renderFigures(figures)).toContain('runs recorded (a row), of N');
    // Its server's data directory and its repositories are gone.
    const left = readdirSync(tmpdir()).filter(
      (n) => n.startsWith(`se-bench-fleet-${r.pid}-`) || n.startsWith(`se-bench-fleet-pg-${r.pid}-`),
    );
    expect(left).toEqual([]);
  }, 240_000);
});
