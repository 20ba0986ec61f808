/**
 * Running git: text output (runGit, for the repository helpers of git.ts) and byte output (gitBytes, for the
 * facts: paths and contents that may not be UTF-8, a scratch index or object directory in the environment).
 * Both run `git -c core.quotepath=false`, with prompts disabled, the C locale, and without the GIT_DIR-like
 * variables of the caller's environment (a git hook's GIT_DIR would otherwise redirect git away from `cwd`).
 */
import { execFile, spawn } from 'node:child_process';
import { isUtf8 as bufferIsUtf8 } from 'node:buffer';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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
  /**
   * Extra environment (e.g. GIT_INDEX_FILE, author and committer variables, GIT_CONFIG_COUNT/KEY_n/VALUE_n
   * carrying a credential header), applied after the caller's redirecting variables are removed. Never put a
   * secret in `args`: argv is visible to every process of the machine (/proc/<pid>/cmdline).
   */
  env?: Record<string, string>;
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
 * The environment runGit runs git with: the current one, with prompts disabled (GIT_TERMINAL_PROMPT=0), the C
 * locale (LC_ALL=C, so messages are stable), and none of {@link GIT_REDIRECTING_VARIABLES} (a git hook's
 * GIT_DIR would otherwise redirect git away from `cwd`). The same rules as gitBytes (bytesEnv).
 */
function gitEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
  return bytesEnv(extra);
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
        env: gitEnv(opts.env),
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

// ---- bytes --------------------------------------------------------------------------------------------

/** Options of {@link gitBytes}. */
export interface GitBytesOptions {
  /** Directory git runs in. */
  cwd: string;
  /** Bytes written to stdin (closed at once when absent). */
  input?: Buffer | string;
  /** Extra environment (e.g. GIT_INDEX_FILE, GIT_DIR), applied after the caller's GIT_* variables are removed. */
  env?: Record<string, string>;
  /** Kill git and fail with OutputTooLarge when stdout exceeds this many bytes (default GIT_MAX_BUFFER_BYTES). */
  maxBytes?: number;
}

/** stdout of git went over the `maxBytes` of {@link gitBytes}. */
export class OutputTooLarge extends Error {
  override readonly name = 'OutputTooLarge';
}

/**
 * Variables of the caller's environment that would point git at another repository, index, object store,
 * config or pathspec mode (git(1) "ENVIRONMENT VARIABLES"). The one list: every git process of the run and
 * every command it starts (sandbox/runner.ts scrubEnv) goes without them, plus GIT_CONFIG_KEY_n/VALUE_n.
 */
export const GIT_REDIRECTING_VARIABLES: readonly string[] = Object.freeze([
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_PREFIX',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_NAMESPACE',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_ATTR_SOURCE',
  'GIT_LITERAL_PATHSPECS',
  'GIT_GLOB_PATHSPECS',
  'GIT_NOGLOB_PATHSPECS',
  'GIT_ICASE_PATHSPECS',
  'GIT_EXTERNAL_DIFF',
  'GIT_DIFF_OPTS',
]);

/** Removes {@link GIT_REDIRECTING_VARIABLES} and GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n from `env` (in place). */
export function stripGitRedirects<T extends Record<string, string | undefined>>(env: T): T {
  for (const name of GIT_REDIRECTING_VARIABLES) delete env[name];
  for (const name of Object.keys(env)) if (/^GIT_CONFIG_(KEY|VALUE)_\d+$/.test(name)) delete env[name];
  return env;
}

/**
 * The environment of {@link gitBytes}: the current one with prompts disabled, the C locale, none of the
 * variables that would point git elsewhere (GIT_REDIRECTING_VARIABLES, GIT_CONFIG_KEY_n/VALUE_n), then `extra`.
 */
export function bytesEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  stripGitRedirects(env);
  return Object.assign(env, extra);
}

