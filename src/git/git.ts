/**
 * Git through the git CLI: running git, scratch worktrees, staged-change facts, patches and `git apply`.
 *
 * Facts about a change always come from git's own machine-readable output (`git diff --raw --numstat -z`),
 * never from parsing a unified diff by hand. Output is decoded as UTF-8: a path or a text file whose bytes
 * are not valid UTF-8 is not represented faithfully (git itself is byte-oriented).
 */
import { mkdir, mkdtemp, readFile, realpath, rm, appendFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ChangeFacts, RailsPolicy } from '../rails/types.js';
import { GIT_MAX_BUFFER_BYTES, GitError, runGit, scratchPrefix } from './exec.js';
import { diffTrees, openNeutral, stagedChange, treeOf, type TreeDiff } from './tree-facts.js';

export {
  GIT_DEFAULT_TIMEOUT_MS,
  GIT_MAX_BUFFER_BYTES,
  GitError,
  runGit,
  type GitOutput,
  type RunGitOptions,
} from './exec.js';

/** True when `dir` is inside a git work tree; false for any other directory or a missing one. Never throws. */
export async function isGitRepository(dir: string): Promise<boolean> {
  try {
    const { stdout } = await runGit(['rev-parse', '--is-inside-work-tree'], { cwd: dir });
    return stdout.trim() === 'true';
  } catch {
    return false;
  }
}

/**
 * Absolute path of the top of the work tree containing `dir`.
 * @throws GitError when `dir` is not inside a git work tree.
 */
export async function repoRoot(dir: string): Promise<string> {
  const { stdout } = await runGit(['rev-parse', '--show-toplevel'], { cwd: dir });
  return stdout.replace(/\n$/, '');
}

/**
 * Full 40-hex (or 64-hex for SHA-256 repositories) commit id of HEAD in `dir`.
 * @throws Error naming `dir` when the repository has no commit yet; GitError when `dir` is not a repository.
 */
