/**
 * Runs a command of the repository (a proposer's agent CLI, a reflection check): `/bin/sh -c <command>` in
 * its own process group, in a sandbox when one is given (mechanism.ts), with a timeout that kills the whole
 * group, output tails kept for provenance, and an environment without secrets.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { GIT_REDIRECTING_VARIABLES } from '../git/exec.js';
import { sandboxedCommand, type SandboxSpec, type SandboxTool } from './mechanism.js';
import { isSecretEnvName } from '../secrets.js';
import { realSleep } from '../deps.js';

/** Largest stdout/stderr tail kept per stream: 4 KiB (bytes). */
export const OUTPUT_TAIL_BYTES = 4096;

/** Time between SIGTERM and SIGKILL when a command's process group is killed at its timeout, ms. */
export const KILL_GRACE_MS = 2000;

/**
 * Time between SIGTERM and SIGKILL when a command's process group is killed because the run was interrupted
 * (RunCommandOptions.signal), ms: shorter than KILL_GRACE_MS, since the whole cleanup of a cancelled run must fit
 * in GitHub's 7.5 s (sandbox/interrupts.ts CANCEL_GRACE_MS).
 */
export const CANCEL_KILL_GRACE_MS = 1000;

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Working directory of the command. */
  cwd: string;
  /** Kill the command's process group after this many ms (SIGTERM, then SIGKILL {@link KILL_GRACE_MS} later). */
  timeoutMs: number;
  /** The complete environment of the command (nothing is inherited); see {@link scrubEnv}. */
  env: Record<string, string>;
  /**
   * Run it in this sandbox (see mechanism.ts); `newRoot` is the empty directory the unshare mechanism needs.
   * Absent: no isolation beyond the process group (config `sandbox: "none"`).
   */
  sandbox?: { spec: SandboxSpec; newRoot?: string };
  /**
   * The run's interruption (RunGuard.signal): when it aborts, the command's process group gets SIGTERM and,
   * {@link CANCEL_KILL_GRACE_MS} later, SIGKILL; already aborted, the command is not started.
   */
  signal?: AbortSignal;
}

/**
 * The sandbox a run gives the commands it starts: the mechanism found working (absent: config
 * `sandbox: "none"`), the default network (a command's own `network` setting wins), and the paths every
 * command must not see (workspace.ts hiddenPathsFor).
 */
export interface SandboxPlan {
  tool?: SandboxTool;
  /** Default network inside the sandbox: true 'on', false 'none'. */
  network: boolean;
  hidden: readonly string[];
}

/** How a command was isolated: the sandbox mechanism, or 'none'. */
export type SandboxUsed = 'bwrap' | 'unshare' | 'none';

/** What happened when a command ran. */
export interface CommandResult {
  /** The command as given. */
  command: string;
  /** Directory it ran in. */
  cwd: string;
  /** Exit code of `/bin/sh`, or null when it was killed by a signal or could not be started. */
  exitCode: number | null;
  /** Signal that ended `/bin/sh` (e.g. 'SIGTERM' after a timeout), else null. */
  signal: string | null;
  /** True when the command ran longer than `timeoutMs` and its process group was killed. */
  timedOut: boolean;
  /** True when `signal` aborted: the process group was killed (or the command never started). */
  cancelled?: boolean;
  /** Wall time from start until the shell ended, ms. */
  durationMs: number;
  /** Last {@link OUTPUT_TAIL_BYTES} bytes of stdout (UTF-8). */
  stdoutTail: string;
  /** Last {@link OUTPUT_TAIL_BYTES} bytes of stderr (UTF-8); includes the reason when the shell could not start. */
  stderrTail: string;
  /** How it was isolated. */
  sandbox: SandboxUsed;
}

/** Keeps the last `limit` bytes written to it. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    let buf = Buffer.concat(this.chunks);
    if (buf.length > this.limit) buf = buf.subarray(buf.length - this.limit);
    // A cut in the middle of a multi-byte character decodes to U+FFFD at the start: drop it.
    return buf.toString('utf8').replace(/^\uFFFD+/, '');
  }
}

/** Sends `signal` to the process group `pgid`; false when no process of the group exists any more. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `/bin/sh -c <command>` in `opts.cwd` as the leader of a new process group, stdin closed.
 *
 * On timeout the whole group gets SIGTERM and, {@link KILL_GRACE_MS} ms later, SIGKILL. When the shell
 * ends normally but left background processes in its group, they get the same treatment, so nothing the
 * command started outlives the call (processes that left the group with setsid are out of reach). When
 * `opts.signal` aborts, the group is killed the same way ({@link CANCEL_KILL_GRACE_MS} between the signals) and
 * the result says `cancelled`. Resolves after the shell has ended; never rejects, also not when the shell cannot
 * be started (exitCode null and the reason in `stderrTail`).
 */
