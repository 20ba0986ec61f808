/**
 * Renderings of one Verdict for `self-evolution check` and the pull-request gate: plain text (one line per
 * violation, then a summary line), JSON (the Verdict itself) and SARIF 2.1.0 for GitHub code scanning.
 */
import type { Log, ReportingDescriptor, Result } from 'sarif';
import { printable, RULES } from '../rails/index.js';
import type { Severity, Verdict, Violation } from '../rails/types.js';

/** Version of self-evolution reported as the SARIF tool version (keep in step with package.json). */
export const TOOL_VERSION = '0.1.0';

/** Name of the tool in SARIF (`tool.driver.name`): code scanning filters alerts by it. */
export const SARIF_TOOL_NAME = 'self-evolution';

/** The project's home page (the repository the action is published from, as README's `uses:` lines name it). */
export const PROJECT_URL = 'https://github.com/self-evolution/self-evolution';

/** The rules page as published; each SARIF rule's helpUri is `<RULES_DOC_URL>#<rule-id>`. */
export const RULES_DOC_URL = `${PROJECT_URL}/blob/main/docs/rails.md`;

/** The `$schema` of the SARIF files we write (the URI GitHub's documentation gives for SARIF 2.1.0). */
export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';

/** What the SARIF renderer needs to know about a rule (RULES entries have these fields). */
export interface RuleInfo {
  readonly id: string;
  readonly summary: string;
  readonly setting: string;
  readonly severity: Severity;
}

/** SARIF `level` of each severity: block is an error, approval a warning, warn a note. */
export const SARIF_LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = Object.freeze({
  block: 'error',
  approval: 'warning',
  warn: 'note',
});

/** `path:line` of a violation (`path` alone without a line, `-` without a path), unprintables escaped. */
export function violationLocation(v: Violation): string {
  if (v.path === undefined || v.path === '') return '-';
  const path = printable(v.path);
  return v.line !== undefined ? `${path}:${v.line}` : path;
}

/**
 * The one-line summary of a verdict, e.g. `blocked: 2 violations (2 block); risk stated 0, computed 2,
 * effective 2; 3 files, +10 -2 lines, 0 binary`. The first word is `allowed`, `allowed (needs human
 * approval)` or `blocked`.
 */
