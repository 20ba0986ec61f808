/**
 * The circuit breaker as part of the gates stage (gates/stage.ts checkGates): its inputs read from the store
 * and GitHub, a human reset noticed, and a trip carried out.
 *
 * Each gate pass first prepares the breaker (prepareBreaker): it reads the deciding feature flag (the
 * per-repository key when set, else the global one, as the feature-flag gate resolves them), the last open trip
 * and the last reset, and notices a human reset:
 * - by the flag: the flag is on and was written after the open trip (`flag set ... true`): the trip is marked
 *   reset (reset_at: the flag's updated_at, reset_by: who set it, from the flag's metadata);
 * - by closing the stop issue: the open trip is a stop-label trip, the flag is still off as the breaker left it,
 *   and every stop issue of the trip was closed by someone with write access (and no other stop label by such a
 *   person is open): the flag is turned back on and the trip marked reset.
 * Evidence at or before the reset does not count (gates/breaker.ts evidenceHorizon). Before jitter the pass
 * only reads: a reset is written, and a trip carried out (settleBreaker), only by the pass under the run lock,
 * so it happens once per run. A breaker that would trip before jitter says so (details.trip.status 'pending'),
 * and the pipeline goes to the lock without waiting out the jitter (tripPending).
 *
 * Carrying out a trip (only while the config's `enabled` and the deciding flag are on: a loop already off has
 * nothing to stop; details.trip.status 'loop-off' says why): a row in
 * self_evolution_breaker_trips, the flag set to false with metadata { trippedBy: 'circuit-breaker', cause,
 * reason, at, tripId }, and one issue opened or updated (label self-evolution:breaker) when there is a GitHub
 * token; a failure to write the issue (a token without issues: write) is a warning.
 */
import type { Logger } from '../deps.js';
import type { BreakerGitHub, IssueClosure, StopLabelApplication } from '../github/breaker.js';
import { errorMessage } from '../github/errors.js';
import { maskSecrets } from '../secrets.js';
import {
  lastOpenTrip,
  lastTripReset,
  latestEndedSelfChanges,
  latestFinishedRuns,
  linkTripToRun,
  markTripsReset,
  recordTrip,
  revertsSince,
  type TripRecord,
} from '../store/breaker.js';
import type { Db } from '../store/db.js';
import { getFlag, getFlagRecord, setFlag, type FlagRecord } from '../store/flags.js';
import { githubRepository } from '../options.js';
import {
  evidenceHorizon,
  renderBreakerIssue,
  resetByClosedStopIssue,
  resetByFlag,
  stopIssuesOf,
  flagOffByTrip,
  TRIPPED_BY,
  type BreakerCause,
  type BreakerSource,
} from './breaker.js';
import { GLOBAL_FLAG_KEY, repositoryFlagKey, type FlagLookup } from './feature-flag.js';
import type { GateResult } from './types.js';

/** Which gate pass: before the jitter (reads only) or under the run lock (writes resets and trips). */
export type GatePass = 'before-jitter' | 'under-lock';

/** What prepareBreaker needs. */
export interface BreakerStageInput {
  db: Db;
  /** 'owner/name'. */
  repository: string;
  now: Date;
  pass: GatePass;
  /** config.enabled: with false the loop is off and a trip is not carried out. */
  configEnabled: boolean;
  /** The breaker's GitHub calls; absent without a token (stop label not checked, no issue written). */
  github?: BreakerGitHub;
  logger: Logger;
  /** Masked in what is logged. */
  secrets: readonly string[];
}

/** The breaker prepared for one gate pass (see the module docs). */
export interface PreparedBreaker {
  /** The breaker gate's source: the store, GitHub, and the evidence horizon. */
  source: BreakerSource;
  /** The feature-flag gate's lookup (before jitter, it sees a flag a closed stop issue turns back on as on). */
  flags: FlagLookup;
  /** Rewrites the feature-flag gate's result when a closed stop issue turns the flag back on. */
  annotate(result: GateResult): GateResult;
  /** The deciding flag's key ('self_evolution_enabled' or 'self_evolution_enabled:owner/name'), or null when absent. */
  flagKey: string | null;
  /** Whether the deciding flag is on (after a reset this pass wrote or will write). */
  loopOn: boolean;
  /** The deciding flag as read (before any reset). */
  flag: FlagRecord | null;
}

/** The details.trip the stage adds to the breaker's result. */
export type TripState =
  | { status: 'pending' }
  | { status: 'loop-off'; why: string }
  | {
      status: 'recorded';
      tripId: number | null;
      flagKey: string;
      flagSet: boolean;
      issue: { number: number; url: string; created: boolean } | null;
      /** Why the issue was not written (no token, an error), when it was not. */
      issueNote?: string;
    };

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/**
 * Prepares the breaker for one gate pass (see the module docs): reads the deciding flag, the open trip and the
 * last reset; notices a human reset (under the lock: marks the trip reset, and for a closed stop issue turns the
 * flag back on); returns the gate's source (its evidence horizon the later of the reset and the flag's last
 * writing while on), the feature-flag lookup and the annotation. Never throws: a failed read makes the source's
 * evidenceSince throw (the breaker trips: unreadable); a failed reset write is logged as a warning and the
 * reset is left for the next run.
 */
