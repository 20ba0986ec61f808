/**
 * The shape of one rule of the rails. A rule is a small check over (change, policy, context) that returns
 * every problem it sees; evaluate() runs every rule (no early exit) and stamps each finding with the rule's id
 * and, unless the finding says otherwise, the rule's severity. Rules are pure: no I/O, no clock, no randomness.
 */
import type { ChangeUnderReview, RailsContext, RailsPolicy, Severity, Violation } from './types.js';

/** What a rule is given. */
export interface RuleInput {
  change: ChangeUnderReview;
  policy: RailsPolicy;
  context: RailsContext;
}

/** A violation before evaluate() stamps it with its rule's id (and default severity). */
export type Finding = Omit<Violation, 'ruleId' | 'severity'> & { severity?: Severity };

/** One rule: stable kebab-case id, one-line summary, the setting that governs it, default severity, check. */
export interface Rule {
  readonly id: string;
  readonly summary: string;
  /** The config key (or keys) that governs the rule, e.g. 'safetyRails.blockedPaths'. */
  readonly setting: string;
  readonly severity: Severity;
  /** May be async (a library scan), never does I/O. */
  readonly check: (input: RuleInput) => Finding[] | Promise<Finding[]>;
}
