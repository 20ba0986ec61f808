/**
 * The public API of the rails: a pure policy engine other tools (the `check` command, the PR gate, an editor)
 * import. `evaluate(change, policy, context)` judges one change; `policyFromConfig(config)` builds the policy
 * from a validated config; RULES lists every rule with its id, summary, setting and severity (docs/rails.md).
 */
/** The engine: evaluate() with every rule, evaluateWith() with given rules, the rule registry. */
export { evaluate, evaluateWith, RULES, RULE_ERROR_ID, changeStats } from './evaluate.js';
/** The policy: built from a validated config, and the documented defaults (frozen). */
export {
  policyFromConfig,
  DEFAULT_POLICY_PATH,
  DEFAULT_SELF_PROTECTED_PATHS,
  SELF_PROTECTED,
  SELF_HOSTED_PROTECTED,
  SELF_HOSTED_PROTECTED_PATHS,
  protectedBecause,
  type ProtectedPath,
  DEFAULT_TEST_PATHS,
  DEFAULT_DEPENDENCY_PATHS,
  DEFAULT_CHANGE_TYPE_PATHS,
  DEFAULT_FILE_KINDS,
  DEFAULT_SECRET_PATHS,
  DEFAULT_NOT_SECRET_PATHS,
  DEFAULT_ENV_TEMPLATE_PATHS,
  DEFAULT_SECRET_ENTROPY,
  DEFAULT_COMMAND_PATHS,
  DEFAULT_FORBIDDEN_COMMANDS,
  DEFAULT_RISK_RUBRIC,
  PROTECTED_BRANCHES,
  WILDCARD_PER_DAY,
  type PolicyOptions,
} from './policy.js';
/** Risk: the rubric's assessment of a change (computed, stated, effective, which files raised it). */
export { assessRisk, explainRisk, isRiskLevel, HIGH_RISK, RISK_MAX, RISK_MIN } from './rules/risk.js';
export type { RiskAssessment, RiskReason } from './rules/risk.js';
/** Helpers for rules and tools: the paths a change touches, text safe for messages, git mode kinds. */
export {
  touchedPaths,
  writtenPaths,
  readPaths,
  namedPaths,
  printable,
  type TouchedPath,
} from './rules/common.js';
/** Whether a change touches the policy file under any name (for callers that must then give its contents). */
export { touchesPolicyFile } from './rules/self-protection.js';
/** Paths through the base tree's symbolic links. */
export {
  resolvePath,
  indexLinks,
  aliasesOf,
  MAX_LINK_HOPS,
  type LinkLookup,
  type LinkIndex,
  type Resolution,
} from './links.js';
/** Unicode in paths: hidden characters, case folding, look-alike keys. */
export { HIDDEN_CHARACTER, fold, skeleton, lookalike, sameName } from './unicode.js';
export { modeKind, type ModeKind } from './rules/kinds.js';
/** What the rails need read besides the facts (whole files, before and after), for the facts gatherer. */
export { contentNeeds, type ContentNeeds } from './needs.js';
/** Glob matching with minimatch semantics, compiled once per list. */
export {
  compileGlobs,
  pathInfo,
  GlobError,
  GLOB_OPTIONS,
  type GlobMode,
  type GlobSet,
  type PathInfo,
} from './glob.js';
/** The shapes of rules, changes, policies and verdicts. */
export type { Finding, Rule, RuleInput } from './rule.js';
export { EMPTY_CONTEXT } from './types.js';
export type {
  AddedLine,
  ChangeFacts,
  ChangeStats,
  ChangeUnderReview,
  FileChange,
  FileChangeStatus,
  ForbiddenCommand,
  RailsContext,
  RailsPolicy,
  RiskRubric,
  RiskRubricEntry,
  Severity,
  Verdict,
  Violation,
} from './types.js';
