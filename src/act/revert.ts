/**
 * Reverting a merged self-change: a revert is a pull request, never a push, and it
 * never merges itself. The same path serves the health stage's automatic reverts ({@link watchMergedChanges},
 * decided by act/health.ts) and the rollbacks a person asks for (act/rollback.ts).
 *
 *   rollback row `planned` ─► three existence checks ─► revert commit (a private index on the default branch's
 *   tip: the reverse of the merge's first-parent diff) ─► branch `<branchPrefix>revert-<sha7>` on the remote
 *   (never forced) ─► `pushed` ─► non-draft pull request labelled `self-evolution:revert`, its body naming the
 *   failing checks with links ─► `submitted` ─► (merged by a human) `merged`: the action `rolled_back`, its run
 *   `reverted`
 *
 * Loop guards: a commit carrying the `Self-Evolution-Revert-Of` trailer is never reverted (the trailer, not the
 * title); before a revert is made it is looked for three ways: in the default branch's history ("This reverts
 * commit <sha>"), as the revert branch on the remote, and as a pull request with that head in any state; at most
 * one automatic revert pull request is opened per run. Crash-safe like publishing: every side effect is
 * preceded by a row saying it is about to happen and followed by one saying it did; the next run finishes a
 * `planned` or `pushed` revert, adopting a branch whose commit carries the same `Self-Evolution-Revert-Of`.
 * Shadow mode (autoRevert.mode "shadow", and every dry run) writes a rollback row with mode and status
 * 'shadow' and does nothing on GitHub.
 */
import { RunInterrupted, type Logger, type RunGuard } from '../deps.js';
import type { Config } from '../config/schema.js';
import { autoRevertModeOf } from '../config/schema.js';
import type { RevertReport, RevertState } from '../records.js';
import { maskSecrets } from '../secrets.js';
import type { CommitIdentity, RemoteAccess } from '../git/publish.js';
import {
  commitMessageText,
  commitRevert,
  fetchDefaultBranch,
  firstParentOf,
  hasCommit,
  isAncestor,
  nextOnFirstParent,
  revertMessage,
  revertOfMessage,
  RevertDoesNotApply,
  revertsInHistory,
} from '../git/revert.js';
import type { GitHubClient } from '../github/client.js';
import {
  readCommitSignals,
  requiredChecksOf,
  type CommitSignals,
  type RequiredChecks,
} from '../github/checks.js';
import { describeGitHubError, httpStatusOf } from '../github/errors.js';
import { labelPullRequest, openPullRequest, pullRequestsByHead, type RepoRef } from '../github/pulls.js';
import type { Queryable } from '../store/db.js';
import {
  applyMergedRevert,
  hasShadowRollback,
  mergedSelfChangesOf,
  mergedSelfChangesSince,
  recordRollback,
  revertOfAction,
  rollbacksWithStatus,
  updateRollback,
  type MergedSelfChange,
  type RollbackRecord,
} from '../store/rollbacks.js';
import { apiBranchWriter, gitBranchWriter, type BranchWriter } from './branch.js';
import { decideHealth, type HealthDecision, type HealthEvidence } from './health.js';
import { BODY_MAX, cutUnits, inlineCode, safeInline, TITLE_MAX } from './pull-request.js';

/** The label of every revert pull request. */
export const REVERT_LABEL = 'self-evolution:revert';

/** The hidden marker a revert pull request's body ends with. */
const MARKER_PREFIX = '<!-- self-evolution-revert:';

/** Most reverts the health stage opens per run (at most one; a request for a run is not limited). */
export const MAX_AUTO_REVERTS_PER_RUN = 1;

/** The revert branch of commit `sha`: `<branchPrefix>revert-<first 7 hex digits>`. */
export function revertBranchName(branchPrefix: string, sha: string): string {
  return `${branchPrefix}revert-${sha.slice(0, 7)}`;
}

