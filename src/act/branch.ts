/**
 * Putting a change's branch on the remote (act/publish.ts), one of two ways, as config
 * `pullRequest.commitSigning` says:
 *
 * - `git` ({@link gitBranchWriter}): the commit made locally by git/publish.ts commitPatch is pushed, never
 *   forced.
 * - `api` ({@link apiBranchWriter}): the same change is made again by GitHub through the Git Database API, so
 *   GitHub signs the commit and shows it as verified. What changed is read from git (`git diff-tree` of the
 *   local commit against its base, git/tree-changes.ts); each added or modified blob is uploaded and checked
 *   against git's blob id; the tree GitHub builds on the base's tree must be the local commit's tree, else
 *   nothing is committed and no ref is made. So what reaches GitHub is exactly what the rails judged. The
 *   commit has the local commit's message (trailers included) and its parent; its author and committer are the
 *   token's identity (GitHub signs only commits without custom ones).
 *
 * Both share the adoption rules ({@link placeBranch}): a branch that does not exist is created; one that
 * exists is adopted when its commit carries this patch's `Self-Evolution-Patch` trailer, else left as it is.
 * A branch is never overwritten or force-updated.
 */
import type { Logger } from '../deps.js';
import {
  fetchBranchMessage,
  pushBranch,
  readTrailers,
  remoteBranchHead,
  type RemoteAccess,
} from '../git/publish.js';
import { commitMessageOf, readBlob, treeChanges, treeOf, type TreeChange } from '../git/tree-changes.js';
import type { GitHubClient } from '../github/client.js';
import {
  branchHead,
  createBlob,
  createBranch,
  createCommit,
  createTree,
  getCommit,
  type TreeEntry,
} from '../github/git-data.js';
import type { RepoRef } from '../github/pulls.js';

/** What creating a branch did: made it at `sha`, or found it already there at `existing` (left untouched). */
export type BranchCreation = { created: true; sha: string } | { created: false; existing: string };

/** One way of putting a branch on the remote (see the module docs). */
export interface BranchWriter {
  /** 'git' or 'api' (config pullRequest.commitSigning). */
  readonly kind: 'git' | 'api';
  /** The commit `branch` points at on the remote, or null when there is no such branch. */
  headOf(branch: string): Promise<string | null>;
  /** The message of commit `sha`, the tip of `branch` on the remote. */
  messageOf(branch: string, sha: string): Promise<string>;
  /**
   * Creates `branch` with the change of local commit `headSha` (whose parent is `baseSha`), never overwriting:
   * when the branch turns out to exist, says where it points.
   */
  create(branch: string, baseSha: string, headSha: string): Promise<BranchCreation>;
}

/** What {@link placeBranch} did. */
export type Placed =
  /** The branch was made, at `sha` (for 'api', GitHub's commit, not the local one). */
  | { status: 'created'; sha: string }
  /** The branch was there already with this change (an earlier run pushed it): `sha` is its commit. */
  | { status: 'adopted'; sha: string }
  /** The branch is there with another change, at `existing`: it is left as it is. */
  | { status: 'taken'; existing: string };

/**
 * Puts the change of local commit `headSha` on `branch` with `writer`: adopts the branch when it already points
 * at `headSha` or at a commit whose trailers carry `patchSha256`, reports it 'taken' when it carries anything
 * else, creates it otherwise (and applies the same rules when it appears in between).
 * @throws whatever the writer throws (git or GitHub failures, a tree GitHub built differently)
 */
export async function placeBranch(
  writer: BranchWriter,
  input: { repoDir: string; branch: string; baseSha: string; headSha: string; patchSha256: string },
): Promise<Placed> {
  let existing = await writer.headOf(input.branch);
  if (existing === null) {
    const made = await writer.create(input.branch, input.baseSha, input.headSha);
    if (made.created) return { status: 'created', sha: made.sha };
    existing = made.existing;
  }
  if (existing === input.headSha) return { status: 'adopted', sha: existing };
  const message = await writer.messageOf(input.branch, existing);
  const trailers = await readTrailers(input.repoDir, message);
  return trailers?.patchSha256 === input.patchSha256
    ? { status: 'adopted', sha: existing }
    : { status: 'taken', existing };
}

/**
 * The `git` writer: `git ls-remote` for the branch's head, a fetch for its message, and `git push` of the local
 * commit (git/publish.ts pushBranch: never forced).
 * @throws (from its methods) GitError for git failures; Error when a push is rejected yet the branch is not there
 */
export function gitBranchWriter(remote: RemoteAccess): BranchWriter {
  return {
    kind: 'git',
    headOf: (branch) => remoteBranchHead(remote, branch),
    messageOf: async (branch) => (await fetchBranchMessage(remote, branch)).message,
    async create(branch, _baseSha, headSha) {
      const pushed = await pushBranch(remote, headSha, branch);
      if (pushed.status !== 'rejected') return { created: true, sha: headSha };
      const existing = await remoteBranchHead(remote, branch);
      if (existing === null) throw new Error(`the push of ${branch} was rejected: ${pushed.detail}`);
      return { created: false, existing };
    },
  };
}

