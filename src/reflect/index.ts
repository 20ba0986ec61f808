/** Reflection: what the target's recent history says, before anything is proposed. */
import { collectGitHistory, type GitHistory } from './git.js';
import type { ReflectionResult } from './types.js';

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

/**
 * Reflects on the repository at `repoDir` as of `now`: git signals of the last `windowDays` days (default
 * 30) and a few insight lines (newline-separated) describing them.
 * @throws GitError when `repoDir` is not a git repository.
 */
export async function reflect(repoDir: string, now: Date, windowDays = 30): Promise<ReflectionResult> {
  const history = await collectGitHistory(repoDir, now, windowDays);
  return { insights: gitInsights(history).join('\n'), signals: { git: history.signals } };
}
