/**
 * Types of the pure policy engine. A change is described by facts git reported (never by parsing a diff by
 * hand); a policy is the part of the config the rails read; a verdict lists every violation found.
 */

/** What happened to one file, as `git diff --raw` reports it. */
export type FileChangeStatus = 'added' | 'modified' | 'deleted' | 'renamed' | 'copied' | 'type-changed';

/** Facts about one changed file, from `git diff --raw --numstat -z -M`. */
export interface FileChange {
  /** Path after the change (for a deletion: the deleted path). POSIX separators, relative to the repo root. */
  path: string;
  /** Path before the change, for renames and copies. */
  oldPath?: string;
  status: FileChangeStatus;
  /** Octal mode before ('000000' when added), e.g. '100644', '100755', '120000' (symlink), '160000' (submodule). */
  oldMode: string;
  /** Octal mode after ('000000' when deleted). */
  newMode: string;
  /** True when git reports the file as binary (numstat '-'); its line counts are then 0. */
  binary: boolean;
  /** Added lines, as git counts them. */
  linesAdded: number;
  /** Deleted lines, as git counts them. */
  linesDeleted: number;
}

/** All facts about a change. */
export interface ChangeFacts {
  files: FileChange[];
}

/** A proposed change as the rails see it. */
export interface ChangeUnderReview {
  /** Change type, e.g. 'cleanup' or 'wildcard' (config ChangeType). */
  type: string;
  /** Risk level 0-5 stated by the proposer. */
  riskLevel: number;
  facts: ChangeFacts;
}

/** The settings the rails read (built from config.safetyRails and config.wildcardFeature). */
export interface RailsPolicy {
  allowedPaths: readonly string[];
  blockedPaths: readonly string[];
  /** Max files changed (binary files included). */
  maxFilesChanged: number;
  /** Max added + deleted lines. */
  maxLinesOfCode: number;
  allowedChangeTypes: readonly string[];
  /** Highest allowed risk level, 0-5. */
  maxRiskLevel: number;
  wildcard: { enabled: boolean; maxRiskLevel: number; allowedTypes: readonly string[] };
}

/** One broken rule. `ruleId` is stable kebab-case (documented in docs/rails.md). */
export interface Violation {
  ruleId: string;
  /** The file concerned, when the rule is about one file. */
  path?: string;
  /** 1-based line in the new file, when the rule is about one line. */
  line?: number;
  /** What was found and which setting allows it. */
  message: string;
}

/** Size statistics of a change. */
export interface ChangeStats {
  filesChanged: number;
  linesAdded: number;
  linesDeleted: number;
  binaryFiles: number;
}

/** The outcome of evaluating one change. `allowed` is true only when `violations` is empty. */
export interface Verdict {
  allowed: boolean;
  violations: Violation[];
  stats: ChangeStats;
}