export function runCommand(command: string, opts: RunCommandOptions): Promise<CommandResult> {
  const started = performance.now();
  const stdout = new Tail(OUTPUT_TAIL_BYTES);
  const stderr = new Tail(OUTPUT_TAIL_BYTES);

  return new Promise((resolve) => {
    let timedOut = false;
    let cancelled = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let sentKill = false;

    let file = '/bin/sh';
    let args = ['-c', command];
    if (opts.sandbox) {
      try {
        ({ file, args } = sandboxedCommand(opts.sandbox.spec, command, opts.sandbox.newRoot));
      } catch (e) {
        resolve({
          command,
          cwd: opts.cwd,
          exitCode: null,
          signal: null,
          timedOut: false,
          durationMs: 0,
          stdoutTail: '',
          stderrTail: `cannot build the sandbox: ${(e as Error).message}\n`,
          sandbox: opts.sandbox.spec.tool.mechanism,
        });
        return;
      }
    }
    const sandbox: SandboxUsed = opts.sandbox?.spec.tool.mechanism ?? 'none';
    if (opts.signal?.aborted) {
      resolve({
        command,
        cwd: opts.cwd,
        exitCode: null,
        signal: null,
        timedOut: false,
        cancelled: true,
        durationMs: 0,
        stdoutTail: '',
        stderrTail: 'not started: the run was interrupted\n',
        sandbox,
      });
      return;
    }
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const pgid = child.pid;

    child.stdout?.on('data', (c: Buffer) => stdout.push(c));
    child.stderr?.on('data', (c: Buffer) => stderr.push(c));

    const terminateGroup = (graceMs = KILL_GRACE_MS): void => {
      if (pgid === undefined) return;
      signalGroup(pgid, 'SIGTERM');
      killTimer ??= setTimeout(() => {
        sentKill = true;
        signalGroup(pgid, 'SIGKILL');
      }, graceMs);
    };

    const timeoutTimer = setTimeout(() => {
      timedOut = true;
      terminateGroup();
    }, opts.timeoutMs);

    const onAbort = (): void => {
      if (settled) return;
      cancelled = true;
      clearTimeout(timeoutTimer);
      terminateGroup(CANCEL_KILL_GRACE_MS);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (
      exitCode: number | null,
      signal: string | null,
      endedAt: number,
      extraErr?: string,
    ): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (extraErr) stderr.push(Buffer.from(extraErr));
      resolve({
        command,
        cwd: opts.cwd,
        exitCode,
        signal,
        timedOut,
        ...(cancelled ? { cancelled: true } : {}),
        durationMs: Math.round(endedAt - started),
        stdoutTail: stdout.text(),
        stderrTail: stderr.text(),
        sandbox,
      });
    };

    child.on('error', (err) => {
      // Spawn failed (e.g. cwd missing): there is no process to wait for.
      if (pgid === undefined)
        finish(null, null, performance.now(), `cannot start ${file} in ${opts.cwd}: ${err.message}\n`);
    });

    child.on('exit', (code, signal) => {
      const shellEnded = performance.now();
      clearTimeout(timeoutTimer);
      void (async () => {
        if (pgid !== undefined && signalGroup(pgid, 0)) {
          // Leftovers in the group (background jobs, or children that ignored SIGTERM): end them too.
          if (!timedOut && !cancelled) terminateGroup();
          // Wait until the group is gone; after SIGKILL only briefly (unreaped zombies still count as members).
          let afterKillPolls = 0;
          while (signalGroup(pgid, 0) && afterKillPolls < 25) {
            await realSleep(40);
            if (sentKill) afterKillPolls++;
          }
        }
        // Output still buffered in the pipes arrives before 'close'; do not wait forever for a holder that escaped.
        let giveUp: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all([streamClosed(child.stdout), streamClosed(child.stderr)]),
          new Promise<void>((r) => {
            giveUp = setTimeout(() => {
              child.stdout?.destroy();
              child.stderr?.destroy();
              r();
            }, 1000);
          }),
        ]);
        clearTimeout(giveUp);
        finish(code, signal, shellEnded);
      })();
    });
  });
}

