/**
 * The git side of publishing a change (live mode): a commit made from a patch without touching the work tree
 * (a private index, `git apply --cached`, `git commit-tree`), the trailers that say which run, proposal and
 * patch it carries, and pushing it to a branch of a remote, never forced.
 *
 * A token for the push travels in the environment of the git process as an `http.<origin>.extraheader`
 * setting (GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n, git 2.31 or later), scoped to the
 * remote's scheme and host: never in argv (visible to every process in /proc/<pid>/cmdline), a URL, a file or
 * a log. Hooks are off for every command here (`core.hooksPath=/dev/null`, `--no-verify`).
 */
import { join } from 'node:path';
import { GIT_MAX_BUFFER_BYTES, GitError, runGit, scratchDir } from './exec.js';
import { diffTrees, openNeutral, treeOf } from './tree-facts.js';

/** The trailers a self-evolution commit carries (git-interpret-trailers(1)). */
export const TRAILER_RUN = 'Self-Evolution-Run';
export const TRAILER_PROPOSAL = 'Self-Evolution-Proposal';
export const TRAILER_PATCH = 'Self-Evolution-Patch';

/** Settings every git command of this module runs with: no hooks, no GPG prompt, no auto gc. */
const QUIET = ['-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgSign=false', '-c', 'gc.auto=0'];

/** Who a commit is by, and when. */
export interface CommitIdentity {
  name: string;
  email: string;
  /** Author and committer date (the same date gives the same commit id for the same content). */
  date: Date;
}

/** What {@link commitPatch} needs. */
export interface CommitPatchInput {
  /** The repository (any directory of its work tree); its work tree and index are not touched. */
  repoDir: string;
  /** The commit the change is applied to (full id). */
  baseSha: string;
  /** A patch as `git diff --binary` writes it. */
  patch: string;
  /** The commit message, trailers included (see {@link commitMessage}). */
  message: string;
  identity: CommitIdentity;
}

/** A change that does not apply to the base (git's reason in `message`). */
export class PatchDoesNotApply extends Error {
  override readonly name = 'PatchDoesNotApply';
}

/**
 * Makes a commit whose parent is `baseSha` and whose tree is the base's tree with `patch` applied, in the
 * object store of `repoDir`, through a private index file (the work tree, the index and HEAD stay as they are).
 * @returns the new commit's id
 * @throws PatchDoesNotApply when git cannot apply the patch to the base; GitError for other git failures
 */
export async function commitPatch(input: CommitPatchInput): Promise<string> {
  const scratch = await scratchDir();
  try {
    const env = { ...scratch.env, GIT_INDEX_FILE: join(scratch.dir, 'index') };
    const git = (args: string[], more: { input?: string; env?: Record<string, string> } = {}) =>
      runGit([...QUIET, ...args], { cwd: input.repoDir, env: { ...env, ...more.env }, input: more.input });
    await git(['read-tree', input.baseSha]);
    try {
      await git(['apply', '--cached', '--whitespace=nowarn', '-'], { input: input.patch });
    } catch (e) {
      if (e instanceof GitError && e.exitCode !== null) {
        const why = e.stderr.split('\n').find((l) => l.trim() !== '') ?? e.message;
        throw new PatchDoesNotApply(
          `the change does not apply to ${input.baseSha.slice(0, 8)}: ${why.trim()}`,
        );
      }
      throw e;
    }
    const tree = (await git(['write-tree'])).stdout.trim();
    const when = `${Math.floor(input.identity.date.getTime() / 1000)} +0000`;
    const who = {
      GIT_AUTHOR_NAME: input.identity.name,
      GIT_AUTHOR_EMAIL: input.identity.email,
      GIT_AUTHOR_DATE: when,
      GIT_COMMITTER_NAME: input.identity.name,
      GIT_COMMITTER_EMAIL: input.identity.email,
      GIT_COMMITTER_DATE: when,
    };
    const commit = await git(['commit-tree', tree, '-p', input.baseSha, '-F', '-'], {
      input: input.message,
      env: who,
    });
    return commit.stdout.trim();
  } finally {
    await scratch.remove();
  }
}

/** The facts the trailers of a self-evolution commit carry. */
export interface CommitTrailers {
  runId: number;
  proposalId: number;
  /** Hex sha256 of the patch text. */
  patchSha256: string;
}

/**
 * The commit message: the title on the first line (one line, at most 200 characters), a blank line, the body,
 * a blank line and the three trailers (`Self-Evolution-Run: 12`, `Self-Evolution-Proposal: 34`,
 * `Self-Evolution-Patch: sha256:<hex>`), which later runs read back ({@link readTrailers}) to know a commit is
 * theirs: the revert of a revert is refused by them, not by the title.
 */