export async function prepareBreaker(input: BreakerStageInput): Promise<PreparedBreaker> {
  const { db, repository, logger } = input;
  const say = (text: string) => maskSecrets(text, input.secrets);
  const parsed = githubRepository(repository);
  const gh = input.github && parsed ? input.github : undefined;
  const stopLabels = gh && parsed ? once(() => gh.stopLabels(parsed)) : undefined;

  let stateError: unknown = null;
  let flag: FlagRecord | null = null;
  let trip: TripRecord | null = null;
  let lastReset: Date | null = null;
  try {
    flag =
      (await getFlagRecord(db, repositoryFlagKey(repository))) ?? (await getFlagRecord(db, GLOBAL_FLAG_KEY));
    trip = await lastOpenTrip(db, repository);
    lastReset = await lastTripReset(db, repository);
  } catch (error) {
    stateError = error;
  }

  let horizonFlag = flag;
  let flagReset: { key: string; resetBy: string } | null = null;
  if (stateError === null) {
    const byFlag = resetByFlag(trip, flag);
    if (byFlag && input.pass === 'under-lock') {
      try {
        const ids = await markTripsReset(db, repository, byFlag.resetAt, byFlag.resetBy);
        if (ids.length > 0) {
          logger.info(
            say(
              `circuit breaker: reset by ${byFlag.resetBy} at ${byFlag.resetAt.toISOString()} (trip #${ids.join(', #')})`,
            ),
          );
        }
      } catch (error) {
        logger.warn(say(`circuit breaker: could not mark trip #${trip!.id} reset: ${errorMessage(error)}`));
      }
    }
    if (
      !byFlag &&
      trip &&
      gh &&
      parsed &&
      stopLabels &&
      flagOffByTrip(flag, trip) &&
      trip.cause === 'stop-label'
    ) {
      const byClosing = await closedStopIssueReset(gh, parsed, trip, flag, stopLabels);
      if (byClosing) {
        flagReset = { key: flag!.key, resetBy: byClosing.resetBy };
        horizonFlag = { ...flag!, value: true, updatedAt: input.now };
        if (input.pass === 'under-lock') {
          try {
            await setFlag(db, flag!.key, true, {
              resetBy: byClosing.resetBy,
              at: input.now.toISOString(),
              previous: flag!.metadata,
            });
            await markTripsReset(db, repository, input.now, byClosing.resetBy);
            logger.info(
              say(`circuit breaker: reset: ${byClosing.resetBy}; feature flag ${flag!.key} is on again`),
            );
          } catch (error) {
            flagReset = null;
            horizonFlag = flag;
            logger.warn(say(`circuit breaker: could not turn ${flag!.key} back on: ${errorMessage(error)}`));
          }
        }
      }
    }
  }

  const horizon = stateError === null ? evidenceHorizon(horizonFlag, lastReset) : null;
  const source: BreakerSource = {
    evidenceSince: async () => {
      if (stateError !== null) throw stateError;
      return horizon;
    },
    reverts: (repo, after) => revertsSince(db, repo, after),
    endedSelfChanges: (repo, limit) => latestEndedSelfChanges(db, repo, limit),
    finishedRuns: (repo, limit) => latestFinishedRuns(db, repo, limit),
    ...(stopLabels ? { stopLabels: () => stopLabels() } : {}),
  };
  const pendingKey = flagReset?.key;
  const flags: FlagLookup = {
    getFlag: async (key) => {
      if (pendingKey !== undefined && key === pendingKey) return true;
      return getFlag(db, key);
    },
  };
  return {
    source,
    flags,
    annotate(result) {
      if (!flagReset || result.gate !== 'feature-flag') return result;
      return {
        ...result,
        reason:
          `feature flag ${flagReset.key} is on: the circuit breaker had turned it off for the stop label, and ` +
          `${flagReset.resetBy}` +
          (input.pass === 'under-lock' ? '' : ' (written under the run lock)'),
      };
    },
    flagKey: flag?.key ?? null,
    loopOn: horizonFlag?.value === true,
    flag,
  };
}

async function closedStopIssueReset(
  gh: BreakerGitHub,
  r: { owner: string; repo: string },
  trip: TripRecord,
  flag: FlagRecord | null,
  stopLabels: () => Promise<StopLabelApplication[]>,
): Promise<{ resetBy: string } | null> {
  try {
    const closures: IssueClosure[] = [];
    for (const n of stopIssuesOf(trip)) closures.push(await gh.issueClosure(r, n));
    return resetByClosedStopIssue(trip, flag, closures, await stopLabels());
  } catch {
    // Unreadable: no reset (the breaker's own read of the stop labels reports the error).
    return null;
  }
}

