/**
 * Risk (0-1 low, 2-3 medium, 4-5 high and never allowed, max 2 by default;
 * computed from what is touched). The rubric (policy.riskRubric, default in
 * policy.ts) computes a risk 0-5 from what each touched file is (extension, `#!` line, executable mode), where it is, and the change's size; the effective risk the rails judge by is max(stated,
 * computed), where a stated risk that is not an integer 0..5 counts as 5. Pure.
 */
import { extensionOf, isShellInterpreter, shebangInterpreter, TEXT_EXTENSIONS } from '../file-kind.js';
import { shebangLines } from '../needs.js';
import { compileGlobs, type PathInfo } from '../glob.js';
import type { Rule, RuleInput } from '../rule.js';
import type { RiskRubric, RiskRubricEntry } from '../types.js';
import { changeStats, printable, touchedPaths, type TouchedPath } from './common.js';
import { modeKind } from './kinds.js';

/** Lowest risk level (0-1 low). */
export const RISK_MIN = 0;
/** Highest risk level (4-5 high); an invalid stated risk counts as this. */
export const RISK_MAX = 5;
/** Risk levels from here up are high and never allowed ("4-5: High risk (not allowed in v0)"). */
export const HIGH_RISK = 4;

/** A file that raised the computed risk: its path, the risk the rubric gave it and why. */
export interface RiskReason {
  path: string;
  risk: number;
  /** The rubric entry's label and glob, 'default' or 'executable (mode 100755)'. */
  reason: string;
}

/** How the rails judged a change's risk. All risks are integers 0..5. */
export interface RiskAssessment {
  /** The stated risk as counted: itself when an integer 0..5, else 5 (`statedValid` false). */
  stated: number;
  statedValid: boolean;
  /** Highest file risk plus size steps, capped at 5. */
  computed: number;
  /** max(stated, computed). */
  effective: number;
  /** The highest risk of any touched file (0 when there is none). */
  fileRisk: number;
  /** What the size steps added. */
  sizeAdded: number;
  /** Added + deleted lines, as git counts them. */
  lines: number;
  /** The first (at most RAISED_BY_MAX) touched paths with risk `fileRisk` (when above 0), in change order. */
  raisedBy: RiskReason[];
  /** How many touched paths have risk `fileRisk` (when above 0). */
  raisedCount: number;
}

/** At most this many files are kept in RiskAssessment.raisedBy. */
export const RAISED_BY_MAX = 10;

/** True when `n` is an integer 0..5. */
export function isRiskLevel(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= RISK_MIN && n <= RISK_MAX;
}

/** A rubric number, checked: throws (a rule-error, which blocks) when the rubric is not integers 0..5. */
function level(value: unknown, what: string): number {
  if (!isRiskLevel(value))
    throw new TypeError(`risk rubric: ${what} is ${String(value)}, not an integer 0..5`);
  return value;
}

const ASSESSED = new WeakMap<object, RiskAssessment>();

/** The `require` pattern of a rubric entry, compiled once (throws on an invalid pattern: a rule-error). */
const REQUIRED = new WeakMap<object, RegExp>();
function requirement(entry: RiskRubricEntry): RegExp | undefined {
  if (entry.require === undefined) return undefined;
  let re = REQUIRED.get(entry);
  if (re === undefined) {
    try {
      re = new RegExp(String(entry.require), 'i');
    } catch (err) {
      throw new TypeError(
        `risk rubric: the require pattern of ${entry.glob} is not a valid RegExp (${err instanceof Error ? err.message : String(err)})`,
        { cause: err },
      );
    }
    REQUIRED.set(entry, re);
  }
  return re;
}

/** Text extensions as a set, per list (the rubric's list is frozen data: built once). */
const TEXT_SETS = new WeakMap<object, ReadonlySet<string>>();
function textSet(list: readonly string[]): ReadonlySet<string> {
  let set = TEXT_SETS.get(list);
  if (set === undefined) {
    set = new Set(list.map((e) => String(e).toLowerCase()));
    TEXT_SETS.set(list, set);
  }
  return set;
}

/** True when `path` has no extension or one of `extensions`. */
function textByName(path: string, extensions: ReadonlySet<string>): boolean {
  const ext = extensionOf(path);
  return ext === '' || extensions.has(ext);
}

/**
 * True when the touched path `t` is a text kind: its extension is one of the rubric's
 * `textExtensions` (default: TEXT_EXTENSIONS of rails/file-kind.ts) or it has none, and (for the new side) it
 * has no `#!` first line and no executable mode. Source code under prompts/ is not text.
 */
