/**
 * Reconciliation: at the start of every run, under the lock and before reflection, in dry and live
 * runs, each self-evolution pull request the database still thinks open (action status 'submitted') is looked
 * up on GitHub and its action moved on:
 *
 * - merged: status 'merged', with the merge commit, when and by whom;
 * - closed without merging: status 'closed', with when, by whom (`closed_by`, else the last person who wrote)
 *   and the last review or comment of a person as the reason (UNTRUSTED text: secrets masked, cut to
 *   CLOSE_REASON_MAX characters, stored and reported as data, never rendered without escaping);
 * - still open: its age is recorded; a DRAFT open longer than `pullRequest.expireDays` is closed with a comment
 *   saying why (status 'closed', closed by 'self-evolution', reason "expired after N days");
 * - conflicting with its base (GitHub's `mergeable: false` / `mergeable_state: dirty`):
 *   - when someone else committed to the branch (its head is not the commit the loop pushed), it is left as it
 *     is, with one comment per head commit saying so (as Renovate does with a branch someone edited);
 *   - when only the loop committed to it, it is REBUILT without a force-push: the change (the proposal's
 *     recorded patch) is made again on the base's tip, judged by the rails and verified again, and published as
 *     a NEW branch and pull request (act/publish.ts publishChange: a new action row for the same proposal,
 *     named after the rebuilt patch's hash); then the old pull request is closed with a comment pointing to
 *     the new one. The project never force-pushes, and updating a branch to a commit on another base is a
 *     non-fast-forward, so a new branch is the only way. When the change cannot be made again there (it no
 *     longer applies, the rails or verify refuse it), the old pull request is closed with a comment saying why.
 *
 * Only live runs that publish (`write`) comment, close or rebuild; a dry run or the propose job reports what
 * it would do ('would-expire', 'would-comment', 'would-rebuild') and only records what GitHub says. The publish
 * job of the two-job setup writes but runs no code of the repository, so it cannot rebuild (a rebuild verifies
 * the change again): it closes a conflicted change of the loop's own with a comment saying why
 * (`noRebuild`; outcome 'not-rebuilt'), and the next runs propose and verify the change again on the new base.
 *
 * A pull-request action an earlier run left planned or pushed (it stopped between its record and its pull
 * request) is FINISHED by a live single-job run (`resume`): the proposal's recorded patch goes through
 * publishChange again, which verifies it, adopts the branch already pushed, opens the pull request (or finds
 * it) and moves the same action row on (outcome 'resumed'). Each attempt is counted on the action first
 * (`payload.resume`); one that cannot finish it leaves the row as it was with the reason, and after
 * RESUME_ATTEMPTS attempts the action is given up (status 'failed', the reason recorded). Elsewhere (a dry run,
 * the propose or the publish job, which must not verify), and for an action whose patch is not its proposal's
 * (a rebuilt change: its next rebuild finishes it), it is only reported ('unfinished').
 *
 * An open pull request whose opening run stopped before its labels, review requests and CI dispatch were done
 * (`payload.finishing.done` false, act/publish.ts) has them done by a live run that writes (outcome 'open',
 * `did` says so).
 *
 * Every GitHub write is preceded by the action row saying it is about to happen (`payload.reconcile.pending`)
 * and followed by the row saying it did; each comment carries a hidden marker, so a run that resumes an
 * interrupted write looks for its comment before posting it again. A GitHub (or git) error leaves the action's
 * status as it was, with the error recorded on it and in the report; the other actions and the run go on.
 * `reconciled_at` is written each time a pull request was read successfully.
 */
import type { Config } from '../config/schema.js';
import { RunInterrupted, type Logger, type RunGuard } from '../deps.js';
import type { ProposalReport, Provenance, ReconciledAction, VerifyReport } from '../records.js';
import type { Violation } from '../rails/types.js';
import { findSecrets } from '../rails/rules/secrets.js';
import { MASK, maskSecrets, redactTokens } from '../secrets.js';
import {
  commitPatch,
  fetchBranchMessage,
  patchBetween,
  PatchDoesNotApply,
  remoteBranchHead,
} from '../git/publish.js';
import type { GitHubClient } from '../github/client.js';
import { describeGitHubError, httpStatusOf } from '../github/errors.js';
import {
  closedByOf,
  closePullRequest,
  commentOn,
  getPullRequest,
  remarksOn,
  type PullRequestDetails,
  type RepoRef,
} from '../github/pulls.js';
import type { Queryable } from '../store/db.js';
import {
  submittedActions,
  unfinishedActions,
  updateAction,
  type ActionRecord,
  type ActionUpdate,
  CLOSED_BY_SELF,
} from '../store/actions.js';
import { getProposal, patchSha256, type ProposalRecord } from '../store/proposals.js';
import { finishPullRequest, pendingFinishing, publishChange, type PublishContext } from './publish.js';
import { BODY_MAX, cutUnits } from './pull-request.js';
import type { ActItem, LiveAct, RenderFor, VerifyFor } from './stage.js';
import { publishableAfterVerify } from './verify.js';

