/**
 * Reflection signals from the repository's own checks: configured commands (e.g. `npm test`,
 * `npm run lint`) run one after another in ONE scratch work tree of the base commit (src/sandbox/workspace.ts),
 * each with its timeout, in the run's sandbox (when it has one) and an environment without secrets. A failing
 * or hanging check becomes a signal with its output tail.
 */
import { lstat, realpath, symlink } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { createWorkspace as realCreateWorkspace, type Workspace } from '../sandbox/workspace.js';
import {
  commandLogEntry,
  runCommand as realRunCommand,
  scrubEnv,
  tailBytes,
  type CommandLogEntry,
  type CommandResult,
  type RunCommandOptions,
  type SandboxPlan,
} from '../sandbox/runner.js';
import { maskSecrets, redactTokens, secretEnvValues } from '../secrets.js';

/** Bytes of combined output kept per check (the end of it): 2 KiB. */
export const CHECK_OUTPUT_TAIL_BYTES = 2048;

/** The config of the checks (defined in config/schema.ts, where the config's single schema lives). */
export { RepositoryCheckSchema, RepositoryChecksSchema, type RepositoryCheck } from '../config/schema.js';

/** The result of one check. */
export interface CheckSignal {
  /** Name of the check, as configured. */
  name: string;
  /** The command, as configured (secrets masked, should one have been written into it). */
  command: string;
  /** Exit code of the shell; null when killed by a signal (e.g. at the timeout) or not started. */
  exitCode: number | null;
  /** True when the check ran longer than its timeout and was killed. */
  timedOut: boolean;
  /** Wall time, ms. */
  durationMs: number;
  /** exitCode 0 and not timed out. */
  passed: boolean;
  /**
   * The last {@link CHECK_OUTPUT_TAIL_BYTES} bytes of stdout and stderr combined (interleaved as written),
   * with secrets masked as `***`.
   */
  outputTail: string;
}

/** What {@link runRepositoryChecks} reaches the outside world through; every member is optional. */
export interface RepositoryChecksDeps {
  /** The environment to scrub and pass on (default: process.env; run.ts should pass the one of its Options). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Names kept even though they look like secrets (see scrubEnv). */
  passEnv?: readonly string[];
  /** More values to mask in the output (e.g. the GitHub token, the database URL). */
  secrets?: readonly string[];
  /**
   * Untracked paths of `repoDir` (relative, e.g. "node_modules") made visible in the worktree as symbolic
   * links, so `npm test` finds installed dependencies. Only paths that exist in `repoDir` and not in the
   * worktree are linked. Default none. In a sandbox the linked paths are read-only; without one a check can
   * write through a link into `repoDir`.
   */
  linkPaths?: readonly string[];
  /** The sandbox the checks run in (see SandboxPlan); absent: none. */
  sandbox?: SandboxPlan;
  /** Receives one commands.jsonl entry per check run (command, cwd, exit code, duration, masked output tail). */
  onCommand?: (entry: CommandLogEntry) => void;
  /**
   * The run's interruption (RunGuard.signal): when it aborts, the running check's process group is killed and no
   * further check starts. Absent: never interrupted.
   */
  signal?: AbortSignal;
  /** Replaces runCommand (tests). */
  runCommand?: (command: string, opts: RunCommandOptions) => Promise<CommandResult>;
  /** Replaces createWorkspace (tests). */
  createWorkspace?: (repoDir: string, baseSha: string) => Promise<Workspace>;
}

/**
 * Runs each check (in the given order) with `/bin/sh -c` at the root of one scratch worktree of `baseSha`
 * (made with addWorktree, always removed, also when a check or the setup throws), with `timeoutSeconds`
 * each (the process group is killed: SIGTERM, then SIGKILL 2 s later). Checks run one after another in
 * the same worktree, so a check sees files an earlier one wrote.
 *
 * Environment: `deps.env` scrubbed by scrubEnv (no GITHUB_TOKEN, DATABASE_URL, INPUT_*, *TOKEN*, *SECRET*,
 * ... unless in `passEnv`) and without GIT_DIR / GIT_WORK_TREE / GIT_INDEX_FILE / GIT_COMMON_DIR /
 * GIT_PREFIX. Output: stderr is redirected into stdout so the tail is in the order written; the values
 * of secret-looking variables (8 characters or more; secretEnvValues), `deps.secrets`, URL credentials and GitHub-token-shaped
 * strings are masked as `***`.
 *
 * A check that fails, hangs or cannot start is a result (passed: false), never an exception. An empty
 * list returns [] without making a worktree. When `deps.signal` aborts, the running check is killed and the
 * results so far are returned (the interrupted check included, passed: false); the worktree is removed first.
 * @throws GitError when the worktree cannot be made (e.g. `baseSha` is not a commit of `repoDir`): that is
 *   not a failure of the repository's checks.
 */