export function isTextFile(input: RuleInput, t: TouchedPath): boolean {
  const rubric: Partial<RiskRubric> | undefined = input.policy?.riskRubric;
  const extensions = textSet(Array.isArray(rubric?.textExtensions) ? rubric.textExtensions : TEXT_EXTENSIONS);
  if (!textByName(t.path, extensions)) return false;
  if (t.old) return true;
  return modeKind(t.file.newMode) !== 'executable' && !shebangLines(input.change?.facts).has(t.path);
}

/**
 * The risk of the change in `input` under `input.policy.riskRubric`. What each touched file IS comes first:
 * a file whose new mode is executable, or whose first line (an added line 1, or the given whole text) is a
 * `#!` line naming a shell, gets at least `executableRisk`; entries marked `textOnly` apply only to text kinds
 * (an extension in `textExtensions`, or none) without a `#!` line or an executable mode; an entry with a
 * `require` pattern applies only when some path segment matches it. Then each touched path (both sides of
 * renames) gets the risk of the first applicable rubric entry whose glob matches (catch mode), else
 * `defaultRisk`; the computed risk is the highest file risk plus every size step whose `minLines` the change
 * reaches, capped at 5. Computed once per RuleInput. Throws on a malformed rubric (the engine then counts the
 * computed risk as 5).
 */
export function assessRisk(input: RuleInput): RiskAssessment {
  const cached = ASSESSED.get(input);
  if (cached !== undefined) return cached;
  const { change, policy } = input;
  const rubric: RiskRubric = policy.riskRubric;
  const entries = rubric.paths;
  const globs = compileGlobs(
    entries.map((e) => e.glob),
    'catch',
    'riskRubric.paths',
    entries,
  );
  const risks = entries.map((e, i) => level(e.risk, `paths[${i}].risk (${e.glob})`));
  const defaultRisk = level(rubric.defaultRisk, 'defaultRisk');
  const executableRisk = level(rubric.executableRisk, 'executableRisk');
  const textExtensions = Array.isArray(rubric.textExtensions) ? textSet(rubric.textExtensions) : undefined;
  const special = entries.some((e) => e.textOnly === true || e.require !== undefined);
  const shebangs = shebangLines(change?.facts);

  /** Whether entry `i` applies to the touched path (its kind and its `require` pattern). */
  const applies = (i: number, info: PathInfo, isText: () => boolean): boolean => {
    const entry = entries[i]!;
    if (entry.textOnly === true && !isText()) return false;
    const re = requirement(entry);
    if (re !== undefined) {
      const segments = info.path.split('/');
      if (!segments.some((seg) => re.test(seg))) return false;
    }
    return true;
  };

  let fileRisk = 0;
  let raisedBy: RiskReason[] = [];
  let raisedCount = 0;
  for (const t of touchedPaths(input)) {
    const executable = !t.old && modeKind(t.file.newMode) === 'executable';
    const shebang = t.old ? undefined : shebangs.get(t.path);
    const interpreter = shebangInterpreter(shebang);
    const isText = (): boolean =>
      !executable &&
      shebang === undefined &&
      (textExtensions === undefined || textByName(t.path, textExtensions));
    let i = globs.firstMatch(t.info);
    if (i >= 0 && special && !applies(i, t.info, isText)) {
      // the first match does not apply (code under prompts/, author.ts): the next one that matches and applies
      let next = -1;
      for (let j = i + 1; j < entries.length; j++) {
        const one = compileGlobs([entries[j]!.glob], 'catch', `riskRubric.paths[${j}]`, entries[j]!);
        if (one.matches(t.info) && applies(j, t.info, isText)) {
          next = j;
          break;
        }
      }
      i = next;
    }
    let risk = i < 0 ? defaultRisk : risks[i]!;
    let reason = i < 0 ? 'default (source code)' : `${entries[i]!.label} (${entries[i]!.glob})`;
    if (executable && executableRisk > risk) {
      risk = executableRisk;
      reason = 'executable (mode 100755)';
    } else if (isShellInterpreter(interpreter) && executableRisk > risk) {
      risk = executableRisk;
      reason = `shell script (${printable(String(shebang).slice(0, 40))})`;
    }
    if (risk > fileRisk) {
      fileRisk = risk;
      raisedBy = [];
      raisedCount = 0;
    }
    if (risk === fileRisk && risk > 0) {
      raisedCount++;
      if (raisedBy.length < RAISED_BY_MAX) raisedBy.push({ path: t.path, risk, reason });
    }
  }

  const stats = changeStats(change);
  const lines = stats.linesAdded + stats.linesDeleted;
  let sizeAdded = 0;
  for (const step of rubric.size) {
    const add = level(step.add, 'size[].add');
    if (typeof step.minLines !== 'number' || Number.isNaN(step.minLines)) {
      throw new TypeError(`risk rubric: size[].minLines is ${String(step.minLines)}, not a number`);
    }
    if (lines >= step.minLines) sizeAdded += add;
  }
  const computed = Math.min(RISK_MAX, fileRisk + sizeAdded);
  const statedValue: unknown = (change as Partial<typeof change> | undefined)?.riskLevel;
  const statedValid = isRiskLevel(statedValue);
  const stated = statedValid ? statedValue : RISK_MAX;
  const assessment: RiskAssessment = {
    stated,
    statedValid,
    computed,
    effective: Math.max(stated, computed),
    fileRisk,
    sizeAdded,
    lines,
    raisedBy,
    raisedCount,
  };
  ASSESSED.set(input, assessment);
  return assessment;
}