/** Characters of a person's last review or comment kept as an action's close reason. */
export const CLOSE_REASON_MAX = 2000;

/** Pages of 100 reviews, and of 100 comments, read of a pull request closed without merging. */
export const REMARK_PAGES = 3;

export { CLOSED_BY_SELF };

/** The start of the hidden marker line of every comment reconciliation leaves. */
export const COMMENT_MARKER_PREFIX = '<!-- self-evolution-reconcile:';

const DAY_MS = 86_400_000;

/** Attempts at finishing an action an earlier run left planned or pushed before it is given up ('failed'). */
export const RESUME_ATTEMPTS = 3;

/** What a rebuild of a conflicted change, or finishing an unfinished one, needs (see the module docs). */
export interface RebuildTools {
  /** What act/publish.ts publishChange needs, but `prepare` (made here for each rebuilt change). */
  publish: Omit<PublishContext, 'prepare'>;
  /** Verifies a change on a base commit in the run's sandbox (the act stage's verify callback). */
  verify: VerifyFor;
  /** Renders a change's pull request on a base commit (the act stage's render callback). */
  render: RenderFor;
  /** config verify.optional (an unverified change of risk >= 2 is published only then). */
  verifyOptional: boolean;
}

/** Input of {@link reconcileActions}. */
export interface ReconcileInput {
  db: Queryable;
  /** 'owner/name', the key of the action rows. */
  repository: string;
  /** The client that reads (and, in a live run, writes); absent: nothing is looked up ('not-checked'). */
  github?: GitHubClient;
  /** owner/name on GitHub; null when the repository is not a GitHub one ('not-checked'). */
  repo: RepoRef | null;
  /** The run's clock now: ages are counted to it. */
  now: Date;
  /** config pullRequest.expireDays (1..365): a draft open longer than this many days is closed. */
  expireDays: number;
  /** A live run that publishes: comments, closes and rebuilds. False: a dry run or the propose job. */
  write: boolean;
  /**
   * How to publish a change again: asked for only when a conflicted change of the loop's own is to be rebuilt,
   * or an unfinished action finished (it may read GitHub: the default branch); absent: reported
   * 'would-rebuild' and 'unfinished', not done. Its errors are recorded like GitHub's.
   */
  rebuild?: () => Promise<RebuildTools>;
  /**
   * A live run that writes but must not rebuild (the publish job: making the change again means verifying it,
   * which runs the repository's code): a conflicted change of the loop's own is closed with a comment giving
   * this reason (outcome 'not-rebuilt'), whether or not `rebuild` is given. Absent: rebuilt, or reported
   * 'would-rebuild' without `rebuild`. Ignored unless `write`.
   */
  noRebuild?: string;
  guard: RunGuard;
  logger: Logger;
  /** Values masked in every text kept (the run's secrets). */
  secrets: readonly string[];
}

/** What reconciliation keeps in an action's payload (`payload.reconcile`). */
interface ReconcileState {
  /** When the pull request was last read, ISO 8601. */
  checkedAt?: string;
  ageDays?: number;
  draft?: boolean;
  mergeable?: boolean | null;
  mergeableState?: string;
  /** A GitHub write about to happen (kept while it is not known to be done). */
  pending?: PendingWrite | null;
  /** The head commit a conflict comment was left for (one comment per head commit). */
  conflictCommentedFor?: string;
  /** The pull request that replaced this one. */
  rebuiltAs?: { actionId: number; number: number; url: string };
}

/** The kinds of comment reconciliation leaves. */
type CommentKind = 'expired' | 'conflict' | 'rebuilt' | 'not-rebuilt';

interface PendingWrite {
  kind: CommentKind | 'rebuild';
  /** The pull request's head commit when the write was decided. */
  headSha: string;
  /** The close reason the write records (closing kinds). */
  reason?: string;
  at: string;
}

/**
 * The text a person wrote, as it may be kept: the run's secrets masked, GitHub tokens and secrets of a known
 * format (the rails' SECRET_PATTERNS) replaced by `***`, line ends normalised, trimmed, and cut to
 * {@link CLOSE_REASON_MAX} characters (ending with `…` when cut). Still UNTRUSTED: quote it as data and escape
 * it before rendering it as Markdown or HTML.
 */
export function untrustedReason(text: string, secrets: readonly string[]): string {
  let out = redactTokens(maskSecrets(text, secrets));
  for (const m of findSecrets(out).reverse()) out = `${out.slice(0, m.start)}${MASK}${out.slice(m.end)}`;
  out = out.replace(/\r\n?/g, '\n').trim();
  return out.length > CLOSE_REASON_MAX ? `${cutUnits(out, CLOSE_REASON_MAX - 1)}…` : out;
}

/** The hidden last line of a comment reconciliation leaves for `action` about head commit `headSha`. */
export function commentMarker(actionId: number, kind: string, headSha: string): string {
  return `${COMMENT_MARKER_PREFIX} {"action":${actionId},"kind":"${kind}","head":"${headSha}"} -->`;
}

