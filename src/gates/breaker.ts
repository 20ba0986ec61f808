/**
 * Gate: the circuit breaker. The loop stops itself when its own record says it
 * is doing harm, and stays stopped until a person turns it back on. It trips on any of (in this order of
 * precedence, which names the cause when several hold):
 * - `stop-label`: an open issue (or pull request) labelled `self-evolution:stop` by someone with write access
 *   (permission admin or write, or role maintain; who applied it is read from the issue's `labeled` events, so
 *   anyone else's label is ignored). A standing order: it holds as long as the issue is open and labelled;
 * - `reverted`: a self-change reverted within `breaker.revertWindowDays` days (a merged revert pull request, or
 *   an action marked rolled_back; shadow-mode rollbacks reverted nothing and do not count);
 * - `rejected`: the last `breaker.maxConsecutiveRejected` self-change pull requests that ended were all closed
 *   without merging (ended = merged, rolled back, closed or rejected, newest first by when they ended);
 * - `failures`: `rollbackConfig.maxFailuresBeforeDisable` failed runs in a row, newest first by start. Skipped,
 *   cancelled and still-running runs neither break nor extend a streak; a success (or a run recorded
 *   'reverted') breaks it. A stale run (its process died and a later run closed it failed) counts as a failure:
 *   a loop that keeps crashing is exactly what the breaker is for, even though such a run starts no cooldown;
 * - `unreadable`: one of these inputs could not be read. The breaker fails closed.
 *
 * Evidence older than the last human reset does not count (`since`: when the deciding feature flag was last
 * turned on, or a trip was last reset), so turning the loop back on is not undone by the same old evidence on
 * the next run. Without a GitHub token the stop label is not checked (the reason says so); the database causes
 * still apply. `force` does not bypass the breaker.
 *
 * This module is pure: `decideBreaker` judges inputs already read, `checkCircuitBreaker` reads them through a
 * narrow injected source first. Side effects of a trip (the trip row, the flag, the issue) are the stage's
 * (gates/breaker-stage.ts), under the run lock.
 */
import type { Config } from '../config/schema.js';
import type { IssueClosure, StopLabelApplication } from '../github/breaker.js';
import { STOP_LABEL } from '../github/breaker.js';
import { errorMessage } from '../github/errors.js';
import type { EndedSelfChangeRow, FinishedRunRow, RevertRow, TripCause } from '../store/breaker.js';
import { repositoryParts } from '../options.js';
import type { GateResult } from './types.js';

/** Why the breaker trips (the causes of self_evolution_breaker_trips). */
export type BreakerCause = TripCause;

/** The causes in order of precedence: the first that holds names the trip. */
export const BREAKER_CAUSES: readonly BreakerCause[] = Object.freeze([
  'stop-label',
  'reverted',
  'rejected',
  'failures',
  'unreadable',
]);

/** The metadata value `trippedBy` the breaker writes on the feature flag it turns off. */
export const TRIPPED_BY = 'circuit-breaker';

/** The title of the one issue the breaker opens or updates. */
export const BREAKER_ISSUE_TITLE = 'Self-Evolution stopped itself';

/** Permissions (GitHub's `permission`, or `role_name`) that may stop the loop with the stop label. */
export const WRITE_PERMISSIONS: readonly string[] = Object.freeze(['admin', 'maintain', 'write']);

/** The thresholds, from the config. */
export interface BreakerLimits {
  /** breaker.revertWindowDays: a revert this many days old or newer trips it (days, integer >= 1). */
  revertWindowDays: number;
  /** breaker.maxConsecutiveRejected: this many pull requests in a row closed unmerged trip it (>= 1). */
  maxConsecutiveRejected: number;
  /** rollbackConfig.maxFailuresBeforeDisable: this many failed runs in a row trip it (>= 1). */
  maxFailuresBeforeDisable: number;
}

