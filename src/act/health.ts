/**
 * The health of a merged self-change, decided from its checks: should the loop revert it?
 * PURE: no I/O, no clock (the caller passes `now`); src/github/checks.ts reads the signals, act/revert.ts acts.
 *
 * A revert is decided only when every guard holds, in this order (each named in the decision):
 *
 * 1. `not-a-revert`: the merge commit does not carry the `Self-Evolution-Revert-Of` trailer (a revert is never
 *    reverted: known by its trailer, never by its title).
 * 2. `window`: it was merged less than `autoRevert.windowHours` ago.
 * 3. `readable`: the checks of the merge commit, of its parent and which checks are required could be read.
 *    If not, nothing is done and the decision says so (an unknown is never read as a failure).
 * 4. `required-failed`: a required check (branch protection's or the rulesets' required status checks; every
 *    check when none are configured) failed on the merge commit. Only the latest attempt of each check counts;
 *    cancelled, skipped, neutral and unfinished runs never count as failures.
 * 5. `parent-green`: the same check's latest attempt succeeded on the parent commit (a check already red
 *    before the change, or that did not run there, does not blame it).
 * 6. `confirmed`: a second signal confirms the failure at least `autoRevert.confirmMinutes` after the first:
 *    a rerun of the check on the merge commit that failed again (no success in between), or the same check
 *    failing on the next commit of the default branch.
 *
 * Where the guards come from: pytorch/test-infra's autorevert (a failure counts when a newer commit fails the
 * same signal while an older one passed, or a restart of the workflow fails again; pending and cancelled jobs
 * are not failures) and ClickHouse's revert workflow (the same-check intersection that filters flaky failures;
 * at most a few reverts per run; an existing revert looked up before opening one; reverts never reverted; it was
 * itself reverted once for reverting changes that failed for unrelated reasons, which `parent-green` prevents).
 */
import type {
  CheckObservation,
  CheckSource,
  CheckState,
  CommitSignals,
  RequiredChecks,
} from '../github/checks.js';

export type { CheckObservation, CheckSource, CheckState, CommitSignals, RequiredChecks };

/** Everything the decision is made from. */
export interface HealthInput {
  /** The merge (or squash) commit of the self-change on the default branch. */
  mergeSha: string;
  /** When its pull request was merged. */
  mergedAt: Date;
  /** The merge commit carries the `Self-Evolution-Revert-Of` trailer (it is itself a revert). */
  isRevert: boolean;
  merge: CommitSignals;
  /** Its first parent's checks (sha: the parent). */
  parent: CommitSignals;
  /** The first-parent child of the merge commit on the default branch, when there is one yet. */
  next: CommitSignals | null;
  /** The required checks, or why they could not be read. */
  required: RequiredChecks | { unreadable: string };
  now: Date;
  /** config autoRevert.windowHours (hours). */
  windowHours: number;
  /** config autoRevert.confirmMinutes (minutes). */
  confirmMinutes: number;
}

/** The guards of {@link decideHealth}, in the order they are checked. */
export const HEALTH_GUARDS = [
  'not-a-revert',
  'window',
  'readable',
  'required-failed',
  'parent-green',
  'confirmed',
] as const;

/** One guard of {@link HEALTH_GUARDS}. */
export type HealthGuard = (typeof HEALTH_GUARDS)[number];

/** A guard as it was checked: held or not, and why, in one line. */
export interface GuardResult {
  id: HealthGuard;
  held: boolean;
  detail: string;
}

/** The second signal that confirmed a failure. */
export interface Confirmation {
  /** 'rerun': a later attempt on the merge commit failed again; 'next-commit': the next commit failed it too. */
  by: 'rerun' | 'next-commit';
  /** The commit of the second signal (the merge commit for a rerun). */
  sha: string;
  attempt: number;
  /** When the second signal failed (ISO 8601). */
  at: string;
  url: string | null;
  /** Whole minutes from the first failure to the second signal. */
  minutesLater: number;
}