/**
 * Reconciles the actions of `input.repository` (see the module docs), oldest first.
 * @returns one entry per pull-request action that is not final (submitted: looked up; planned or pushed:
 *   finished ('resumed') or reported as 'unfinished'), in action id order; [] when there is none (then
 *   nothing is read from GitHub)
 * @throws RunInterrupted when the run must stop (checked before each action and each write); the database's
 *   errors (the action rows are the record of truth). GitHub and git errors are never thrown: they are
 *   recorded on the action and in its entry.
 */
export async function reconcileActions(input: ReconcileInput): Promise<ReconciledAction[]> {
  const out: ReconciledAction[] = [];
  const resumes = input.write && !input.noRebuild && input.github && input.repo ? input.rebuild : undefined;
  // Actions this pass already reported on (one entry each): a finished one is not looked up again below.
  const finished = new Set<number>();
  for (const a of await unfinishedActions(input.db, input.repository)) {
    if (a.actionType !== 'pr') continue;
    if (!resumes) {
      out.push(
        entry(a, {
          to: a.status,
          outcome: 'unfinished',
          did: `${a.status}: a live run that verifies finishes it (not looked up)`,
        }),
      );
      continue;
    }
    await input.guard.check();
    const done = await resume(input, a, resumes);
    finished.add(a.id);
    input.logger.info(
      `reconcile: action #${a.id} (${a.status}, run #${a.runId}) ${done.outcome}: ${done.did}${done.error ? ` (${done.error})` : ''}`,
    );
    out.push(done);
  }
  const submitted = await submittedActions(input.db, input.repository);
  const why = !input.github ? 'no GitHub token' : !input.repo ? 'not a GitHub repository (owner/name)' : null;
  for (const a of submitted) {
    if (finished.has(a.id)) continue;
    if (why) {
      out.push(entry(a, { to: a.status, outcome: 'not-checked', did: `not checked: ${why}` }));
      continue;
    }
    await input.guard.check();
    const done = await reconcileOne(input, input.github!, input.repo!, a);
    input.logger.info(
      `reconcile: action #${a.id} (pull request #${a.prNumber}) ${done.outcome}: ${done.did}${done.error ? ` (${done.error})` : ''}`,
    );
    out.push(done);
  }
  return out.sort((x, y) => x.actionId - y.actionId);
}

/**
 * The RebuildTools of a live run from its act stage's wiring: publishChange's context as the act stage makes it
 * (act/stage.ts: the config's commit author and signing, CI workflow), the act stage's verify and render
 * callbacks and config verify.optional.
 */
export function rebuildToolsOf(input: {
  live: LiveAct;
  config: Pick<Config, 'pullRequest' | 'verify'>;
  repository: string;
  runId: number;
  verify: VerifyFor;
  render: RenderFor;
  guard: RunGuard;
  logger: Logger;
  secrets: readonly string[];
}): RebuildTools {
  const { live, config } = input;
  return {
    publish: {
      db: live.db,
      github: live.github,
      repo: live.repo,
      repository: input.repository,
      remote: live.remote,
      runId: input.runId,
      identity: { ...config.pullRequest.commitAuthor, date: live.identityDate },
      commitSigning: config.pullRequest.commitSigning,
      guard: input.guard,
      logger: input.logger,
      secrets: input.secrets,
      tokenKind: live.tokenKind,
      ...(config.pullRequest.ciWorkflow ? { ciWorkflow: config.pullRequest.ciWorkflow } : {}),
      defaultBranch: live.defaultBranch,
      rejudge: live.rejudge,
    },
    verify: input.verify,
    render: input.render,
    verifyOptional: config.verify.optional,
  };
}

/** A report entry for `a` (from its status; `to` and the rest as given). */
function entry(
  a: ActionRecord,
  rest: Omit<ReconciledAction, 'actionId' | 'prNumber' | 'prUrl' | 'branch' | 'from' | 'error'> & {
    error?: string | null;
  },
): ReconciledAction {
  return {
    actionId: a.id,
    prNumber: a.prNumber,
    prUrl: a.prUrl,
    branch: a.branch,
    from: a.status,
    ...rest,
    error: rest.error ?? null,
  };
}

/** The reconcile state an action carries (its payload's `reconcile`, or an empty one). */
function stateOf(a: ActionRecord): ReconcileState {
  const s = a.payload.reconcile;
  return s !== null && typeof s === 'object' && !Array.isArray(s) ? { ...(s as ReconcileState) } : {};
}

/** One line for an error of GitHub or git, secrets masked. */
function errorText(e: unknown, secrets: readonly string[]): string {
  const text =
    httpStatusOf(e) !== undefined
      ? describeGitHubError(e)
      : `${e instanceof Error ? e.message : String(e)}`.split('\n')[0]!;
  return redactTokens(maskSecrets(text, secrets));
}