export function verdictSummary(verdict: Verdict): string {
  const counts = (['block', 'approval', 'warn'] as const)
    .map((s) => [s, verdict.violations.filter((v) => v.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const outcome = !verdict.allowed
    ? 'blocked'
    : verdict.requiresHumanApproval
      ? 'allowed (needs human approval)'
      : 'allowed';
  const n = verdict.violations.length;
  const violations = n === 0 ? 'no violations' : `${n} violation${n === 1 ? '' : 's'} (${counts.join(', ')})`;
  const { filesChanged, linesAdded, linesDeleted, binaryFiles } = verdict.stats;
  return (
    `${outcome}: ${violations}; risk stated ${verdict.statedRisk}, computed ${verdict.computedRisk}, ` +
    `effective ${verdict.effectiveRisk}; ${filesChanged} file${filesChanged === 1 ? '' : 's'}, ` +
    `+${linesAdded} -${linesDeleted} lines, ${binaryFiles} binary`
  );
}

/**
 * The verdict as text: one line per violation, `path:line rule-id message` (`path rule-id message` when the
 * violation has no line, `- rule-id message` when it has no path), in the verdict's order, then the summary
 * line (verdictSummary). When two or more violations of one rule end with the same ` (allowed: <list>)`, the list
 * is cut from their lines and said once, after the violations: `<rule-id> (all N above): allowed: <list>`.
 * Unprintable characters (a newline or an escape in a hostile file name) are escaped,
 * so every violation is exactly one line. Ends with a newline.
 */
export function renderVerdictText(verdict: Verdict): string {
  const shared = sharedAllowedLists(verdict.violations);
  const lines = verdict.violations.map((v) => {
    const list = shared.get(v.ruleId);
    const message = list !== undefined ? v.message.slice(0, -ALLOWED_SUFFIX(list).length) : v.message;
    return `${violationLocation(v)} ${v.ruleId} ${printable(message.replace(/\r?\n/g, ' '))}`;
  });
  for (const [ruleId, list] of shared) {
    const n = verdict.violations.filter((v) => v.ruleId === ruleId).length;
    lines.push(`${ruleId} (all ${n} above): allowed: ${printable(list.replace(/\r?\n/g, ' '))}`);
  }
  lines.push(verdictSummary(verdict));
  return lines.join('\n') + '\n';
}

/** The ` (allowed: <list>)` a path rule ends its message with (rails/rules/paths.ts). */
const ALLOWED_SUFFIX = (list: string): string => ` (allowed: ${list})`;

/**
 * The rules whose violations (two or more) all end with the same ` (allowed: <list>)`, with that list: the text
 * output says the list once, after the violations, instead of on every line.
 */
function sharedAllowedLists(violations: readonly Verdict['violations'][number][]): Map<string, string> {
  const byRule = new Map<string, (string | null)[]>();
  for (const v of violations) {
    const list = / \(allowed: ([^()]*)\)$/.exec(v.message)?.[1] ?? null;
    byRule.set(v.ruleId, [...(byRule.get(v.ruleId) ?? []), list]);
  }
  const shared = new Map<string, string>();
  for (const [ruleId, lists] of byRule) {
    const first = lists[0];
    if (lists.length > 1 && first != null && lists.every((l) => l === first)) shared.set(ruleId, first);
  }
  return shared;
}

/** The verdict as JSON (the Verdict object itself, 2-space indented), ending with a newline. */
export function renderVerdictJson(verdict: Verdict): string {
  return JSON.stringify(verdict, null, 2) + '\n';
}

/** Options of the SARIF renderer. */
export interface SarifOptions {
  /** Version of self-evolution (default TOOL_VERSION). */
  toolVersion?: string;
  /**
   * Absolute URL of the rules page (default RULES_DOC_URL); each rule's helpUri is `<rulesDoc>#<rule-id>`.
   * An empty string omits helpUri (SARIF requires absolute URIs there).
   */
  rulesDoc?: string;
  /** `tool.driver.informationUri`, an absolute URL (default PROJECT_URL); an empty string omits it. */
  informationUri?: string;
  /**
   * Repository-relative path a violation without a path is reported on (code scanning shows only results
   * with a location), normally the policy file; default `.github/self-evolution-config.json`.
   */
  defaultUri?: string;
  /** The rules to describe (default RULES of the rails). */
  rules?: readonly RuleInfo[];
}

/** Up to `max` characters of `text` (GitHub cuts rule descriptions at 1024). */
function cut(text: string, max = 1024): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The first sentence of `text` (up to the first ". " or the end). */
function firstSentence(text: string): string {
  const end = text.search(/\.(\s|$)/);
  return end < 0 ? text : text.slice(0, end + 1);
}

/**
 * A repository-relative path as a SARIF URI reference: each segment percent-encoded (spaces, `%`, `#`, `?`,
 * non-ASCII and control characters), `/` kept. An empty path gives `.`.
 */
export function pathToUri(path: string): string {
  if (path === '') return '.';
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

/**
 * The verdict as a SARIF 2.1.0 log object for GitHub code scanning: `$schema`, version `2.1.0`, one run
 * whose `tool.driver` (name `self-evolution`, version, informationUri, rules with id, name, short and full
 * description, help text, default level and helpUri `<rulesDoc>#<rule-id>`) describes every rule, and one result per
 * violation with ruleId, ruleIndex, level (block: error, approval: warning, warn: note), message.text and
 * exactly one location: the violation's file (URI-encoded) and line (line 1 when it has none); a violation
 * without a path is placed on `defaultUri` line 1, since code scanning shows only results with a location.
 * The verdict's outcome, risks and stats are in `run.properties`.
 */
export function sarifLog(verdict: Verdict, opts: SarifOptions = {}): Log {
  const rules = opts.rules ?? RULES;
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const descriptors: ReportingDescriptor[] = rules.map((r) => {
    const descriptor: ReportingDescriptor = {
      id: r.id,
      name: r.id,
      shortDescription: { text: cut(firstSentence(r.summary)) },
      fullDescription: { text: cut(r.summary) },
      help: { text: cut(`${r.summary} Setting: ${r.setting}.`) },
      defaultConfiguration: { level: SARIF_LEVEL[r.severity] },
      properties: { tags: ['self-evolution', 'safety-rails'] },
    };
    const rulesDoc = opts.rulesDoc ?? RULES_DOC_URL;
    if (rulesDoc) descriptor.helpUri = `${rulesDoc}#${r.id}`;
    return descriptor;
  });
  const defaultUri = opts.defaultUri ?? '.github/self-evolution-config.json';
  const results: Result[] = verdict.violations.map((v) => {
    const hasPath = v.path !== undefined && v.path !== '';
    const result: Result = {
      ruleId: v.ruleId,
      level: SARIF_LEVEL[v.severity] ?? 'error',
      message: { text: v.message === '' ? v.ruleId : v.message },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: pathToUri(hasPath ? v.path! : defaultUri) },
            region: { startLine: v.line !== undefined && v.line >= 1 ? v.line : 1 },
          },
        },
      ],
      properties: { severity: v.severity, ...(hasPath ? {} : { changeLevel: true }) },
    };
    const i = index.get(v.ruleId);
    if (i !== undefined) result.ruleIndex = i;
    return result;
  });
  const driver: Log['runs'][number]['tool']['driver'] = {
    name: SARIF_TOOL_NAME,
    version: opts.toolVersion ?? TOOL_VERSION,
    rules: descriptors,
  };
  const informationUri = opts.informationUri ?? PROJECT_URL;
  if (informationUri) driver.informationUri = informationUri;
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: { driver },
        results,
        properties: {
          allowed: verdict.allowed,
          requiresHumanApproval: verdict.requiresHumanApproval,
          statedRisk: verdict.statedRisk,
          computedRisk: verdict.computedRisk,
          effectiveRisk: verdict.effectiveRisk,
          stats: { ...verdict.stats },
        },
      },
    ],
  };
}

