/**
 * A history for the dashboard (report/dashboard.ts): helpers/metrics-fixture.ts seedMetrics (runs 1, 2, 3, 20 and
 * 40 days ago with crafted proposals, pull requests, reverts and breaker trips), plus a run on most other days of
 * the last 90 (success, skipped for a reason, failed, cancelled; proposals allowed and blocked; pull requests
 * merged, closed and still open) and hostile text where the page shows text: a proposal title, a skip reason, a
 * close reason and a trip reason carrying markup and script, a workflow-run URL with the javascript: scheme and a
 * pull-request URL that leads elsewhere. Every time is relative to the database's now().
 *
 * The page must show the hostile strings as text: none of them may set `window.__pwned`.
 */
import type { Queryable } from '../../src/store/db.js';
import { seedMetrics } from './metrics-fixture.js';

/** A proposal title that would run script if the page did not escape it. */
export const EVIL_TITLE =
  'Fix typo <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
/** A skip reason with markup and quotes. */
export const EVIL_SKIP = `activity gate error: <b onmouseover="window.__pwned = 5">500</b> "quoted" & 'single'`;
/** A person's words closing a pull request, trying to break out of the table. */
export const EVIL_CLOSE = '</td></tr></table><script>window.__pwned = 3</script>not needed';
/** A trip reason with a frame. */
export const EVIL_TRIP = '<iframe src="https://evil.example/frame"></iframe> too many reverts';
/** URLs the page must not link. */
export const EVIL_LOGS_URL = 'javascript:window.__pwned=4';
export const EVIL_PR_URL = 'https://evil.example/acme/agent/phish';

const GATES_PASS = [
  { gate: 'config-enabled', outcome: 'pass', reason: 'enabled in the config' },
  { gate: 'feature-flag', outcome: 'pass', reason: 'feature flag self_evolution_enabled is on' },
  { gate: 'already-ran-today', outcome: 'pass', reason: 'no run today' },
  { gate: 'cooldown', outcome: 'pass', reason: 'no failed run in cooldown' },
  { gate: 'activity', outcome: 'pass', reason: '3 workflow runs since the last run' },
];

let patches = 1000;
let prNumbers = 100;

/** Writes a run `days` days ago (same time of day as now) and returns its id. */
async function run(
  db: Queryable,
  repository: string,
  days: number,
  r: {
    status: string;
    skipReason?: string;
    gates?: object[];
    error?: string;
    logsUrl?: string | null;
    metrics?: object;
  },
): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_runs
       (repository, run_date, trigger, dry_run, forced, status, skip_reason, gates, started_at, finished_at,
        summary, logs_url, metrics, error)
     VALUES ($1, (now() - $2::float8 * interval '1 day')::date, 'schedule', false, false, $3, $4, $5::jsonb,
       now() - $2::float8 * interval '1 day', now() - $2::float8 * interval '1 day' + interval '4 minutes',
       $6, $7, $8::jsonb, $9)
     RETURNING id`,
    [
      repository,
      days,
      r.status,
      r.skipReason ?? null,
      JSON.stringify(r.gates ?? GATES_PASS),
      r.status === 'success' ? 'live: 1 proposal(s), 1 allowed, 0 blocked, 1 pull request(s) opened' : null,
      r.logsUrl === undefined
        ? `https://github.com/${repository}/actions/runs/${5000 + Math.round(days * 10)}`
        : r.logsUrl,
      JSON.stringify(r.metrics ?? {}),
      r.error ?? null,
    ],
  );
  return Number(row!.id);
}

/** Writes a proposal of run `runId`, ten minutes after it started, and returns its id. */
async function proposal(
  db: Queryable,
  runId: number,
  p: { title: string; verdict: 'allowed' | 'blocked'; violations?: object[]; verify?: string },
): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO self_evolution_proposals
       (run_id, proposer, type, title, risk_level, status, verdict, allowlisted, blocked_reasons, violations,
        verify, lines_added, lines_deleted, created_at)
     SELECT $1, 'command:docs', 'docs', $2, 1, 'evaluated', $3, $3 = 'allowed',
       CASE WHEN $3 = 'allowed' THEN '{}'::text[] ELSE ARRAY['blocked-path: .github/workflows/ci.yml is protected'] END,
       $4::jsonb, $5::jsonb, 12, 3, r.started_at + interval '10 minutes'
     FROM self_evolution_runs r WHERE r.id = $1
     RETURNING id`,
    [
      runId,
      p.title,
      p.verdict,
      JSON.stringify(p.violations ?? []),
      p.verify === undefined ? null : JSON.stringify({ status: p.verify, commands: [] }),
    ],
  );
  return Number(row!.id);
}

/** Writes a pull request (a 'pr' action) of a proposal, twenty minutes after it. */
async function pullRequest(
  db: Queryable,
  repository: string,
  runId: number,
  proposalId: number,
  a: {
    status: 'submitted' | 'merged' | 'closed';
    mergedAfterHours?: number;
    closeReason?: string;
    url?: string;
  },
): Promise<void> {
  patches++;
  prNumbers++;
  await db.query(
    `INSERT INTO self_evolution_actions
       (proposal_id, run_id, repository, action_type, status, branch, pr_number, pr_url, patch_sha256,
        created_at, merged_at, closed_at, close_reason)
     SELECT $1::int, $2, $3, 'pr', $4, 'self-evolution/' || $1::int, $5, $6, $7,
       p.created_at + interval '20 minutes',
       CASE WHEN $4 = 'merged' THEN p.created_at + interval '20 minutes' + $8::float8 * interval '1 hour' END,
       CASE WHEN $4 = 'closed' THEN p.created_at + interval '1 day' END,
       $9
     FROM self_evolution_proposals p WHERE p.id = $1`,
    [
      proposalId,
      runId,
      repository,
      a.status,
      prNumbers,
      a.url ?? `https://github.com/${repository}/pull/${prNumbers}`,
      `${patches}`.padStart(64, 'd'),
      a.mergedAfterHours ?? 6,
      a.closeReason ?? null,
    ],
  );
}