/** A required check whose latest attempt failed on the merge commit, with what the parent and later signals say. */
export interface FailingCheck {
  source: CheckSource;
  name: string;
  /** The latest attempt (the failed one), its time and page. */
  attempt: number;
  at: string | null;
  url: string | null;
  /** When this check first failed on the merge commit (ISO 8601): the start of the confirmation wait. */
  firstFailedAt: string | null;
  /** The same check's latest attempt on the parent ('absent': it did not run there). */
  parent: { state: CheckState | 'absent'; url: string | null };
  /** The second signal, or null when there is none (yet). */
  confirmation: Confirmation | null;
  /** Why this check does not (yet) count, or null when it does. */
  rejected: string | null;
}

/** What the decision saw, stored as the rollback's evidence and rendered in the revert pull request. */
export interface HealthEvidence {
  mergeSha: string;
  parentSha: string | null;
  nextSha: string | null;
  required: { names: string[] | null; source: RequiredChecks['source'] | 'unreadable'; note: string };
  /** Required checks whose latest attempt failed on the merge commit. */
  failing: FailingCheck[];
  /** Checks whose latest attempt was cancelled, skipped or neutral (never failures). */
  ignored: { source: CheckSource; name: string; state: CheckState }[];
  /** Checks still running on the merge commit. */
  pending: string[];
}

/** The decision: revert or not, why (the first guard that did not hold, or the confirmed failure), the guards. */
export interface HealthDecision {
  revert: boolean;
  /** One line, e.g. `parent-green: "test" was already failing on the parent 1a2b3c4: not this change`. */
  reason: string;
  /** The guards checked, in order; the last one is the one that stopped the decision unless `revert`. */
  guards: GuardResult[];
  evidence: HealthEvidence;
}

/** The first 7 characters of a commit id. */
const short = (sha: string): string => sha.slice(0, 7);

/** States that are never a failure (cancelled, skipped, neutral). */
const IGNORED: ReadonlySet<CheckState> = new Set(['cancelled', 'skipped', 'neutral']);

/** The key of one check across commits: its source and name. */
const keyOf = (c: Pick<CheckObservation, 'source' | 'name'>): string => `${c.source}\u0000${c.name}`;

/** Milliseconds of an ISO time, or NaN. */
const ms = (iso: string | null): number => (iso === null ? Number.NaN : Date.parse(iso));

/**
 * Every attempt of each check, oldest attempt first (by attempt, then time), keyed by source and name.
 */
function attemptsByCheck(checks: readonly CheckObservation[]): Map<string, CheckObservation[]> {
  const byKey = new Map<string, CheckObservation[]>();
  for (const c of checks) {
    const list = byKey.get(keyOf(c)) ?? [];
    list.push(c);
    byKey.set(keyOf(c), list);
  }
  for (const list of byKey.values()) {
    list.sort((a, b) => a.attempt - b.attempt || (ms(a.at) || 0) - (ms(b.at) || 0));
  }
  return byKey;
}

/** The latest attempt of each check (the last of {@link attemptsByCheck}). */
export function latestAttempts(checks: readonly CheckObservation[]): CheckObservation[] {
  return [...attemptsByCheck(checks).values()].map((list) => list[list.length - 1]!);
}

/** Whether `name` is required (every check is when none are configured). */
function isRequired(required: RequiredChecks, name: string): boolean {
  return required.names === null || required.names.includes(name);
}

/**
 * The rerun that confirms a failure: the attempts of the check on the merge commit from its first failure on are
 * all failures (cancelled and skipped ones aside; a success in between makes it flaky), at least two of them,
 * the latest `confirmMinutes` or more after the first.
 */
function rerunConfirmation(
  attempts: readonly CheckObservation[],
  mergeSha: string,
  confirmMinutes: number,
): { firstFailedAt: string | null; confirmation: Confirmation | null; why: string } {
  const counted = attempts.filter((a) => !IGNORED.has(a.state));
  // The failures at the end of the attempts, back to the last success (or the first attempt).
  let from = counted.length;
  while (from > 0 && counted[from - 1]!.state === 'failure') from--;
  const streak = counted.slice(from);
  const first = streak[0] ?? null;
  const last = streak[streak.length - 1] ?? null;
  const firstFailedAt = first?.at ?? null;
  if (!first || !last || streak.length < 2) {
    const flaky = from > 0 && counted.slice(0, from).some((a) => a.state === 'success');
    return {
      firstFailedAt,
      confirmation: null,
      why: flaky ? 'it passed on an earlier attempt (flaky)' : 'it failed once (no rerun failed again)',
    };
  }
  const minutes = (ms(last.at) - ms(first.at)) / 60_000;
  if (!(minutes >= confirmMinutes)) {
    return {
      firstFailedAt,
      confirmation: null,
      why: `its rerun (attempt ${last.attempt}) failed ${Number.isFinite(minutes) ? Math.floor(minutes) : '?'} minute(s) after the first failure, less than confirmMinutes ${confirmMinutes}`,
    };
  }
  return {
    firstFailedAt,
    confirmation: {
      by: 'rerun',
      sha: mergeSha,
      attempt: last.attempt,
      at: last.at!,
      url: last.url,
      minutesLater: Math.floor(minutes),
    },
    why: '',
  };
}