/** What reverting needs from the run or the request (injected). */
export interface RevertContext {
  db: Queryable;
  github: GitHubClient;
  repo: RepoRef;
  /** 'owner/name', the key of the rows. */
  repository: string;
  /** The remote the revert branch is pushed to, with its token. */
  remote: RemoteAccess;
  /** The default branch: the revert's base. */
  defaultBranch: string;
  /** config prTemplateConfig.branchPrefix. */
  branchPrefix: string;
  /** config pullRequest.commitSigning: the revert commit is pushed ('git') or made through the API ('api'). */
  commitSigning: 'git' | 'api';
  /** The run deciding or carrying out the revert (its trailer and the rollback's run_id), or null. */
  runId: number | null;
  /** Who the revert commit is by (config pullRequest.commitAuthor) and when (the run's clock). */
  identity: CommitIdentity;
  /** The run's logs, linked from the body when there are any. */
  logsUrl?: string | null;
  guard: RunGuard;
  logger: Logger;
  secrets: readonly string[];
}

/** One revert to make. */
export interface RevertRequest {
  change: MergedSelfChange;
  trigger: 'auto' | 'manual';
  /** 'pr' opens the pull request; 'shadow' records only. */
  mode: 'pr' | 'shadow';
  /** One line: why (the health decision's reason, or the request's). */
  reason: string;
  /** The health decision's evidence (automatic), or the request (manual). */
  evidence: Record<string, unknown>;
  /** Who asked for it (manual). */
  requestedBy?: string | null;
  /** The health decision's guards, for the report. */
  guards?: RevertReport['guards'];
}

/** The revert pull request's title and body. */
export interface RenderedRevert {
  title: string;
  body: string;
}

/** A check of the evidence, as the body shows it. */
function checkCell(name: string, url: string | null): string {
  const text = safeInline(name).replace(/[[\]|]/g, (c) => `\\${c}`);
  return url && /^https?:\/\//.test(url) ? `[${text}](${url.replace(/[()\s]/g, encodeURIComponent)})` : text;
}

/**
 * The revert pull request (pure): title `Revert "<title>"` (one line, at most 256 characters), and a body saying
 * what is reverted and why, the failing checks with links (merge commit, parent, second signal), that a human
 * merges it, and a hidden marker `<!-- self-evolution-revert: {...} -->`. Untrusted text (the title, the checks'
 * names, a request's reason) is neutralised; the body is cut to 65,536 characters keeping the marker.
 */
export function renderRevertPullRequest(input: {
  change: Pick<MergedSelfChange, 'actionId' | 'prNumber' | 'prUrl' | 'title' | 'mergeCommitSha' | 'mergedBy'>;
  trigger: 'auto' | 'manual';
  reason: string;
  evidence: Record<string, unknown>;
  requestedBy?: string | null;
  defaultBranch: string;
  runId: number | null;
  rollbackId: number;
  logsUrl?: string | null;
}): RenderedRevert {
  const c = input.change;
  const title = cutUnits(`Revert "${safeInline(c.title).replace(/^self-evolution: /, '')}"`, TITLE_MAX);
  const pr = c.prNumber !== null ? `#${c.prNumber}` : `action #${c.actionId}`;
  const lines: string[] = [
    `This reverts ${pr} (${inlineCode(c.mergeCommitSha.slice(0, 12))} on ${inlineCode(input.defaultBranch)}), a change Self-Evolution made${c.mergedBy ? ` and ${safeInline(c.mergedBy)} merged` : ''}.`,
    '',
    input.trigger === 'auto'
      ? `**Why**: a required check failed on the merge commit, was green on its parent, and a second signal confirmed it. ${safeInline(input.reason)}`
      : `**Why**: ${safeInline(input.requestedBy ?? 'someone')} asked for it${input.reason ? `: ${safeInline(input.reason)}` : ''}.`,
    '',
  ];
  const ev = input.evidence as Partial<HealthEvidence>;
  const failing = Array.isArray(ev.failing) ? ev.failing.filter((f) => f.confirmation) : [];
  if (failing.length > 0) {
    lines.push(
      '### Failing checks',
      '',
      '| check | on the merge commit | on the parent | confirmed by |',
      '| --- | --- | --- | --- |',
    );
    for (const f of failing) {
      const k = f.confirmation!;
      lines.push(
        `| ${checkCell(f.name, f.url)} (${f.source}) | failure, attempt ${f.attempt}${f.at ? `, ${f.at}` : ''} | ${checkCell(f.parent.state, f.parent.url)} | ${checkCell(
          k.by === 'rerun' ? `its rerun (attempt ${k.attempt})` : `the next commit ${k.sha.slice(0, 7)}`,
          k.url,
        )}, ${k.minutesLater} min later |`,
      );
    }
    lines.push('');
    if (ev.required?.note) lines.push(`Required checks: ${safeInline(ev.required.note)}.`, '');
  }
  lines.push(
    `A revert is a pull request, never a push: review it and merge it if you agree; Self-Evolution never merges it. Closing it without merging keeps the change (it is not opened again).`,
    '',
    `- reverted commit: ${inlineCode(c.mergeCommitSha)}${c.prUrl ? ` (${c.prUrl})` : ''}`,
    `- rollback #${input.rollbackId}${input.runId !== null ? `, run #${input.runId}` : ''}${input.logsUrl ? ` ([logs](${input.logsUrl}))` : ''}`,
    '',
  );
  const marker = `${MARKER_PREFIX} ${JSON.stringify({
    action: c.actionId,
    revertOf: c.mergeCommitSha,
    rollback: input.rollbackId,
    run: input.runId,
  })} -->`;
  const text = lines.join('\n');
  const room = BODY_MAX - marker.length - 2;
  return { title, body: `${text.length > room ? `${cutUnits(text, room - 1)}…` : text}\n${marker}\n` };
}

