/**
 * Git through the git CLI: running git, scratch worktrees, staged-change facts, patches and `git apply`.
 *
 * Facts about a change always come from git's own machine-readable output (`git diff --raw --numstat -z`),
 * never from parsing a unified diff by hand. Output is decoded as UTF-8: a path or a text file whose bytes
 * are not valid UTF-8 is not represented faithfully (git itself is byte-oriented).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ChangeFacts, FileChange, FileChangeStatus } from '../rails/types.js';
import { attachAddedLines } from './patch-lines.js';

/** Largest stdout/stderr accepted from one git call: 512 MiB. */
export const GIT_MAX_BUFFER_BYTES = 512 * 1024 * 1024;

/** Default timeout of one git call: 10 minutes, in ms. */
export const GIT_DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/** Options of {@link runGit}. */
export interface RunGitOptions {
  /** Directory git runs in (the repository or worktree). */
  cwd: string;
  /** Written to git's stdin (UTF-8); stdin is closed at once when absent. */
  input?: string;
  /** Kill git after this many ms (SIGTERM); default {@link GIT_DEFAULT_TIMEOUT_MS}; 0 disables the timeout. */
  timeoutMs?: number;
}

/** What a successful git call printed (decoded as UTF-8). */
export interface GitOutput {
  stdout: string;
  stderr: string;
}

/** How many lines of git's stderr a GitError message quotes. */
const STDERR_LINES_IN_MESSAGE = 5;

/** Removes `user:password@` from URLs so a remote with an embedded token never reaches a log. */
function maskUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1***@');
}

/** The git subcommand in an argument list: the first argument that is not an option or a `-c` value. */
function subcommandOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c' || arg === '-C') {
      i++;
      continue;
    }
    if (!arg.startsWith('-')) return arg;
  }
  return args[0] ?? '(none)';
}

/**
 * A git command that failed: it exited non-zero, was killed (timeout), or could not be started.
 * The message names the subcommand, the directory, the exit code (or signal) and the first lines of
 * stderr, with credentials in URLs masked.
 */
export class GitError extends Error {
  override readonly name = 'GitError';
  /** Arguments passed to git (after the `-c` options this module adds). */
  readonly args: readonly string[];
  /** Directory git ran in. */
  readonly cwd: string;
  /** Exit code, or null when git was killed by a signal or could not be started. */
  readonly exitCode: number | null;
  /** Signal that killed git (e.g. 'SIGTERM' after a timeout), else null. */
  readonly signal: string | null;
  /** True when git was killed because it ran longer than the timeout. */
  readonly timedOut: boolean;
  /** Full stderr of git (credentials in URLs masked). */
  readonly stderr: string;

  constructor(init: {
    args: readonly string[];
    cwd: string;
    exitCode: number | null;
    signal: string | null;
    timedOut: boolean;
    stderr: string;
    detail?: string;
  }) {
    const stderr = maskUrlCredentials(init.stderr);
    const firstLines = stderr
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l !== '')
      .slice(0, STDERR_LINES_IN_MESSAGE)
      .join(' | ');
    const how = init.timedOut
      ? `timed out (killed with ${init.signal ?? 'SIGTERM'})`
      : init.exitCode !== null
        ? `exit code ${init.exitCode}`
        : init.signal
          ? `killed by ${init.signal}`
          : 'could not be started';
    const tail = [init.detail, firstLines].filter((s) => s).join(': ');
    super(`git ${subcommandOf(init.args)} failed in ${init.cwd} (${how})${tail ? `: ${tail}` : ''}`);
    this.args = init.args;
    this.cwd = init.cwd;
    this.exitCode = init.exitCode;
    this.signal = init.signal;
    this.timedOut = init.timedOut;
    this.stderr = stderr;
  }
}

/**
 * The environment git runs with: the current one, with prompts disabled (GIT_TERMINAL_PROMPT=0), the C
 * locale (LC_ALL=C, so messages are stable), and without GIT_DIR / GIT_WORK_TREE / GIT_INDEX_FILE /
 * GIT_COMMON_DIR, which would otherwise redirect git away from `cwd` (e.g. when run from a git hook).
 */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_PREFIX']) {
    delete env[name];
  }
  return env;
}