/**
 * Runs `git -c core.quotepath=false <args>` and returns stdout as bytes. Same environment rules as runGit (C
 * locale, no prompts), and none of the caller's GIT_DIR, GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY, GIT_CONFIG_*
 * parameters, pathspec or external-diff variables: only `opts.env` sets those. Times out after
 * GIT_DEFAULT_TIMEOUT_MS.
 * @throws GitError when git exits non-zero, is killed or cannot start; OutputTooLarge over `opts.maxBytes`.
 */
export function gitBytes(args: string[], opts: GitBytesOptions): Promise<Buffer> {
  const env = bytesEnv(opts.env);
  const maxBytes = opts.maxBytes ?? GIT_MAX_BUFFER_BYTES;
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', ['-c', 'core.quotepath=false', ...args], {
      cwd: opts.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let tooLarge = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, GIT_DEFAULT_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxBytes) {
        tooLarge = true;
        child.kill('SIGTERM');
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new GitError({
          args,
          cwd: opts.cwd,
          exitCode: null,
          signal: null,
          timedOut: false,
          stderr,
          detail: `${err.code ?? 'error'}: ${err.message}`,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (tooLarge) {
        reject(new OutputTooLarge(`git ${subcommandOf(args)} printed more than ${maxBytes} bytes`));
      } else if (code === 0) {
        resolvePromise(out.length === 1 ? out[0]! : Buffer.concat(out));
      } else {
        reject(
          new GitError({
            args,
            cwd: opts.cwd,
            exitCode: code,
            signal,
            timedOut,
            stderr,
            detail: timedOut ? `ran longer than ${GIT_DEFAULT_TIMEOUT_MS} ms` : undefined,
          }),
        );
      }
    });
    // git may exit before reading all of stdin (a bad patch): that EPIPE is not the error to report.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? undefined);
  });
}

/** The first non-empty line of git's stderr (or the error's message), for messages quoting git. */
export function gitSays(err: unknown): string {
  if (err instanceof GitError) {
    const line = err.stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '');
    return line ?? err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

// ---- text ---------------------------------------------------------------------------------------------

/** Decodes UTF-8 and throws on invalid bytes. */
export const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Decodes UTF-8, invalid bytes as U+FFFD. */
export const LOSSY_UTF8 = new TextDecoder('utf-8');

/** True when `bytes` are valid UTF-8 (node's own validator: nothing is decoded). */
export function isUtf8(bytes: Uint8Array): boolean {
  return bufferIsUtf8(bytes);
}

// ---- scratch directories ------------------------------------------------------------------------------

/** A fresh empty directory under os.tmpdir(), outside any repository. */
export interface ScratchDir {
  /** Real absolute path. */
  dir: string;
  /** GIT_CEILING_DIRECTORIES, so git run in `dir` never finds a repository above it. */
  env: Record<string, string>;
  /** Removes the directory and everything in it; never throws. */
  remove: () => Promise<void>;
}

/** The kinds of scratch directory a run makes under os.tmpdir() (see {@link scratchPrefix}). */
export type ScratchKind = 'wt' | 'sandbox' | 'facts' | 'probe';

/**
 * The mkdtemp prefix of a scratch directory of this process: `<os.tmpdir()>/self-evolution-<kind>-<pid>-`. The
 * pid in the name lets a later run tell what a dead run left from what a live one (of any repository) still uses
 * (sandbox/leftovers.ts pruneLeftovers).
 */
export function scratchPrefix(kind: ScratchKind): string {
  return join(tmpdir(), `self-evolution-${kind}-${process.pid}-`);
}

/** Makes a {@link ScratchDir} (prefix `self-evolution-facts-<pid>-`). The caller must call `remove()` (in a finally). */
export async function scratchDir(): Promise<ScratchDir> {
  const dir = await realpath(await mkdtemp(scratchPrefix('facts')));
  return {
    dir,
    env: { GIT_CEILING_DIRECTORIES: dirname(dir) },
    remove: () => rm(dir, { recursive: true, force: true }).catch(() => {}),
  };
}
