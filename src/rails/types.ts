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
  /**
   * Bytes of content the change adds to this file: the UTF-8 bytes of its added lines, line endings included;
   * for a binary file, the size of its new content. Absent when unknown (the byte cap then counts 0 for it and
   * says so). Set by the facts gatherer (src/git/facts.ts).
   */
  bytesAdded?: number;
  /**
   * Paths of the base tree whose content equals this file's new content exactly (same blob), for an added or
   * copied file: what it was copied from. A copy's source is read, not changed: only the secret-file rule
   * judges these paths (copying a secret file's content elsewhere stays blocked). Absent or empty: none known.
   */
  copyOf?: string[];
}

/** One line a change adds, read from the patch text (for content rules: secrets, forbidden commands). */
export interface AddedLine {
  /** Path of the file in the new tree. */
  path: string;
  /** 1-based line number in the new file. */
  line: number;
  /** The line's text without the leading '+' and without the line ending. */
  text: string;
}

/**
 * All facts about a change: per-file facts from git, the added lines read from the patch text, and what the
 * rails asked for besides (see rails/needs.ts: whole files, the base tree's symlinks).
 */
export interface ChangeFacts {
  files: FileChange[];
  /** Added lines of text files (binary files have none). Absent means "not read": content rules then block. */
  addedLines?: AddedLine[];
  /**
   * The whole text of files AFTER the change, by (new) path, for the files `contentNeeds()` lists under
   * `after` (command files, files that become executable or gain a shebang, files renamed or copied, ...).
   * A listed file missing here counts as unread: the rules that needed it block (content-unread).
   */
  contents?: Readonly<Record<string, string>>;
  /**
   * The whole text of files BEFORE the change, by (old) path, for the files `contentNeeds()` lists under
   * `before` (e.g. `.gitmodules`). A listed path missing here counts as unread (or absent in the base: the
   * gatherer then leaves it out and lists it in `absentBefore`).
   */
  contentsBefore?: Readonly<Record<string, string>>;
  /** Paths `contentNeeds()` listed under `before` that do not exist in the base tree. */
  absentBefore?: readonly string[];
  /**
   * The symbolic links of the base tree: link path -> target as stored (mode 120000 blobs). Absent when
   * unknown (a patch checked without a repository). Lets the rails judge a path at the file it really names
   * (a policy file that is a link, a path under a linked directory).
   */
  baseSymlinks?: Readonly<Record<string, string>>;
  /**
   * Set when git could not apply the change to its base, with git's reason (e.g. "affected file ... is
   * beyond a symbolic link"): the rails then block (`change-unapplicable`), whatever the rest says. Facts of
   * such a change are read from the patch text alone and are not trusted.
   */
  unapplicable?: string;
}

/** A proposed change as the rails see it. */
export interface ChangeUnderReview {
  /** Change type, e.g. 'cleanup' or 'wildcard' (config ChangeType). */
  type: string;
  /** Risk level 0-5 stated by the proposer. */
  riskLevel: number;
  facts: ChangeFacts;
  /** Branch the change would be pushed to (live mode, PR gate); absent when there is none yet. */
  targetBranch?: string;
  /** For a wildcard change: what kind of change it is (one of wildcard.allowedTypes, e.g. 'prompt'). */
  wildcardOf?: string;
}

/**
 * What the rails know about the world around a change, gathered by the caller (the rails do no I/O).
 */
export interface RailsContext {
  /** Wildcard changes already allowed today for this repository, not counting this one (one a day). */
  wildcardsToday: number;
  /**
   * Explicit human override of the self-protection rule (`check --allow-policy-edits`).
   * Never lifts `policy-loosened`.
   */
  humanOverride: boolean;
  /** The repository's default branch, never a valid target branch. */
  defaultBranch?: string;
  /**
   * When the change touches the policy file: its parsed JSON before and after (null when absent or not
   * valid JSON). Lets `policy-loosened` compare the two.
   */
  policyChange?: { path: string; before: unknown; after: unknown };
}

/** A context with nothing known: no wildcard used today, no override, no default branch. */
export const EMPTY_CONTEXT: RailsContext = Object.freeze({ wildcardsToday: 0, humanOverride: false });

/**
 * How bad a violation is. `block`: the change is not allowed. `approval`: allowed only with a human's approval
 * (test changes). `warn`: reported, does not block.
 */
export type Severity = 'block' | 'approval' | 'warn';

/**
 * The deterministic risk rubric, as data: each touched path gets the risk
 * of the first matching entry (else `defaultRisk`); an executable file gets at least `executableRisk`; the
 * change's computed risk is the highest of its files plus the `size` steps it reaches, capped at 5.
 */
export interface RiskRubric {
  paths: readonly RiskRubricEntry[];
  /** Risk of a path no entry matches (source code: 2). */
  defaultRisk: number;
  /**
   * Minimum risk of a file that is (or becomes) executable (mode 100755), or whose first line is a `#!` line
   * naming a shell (a shell script by content).
   */
  executableRisk: number;
  /**
   * Extensions (lower-case, no dot) of text kinds: prose, data, templates. Entries marked `textOnly` apply
   * only to a file with one of these extensions (or none), no `#!` line and no executable mode: code under
   * prompts/ is code. Absent: every extension is text (the entries apply by path alone).
   */
  textExtensions?: readonly string[];
  /** Added to the highest file risk when the change has at least `minLines` added + deleted lines. */
  size: readonly { minLines: number; add: number }[];
}