/** The thresholds of `config` (breaker.revertWindowDays, breaker.maxConsecutiveRejected, rollbackConfig.maxFailuresBeforeDisable). */
export function breakerLimitsOf(config: Pick<Config, 'breaker' | 'rollbackConfig'>): BreakerLimits {
  return {
    revertWindowDays: config.breaker.revertWindowDays,
    maxConsecutiveRejected: config.breaker.maxConsecutiveRejected,
    maxFailuresBeforeDisable: config.rollbackConfig.maxFailuresBeforeDisable,
  };
}

/** An input as read: its value, or why it could not be read. */
export type Read<T> = { ok: true; value: T } | { ok: false; error: string };

/** The stop-label input: read, unreadable, or not checked (no token, no GitHub repository) and why. */
export type StopLabelRead = Read<StopLabelApplication[]> | { ok: 'not-checked'; why: string };

/** Everything decideBreaker judges. Lists are in any order (it sorts them). */
export interface BreakerInputs {
  limits: BreakerLimits;
  /** Now, from the run's clock. */
  now: Date;
  /** Evidence at or before this time does not count (the last human reset); null: all counts. */
  since: Read<Date | null>;
  /** Reverts at or after now minus the window (store/breaker.ts revertsSince). */
  reverts: Read<RevertRow[]>;
  /** The latest self-change pull requests that ended (store/breaker.ts latestEndedSelfChanges). */
  endedSelfChanges: Read<EndedSelfChangeRow[]>;
  /** The latest finished runs (store/breaker.ts latestFinishedRuns). */
  runs: Read<FinishedRunRow[]>;
  stopLabels: StopLabelRead;
}

/**
 * What the breaker decided. `outcome` 'skip' means tripped (`cause` the first of `causes` in BREAKER_CAUSES
 * order); 'error' means its thresholds or clock were invalid (the run stops, nothing is tripped); 'pass'
 * otherwise (`cause` null). `details` holds the evidence of every cause (JSON), for the report and the issue.
 */
export interface BreakerDecision {
  outcome: 'pass' | 'skip' | 'error';
  cause: BreakerCause | null;
  causes: BreakerCause[];
  reason: string;
  details: Record<string, unknown>;
}

const DAY_MS = 86_400_000;
/** How many items a reason names before "and N more" (details list them all). */
const NAMED = 5;

/** True when `permission` or `roleName` is one of WRITE_PERMISSIONS (a person who may stop the loop). */
export function isWriter(permission: string | null, roleName: string | null = null): boolean {
  return (
    (permission !== null && WRITE_PERMISSIONS.includes(permission)) ||
    (roleName !== null && WRITE_PERMISSIONS.includes(roleName))
  );
}

function names(items: string[]): string {
  const more = items.length > NAMED ? ` and ${items.length - NAMED} more` : '';
  return items.slice(0, NAMED).join(', ') + more;
}

const after = (at: Date, since: Date | null): boolean => since === null || at.getTime() > since.getTime();

const prOf = (prNumber: number | null, actionId: number): string =>
  prNumber === null ? `action #${actionId}` : `#${prNumber}`;

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function checkLimits(limits: BreakerLimits, now: Date): string | null {
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) return `${key} must be an integer >= 1, got ${String(value)}`;
  }
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) return 'the current time is invalid';
  return null;
}

/**
 * Judges the breaker's inputs (see the module docs for the rules). Never throws: invalid thresholds or an
 * invalid `now` give outcome 'error'; an input that could not be read trips it with cause 'unreadable' (other
 * causes are still judged on what was read, with `since` taken as null when it could not be read).
 */
