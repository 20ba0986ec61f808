/**
 * The safety rails as a PURE function: a change (facts git reported), a policy and a context in, a
 * verdict out. No I/O, no clock, no randomness: the same input always gives the same verdict, so other tools
 * (the `check` command, a PR gate, an editor) can call it too.
 *
 * - Every rule of RULES runs; nothing stops at the first violation. Each finding is stamped with its rule's
 *   stable kebab-case id and severity (block | approval | warn).
 * - `allowed` is true when no violation has severity `block` (blocked wins); `requiresHumanApproval` when some
 *   has severity `approval` (test changes).
 * - Risk: computedRisk from the policy's rubric, effectiveRisk = max(stated, computed), a stated risk that is
 *   not an integer 0..5 counting as 5 (rules/risk.ts).
 * - When in doubt the engine blocks: a rule that throws (or rejects, or returns something that is not a list)
 *   becomes a `rule-error` violation naming the rule, severity block; evaluate() itself never throws or
 *   rejects.
 * - Violations come in rule order, then path order (change-level ones first), then line order.
 *
 * To add a rule: write it in rules/, add it to RULES below and a row to docs/rails.md (a test keeps the two in
 * step). Rule ids are stored with each proposal: never rename one.
 */
import type { Finding, Rule, RuleInput } from './rule.js';
import { BRANCH_RULES } from './rules/branch.js';
import { CHANGE_TYPE_RULES } from './rules/change-type.js';
import { COMMAND_RULES } from './rules/commands.js';
import { changeStats, printable, show } from './rules/common.js';
import { KIND_RULES } from './rules/kinds.js';
import { PATH_RULES } from './rules/paths.js';
import { assessRisk, RISK_MAX, RISK_RULES } from './rules/risk.js';
import { SECRET_RULES } from './rules/secrets.js';
import { SELF_PROTECTION_RULES } from './rules/self-protection.js';
import { SIZE_RULES } from './rules/size.js';
import { TEST_DEP_RULES } from './rules/tests-deps.js';
import type { ChangeUnderReview, RailsContext, RailsPolicy, Severity, Verdict, Violation } from './types.js';

export { changeStats } from './rules/common.js';

/** Id of the violation a failing rule becomes (and of its RULES entry, for docs and SARIF rule lists). */
export const RULE_ERROR_ID = 'rule-error';

/**
 * The engine's own entry: evaluate() reports `rule-error` when a rule throws, rejects or returns something
 * that is not a list of findings. Its check finds nothing by itself.
 */
const ruleError: Rule = {
  id: RULE_ERROR_ID,
  summary:
    'A rule threw, rejected or returned something that is not a list of findings (odd input, a bad policy value such as an invalid glob, or a bug): when in doubt the engine blocks. The message names the rule.',
  setting: '(none: always on)',
  severity: 'block',
  check: () => [],
};

/**
 * Every rule, in the order evaluate() runs them and reports their violations, grouped by what they guard:
 * paths 1-2, file kinds 3, size 4, risk 5, change types and the wildcard 6, secrets 7, forbidden commands 8,
 * self-protection 9, tests and dependencies 10, branches 11; then `rule-error`. Ids are stable kebab-case.
 */
export const RULES: readonly Rule[] = Object.freeze([
  ...PATH_RULES,
  ...KIND_RULES,
  ...SIZE_RULES,
  ...RISK_RULES,
  ...CHANGE_TYPE_RULES,
  ...SECRET_RULES,
  ...COMMAND_RULES,
  ...SELF_PROTECTION_RULES,
  ...TEST_DEP_RULES,
  ...BRANCH_RULES,
  ruleError,
]);

const SEVERITIES: readonly Severity[] = ['block', 'approval', 'warn'];

function isSeverity(s: unknown): s is Severity {
  return typeof s === 'string' && (SEVERITIES as readonly string[]).includes(s);
}