/** A report row for one change. */
function reportOf(
  req: Pick<RevertRequest, 'change' | 'trigger' | 'mode' | 'guards'>,
  state: RevertState,
  reason: string,
  extra: Partial<RevertReport> = {},
): RevertReport {
  return {
    actionId: req.change.actionId,
    pullRequest: req.change.prNumber,
    revertedSha: req.change.mergeCommitSha,
    trigger: req.trigger,
    mode: req.mode,
    state,
    reason,
    ...(req.guards ? { guards: req.guards } : {}),
    ...extra,
  };
}

/** The report of a revert already in flight or done (its row). */
function existingReport(req: RevertRequest, row: RollbackRecord): RevertReport {
  const extra = {
    rollbackId: row.id,
    ...(row.revertBranch ? { branch: row.revertBranch } : {}),
    ...(row.revertPrNumber !== null ? { number: row.revertPrNumber } : {}),
    ...(row.revertPrUrl ? { url: row.revertPrUrl } : {}),
  };
  if (row.status === 'merged')
    return reportOf(req, 'merged', `its revert pull request #${row.revertPrNumber} was merged`, extra);
  if (row.status === 'closed')
    return reportOf(
      req,
      'closed',
      `its revert pull request #${row.revertPrNumber} was closed without merging: the change is kept, no revert is opened again`,
      extra,
    );
  if (row.status === 'planned' || row.status === 'pushed')
    return reportOf(
      req,
      'existing',
      `rollback #${row.id} is ${row.status}${row.error ? ` (${row.error})` : ''}: a live run finishes it`,
      extra,
    );
  return reportOf(req, 'existing', `its revert pull request #${row.revertPrNumber} is open`, extra);
}

/** The way the revert branch reaches the remote (config pullRequest.commitSigning; act/branch.ts). */
function writerOf(ctx: RevertContext): BranchWriter {
  return ctx.commitSigning === 'api'
    ? apiBranchWriter({ github: ctx.github, repo: ctx.repo, repoDir: ctx.remote.repoDir, logger: ctx.logger })
    : gitBranchWriter(ctx.remote);
}

/** One line for an error: GitHub's status and message, git's, or the message; secrets masked. */
function describe(e: unknown, secrets: readonly string[]): string {
  const text =
    httpStatusOf(e) !== undefined ? describeGitHubError(e) : e instanceof Error ? e.message : String(e);
  return maskSecrets(text.split('\n')[0] ?? text, secrets);
}

/**
 * Opens (or finishes) the revert pull request of one merged self-change, or records it in shadow mode (see the
 * module docs). Never throws for what GitHub or git answer: the report says what happened and the row records
 * it, so the next run can finish it.
 * @throws RunInterrupted when the guard says the run must stop (before the next side effect); the database's
 *   errors (the rollback row is the record of truth: without it nothing is pushed)
 */