/** `effective risk 3 (stated 1, computed 3: src/a.ts 2 default (source code), +1 for 250 lines)`. */
export function explainRisk(a: RiskAssessment, max = 3): string {
  const stated = a.statedValid ? `stated ${a.stated}` : `stated risk invalid, counted as ${a.stated}`;
  const files = a.raisedBy
    .slice(0, max)
    .map((r) => `${printable(r.path)} ${r.risk} ${r.reason}`)
    .join(', ');
  const shown = Math.min(max, a.raisedBy.length);
  const more = a.raisedCount > shown ? ` and ${a.raisedCount - shown} more at ${a.fileRisk}` : '';
  const size = a.sizeAdded > 0 ? `${files ? ', ' : ''}+${a.sizeAdded} for ${a.lines} lines` : '';
  const why = files || size ? `: ${files}${more}${size}` : '';
  return `effective risk ${a.effective} (${stated}, computed ${a.computed}${why})`;
}

/** risk is an integer 0-5. */
export const riskInvalid: Rule = {
  id: 'risk-invalid',
  summary: 'The stated risk level is not an integer 0..5 (it then counts as 5).',
  setting: '(none: the risk scale 0..5)',
  severity: 'block',
  check: ({ change }) => {
    const risk: unknown = (change as Partial<typeof change> | undefined)?.riskLevel;
    if (isRiskLevel(risk)) return [];
    let shown: string;
    try {
      shown = typeof risk === 'number' ? String(risk) : (JSON.stringify(risk) ?? String(risk));
    } catch {
      shown = String(risk);
    }
    return [
      {
        message: `stated risk level ${shown.slice(0, 60)} is not an integer ${RISK_MIN}..${RISK_MAX} (0-1 low, 2-3 medium, 4-5 high); it counts as ${RISK_MAX}`,
      },
    ];
  },
};

/** the effective risk may not exceed maxRiskLevel (default 2). */
export const riskAboveMax: Rule = {
  id: 'risk-above-max',
  summary:
    'The effective risk, max(stated, computed by the rubric), is above the maximum; the message names the files that raised it.',
  setting: 'safetyRails.maxRiskLevel',
  severity: 'block',
  check: (input) => {
    const a = assessRisk(input);
    const max: unknown = input.policy.maxRiskLevel;
    if (typeof max === 'number' && a.effective <= max) return [];
    return [{ message: `${explainRisk(a)} exceeds safetyRails.maxRiskLevel = ${String(max)}` }];
  },
};

/** never allowed, whatever maxRiskLevel says. */
export const riskHigh: Rule = {
  id: 'risk-high',
  summary: 'The effective risk is 4 or 5 (high): never allowed, whatever safetyRails.maxRiskLevel says.',
  setting: '(none: risk 4-5 is never allowed)',
  severity: 'block',
  check: (input) => {
    const a = assessRisk(input);
    if (a.effective < HIGH_RISK) return [];
    return [
      {
        message: `${explainRisk(a)} is high (${HIGH_RISK}-${RISK_MAX}): never allowed, whatever safetyRails.maxRiskLevel says; a human must make this change`,
      },
    ];
  },
};

/** The risk rules, in evaluation order. */
export const RISK_RULES: readonly Rule[] = Object.freeze([riskInvalid, riskAboveMax, riskHigh]);
