/**
 * A run on a database shared by a fleet, in process against a real Postgres (and a real PgBouncer):
 * - it holds ONE connection from start to end (sampled from pg_stat_activity while its proposer works);
 * - when the database is full (53300, here a role's CONNECTION LIMIT) it waits and connects again, and is recorded
 *   once there is room; when the budget (database.connectRetrySeconds) runs out it stops with a clear message and
 *   no record; a signal while it waits cancels it;
 * - through a transaction-mode PgBouncer it takes the lease and is recorded like any run.
 */
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';

import { runOnce, type RunDeps } from '../src/run.js';
import { connectBackoffMs, CONNECT_BACKOFF_MAX_MS, CONNECT_BACKOFF_MIN_MS } from '../src/store/pg.js';
import { openDatabase } from '../src/store/open.js';
import type { Db } from '../src/store/db.js';
import type { RunReport } from '../src/report/types.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';
import { startPgBouncer, type PgBouncer } from './helpers/pgbouncer.js';
import {
  capturingLogger,
  fixedRandom,
  recordingSleep,
  steppingClock,
  testOptions,
} from './helpers/run-deps.js';

const DAY = new Date('2026-11-22T02:05:00Z');

/** A config whose one proposer takes `seconds` (so the run is seen while it works) and fixes a typo. */
function configFiles(extra: Record<string, unknown> = {}, seconds = 0): Record<string, string> {
  const config = {
    enabled: true,
    safetyRails: { allowedPaths: ['docs/**/*.md'], blockedPaths: ['.env*'], maxRiskLevel: 2 },
    proposers: [
      {
        kind: 'command',
        name: 'typo-fixer',
        command: `${seconds > 0 ? `sleep ${seconds} && ` : ''}sed -i 's/teh/the/g' docs/guide.md`,
        title: 'Fix typos',
        type: 'cleanup',
        riskLevel: 0,
      },
    ],
    ...extra,
  };
  return {
    '.github/self-evolution-config.json': JSON.stringify(config, null, 2),
    'docs/guide.md': '# Guide\n\nteh weather\n',
  };
}

let database: TestDatabase;
let admin: Db;
let slowRepo: TempRepo;
let quickRepo: TempRepo;
let budgetRepo: TempRepo;
/** A role allowed one connection: the database is "full" for it while a blocker holds that connection. */
const role = `se_fleet_${process.pid}_${randomBytes(3).toString('hex')}`;
const rolePassword = randomBytes(9).toString('hex');
let roleUrl: string;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('run_fleet'));
  slowRepo = await makeTempRepo(configFiles({}, 1.5));
  quickRepo = await makeTempRepo(configFiles());
  budgetRepo = await makeTempRepo(configFiles({ database: { connectRetrySeconds: 3 } }));
  await admin.exec(
    `CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}' CONNECTION LIMIT 1;
     GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO ${role};
     GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public TO ${role};`,
  );
  const url = new URL(database.url);
  url.username = role;
  url.password = rolePassword;
  roleUrl = url.toString();
});