export async function openRevert(ctx: RevertContext, req: RevertRequest): Promise<RevertReport> {
  const { change } = req;
  const sha = change.mergeCommitSha;
  const branch = revertBranchName(ctx.branchPrefix, sha);
  const log = (m: string) =>
    ctx.logger.info(`revert of ${sha.slice(0, 8)} (action #${change.actionId}): ${m}`);
  const refuse = async (why: string): Promise<RevertReport> => {
    const row = await recordRollback(ctx.db, {
      actionId: change.actionId,
      repository: ctx.repository,
      runId: ctx.runId,
      trigger: req.trigger,
      mode: req.mode,
      status: 'failed',
      reason: req.reason || why,
      evidence: req.evidence,
      revertedSha: sha,
      revertBranch: null,
      requestedBy: req.requestedBy ?? null,
      error: `refused: ${why}`,
    });
    ctx.logger.warn(`revert of ${sha.slice(0, 8)} refused: ${why}`);
    return reportOf(req, 'refused', why, { rollbackId: row.rollback.id });
  };

  // An earlier revert of this change, in flight or done.
  await ctx.guard.check();
  let row = await revertOfAction(ctx.db, change.actionId);
  if (row && !['planned', 'pushed'].includes(row.status)) return existingReport(req, row);

  // What the default branch says: the change is on it, it is not a revert, it was not reverted already.
  let tip: string;
  try {
    tip = await fetchDefaultBranch(ctx.remote, ctx.defaultBranch, { since: change.mergedAt, sha });
  } catch (e) {
    return reportOf(req, 'failed', `could not fetch ${ctx.defaultBranch}: ${describe(e, ctx.secrets)}`);
  }
  if (!(await hasCommit(ctx.remote.repoDir, sha)) || !(await isAncestor(ctx.remote.repoDir, sha, tip)))
    return refuse(`${sha.slice(0, 8)} is not on ${ctx.defaultBranch}`);
  if ((await revertOfMessage(ctx.remote.repoDir, await commitMessageText(ctx.remote.repoDir, sha))) !== null)
    return refuse(
      `${sha.slice(0, 8)} is itself a revert (Self-Evolution-Revert-Of trailer): a revert is never reverted`,
    );
  if (!row) {
    const found = await revertsInHistory(ctx.remote.repoDir, tip, sha);
    if (found.length > 0) {
      log(`already reverted on ${ctx.defaultBranch} by ${found[0]!.slice(0, 8)}`);
      return reportOf(
        req,
        'already-reverted',
        `${ctx.defaultBranch} already reverts it: ${found[0]!.slice(0, 8)} says "This reverts commit ${sha.slice(0, 8)}…"`,
      );
    }
  }

  // Shadow mode: what it would do, recorded once per change and commit; nothing on GitHub.
  if (req.mode === 'shadow') {
    const already = await hasShadowRollback(ctx.db, change.actionId, sha);
    if (!already) {
      await recordRollback(ctx.db, {
        actionId: change.actionId,
        repository: ctx.repository,
        runId: ctx.runId,
        trigger: req.trigger,
        mode: 'shadow',
        status: 'shadow',
        reason: req.reason,
        evidence: req.evidence,
        revertedSha: sha,
        revertBranch: branch,
        requestedBy: req.requestedBy ?? null,
      });
    }
    log(`shadow: would open a revert pull request from ${branch}${already ? ' (recorded before)' : ''}`);
    return reportOf(req, 'shadow', `would revert (shadow: nothing was done): ${req.reason}`, { branch });
  }

  // The record before the first side effect (one per action: an earlier one is finished instead).
  await ctx.guard.check();
  if (!row) {
    const planned = await recordRollback(ctx.db, {
      actionId: change.actionId,
      repository: ctx.repository,
      runId: ctx.runId,
      trigger: req.trigger,
      mode: 'pr',
      status: 'planned',
      reason: req.reason,
      evidence: req.evidence,
      revertedSha: sha,
      revertBranch: branch,
      requestedBy: req.requestedBy ?? null,
    });
    row = planned.rollback;
    if (!planned.created && !['planned', 'pushed'].includes(row.status)) return existingReport(req, row);
  } else {
    log(`finishing rollback #${row.id} (${row.status}) that an earlier run started`);
  }
  const rollbackId = row.id;
  const at = { rollbackId, branch };

  // A pull request with that head, in any state: adopt an open one, never open another after a closed one.
  try {
    await ctx.guard.check();
    const found = await pullRequestsByHead(ctx.github, ctx.repo, branch);
    const open = found.find((p) => p.state === 'open');
    const closed = found.find((p) => p.state === 'closed');
    if (!open && closed) {
      const status = closed.merged ? 'merged' : 'closed';
      row =
        (await updateRollback(ctx.db, rollbackId, {
          status,
          revertPrNumber: closed.number,
          revertPrUrl: closed.url,
          error: null,
        })) ?? row;
      if (closed.merged) await applyMergedRevert(ctx.db, change.actionId);
      return existingReport(req, row);
    }
    if (open) {
      row =
        (await updateRollback(ctx.db, rollbackId, {
          status: 'submitted',
          revertHeadSha: open.headSha,
          revertPrNumber: open.number,
          revertPrUrl: open.url,
          error: null,
        })) ?? row;
      log(`found revert pull request #${open.number} ${open.url}`);
      return reportOf(req, 'existing', `its revert pull request #${open.number} is open`, {
        ...at,
        number: open.number,
        url: open.url,
      });
    }

    // The branch on the remote: adopt it when its commit reverts this change, never overwrite it.
    const writer = writerOf(ctx);
    let headSha = await writer.headOf(branch);
    if (headSha !== null) {
      const message = await writer.messageOf(branch, headSha);
      if ((await revertOfMessage(ctx.remote.repoDir, message)) !== sha) {
        const why = `branch ${branch} already exists on the remote with another commit; it is left as it is`;
        await updateRollback(ctx.db, rollbackId, { status: 'failed', error: `refused: ${why}` });
        return reportOf(req, 'refused', why, at);
      }
      log(`branch ${branch} already carries the revert (${headSha.slice(0, 8)})`);
    } else {
      const commit = await commitRevert({
        repoDir: ctx.remote.repoDir,
        revertOf: sha,
        tipSha: tip,
        message: revertMessage(change.title, req.reason, { revertOf: sha, runId: ctx.runId, rollbackId }),
        identity: ctx.identity,
      });
      await ctx.guard.check();
      const made = await writer.create(branch, tip, commit);
      if (made.created) headSha = made.sha;
      else {
        const message = await writer.messageOf(branch, made.existing);
        if ((await revertOfMessage(ctx.remote.repoDir, message)) !== sha) {
          const why = `branch ${branch} appeared on the remote with another commit; it is left as it is`;
          await updateRollback(ctx.db, rollbackId, { status: 'failed', error: `refused: ${why}` });
          return reportOf(req, 'refused', why, at);
        }
        headSha = made.existing;
      }
      log(
        `${writer.kind === 'api' ? 'committed through the GitHub API' : 'pushed'}: ${branch} (${headSha.slice(0, 8)})`,
      );
    }
    row =
      (await updateRollback(ctx.db, rollbackId, {
        status: 'pushed',
        revertBranch: branch,
        revertHeadSha: headSha,
        from: ['planned', 'pushed'],
      })) ?? row;
  } catch (e) {
    if (e instanceof RunInterrupted) throw e;
    const reason = describe(e, ctx.secrets);
    if (e instanceof RevertDoesNotApply) {
      await updateRollback(ctx.db, rollbackId, { status: 'failed', error: reason });
      return reportOf(req, 'failed', reason, at);
    }
    // Still planned: nothing was pushed; the next run tries again.
    await updateRollback(ctx.db, rollbackId, { status: 'planned', error: reason, from: ['planned'] });
    return reportOf(req, 'failed', `the revert branch was not pushed: ${reason}`, at);
  }

  // The pull request: not a draft, so CI runs on it.
  try {
    await ctx.guard.check();
    const rendered = renderRevertPullRequest({
      change,
      trigger: req.trigger,
      reason: req.reason,
      evidence: req.evidence,
      requestedBy: req.requestedBy ?? null,
      defaultBranch: ctx.defaultBranch,
      runId: ctx.runId,
      rollbackId,
      logsUrl: ctx.logsUrl ?? null,
    });
    const opened = await openPullRequest(ctx.github, ctx.repo, {
      head: branch,
      base: ctx.defaultBranch,
      title: rendered.title,
      body: rendered.body,
      draft: false,
    });
    await updateRollback(ctx.db, rollbackId, {
      status: 'submitted',
      revertHeadSha: opened.headSha,
      revertPrNumber: opened.number,
      revertPrUrl: opened.url,
      from: ['pushed'],
      error: null,
    });
    log(`opened revert pull request #${opened.number} ${opened.url}`);
    let note = '';
    try {
      await labelPullRequest(ctx.github, ctx.repo, opened.number, [REVERT_LABEL]);
    } catch (e) {
      note = `; the label ${REVERT_LABEL} could not be added: ${describeGitHubError(e)}`;
      ctx.logger.warn(`label ${REVERT_LABEL} on #${opened.number}: ${describeGitHubError(e)}`);
      await updateRollback(ctx.db, rollbackId, { status: 'submitted', evidence: { notes: [note.slice(2)] } });
    }
    return reportOf(req, 'opened', `${req.reason}${note}`, { ...at, number: opened.number, url: opened.url });
  } catch (e) {
    if (e instanceof RunInterrupted) throw e;
    // The branch stays, status 'pushed': the next run opens the pull request.
    const reason = describeGitHubError(e);
    await updateRollback(ctx.db, rollbackId, { status: 'pushed', error: reason, from: ['pushed'] });
    ctx.logger.warn(`revert pull request for ${branch} not opened: ${reason} (the next run finishes it)`);
    return reportOf(req, 'not-opened', `revert pull request not opened: ${reason}`, at);
  }
}