export function decideBreaker(inputs: BreakerInputs): BreakerDecision {
  const invalid = checkLimits(inputs.limits, inputs.now);
  if (invalid !== null) {
    return {
      outcome: 'error',
      cause: null,
      causes: [],
      reason: `circuit breaker: ${invalid}`,
      details: {},
    };
  }
  const { limits, now } = inputs;
  const since = inputs.since.ok ? inputs.since.value : null;
  const unreadable: Record<string, string> = {};
  const sentences = new Map<BreakerCause, string>();
  const details: Record<string, unknown> = {
    since: since?.toISOString() ?? null,
    limits: { ...limits },
  };
  if (!inputs.since.ok) unreadable.since = inputs.since.error;

  // reverted
  if (inputs.reverts.ok) {
    const from = new Date(now.getTime() - limits.revertWindowDays * DAY_MS);
    const byAction = new Map<number, RevertRow>();
    for (const r of inputs.reverts.value) {
      if (r.at.getTime() < from.getTime() || !after(r.at, since)) continue;
      const seen = byAction.get(r.actionId);
      if (!seen || r.at.getTime() > seen.at.getTime()) byAction.set(r.actionId, r);
    }
    const counted = [...byAction.values()].sort((a, b) => b.at.getTime() - a.at.getTime());
    details.reverted = counted.map((r) => ({
      actionId: r.actionId,
      prNumber: r.prNumber,
      revertPrNumber: r.revertPrNumber,
      kind: r.kind,
      at: r.at.toISOString(),
    }));
    if (counted.length > 0) {
      sentences.set(
        'reverted',
        `${plural(counted.length, 'self-change')} reverted within ${plural(limits.revertWindowDays, 'day')}: ` +
          names(counted.map((r) => `${prOf(r.prNumber, r.actionId)} at ${r.at.toISOString()}`)),
      );
    }
  } else unreadable.reverts = inputs.reverts.error;

  // rejected
  let rejectedInARow = 0;
  if (inputs.endedSelfChanges.ok) {
    const latest = inputs.endedSelfChanges.value
      .filter((e) => after(e.endedAt, since))
      .sort((a, b) => b.endedAt.getTime() - a.endedAt.getTime() || b.actionId - a.actionId)
      .slice(0, limits.maxConsecutiveRejected);
    const firstMerged = latest.findIndex((e) => e.outcome !== 'closed');
    rejectedInARow = firstMerged === -1 ? latest.length : firstMerged;
    const streak = latest.slice(0, rejectedInARow);
    details.rejected = {
      inARow: rejectedInARow,
      pullRequests: streak.map((e) => ({
        actionId: e.actionId,
        prNumber: e.prNumber,
        prUrl: e.prUrl,
        endedAt: e.endedAt.toISOString(),
        closedBy: e.closedBy,
      })),
    };
    if (rejectedInARow >= limits.maxConsecutiveRejected) {
      sentences.set(
        'rejected',
        `${plural(rejectedInARow, 'self-change pull request')} in a row closed without merging: ` +
          names(streak.map((e) => prOf(e.prNumber, e.actionId))),
      );
    }
  } else unreadable.endedSelfChanges = inputs.endedSelfChanges.error;

  // failures
  let failedInARow = 0;
  if (inputs.runs.ok) {
    const decisive = inputs.runs.value
      .filter((r) => !['skipped', 'cancelled', 'running', 'planned'].includes(r.status))
      .filter((r) => after(r.startedAt, since))
      .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || b.id - a.id);
    const firstOther = decisive.findIndex((r) => r.status !== 'failed');
    failedInARow = firstOther === -1 ? decisive.length : firstOther;
    const streak = decisive.slice(0, failedInARow);
    details.failures = {
      inARow: failedInARow,
      runs: streak.map((r) => ({ id: r.id, stale: r.stale, startedAt: r.startedAt.toISOString() })),
    };
    if (failedInARow >= limits.maxFailuresBeforeDisable) {
      const stale = streak.filter((r) => r.stale).length;
      sentences.set(
        'failures',
        `${plural(failedInARow, 'failed run')} in a row: ${names(streak.map((r) => `#${r.id}`))}` +
          (stale > 0 ? ` (${stale} of them stale: the process died)` : ''),
      );
    }
  } else unreadable.runs = inputs.runs.error;

  // stop-label
  let stopText: string;
  const stop = inputs.stopLabels;
  if (stop.ok === 'not-checked') {
    stopText = `stop label not checked: ${stop.why}`;
    details.stopLabel = { checked: false, why: stop.why };
  } else if (stop.ok) {
    const applied = stop.value.filter((s) => isWriter(s.permission, s.roleName));
    const ignored = stop.value.filter((s) => !isWriter(s.permission, s.roleName));
    const describe = (s: StopLabelApplication) => ({
      number: s.number,
      url: s.url,
      pullRequest: s.pullRequest,
      labeledBy: s.labeledBy,
      labeledAt: s.labeledAt,
      permission: s.permission,
      roleName: s.roleName,
    });
    details.stopLabel = { checked: true, applied: applied.map(describe), ignored: ignored.map(describe) };
    const by = (s: StopLabelApplication) =>
      `#${s.number} by ${s.labeledBy ?? 'an unknown user'} (${s.roleName ?? s.permission ?? 'no permission'})`;
    if (applied.length > 0) {
      sentences.set(
        'stop-label',
        `${STOP_LABEL} on open ${applied.length === 1 ? 'issue' : 'issues'} ${names(applied.map(by))}`,
      );
    }
    stopText =
      ignored.length > 0
        ? `${STOP_LABEL} ignored on ${names(ignored.map(by))}: not applied by someone with write access`
        : `no ${STOP_LABEL} label applied by someone with write access`;
  } else {
    unreadable.stopLabel = stop.error;
    stopText = '';
  }

  const unreadableNames = Object.keys(unreadable);
  if (unreadableNames.length > 0) {
    details.unreadable = unreadable;
    sentences.set(
      'unreadable',
      `could not read ${names(unreadableNames.map((k) => `${k} (${unreadable[k]})`))}; failing closed`,
    );
  }

  const causes = BREAKER_CAUSES.filter((c) => sentences.has(c));
  details.causes = causes;
  if (causes.length === 0) {
    const noRevert = `no self-change reverted in the last ${plural(limits.revertWindowDays, 'day')}`;
    return {
      outcome: 'pass',
      cause: null,
      causes,
      reason:
        `not tripped: ${noRevert}; ${rejectedInARow} of ${limits.maxConsecutiveRejected} pull requests in a row ` +
        `closed unmerged; ${failedInARow} of ${limits.maxFailuresBeforeDisable} failed runs in a row; ${stopText}`,
      details: { ...details, cause: null },
    };
  }
  const cause = causes[0]!;
  const others = causes.slice(1);
  return {
    outcome: 'skip',
    cause,
    causes,
    reason:
      `circuit breaker tripped (${cause}): ${sentences.get(cause)!}` +
      (others.length > 0 ? `; also ${others.map((c) => `${c}: ${sentences.get(c)!}`).join('; ')}` : ''),
    details: { ...details, cause },
  };
}