/** The verdict as SARIF 2.1.0 text (see sarifLog), 2-space indented, ending with a newline. */
export function renderVerdictSarif(verdict: Verdict, opts: SarifOptions = {}): string {
  return JSON.stringify(sarifLog(verdict, opts), null, 2) + '\n';
}

/** Escapes text for one markdown table cell: unprintables (line breaks included), pipes, and `<`. */
function mdCell(text: string): string {
  return printable(text).replace(/\|/g, '\\|').replace(/</g, '&lt;');
}

/**
 * The verdict as markdown for a job summary: a `### title` heading, the outcome and summary line
 * (verdictSummary), a table with one row per violation (severity, rule, file, line, message) and the
 * notes as a list. Cells are escaped (pipes, line breaks, `<`), so a hostile file name cannot break the table.
 */
export function renderVerdictMarkdown(
  verdict: Verdict,
  opts: { title: string; notes?: readonly string[] },
): string {
  const lines = [`### ${mdCell(opts.title)}`, '', `**${mdCell(verdictSummary(verdict))}**`, ''];
  if (verdict.violations.length > 0) {
    lines.push('| severity | rule | file | line | message |', '| --- | --- | --- | --- | --- |');
    for (const v of verdict.violations) {
      lines.push(
        `| ${v.severity} | \`${v.ruleId}\` | ${v.path ? mdCell(v.path) : '-'} | ${v.line ?? ''} | ${mdCell(v.message)} |`,
      );
    }
    lines.push('');
  }
  for (const note of opts.notes ?? []) lines.push(`- ${mdCell(note)}`);
  if ((opts.notes ?? []).length > 0) lines.push('');
  return lines.join('\n');
}
