/**
 * Change types and the wildcard (one small,
 * reversible change a day, risk <= 1, only persona or prompt changes, off in v0). Pure.
 */
import { compileGlobs } from '../glob.js';
import type { Rule, RuleInput } from '../rule.js';
import { list, show, writtenPaths } from './common.js';
import { assessRisk, explainRisk, isTextFile } from './risk.js';

/** The change type of the wildcard. */
export const WILDCARD = 'wildcard';

/** True when the change under review is a wildcard change. */
function isWildcard(input: RuleInput): boolean {
  return input.change.type === WILDCARD;
}

/** Change types: capability, prompt, persona, cleanup, wildcard; the config may allow fewer. */
export const changeTypeNotAllowed: Rule = {
  id: 'change-type-not-allowed',
  summary:
    'The change type is not among the allowed ones (unknown types included; types are case-sensitive).',
  setting: 'safetyRails.allowedChangeTypes',
  severity: 'block',
  check: ({ change, policy }) => {
    if (typeof change.type === 'string' && policy.allowedChangeTypes.includes(change.type)) return [];
    return [
      {
        message: `change type ${show(change.type)} is not one of safetyRails.allowedChangeTypes (${list(policy.allowedChangeTypes)})`,
      },
    ];
  },
};

/** off unless wildcardFeature.enabled. */
export const wildcardDisabled: Rule = {
  id: 'wildcard-disabled',
  summary: 'A wildcard change while the wildcard feature is off.',
  setting: 'wildcardFeature.enabled',
  severity: 'block',
  check: (input) =>
    !isWildcard(input) || input.policy.wildcard.enabled === true
      ? []
      : [{ message: 'change type "wildcard" needs wildcardFeature.enabled = true; it is false' }],
};

/** effective risk <= 1. */
export const wildcardRiskAboveMax: Rule = {
  id: 'wildcard-risk-above-max',
  summary: 'A wildcard change whose effective risk, max(stated, computed), is above the wildcard maximum.',
  setting: 'wildcardFeature.maxRiskLevel',
  severity: 'block',
  check: (input) => {
    if (!isWildcard(input)) return [];
    const a = assessRisk(input);
    const max: unknown = input.policy.wildcard.maxRiskLevel;
    if (typeof max === 'number' && a.effective <= max) return [];
    return [
      {
        message: `wildcard change with ${explainRisk(a)} exceeds wildcardFeature.maxRiskLevel = ${String(max)}`,
      },
    ];
  },
};

/** wildcardOf must name one of wildcardFeature.allowedTypes. */
export const wildcardTypeNotAllowed: Rule = {
  id: 'wildcard-type-not-allowed',
  summary:
    'A wildcard change that does not say what it is (wildcardOf), or is something wildcardFeature.allowedTypes does not list.',
  setting: 'wildcardFeature.allowedTypes',
  severity: 'block',
  check: (input) => {
    if (!isWildcard(input)) return [];
    const of: unknown = input.change.wildcardOf;
    const allowed = input.policy.wildcard.allowedTypes;
    if (typeof of === 'string' && allowed.includes(of)) return [];
    const what =
      of === undefined ? 'does not say what it is (wildcardOf is missing)' : `is a ${show(of)} change`;
    return [
      {
        message: `wildcard change ${what}; wildcardFeature.allowedTypes allows ${list(allowed)}`,
      },
    ];
  },
};

/** a wildcard change touches only the paths of its kind (wildcardFeature.changeTypePaths). */
export const wildcardPathNotAllowed: Rule = {
  id: 'wildcard-path-not-allowed',
  summary:
    'A path of a wildcard change outside the globs of its kind (wildcardFeature.changeTypePaths[wildcardOf]; case-sensitive, anchored), or inside them but code, not text (an extension that is not a text kind, a #! line, an executable mode: prompts/loader.js is no prompt); a kind without globs allows no path.',
  setting: 'wildcardFeature.changeTypePaths',
  severity: 'block',
  check: (input) => {
    if (!isWildcard(input)) return [];
    const of: unknown = input.change.wildcardOf;
    if (typeof of !== 'string') return []; // wildcard-type-not-allowed blocks it
    const table = input.policy.changeTypePaths;
    const globs = Object.hasOwn(table, of) ? table[of] : undefined;
    const setting = `wildcardFeature.changeTypePaths.${of}`;
    const set = globs === undefined ? undefined : compileGlobs(globs, 'allow', setting);
    const why =
      set === undefined
        ? `wildcardFeature.changeTypePaths has no globs for ${show(of)}, so a ${show(of)} wildcard may touch no path`
        : `no ${setting} glob matches it (allowed: ${list(set.globs)})`;
    const findings = [];
    for (const t of writtenPaths(input)) {
      if (set !== undefined && set.matches(t.info)) {
        // code under prompts/ is code, not a prompt (what a file is before where it is)
        if (isTextFile(input, t)) continue;
        findings.push({
          path: t.path,
          message: `${t.label}: is code (by its extension, #! line or executable mode), not a ${show(of)}: a wildcard change may only touch text kinds (Markdown, plain text, YAML/JSON data, prompt templates) under ${setting}`,
        });
        continue;
      }
      findings.push({ path: t.path, message: `${t.label}: ${why}` });
    }
    return findings;
  },
};

/** One small, reversible, low-risk wildcard change a day: the count comes from the caller. */
export const wildcardDailyLimit: Rule = {
  id: 'wildcard-daily-limit',
  summary:
    'A wildcard change on a day that already had its wildcard changes (context.wildcardsToday >= the daily limit: one a day).',
  setting: '(none: one wildcard change a day)',
  severity: 'block',
  check: (input) => {
    if (!isWildcard(input)) return [];
    const today: unknown = input.context.wildcardsToday;
    const perDay: unknown = input.policy.wildcard.perDay;
    if (typeof today === 'number' && typeof perDay === 'number' && today < perDay) return [];
    return [
      {
        message: `${show(today)} wildcard change(s) already today; the limit is ${show(perDay)} a day (one small change a day; no setting raises it)`,
      },
    ];
  },
};

/** The change-type rules, in evaluation order. */
export const CHANGE_TYPE_RULES: readonly Rule[] = Object.freeze([
  changeTypeNotAllowed,
  wildcardDisabled,
  wildcardRiskAboveMax,
  wildcardTypeNotAllowed,
  wildcardPathNotAllowed,
  wildcardDailyLimit,
]);