/** The store and GitHub behind the breaker (implemented in gates/breaker-stage.ts; tests pass their own). */
export interface BreakerSource {
  /**
   * Evidence at or before this time does not count (the last human reset), or null.
   * @throws when it cannot be read (the breaker then trips: unreadable)
   */
  evidenceSince(repository: string): Promise<Date | null>;
  /** Reverts of `repository` at or after `after`. @throws on a database error */
  reverts(repository: string, after: Date): Promise<RevertRow[]>;
  /** The `limit` latest self-change pull requests that ended. @throws on a database error */
  endedSelfChanges(repository: string, limit: number): Promise<EndedSelfChangeRow[]>;
  /** The `limit` latest finished runs. @throws on a database error */
  finishedRuns(repository: string, limit: number): Promise<FinishedRunRow[]>;
  /**
   * The open stop-labelled issues of owner/repo and who labelled them; absent when there is no GitHub token.
   * @throws on a GitHub error
   */
  stopLabels?(owner: string, repo: string): Promise<StopLabelApplication[]>;
}

async function read<T>(fn: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: errorMessage(error, 200) };
  }
}

/**
 * Reads the breaker's inputs through `source` (each failure captured, never thrown) and decides
 * (decideBreaker). The stop label is 'not checked' without `source.stopLabels` ("no GitHub token"), for a
 * repository not in owner/name form, and for a local checkout ('local/<dir>'). Returns the gate's result:
 * gate 'circuit-breaker', the decision's outcome and reason, and its details (`cause`, `causes`, evidence).
 * Never throws.
 */
