/**
 * Reflection: what the target says is going wrong, before anything is proposed. Gathers the git history
 * (recent commits, reverts, most-changed files, TODO/FIXME notes under the allowed paths), GitHub (failed
 * workflow runs, request issues, earlier self-evolution pull requests; with a token), the repository's own
 * checks (config reflection.checks, in a scratch worktree) and the human request, and ranks them into a
 * short goal list (rank.ts) for the proposers.
 */
import type { Logger } from '../deps.js';
import type { GitHubClient } from '../github/client.js';
import { headSha } from '../git/git.js';
import { describeForbidden, forbiddenCommandsIn } from '../sandbox/command-policy.js';
import type { CommandLogEntry, SandboxPlan } from '../sandbox/runner.js';
import type { ForbiddenCommand } from '../rails/types.js';
import { checkInsights, runRepositoryChecks, type RepositoryCheck } from './checks.js';
import { collectGitHistory, collectTodos, type GitHistory } from './git.js';
import { collectGitHubSignals, githubInsights } from './github.js';
import { goalsToInsights, rankSignals } from './rank.js';
import type { ReflectionResult, ReflectionSignals, RefusedCheck } from './types.js';

/** How many reverts and most-changed files the insight lines name. */
const LISTED = 3;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Human lines summarizing a git history, e.g.
 * `12 commits in the last 30 days` / `1 revert: Revert "x" (abc1234)` / `most changed: src/a.ts (5 commits)`.
 */
export function gitInsights(history: GitHistory): string[] {
  const { signals, totalCommits } = history;
  const days = plural(signals.windowDays, 'day');
  if (totalCommits === 0) return [`no commits in the last ${days}`];
  const lines = [`${plural(totalCommits, 'commit')} in the last ${days}`];
  if (signals.reverts.length > 0) {
    const named = signals.reverts.slice(0, LISTED).map((c) => `${c.subject} (${c.sha.slice(0, 7)})`);
    const more = signals.reverts.length > LISTED ? ` and ${signals.reverts.length - LISTED} more` : '';
    lines.push(`${plural(signals.reverts.length, 'revert')}: ${named.join('; ')}${more}`);
  }
  if (signals.mostChangedFiles.length > 0) {
    const named = signals.mostChangedFiles
      .slice(0, LISTED)
      .map((f) => `${f.path} (${plural(f.commits, 'commit')})`);
    lines.push(`most changed: ${named.join(', ')}`);
  }
  return lines;
}

/** What {@link reflect} reads and how. Only `repoDir` and `now` are required. */
export interface ReflectOptions {
  /** Absolute path of the target checkout. */
  repoDir: string;
  /** The run's "now" (windows end here). */
  now: Date;
  /** The commit the checks run on and the TODO notes are counted in. Default: HEAD of repoDir. */
  baseSha?: string;
  /** Window of the git history, days (config reflection.windowDays). Default 30. */
  windowDays?: number;
  /** Goals kept after ranking (config reflection.maxGoals). Default 5. */
  maxGoals?: number;
  /** The human request of the run (ranked first). */
  request?: string;
  /** Paths TODO/FIXME notes are counted under (the policy's allowed and blocked globs). None: not counted. */
  paths?: { allowed: readonly string[]; blocked: readonly string[] };
  /**
   * GitHub, when the run has a token and the repository is on GitHub; absent: not read (`skipped` says why,
   * recorded as signals.githubSkipped).
   */
  github?:
    | {
        client: GitHubClient;
        owner: string;
        repo: string;
        /** Failed-runs window, days (config reflection.githubWindowDays). Default 7. */
        windowDays?: number;
        /** Head-branch prefix of self-evolution pull requests (config prTemplateConfig.branchPrefix). */
        branchPrefix?: string;
      }
    | { skipped: string };
  /** The repository checks (config reflection.checks) and how to run them. Absent or empty: none run. */
  checks?: {
    list: readonly RepositoryCheck[];
    /** The environment to scrub and pass on (the run's). */
    env: Readonly<Record<string, string | undefined>>;
    /** Values to mask in the output (the run's token, database URL). */
    secrets: readonly string[];
    /** Forbidden commands (the policy's): a check holding one is not run. Default DEFAULT_FORBIDDEN_COMMANDS. */
    forbiddenCommands?: readonly ForbiddenCommand[];
    /** Receives one commands.jsonl entry per check, run or refused. */
    onCommand?: (entry: CommandLogEntry) => void;
    /** The sandbox the checks run in; absent: none. */
    sandbox?: SandboxPlan;
    /** The run's interruption: kills the running check and starts no other (runRepositoryChecks). */
    signal?: AbortSignal;
  };
  /** Progress (GitHub rate-limit waits, refused checks). */
  logger?: Logger;
}