/** Context of one action's reconciliation. */
interface One {
  input: ReconcileInput;
  gh: GitHubClient;
  repo: RepoRef;
  a: ActionRecord;
  pr: PullRequestDetails;
  state: ReconcileState;
}

/** Writes the action (status kept unless given), its reconcile state merged in, only while it is submitted. */
async function save(
  o: One,
  u: Partial<ActionUpdate> & { state?: ReconcileState } = {},
): Promise<ActionRecord> {
  const { state, ...rest } = u;
  const saved = await updateAction(o.input.db, o.a.id, {
    status: 'submitted',
    from: ['submitted'],
    ...rest,
    payload: { ...(rest.payload ?? {}), reconcile: state ?? o.state },
  });
  if (saved) o.a = saved;
  return o.a;
}

/** Looks one submitted action up on GitHub and moves it on. Never throws for GitHub or git errors. */
async function reconcileOne(
  input: ReconcileInput,
  gh: GitHubClient,
  repo: RepoRef,
  action: ActionRecord,
): Promise<ReconciledAction> {
  const from = action;
  let pr: PullRequestDetails;
  try {
    pr = await getPullRequest(gh, repo, action.prNumber!);
  } catch (e) {
    if (e instanceof RunInterrupted) throw e;
    return failed(input, from, action, e);
  }
  const o: One = { input, gh, repo, a: action, pr, state: stateOf(action) };
  const now = input.now;
  const ageDays = Math.max(0, Math.floor((now.getTime() - Date.parse(pr.createdAt)) / DAY_MS));
  o.state = {
    ...o.state,
    checkedAt: now.toISOString(),
    ageDays,
    draft: pr.draft,
    mergeable: pr.mergeable,
    mergeableState: pr.mergeableState,
  };
  try {
    if (pr.merged) return await merged(o, from);
    if (pr.state === 'closed') return await closedOnGitHub(o, from);
    const expired = pr.draft && now.getTime() - Date.parse(pr.createdAt) > input.expireDays * DAY_MS;
    if (expired) return await expire(o, from, ageDays);
    if (pr.mergeable === false || pr.mergeableState === 'dirty') return await conflicted(o, from, ageDays);
    const finish = input.write ? pendingFinishing(o.a) : null;
    let finished = '';
    if (finish) {
      // the run that opened it stopped before its labels, review requests and CI dispatch were done
      await input.guard.check();
      const notes = await finishPullRequest(gh, repo, pr.number, finish, input.logger);
      await save(o, {
        reconciledAt: now,
        error: null,
        payload: { finishing: { ...finish, done: true }, ...(notes.length ? { notes } : {}) },
      });
      finished = `; the labels, review requests and CI dispatch the run that opened it did not get to were done${notes.length ? ` (${notes.join('; ')})` : ''}`;
    } else {
      await save(o, { reconciledAt: now, error: null });
    }
    return entry(from, {
      to: 'submitted',
      outcome: 'open',
      did: `open for ${ageDays} day(s)${pr.draft ? ' (draft)' : ''}${finished}`,
      ageDays,
    });
  } catch (e) {
    // GitHub or git (a database error is thrown again by `failed`, which writes to the database)
    if (e instanceof RunInterrupted) throw e;
    return failed(input, from, o.a, e);
  }
}

/** A GitHub or git error: the action keeps its status, with the error recorded. */
async function failed(
  input: ReconcileInput,
  from: ActionRecord,
  current: ActionRecord,
  e: unknown,
  extra: Partial<ReconciledAction> = {},
): Promise<ReconciledAction> {
  const error = errorText(e, input.secrets);
  await updateAction(input.db, current.id, { status: current.status, from: [current.status], error });
  input.logger.warn(`reconcile: action #${current.id}: ${error} (left as it was; the next run looks again)`);
  return entry(from, {
    to: current.status,
    outcome: 'error',
    did: 'left as it was; the next run looks again',
    ...extra,
    error,
  });
}

/** Merged on GitHub: status 'merged' with the merge commit, when and by whom. */
async function merged(o: One, from: ActionRecord): Promise<ReconciledAction> {
  const { pr } = o;
  const mergedAt = pr.mergedAt ? new Date(pr.mergedAt) : undefined;
  await save(o, {
    status: 'merged',
    ...(pr.mergeCommitSha ? { mergeCommitSha: pr.mergeCommitSha } : {}),
    ...(mergedAt ? { mergedAt } : {}),
    ...(pr.mergedBy ? { mergedBy: pr.mergedBy } : {}),
    reconciledAt: o.input.now,
    error: null,
    state: { ...o.state, pending: null },
  });
  return entry(from, {
    to: 'merged',
    outcome: 'merged',
    did: `merged${pr.mergedBy ? ` by ${pr.mergedBy}` : ''}${pr.mergeCommitSha ? ` as ${pr.mergeCommitSha.slice(0, 12)}` : ''}`,
    ...(pr.mergeCommitSha ? { mergeCommitSha: pr.mergeCommitSha } : {}),
    ...(pr.mergedAt ? { mergedAt: pr.mergedAt } : {}),
    ...(pr.mergedBy ? { mergedBy: pr.mergedBy } : {}),
  });
}

