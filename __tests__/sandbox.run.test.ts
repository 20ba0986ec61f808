/**
 * Whole runs (runOnce) with the hostile agent of issue #8 as command proposers and as a repository check, on
 * both sandbox mechanisms, against a real Postgres: the run goes on normally and records its sandbox (the
 * runs.sandbox column, the report, the job summary), no canary is in any artifact file or database row,
 * nothing outside the agents' work trees changed, and nothing they started is alive afterwards.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureExcluded } from '../src/git/git.js';
import { runOnce, type RunDeps } from '../src/run.js';
import { openDatabase } from '../src/store/open.js';
import type { Db } from '../src/store/db.js';
import { createRunLogger } from '../src/report/logger.js';
import { renderSummaryMarkdown } from '../src/report/summary.js';
import type { RunReport } from '../src/report/types.js';
import type { SandboxMechanism } from '../src/sandbox/mechanism.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import type { TempRepo } from './helpers/git-repo.js';
import { fixedRandom, recordingSleep, steppingClock, testOptions } from './helpers/run-deps.js';
import {
  canariesIn,
  eachMechanism,
  fixture,
  hostPidNamespace,
  killMarked,
  makeCanaries,
  makeTargetRepo,
  markedProcesses,
  processAlive,
  randomHex,
  readTree,
  sandboxTools,
  scratchDir,
  snapshotTree,
  startHolder,
  startListener,
  type Canaries,
  type Holder,
  type Listener,
} from './sandbox.helpers.js';

const TOOLS = await sandboxTools();
const DAY = new Date('2026-11-22T02:05:00Z');
const TABLES = [
  'self_evolution_runs',
  'self_evolution_reflections',
  'self_evolution_proposals',
  'self_evolution_actions',
  'self_evolution_rollbacks',
  'self_evolution_run_leases',
  'feature_flags',
];

let database: TestDatabase;
let admin: Db;
let canaries: Canaries;
let holder: Holder;
let listener: Listener;
let scratch: string;
const realHome = process.env.HOME ?? '/root';
const marks: string[] = [];

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('sandbox_run'));
  canaries = makeCanaries();
  holder = await startHolder(canaries);
  listener = await startListener();
  scratch = await scratchDir('se-sbx-run-');
});
afterAll(async () => {
  for (const m of marks) {
    await killMarked(m);
    for (const p of [join(realHome, `.se-hostile-${m}`), `/tmp/se-hostile-${m}`])
      await rm(p, { force: true });
  }
  await holder?.stop();
  await listener?.close();
  await admin?.close();
  await database?.drop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});
beforeEach(async () => {
  await resetRuns(admin);
});

/** Deps of a run with a capturing logger. */
function deps(): RunDeps & { messages: string[] } {
  const clock = steppingClock(DAY);
  const messages: string[] = [];
  const logger = createRunLogger({ secrets: [], clock, sink: (level, m) => messages.push(`${level}: ${m}`) });
  return { clock, random: fixedRandom(0.5), sleep: recordingSleep(), logger, openDb: openDatabase, messages };
}

/** Every row of every table, as JSON. */
async function everyRow(): Promise<string> {
  const parts: unknown[] = [];
  for (const t of TABLES) parts.push(await admin.query(`SELECT * FROM ${t}`));
  return JSON.stringify(parts);
}

/** What {@link hostileRun} gives: the run's report and log, and where to look afterwards. */
interface HostileRun {
  report: RunReport;
  messages: string[];
  mark: string;
  artifactsRoot: string;
  /** The target checkout before the run (what the run itself writes there excluded) and after. */
  before: Record<string, string>;
  after: Record<string, string>;
  outsideTmp: string;
  bgDir: string;
  /** Listener messages before the run. */
  heard: number;
}

/**
 * A run (runOnce) of a repository whose config has `proposers` and `checks` and `sandbox`, with the canaries
 * in its environment (and `extra`) and in the checkout's .git/config.
 */
