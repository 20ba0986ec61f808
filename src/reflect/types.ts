/** Reflection: signals read from the target repository before proposing. */
import type { CheckSignal } from './checks.js';
import type { GitHubSignals } from './github.js';
import type { Goal } from './rank.js';

/** One commit as reported by git log. */
export interface CommitSignal {
  sha: string;
  /** ISO 8601 committer date. */
  date: string;
  author: string;
  subject: string;
}

/** Signals from the target's git history. */
export interface GitSignals {
  /** Commits in the window, newest first (at most 50). */
  recentCommits: CommitSignal[];
  /** Commits that revert others (subject starts with 'Revert "' or body has 'This reverts commit'). */
  reverts: CommitSignal[];
  /** Most-changed files in the window, most changes first (at most 20). */
  mostChangedFiles: { path: string; commits: number }[];
  /** Window length, days. */
  windowDays: number;
}

/** TODO / FIXME notes in the base commit, counted in files under the allowed paths. */
export interface TodoSignals {
  /** Lines holding the word TODO or FIXME, summed over the files counted. */
  total: number;
  /** Files with the most such lines, most first (at most 20). */
  files: { path: string; count: number }[];
}

/** A reflection check that was not run because the command policy forbids its command. */
export interface RefusedCheck {
  name: string;
  /** The command (secrets masked). */
  command: string;
  /** Which forbidden command it holds, e.g. "git-push: git push ...". */
  reason: string;
}

/**
 * Every signal of one reflection (stored as self_evolution_reflections.signals JSONB and in reflection.json;
 * secrets are masked before either is written). Only `git` is always there; the rest is absent when it
 * was not gathered (e.g. `github` without a token; then `githubSkipped` says why).
 */
export interface ReflectionSignals {
  git: GitSignals;
  /** TODO / FIXME counts under the allowed paths. */
  todos?: TodoSignals;
  /** What GitHub said (failed runs, request issues, earlier pull requests); see reflect/github.ts. */
  github?: GitHubSignals;
  /** Why GitHub was not read (no token, not a GitHub repository), when it was not. */
  githubSkipped?: string;
  /** Results of the configured repository checks (config reflection.checks), in config order. */
  checks?: CheckSignal[];
  /** Checks not run because the command policy forbids them. */
  checksRefused?: RefusedCheck[];
  /** Why the checks could not run at all (e.g. the scratch worktree could not be made). */
  checksError?: string;
  /** The human request of the run (workflow_dispatch input `request`, CLI --request), or null. */
  request?: string | null;
  /** The ranked goals the proposers get, most important first (reflect/rank.ts). */
  goals?: Goal[];
}

/** The reflection of one run: stored in self_evolution_reflections and reflection.json. */
export interface ReflectionResult {
  /** Short human-readable observations, one per line. */
  insights: string;
  signals: ReflectionSignals;
}

/** The ranked goals of a reflection ([] when it has none). */
export function goalsOf(reflection: ReflectionResult | null | undefined): Goal[] {
  return reflection?.signals?.goals ?? [];
}
