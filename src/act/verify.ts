/**
 * Verification of an allowed change before its pull request (live mode, issue #9): the change is applied in a
 * fresh scratch work tree of the base commit (src/sandbox/workspace.ts) and the config's `verify.commands`
 * (e.g. `npm ci`, `npm test`) run there one after another, in the run's sandbox (the same one the proposers and
 * the repository checks run in), each with its timeout, with an environment without secrets. The first command
 * that fails stops the others; each command's exit code, duration and the last lines of its output are the
 * evidence (VerifyReport).
 *
 * {@link publishableAfterVerify} says whether a change may become a pull request after its verification.
 */
import type { VerifyCommand } from '../config/schema.js';
import { RunInterrupted, type InterruptReason, type Logger } from '../deps.js';
import { applyPatch } from '../git/git.js';
import { GitError } from '../git/exec.js';
import type { VerifyEvidence, VerifyReport } from '../records.js';
import {
  commandLogEntry,
  OUTPUT_TAIL_BYTES,
  runCommand as realRunCommand,
  scrubEnv,
  tailBytes,
  type CommandLogEntry,
  type CommandResult,
  type RunCommandOptions,
  type SandboxPlan,
} from '../sandbox/runner.js';
import { createWorkspace as realCreateWorkspace, type Workspace } from '../sandbox/workspace.js';
import { maskSecrets, redactTokens, secretEnvValues } from '../secrets.js';

/** Timeout of a verify command without `timeoutSeconds`: 300 s (the config's default). */
export const DEFAULT_VERIFY_TIMEOUT_SECONDS = 300;

/** Computed risk from which a change needs verify commands to be published (unless `verify.optional`). */
export const VERIFY_REQUIRED_FROM_RISK = 2;

/**
 * Why a change of risk >= {@link VERIFY_REQUIRED_FROM_RISK} is not published when no verify command is
 * configured.
 */
export const VERIFY_NOT_CONFIGURED_REASON =
  'no verify commands configured; a change of risk 2 or more needs them (or verify.optional: true)';

/** Most characters of a command's last output line quoted in a failure reason. */
const REASON_LINE_CHARS = 200;

/** One verify command: the config's `verify.commands` entry (timeoutSeconds default 300). */
export type VerifyCommandInput = Pick<VerifyCommand, 'name' | 'command' | 'network'> & {
  /** Kill the command's process group after this many seconds; default {@link DEFAULT_VERIFY_TIMEOUT_SECONDS}. */
  timeoutSeconds?: number;
};

/** What {@link verifyProposal} verifies, and how. */
export interface VerifyInput {
  /** The target checkout (its objects are borrowed by the scratch work tree, never written). */
  repoDir: string;
  /** The commit the change is based on; the scratch work tree is made at it. */
  baseSha: string;
  /** The change, as `git diff --binary` prints it (the proposal's patch). */
  patch: string;
  /** The config's `verify.commands`, run in this order. Empty: nothing runs ('not-configured'). */
  commands: readonly VerifyCommandInput[];
  /**
   * The run's sandbox (the proposers' and checks' one, sandbox/plan.ts); absent or without `tool`: the commands
   * run without isolation (config `sandbox: "none"`). A command's own `network` wins over the plan's default.
   */
  sandbox?: SandboxPlan;
  /**
   * The run's environment; the commands get it scrubbed (scrubEnv: no GITHUB_TOKEN, DATABASE_URL, *TOKEN*,
   * ...).
   */
  env: Readonly<Record<string, string | undefined>>;
  /** Names kept although they look like secrets (see scrubEnv). Default none. */
  passEnv?: readonly string[];
  /**
   * Values masked as `***` in the evidence, the reason and the commands.jsonl entries (the run's token, the
   * database URL), besides the secret-looking values of `env` (secretEnvValues) and token-shaped strings.
   */
  secrets?: readonly string[];
  /**
   * Stops the verification: the running command's process group is killed (through runCommand's `signal`) and
   * no further command starts; verifyProposal then rejects (see there).
   */
  signal?: AbortSignal;
  /** Receives one commands.jsonl entry (kind 'verify') per command run. */
  onCommand?: (entry: CommandLogEntry) => void;
  logger: Logger;
  /** Replaces runCommand (tests). */
  runCommand?: (command: string, opts: RunCommandOptions) => Promise<CommandResult>;
  /** Replaces createWorkspace (tests). */
  createWorkspace?: (repoDir: string, baseSha: string) => Promise<Workspace>;
}