/**
 * Closed without merging on GitHub: status 'closed' with when, by whom and the last words of a person (the
 * loop's own comments, known by their marker, are not theirs). A pull request the loop was closing when a run
 * stopped (pending write, closed by the token's own login or by nobody known) is the loop's close.
 */
async function closedOnGitHub(o: One, from: ActionRecord): Promise<ReconciledAction> {
  const { input, gh, repo, pr } = o;
  let closedBy = await closedByOf(gh, repo, pr.number);
  const remarks = await remarksOn(gh, repo, pr.number, REMARK_PAGES);
  const last = [...remarks.items]
    .reverse()
    .find((r) => r.body.trim() !== '' && !r.body.includes(COMMENT_MARKER_PREFIX));
  let reason = last ? untrustedReason(last.body, input.secrets) : null;
  const pending = o.state.pending;
  if (pending?.reason && (closedBy === null || closedBy === pr.author)) {
    closedBy = CLOSED_BY_SELF;
    reason = pending.reason;
  }
  closedBy ??= last?.author ?? null;
  const closedAt = pr.closedAt ? new Date(pr.closedAt) : input.now;
  await save(o, {
    status: 'closed',
    closedAt,
    ...(closedBy ? { closedBy } : {}),
    ...(reason ? { closeReason: reason } : {}),
    reconciledAt: input.now,
    error: null,
    state: { ...o.state, pending: null },
  });
  return entry(from, {
    to: 'closed',
    outcome: 'closed',
    did: `closed without merging${closedBy ? ` by ${closedBy}` : ''}${reason ? ' (their last words kept as the reason)' : ''}`,
    closedAt: closedAt.toISOString(),
    ...(closedBy ? { closedBy } : {}),
    ...(reason ? { closeReason: reason } : {}),
  });
}

/** Whether the pull request already carries the comment whose marker line is `marker`. */
async function hasComment(o: One, marker: string): Promise<boolean> {
  const remarks = await remarksOn(o.gh, o.repo, o.pr.number, REMARK_PAGES);
  return remarks.items.some((r) => r.kind === 'comment' && r.body.includes(marker));
}

/**
 * Leaves comment `text` (with its marker) unless an interrupted earlier attempt already did: the row says the
 * comment is about to be made first (`pending`), and a pending comment of the same kind and head is looked for
 * on GitHub before it is posted again.
 * @throws RequestError from GitHub (the row keeps its pending note)
 */
async function commentOnce(o: One, kind: CommentKind, text: string, reason?: string): Promise<void> {
  const marker = commentMarker(o.a.id, kind, o.pr.headSha);
  const earlier = o.state.pending;
  const resumed = earlier?.kind === kind && earlier.headSha === o.pr.headSha;
  o.state = {
    ...o.state,
    pending: {
      kind,
      headSha: o.pr.headSha,
      ...(reason ? { reason } : {}),
      at: o.input.now.toISOString(),
    },
  };
  await o.input.guard.check();
  await save(o);
  if (resumed && (await hasComment(o, marker))) return;
  await commentOn(o.gh, o.repo, o.pr.number, `${text}\n\n${marker}`);
}

/**
 * Closes the pull request after comment `text` saying why: status 'closed', closed by 'self-evolution' with
 * `reason`. The row says so before each write.
 * @throws RequestError from GitHub (the action stays submitted, its pending note kept)
 */
async function closeWithComment(
  o: One,
  kind: CommentKind,
  text: string,
  reason: string,
  state: Partial<ReconcileState> = {},
): Promise<void> {
  await commentOnce(o, kind, text, reason);
  await o.input.guard.check();
  await closePullRequest(o.gh, o.repo, o.pr.number);
  await save(o, {
    status: 'closed',
    closedAt: o.input.now,
    closedBy: CLOSED_BY_SELF,
    closeReason: reason,
    reconciledAt: o.input.now,
    error: null,
    state: { ...o.state, ...state, pending: null },
  });
}

/** A draft open longer than expireDays: closed with a comment (live), or reported (dry). */
async function expire(o: One, from: ActionRecord, ageDays: number): Promise<ReconciledAction> {
  const { input, pr } = o;
  const reason = `expired after ${ageDays} days`;
  if (!input.write) {
    await save(o, { reconciledAt: input.now, error: null });
    return entry(from, {
      to: 'submitted',
      outcome: 'would-expire',
      did: `a draft open for ${ageDays} day(s), over pullRequest.expireDays (${input.expireDays}): a live run closes it (nothing done)`,
      ageDays,
    });
  }
  await closeWithComment(
    o,
    'expired',
    `Self-Evolution closes this draft: it has been open for ${ageDays} days, longer than \`pullRequest.expireDays\` (${input.expireDays}). Nothing was merged; the branch \`${pr.headRef}\` stays. A change worth keeping can be reopened or proposed again.`,
    reason,
  );
  return entry(from, {
    to: 'closed',
    outcome: 'expired',
    did: `closed with a comment: a draft open for ${ageDays} day(s), over pullRequest.expireDays (${input.expireDays})`,
    ageDays,
    closedAt: input.now.toISOString(),
    closedBy: CLOSED_BY_SELF,
    closeReason: reason,
  });
}

