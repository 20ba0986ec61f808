/**
 * Reflection signals from the target's git history: recent commits, reverts, most-changed files; and the
 * TODO / FIXME notes of its base commit under the allowed paths.
 */
import { compileGlobs } from '../rails/glob.js';
import { GitError, runGit } from '../git/git.js';
import type { CommitSignal, GitSignals, TodoSignals } from './types.js';

/** At most this many recent commits are kept (newest first). */
export const MAX_RECENT_COMMITS = 50;
/** At most this many most-changed files are kept. */
export const MAX_CHANGED_FILES = 20;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Git history of a window, with the total number of commits in it (recentCommits keeps at most 50). */
export interface GitHistory {
  signals: GitSignals;
  /** Commits in the window (merges included), not capped. */
  totalCommits: number;
}

/** True when a commit reverts another: its subject starts with 'Revert "' or its body says 'This reverts commit'. */
export function isRevert(subject: string, body: string): boolean {
  return subject.startsWith('Revert "') || body.includes('This reverts commit');
}

/**
 * Reads the history of HEAD in the window [now - windowDays days, now] (committer dates): every commit
 * (newest first), the reverts among them, and the files most often touched by a commit (a rename counts
 * for both paths; merges touch nothing). An empty repository or a window without commits gives empty lists.
 * @param windowDays window length in days, a positive number.
 * @throws Error when windowDays is not positive or `now` is not a valid date; GitError when `repoDir` is
 *   not a git repository.
 */
export async function collectGitHistory(repoDir: string, now: Date, windowDays = 30): Promise<GitHistory> {
  if (!(windowDays > 0) || !Number.isFinite(windowDays)) {
    throw new Error(`windowDays must be a positive number of days, got ${windowDays}`);
  }
  if (Number.isNaN(now.getTime())) throw new Error('now must be a valid Date, got an invalid one');
  const empty: GitHistory = {
    signals: { recentCommits: [], reverts: [], mostChangedFiles: [], windowDays },
    totalCommits: 0,
  };

  try {
    await runGit(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { cwd: repoDir });
  } catch {
    // No commit yet (unborn HEAD): nothing to reflect on. Anything else (not a repository) is an error.
    await runGit(['rev-parse', '--git-dir'], { cwd: repoDir });
    return empty;
  }

  const untilS = Math.floor(now.getTime() / 1000);
  const sinceS = Math.floor((now.getTime() - windowDays * DAY_MS) / 1000);
  const range = [`--since=@${sinceS}`, `--until=@${untilS}`, 'HEAD', '--'];

  // Each commit is five NUL-terminated fields (-z terminates the last one, the body, with NUL).
  const { stdout: log } = await runGit(['log', '-z', '--format=%H%x00%cI%x00%an%x00%s%x00%b', ...range], {
    cwd: repoDir,
  });
  const fields = log.split('\0');
  if (fields[fields.length - 1] === '') fields.pop();
  if (fields.length % 5 !== 0) {
    throw new Error(`unexpected git log -z output: ${fields.length} fields, expected a multiple of 5`);
  }
  const commits: CommitSignal[] = [];
  const reverts: CommitSignal[] = [];
  for (let i = 0; i < fields.length; i += 5) {
    const [sha, date, author, subject, body] = fields.slice(i, i + 5) as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (!/^[0-9a-f]{40,64}$/.test(sha))
      throw new Error(`unexpected git log record: ${JSON.stringify(sha)} is not a commit id`);
    const commit: CommitSignal = { sha, date, author, subject };
    commits.push(commit);
    if (isRevert(subject, body)) reverts.push(commit);
  }

  const { stdout: names } = await runGit(
    ['log', '-z', '--format=', '--name-only', '--no-renames', '--no-ext-diff', ...range],
    { cwd: repoDir },
  );
  const touches = new Map<string, number>();
  for (const path of names.split('\0')) {
    if (path === '') continue;
    touches.set(path, (touches.get(path) ?? 0) + 1);
  }
  const mostChangedFiles = [...touches]
    .map(([path, n]) => ({ path, commits: n }))
    .sort((a, b) => b.commits - a.commits || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .slice(0, MAX_CHANGED_FILES);

  return {
    signals: { recentCommits: commits.slice(0, MAX_RECENT_COMMITS), reverts, mostChangedFiles, windowDays },
    totalCommits: commits.length,
  };
}

/**
 * Git signals of the window [now - windowDays days, now]: up to 50 recent commits newest first, the
 * reverts, and up to 20 most-changed files by number of commits touching them. See collectGitHistory.
 */
export async function collectGitSignals(repoDir: string, now: Date, windowDays = 30): Promise<GitSignals> {
  return (await collectGitHistory(repoDir, now, windowDays)).signals;
}

/** Files listed in TodoSignals.files, at most. */
export const MAX_TODO_FILES = 20;

/** The words counted, as a POSIX ERE with explicit word boundaries (git grep -E, no PCRE needed). */
const TODO_PATTERN = '(^|[^A-Za-z0-9_])(TODO|FIXME)([^A-Za-z0-9_]|$)';

/**
 * Counts the lines holding the word TODO or FIXME (case-sensitive, as whole words) in the text files of
 * commit `rev` (`git grep -I -c`), keeping only paths that match one of `allowedPaths` and none of
 * `blockedPaths` (minimatch, `dot`; blocked also case-insensitive and by basename, as the rails match).
 * Files sorted by count (most first), then path; at most {@link MAX_TODO_FILES} listed, all summed.
 * @throws GitError when `rev` is not a commit of `repoDir` (no match at all is not an error).
 */
export async function collectTodos(
  repoDir: string,
  rev: string,
  allowedPaths: readonly string[],
  blockedPaths: readonly string[] = [],
): Promise<TodoSignals> {
  let stdout = '';
  try {
    ({ stdout } = await runGit(['grep', '-I', '-c', '-z', '-E', TODO_PATTERN, rev, '--'], { cwd: repoDir }));
  } catch (e) {
    if (!(e instanceof GitError) || e.exitCode !== 1 || e.stderr.trim() !== '') throw e;
  }
  const allow = compileGlobs(allowedPaths, 'allow', 'safetyRails.allowedPaths');
  const block = compileGlobs(blockedPaths, 'catch', 'safetyRails.blockedPaths');
  const prefix = `${rev}:`;
  const files: { path: string; count: number }[] = [];
  for (const line of stdout.split('\n')) {
    const nul = line.indexOf('\0');
    if (nul < 0) continue;
    const named = line.slice(0, nul);
    const path = named.startsWith(prefix) ? named.slice(prefix.length) : named;
    const count = Number(line.slice(nul + 1));
    if (!Number.isInteger(count) || count <= 0) continue;
    if (!allow.matches(path) || block.matches(path)) continue;
    files.push({ path, count });
  }
  files.sort((a, b) => b.count - a.count || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { total: files.reduce((n, f) => n + f.count, 0), files: files.slice(0, MAX_TODO_FILES) };
}