afterAll(async () => {
  await Promise.all([slowRepo, quickRepo, budgetRepo].map((r) => r?.cleanup()));
  await admin?.exec(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  await admin?.close();
  await database?.drop();
});

beforeEach(async () => {
  await resetRuns(admin);
});

type TestDeps = RunDeps & { logger: ReturnType<typeof capturingLogger> };

function deps(overrides: Partial<RunDeps> = {}): TestDeps {
  const clock = steppingClock(DAY);
  return {
    clock,
    random: fixedRandom(0.5),
    sleep: recordingSleep(),
    logger: capturingLogger(clock),
    openDb: openDatabase,
    ...overrides,
  } as TestDeps;
}

function run(repo: TempRepo, d: TestDeps, url = database.url): Promise<RunReport> {
  return runOnce(testOptions(repo.dir, { databaseUrl: url }), d);
}

/** The connections named "self-evolution" to the test database, other than `admin`'s own. */
async function runConnections(): Promise<number> {
  const rows = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE datname = $1 AND application_name = 'self-evolution' AND pid <> pg_backend_pid()`,
    [database.name],
  );
  return rows[0]!.n;
}

async function storedRuns(): Promise<Array<{ id: number; status: string }>> {
  return admin.query('SELECT id, status FROM self_evolution_runs ORDER BY id');
}

/** One connection of `role`, which fills its CONNECTION LIMIT 1. */
async function blocker(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: roleUrl });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

describe('one connection per run', () => {
  it('holds exactly one connection while it works (pg_stat_activity sampled every 20 ms)', async () => {
    const samples: number[] = [];
    let running = true;
    const sampling = (async () => {
      while (running) {
        samples.push(await runConnections());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const report = await run(slowRepo, deps());
    running = false;
    await sampling;
    expect(report.status).toBe('success');
    expect(report.proposals).toHaveLength(1);
    expect(samples.length).toBeGreaterThan(20); // the 1.5 s proposer was watched
    expect(Math.max(...samples)).toBe(1);
    expect(samples.filter((n) => n === 1).length).toBeGreaterThan(samples.length / 2);
    expect(await runConnections()).toBe(0); // closed at the end
    expect(report.database?.lock).toEqual({
      kind: 'advisory',
      why: expect.stringMatching(/^lock "auto": the server sees our own client port \d+; advisory lock$/),
    });
  });
});

describe('a full database', () => {
  it('waits while the server answers 53300, then is recorded once there is room', async () => {
    const held = await blocker();
    const waits: number[] = [];
    const d = deps({
      // The other run ends while this one waits its first backoff: its connection is free for the next attempt.
      sleep: async (ms: number) => {
        waits.push(ms);
        if (waits.length === 2) await held.end();
      },
    });
    const report = await run(quickRepo, d, roleUrl);
    expect(report.status).toBe('success');
    const full = d.logger.messages.filter((m) => m.includes('database full'));
    expect(full.length).toBeGreaterThanOrEqual(2);
    expect(full[0]).toMatch(
      /^warn: database full: .*\/se_test_run_fleet_\w+ answered too many connections \(53300\); connecting again in \d+\.\d s \(attempt 2; \d+ s left of database\.connectRetrySeconds\)$/,
    );
    expect(full.join('\n')).not.toContain(rolePassword);
    // The jitter's sleep (none: jitter off) aside, the waits are the backoff's: jittered, growing, within bounds.
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits[0]).toBe(connectBackoffMs(1, 0.5, 300_000));
    expect(waits[1]).toBe(connectBackoffMs(2, 0.5, 300_000));
    expect(await storedRuns()).toEqual([{ id: report.runId, status: 'success' }]);
  });

  it('gives up when database.connectRetrySeconds is spent: a clear message, exit "failed", no record', async () => {
    const held = await blocker();
    try {
      const d = deps();
      const report = await run(budgetRepo, d, roleUrl);
      expect(report.status).toBe('failed');
      expect(report.runId).toBeNull();
      expect(report.summary).toMatch(
        /^database unavailable, nothing was run: cannot connect to postgres .*: too many connections \(53300\); tried \d+ times over [34] s \(the database stayed full or too busy: raise its max_connections, put a pooler in front of it, or raise database\.connectRetrySeconds; this run was not recorded and counts nowhere\)$/,
      );
      const slept = (d.sleep as ReturnType<typeof recordingSleep>).calls;
      expect(slept.length).toBeGreaterThanOrEqual(2);
      expect(slept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3_000);
      expect(await storedRuns()).toEqual([]);
    } finally {
      await held.end();
    }
  });

  it('a signal while it waits cancels the run at once', async () => {
    const held = await blocker();
    try {
      const controller = new AbortController();
      const d = deps({
        signal: controller.signal,
        sleep: (ms: number) =>
          new Promise<void>((resolve) => {
            controller.abort({ kind: 'signal', signal: 'SIGTERM' });
            setTimeout(resolve, ms).unref();
          }),
      });
      const started = Date.now();
      const report = await run(quickRepo, d, roleUrl);
      expect(report.status).toBe('cancelled');
      expect(report.summary).toMatch(/SIGTERM.*during the database stage, before the run was recorded/);
      expect(Date.now() - started).toBeLessThan(CONNECT_BACKOFF_MAX_MS); // it did not sit out the wait
      expect(await storedRuns()).toEqual([]);
    } finally {
      await held.end();
    }
  });
});

describe('connectBackoffMs', () => {
  it('draws below a ceiling that doubles from 1 s to 30 s, never under the minimum, never past the budget', () => {
    expect(connectBackoffMs(1, 0.5, 300_000)).toBe(500);
    expect(connectBackoffMs(2, 0.5, 300_000)).toBe(1_000);
    expect(connectBackoffMs(4, 0.5, 300_000)).toBe(4_000);
    expect(connectBackoffMs(10, 0.999, 300_000)).toBe(Math.floor(0.999 * CONNECT_BACKOFF_MAX_MS));
    expect(connectBackoffMs(3, 0, 300_000)).toBe(CONNECT_BACKOFF_MIN_MS);
    expect(connectBackoffMs(6, 0.9, 1_234)).toBe(1_234);
  });
});

describe('through a transaction-mode PgBouncer', () => {
  let bouncer: PgBouncer | null = null;
  beforeAll(async () => {
    bouncer = await startPgBouncer({ poolMode: 'transaction', poolSize: 2 });
    if (!bouncer)
      console.warn('pgbouncer is not installed (apt-get install pgbouncer): the pooled run is skipped');
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  it('takes the lease, fences its writes with it and is recorded like any run', async () => {
    if (!bouncer) return;
    const d = deps();
    const report = await run(quickRepo, d, bouncer.urlFor(database.name));
    expect(report.status).toBe('success');
    expect(report.database?.lock).toEqual({
      kind: 'lease',
      why: expect.stringMatching(
        /^lock "auto": the server sees client port \d+, ours is \d+: a pooler or proxy is in between; lease$/,
      ),
    });
    expect(d.logger.messages).toContainEqual(
      expect.stringMatching(/^info: run lock: lease, token 1 \(lock "auto"/),
    );
    expect(await storedRuns()).toEqual([{ id: report.runId, status: 'success' }]);
    const leases = await admin.query<{ token: string; expired: boolean; owner: string }>(
      'SELECT token::text AS token, expires_at <= now() AS expired, owner FROM self_evolution_run_leases WHERE repository = $1',
      ['acme/agent'],
    );
    expect(leases).toEqual([{ token: '1', expired: true, owner: expect.stringMatching(/ pid \d+$/) }]);
  });
});