/**
 * runCommand's options with its abort signal (RunCommandOptions.signal, added to runner.ts alongside this module;
 * the intersection keeps this module compiling against a runner.ts without it).
 */
type RunOptionsWithSignal = RunCommandOptions & { signal?: AbortSignal };

/**
 * Verifies one change: makes a fresh scratch work tree of `baseSha` (createWorkspace), applies `patch` to it
 * and its index (git apply --index), then runs each command with `/bin/sh -c` at the root of that work tree,
 * in order, in the sandbox of `input.sandbox` (the plan's hidden paths invisible, the network of the command or
 * else the plan's default), with its timeout (the whole process group is killed: SIGTERM, then SIGKILL 2 s
 * later), stdin closed, and the scrubbed environment plus TMPDIR (and, in a sandbox, HOME) inside the
 * workspace. The first command that does not exit 0 stops the others. The workspace is always removed.
 *
 * Results (never a rejection for anything the change or its commands did):
 * - no commands: `{ status: 'not-configured', commands: [] }`, without making a work tree;
 * - the patch does not apply: `{ status: 'failed', commands: [], reason }` with the reason
 *   `the change does not apply to <base8>: <git's message>`;
 * - a command exits non-zero, times out, is killed or cannot start: 'failed', the evidence of every command run
 *   (the failing one last), `reason` e.g. `verify command "test" exited 1: <last output line>`;
 * - otherwise 'passed' with the evidence of every command.
 * Evidence and reason are masked: `secrets`, the secret-looking values of `env`, URL credentials and
 * GitHub-token-shaped strings become `***`; output tails are at most 4 KiB per stream.
 *
 * @throws RunInterrupted when `signal` aborts with an InterruptReason (RunGuard); the signal's reason when it
 *   is an Error; else an Error "verify aborted". The running command's process group is killed first
 *   (runCommand's `signal`) and no later command starts.
 * @throws GitError when the work tree cannot be made (e.g. `baseSha` is not a commit of `repoDir`): not a
 *   failure of the change.
 * @throws Error when a command's timeoutSeconds is not a positive number.
 */
export async function verifyProposal(input: VerifyInput): Promise<VerifyReport> {
  const { commands, logger, signal } = input;
  if (commands.length === 0) return { status: 'not-configured', commands: [] };
  const timeoutsMs = commands.map((c) => {
    const seconds = c.timeoutSeconds ?? DEFAULT_VERIFY_TIMEOUT_SECONDS;
    if (!(seconds > 0) || !Number.isFinite(seconds)) {
      throw new Error(`verify command "${c.name}": timeoutSeconds must be a positive number, got ${seconds}`);
    }
    return Math.round(seconds * 1000);
  });
  throwIfAborted(signal);

  const run = input.runCommand ?? realRunCommand;
  const env = scrubEnv(input.env, input.passEnv);
  const secrets = [...(input.secrets ?? []), ...secretEnvValues(input.env)];
  const mask = (text: string): string => redactTokens(maskSecrets(text, secrets));
  const base8 = input.baseSha.slice(0, 8);
  const plan = input.sandbox;

  const ws = await (input.createWorkspace ?? realCreateWorkspace)(input.repoDir, input.baseSha);
  try {
    try {
      await applyPatch(ws.work, input.patch);
    } catch (e) {
      const reason = `the change does not apply to ${base8}: ${mask(applyFailure(e))}`;
      logger.warn(`verify: ${reason}`);
      return { status: 'failed', commands: [], reason };
    }
    // Nothing reads this work tree with git after the commands ran, so it is never sealed: whatever a command
    // writes into its .git stays in the sandbox and is removed with the workspace.
    env.TMPDIR = ws.tmp;
    if (plan?.tool) env.HOME = ws.home;

    const evidence: VerifyEvidence[] = [];
    for (const [i, cmd] of commands.entries()) {
      throwIfAborted(signal);
      const timeoutMs = timeoutsMs[i]!;
      const network = (cmd.network ?? (plan?.network === false ? 'none' : 'on')) === 'on';
      const shown = mask(cmd.command);
      logger.info(`verify: running "${mask(cmd.name)}" (\`${shown}\`, timeout ${timeoutMs / 1000} s)`);
      const opts: RunOptionsWithSignal = {
        cwd: ws.work,
        timeoutMs,
        env: { ...env },
        ...(plan?.tool
          ? { sandbox: { spec: ws.spec(plan.tool, { network, hidden: plan.hidden }), newRoot: ws.newRoot } }
          : {}),
        ...(signal ? { signal } : {}),
      };
      const r = await run(cmd.command, opts);
      input.onCommand?.(
        commandLogEntry(r, { kind: 'verify', name: cmd.name, command: cmd.command, timeoutMs }, mask),
      );
      // An aborted command failed because it was stopped, not because of the change.
      throwIfAborted(signal);
      evidence.push({
        name: mask(cmd.name),
        command: shown,
        exitCode: r.exitCode,
        signal: r.signal,
        timedOut: r.timedOut,
        durationMs: r.durationMs,
        stdoutTail: tailBytes(mask(r.stdoutTail), OUTPUT_TAIL_BYTES),
        stderrTail: tailBytes(mask(r.stderrTail), OUTPUT_TAIL_BYTES),
        sandbox: r.sandbox,
      });
      if (r.exitCode !== 0 || r.timedOut) {
        const reason = mask(failureReason(cmd.name, r, timeoutMs));
        logger.warn(`verify: ${reason}; later commands not run`);
        return { status: 'failed', commands: evidence, reason };
      }
      logger.info(`verify: "${mask(cmd.name)}" passed (${(r.durationMs / 1000).toFixed(1)} s)`);
    }
    return { status: 'passed', commands: evidence };
  } finally {
    await ws.remove();
  }
}