/** Resolves when a readable stream has closed (at once when it is absent or already closed). */
function streamClosed(stream: NodeJS.ReadableStream | null | undefined): Promise<void> {
  if (!stream) return Promise.resolve();
  const s = stream as NodeJS.ReadableStream & { closed?: boolean; destroyed?: boolean };
  if (s.closed || s.destroyed) return Promise.resolve();
  return new Promise((r) => {
    stream.once('close', () => r());
  });
}

/**
 * A copy of `env` for a proposer's command: without GITHUB_TOKEN, GH_TOKEN, DATABASE_URL, INPUT_* (action
 * inputs), ACTIONS_RUNTIME_TOKEN / ACTIONS_ID_TOKEN_REQUEST_* / ACTIONS_RESULTS_URL / ACTIONS_RUNTIME_URL,
 * any name containing TOKEN, SECRET, PASSWORD, PASSWD, API_KEY, APIKEY or PRIVATE_KEY (case-insensitive),
 * and any value holding a URL with a password; and without undefined values. Names listed in `passEnv`
 * (exact spelling) are kept even when they match. Never kept, passEnv or not: the variables that would point
 * git at another repository, index or config (git/exec.ts GIT_REDIRECTING_VARIABLES, GIT_CONFIG_KEY_n/VALUE_n).
 */
export function scrubEnv(
  env: Readonly<Record<string, string | undefined>>,
  passEnv: readonly string[] = [],
): Record<string, string> {
  const pass = new Set(passEnv);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    // Never let a variable point git in the command at another repository, index or config.
    if (GIT_REDIRECTING_VARIABLES.includes(name) || /^GIT_CONFIG_(KEY|VALUE)_\d+$/.test(name)) continue;
    if (!pass.has(name) && isSecretEnvName(name, value)) continue;
    out[name] = value;
  }
  return out;
}

/** Bytes of output kept per command in commands.jsonl (the end of stdout, then of stderr): 2 KiB each. */
export const COMMAND_LOG_TAIL_BYTES = 2048;

/**
 * One line of the run's commands.jsonl: a shell command the runner executed (a proposer's command, a
 * reflection check, a verify command) or refused to execute (forbidden by the command policy). Every text is
 * masked.
 */
export interface CommandLogEntry {
  /** What ran it: a proposer, a reflection check, or a verify command of live mode (act/verify.ts). */
  kind: 'proposer' | 'check' | 'verify';
  /** The proposer's, the check's or the verify command's name. */
  name: string;
  /** The command as configured (secrets masked). */
  command: string;
  /** Directory it ran in (a scratch worktree); '' when it was refused. */
  cwd: string;
  /** Exit code of /bin/sh; null when killed by a signal, not started or refused. */
  exitCode: number | null;
  /** Wall time, ms (0 when refused). */
  durationMs: number;
  /** True when it ran longer than its timeout and its process group was killed. */
  timedOut: boolean;
  /** The time limit it ran under, ms. */
  timeoutMs: number;
  /** The last bytes of its stdout and stderr (each at most {@link COMMAND_LOG_TAIL_BYTES}), masked. */
  outputTail: string;
  /** Why it was not run (the command policy), when it was refused. */
  refused?: string;
  /** How it was isolated (absent when refused). */
  sandbox?: SandboxUsed;
}

/** The last `limit` bytes of `text` (UTF-8), without a broken character at the start. */
export function tailBytes(text: string, limit: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= limit) return text;
  return buf
    .subarray(buf.length - limit)
    .toString('utf8')
    .replace(/^\uFFFD+/, '');
}

/**
 * The commands.jsonl entry of a command result: stdout tail, then (when not empty) `--- stderr ---` and the
 * stderr tail, each cut to {@link COMMAND_LOG_TAIL_BYTES}; `mask` is applied to the command and the output.
 */
export function commandLogEntry(
  r: CommandResult,
  info: { kind: CommandLogEntry['kind']; name: string; command: string; timeoutMs: number },
  mask: (text: string) => string,
): CommandLogEntry {
  const out = tailBytes(mask(r.stdoutTail), COMMAND_LOG_TAIL_BYTES);
  const err = tailBytes(mask(r.stderrTail), COMMAND_LOG_TAIL_BYTES);
  return {
    kind: info.kind,
    name: mask(info.name),
    command: mask(info.command),
    cwd: r.cwd,
    exitCode: r.exitCode,
    durationMs: r.durationMs,
    timedOut: r.timedOut,
    timeoutMs: info.timeoutMs,
    sandbox: r.sandbox,
    outputTail:
      err === '' ? out : `${out}${out === '' || out.endsWith('\n') ? '' : '\n'}--- stderr ---\n${err}`,
  };
}