const blockedPath = [
  { ruleId: 'blocked-path', severity: 'block', path: '.github/workflows/ci.yml', message: 'protected path' },
];

/**
 * A run on most days of the last 90 for `repository`, skipping `busyDays` (days that already have the day's run).
 * `hostile` adds the hostile strings of the module docs.
 */
export async function seedDailyRuns(
  db: Queryable,
  repository: string,
  options: { from: number; to: number; busyDays?: readonly number[]; hostile?: boolean },
): Promise<void> {
  const hostile = options.hostile === true;
  for (let d = options.from; d <= options.to; d++) {
    if (options.busyDays?.includes(d)) continue;
    if (d % 5 === 0) {
      await run(db, repository, d - 0.01, {
        status: 'skipped',
        skipReason: 'already ran today (run of this morning)',
        gates: [{ gate: 'already-ran-today', outcome: 'skip', reason: 'already ran today' }],
      });
    }
    if (d % 9 === 0) {
      const reason = hostile && d === 9 ? EVIL_SKIP : 'no activity since the last run';
      await run(db, repository, d, {
        status: 'skipped',
        skipReason: reason,
        gates: [...GATES_PASS.slice(0, 4), { gate: 'activity', outcome: 'skip', reason }],
      });
      continue;
    }
    if (d % 17 === 0) {
      await run(db, repository, d, {
        status: 'failed',
        error: 'proposer command:docs timed out after 900 s',
      });
      continue;
    }
    if (d % 23 === 0) {
      await run(db, repository, d, { status: 'cancelled', error: 'SIGTERM: the run was cancelled' });
      continue;
    }
    const runId = await run(db, repository, d, {
      status: 'success',
      metrics: { tokensUsed: 900 + d * 7, stagesMs: { propose: 60_000 + d * 1000, act: 30_000 } },
      ...(hostile && d === 6 ? { logsUrl: EVIL_LOGS_URL } : {}),
    });
    const title = hostile && d === 5 ? EVIL_TITLE : `Clarify the docs of day ${d}`;
    const allowed = await proposal(db, runId, { title, verdict: 'allowed', verify: 'passed' });
    if (hostile && d === 5) {
      await pullRequest(db, repository, runId, allowed, {
        status: 'closed',
        closeReason: EVIL_CLOSE,
        url: EVIL_PR_URL,
      });
    } else if (d <= 12 && d % 2 === 0) {
      await pullRequest(db, repository, runId, allowed, { status: 'submitted' });
    } else if (d % 4 !== 2) {
      await pullRequest(db, repository, runId, allowed, {
        status: d % 4 === 1 ? 'closed' : 'merged',
        mergedAfterHours: 3 + (d % 5) * 7,
        ...(d % 4 === 1 ? { closeReason: 'Not what we want: the wording was fine.' } : {}),
      });
    }
    if (d % 3 === 0) {
      await proposal(db, runId, { title: 'Speed up CI', verdict: 'blocked', violations: blockedPath });
    }
  }
}

/**
 * The whole history of the module docs for `repository`: seedMetrics, the daily runs from 4 to 88 days ago
 * (hostile strings included), a breaker trip reset 10 days ago with a hostile reason, seedMetrics' 50-day trip
 * reset, and the per-repository flag turned off by the breaker (its 3-day trip is still open).
 */
export async function seedDashboard(db: Queryable, repository: string): Promise<void> {
  await seedMetrics(db, repository);
  await seedDailyRuns(db, repository, { from: 4, to: 88, busyDays: [20, 40], hostile: true });
  await db.query(
    `INSERT INTO self_evolution_breaker_trips (repository, cause, reason, tripped_at, reset_at, reset_by)
     VALUES ($1, 'rejected', $2, now() - interval '10 days', now() - interval '9 days', 'cli (alice)')`,
    [repository, EVIL_TRIP],
  );
  await db.query(
    `UPDATE self_evolution_breaker_trips SET reset_at = tripped_at + interval '1 day', reset_by = 'cli (bob)'
     WHERE repository = $1 AND tripped_at < now() - interval '45 days'`,
    [repository],
  );
  await db.query(
    `INSERT INTO feature_flags (key, value, metadata) VALUES ($1, false, '{"trippedBy": "circuit-breaker"}')
     ON CONFLICT (key) DO UPDATE SET value = false`,
    [`self_evolution_enabled:${repository}`],
  );
}