/** Rejects (see verifyProposal's @throws) when `signal` has aborted. */
function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  if (reason instanceof Error) throw reason;
  if (isInterruptReason(reason)) throw new RunInterrupted(reason);
  throw new Error('verify aborted');
}

/** True for an InterruptReason (what a RunGuard aborts its signal with). */
function isInterruptReason(value: unknown): value is InterruptReason {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'signal' || kind === 'lost-lock';
}

/**
 * git's own words for a patch that did not apply (its first stderr lines joined by ' | '), without the work
 * tree's path.
 */
function applyFailure(e: unknown): string {
  const text =
    e instanceof GitError && e.stderr.trim() !== '' ? e.stderr : e instanceof Error ? e.message : String(e);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const joined = lines.slice(0, 3).join(' | ');
  return joined.length > 2 * REASON_LINE_CHARS
    ? `${joined.slice(0, 2 * REASON_LINE_CHARS)}…`
    : joined || 'git apply failed';
}

/** The last non-empty line of `text`, at most {@link REASON_LINE_CHARS} characters. */
function lastLine(text: string): string {
  const line =
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .pop() ?? '';
  return line.length > REASON_LINE_CHARS ? `${line.slice(0, REASON_LINE_CHARS)}…` : line;
}

/** One line: why the command `name` failed, e.g. `verify command "test" exited 1: 2 tests failed`. */
function failureReason(name: string, r: CommandResult, timeoutMs: number): string {
  const why = lastLine(r.stderrTail) || lastLine(r.stdoutTail);
  const how = r.timedOut
    ? `timed out after ${timeoutMs / 1000} s`
    : r.exitCode !== null
      ? `exited ${r.exitCode}`
      : r.signal !== null
        ? `was killed by ${r.signal}`
        : 'could not start';
  return `verify command "${name}" ${how}${why ? `: ${why}` : ''}`;
}

/** Whether a change may be published after its verification; when not, why (one line). */
export type Publishable = { ok: true } | { ok: false; reason: string };

/**
 * Whether an allowed change may become a pull request after its verification:
 * - 'failed': no, with the report's reason;
 * - 'not-configured' (no verify commands): no when `computedRisk` is {@link VERIFY_REQUIRED_FROM_RISK} or more, or
 *   unknown (null), unless `optional` (config `verify.optional`): reason {@link VERIFY_NOT_CONFIGURED_REASON};
 *   yes otherwise (the pull request must then say that it was not verified);
 * - 'passed': yes.
 */
export function publishableAfterVerify(input: {
  verify: VerifyReport;
  /** The risk the rails computed for the change (0..5); null when they computed none. */
  computedRisk: number | null;
  /** Config `verify.optional`. */
  optional: boolean;
}): Publishable {
  const { verify, computedRisk, optional } = input;
  if (verify.status === 'failed') return { ok: false, reason: verify.reason ?? 'verify failed' };
  if (verify.status === 'not-configured' && !optional) {
    if (computedRisk === null || computedRisk >= VERIFY_REQUIRED_FROM_RISK) {
      return { ok: false, reason: VERIFY_NOT_CONFIGURED_REASON };
    }
  }
  return { ok: true };
}
