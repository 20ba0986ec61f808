/**
 * Tests and dependencies: a change to a test file needs a human's approval (the loop should not change its own
 * validation without oversight); dependency manifests and lockfiles are blocked unless allowed (no package
 * installs without explicit approval). Pure.
 */
import { compileGlobs } from '../glob.js';
import type { Finding, Rule } from '../rule.js';
import { show, touchedPaths } from './common.js';

/** a change to a test file needs a human's approval (severity `approval`, it does not block). */
export const testChangeApproval: Rule = {
  id: 'test-change-approval',
  summary:
    "A changed test file (either side of a rename, deletions too): allowed only with a human's approval.",
  setting: 'safetyRails.testPaths',
  severity: 'approval',
  check: (input) => {
    const tests = compileGlobs(input.policy.testPaths, 'catch', 'safetyRails.testPaths');
    const findings: Finding[] = [];
    for (const t of touchedPaths(input)) {
      const glob = tests.firstGlob(t.info);
      if (glob === undefined) continue;
      findings.push({
        path: t.path,
        message: `${t.label}: is a test file (safetyRails.testPaths glob ${show(glob)}); a human must approve changes to tests, so the loop cannot weaken what judges it`,
      });
    }
    return findings;
  },
};

/** manifests and lockfiles are blocked unless allowDependencyChanges. */
export const dependencyChange: Rule = {
  id: 'dependency-change',
  summary:
    'A changed dependency manifest or lockfile (package.json, lockfiles, requirements*.txt, go.mod, Cargo.toml, ... at any depth).',
  setting: 'safetyRails.allowDependencyChanges',
  severity: 'block',
  check: (input) => {
    if (input.policy.allowDependencyChanges === true) return [];
    const deps = compileGlobs(input.policy.dependencyPaths, 'catch', 'safetyRails.dependencyPaths');
    const findings: Finding[] = [];
    for (const t of touchedPaths(input)) {
      const glob = deps.firstGlob(t.info);
      if (glob === undefined) continue;
      findings.push({
        path: t.path,
        message: `${t.label}: is a dependency manifest or lockfile (safetyRails.dependencyPaths glob ${show(glob)}); set safetyRails.allowDependencyChanges to true to allow it`,
      });
    }
    return findings;
  },
};

/** The test and dependency rules, in evaluation order. */
export const TEST_DEP_RULES: readonly Rule[] = Object.freeze([testChangeApproval, dependencyChange]);
