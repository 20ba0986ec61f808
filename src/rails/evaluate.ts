/**
 * The safety rails of seed 004 as a PURE function: a change (facts git reported) and a policy in, a verdict
 * out. No I/O, no clock, no randomness: the same input always gives the same verdict, so other tools (a PR
 * gate, an editor) can call it too.
 *
 * Every rule runs (no early exit) and every violation is kept, each with the rule's stable kebab-case id and,
 * where it has one, the path. A rule is a small function `(change, policy) => Finding[]` in RULES; evaluate()
 * stamps each finding with its rule's id, so only ids listed in RULES can come out. To add a rule, append one
 * to RULES and a row to docs/rails.md (a test keeps the two in step).
 */
import { Minimatch, type MinimatchOptions } from 'minimatch';
import type { ChangeStats, ChangeUnderReview, FileChange, RailsPolicy, Verdict, Violation } from './types.js';

/** A violation before evaluate() stamps it with its rule's id. */
export type Finding = Omit<Violation, 'ruleId'>;

/** What a rule does: every problem it sees in `change` under `policy`, or [] when there is none. Pure. */
export type RuleCheck = (change: ChangeUnderReview, policy: RailsPolicy) => Finding[];

/** One rule: stable kebab-case `id`, a one-line `summary`, the config `setting` that governs it, its check. */
export interface Rule {
  readonly id: string;
  readonly summary: string;
  readonly setting: string;
  readonly check: RuleCheck;
}

/** Risk levels of seed 004: integers 0-5 (0-1 low, 2-3 medium, 4-5 high). */
const RISK_MIN = 0;
const RISK_MAX = 5;

/**
 * minimatch options: `dot` so `.env*` and `**` see dot files; Linux semantics on every platform (git paths
 * always use `/`), so a verdict does not depend on the machine.
 */
const ALLOW_OPTIONS: MinimatchOptions = { dot: true, platform: 'linux' };
/**
 * Blocked globs match more: case-insensitively (`.ENV` is caught by `.env*`: case-insensitive file systems
 * and tools would treat them alike), and a glob without `/` matches the base name at any depth (`.env*`
 * catches `apps/bot/.env.local`, `pnpm-lock.yaml` a nested lockfile), as in .gitignore.
 */
const BLOCK_OPTIONS: MinimatchOptions = { ...ALLOW_OPTIONS, nocase: true, matchBase: true };

/** A path a change touches, with how to name it in messages (a rename's source says where it went). */
interface TouchedPath {
  path: string;
  label: string;
}

/** Every path a change touches, each once: each file's path, and for renames and copies the old path too. */
function touchedPaths(change: ChangeUnderReview): TouchedPath[] {
  const seen = new Set<string>();
  const out: TouchedPath[] = [];
  const add = (path: string, label: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    out.push({ path, label });
  };
  for (const file of change.facts.files) {
    add(file.path, file.path);
    if (file.oldPath !== undefined && file.oldPath !== file.path) {
      add(
        file.oldPath,
        `${file.oldPath} (${file.status === 'copied' ? 'copied' : 'renamed'} to ${file.path})`,
      );
    }
  }
  return out;
}

/** The first glob of `globs` that matches `path` with `options`, or undefined. */
function firstMatch(path: string, globs: readonly string[], options: MinimatchOptions): string | undefined {
  return globs.find((glob) => new Minimatch(glob, options).match(path));
}

/** `a, b, c` (at most `max`, then "and N more"), or `(none)`. */
function list(values: readonly string[], max = 6): string {
  if (values.length === 0) return '(none)';
  const shown = values.slice(0, max).join(', ');
  return values.length > max ? `${shown} and ${values.length - max} more` : shown;
}