/**
 * Runs `git -c core.quotepath=false <args...>` in `opts.cwd` and returns its output (UTF-8).
 * The buffer limit is {@link GIT_MAX_BUFFER_BYTES}.
 * @throws GitError when git exits non-zero, is killed by the timeout (`opts.timeoutMs`, ms), or cannot be
 *   started (git missing, `cwd` not a directory).
 */
export function runGit(args: string[], opts: RunGitOptions): Promise<GitOutput> {
  const fullArgs = ['-c', 'core.quotepath=false', ...args];
  const timeoutMs = opts.timeoutMs ?? GIT_DEFAULT_TIMEOUT_MS;
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      'git',
      fullArgs,
      {
        cwd: opts.cwd,
        env: gitEnv(),
        maxBuffer: GIT_MAX_BUFFER_BYTES,
        timeout: timeoutMs,
        killSignal: 'SIGTERM',
        encoding: 'utf8',
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolvePromise({ stdout, stderr });
          return;
        }
        const err = error as NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals | null };
        const exitCode = typeof err.code === 'number' ? err.code : null;
        const spawnFailed = typeof err.code === 'string';
        const timedOut = !spawnFailed && Boolean(err.killed) && timeoutMs > 0;
        reject(
          new GitError({
            args,
            cwd: opts.cwd,
            exitCode,
            signal: err.signal ?? null,
            timedOut,
            stderr: stderr ?? '',
            detail: spawnFailed
              ? `${err.code}: ${err.message}`
              : timedOut
                ? `ran longer than ${timeoutMs} ms`
                : /maxBuffer/i.test(err.message)
                  ? `output exceeded ${GIT_MAX_BUFFER_BYTES} bytes`
                  : undefined,
          }),
        );
      },
    );
    // git may exit before reading all of stdin (e.g. a bad patch); that EPIPE is not the error to report.
    child.stdin?.on('error', () => {});
    if (opts.input !== undefined) child.stdin?.end(opts.input, 'utf8');
    else child.stdin?.end();
  });
}

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
 * made by mkdtemp under os.tmpdir(). Hooks of the target repository are not run (core.hooksPath=/dev/null).
 * The caller must call `remove()` (in a finally).
 * @throws GitError when `baseSha` is not a commit of the repository or the worktree cannot be created (the
 *   temporary directory is removed again).
 */
export async function addWorktree(repoDir: string, baseSha: string): Promise<Worktree> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'self-evolution-wt-')));
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

/** Options that make diff output independent of the user's diff configuration. */
const STABLE_DIFF_OPTIONS = [
  '--no-ext-diff',
  '--no-textconv',
  '--no-color',
  '--no-relative',
  '--submodule=short',
];

const STATUS_BY_LETTER: Record<string, FileChangeStatus> = {
  A: 'added',
  M: 'modified',
  D: 'deleted',
  R: 'renamed',
  C: 'copied',
  T: 'type-changed',
};

/**
 * Parses the output of `git diff --raw --numstat -z` (raw records first, then numstat records, all fields
 * NUL-terminated) into facts. Exported for tests; callers use {@link diffFacts}.
 * @throws Error naming the offending record when the output is not in that format.
 */