export async function checkCircuitBreaker(
  source: BreakerSource,
  repository: string,
  limits: BreakerLimits,
  now: Date,
): Promise<GateResult> {
  const valid = !Number.isNaN(now.getTime()) && Number.isInteger(limits.revertWindowDays);
  const windowStart = new Date(valid ? now.getTime() - limits.revertWindowDays * DAY_MS : 0);
  const parsed = repositoryParts(repository);
  let stopLabels: StopLabelRead;
  if (!parsed)
    stopLabels = { ok: 'not-checked', why: `repository "${repository}" is not in owner/name form` };
  else if (parsed.owner === 'local')
    stopLabels = { ok: 'not-checked', why: `${repository} is a local checkout without a GitHub remote` };
  else if (!source.stopLabels) stopLabels = { ok: 'not-checked', why: 'no GitHub token' };
  else {
    const list = source.stopLabels.bind(source);
    stopLabels = await read(() => list(parsed.owner, parsed.repo));
  }
  const positive = (n: number) => (Number.isInteger(n) && n >= 1 && n <= 1000 ? n : 1);
  const decision = decideBreaker({
    limits,
    now,
    since: await read(() => source.evidenceSince(repository)),
    reverts: await read(() => source.reverts(repository, windowStart)),
    endedSelfChanges: await read(() =>
      source.endedSelfChanges(repository, positive(limits.maxConsecutiveRejected)),
    ),
    runs: await read(() => source.finishedRuns(repository, positive(limits.maxFailuresBeforeDisable))),
    stopLabels,
  });
  return {
    gate: 'circuit-breaker',
    outcome: decision.outcome,
    reason: decision.reason,
    details: decision.details,
  };
}

/** A feature flag as the breaker reads it (store/flags.ts FlagRecord). */
export interface BreakerFlag {
  key: string;
  value: boolean;
  metadata: Record<string, unknown>;
  updatedAt: Date;
}

/**
 * The time before which evidence does not count: the later of when the deciding flag was last written while
 * on (a person turned the loop on) and the last reset of a trip; null when neither exists.
 */
export function evidenceHorizon(flag: BreakerFlag | null, lastResetAt: Date | null): Date | null {
  const candidates = [flag?.value ? flag.updatedAt : null, lastResetAt].filter(
    (d): d is Date => d instanceof Date && !Number.isNaN(d.getTime()),
  );
  if (candidates.length === 0) return null;
  return new Date(Math.max(...candidates.map((d) => d.getTime())));
}

/**
 * Who set a flag, from its metadata, for a trip's reset_by: the CLI's `{setBy, user}` as "cli (alice)", else
 * the first string among resetBy, enabledBy, updatedBy, user, by, actor, else "unknown (the flag's metadata does
 * not say who set it)".
 */
export function flagSetter(metadata: Record<string, unknown>): string {
  const str = (k: string) => (typeof metadata[k] === 'string' && metadata[k] !== '' ? metadata[k] : null);
  const setBy = str('setBy');
  const user = str('user');
  if (setBy && user) return `${setBy} (${user})`;
  for (const k of ['resetBy', 'enabledBy', 'updatedBy', 'user', 'by', 'actor', 'setBy']) {
    const v = str(k);
    if (v) return v;
  }
  return "unknown (the flag's metadata does not say who set it)";
}

/** The part of a trip record the reset rules read. */
export interface OpenTrip {
  id: number;
  cause: BreakerCause;
  trippedAt: Date;
  details: Record<string, unknown>;
}

/**
 * A human reset by the flag: the trip is open and the deciding flag is on and was written after the trip
 * (`flag set self_evolution_enabled true`). Returns when and by whom (flagSetter), or null.
 */