/**
 * Conflicting with its base: left with one comment when someone else committed to the branch (its head is not
 * the commit the loop pushed), else rebuilt on the base's tip (live) or reported (dry).
 */
async function conflicted(o: One, from: ActionRecord, ageDays: number): Promise<ReconciledAction> {
  const { input, pr, a } = o;
  const ours = a.headSha !== null && pr.headSha === a.headSha;
  if (!ours) {
    const did = `conflicts with ${pr.baseRef}; someone else committed to ${pr.headRef}: left as it is`;
    if (o.state.conflictCommentedFor === pr.headSha) {
      await save(o, { reconciledAt: input.now, error: null });
      return entry(from, {
        to: 'submitted',
        outcome: 'conflicted',
        did: `${did} (commented already)`,
        ageDays,
      });
    }
    if (!input.write) {
      await save(o, { reconciledAt: input.now, error: null });
      return entry(from, {
        to: 'submitted',
        outcome: 'would-comment',
        did: `${did}; a live run comments once (nothing done)`,
        ageDays,
      });
    }
    await commentOnce(
      o,
      'conflict',
      `This pull request conflicts with \`${pr.baseRef}\`. Someone other than Self-Evolution committed to its branch, so Self-Evolution leaves it as it is (it never force-pushes): resolve the conflict, or close the pull request. This is said once for this head commit (\`${pr.headSha.slice(0, 12)}\`).`,
    );
    await save(o, {
      reconciledAt: input.now,
      error: null,
      state: { ...o.state, pending: null, conflictCommentedFor: pr.headSha },
    });
    return entry(from, { to: 'submitted', outcome: 'conflicted', did: `${did}; commented once`, ageDays });
  }
  if (input.write && input.noRebuild) return closeNotRebuilt(o, from, ageDays, input.noRebuild);
  if (!input.write || !input.rebuild) {
    await save(o, { reconciledAt: input.now, error: null });
    return entry(from, {
      to: 'submitted',
      outcome: 'would-rebuild',
      did: `conflicts with ${pr.baseRef}; only Self-Evolution committed to it: a live run makes the change again on the tip as a new pull request and closes this one (nothing done)`,
      ageDays,
    });
  }
  let tools: RebuildTools;
  try {
    tools = await input.rebuild();
  } catch (e) {
    if (e instanceof RunInterrupted) throw e;
    return failed(input, from, o.a, e);
  }
  return rebuild(o, from, tools, ageDays);
}

/**
 * A conflicted change of the loop's own that is not made again on the base's tip (`why`: it no longer applies,
 * the rails or verify refuse it, or this job may not rebuild): closed with a comment saying why, closed by
 * 'self-evolution' (outcome 'not-rebuilt').
 * @throws RequestError from GitHub (the action stays submitted, its pending note kept)
 */