/**
 * What became of the revert pull requests of `repository` that are open (status 'submitted'): merged → the
 * rollback 'merged', the action 'rolled_back', its run 'reverted'; closed → 'closed'. Also makes sure every
 * 'merged' rollback's action and run say so (a crash between the writes). Reads the pull requests of the revert
 * branch (`GET .../pulls?head=owner:branch&state=all`); a GitHub error leaves the row as it is (the next run looks
 * again).
 * @returns a report for each revert whose pull request was merged or closed now
 * @throws the database's errors; RunInterrupted
 */
export async function followRevertPullRequests(
  ctx: Pick<RevertContext, 'db' | 'github' | 'repo' | 'repository' | 'guard' | 'logger'>,
): Promise<RevertReport[]> {
  const reports: RevertReport[] = [];
  for (const row of await rollbacksWithStatus(ctx.db, ctx.repository, ['merged'])) {
    await applyMergedRevert(ctx.db, row.actionId);
  }
  for (const row of await rollbacksWithStatus(ctx.db, ctx.repository, ['submitted'])) {
    if (row.revertPrNumber === null || row.revertBranch === null) continue;
    await ctx.guard.check();
    let pr;
    try {
      pr = (await pullRequestsByHead(ctx.github, ctx.repo, row.revertBranch)).find(
        (p) => p.number === row.revertPrNumber,
      );
    } catch (e) {
      ctx.logger.warn(
        `revert pull request #${row.revertPrNumber}: ${describeGitHubError(e)} (looked at again next run)`,
      );
      continue;
    }
    if (!pr || pr.state !== 'closed') continue;
    const status = pr.merged ? 'merged' : 'closed';
    const updated =
      (await updateRollback(ctx.db, row.id, {
        status,
        from: ['submitted'],
        evidence: { revertPullRequest: { number: pr.number, state: status, headSha: pr.headSha } },
      })) ?? row;
    const applied = pr.merged ? await applyMergedRevert(ctx.db, row.actionId) : null;
    ctx.logger.info(
      `revert pull request #${pr.number} was ${status}${applied?.action ? `: action #${row.actionId} rolled back` : ''}${applied?.run ? ', its run reverted' : ''}`,
    );
    const [change] = await mergedSelfChangesOf(ctx.db, ctx.repository, { actionId: row.actionId });
    reports.push({
      actionId: row.actionId,
      pullRequest: change?.prNumber ?? null,
      revertedSha: row.revertedSha ?? '',
      trigger: row.trigger,
      mode: 'pr',
      state: status,
      reason: pr.merged
        ? `revert pull request #${pr.number} was merged: the change is rolled back`
        : `revert pull request #${pr.number} was closed without merging: the change is kept`,
      rollbackId: updated.id,
      branch: row.revertBranch,
      number: pr.number,
      url: pr.url,
    });
  }
  return reports;
}

