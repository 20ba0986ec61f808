/** Reflection: signals read from the target repository before proposing. */

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

/** The reflection of one run: stored in self_evolution_reflections and reflection.json. */
export interface ReflectionResult {
  /** Short human-readable observations, one per line. */
  insights: string;
  signals: { git: GitSignals };
}