/** The next commit's failure of the same check, `confirmMinutes` or more after the first failure. */
function nextCommitConfirmation(
  next: CommitSignals | null,
  check: CheckObservation,
  firstFailedAt: string | null,
  confirmMinutes: number,
): { confirmation: Confirmation | null; why: string } {
  if (next === null) return { confirmation: null, why: 'no later commit on the default branch yet' };
  if (!next.readable)
    return { confirmation: null, why: `could not read the checks of the next commit ${short(next.sha)}` };
  const latest = latestAttempts(next.checks).find((c) => keyOf(c) === keyOf(check));
  if (!latest) return { confirmation: null, why: `it did not run on the next commit ${short(next.sha)}` };
  if (latest.state !== 'failure')
    return { confirmation: null, why: `it is ${latest.state} on the next commit ${short(next.sha)}` };
  const minutes = (ms(latest.at) - ms(firstFailedAt)) / 60_000;
  if (!(minutes >= confirmMinutes)) {
    return {
      confirmation: null,
      why: `the next commit ${short(next.sha)} failed it ${Number.isFinite(minutes) ? Math.floor(minutes) : '?'} minute(s) after the first failure, less than confirmMinutes ${confirmMinutes}`,
    };
  }
  return {
    confirmation: {
      by: 'next-commit',
      sha: next.sha,
      attempt: latest.attempt,
      at: latest.at!,
      url: latest.url,
      minutesLater: Math.floor(minutes),
    },
    why: '',
  };
}

/**
 * Decides whether a merged self-change must be reverted (see the module docs for the guards and where they come
 * from). Pure: the same input gives the same decision.
 * @returns `revert: true` only when every guard holds; otherwise the first guard that did not hold is the reason
 */