/** One entry of the risk rubric: the files its glob matches (case-insensitive, catch mode) get `risk`. */
export interface RiskRubricEntry {
  glob: string;
  risk: number;
  label: string;
  /** The entry applies only to text kinds (RiskRubric.textExtensions): prompts and docs are text, not code. */
  textOnly?: boolean;
  /**
   * A JavaScript RegExp source (case-insensitive) that some segment of the path must match for the entry to
   * apply, e.g. `auth(?!or(?!i[sz]|it))`: `*auth*` names, but not `author.ts`.
   */
  require?: string;
}

/** A forbidden command pattern. */
export interface ForbiddenCommand {
  /** Stable id shown in messages, e.g. 'git-push'. */
  id: string;
  /** JavaScript RegExp source, matched case-insensitively against each added line. */
  pattern: string;
  description: string;
}

/**
 * Everything the rails read, built from the config (config.safetyRails, config.wildcardFeature,
 * config.prTemplateConfig) with documented defaults (rails/policy.ts). Plain data: other tools can build one.
 */
export interface RailsPolicy {
  allowedPaths: readonly string[];
  blockedPaths: readonly string[];
  /** Max files changed (binary files included). */
  maxFilesChanged: number;
  /** Max added + deleted lines. */
  maxLinesOfCode: number;
  /** Max bytes of added content (UTF-8 bytes of added lines with their line endings; binary files by size). */
  maxBytesChanged: number;
  /** Longest added line, in characters (code points); longer lines are minified/generated content. */
  maxLineLength: number;
  allowedChangeTypes: readonly string[];
  /** Highest allowed risk level, 0-5 (4-5 are never allowed whatever this says). */
  maxRiskLevel: number;
  /** The wildcard: one small change a day of one of `allowedTypes`, risk <= maxRiskLevel. */
  wildcard: { enabled: boolean; maxRiskLevel: number; allowedTypes: readonly string[]; perDay: number };
  /** Globs of the paths each change type may touch, e.g. prompt -> ['**\/prompts/**'] (for the wildcard). */
  changeTypePaths: Readonly<Record<string, readonly string[]>>;
  /** File kinds that are blocked unless allowed here. */
  fileKinds: {
    allowSymlinks: boolean;
    allowSubmodules: boolean;
    allowBinary: boolean;
    allowExecutable: boolean;
    /** `.gitattributes` files (they change how git reports a change). */
    allowGitAttributes: boolean;
    /** Added lines longer than maxLineLength. */
    allowMinified: boolean;
  };
  /** Test files: changing one needs a human's approval. */
  testPaths: readonly string[];
  /** Dependency manifests and lockfiles: blocked unless allowDependencyChanges. */
  dependencyPaths: readonly string[];
  allowDependencyChanges: boolean;
  /** Files named like secrets (.env*, *.pem, *.key, id_rsa*, credentials): blocked even when empty. */
  secretPaths: readonly string[];
  /** Paths `secretPaths` catches that are source code, not secret stores (`credentials.ts`): not secret files. */
  notSecretPaths: readonly string[];
  /**
   * Paths `secretPaths` catches that are templates (`.env.example`): judged by their values (blocked when one
   * looks like a secret) instead of by their name.
   */
  envTemplatePaths: readonly string[];
  /** High-entropy assignment detection: a quoted or bare value of at least minLength chars, minBitsPerChar. */
  secretEntropy: { minLength: number; minBitsPerChar: number };
  /** Files whose added lines are checked for forbidden commands (scripts, workflows, Dockerfiles, package.json). */
  commandPaths: readonly string[];
  forbiddenCommands: readonly ForbiddenCommand[];
  /** The policy (config) file itself, relative to the repository root. */
  policyPath: string;
  /** Paths only a human may change (policy file, rails code, workflows, PR template, CODEOWNERS). */
  selfProtectedPaths: readonly string[];
  riskRubric: RiskRubric;
  /** Branches the loop pushes to must start with this (config prTemplateConfig.branchPrefix). */
  branchPrefix: string;
  /** Never a target branch (main, master, production, deploy). */
  protectedBranches: readonly string[];
}

/** One broken rule. `ruleId` is stable kebab-case (documented in docs/rails.md). */
export interface Violation {
  ruleId: string;
  severity: Severity;
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

/**
 * The outcome of evaluating one change. `allowed` is true only when no violation has severity `block`;
 * `requiresHumanApproval` when some has severity `approval`.
 */
export interface Verdict {
  allowed: boolean;
  requiresHumanApproval: boolean;
  /** Risk 0-5 the proposer stated. */
  statedRisk: number;
  /** Risk 0-5 the rubric computed from what the change touches and its size. */
  computedRisk: number;
  /** max(stated, computed): the risk the rails judge by. */
  effectiveRisk: number;
  stats: ChangeStats;
  violations: Violation[];
}
