/**
 * The git side of reverting a merged self-change (act/revert.ts): `git revert -m 1` semantics without touching
 * the work tree, the index or HEAD, the trailer that marks a revert, and what the default branch's history says.
 *
 * The revert commit is made through a private index: `git read-tree <default tip>`, the reverse of the merge's
 * first-parent diff applied to it (`git diff --binary <merge>^1 <merge> | git apply -R --cached`: for a merge
 * commit that is `git revert -m 1`, for a squash commit the plain revert), then `git commit-tree` on the tip with
 * the message `Revert "<title>"`, `This reverts commit <sha>.` and the trailers `Self-Evolution-Revert-Of: <sha>`
 * and the deciding run's. Hooks are off for every command (`core.hooksPath=/dev/null`); a token for the fetch
 * travels in the environment (git/publish.ts credentialEnv), never in argv.
 */
import { join } from 'node:path';
import { GitError, runGit, scratchDir } from './exec.js';
import { credentialEnv, TRAILER_RUN, type CommitIdentity, type RemoteAccess } from './publish.js';

/** The trailer that marks a revert made by self-evolution; a commit carrying it is never reverted. */
export const TRAILER_REVERT_OF = 'Self-Evolution-Revert-Of';
/** The trailer naming the rollback row the revert belongs to. */
export const TRAILER_ROLLBACK = 'Self-Evolution-Rollback';

/** Settings every git command of this module runs with: no hooks, no GPG prompt, no auto gc. */
const QUIET = ['-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgSign=false', '-c', 'gc.auto=0'];

/** The revert does not apply to the default branch's tip (git's reason in `message`). */
export class RevertDoesNotApply extends Error {
  override readonly name = 'RevertDoesNotApply';
}

/** The facts of the revert commit's message. */
export interface RevertTrailers {
  /** The commit reverted (full id). */
  revertOf: string;
  /** The run that decided or carried out the revert, when there is one. */
  runId: number | null;
  /** The rollback row. */
  rollbackId: number;
}

/**
 * The revert commit's message: `Revert "<title>"` (one line, at most 200 characters), a blank line,
 * `This reverts commit <sha>.` (what `git revert` writes, so history greps find it), the reason, and the trailers
 * `Self-Evolution-Revert-Of: <sha>`, `Self-Evolution-Run: <run>` (when there is a run) and
 * `Self-Evolution-Rollback: <id>`.
 */
export function revertMessage(title: string, reason: string, t: RevertTrailers): string {
  const clean = (text: string) =>
    // eslint-disable-next-line no-control-regex
    text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  const first = `Revert "${clean(title).slice(0, 180)}"`;
  const why = clean(reason);
  return [
    first,
    '',
    `This reverts commit ${t.revertOf}.`,
    '',
    ...(why ? [why, ''] : []),
    `${TRAILER_REVERT_OF}: ${t.revertOf}`,
    ...(t.runId !== null ? [`${TRAILER_RUN}: ${t.runId}`] : []),
    `${TRAILER_ROLLBACK}: ${t.rollbackId}`,
    '',
  ].join('\n');
}

/**
 * The commit a message says it reverts (its `Self-Evolution-Revert-Of` trailer, `git interpret-trailers
 * --parse`), or null when it carries none. A title saying "Revert" means nothing here.
 * @throws GitError when git cannot run in `repoDir`
 */
export async function revertOfMessage(repoDir: string, message: string): Promise<string | null> {
  const { stdout } = await runGit([...QUIET, 'interpret-trailers', '--parse'], {
    cwd: repoDir,
    input: message,
  });
  for (const line of stdout.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0 && line.slice(0, at).trim().toLowerCase() === TRAILER_REVERT_OF.toLowerCase()) {
      const sha = line.slice(at + 1).trim();
      if (/^[0-9a-f]{40}$/.test(sha)) return sha;
    }
  }
  return null;
}

/**
 * The full message of commit `sha`.
 * @throws GitError when the commit is not in the repository
 */
export async function commitMessageText(repoDir: string, sha: string): Promise<string> {
  return (await runGit(['log', '-1', '--format=%B', sha], { cwd: repoDir })).stdout;
}

/** Whether the repository has commit `sha`. */
export async function hasCommit(repoDir: string, sha: string): Promise<boolean> {
  try {
    await runGit(['cat-file', '-e', `${sha}^{commit}`], { cwd: repoDir });
    return true;
  } catch (e) {
    if (e instanceof GitError && e.exitCode !== null) return false;
    throw e;
  }
}

/**
 * Fetches the tip of `branch` of the remote into the object store (FETCH_HEAD only: no branch or
 * remote-tracking ref changes) with enough history to reach `since` in a shallow clone (`--shallow-since`,
 * only when the repository is shallow: a full clone stays full), and `sha` itself when it is still missing
 * (e.g. a squash commit GitHub made that the tip no longer reaches).
 * @returns the tip's commit id
 * @throws GitError when the fetch fails
 */