/** What the health stage needs from the run. */
export interface WatchInput extends Omit<RevertContext, 'defaultBranch'> {
  /** The default branch, read only when there is something to do (one GitHub read). */
  defaultBranch: () => Promise<string>;
  config: Pick<Config, 'autoRevert' | 'rollbackConfig'>;
  /** A dry run decides and records in shadow mode, and does nothing on GitHub. */
  dryRun: boolean;
  /** The run's clock reading: the window and the decisions are made at this time. */
  now: Date;
}

/** The signals of one change's commits: the merge, its parent, the next commit on the default branch. */
async function signalsOf(
  ctx: Pick<RevertContext, 'remote' | 'github' | 'repo'>,
  sha: string,
  tip: string,
): Promise<{ isRevert: boolean; merge: CommitSignals; parent: CommitSignals; next: CommitSignals | null }> {
  const repoDir = ctx.remote.repoDir;
  const isRevert = (await revertOfMessage(repoDir, await commitMessageText(repoDir, sha))) !== null;
  const parentSha = (await firstParentOf(repoDir, sha)) ?? '';
  const nextSha = await nextOnFirstParent(repoDir, sha, tip);
  const merge = await readCommitSignals(ctx.github, ctx.repo, sha);
  const parent: CommitSignals = parentSha
    ? await readCommitSignals(ctx.github, ctx.repo, parentSha)
    : { sha: '', readable: false, error: 'a root commit has no parent' };
  const next = nextSha ? await readCommitSignals(ctx.github, ctx.repo, nextSha) : null;
  return { isRevert, merge, parent, next };
}