/** A thrown value as one line of text. */
function describeError(err: unknown): string {
  let text: string;
  try {
    text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } catch {
    text = 'an unprintable value';
  }
  text = printable(text.replace(/\s+/g, ' ').trim());
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/** The rule-error violation for `rule`. */
function ruleErrorViolation(ruleId: string, what: string): Violation {
  return {
    ruleId: RULE_ERROR_ID,
    severity: 'block',
    message: `rule ${printable(String(ruleId))} ${what}; when in doubt the engine blocks (fix the input or the policy, or report the bug)`,
  };
}

/** A finding stamped with its rule's id and severity, fields in a fixed order (deep-equal verdicts). */
function stamp(rule: Rule, finding: Finding): Violation {
  const severity = isSeverity(finding.severity)
    ? finding.severity
    : isSeverity(rule.severity)
      ? rule.severity
      : 'block';
  const v: Violation = { ruleId: rule.id, severity, message: '' };
  if (typeof finding.path === 'string') v.path = finding.path;
  if (typeof finding.line === 'number' && Number.isSafeInteger(finding.line) && finding.line >= 1) {
    v.line = finding.line;
  }
  v.message = typeof finding.message === 'string' ? finding.message : String(finding.message);
  return v;
}

/** Order within one rule: change-level first, then by path (code unit order), then by line; stable. */
function compareViolations(a: Violation, b: Violation): number {
  if (a.path !== b.path) {
    if (a.path === undefined) return -1;
    if (b.path === undefined) return 1;
    return a.path < b.path ? -1 : 1;
  }
  return (a.line ?? 0) - (b.line ?? 0);
}

/** Sorts one rule's violations in place, skipping the sort when they already are in order (the usual case). */
function sortViolations(vs: Violation[]): void {
  for (let i = 1; i < vs.length; i++) {
    if (compareViolations(vs[i - 1]!, vs[i]!) > 0) {
      vs.sort(compareViolations);
      return;
    }
  }
}

/** One rule's violations, never throwing: a failure becomes a `rule-error` violation. */
async function runRule(rule: Rule, input: RuleInput): Promise<Violation[]> {
  let ruleId = '(unnamed rule)';
  try {
    ruleId = typeof rule?.id === 'string' ? rule.id : ruleId;
    const findings: unknown = await rule.check(input);
    if (!Array.isArray(findings)) {
      return [ruleErrorViolation(ruleId, `returned ${show(findings)} instead of a list of findings`)];
    }
    const out: Violation[] = [];
    for (const f of findings as unknown[]) {
      if (f === null || typeof f !== 'object') {
        return [ruleErrorViolation(ruleId, `returned the finding ${show(f)}, which is not an object`)];
      }
      out.push(stamp(rule, f as Finding));
    }
    sortViolations(out);
    return out;
  } catch (err) {
    return [ruleErrorViolation(ruleId, `failed: ${describeError(err)}`)];
  }
}

/**
 * Judges `change` with the given `rules` (evaluate() passes RULES; tests and tools may pass others): runs every
 * rule in order (no early exit), stamps and orders the violations, computes the risks and stats. Never throws
 * or rejects: a failing rule becomes `rule-error`; a failing risk computation counts as computed risk 5.
 */
export async function evaluateWith(
  rules: readonly Rule[],
  change: ChangeUnderReview,
  policy: RailsPolicy,
  context: RailsContext,
): Promise<Verdict> {
  const input: RuleInput = { change, policy, context };
  const violations: Violation[] = [];
  const list: readonly Rule[] = Array.isArray(rules) ? rules : [];
  if (list !== rules) violations.push(ruleErrorViolation('(rules)', 'list is not an array'));
  for (const rule of list) {
    for (const v of await runRule(rule, input)) violations.push(v);
  }
  let statedRisk = RISK_MAX;
  let computedRisk = RISK_MAX;
  try {
    const a = assessRisk(input);
    statedRisk = a.stated;
    computedRisk = a.computed;
  } catch {
    // A malformed rubric or change: the risk rules report it as rule-error; the verdict counts the worst.
    const stated: unknown = (change as Partial<ChangeUnderReview> | null | undefined)?.riskLevel;
    if (typeof stated === 'number' && Number.isInteger(stated) && stated >= 0 && stated <= RISK_MAX) {
      statedRisk = stated;
    }
  }
  return {
    allowed: !violations.some((v) => v.severity === 'block'),
    requiresHumanApproval: violations.some((v) => v.severity === 'approval'),
    statedRisk,
    computedRisk,
    effectiveRisk: Math.max(statedRisk, computedRisk),
    stats: changeStats(change),
    violations,
  };
}

/**
 * Judges one change under `policy` in `context` with every rule of RULES. Async because content rules may
 * use asynchronous libraries (secretlint); pure all the same (no I/O, no clock). Never rejects.
 */
export function evaluate(
  change: ChangeUnderReview,
  policy: RailsPolicy,
  context: RailsContext,
): Promise<Verdict> {
  return evaluateWith(RULES, change, policy, context);
}