async function closeNotRebuilt(
  o: One,
  from: ActionRecord,
  ageDays: number,
  why: string,
): Promise<ReconciledAction> {
  const { input, pr } = o;
  const reason = `conflicted with ${pr.baseRef}; not rebuilt: ${why}`;
  await closeWithComment(
    o,
    'not-rebuilt',
    `This pull request conflicts with \`${pr.baseRef}\`, and Self-Evolution cannot make the same change again on its tip: ${why.replace(/`/g, "'")}. Self-Evolution closes it (it never force-pushes a branch); a later run may propose the change again on the new base.`,
    reason,
  );
  return entry(from, {
    to: 'closed',
    outcome: 'not-rebuilt',
    did: `closed with a comment: ${reason}`,
    ageDays,
    closedAt: input.now.toISOString(),
    closedBy: CLOSED_BY_SELF,
    closeReason: reason,
  });
}

/** The ProposalReport the act stage's callbacks render and verify from, rebuilt from the proposal's row. */
function reportOf(p: ProposalRecord): ProposalReport {
  return {
    id: p.id,
    title: p.title,
    type: p.type,
    riskLevel: p.riskLevel,
    description: p.description,
    ...(p.computedRisk !== null ? { computedRisk: p.computedRisk } : {}),
    effort: p.effort,
    proposer: p.proposer,
    status: 'evaluated',
    filesChanged: p.filesChanged,
    linesAdded: p.linesAdded,
    linesDeleted: p.linesDeleted,
    linesChanged: p.linesAdded + p.linesDeleted,
    verdict: p.verdict,
    blockedReasons: p.blockedReasons,
    violations: p.violations as Violation[],
    provenance: p.provenance as unknown as Provenance,
    patchFile: null,
  };
}

/**
 * publishChange's `prepare` for a change published again from its proposal's row: the act stage's verify on
 * the base, then its render with `note` (Markdown, may be empty) before the body when both fit BODY_MAX.
 */
function prepareAgain(
  tools: RebuildTools,
  proposal: ProposalRecord,
  item: ActItem,
  note: string,
): PublishContext['prepare'] {
  return async (baseSha) => {
    const verify: VerifyReport = await tools.verify(item, baseSha);
    const ok = publishableAfterVerify({
      verify,
      computedRisk: Math.max(proposal.riskLevel, proposal.computedRisk ?? 0),
      optional: tools.verifyOptional,
    });
    if (!ok.ok) return { ok: false, verify, reason: ok.reason };
    const rendered = tools.render(item, verify, baseSha);
    const body = note.length + rendered.body.length <= BODY_MAX ? `${note}${rendered.body}` : rendered.body;
    return { ok: true, verify, pr: { ...rendered, body } };
  };
}

/** How many times runs set out to finish action `a` (its payload's `resume.attempts`; 0 when none did). */
function resumeAttemptsOf(a: ActionRecord): number {
  const r = a.payload.resume;
  const n = r !== null && typeof r === 'object' ? (r as { attempts?: unknown }).attempts : undefined;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 0;
}

/**
 * Finishes a pull-request action an earlier run left planned or pushed (see the module docs): the attempt
 * counted on the row first, then the proposal's recorded patch through publishChange (verified again, the
 * branch adopted, the pull request opened or found, the same row moved on).
 * @returns outcome 'resumed' (`to`: the action's status now, with its pull request), or 'unfinished' with the
 *   reason (`to` 'failed' when it was given up)
 * @throws RunInterrupted when the run must stop; the database's errors. Git, GitHub and verify failures are
 *   recorded on the action, never thrown.
 */
async function resume(
  input: ReconcileInput,
  a: ActionRecord,
  tools: () => Promise<RebuildTools>,
): Promise<ReconciledAction> {
  const proposal = await getProposal(input.db, a.proposalId);
  if (!proposal?.patch || patchSha256(proposal.patch) !== a.patchSha256) {
    return entry(a, {
      to: a.status,
      outcome: 'unfinished',
      did: `${a.status}: not finished here: its patch is not its proposal's recorded one (a rebuilt change: the next rebuild of its pull request finishes it)`,
    });
  }
  const attempts = resumeAttemptsOf(a) + 1;
  const marked = await updateAction(input.db, a.id, {
    status: a.status,
    from: [a.status],
    payload: { resume: { attempts, at: input.now.toISOString() } },
  });
  if (!marked) {
    return entry(a, {
      to: a.status,
      outcome: 'unfinished',
      did: `${a.status}: moved on while read; left as it is`,
    });
  }
  let reason: string;
  // The action's status as publishChange left it (it may have pushed, then failed to open the pull request).
  let status = a.status;
  try {
    const t = await tools();
    const item: ActItem = {
      report: reportOf(proposal),
      patch: proposal.patch,
      baseSha: a.baseSha ?? proposal.baseSha ?? '',
    };
    const published = await publishChange(
      { ...t.publish, prepare: prepareAgain(t, proposal, item, '') },
      {
        proposalId: proposal.id,
        title: proposal.title,
        description: proposal.description,
        type: proposal.type,
        riskLevel: proposal.riskLevel,
        patch: proposal.patch,
        baseSha: item.baseSha,
      },
    );
    const made = published.pullRequest;
    const now = published.action;
    if (
      now &&
      now.id === a.id &&
      now.status !== 'planned' &&
      now.status !== 'pushed' &&
      now.status !== 'failed'
    ) {
      const how =
        made.state === 'opened'
          ? `pull request #${made.number} opened`
          : made.state === 'existing'
            ? `pull request #${made.number} found`
            : (made.reason ?? now.status);
      return {
        ...entry(a, {
          to: now.status,
          outcome: 'resumed',
          did: `finished what run #${a.runId} started: ${how}`,
        }),
        prNumber: now.prNumber,
        prUrl: now.prUrl,
        branch: now.branch,
      };
    }
    if (now && now.id === a.id && now.status === 'failed') {
      return entry(a, {
        to: 'failed',
        outcome: 'unfinished',
        did: `given up: ${made.reason ?? 'failed'}`,
        error: now.error,
      });
    }
    if (now && now.id === a.id) status = now.status;
    reason = made.reason ?? 'it was not published';
  } catch (e) {
    if (e instanceof RunInterrupted) throw e;
    reason = errorText(e, input.secrets);
  }
  if (attempts >= RESUME_ATTEMPTS) {
    const error = `not finished after ${attempts} attempts: ${reason}`;
    const gaveUp = await updateAction(input.db, a.id, {
      status: 'failed',
      from: ['planned', 'pushed'],
      error,
    });
    return entry(a, {
      to: gaveUp?.status ?? status,
      outcome: 'unfinished',
      did: gaveUp ? `given up (status failed): ${error}` : `${status}: ${error}`,
      error,
    });
  }
  await updateAction(input.db, a.id, { status, from: [status], error: reason });
  return entry(a, {
    to: status,
    outcome: 'unfinished',
    did: `${status}: not finished (attempt ${attempts} of ${RESUME_ATTEMPTS}; the next live run tries again): ${reason}`,
    error: reason,
  });
}