export function parseRawNumstatZ(output: string): ChangeFacts {
  const tokens = output.split('\0');
  if (tokens[tokens.length - 1] === '') tokens.pop();
  let i = 0;
  const next = (what: string): string => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`unexpected end of git diff -z output: expected ${what}`);
    return t;
  };

  const raw: {
    status: FileChangeStatus;
    oldMode: string;
    newMode: string;
    path: string;
    oldPath?: string;
  }[] = [];
  while (i < tokens.length && tokens[i]!.startsWith(':')) {
    const meta = next('a raw record');
    const m = /^:(\d{6}) (\d{6}) [0-9a-f]+\.*? [0-9a-f]+\.*? ([A-Z])(\d*)$/.exec(meta);
    if (!m) throw new Error(`unexpected git diff --raw record ${JSON.stringify(meta)}`);
    const letter = m[3]!;
    const status = STATUS_BY_LETTER[letter];
    if (!status) {
      throw new Error(`git diff reported status ${letter} (e.g. U = unmerged) for a file; resolve it first`);
    }
    if (status === 'renamed' || status === 'copied') {
      const oldPath = next(`the source path of ${meta}`);
      const path = next(`the destination path of ${meta}`);
      raw.push({ status, oldMode: m[1]!, newMode: m[2]!, path, oldPath });
    } else {
      raw.push({ status, oldMode: m[1]!, newMode: m[2]!, path: next(`the path of ${meta}`) });
    }
  }

  const counts: { added: string; deleted: string; path: string; oldPath?: string }[] = [];
  while (i < tokens.length) {
    const record = next('a numstat record');
    const m = /^(\d+|-)\t(\d+|-)\t([\s\S]*)$/.exec(record);
    if (!m) throw new Error(`unexpected git diff --numstat record ${JSON.stringify(record)}`);
    if (m[3] === '') {
      const oldPath = next('the source path of a rename in --numstat');
      const path = next('the destination path of a rename in --numstat');
      counts.push({ added: m[1]!, deleted: m[2]!, path, oldPath });
    } else {
      counts.push({ added: m[1]!, deleted: m[2]!, path: m[3]! });
    }
  }

  if (counts.length !== raw.length) {
    throw new Error(`git diff printed ${raw.length} --raw records but ${counts.length} --numstat records`);
  }
  const files: FileChange[] = raw.map((r, k) => {
    const c = counts[k]!;
    if (c.path !== r.path || (c.oldPath ?? r.oldPath) !== r.oldPath) {
      throw new Error(
        `git diff --raw and --numstat disagree at record ${k + 1}: ${JSON.stringify(r.path)} vs ${JSON.stringify(c.path)}`,
      );
    }
    const binary = c.added === '-' || c.deleted === '-';
    const file: FileChange = {
      path: r.path,
      status: r.status,
      oldMode: r.oldMode,
      newMode: r.newMode,
      binary,
      linesAdded: binary ? 0 : Number(c.added),
      linesDeleted: binary ? 0 : Number(c.deleted),
    };
    if (r.oldPath !== undefined) file.oldPath = r.oldPath;
    return file;
  });
  return { files };
}

/**
 * Facts about the STAGED changes of the worktree against `base` (default HEAD), from one call of
 * `git diff --cached -M --raw --numstat -z --no-abbrev <base>`: status, paths (both for renames), modes as
 * git prints them (symlink 120000 and submodule 160000 kept), binary flag and line counts.
 * @throws GitError when git fails; Error when its output is not in the expected format.
 */
export async function diffFacts(worktreeDir: string, base = 'HEAD'): Promise<ChangeFacts> {
  const { stdout } = await runGit(
    ['diff', '--cached', '-M', '--raw', '--numstat', '-z', '--no-abbrev', ...STABLE_DIFF_OPTIONS, base, '--'],
    { cwd: worktreeDir },
  );
  return parseRawNumstatZ(stdout);
}

/**
 * The staged changes of the worktree against `base` (default HEAD) as a patch `git apply` accepts:
 * `git diff --cached --binary -M <base>` with a/ b/ prefixes regardless of the user's diff configuration.
 * Empty string when nothing is staged.
 * @throws GitError when git fails.
 */
export async function diffPatch(worktreeDir: string, base = 'HEAD'): Promise<string> {
  const { stdout } = await runGit(
    [
      'diff',
      '--cached',
      '--binary',
      '-M',
      '--src-prefix=a/',
      '--dst-prefix=b/',
      ...STABLE_DIFF_OPTIONS,
      base,
      '--',
    ],
    { cwd: worktreeDir },
  );
  return stdout;
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
 * Facts about the STAGED changes of the worktree against `base` (default HEAD), as {@link diffFacts}, WITH
 * the added lines of every text file (`facts.addedLines`, read from {@link diffPatch}'s patch by
 * attachAddedLines in patch-lines.ts), and that patch. When the added lines cannot be matched to git's
 * paths, `facts.addedLines` is left unset (the rails' content rules then block as `content-unread`) and
 * `linesError` says why.
 * @throws GitError when git fails; Error when git's output is not in the expected format.
 */
export async function diffFactsWithLines(
  worktreeDir: string,
  base = 'HEAD',
): Promise<{ facts: ChangeFacts; patch: string; linesError?: string }> {
  const facts = await diffFacts(worktreeDir, base);
  const patch = await diffPatch(worktreeDir, base);
  try {
    return { facts: attachAddedLines(facts, patch), patch };
  } catch (e) {
    return { facts, patch, linesError: e instanceof Error ? e.message : String(e) };
  }
}