export function resetByFlag(
  trip: OpenTrip | null,
  flag: BreakerFlag | null,
): { resetAt: Date; resetBy: string } | null {
  if (!trip || !flag || !flag.value) return null;
  if (flag.updatedAt.getTime() <= trip.trippedAt.getTime()) return null;
  return { resetAt: flag.updatedAt, resetBy: flagSetter(flag.metadata) };
}

/** The stop issues a stop-label trip recorded (details.stopLabel.applied[].number). */
export function stopIssuesOf(trip: OpenTrip): number[] {
  const stop = trip.details.stopLabel as { applied?: Array<{ number?: unknown }> } | undefined;
  return (stop?.applied ?? [])
    .map((s) => s.number)
    .filter((n): n is number => typeof n === 'number' && Number.isInteger(n));
}

/**
 * True when the breaker itself turned `flag` off for `trip` (metadata trippedBy 'circuit-breaker' and tripId =
 * the trip's id) and nobody wrote it since: only then may the closing of a stop issue turn it back on.
 */
export function flagOffByTrip(flag: BreakerFlag | null, trip: OpenTrip | null): boolean {
  return (
    !!flag &&
    !!trip &&
    !flag.value &&
    flag.metadata.trippedBy === TRIPPED_BY &&
    flag.metadata.tripId === trip.id
  );
}

/**
 * A human reset by closing the stop issue: `trip` was a stop-label trip, the breaker turned the flag off for it
 * and nobody changed it since (flagOffByTrip), every stop issue of the trip is now closed by someone with
 * write access, and no open issue carries a stop label applied by someone with write access. Returns by whom
 * ("closed stop issue #12 (alice)"), or null.
 */
export function resetByClosedStopIssue(
  trip: OpenTrip | null,
  flag: BreakerFlag | null,
  closures: readonly IssueClosure[],
  openStopLabels: readonly StopLabelApplication[],
): { resetBy: string } | null {
  if (!trip || trip.cause !== 'stop-label' || !flagOffByTrip(flag, trip)) return null;
  const wanted = stopIssuesOf(trip);
  if (wanted.length === 0) return null;
  const closed = wanted.map((n) => closures.find((c) => c.number === n));
  if (closed.some((c) => !c || c.state !== 'closed' || !isWriter(c.permission, c.roleName))) return null;
  if (openStopLabels.some((s) => isWriter(s.permission, s.roleName))) return null;
  const who = (closed as IssueClosure[]).map((c) => `#${c.number} (${c.closedBy ?? 'unknown'})`);
  return { resetBy: `closed stop ${who.length === 1 ? 'issue' : 'issues'} ${who.join(', ')}` };
}

/** What the breaker's issue says (renderBreakerIssue). */
export interface BreakerIssueInput {
  /** 'owner/name'. */
  repository: string;
  cause: BreakerCause;
  /** The gate's reason. */
  reason: string;
  /** The gate's details (evidence). */
  details: Record<string, unknown>;
  /** The trip's id in self_evolution_breaker_trips, or null when it could not be recorded. */
  tripId: number | null;
  /** When it tripped (ISO 8601). */
  at: string;
  /** The feature flag key set to false. */
  flagKey: string;
}

/** One line of text that may come from outside (a reason, a login): no HTML, no mentions, no code spans. */
function plain(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replaceAll('<', '&lt;')
    .replaceAll('@', '@\u200b')
    .replaceAll('`', "'")
    .slice(0, 1000);
}

/**
 * The title, body and follow-up comment of the breaker's issue: the cause and reason, the evidence (pull
 * requests, runs, stop issues and who labelled them, what could not be read), what happened (the run skipped,
 * the flag turned off with its metadata) and how to reset: `npx self-evolution flag set <flag> true` against
 * the same database, or, for a stop label, closing the stop issue (someone with write access). Pure.
 */