/** A value as written, for messages: strings quoted, everything else as JSON or String(). */
function show(value: unknown): string {
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** True when `n` is a usable line count: a whole number >= 0. */
function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Lines a file adds plus deletes, counting a bad (not whole, negative) count as 0. */
function linesOf(file: FileChange): number {
  return (
    (isCount(file.linesAdded) ? file.linesAdded : 0) + (isCount(file.linesDeleted) ? file.linesDeleted : 0)
  );
}

/**
 * Size statistics of a change: files changed (binary included; a rename is one file), added and deleted lines
 * as git counted them (a count that is not a whole number >= 0 adds 0; diff-max-lines reports it) and binary
 * files.
 */
export function changeStats(change: ChangeUnderReview): ChangeStats {
  const files = change.facts.files;
  return {
    filesChanged: files.length,
    linesAdded: files.reduce((sum, f) => sum + (isCount(f.linesAdded) ? f.linesAdded : 0), 0),
    linesDeleted: files.reduce((sum, f) => sum + (isCount(f.linesDeleted) ? f.linesDeleted : 0), 0),
    binaryFiles: files.filter((f) => f.binary).length,
  };
}

// ---- the rules -------------------------------------------------------------------------------------------

/** seed 004 "Blocked Paths": never change these; blocked wins over allowed. */
const pathBlocked: RuleCheck = (change, policy) =>
  touchedPaths(change).flatMap(({ path, label }) => {
    const glob = firstMatch(path, policy.blockedPaths, BLOCK_OPTIONS);
    if (glob === undefined) return [];
    return [
      {
        path,
        message: `${label}: matches safetyRails.blockedPaths glob ${show(glob)}; blocked paths are never changed, even when an allowedPaths glob matches`,
      },
    ];
  });

/** seed 004 "Allowed Paths": a path no allow-glob matches is blocked. */
const pathNotAllowed: RuleCheck = (change, policy) =>
  touchedPaths(change).flatMap(({ path, label }) => {
    if (firstMatch(path, policy.allowedPaths, ALLOW_OPTIONS) !== undefined) return [];
    return [
      {
        path,
        message: `${label}: no safetyRails.allowedPaths glob matches it (allowed: ${list(policy.allowedPaths)})`,
      },
    ];
  });

/** seed 004 "Diff Caps": at most 10 files per change by default; binary files count. */
const diffMaxFiles: RuleCheck = (change, policy) => {
  const { filesChanged, binaryFiles } = changeStats(change);
  if (filesChanged <= policy.maxFilesChanged) return [];
  return [
    {
      message: `${filesChanged} files changed (${binaryFiles} binary) exceeds safetyRails.diffCaps.maxFilesChanged = ${policy.maxFilesChanged}`,
    },
  ];
};

/** seed 004 "Diff Caps": at most 500 added + deleted lines by default, as git counts them. */
const diffMaxLines: RuleCheck = (change, policy) => {
  const findings: Finding[] = [];
  for (const file of change.facts.files) {
    if (!isCount(file.linesAdded) || !isCount(file.linesDeleted)) {
      findings.push({
        path: file.path,
        message: `${file.path}: line counts added ${show(file.linesAdded)} / deleted ${show(file.linesDeleted)} are not whole numbers >= 0, so safetyRails.diffCaps.maxLinesOfCode cannot be checked`,
      });
    }
  }
  const { linesAdded, linesDeleted } = changeStats(change);
  const total = linesAdded + linesDeleted;
  if (total > policy.maxLinesOfCode) {
    const files = change.facts.files;
    const largest = [...files]
      .filter((f) => linesOf(f) > 0)
      .sort((a, b) => linesOf(b) - linesOf(a) || (a.path < b.path ? -1 : 1))
      .slice(0, 3)
      .map((f) => `${f.path} ${linesOf(f)}`);
    const where = files.length === 1 ? `${files[0]!.path}: ` : '';
    const detail = files.length > 1 && largest.length ? `; largest: ${largest.join(', ')}` : '';
    findings.push({
      ...(files.length === 1 ? { path: files[0]!.path } : {}),
      message: `${where}${total} lines changed (added ${linesAdded} + deleted ${linesDeleted}) exceeds safetyRails.diffCaps.maxLinesOfCode = ${policy.maxLinesOfCode}${detail}`,
    });
  }
  return findings;
};

/** seed 004 "Risk Levels": risk is an integer 0-5. */
const riskInvalid: RuleCheck = (change) => {
  const risk: unknown = change.riskLevel;
  if (typeof risk === 'number' && Number.isInteger(risk) && risk >= RISK_MIN && risk <= RISK_MAX) return [];
  return [
    {
      message: `stated risk level ${show(risk)} is not an integer ${RISK_MIN}..${RISK_MAX} (seed 004 scale: 0-1 low, 2-3 medium, 4-5 high)`,
    },
  ];
};

/** seed 004 "Risk Levels": maximum allowed risk 2. */
const riskAboveMax: RuleCheck = (change, policy) => {
  const risk: unknown = change.riskLevel;
  if (typeof risk !== 'number' || !(risk > policy.maxRiskLevel)) return [];
  return [{ message: `stated risk level ${risk} exceeds safetyRails.maxRiskLevel = ${policy.maxRiskLevel}` }];
};

/** seed 004 proposals.type: capability, prompt, persona, cleanup, wildcard; the config may allow fewer. */
const changeTypeNotAllowed: RuleCheck = (change, policy) => {
  if (policy.allowedChangeTypes.includes(change.type)) return [];
  return [
    {
      message: `change type ${show(change.type)} is not one of safetyRails.allowedChangeTypes (${list(policy.allowedChangeTypes)})`,
    },
  ];
};

/** seed 004 "Wildcard Feature": off unless wildcardFeature.enabled. */
const wildcardDisabled: RuleCheck = (change, policy) => {
  if (change.type !== 'wildcard' || policy.wildcard.enabled) return [];
  return [{ message: 'change type "wildcard" needs wildcardFeature.enabled = true; it is false' }];
};

/** seed 004 "Wildcard Feature": risk level <= 1. */
const wildcardRiskAboveMax: RuleCheck = (change, policy) => {
  const risk: unknown = change.riskLevel;
  if (change.type !== 'wildcard' || typeof risk !== 'number' || !(risk > policy.wildcard.maxRiskLevel))
    return [];
  return [
    {
      message: `wildcard change with stated risk level ${risk} exceeds wildcardFeature.maxRiskLevel = ${policy.wildcard.maxRiskLevel}`,
    },
  ];
};

/** A change without files has nothing a human could review. */
const changeEmpty: RuleCheck = (change) =>
  change.facts.files.length > 0
    ? []
    : [
        {
          message:
            'the change touches no files: there is nothing to review (a change must change at least one file)',
        },
      ];

/**
 * Every rule, in the order evaluate() runs them and docs/rails.md lists them. Ids are stable: stored with
 * each proposal's violations, so never rename one (add a new id instead).
 */
export const RULES: readonly Rule[] = Object.freeze([
  {
    id: 'path-blocked',
    summary:
      'A changed path (either side of a rename or copy) matches a blocked glob; case-insensitive, and a glob without "/" matches the file name at any depth. Blocked wins over allowed.',
    setting: 'safetyRails.blockedPaths',
    check: pathBlocked,
  },
  {
    id: 'path-not-allowed',
    summary: 'A changed path (either side of a rename or copy) that no allowed glob matches.',
    setting: 'safetyRails.allowedPaths',
    check: pathNotAllowed,
  },
  {
    id: 'diff-max-files',
    summary: 'More files changed than allowed (binary files count; a rename is one file).',
    setting: 'safetyRails.diffCaps.maxFilesChanged',
    check: diffMaxFiles,
  },
  {
    id: 'diff-max-lines',
    summary:
      'More added + deleted lines than allowed, as git counts them; also a file whose line counts are not whole numbers >= 0.',
    setting: 'safetyRails.diffCaps.maxLinesOfCode',
    check: diffMaxLines,
  },
  {
    id: 'risk-invalid',
    summary: 'The stated risk level is not an integer 0..5.',
    setting: '(none: the seed 004 risk scale 0..5)',
    check: riskInvalid,
  },
  {
    id: 'risk-above-max',
    summary: 'The stated risk level is above the maximum.',
    setting: 'safetyRails.maxRiskLevel',
    check: riskAboveMax,
  },
  {
    id: 'change-type-not-allowed',
    summary: 'The change type is not among the allowed ones (unknown types included).',
    setting: 'safetyRails.allowedChangeTypes',
    check: changeTypeNotAllowed,
  },
  {
    id: 'wildcard-disabled',
    summary: 'A wildcard change while the wildcard feature is off.',
    setting: 'wildcardFeature.enabled',
    check: wildcardDisabled,
  },
  {
    id: 'wildcard-risk-above-max',
    summary: 'A wildcard change whose stated risk level is above the wildcard maximum.',
    setting: 'wildcardFeature.maxRiskLevel',
    check: wildcardRiskAboveMax,
  },
  {
    id: 'change-empty',
    summary: 'The change touches no files: there is nothing to review.',
    setting: '(none: always on)',
    check: changeEmpty,
  },
] satisfies Rule[]);

/**
 * Judges one change: runs every rule of RULES (no early exit) and keeps every violation, in rule order, each
 * stamped with its rule's id. `allowed` is true only when there is none. Pure.
 */
export function evaluate(change: ChangeUnderReview, policy: RailsPolicy): Verdict {
  const violations: Violation[] = RULES.flatMap((rule) =>
    rule.check(change, policy).map((finding) => ({ ruleId: rule.id, ...finding })),
  );
  return { allowed: violations.length === 0, violations, stats: changeStats(change) };
}
