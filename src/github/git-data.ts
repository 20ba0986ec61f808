/**
 * GitHub's Git Database API, for `pullRequest.commitSigning: "api"`: blobs, trees, commits and branch refs made
 * by GitHub itself, so the commit is signed by GitHub and shown as verified (as peter-evans/create-pull-request's
 * `sign-commits` does). Through the one client (src/github/client.ts); errors are thrown as Octokit gives them
 * (RequestError with `status`) unless a function says otherwise.
 *
 * A branch ref is only ever created (`POST /repos/{owner}/{repo}/git/refs`): there is deliberately no call that
 * updates or force-updates a ref.
 */
import type { GitHubClient } from './client.js';
import { httpStatusOf } from './errors.js';
import type { RepoRef } from './pulls.js';

/** Largest number of entries sent in one `POST .../git/trees` (more are chained through `base_tree`). */
export const TREE_ENTRIES_PER_REQUEST = 100;

/** A file mode the API takes for a blob entry: regular, executable, symbolic link. */
export type BlobMode = '100644' | '100755' | '120000';

/**
 * One entry of a new tree: a blob put at `path` with `mode` (the blob must already exist on GitHub, e.g. made
 * with {@link createBlob}), or `sha: null` to delete the file at `path` (its `mode` is the mode it had).
 */
export interface TreeEntry {
  /** Repository-relative path, `/` separators. */
  path: string;
  mode: BlobMode;
  /** Blob id (40 hex digits), or null to delete the path. */
  sha: string | null;
}

/** A commit as the Git Database API describes it. */
export interface GitCommitInfo {
  sha: string;
  /** Its tree id. */
  tree: string;
  message: string;
  parents: string[];
  /** GitHub's signature verification: true when GitHub shows the commit as verified. */
  verified: boolean;
  /** `verification.reason`, e.g. 'valid', 'unsigned'. */
  verificationReason: string;
}

/**
 * Stores `content` as a blob: `POST /repos/{owner}/{repo}/git/blobs` with base64 encoding (bytes as they are).
 * @returns the blob id GitHub computed (40 hex digits)
 * @throws RequestError (403 without contents: write, 422 too large)
 */
export async function createBlob(gh: GitHubClient, r: RepoRef, content: Buffer): Promise<string> {
  const { data } = await gh.rest.git.createBlob({
    owner: r.owner,
    repo: r.repo,
    content: content.toString('base64'),
    encoding: 'base64',
  });
  return data.sha;
}

/**
 * Makes the tree `baseTree` with `entries` applied: `POST /repos/{owner}/{repo}/git/trees` with `base_tree`,
 * at most {@link TREE_ENTRIES_PER_REQUEST} entries a request (each further request builds on the tree the
 * previous one returned). Deletions are sent before additions, so a file replaced by a directory of the same
 * name (or the reverse) ends as the additions say. An empty `entries` returns `baseTree` without a request.
 * @returns the new tree's id
 * @throws RequestError (422 for an entry GitHub refuses, e.g. a blob it does not have)
 */
export async function createTree(
  gh: GitHubClient,
  r: RepoRef,
  baseTree: string,
  entries: readonly TreeEntry[],
): Promise<string> {
  const ordered = [...entries.filter((e) => e.sha === null), ...entries.filter((e) => e.sha !== null)];
  let tree = baseTree;
  for (let at = 0; at < ordered.length; at += TREE_ENTRIES_PER_REQUEST) {
    const { data } = await gh.rest.git.createTree({
      owner: r.owner,
      repo: r.repo,
      base_tree: tree,
      tree: ordered
        .slice(at, at + TREE_ENTRIES_PER_REQUEST)
        .map((e) => ({ path: e.path, mode: e.mode, type: 'blob' as const, sha: e.sha })),
    });
    tree = data.sha;
  }
  return tree;
}

interface RestGitCommit {
  sha: string;
  message: string;
  tree: { sha: string };
  parents: { sha: string }[];
  verification?: { verified: boolean; reason: string };
}

function commitInfo(c: RestGitCommit): GitCommitInfo {
  return {
    sha: c.sha,
    tree: c.tree.sha,
    message: c.message,
    parents: c.parents.map((p) => p.sha),
    verified: c.verification?.verified === true,
    verificationReason: c.verification?.reason ?? 'unknown',
  };
}

/**
 * Makes a commit: `POST /repos/{owner}/{repo}/git/commits` with the message, tree and parents only. No author,
 * committer or date is sent: GitHub signs a commit made through the API by a bot or app token only when it
 * carries no custom author or committer information, so both are the token's identity and the time of the
 * request (for GITHUB_TOKEN: github-actions[bot]).
 * @throws RequestError (422 when the tree or a parent does not exist)
 */
export async function createCommit(
  gh: GitHubClient,
  r: RepoRef,
  c: { message: string; tree: string; parents: string[] },
): Promise<GitCommitInfo> {
  const { data } = await gh.rest.git.createCommit({
    owner: r.owner,
    repo: r.repo,
    message: c.message,
    tree: c.tree,
    parents: c.parents,
  });
  return commitInfo(data as RestGitCommit);
}

/**
 * A commit: `GET /repos/{owner}/{repo}/git/commits/{sha}`.
 * @throws RequestError (404 when GitHub has no such commit)
 */
export async function getCommit(gh: GitHubClient, r: RepoRef, sha: string): Promise<GitCommitInfo> {
  const { data } = await gh.rest.git.getCommit({ owner: r.owner, repo: r.repo, commit_sha: sha });
  return commitInfo(data as RestGitCommit);
}

/**
 * The commit `refs/heads/<branch>` points at: `GET /repos/{owner}/{repo}/git/ref/heads/{branch}`, or null when
 * there is no such branch (404).
 * @throws RequestError for any other failure
 */
export async function branchHead(gh: GitHubClient, r: RepoRef, branch: string): Promise<string | null> {
  try {
    const { data } = await gh.rest.git.getRef({ owner: r.owner, repo: r.repo, ref: `heads/${branch}` });
    return data.object.sha;
  } catch (e) {
    if (httpStatusOf(e) === 404) return null;
    throw e;
  }
}

/** What {@link createBranch} did. */
export type BranchCreated =
  | { created: true }
  /** The branch already existed (GitHub answered 422 and it is there): it points at `existing`, untouched. */
  | { created: false; existing: string };

/**
 * Creates `refs/heads/<branch>` at commit `sha`: `POST /repos/{owner}/{repo}/git/refs`. Never updates an
 * existing ref: when GitHub refuses because the branch exists, says where it points instead.
 * @throws RequestError for any other refusal (422 a protected or invalid name, 403 permission)
 */
export async function createBranch(
  gh: GitHubClient,
  r: RepoRef,
  branch: string,
  sha: string,
): Promise<BranchCreated> {
  try {
    await gh.rest.git.createRef({ owner: r.owner, repo: r.repo, ref: `refs/heads/${branch}`, sha });
    return { created: true };
  } catch (e) {
    if (httpStatusOf(e) !== 422) throw e;
    const existing = await branchHead(gh, r, branch);
    if (existing === null) throw e;
    return { created: false, existing };
  }
}