async function hostileRun(
  sandbox: unknown,
  proposers: unknown[],
  checks: unknown[],
  extra: Record<string, string> = {},
): Promise<HostileRun> {
  const mark = `semark${randomHex(6)}`;
  marks.push(mark);
  const bgDir = join(scratch, `bg-${mark}`);
  const outsideTmp = join('/tmp', `se-sbx-run-outside-${mark}`);
  await mkdir(bgDir);
  await mkdir(outsideTmp);
  await writeFile(join(outsideTmp, 'seed.txt'), 'seed\n');
  const config = {
    enabled: true,
    safetyRails: { allowedPaths: ['docs/**/*.md'], blockedPaths: ['.github/workflows/**'], maxRiskLevel: 2 },
    reflection: { checks },
    proposers,
    sandbox,
  };
  const repo: TempRepo = await makeTargetRepo({
    '.github/self-evolution-config.json': JSON.stringify(config, null, 2),
    'docs/guide.md': '# Guide\n\nteh weather, teh forecast\n',
    'README.md': 'hello\n',
  });
  try {
    await repo.git(
      'config',
      'http.https://github.com/.extraheader',
      `AUTHORIZATION: basic ${canaries.checkout}`,
    );
    // What the run itself writes into the checkout (before any command runs), so the snapshots compare.
    await ensureExcluded(repo.dir, '.self-evolution/');
    const before = await snapshotTree(repo.dir);
    const artifactsRoot = join(scratch, `artifacts-${mark}`);
    const env = {
      PATH: process.env.PATH,
      HOME: realHome,
      ...canaries.env,
      SE_MARK: mark,
      SE_TARGET: repo.dir,
      SE_REAL_HOME: realHome,
      SE_OUTSIDE_TMP: outsideTmp,
      SE_BG_DIR: bgDir,
      SE_BG_DELAY: '1',
      SE_PORT: String(listener.port),
      SE_HOST_PIDNS: hostPidNamespace(),
      ...extra,
    };
    const heard = listener.received.length;
    const d = deps();
    const options = testOptions(repo.dir, {
      databaseUrl: database.url,
      env,
      artifactsRoot,
      embeddedDbDir: join(scratch, `db-${mark}`),
    });
    const report = await runOnce(options, d);
    const after = await snapshotTree(repo.dir);
    return { report, messages: d.messages, mark, artifactsRoot, before, after, outsideTmp, bgDir, heard };
  } finally {
    await repo.cleanup();
  }
}

/** The walk as a repository check that fails, so its output is kept (reflection, database, artifacts). */
const WALK_CHECK = { name: 'walk', command: `${fixture('hostile-walk.sh')}; exit 1` };

eachMechanism(TOOLS, (mechanism: SandboxMechanism) => {
  it('a run with hostile command proposers and a hostile check goes on, records its sandbox, and leaks nothing', async () => {
    const r = await hostileRun(
      { mode: mechanism },
      [
        { kind: 'command', name: 'hostile', command: fixture('hostile.sh') },
        { kind: 'command', name: 'signals', command: fixture('hostile-signals.sh') },
        { kind: 'command', name: 'typos', command: "sed -i 's/teh/the/g' docs/guide.md" },
      ],
      [WALK_CHECK],
    );
    const { report, mark } = r;
    try {
      expect(markedProcesses(mark)).toEqual([]);

      // The run went on normally and says how its commands were isolated.
      expect(report.error).toBeNull();
      expect(report.status).toBe('success');
      expect(report.sandbox).toBe(mechanism);
      const [row] = await admin.query<{ sandbox: string }>('SELECT sandbox FROM self_evolution_runs');
      expect(row!.sandbox).toBe(mechanism);
      expect(renderSummaryMarkdown(report)).toContain(`sandbox: ${mechanism}`);
      expect(report.proposals.map((p) => [p.proposer, p.status])).toEqual([
        ['hostile', 'evaluated'],
        ['signals', 'failed'],
        ['typos', 'evaluated'],
      ]);
      // The hostile change (its loot) is judged and blocked; the honest one is allowed.
      expect(report.proposals.map((p) => p.verdict)).toEqual(['blocked', 'blocked', 'allowed']);
      const commands = await readFile(join(report.artifactsDir!, 'commands.jsonl'), 'utf8');
      expect(commands.split('\n').filter((l) => l.includes(`"sandbox":"${mechanism}"`))).toHaveLength(4);
      // The walk ran as a check too, and its output was kept.
      expect(await everyRow()).toContain('sees ');

      // No canary in any artifact file, database row, or log line.
      expect(canariesIn(await readTree(r.artifactsRoot), canaries)).toEqual([]);
      expect(canariesIn(await everyRow(), canaries)).toEqual([]);
      expect(canariesIn(r.messages.join('\n'), canaries)).toEqual([]);

      // Nothing outside the work trees changed; nothing is left running, nothing acts later.
      expect(r.after).toEqual(r.before);
      expect(await readdir(r.outsideTmp)).toEqual(['seed.txt']);
      expect(existsSync(join(realHome, `.se-hostile-${mark}`))).toBe(false);
      await new Promise((res) => setTimeout(res, 2000));
      expect(markedProcesses(mark)).toEqual([]);
      expect(await readdir(r.bgDir)).toEqual([]);
      expect(listener.received.slice(r.heard).filter((t) => t.includes(mark))).toEqual([]);
      expect(holder.alive()).toBe(true);
      expect(processAlive(process.ppid)).toBe(true);
    } finally {
      await rm(r.outsideTmp, { recursive: true, force: true });
    }
  });
});

describe('without a sandbox (control)', () => {
  it('the same walk as a check puts canaries into the database and the artifacts', async () => {
    // Only the walk (no writes, no leftovers, no signals), filtered to lines with a canary.
    const r = await hostileRun('none', [], [WALK_CHECK], { SE_WALK_FILTER: 'SECANARY' });
    try {
      expect(r.report.status).toBe('success');
      expect(r.report.sandbox).toBe('none');
      expect(canariesIn(await everyRow(), canaries)).toContain('checkout .git/config');
      expect(canariesIn(await readTree(r.artifactsRoot), canaries)).toContain('checkout .git/config');
    } finally {
      await rm(r.outsideTmp, { recursive: true, force: true });
    }
  });
});