/**
 * Rebuilds a conflicted change of the loop's own (see the module docs): the proposal's patch made again on the
 * base's tip, published as a new branch and pull request through publishChange (rails again, verify, the
 * action row before each write), then the old pull request closed with a comment. When the change cannot be
 * made again there, the old pull request is closed with a comment saying why. A git or GitHub failure on the
 * way leaves the old action as it was (the next run tries again; a half-published new one is finished then).
 */
async function rebuild(
  o: One,
  from: ActionRecord,
  tools: RebuildTools,
  ageDays: number,
): Promise<ReconciledAction> {
  const { input, pr, a } = o;
  const remote = tools.publish.remote;
  const notRebuilt = (why: string): Promise<ReconciledAction> => closeNotRebuilt(o, from, ageDays, why);

  const proposal = await getProposal(input.db, a.proposalId);
  if (!proposal?.patch) return notRebuilt('its patch is not recorded');
  if (a.patchSha256 && patchSha256(proposal.patch) !== a.patchSha256)
    return notRebuilt('the recorded patch is not the one this pull request carries');

  let tip: string | null;
  let rebuilt: string;
  try {
    await input.guard.check();
    tip = await remoteBranchHead(remote, pr.baseRef);
    if (tip === null)
      return await failed(input, from, o.a, new Error(`the remote has no branch ${pr.baseRef}`));
    await fetchBranchMessage(remote, pr.baseRef);
    let commit: string;
    try {
      commit = await commitPatch({
        repoDir: remote.repoDir,
        baseSha: tip,
        patch: proposal.patch,
        message: `${proposal.title}\n`,
        identity: tools.publish.identity,
      });
    } catch (e) {
      if (e instanceof PatchDoesNotApply) return await notRebuilt(e.message);
      throw e;
    }
    rebuilt = await patchBetween(remote.repoDir, tip, commit);
  } catch (e) {
    if (e instanceof RunInterrupted) throw e;
    return failed(input, from, o.a, e);
  }
  if (rebuilt === '') return notRebuilt(`the change is already on ${pr.baseRef}`);

  o.state = {
    ...o.state,
    pending: { kind: 'rebuild', headSha: pr.headSha, at: input.now.toISOString() },
  };
  await input.guard.check();
  await save(o);
  const item: ActItem = { report: reportOf(proposal), patch: rebuilt, baseSha: tip };
  const note = `> Rebuilt by Self-Evolution: #${pr.number} conflicted with \`${pr.baseRef}\`, so the same change was made again on its tip (\`${tip.slice(0, 12)}\`) and #${pr.number} was closed (a branch is never force-pushed).\n\n`;
  const published = await publishChange(
    { ...tools.publish, prepare: prepareAgain(tools, proposal, item, note) },
    {
      proposalId: proposal.id,
      title: proposal.title,
      description: proposal.description,
      type: proposal.type,
      riskLevel: proposal.riskLevel,
      patch: rebuilt,
      baseSha: tip,
    },
  );
  const made = published.pullRequest;
  const newAction = published.action;
  if ((made.state === 'opened' || made.state === 'existing') && newAction && made.number && made.url) {
    await updateAction(input.db, newAction.id, {
      status: newAction.status,
      from: [newAction.status],
      payload: { rebuiltFrom: { actionId: a.id, number: pr.number, url: pr.url } },
    });
    const rebuiltAs = { actionId: newAction.id, number: made.number, url: made.url };
    const reason = `conflicted with ${pr.baseRef}; rebuilt as #${made.number}`;
    try {
      await closeWithComment(
        o,
        'rebuilt',
        `This pull request conflicts with \`${pr.baseRef}\`. Self-Evolution made the same change again on its tip (\`${tip.slice(0, 12)}\`) as #${made.number} and closes this one (it never force-pushes a branch).`,
        reason,
        { rebuiltAs },
      );
    } catch (e) {
      if (e instanceof RunInterrupted) throw e;
      return failed(input, from, o.a, e, { rebuiltAs });
    }
    return entry(from, {
      to: 'closed',
      outcome: 'rebuilt',
      did: `conflicted with ${pr.baseRef}: the change was made again on ${tip.slice(0, 12)} as #${made.number}; this one closed with a comment`,
      ageDays,
      closedAt: input.now.toISOString(),
      closedBy: CLOSED_BY_SELF,
      closeReason: reason,
      rebuiltAs,
    });
  }
  if (newAction && (newAction.status === 'planned' || newAction.status === 'pushed')) {
    // pushing or opening failed on the way (git or GitHub): the next run finishes it, then closes this one
    return failed(input, from, o.a, new Error(`rebuild not finished: ${made.reason ?? newAction.status}`));
  }
  return notRebuilt(made.reason ?? 'it could not be published');
}