export async function headSha(dir: string): Promise<string> {
  try {
    const { stdout } = await runGit(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { cwd: dir });
    return stdout.trim();
  } catch (e) {
    if (e instanceof GitError && e.exitCode === 1 && (await isGitRepository(dir))) {
      throw new Error(
        `the git repository at ${dir} has no commit yet (HEAD does not resolve); commit something first`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** URL of the `origin` remote of the repository at `dir` (as `git remote get-url` prints it), or null. Never throws. */
export async function originUrl(dir: string): Promise<string | null> {
  try {
    const { stdout } = await runGit(['remote', 'get-url', 'origin'], { cwd: dir });
    const url = stdout.trim();
    return url === '' ? null : url;
  } catch {
    return null;
  }
}

/**
 * The repository name `owner/name` from a remote URL, or null when none can be read.
 *
 * Accepts `https://[user[:token]@]host[:port]/owner/name[.git][/]`, `http://`, `ssh://[user@]host[:port]/…`,
 * `git://host/…`, `git+ssh://…` and scp-like `[user@]host:owner/name[.git]`. For github.com exactly two
 * path segments are required; for other hosts (e.g. GitLab subgroups) every segment is kept:
 * `https://gitlab.com/group/sub/proj.git` gives `group/sub/proj`. Local paths and `file://` URLs give null.
 */
export function repositoryFromRemote(url: string): string | null {
  const trimmed = url.trim();
  if (trimmed === '') return null;
  let host: string;
  let path: string;
  const withScheme = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/]*@)?([^/:]+)(?::\d*)?(\/.*)?$/i.exec(trimmed);
  if (withScheme) {
    const scheme = withScheme[1]!.toLowerCase();
    if (!['https', 'http', 'ssh', 'git', 'git+ssh', 'ssh+git'].includes(scheme)) return null;
    host = withScheme[2]!;
    path = withScheme[3] ?? '';
  } else {
    // scp-like syntax: [user@]host:path, where host has no slash (otherwise git treats it as a local path).
    const scp = /^(?:[^@/:]+@)?([^/:]+):(?!\/\/)(.+)$/.exec(trimmed);
    if (!scp) return null;
    host = scp[1]!;
    path = scp[2]!;
  }
  const segments = path
    .replace(/[?#].*$/, '')
    .split('/')
    .filter((s) => s !== '');
  if (segments.length > 0)
    segments[segments.length - 1] = segments[segments.length - 1]!.replace(/\.git$/i, '');
  if (segments.length < 2 || segments.some((s) => s === '' || s === '.' || s === '..' || /\s/.test(s)))
    return null;
  if (/^(www\.)?github\.com$/i.test(host) && segments.length !== 2) return null;
  return segments.join('/');
}

/** A scratch worktree: a detached checkout in its own temporary directory. */
export interface Worktree {
  /** Absolute (real) path of the worktree directory. */
  dir: string;
  /** Removes the worktree (`git worktree remove --force`, rm -rf, `git worktree prune`). Idempotent; never throws. */
  remove(): Promise<void>;
}

/**
 * Adds a detached worktree of the repository at `repoDir`, checked out at `baseSha`, in a fresh directory
 * made by mkdtemp under os.tmpdir() (`self-evolution-wt-<pid>-*`, see scratchPrefix). Hooks of the target
 * repository are not run (core.hooksPath=/dev/null).
 * The caller must call `remove()` (in a finally).
 * @throws GitError when `baseSha` is not a commit of the repository or the worktree cannot be created (the
 *   temporary directory is removed again).
 */
export async function addWorktree(repoDir: string, baseSha: string): Promise<Worktree> {
  const dir = await realpath(await mkdtemp(scratchPrefix('wt')));
  try {
    await runGit(['-c', 'core.hooksPath=/dev/null', 'worktree', 'add', '--quiet', '--detach', dir, baseSha], {
      cwd: repoDir,
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    await runGit(['worktree', 'prune'], { cwd: repoDir }).catch(() => {});
    throw e;
  }
  let removed: Promise<void> | undefined;
  const remove = (): Promise<void> => {
    removed ??= (async () => {
      await runGit(['worktree', 'remove', '--force', '--force', dir], { cwd: repoDir }).catch(() => {});
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      await runGit(['worktree', 'prune'], { cwd: repoDir }).catch(() => {});
    })();
    return removed;
  };
  return { dir, remove };
}

/**
 * Stages every change in the worktree (`git add -A`), honouring .gitignore and info/exclude.
 * @throws GitError when git fails.
 */
export async function stageAll(worktreeDir: string): Promise<void> {
  await runGit(['add', '-A'], { cwd: worktreeDir });
}

/**
 * Parses the output of `git diff --raw --numstat -z` (raw records first, then numstat records, all fields
 * NUL-terminated) into facts; see tree-facts.ts (parseRawNumstatOids keeps the object ids too).
 */
export { parseRawNumstatZ } from './tree-facts.js';

/**
 * The staged changes of the worktree against `base` as git's raw facts and patch: the index written as a
 * tree and compared with base's tree under the neutral settings of tree-facts.ts (no `.gitattributes` of the
 * work tree or index, no submodule `ignore` setting, no external diff or textconv).
 */
async function stagedDiff(worktreeDir: string, base: string, binaryPatch: boolean): Promise<TreeDiff> {
  const ng = await openNeutral(worktreeDir);
  if (ng === null) throw new Error(`not a git work tree: ${worktreeDir}`);
  try {
    const tree = (await ng.run(['write-tree'], { index: 'repository' })).toString('utf8').trim();
    const baseTree = await treeOf(ng, base);
    return await diffTrees(ng, baseTree, tree, {
      binaryPatch,
      maxPatchBytes: GIT_MAX_BUFFER_BYTES,
      what: `the staged changes in ${worktreeDir}`,
    });
  } finally {
    await ng.close();
  }
}

/**
 * Facts about the STAGED changes of the worktree against `base` (default HEAD): status, paths (both for
 * renames, `-M`), modes as git prints them (symlink 120000 and submodule 160000 kept, whatever
 * `.gitmodules` says), binary flag and line counts, read with attributes and submodule settings neutralised
 * (see tree-facts.ts). Per-file facts only: {@link diffFactsWithLines} adds the added lines and the rest.
 * @throws GitError when git fails; Error when its output is not in the expected format.
 */
export async function diffFacts(worktreeDir: string, base = 'HEAD'): Promise<ChangeFacts> {
  return { files: (await stagedDiff(worktreeDir, base, false)).files };
}

/**
 * The staged changes of the worktree against `base` (default HEAD) as a patch `git apply` accepts:
 * `git diff --binary -M` of base's tree and the index's, with a/ b/ prefixes regardless of the user's diff
 * configuration, and no attribute of the change deciding what is binary. Empty string when nothing is staged.
 * @throws GitError when git fails.
 */
export async function diffPatch(worktreeDir: string, base = 'HEAD'): Promise<string> {
  return (await stagedDiff(worktreeDir, base, true)).patch;
}

/**
 * Applies `patch` to the worktree and its index (`git apply --index --whitespace=nowarn`, patch on stdin).
 * @throws GitError carrying git's message (e.g. "patch does not apply") when the patch cannot be applied
 *   or is empty/not a patch.
 */
export async function applyPatch(worktreeDir: string, patch: string): Promise<void> {
  await runGit(['apply', '--index', '--whitespace=nowarn', '-'], { cwd: worktreeDir, input: patch });
}

/**
 * Makes git ignore `pattern` in the repository at `repoDir` (and all its worktrees) by appending it to
 * `info/exclude` (located with `git rev-parse --git-path info/exclude`), unless a line equal to it is
 * already there. Used for `.self-evolution/`, where the CLI keeps its database and artifacts.
 * @returns true when the pattern was added, false when it was already present.
 * @throws GitError when `repoDir` is not a git repository; Error when `pattern` is empty or has a newline.
 */
export async function ensureExcluded(repoDir: string, pattern: string): Promise<boolean> {
  if (pattern.trim() === '' || /[\r\n]/.test(pattern)) {
    throw new Error(`exclude pattern must be one non-empty line, got ${JSON.stringify(pattern)}`);
  }
  const { stdout } = await runGit(['rev-parse', '--git-path', 'info/exclude'], { cwd: repoDir });
  const file = resolve(repoDir, stdout.replace(/\n$/, ''));
  let existing = '';
  try {
    existing = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (existing.split(/\r?\n/).some((line) => line.trim() === pattern.trim())) return false;
  await mkdir(dirname(file), { recursive: true });
  const sep = existing === '' || existing.endsWith('\n') ? '' : '\n';
  await appendFile(file, `${sep}${pattern}\n`, 'utf8');
  return true;
}

/**
 * Everything the rails read about the STAGED changes of the worktree against `base` (default HEAD), the same
 * facts `check` gathers for a range (see tree-facts.ts stagedChange): per-file facts from git with
 * attributes and submodule settings neutralised, `addedLines` (checked against git's counts), `bytesAdded`,
 * `copyOf`, the base tree's symbolic links and, with `policy`, the whole files `contentNeeds()` lists; and
 * the patch (`git diff --binary -M`, what `git apply` takes). When the added lines cannot be read,
 * `facts.addedLines` is left unset (the rails' content rules then block as `content-unread`) and
 * `linesError` says why.
 * @param policy the rails policy the change will be judged by (decides which whole files are read); without
 *   it no whole file is read, and rules that need one block.
 * @throws GitError when git fails; Error when git's output is not in the expected format.
 */
export async function diffFactsWithLines(
  worktreeDir: string,
  base = 'HEAD',
  policy?: RailsPolicy,
): Promise<{ facts: ChangeFacts; patch: string; linesError?: string }> {
  const change = await stagedChange(worktreeDir, base, policy);
  return {
    facts: change.facts,
    patch: change.patch,
    ...(change.linesError !== undefined ? { linesError: change.linesError } : {}),
  };
}