/**
 * Settles the breaker's result of one pass (see the module docs): adds details.trip; under the lock, when it
 * tripped and the loop is on, carries the trip out (trip row, flag off with metadata, the issue). Returns the
 * result with details.trip. Never throws: each write that fails is a warning (the run is skipped anyway).
 */
export async function settleBreaker(
  input: BreakerStageInput,
  prepared: PreparedBreaker,
  result: GateResult,
): Promise<GateResult> {
  if (result.gate !== 'circuit-breaker' || result.outcome !== 'skip') return result;
  const withTrip = (trip: TripState): GateResult => ({ ...result, details: { ...result.details, trip } });
  if (!input.configEnabled) return withTrip({ status: 'loop-off', why: 'config: enabled is false' });
  if (!prepared.loopOn || prepared.flagKey === null) {
    return withTrip({
      status: 'loop-off',
      why:
        prepared.flagKey === null ? 'the feature flag is not set' : `feature flag ${prepared.flagKey} is off`,
    });
  }
  if (input.pass === 'before-jitter') return withTrip({ status: 'pending' });
  return withTrip(await carryOutTrip(input, prepared.flagKey, prepared.flag?.metadata ?? {}, result));
}

async function carryOutTrip(
  input: BreakerStageInput,
  flagKey: string,
  previous: Record<string, unknown>,
  result: GateResult,
): Promise<TripState> {
  const { db, repository, logger } = input;
  const say = (text: string) => maskSecrets(text, input.secrets);
  const details = result.details ?? {};
  const cause = (details.cause as BreakerCause | undefined) ?? 'unreadable';
  const reason = say(result.reason);
  const at = input.now.toISOString();
  let tripId: number | null = null;
  try {
    tripId = (await recordTrip(db, { repository, cause, reason, details: { ...details, at } })).id;
  } catch (error) {
    logger.warn(say(`circuit breaker: could not record the trip: ${errorMessage(error)}`));
  }
  let flagSet = false;
  try {
    await setFlag(db, flagKey, false, { trippedBy: TRIPPED_BY, cause, reason, at, tripId, previous });
    flagSet = true;
  } catch (error) {
    logger.warn(say(`circuit breaker: could not turn ${flagKey} off: ${errorMessage(error)}`));
  }
  logger.warn(
    say(
      `circuit breaker tripped (${cause}): ${flagSet ? `feature flag ${flagKey} set to false` : 'the flag was not written'}`,
    ),
  );
  const parsed = githubRepository(repository);
  if (!input.github || !parsed) {
    const note = !input.github ? 'no GitHub token' : `${repository} is not a GitHub repository`;
    logger.info(`circuit breaker: no issue written (${note})`);
    return { status: 'recorded', tripId, flagKey, flagSet, issue: null, issueNote: note };
  }
  try {
    const issue = await input.github.upsertBreakerIssue(
      parsed,
      renderBreakerIssue({ repository, cause, reason, details, tripId, at, flagKey }),
    );
    logger.info(
      `circuit breaker: issue #${issue.number} ${issue.created ? 'opened' : 'updated'}: ${issue.url}`,
    );
    return { status: 'recorded', tripId, flagKey, flagSet, issue };
  } catch (error) {
    const note = say(`could not write the issue: ${errorMessage(error)}`);
    logger.warn(`circuit breaker: ${note}`);
    return { status: 'recorded', tripId, flagKey, flagSet, issue: null, issueNote: note };
  }
}

/**
 * True when the before-jitter results say the breaker will trip under the lock (its details.trip.status is
 * 'pending'): the pipeline then takes the lock at once, without the jitter, to carry the trip out.
 */
export function tripPending(results: readonly GateResult[]): boolean {
  const breaker = results.find((r) => r.gate === 'circuit-breaker');
  return (breaker?.details?.trip as { status?: string } | undefined)?.status === 'pending';
}

/**
 * Links the trip the under-lock results carried out (details.trip.tripId) to the skipped run that reports it.
 * A failure is a warning.
 */
export async function linkTrip(
  db: Db,
  results: readonly GateResult[],
  runId: number,
  logger: Logger,
): Promise<void> {
  const breaker = results.find((r) => r.gate === 'circuit-breaker');
  const trip = breaker?.details?.trip as { status?: string; tripId?: unknown } | undefined;
  if (trip?.status !== 'recorded' || typeof trip.tripId !== 'number') return;
  try {
    await linkTripToRun(db, trip.tripId, runId);
  } catch (error) {
    logger.warn(
      `circuit breaker: could not link trip #${trip.tripId} to run #${runId}: ${errorMessage(error)}`,
    );
  }
}