export function renderBreakerIssue(input: BreakerIssueInput): {
  title: string;
  body: string;
  comment: string;
} {
  const d = input.details;
  const evidence: string[] = [];
  const reverted = (d.reverted as Array<Record<string, unknown>> | undefined) ?? [];
  for (const r of reverted) {
    const pr = r.prNumber === null ? `action #${String(r.actionId)}` : `pull request #${String(r.prNumber)}`;
    const by = r.revertPrNumber ? ` by revert pull request #${String(r.revertPrNumber)}` : '';
    evidence.push(`- reverted: ${pr}${by}, at ${String(r.at)}`);
  }
  const rejected = d.rejected as
    { inARow?: number; pullRequests?: Array<Record<string, unknown>> } | undefined;
  if (input.cause === 'rejected' || (d.causes as string[] | undefined)?.includes('rejected')) {
    for (const p of rejected?.pullRequests ?? []) {
      const pr =
        p.prNumber === null ? `action #${String(p.actionId)}` : `pull request #${String(p.prNumber)}`;
      const by = typeof p.closedBy === 'string' ? ` by \`${plain(p.closedBy)}\`` : '';
      evidence.push(`- closed without merging: ${pr}${by}, at ${String(p.endedAt)}`);
    }
  }
  const failures = d.failures as { inARow?: number; runs?: Array<Record<string, unknown>> } | undefined;
  if ((d.causes as string[] | undefined)?.includes('failures')) {
    for (const r of failures?.runs ?? []) {
      evidence.push(
        `- failed run #${String(r.id)}, started ${String(r.startedAt)}${r.stale ? ' (stale)' : ''}`,
      );
    }
  }
  const stop = d.stopLabel as { applied?: Array<Record<string, unknown>> } | undefined;
  for (const s of stop?.applied ?? []) {
    evidence.push(
      `- \`${STOP_LABEL}\` on #${String(s.number)}, applied by \`${plain(String(s.labeledBy))}\` ` +
        `(${plain(String(s.roleName ?? s.permission))}) at ${String(s.labeledAt)}`,
    );
  }
  const unreadable = (d.unreadable as Record<string, string> | undefined) ?? {};
  for (const [what, why] of Object.entries(unreadable))
    evidence.push(`- could not read ${what}: ${plain(why)}`);

  const stopIssues = (stop?.applied ?? []).map((s) => `#${String(s.number)}`);
  const reset = [
    'After looking at the evidence, a person turns the loop back on, against the same database:',
    '',
    '```sh',
    `npx self-evolution flag set ${input.flagKey} true`,
    '```',
    '',
    'Evidence from before that moment no longer counts, so the next run goes ahead unless something new happens.',
  ];
  if (input.cause === 'stop-label' && stopIssues.length > 0) {
    reset.push(
      '',
      `Or close the stop ${stopIssues.length === 1 ? 'issue' : 'issues'} ${stopIssues.join(', ')} (someone with ` +
        'write access): the next run then turns the flag back on itself.',
    );
  }
  const body = [
    '<!-- self-evolution:breaker -->',
    `Self-Evolution stopped itself in \`${plain(input.repository)}\`: its circuit breaker tripped.`,
    '',
    `- **Cause:** \`${input.cause}\``,
    `- **Why:** ${plain(input.reason)}`,
    `- **When:** ${input.at}${input.tripId !== null ? ` (trip #${input.tripId})` : ''}`,
    '',
    '### Evidence',
    '',
    ...(evidence.length > 0 ? evidence : ['- (none recorded)']),
    '',
    '### What happened',
    '',
    '- The run was skipped, and every run after it is skipped too.',
    `- The feature flag \`${input.flagKey}\` was set to \`false\` (metadata \`trippedBy: ${TRIPPED_BY}\`, the cause, ` +
      'the reason and the time).',
    '- Nothing was merged, reverted or closed by the breaker.',
    '',
    '### How to reset',
    '',
    ...reset,
    '',
  ].join('\n');
  const comment = `Tripped again at ${input.at}${input.tripId !== null ? ` (trip #${input.tripId})` : ''}: \`${input.cause}\`: ${plain(input.reason)}`;
  return { title: BREAKER_ISSUE_TITLE, body, comment };
}