/**
 * Reflects on the repository as of `options.now` and ranks what it found into goals.
 *
 * Signals (see ReflectionSignals): `git` (window `windowDays`), `todos` (when `paths` is given), `github`
 * (when `options.github` has a client; its HTTP errors are recorded in it, never thrown) or `githubSkipped`,
 * `checks` / `checksRefused` / `checksError` (when checks are configured; a check whose command the command
 * policy forbids is not run; a worktree that cannot be made is recorded, not thrown), `request`, and
 * `goals` = rankSignals(...) cut to `maxGoals`. Insights: the git lines, TODO, GitHub and check lines, the
 * request, then the goal list (goalsToInsights), newline-separated.
 *
 * Nothing returned contains the token; check output is masked (runRepositoryChecks). The caller masks the
 * whole result again with every secret of the run before storing it.
 * @throws GitError when `repoDir` is not a git repository; Error for an invalid window or `maxGoals`.
 */
export async function reflect(options: ReflectOptions): Promise<ReflectionResult> {
  const { repoDir, now } = options;
  const history = await collectGitHistory(repoDir, now, options.windowDays ?? 30);
  const signals: ReflectionSignals = { git: history.signals };
  const lines = gitInsights(history);
  const base = options.baseSha ?? 'HEAD';

  if (options.paths && options.paths.allowed.length > 0) {
    signals.todos = await collectTodos(repoDir, base, options.paths.allowed, options.paths.blocked);
    if (signals.todos.total > 0) {
      const top = signals.todos.files
        .slice(0, LISTED)
        .map((f) => `${f.path} (${f.count})`)
        .join(', ');
      lines.push(`${plural(signals.todos.total, 'TODO/FIXME line')} under the allowed paths: ${top}`);
    }
  }

  const gh = options.github;
  if (gh && 'client' in gh) {
    signals.github = await collectGitHubSignals(gh.client, {
      owner: gh.owner,
      repo: gh.repo,
      now,
      windowDays: gh.windowDays,
      branchPrefix: gh.branchPrefix,
    });
    lines.push(...githubInsights(signals.github));
  } else if (gh) {
    signals.githubSkipped = gh.skipped;
    lines.push(`GitHub not read: ${gh.skipped}`);
  }

  const checks = options.checks;
  if (checks && checks.list.length > 0) {
    const runnable: RepositoryCheck[] = [];
    const refused: RefusedCheck[] = [];
    for (const check of checks.list) {
      const hits = await forbiddenCommandsIn(check.command, checks.forbiddenCommands);
      if (hits.length === 0) {
        runnable.push(check);
        continue;
      }
      const reason = describeForbidden(hits);
      refused.push({ name: check.name, command: check.command, reason });
      checks.onCommand?.({
        kind: 'check',
        name: check.name,
        command: check.command,
        cwd: '',
        exitCode: null,
        durationMs: 0,
        timedOut: false,
        timeoutMs: 0,
        outputTail: '',
        refused: reason,
      });
      options.logger?.warn(`check ${check.name}: not run, ${reason}`);
      lines.push(`check ${check.name}: not run (${reason})`);
    }
    if (refused.length > 0) signals.checksRefused = refused;
    if (runnable.length > 0) {
      try {
        const head = options.baseSha ?? (await headSha(repoDir));
        signals.checks = await runRepositoryChecks(repoDir, head, runnable, {
          env: checks.env,
          secrets: checks.secrets,
          onCommand: checks.onCommand,
          ...(checks.sandbox ? { sandbox: checks.sandbox } : {}),
          ...(checks.signal ? { signal: checks.signal } : {}),
        });
        lines.push(...checkInsights(signals.checks));
      } catch (e) {
        signals.checksError = e instanceof Error ? e.message : String(e);
        options.logger?.warn(`repository checks could not run: ${signals.checksError}`);
        lines.push(`checks could not run: ${signals.checksError}`);
      }
    }
  }

  const request = options.request?.trim() ? options.request : undefined;
  signals.request = request ?? null;
  if (request) lines.push(`request: ${JSON.stringify(request.split('\n')[0]!.slice(0, 150))}`);

  signals.goals = rankSignals(
    {
      git: signals.git,
      github: signals.github,
      checks: signals.checks,
      todos: signals.todos,
      request,
    },
    { maxGoals: options.maxGoals ?? 5 },
  );
  lines.push(goalsToInsights(signals.goals));
  return { insights: lines.join('\n'), signals };
}