export async function fetchDefaultBranch(
  access: RemoteAccess,
  branch: string,
  opts: { since?: Date; sha?: string } = {},
): Promise<string> {
  const remote = access.remote ?? 'origin';
  const env = await credentialEnv(access);
  const shallow =
    (await runGit(['rev-parse', '--is-shallow-repository'], { cwd: access.repoDir })).stdout.trim() ===
    'true';
  const depth =
    shallow && opts.since ? [`--shallow-since=${Math.floor(opts.since.getTime() / 1000) - 86_400}`] : [];
  await runGit(
    [
      ...QUIET,
      'fetch',
      '--quiet',
      '--no-tags',
      '--no-recurse-submodules',
      ...depth,
      remote,
      `refs/heads/${branch}`,
    ],
    { cwd: access.repoDir, env },
  );
  const tip = (
    await runGit(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'], { cwd: access.repoDir })
  ).stdout.trim();
  if (opts.sha && !(await hasCommit(access.repoDir, opts.sha))) {
    await runGit([...QUIET, 'fetch', '--quiet', '--no-tags', '--depth=2', remote, opts.sha], {
      cwd: access.repoDir,
      env,
    });
  }
  return tip;
}

/** Whether `ancestor` is an ancestor of (or equal to) `descendant`. @throws GitError for other git failures */
export async function isAncestor(repoDir: string, ancestor: string, descendant: string): Promise<boolean> {
  try {
    await runGit(['merge-base', '--is-ancestor', ancestor, descendant], { cwd: repoDir });
    return true;
  } catch (e) {
    if (e instanceof GitError && e.exitCode === 1) return false;
    throw e;
  }
}

/**
 * The first parent of `sha`, or null for a root commit.
 * @throws GitError when the commit is not in the repository
 */
export async function firstParentOf(repoDir: string, sha: string): Promise<string | null> {
  const { stdout } = await runGit(['rev-list', '--parents', '-n', '1', sha], { cwd: repoDir });
  return stdout.trim().split(/\s+/)[1] ?? null;
}

/**
 * The commit after `sha` on the first-parent line of `tip` (the next commit of the default branch), or null
 * when `sha` is the tip or not on that line.
 * @throws GitError when git cannot run
 */
export async function nextOnFirstParent(repoDir: string, sha: string, tip: string): Promise<string | null> {
  if (sha === tip) return null;
  const { stdout } = await runGit(['rev-list', '--first-parent', '--reverse', `${sha}..${tip}`], {
    cwd: repoDir,
  });
  const first = stdout.split('\n').find(Boolean);
  // The oldest commit of the tip's first-parent line after `sha` follows it only when `sha` is on that line.
  return first !== undefined && (await firstParentOf(repoDir, first)) === sha ? first : null;
}

/**
 * The commits of `tip`'s history whose message says `This reverts commit <sha>` (git revert's line, GitHub's
 * revert button's too), newest first: the change was already reverted by someone.
 * @throws GitError when git cannot run
 */
export async function revertsInHistory(repoDir: string, tip: string, sha: string): Promise<string[]> {
  const { stdout } = await runGit(
    ['log', '--format=%H', '--fixed-strings', `--grep=This reverts commit ${sha}`, tip],
    { cwd: repoDir },
  );
  return stdout.split('\n').filter(Boolean);
}

/** What {@link commitRevert} needs. */
export interface RevertCommitInput {
  /** The repository (any directory of its work tree); its work tree and index are not touched. */
  repoDir: string;
  /** The commit reverted: a merge commit (reverted against its first parent) or a single-parent one. */
  revertOf: string;
  /** The default branch's tip: the revert's parent. */
  tipSha: string;
  /** The whole message, trailers included ({@link revertMessage}). */
  message: string;
  identity: CommitIdentity;
}

/**
 * Makes the revert commit (see the module docs) in the object store of `repoDir`, through a private index.
 * @returns the new commit's id
 * @throws RevertDoesNotApply when the reverse of the change does not apply to the tip, or the tip already has
 *   none of it (nothing to revert); GitError for other git failures
 */
export async function commitRevert(input: RevertCommitInput): Promise<string> {
  const parent = await firstParentOf(input.repoDir, input.revertOf);
  if (parent === null) throw new RevertDoesNotApply(`${input.revertOf.slice(0, 8)} is a root commit`);
  const scratch = await scratchDir();
  try {
    const env = { ...scratch.env, GIT_INDEX_FILE: join(scratch.dir, 'index') };
    const git = (args: string[], more: { input?: string; env?: Record<string, string> } = {}) =>
      runGit([...QUIET, ...args], { cwd: input.repoDir, env: { ...env, ...more.env }, input: more.input });
    const diff = (await git(['diff', '--binary', '--full-index', '--no-renames', parent, input.revertOf]))
      .stdout;
    if (diff.trim() === '')
      throw new RevertDoesNotApply(`${input.revertOf.slice(0, 8)} changes nothing against its first parent`);
    await git(['read-tree', input.tipSha]);
    try {
      await git(['apply', '-R', '--cached', '--whitespace=nowarn', '-'], { input: diff });
    } catch (e) {
      if (e instanceof GitError && e.exitCode !== null) {
        const why = e.stderr.split('\n').find((l) => l.trim() !== '') ?? e.message;
        throw new RevertDoesNotApply(
          `the revert of ${input.revertOf.slice(0, 8)} does not apply to ${input.tipSha.slice(0, 8)}: ${why.trim()}`,
        );
      }
      throw e;
    }
    const tree = (await git(['write-tree'])).stdout.trim();
    const tipTree = (await git(['rev-parse', `${input.tipSha}^{tree}`])).stdout.trim();
    if (tree === tipTree)
      throw new RevertDoesNotApply(
        `reverting ${input.revertOf.slice(0, 8)} changes nothing on ${input.tipSha.slice(0, 8)}`,
      );
    const when = `${Math.floor(input.identity.date.getTime() / 1000)} +0000`;
    const commit = await git(['commit-tree', tree, '-p', input.tipSha, '-F', '-'], {
      input: input.message,
      env: {
        GIT_AUTHOR_NAME: input.identity.name,
        GIT_AUTHOR_EMAIL: input.identity.email,
        GIT_AUTHOR_DATE: when,
        GIT_COMMITTER_NAME: input.identity.name,
        GIT_COMMITTER_EMAIL: input.identity.email,
        GIT_COMMITTER_DATE: when,
      },
    });
    return commit.stdout.trim();
  } finally {
    await scratch.remove();
  }
}
