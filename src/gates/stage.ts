/**
 * The gates as stages of a run: every gate with the store behind its lookups (each answer logged), the runs a
 * dead process left 'running' marked failed (stale), and the record of a run the gates (or the lock) stopped.
 */
import type { Logger } from '../deps.js';
import type { Config } from '../config/schema.js';
import type { ActivitySource } from '../github/activity.js';
import type { GateResult } from '../records.js';
import { maskSecrets } from '../secrets.js';
import type { Db } from '../store/db.js';
import { getFlag } from '../store/flags.js';
import {
  findRunOnDate,
  insertSkippedRun,
  lastFailedRun,
  markStaleRuns,
  type SkippedRunInput,
} from '../store/runs.js';
import { runGates } from './index.js';

/** What checkGates needs besides the database. */
export interface CheckGatesInput {
  /** The validated config (enabled, rollbackConfig.cooldownHours, scheduleConfig.skipDuringDeployments). */
  config: Config;
  /** 'owner/name'. */
  repository: string;
  /** The run's UTC day, 'YYYY-MM-DD'. */
  runDate: string;
  /** Now, from the run's clock. */
  now: Date;
  /** Bypasses already-ran-today and cooldown only. */
  force: boolean;
  /** This workflow run's id, excluded from the activity gate. */
  currentRunId?: number;
  /** GitHub activity; absent (no token): the activity gate is 'not-checked'. */
  activity?: ActivitySource;
  logger: Logger;
  /** Masked in the logged reasons. */
  secrets: readonly string[];
}

/**
 * Every gate (runGates), with the feature flags and the run history read from `db`; each result is logged as
 * `gate <name>: <outcome> (<reason, masked>)`. Returns the results in gate order. Never throws: a gate whose
 * read fails is an 'error' result.
 */
export async function checkGates(db: Db, input: CheckGatesInput): Promise<GateResult[]> {
  const results = await runGates({
    flags: { getFlag: (key) => getFlag(db, key) },
    history: {
      findRunOnDate: (repository, runDate) => findRunOnDate(db, repository, runDate),
      lastFailedRun: (repository) => lastFailedRun(db, repository),
    },
    activity: input.activity,
    config: input.config,
    repository: input.repository,
    runDate: input.runDate,
    now: input.now,
    force: input.force,
    currentRunId: input.currentRunId,
  });
  for (const g of results)
    input.logger.info(`gate ${g.gate}: ${g.outcome} (${maskSecrets(g.reason, input.secrets)})`);
  return results;
}

/**
 * Under the run lock: runs of `repository` left 'running' by a dead process (no heartbeat for STALE_AFTER_MS
 * before `now`) are closed failed and stale, finished at their last heartbeat (store/runs.ts markStaleRuns),
 * and a warning names them. A run with a fresh heartbeat is alive and left alone. Returns their ids, ascending.
 * @throws the database error
 */
export async function markStale(db: Db, repository: string, now: Date, logger: Logger): Promise<number[]> {
  const stale = await markStaleRuns(db, repository, now);
  if (stale.length > 0)
    logger.warn(`marked stale run(s) ${stale.map((id) => `#${id}`).join(', ')} as failed`);
  return stale;
}

/**
 * Records a run the gates or the lock stopped (status 'skipped', with its gate results and skip reason; see
 * store/runs.ts insertSkippedRun). Returns the new run's id.
 * @throws the database error
 */
export async function recordSkippedRun(db: Db, input: SkippedRunInput): Promise<number> {
  const run = await insertSkippedRun(db, input);
  return run.id;
}