export async function runRepositoryChecks(
  repoDir: string,
  baseSha: string,
  checks: readonly { name: string; command: string; timeoutSeconds: number; network?: 'on' | 'none' }[],
  deps: RepositoryChecksDeps = {},
): Promise<CheckSignal[]> {
  if (checks.length === 0) return [];
  for (const c of checks) {
    if (!(c.timeoutSeconds > 0) || !Number.isFinite(c.timeoutSeconds)) {
      throw new Error(`check "${c.name}": timeoutSeconds must be a positive number, got ${c.timeoutSeconds}`);
    }
  }
  const run = deps.runCommand ?? realRunCommand;
  const baseEnv = deps.env ?? process.env;
  const env = scrubEnv(baseEnv, deps.passEnv);
  const secrets = [
    ...(deps.secrets ?? []),
    // Secret-looking values (8+ characters), passed through or not; not plain INPUT_* (the request text).
    ...secretEnvValues(baseEnv),
  ];
  const mask = (text: string): string => redactTokens(maskSecrets(text, secrets));

  const ws = await (deps.createWorkspace ?? realCreateWorkspace)(repoDir, baseSha);
  try {
    const linked: string[] = [];
    for (const rel of deps.linkPaths ?? []) {
      const source = await linkIntoWorktree(repoDir, ws.work, rel);
      if (source !== undefined) linked.push(source);
    }
    const plan = deps.sandbox;
    env.TMPDIR = ws.tmp;
    if (plan?.tool) env.HOME = ws.home;
    const results: CheckSignal[] = [];
    for (const check of checks) {
      if (deps.signal?.aborted) break;
      const network = (check.network ?? (plan?.network === false ? 'none' : 'on')) === 'on';
      const r = await run(`exec 2>&1\n${check.command}`, {
        cwd: ws.work,
        timeoutMs: Math.round(check.timeoutSeconds * 1000),
        env: { ...env },
        ...(deps.signal ? { signal: deps.signal } : {}),
        ...(plan?.tool
          ? {
              sandbox: {
                spec: ws.spec(plan.tool, { network, hidden: plan.hidden, readOnly: linked }),
                newRoot: ws.newRoot,
              },
            }
          : {}),
      });
      deps.onCommand?.(
        commandLogEntry(
          r,
          {
            kind: 'check',
            name: check.name,
            command: check.command,
            timeoutMs: Math.round(check.timeoutSeconds * 1000),
          },
          mask,
        ),
      );
      // stderrTail holds only what the shell could not redirect (e.g. why it could not start).
      const sep = r.stdoutTail === '' || r.stdoutTail.endsWith('\n') ? '' : '\n';
      const combined = r.stderrTail === '' ? r.stdoutTail : `${r.stdoutTail}${sep}${r.stderrTail}`;
      results.push({
        name: check.name,
        command: mask(check.command),
        exitCode: r.exitCode,
        timedOut: r.timedOut,
        durationMs: r.durationMs,
        passed: r.exitCode === 0 && !r.timedOut,
        outputTail: tailBytes(mask(combined), CHECK_OUTPUT_TAIL_BYTES),
      });
    }
    return results;
  } finally {
    await ws.remove();
  }
}

/**
 * Links `repoDir/rel` into the work tree when it exists there and not in the work tree; returns the real path
 * of what was linked (the sandbox shows it read-only), else undefined.
 */
async function linkIntoWorktree(
  repoDir: string,
  worktreeDir: string,
  rel: string,
): Promise<string | undefined> {
  if (rel === '' || isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) {
    throw new Error(`linkPaths: ${JSON.stringify(rel)} must be a relative path without ".."`);
  }
  const exists = (p: string): Promise<boolean> =>
    lstat(p).then(
      () => true,
      () => false,
    );
  const source = join(repoDir, rel);
  const target = join(worktreeDir, rel);
  if (!(await exists(source)) || (await exists(target))) return undefined;
  await symlink(source, target);
  return realpath(source);
}

/** One human line per check, e.g. `check lint: failed (exit code 1, 2.3 s)` / `check test: passed (12.0 s)`. */
export function checkInsights(checks: readonly CheckSignal[]): string[] {
  return checks.map((c) => {
    const secs = `${(c.durationMs / 1000).toFixed(1)} s`;
    if (c.passed) return `check ${c.name}: passed (${secs})`;
    const how = c.timedOut
      ? 'timed out'
      : c.exitCode === null
        ? 'killed or not started'
        : `exit code ${c.exitCode}`;
    return `check ${c.name}: failed (${how}, ${secs})`;
  });
}