/**
 * Stage (run.ts `health`, under the run lock, after reconciliation): the health of the self-changes merged less
 * than autoRevert.windowHours ago. First what became of open revert pull requests
 * ({@link followRevertPullRequests}) and, in mode "pr", the reverts an earlier run left planned or pushed; then
 * each watched change is decided (act/health.ts decideHealth) and, when a revert is decided, reverted in the
 * config's mode (autoRevertModeOf: "pr", "shadow" or "off"; a dry run is "shadow"), at most
 * MAX_AUTO_REVERTS_PER_RUN pull requests opened.
 * @returns one report per change looked at (kept, shadow, opened, ...) and per revert merged or closed
 * @throws RunInterrupted; the database's errors (GitHub's and git's are reported per change)
 */
export async function watchMergedChanges(input: WatchInput): Promise<RevertReport[]> {
  const configured = autoRevertModeOf(input.config);
  const mode = configured === 'off' ? 'off' : input.dryRun ? 'shadow' : configured;
  const reports = await followRevertPullRequests(input);
  const unfinished = input.dryRun
    ? []
    : await rollbacksWithStatus(input.db, input.repository, ['planned', 'pushed']);
  const since = new Date(input.now.getTime() - input.config.autoRevert.windowHours * 3_600_000);
  const watched = mode === 'off' ? [] : await mergedSelfChangesSince(input.db, input.repository, since);
  if (mode === 'off')
    input.logger.info('auto-revert is off (autoRevert.mode): merged self-changes are not watched');
  if (unfinished.length === 0 && watched.length === 0) return reports;

  let ctx: Omit<WatchInput, 'defaultBranch'> & RevertContext;
  try {
    ctx = { ...input, defaultBranch: await input.defaultBranch() };
  } catch (e) {
    const why = `could not read the default branch: ${describe(e, input.secrets)}`;
    input.logger.warn(`health: ${why}; nothing is done`);
    return [
      ...reports,
      ...watched.map((change) =>
        reportOf({ change, trigger: 'auto', mode: 'pr' }, 'kept', `readable: ${why}`),
      ),
    ];
  }
  let opened = 0;
  for (const row of unfinished) {
    const [change] = await mergedSelfChangesOf(ctx.db, ctx.repository, { actionId: row.actionId });
    if (!change) continue;
    const r = await openRevert(ctx, {
      change,
      trigger: row.trigger,
      mode: 'pr',
      reason: row.reason,
      evidence: row.evidence,
      requestedBy: row.requestedBy,
    });
    if (r.state === 'opened' && row.trigger === 'auto') opened++;
    reports.push(r);
  }
  if (watched.length === 0) return reports;
  const done = new Set(reports.map((r) => r.actionId));
  let tip: string;
  let required: RequiredChecks | { unreadable: string };
  try {
    tip = await fetchDefaultBranch(ctx.remote, ctx.defaultBranch, { since });
  } catch (e) {
    const why = `could not fetch ${ctx.defaultBranch}: ${describe(e, ctx.secrets)}`;
    ctx.logger.warn(`health: ${why}; nothing is done`);
    return [
      ...reports,
      ...watched
        .filter((change) => !done.has(change.actionId))
        .map((change) => reportOf({ change, trigger: 'auto', mode: 'pr' }, 'kept', `readable: ${why}`)),
    ];
  }
  try {
    required = await requiredChecksOf(ctx.github, ctx.repo, ctx.defaultBranch);
  } catch (e) {
    required = { unreadable: describeGitHubError(e) };
  }
  for (const change of watched) {
    if (done.has(change.actionId)) continue;
    await ctx.guard.check();
    const existing = await revertOfAction(ctx.db, change.actionId);
    if (existing) {
      reports.push(
        existingReport({ change, trigger: existing.trigger, mode: 'pr', reason: '', evidence: {} }, existing),
      );
      continue;
    }
    let decision: HealthDecision;
    try {
      if (!(await hasCommit(ctx.remote.repoDir, change.mergeCommitSha)))
        await fetchDefaultBranch(ctx.remote, ctx.defaultBranch, { since, sha: change.mergeCommitSha });
      const s = await signalsOf(ctx, change.mergeCommitSha, tip);
      decision = decideHealth({
        mergeSha: change.mergeCommitSha,
        mergedAt: change.mergedAt,
        isRevert: s.isRevert,
        merge: s.merge,
        parent: s.parent,
        next: s.next,
        required,
        now: ctx.now,
        windowHours: ctx.config.autoRevert.windowHours,
        confirmMinutes: ctx.config.autoRevert.confirmMinutes,
      });
    } catch (e) {
      if (e instanceof RunInterrupted) throw e;
      const why = describe(e, ctx.secrets);
      ctx.logger.warn(`health of ${change.mergeCommitSha.slice(0, 8)}: ${why}; nothing is done`);
      reports.push(
        reportOf({ change, trigger: 'auto', mode: 'pr' }, 'kept', `readable: ${why}: nothing is done`),
      );
      continue;
    }
    const guards = decision.guards.map((g) => ({ ...g }));
    const base = {
      change,
      trigger: 'auto' as const,
      mode: mode === 'shadow' ? ('shadow' as const) : ('pr' as const),
      guards,
    };
    if (!decision.revert) {
      ctx.logger.info(
        `health of ${change.mergeCommitSha.slice(0, 8)} (action #${change.actionId}): kept: ${decision.reason}`,
      );
      reports.push(reportOf(base, 'kept', decision.reason));
      continue;
    }
    if (mode === 'pr' && opened >= MAX_AUTO_REVERTS_PER_RUN) {
      reports.push(
        reportOf(
          base,
          'limit',
          `${decision.reason}; this run already opened ${opened} revert (at most ${MAX_AUTO_REVERTS_PER_RUN} per run): the next run opens it`,
        ),
      );
      continue;
    }
    const r = await openRevert(ctx, {
      ...base,
      reason: decision.reason,
      evidence: { ...decision.evidence, guards: decision.guards },
    });
    if (r.state === 'opened') opened++;
    reports.push(r);
  }
  return reports;
}

/**
 * The health stage's part of the run's summary line: `; auto-revert: 1 revert pull request(s) opened, 1 kept`
 * (counts by state, in a fixed order), or '' when nothing was watched.
 */
export function revertsSummary(reports: readonly RevertReport[]): string {
  if (reports.length === 0) return '';
  const order: RevertState[] = [
    'opened',
    'existing',
    'merged',
    'closed',
    'shadow',
    'limit',
    'not-opened',
    'already-reverted',
    'refused',
    'failed',
    'kept',
  ];
  const words: Record<RevertState, string> = {
    opened: 'revert pull request(s) opened',
    existing: 'revert(s) in flight',
    merged: 'revert(s) merged',
    closed: 'revert(s) closed unmerged',
    shadow: 'revert(s) decided in shadow mode',
    limit: 'revert(s) left for the next run',
    'not-opened': 'revert pull request(s) not opened',
    'already-reverted': 'already reverted',
    refused: 'refused',
    failed: 'failed',
    kept: 'kept',
  };
  const parts = order
    .map((state) => [state, reports.filter((r) => r.state === state).length] as const)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${words[state]}`);
  return `; auto-revert: ${parts.join(', ')}`;
}