/** What the `api` writer needs. */
export interface ApiBranchWriterInput {
  github: GitHubClient;
  repo: RepoRef;
  /** The local repository holding the commit made by commitPatch and its base. */
  repoDir: string;
  logger: Logger;
}

/** The change can't be made through the Git Database API as git made it locally (the message says why). */
export class ApiCommitRefused extends Error {
  override readonly name = 'ApiCommitRefused';
}

/**
 * The tree entries that turn the base's tree into the head's, for `POST .../git/trees` with `base_tree`: a
 * deletion (`sha: null`, the old mode) for each deleted path, the new mode and blob id for each added, modified
 * or type-changed one, in `changes`' order. `upload` lists the blobs GitHub may not have (every new blob id
 * but those of a mode-only change, whose blob is the base's).
 * @throws ApiCommitRefused for a submodule (mode 160000) on either side: the API path does not carry them
 */
export function apiTreeEntries(changes: readonly TreeChange[]): {
  entries: TreeEntry[];
  upload: { path: string; sha: string }[];
} {
  const entries: TreeEntry[] = [];
  const upload: { path: string; sha: string }[] = [];
  for (const c of changes) {
    if (c.oldMode === '160000' || c.newMode === '160000') {
      throw new ApiCommitRefused(
        `${c.path} is a submodule (mode 160000): commitSigning "api" does not carry submodule changes; use commitSigning "git"`,
      );
    }
    if (c.status === 'D' || c.newMode === null || c.newSha === null) {
      entries.push({ path: c.path, mode: c.oldMode ?? '100644', sha: null });
      continue;
    }
    entries.push({ path: c.path, mode: c.newMode, sha: c.newSha });
    if (c.newSha !== c.oldSha) upload.push({ path: c.path, sha: c.newSha });
  }
  return { entries, upload };
}

/**
 * Makes the change of local commit `headSha` (parent `baseSha`) through the Git Database API: blobs, a tree on
 * the base's tree, then a commit with the local commit's message and parent `baseSha`. Creates no ref.
 * @returns GitHub's commit id and whether GitHub shows it as verified
 * @throws ApiCommitRefused when the commit changes nothing, has a submodule change, or GitHub stores a blob or
 *   builds a tree other than git's (then no commit is made); GitError; RequestError from GitHub
 */
export async function commitThroughApi(
  input: ApiBranchWriterInput,
  baseSha: string,
  headSha: string,
): Promise<{ sha: string; verified: boolean; verificationReason: string }> {
  const { github: gh, repo, repoDir } = input;
  const changes = await treeChanges(repoDir, baseSha, headSha);
  if (changes.length === 0)
    throw new ApiCommitRefused(`commit ${headSha.slice(0, 8)} changes nothing against its base`);
  const { entries, upload } = apiTreeEntries(changes);
  for (const blob of upload) {
    const stored = await createBlob(gh, repo, await readBlob(repoDir, blob.sha));
    if (stored !== blob.sha) {
      throw new ApiCommitRefused(
        `GitHub stored ${blob.path} as blob ${stored}, git has ${blob.sha}: nothing was committed`,
      );
    }
  }
  const expected = await treeOf(repoDir, headSha);
  const tree = await createTree(gh, repo, await treeOf(repoDir, baseSha), entries);
  if (tree !== expected) {
    throw new ApiCommitRefused(
      `the tree GitHub built (${tree}) is not the tree of the judged commit (${expected}): nothing was committed`,
    );
  }
  const commit = await createCommit(gh, repo, {
    message: await commitMessageOf(repoDir, headSha),
    tree,
    parents: [baseSha],
  });
  if (commit.tree !== expected) {
    throw new ApiCommitRefused(
      `GitHub's commit ${commit.sha} has tree ${commit.tree}, not the judged tree ${expected}; no branch was made`,
    );
  }
  return { sha: commit.sha, verified: commit.verified, verificationReason: commit.verificationReason };
}

/**
 * The `api` writer: the branch's head and its commit's message read through the Git Database API, the commit
 * made by {@link commitThroughApi} and the branch created with `POST .../git/refs` (never updated). A commit
 * GitHub does not show as verified (e.g. made with a personal access token) is still used, with a warning.
 * @throws (from its methods) ApiCommitRefused, GitError, RequestError
 */
export function apiBranchWriter(input: ApiBranchWriterInput): BranchWriter {
  const { github: gh, repo } = input;
  return {
    kind: 'api',
    headOf: (branch) => branchHead(gh, repo, branch),
    messageOf: async (_branch, sha) => (await getCommit(gh, repo, sha)).message,
    async create(branch, baseSha, headSha) {
      const commit = await commitThroughApi(input, baseSha, headSha);
      if (!commit.verified) {
        input.logger.warn(
          `commit ${commit.sha.slice(0, 8)} made through the API is not verified (${commit.verificationReason}): GitHub signs API commits made with a GitHub App or GITHUB_TOKEN token`,
        );
      }
      const made = await createBranch(gh, repo, branch, commit.sha);
      return made.created ? { created: true, sha: commit.sha } : made;
    },
  };
}