export function commitMessage(title: string, body: string, t: CommitTrailers): string {
  const first =
    title
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim()
      .slice(0, 200) || 'self-evolution change';
  const text = body.replace(/\r\n?/g, '\n').trim();
  return [
    first,
    '',
    ...(text ? [text, ''] : []),
    `${TRAILER_RUN}: ${t.runId}`,
    `${TRAILER_PROPOSAL}: ${t.proposalId}`,
    `${TRAILER_PATCH}: sha256:${t.patchSha256}`,
    '',
  ].join('\n');
}

/**
 * The self-evolution trailers of a commit message (git interpret-trailers --parse), or null when it has none
 * or they are malformed.
 * @throws GitError when git cannot run in `repoDir`
 */
export async function readTrailers(repoDir: string, message: string): Promise<CommitTrailers | null> {
  const { stdout } = await runGit([...QUIET, 'interpret-trailers', '--parse'], {
    cwd: repoDir,
    input: message,
  });
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) values.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
  }
  const run = Number(values.get(TRAILER_RUN.toLowerCase()));
  const proposal = Number(values.get(TRAILER_PROPOSAL.toLowerCase()));
  const patch = /^sha256:([0-9a-f]{64})$/.exec(values.get(TRAILER_PATCH.toLowerCase()) ?? '');
  if (!Number.isSafeInteger(run) || !Number.isSafeInteger(proposal) || !patch) return null;
  return { runId: run, proposalId: proposal, patchSha256: patch[1]! };
}

/** A remote to push to: its name in the repository (e.g. `origin`) and, when it has one, a token for HTTPS. */
export interface RemoteAccess {
  repoDir: string;
  /** Remote name (default `origin`). */
  remote?: string;
  /**
   * Token for an http(s) remote (sent as HTTP basic auth `x-access-token:<token>` through an extraheader in the
   * environment). Absent: git uses whatever credentials the user's git has (CLI runs).
   */
  token?: string;
}

/**
 * The environment that hands `token` to git for the push URL of `remote` (an `http.<scheme>://<host>/.extraheader`,
 * after an empty value that drops headers set by the checkout, e.g. actions/checkout's persisted credentials),
 * or {} for a remote that is not http(s) (ssh, a path) or without a token.
 * @throws GitError when the remote does not exist
 */
export async function credentialEnv(access: RemoteAccess): Promise<Record<string, string>> {
  if (!access.token) return {};
  const remote = access.remote ?? 'origin';
  const url = (await runGit(['remote', 'get-url', '--push', remote], { cwd: access.repoDir })).stdout.trim();
  let origin: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return {};
    origin = `${u.protocol}//${u.host}/`;
  } catch {
    return {}; // scp-like ssh address or a path: no HTTP header applies
  }
  const basic = Buffer.from(`x-access-token:${access.token}`, 'utf8').toString('base64');
  return {
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: `http.${origin}.extraheader`,
    GIT_CONFIG_VALUE_0: '',
    GIT_CONFIG_KEY_1: `http.${origin}.extraheader`,
    GIT_CONFIG_VALUE_1: `AUTHORIZATION: basic ${basic}`,
  };
}

/**
 * The commit a branch of the remote points at (`git ls-remote`), or null when the branch does not exist.
 * @throws GitError when the remote cannot be read (network, permissions)
 */
export async function remoteBranchHead(access: RemoteAccess, branch: string): Promise<string | null> {
  const remote = access.remote ?? 'origin';
  const { stdout } = await runGit([...QUIET, 'ls-remote', '--heads', remote, `refs/heads/${branch}`], {
    cwd: access.repoDir,
    env: await credentialEnv(access),
  });
  const line = stdout.split('\n').find((l) => l.endsWith(`\trefs/heads/${branch}`));
  return line ? line.split('\t')[0]! : null;
}

/**
 * Fetches the tip of a branch of the remote into the object store of the repository (FETCH_HEAD only: no
 * branch or remote-tracking ref changes) and returns its message, so its trailers can be read.
 * @throws GitError when the fetch fails
 */