export function decideHealth(input: HealthInput): HealthDecision {
  const guards: GuardResult[] = [];
  const evidence: HealthEvidence = {
    mergeSha: input.mergeSha,
    parentSha: input.parent.sha || null,
    nextSha: input.next?.sha ?? null,
    required:
      'unreadable' in input.required
        ? { names: null, source: 'unreadable', note: input.required.unreadable }
        : { names: input.required.names, source: input.required.source, note: input.required.note },
    failing: [],
    ignored: [],
    pending: [],
  };
  const stop = (id: HealthGuard, detail: string): HealthDecision => {
    guards.push({ id, held: false, detail });
    return { revert: false, reason: `${id}: ${detail}`, guards, evidence };
  };
  const pass = (id: HealthGuard, detail: string): void => void guards.push({ id, held: true, detail });
  const m = short(input.mergeSha);

  if (input.isRevert)
    return stop('not-a-revert', `${m} is a revert (Self-Evolution-Revert-Of trailer): never reverted`);
  pass('not-a-revert', `${m} carries no Self-Evolution-Revert-Of trailer`);

  const hours = (input.now.getTime() - input.mergedAt.getTime()) / 3_600_000;
  if (!(hours < input.windowHours)) {
    return stop(
      'window',
      `merged ${Number.isFinite(hours) ? Math.floor(hours) : '?'} hour(s) ago, not less than windowHours ${input.windowHours}`,
    );
  }
  pass('window', `merged ${Math.floor(hours)} hour(s) ago, less than windowHours ${input.windowHours}`);

  const unreadable = [
    ...(input.merge.readable ? [] : [`the checks of the merge commit ${m}: ${input.merge.error}`]),
    ...(input.parent.readable
      ? []
      : [`the checks of the parent ${short(input.parent.sha)}: ${input.parent.error}`]),
    ...('unreadable' in input.required ? [`the required checks: ${input.required.unreadable}`] : []),
  ];
  if (!input.merge.readable || !input.parent.readable || 'unreadable' in input.required)
    return stop('readable', `could not read ${unreadable.join('; ')}: nothing is done`);
  const required = input.required;
  pass('readable', `read the checks of ${m} and of its parent ${short(input.parent.sha)}; ${required.note}`);

  const mergeAttempts = attemptsByCheck(input.merge.checks);
  const parentLatest = new Map(latestAttempts(input.parent.checks).map((c) => [keyOf(c), c]));
  const failed: { latest: CheckObservation; attempts: CheckObservation[] }[] = [];
  for (const attempts of mergeAttempts.values()) {
    const latest = attempts[attempts.length - 1]!;
    if (!isRequired(required, latest.name)) continue;
    if (IGNORED.has(latest.state))
      evidence.ignored.push({ source: latest.source, name: latest.name, state: latest.state });
    else if (latest.state === 'pending') evidence.pending.push(latest.name);
    else if (latest.state === 'failure') failed.push({ latest, attempts });
  }
  if (failed.length === 0) {
    const extra = [
      ...(evidence.ignored.length
        ? [`${evidence.ignored.length} cancelled/skipped/neutral (never failures)`]
        : []),
      ...(evidence.pending.length ? [`${evidence.pending.length} still running`] : []),
    ];
    return stop(
      'required-failed',
      `no required check's latest attempt failed on ${m}${extra.length ? ` (${extra.join(', ')})` : ''}`,
    );
  }
  pass(
    'required-failed',
    `${failed.length} required check(s) failed on ${m}: ${failed.map((f) => `"${f.latest.name}"`).join(', ')}`,
  );

  for (const { latest, attempts } of failed) {
    const onParent = parentLatest.get(keyOf(latest));
    const rerun = rerunConfirmation(attempts, input.mergeSha, input.confirmMinutes);
    const check: FailingCheck = {
      source: latest.source,
      name: latest.name,
      attempt: latest.attempt,
      at: latest.at,
      url: latest.url,
      firstFailedAt: rerun.firstFailedAt,
      parent: { state: onParent?.state ?? 'absent', url: onParent?.url ?? null },
      confirmation: null,
      rejected: null,
    };
    evidence.failing.push(check);
    if (onParent?.state !== 'success') {
      check.rejected =
        onParent === undefined
          ? `it did not run on the parent ${short(input.parent.sha)} (no green baseline)`
          : onParent.state === 'failure'
            ? `it was already failing on the parent ${short(input.parent.sha)}: not this change`
            : `it is ${onParent.state} on the parent ${short(input.parent.sha)}, not green`;
      continue;
    }
    if (rerun.confirmation) {
      check.confirmation = rerun.confirmation;
      continue;
    }
    const byNext = nextCommitConfirmation(input.next, latest, rerun.firstFailedAt, input.confirmMinutes);
    if (byNext.confirmation) check.confirmation = byNext.confirmation;
    else check.rejected = `not confirmed: ${rerun.why}; ${byNext.why}`;
  }

  const green = evidence.failing.filter((f) => f.parent.state === 'success');
  if (green.length === 0) {
    return stop('parent-green', evidence.failing.map((f) => `"${f.name}": ${f.rejected}`).join('; '));
  }
  pass('parent-green', green.map((f) => `"${f.name}" was green on ${short(input.parent.sha)}`).join('; '));

  const confirmed = green.filter((f) => f.confirmation !== null);
  if (confirmed.length === 0) {
    return stop('confirmed', green.map((f) => `"${f.name}": ${f.rejected}`).join('; '));
  }
  const said = confirmed
    .map((f) => {
      const c = f.confirmation!;
      return `"${f.name}" failed on ${m}, green on ${short(input.parent.sha)}, confirmed by ${
        c.by === 'rerun' ? `its rerun (attempt ${c.attempt})` : `the next commit ${short(c.sha)}`
      } ${c.minutesLater} minute(s) later`;
    })
    .join('; ');
  pass('confirmed', said);
  return { revert: true, reason: `confirmed: ${said}`, guards, evidence };
}
