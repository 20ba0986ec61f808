/**
 * Branches (changes happen on a new branch, prTemplateConfig.branchPrefix followed by a topic,
 * never on main, master, production or deploy). Only checked when the change names a target branch
 * (live mode, the PR gate). Pure.
 */
import type { Rule } from '../rule.js';
import { PROTECTED_BRANCHES } from '../policy.js';
import { list, show } from './common.js';

/** The branch name without a leading `refs/heads/`. */
function shortName(branch: string): string {
  return branch.startsWith('refs/heads/') ? branch.slice('refs/heads/'.length) : branch;
}

/** The target branch must start with prTemplateConfig.branchPrefix (compared after `refs/heads/`). */
export const branchPrefix: Rule = {
  id: 'branch-prefix',
  summary:
    'The target branch does not start with the branch prefix (checked only when there is a target branch).',
  setting: 'prTemplateConfig.branchPrefix',
  severity: 'block',
  check: ({ change, policy }) => {
    const branch: unknown = change.targetBranch;
    if (branch === undefined) return [];
    const prefix: unknown = policy.branchPrefix;
    if (typeof branch !== 'string' || typeof prefix !== 'string' || prefix === '') {
      return [
        {
          message: `target branch ${show(branch)} or prTemplateConfig.branchPrefix ${show(prefix)} is not a non-empty string`,
        },
      ];
    }
    const name = shortName(branch);
    if (name.startsWith(prefix) && name.length > prefix.length) return [];
    return [
      {
        message: `target branch ${show(branch)} does not start with prTemplateConfig.branchPrefix ${show(prefix)} followed by a topic (every change happens on its own branch)`,
      },
    ];
  },
};

/** Never main/master/production/deploy, a policy-protected branch, or the repository's default branch. */
export const branchProtected: Rule = {
  id: 'branch-protected',
  summary:
    "The target branch is main, master, production, deploy, another protected branch or the repository's default branch (case-insensitive).",
  setting: '(none: main, master, production, deploy and the default branch)',
  severity: 'block',
  check: ({ change, policy, context }) => {
    const branch: unknown = change.targetBranch;
    if (typeof branch !== 'string') return []; // absent: nothing to check; not a string: branch-prefix blocks
    const name = shortName(branch).toLowerCase();
    const protectedNames = [...PROTECTED_BRANCHES, ...policy.protectedBranches];
    const hit = protectedNames.find((p) => typeof p === 'string' && shortName(p).toLowerCase() === name);
    if (hit !== undefined) {
      return [
        {
          message: `target branch ${show(branch)} is protected (${list([...new Set(protectedNames)])}); the loop never writes to it`,
        },
      ];
    }
    const def: unknown = context.defaultBranch;
    if (typeof def === 'string' && shortName(def).toLowerCase() === name) {
      return [
        {
          message: `target branch ${show(branch)} is the repository's default branch; the loop never writes to it`,
        },
      ];
    }
    return [];
  },
};

/** The branch rules, in evaluation order. */
export const BRANCH_RULES: readonly Rule[] = Object.freeze([branchPrefix, branchProtected]);