export async function fetchBranchMessage(
  access: RemoteAccess,
  branch: string,
): Promise<{ sha: string; message: string }> {
  const remote = access.remote ?? 'origin';
  const env = await credentialEnv(access);
  await runGit(
    [...QUIET, 'fetch', '--quiet', '--no-tags', '--no-recurse-submodules', remote, `refs/heads/${branch}`],
    {
      cwd: access.repoDir,
      env,
    },
  );
  const sha = (
    await runGit(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'], { cwd: access.repoDir })
  ).stdout.trim();
  const message = (await runGit(['log', '-1', '--format=%B', sha], { cwd: access.repoDir })).stdout;
  return { sha, message };
}

/** What a push did. */
export type PushOutcome =
  | { status: 'pushed' | 'up-to-date' }
  /** The remote has another commit on the branch (never overwritten: no force). */
  | { status: 'rejected'; detail: string };

/**
 * Pushes commit `sha` to `refs/heads/<branch>` of the remote: `git push --porcelain --no-verify <remote>
 * <sha>:refs/heads/<branch>`, never forced (no `+`, no `--force`), hooks off, the token in the environment
 * ({@link credentialEnv}).
 * @returns 'pushed', 'up-to-date' (the branch already points at `sha`), or 'rejected' (it points elsewhere)
 * @throws GitError for any other failure (network, permissions, a protected branch the server refuses)
 */
export async function pushBranch(access: RemoteAccess, sha: string, branch: string): Promise<PushOutcome> {
  const remote = access.remote ?? 'origin';
  const args = [...QUIET, 'push', '--porcelain', '--no-verify', remote, `${sha}:refs/heads/${branch}`];
  try {
    const { stdout } = await runGit(args, { cwd: access.repoDir, env: await credentialEnv(access) });
    return /^=\t/m.test(stdout) ? { status: 'up-to-date' } : { status: 'pushed' };
  } catch (e) {
    if (
      e instanceof GitError &&
      /Updates were rejected|\[rejected\]|non-fast-forward|fetch first|stale info/i.test(e.stderr + e.message)
    ) {
      return {
        status: 'rejected',
        detail:
          e.stderr
            .split('\n')
            .find((l) => /rejected/i.test(l))
            ?.trim() ?? 'rejected',
      };
    }
    throw e;
  }
}

/**
 * Deletes `refs/heads/<branch>` on the remote, but only while it still points at `expectedSha`
 * (`--force-with-lease=refs/heads/<branch>:<sha>` guards a deletion, it never overwrites a commit). Used to
 * clean up a branch this tool pushed and then could not open a pull request for.
 * @throws GitError when the remote refuses (someone else moved the branch, permissions)
 */
export async function deleteRemoteBranch(
  access: RemoteAccess,
  branch: string,
  expectedSha: string,
): Promise<void> {
  const remote = access.remote ?? 'origin';
  await runGit(
    [
      ...QUIET,
      'push',
      '--porcelain',
      '--no-verify',
      `--force-with-lease=refs/heads/${branch}:${expectedSha}`,
      remote,
      `:refs/heads/${branch}`,
    ],
    { cwd: access.repoDir, env: await credentialEnv(access) },
  );
}

/**
 * The text of `path` in commit `sha` (`git cat-file blob <sha>:<path>`), or null when the commit has no such
 * file (or it is not a regular file's blob).
 * @throws GitError when git cannot run in `repoDir`
 */
export async function fileAtCommit(repoDir: string, sha: string, path: string): Promise<string | null> {
  try {
    const type = (await runGit(['cat-file', '-t', `${sha}:${path}`], { cwd: repoDir })).stdout.trim();
    if (type !== 'blob') return null;
  } catch (e) {
    if (e instanceof GitError && e.exitCode !== null) return null;
    throw e;
  }
  return (await runGit(['cat-file', 'blob', `${sha}:${path}`], { cwd: repoDir })).stdout;
}

/**
 * The change from commit `fromSha` to commit `toSha` as a patch `git apply` accepts, written like the
 * proposers' patches (git/git.ts diffPatch: `git diff --binary -M` of the two trees, a/ b/ prefixes, no
 * attribute or diff setting of the repository deciding anything). Empty string when the trees are equal.
 * Reconciliation uses it for a change made again on a new base (act/reconcile.ts).
 * @throws GitError when git fails (an unknown commit); Error when `repoDir` is not a git work tree
 */
export async function patchBetween(repoDir: string, fromSha: string, toSha: string): Promise<string> {
  const ng = await openNeutral(repoDir);
  if (ng === null) throw new Error(`not a git work tree: ${repoDir}`);
  try {
    const diff = await diffTrees(ng, await treeOf(ng, fromSha), await treeOf(ng, toSha), {
      binaryPatch: true,
      maxPatchBytes: GIT_MAX_BUFFER_BYTES,
      what: `git diff ${fromSha.slice(0, 8)}..${toSha.slice(0, 8)}`,
    });
    return diff.patch;
  } finally {
    await ng.close();
  }
}
