/**
 * What the pull request of a self-change says: its branch name, title, body (with the hidden marker the next
 * runs find it by), labels, reviewers and draft flag. PURE: plain data in, strings out; no I/O, no clock.
 * Imports only the bottom floors (record shapes, rails types) and config types.
 *
 * The body mixes text we write with text we do not control: the proposal's title and description (written by
 * a proposer, often an LLM), the reflection's insights and the verify commands' output. That text is
 * neutralised so it cannot fake the body's structure: headings, setext underlines, code fences, task-list
 * boxes and HTML (comments included, so also our marker) are escaped, every `@` gets a zero-width space after
 * it (no mention pings anyone), and command output goes into a fence longer than any backtick run in it.
 */
import type { Config } from '../config/schema.js';
import type { Violation } from '../rails/types.js';
import type { ProposalReport, PullRequestReport, VerifyEvidence, VerifyReport } from '../records.js';
import { BIDI_CONTROLS, oneLineText } from '../secrets.js';

/** GitHub's limit on a pull request title, in characters. */
export const TITLE_MAX = 256;

/** GitHub's limit on a pull request body, in characters. */
export const BODY_MAX = 65_536;

/** GitHub's limit on a label name, in characters. */
export const LABEL_MAX = 50;

/** Longest slug of a branch name (the part made from the title), in characters. */
export const SLUG_MAX = 40;

/** The label every pull request of the loop carries. */
export const SELF_EVOLUTION_LABEL = 'self-evolution';

/**
 * Where a repository keeps a pull request template, in the order they are tried: a dedicated
 * self-evolution template first, then GitHub's own locations (case as GitHub documents them). Paths relative
 * to the repository root; the caller reads the first that exists from the BASE commit.
 */
export const PR_TEMPLATE_PATHS: readonly string[] = Object.freeze([
  '.github/PULL_REQUEST_TEMPLATE/self_evolution.md',
  '.github/PULL_REQUEST_TEMPLATE/self-evolution.md',
  '.github/pull_request_template.md',
  '.github/PULL_REQUEST_TEMPLATE.md',
  'pull_request_template.md',
  'PULL_REQUEST_TEMPLATE.md',
  'docs/pull_request_template.md',
  'docs/PULL_REQUEST_TEMPLATE.md',
]);

/**
 * Rule ids of the rails' secret rules (src/rails/rules/secrets.ts) and `content-unread` (the secret check
 * could not read a file): any violation of these, whatever its severity, leaves "no secrets" unticked.
 */
export const SECRET_RULE_IDS: readonly string[] = Object.freeze([
  'secret-detected',
  'secret-high-entropy',
  'secret-file',
  'secret-in-path',
  'content-unread',
]);

/** Rule ids about the diff caps. */
const CAP_RULE_IDS = ['diff-max-lines', 'diff-max-files', 'diff-max-bytes'];
/** Rule ids about paths no allow-glob matches. */
const NOT_ALLOWED_RULE_IDS = ['path-not-allowed', 'wildcard-path-not-allowed'];
/** Rule ids about blocked or protected paths. */
const BLOCKED_PATH_RULE_IDS = ['path-blocked', 'self-protected-path', 'path-git-internal'];
/** Rule ids about risk. */
const RISK_RULE_IDS = ['risk-above-max', 'risk-high', 'risk-invalid', 'wildcard-risk-above-max'];

// ---------------------------------------------------------------------------------------------------------
// Branch names

/**
 * True when git accepts `name` as a branch name (the rules of `git check-ref-format --branch`): not empty,
 * not `-…`, `HEAD` or `@`; no control character, space, `~ ^ : ? * [ \`; no `..`, `@{` or `//`; no
 * component starting with `.` or ending with `.lock`; not starting or ending with `/`, not ending with `.`.
 * A little stricter than git (a lone `@` is refused; unpaired UTF-16 surrogates too), never looser.
 */
export function isValidBranchName(name: string): boolean {
  if (name === '' || name === '@' || name === 'HEAD' || name.startsWith('-')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name) || /\p{Cs}/u.test(name)) return false;
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.')) return false;
  return name.split('/').every((c) => !c.startsWith('.') && !c.endsWith('.lock'));
}

/**
 * The slug of a title: its ASCII letters and digits (accents dropped: `é` -> `e`), lower-case, each run joined
 * by `-`, at most SLUG_MAX characters, never ending with `-`; `change` when nothing is left.
 */
export function slugOf(title: string): string {
  const words = title
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
  const slug = words.join('-').slice(0, SLUG_MAX).replace(/-+$/, '');
  return slug === '' ? 'change' : slug;
}

/**
 * The branch of a proposal: `<prefix><YYYY-MM-DD>-<slug>-<first 8 hex of the patch sha256>`, e.g.
 * `self-evolution/2026-11-30-tighten-the-prompt-1a2b3c4d`. The same input always gives the same name; the
 * slug (slugOf) and the rest are always a name git accepts.
 * @throws RangeError when `runDate` is not YYYY-MM-DD, `patchSha256` is not 64 hex digits, or the prefix
 *   makes a name git refuses (e.g. `bad prefix/` or `x..y/`; the message names the prefix)
 */
export function branchNameFor(input: {
  prefix: string;
  runDate: string;
  title: string;
  patchSha256: string;
}): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(input.runDate)) {
    throw new RangeError(`branchNameFor: runDate must be YYYY-MM-DD, got ${JSON.stringify(input.runDate)}`);
  }
  if (!/^[0-9a-f]{64}$/i.test(input.patchSha256)) {
    throw new RangeError(
      `branchNameFor: patchSha256 must be 64 hex digits, got ${JSON.stringify(input.patchSha256)}`,
    );
  }
  const name = `${input.prefix}${input.runDate}-${slugOf(input.title)}-${input.patchSha256.slice(0, 8).toLowerCase()}`;
  if (!isValidBranchName(name)) {
    throw new RangeError(
      `the branch prefix ${JSON.stringify(input.prefix)} (config prTemplateConfig.branchPrefix) makes a branch name git refuses: ${JSON.stringify(name)}`,
    );
  }
  return name;
}

// ---------------------------------------------------------------------------------------------------------
// The hidden marker

/** What the hidden marker of a pull request body records. */
export interface PullRequestMarker {
  /** The run (self_evolution_runs id), or null when not recorded. */
  run: number | null;
  /** The proposal (self_evolution_proposals id), or null when not recorded. */
  proposal: number | null;
  /** sha256 of the patch (UTF-8), 64 lower-case hex digits. */
  patchSha256: string;
  /** The base commit the patch applies to, 40 or 64 lower-case hex digits. */
  baseSha: string;
}

/** An id in the marker: a positive safe integer or null. */
const MARKER_ID = '(null|[1-9][0-9]{0,15})';

/** The one form of a marker line (the whole line, nothing around it). */
const MARKER_LINE = new RegExp(
  `^<!-- self-evolution: \\{"run":${MARKER_ID},"proposal":${MARKER_ID},"patch":"sha256:([0-9a-f]{64})","base":"([0-9a-f]{40}|[0-9a-f]{64})"\\} -->$`,
);

function markerId(value: number | null, name: string): string {
  if (value === null) return 'null';
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`markerOf: ${name} must be a positive integer or null, got ${String(value)}`);
  }
  return String(value);
}

/**
 * The hidden marker line of a pull request body, e.g.
 * `<!-- self-evolution: {"run":1,"proposal":2,"patch":"sha256:<64 hex>","base":"<40 hex>"} -->`.
 * Hex digits are written lower-case. parseMarker reads it back.
 * @throws RangeError when an id is not a positive integer or null, the patch hash is not 64 hex digits, or
 *   the base commit is not 40 or 64 hex digits
 */
export function markerOf(input: {
  run: number | null;
  proposal: number | null;
  patchSha256: string;
  baseSha: string;
}): string {
  const run = markerId(input.run, 'run');
  const proposal = markerId(input.proposal, 'proposal');
  if (!/^[0-9a-f]{64}$/i.test(input.patchSha256)) {
    throw new RangeError(
      `markerOf: patchSha256 must be 64 hex digits, got ${JSON.stringify(input.patchSha256)}`,
    );
  }
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(input.baseSha)) {
    throw new RangeError(
      `markerOf: baseSha must be 40 or 64 hex digits, got ${JSON.stringify(input.baseSha)}`,
    );
  }
  const patch = input.patchSha256.toLowerCase();
  const base = input.baseSha.toLowerCase();
  return `<!-- self-evolution: {"run":${run},"proposal":${proposal},"patch":"sha256:${patch}","base":"${base}"} -->`;
}

/**
 * The marker of a pull request body: the fields of the line markerOf writes, found as a whole line (a `\r`
 * before the line end is allowed). Only that exact form counts: other spacing, keys, key order, upper-case
 * hex, look-alike characters, or a marker inside a longer line (quoted, in a list, in inline code) do not.
 * When several marker lines disagree, there is no trustworthy answer: null. Never throws; null for
 * anything that is not a string or holds no marker.
 */
export function parseMarker(body: unknown): PullRequestMarker | null {
  if (typeof body !== 'string') return null;
  const lines = new Set<string>();
  let found: PullRequestMarker | null = null;
  for (const raw of body.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const m = MARKER_LINE.exec(line);
    if (!m) continue;
    lines.add(line);
    const run = m[1] === 'null' ? null : Number(m[1]);
    const proposal = m[2] === 'null' ? null : Number(m[2]);
    if (
      (run !== null && !Number.isSafeInteger(run)) ||
      (proposal !== null && !Number.isSafeInteger(proposal))
    ) {
      return null;
    }
    found = { run, proposal, patchSha256: m[3]!, baseSha: m[4]! };
  }
  return lines.size === 1 ? found : null;
}

// ---------------------------------------------------------------------------------------------------------
// Neutralising untrusted text

/** `text` cut to at most `max` UTF-16 units, never inside a surrogate pair. */
export function cutUnits(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max);
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/** `@` followed by a zero-width space: GitHub sees no mention (`@org/team` pings nobody). */
function unmention(text: string): string {
  return text.replace(/@/g, '@\u200b');
}

/** Untrusted multi-line text with normalised line ends and no control characters but tabs and newlines. */
function cleanLines(text: string): string {
  return (
    text
      .replace(/\r\n?/g, '\n')
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
      .replace(BIDI_CONTROLS, '')
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]/g, '')
  );
}

/**
 * A container prefix of a Markdown line (indentation, blockquote `>` and list markers, any number of them),
 * then the rest.
 */
const CONTAINER = /^((?:[ \t]*(?:>|[-*+](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$)))*[ \t]*)([\s\S]*)$/;

/**
 * One line of untrusted Markdown, neutralised: `<` becomes `&lt;` (no HTML, no comment, no marker), `@`
 * mentions are broken, and after any blockquote or list prefix a heading `#`, a code fence, a setext
 * underline (`===`, `---`) or a task box (`[x]`) is escaped with a backslash, so the line renders as text.
 */
function safeLine(line: string): string {
  const text = unmention(line.replace(/</g, '&lt;'));
  // A setext underline (`-` or `=` alone, after any indentation or `>`): one `-` under text is a heading too.
  const bare = /^[\s>]*/.exec(text)![0];
  if (/^(=+|-+)[ \t]*$/.test(text.slice(bare.length))) return `${bare}\\${text.slice(bare.length)}`;
  const m = CONTAINER.exec(text);
  if (!m) return text;
  const [, prefix = '', rest = ''] = m;
  if (
    /^#/.test(rest) ||
    /^(`{3,}|~{3,})/.test(rest) ||
    /^(=+|-+)[ \t]*$/.test(rest) ||
    /^\[[ xX]\]/.test(rest)
  ) {
    return `${prefix}\\${rest}`;
  }
  return text;
}

/**
 * Untrusted Markdown (a description, the reflection's insights) made safe to place in a body: every line
 * through safeLine, control characters removed, ANSI escapes dropped, line ends normalised.
 */
export function safeMarkdown(text: string): string {
  return cleanLines(text).split('\n').map(safeLine).join('\n').trim();
}

/** Untrusted text as one safe line of Markdown (oneLineText, then safeLine). */
export function safeInline(text: string): string {
  return safeLine(oneLineText(text));
}

/** Longest run of `char` in `text`. */
function longestRun(text: string, char: string): number {
  let best = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/** `text` as one inline code span, its delimiters longer than any backtick run in it; one line. */
export function inlineCode(text: string): string {
  const t = oneLineText(text);
  const fence = '`'.repeat(longestRun(t, '`') + 1);
  const pad = t.startsWith('`') || t.endsWith('`') || t === '' ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

/**
 * Untrusted output (a command's last lines) as a fenced code block: the fence is a run of backticks longer
 * than any in the text (at least 3), control characters and ANSI escapes are removed, and `<!--` gets a
 * zero-width space (`<!\u200b--`) so no line of it reads as our marker.
 */
export function fencedBlock(text: string, info = 'text'): string {
  const body = cleanLines(text).replace(/<!--/g, '<!\u200b--').replace(/\n+$/, '');
  const fence = '`'.repeat(Math.max(3, longestRun(body, '`') + 1));
  return `${fence}${info}\n${body}\n${fence}`;
}

/** A link to an http(s) URL we built, or the URL in code when it does not look like one. */
function link(text: string, url: string): string {
  return /^https?:\/\/[^\s<>()[\]`]+$/.test(url) ? `[${text}](${url})` : inlineCode(url);
}

// ---------------------------------------------------------------------------------------------------------
// Input and output

/** The proposal fields a pull request is made from. */
export type PullRequestProposal = Pick<
  ProposalReport,
  | 'id'
  | 'title'
  | 'type'
  | 'riskLevel'
  | 'proposer'
  | 'verdict'
  | 'violations'
  | 'filesChanged'
  | 'linesAdded'
  | 'linesDeleted'
  | 'linesChanged'
  | 'provenance'
> &
  Partial<Pick<ProposalReport, 'description' | 'computedRisk' | 'effort' | 'patchFile' | 'provenanceFile'>>;

/**
 * The rails' verdict as the body needs it. Absent from the input: read from the proposal (its verdict and
 * violations; computed risk from `proposal.computedRisk`).
 */
export interface PullRequestVerdict {
  allowed: boolean;
  requiresHumanApproval: boolean;
  violations: readonly Violation[];
  /** Risk 0-5 the rubric computed. */
  computedRisk?: number;
  /** max(stated, computed). */
  effectiveRisk?: number;
}

/** Everything a pull request is rendered from. */
export interface PullRequestInput {
  proposal: PullRequestProposal;
  /** The run (self_evolution_runs id), or null when not recorded. */
  runId: number | null;
  /** The run's UTC day, YYYY-MM-DD. */
  runDate: string;
  /** sha256 (hex) of the patch text (UTF-8), as self_evolution_proposals.patch_sha256. */
  patchSha256: string;
  /** The commit the patch applies to (40 or 64 hex). */
  baseSha: string;
  /** The branch the pull request targets, or null when unknown (a dry run: "the default branch"). */
  baseBranch: string | null;
  /** The reflection's insights (untrusted: proposers' and repository checks' words), or null. */
  insights: string | null;
  /** Ids of the reflection goals the proposal addresses; default `proposal.provenance.signalsAddressed`. */
  goals?: readonly string[];
  /** The rails' verdict; default read from the proposal. */
  verdict?: PullRequestVerdict;
  /** The verification (status 'not-configured' without verify commands), or null when it did not run. */
  verify: VerifyReport | null;
  /** The policy's numbers the checklist is judged against. */
  policy: { maxLinesOfCode: number; maxFilesChanged: number; maxRiskLevel: number };
  config: {
    prTemplateConfig: Config['prTemplateConfig'];
    pullRequest: Pick<Config['pullRequest'], 'draft'>;
    /** config safetyRails.requireReviewers: true (a human review), or logins whose review is required. */
    requireReviewers: boolean | readonly string[];
  };
  /** The login that opens the pull request (e.g. `github-actions[bot]`): never requested as a reviewer. */
  author?: string | null;
  /** The workflow run's web page, or null (a local run). */
  logsUrl: string | null;
  /** Name of the run's Actions artifact (e.g. `self-evolution-run-12`), or null. */
  artifactName: string | null;
  /** How CI runs on the pull request, one line of Markdown we wrote (e.g. "CI: started workflow ci.yml by workflow_dispatch"). */
  ciText: string;
  /** How to undo the change, one line of Markdown we wrote (e.g. "after merge: `git revert <merge commit>`"). */
  revertHint: string;
  /** The repository's pull request template (read from the BASE commit), or null to use the built-in body. */
  template: string | null;
  /** The reflection record (self_evolution_reflections id), when known. */
  reflectionId?: number | null;
  /** The action record (self_evolution_actions id), when known. */
  actionId?: number | null;
}

/** What renderPullRequest returns: the PullRequestReport fields that describe the pull request to open. */
export type RenderedPullRequest = Pick<
  PullRequestReport,
  'title' | 'body' | 'branch' | 'labels' | 'reviewers' | 'draft'
>;

// ---------------------------------------------------------------------------------------------------------
// Title, labels, reviewers

/**
 * The title: `self-evolution: <proposal title>` on one line (control characters and line breaks become
 * spaces, bidirectional controls removed, mentions broken), `change` for an empty title, cut to TITLE_MAX
 * characters with `…`.
 */
export function titleFor(proposalTitle: string): string {
  const t = unmention(oneLineText(proposalTitle)) || 'change';
  const full = `self-evolution: ${t}`;
  return full.length <= TITLE_MAX ? full : `${cutUnits(full, TITLE_MAX - 1)}…`;
}

/** A label name: one line, trimmed, cut to LABEL_MAX characters. */
function labelName(text: string): string {
  return cutUnits(oneLineText(text), LABEL_MAX).trim();
}

/**
 * The labels: `self-evolution`, `risk:<computed risk>`, `type:<type>`, then config autoLabels; each one
 * line, at most LABEL_MAX characters, empty ones dropped, deduplicated case-insensitively (GitHub's label
 * names are), first kept.
 */
export function labelsFor(input: {
  computedRisk: number;
  type: string;
  autoLabels: readonly string[];
}): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of [
    SELF_EVOLUTION_LABEL,
    `risk:${input.computedRisk}`,
    `type:${input.type}`,
    ...input.autoLabels,
  ]) {
    const name = labelName(raw);
    const key = name.toLowerCase();
    if (name === '' || seen.has(key)) continue;
    seen.add(key);
    out.push(name);
  }
  return out;
}

/** A login without `@` and surrounding space, and the same without a `[bot]` suffix (for comparisons). */
function loginKey(login: string): string {
  return login
    .trim()
    .replace(/^@/, '')
    .replace(/\[bot\]$/i, '')
    .toLowerCase();
}

/**
 * The reviewers to request: the autoRequestReviewers list (true: none, GitHub requests the CODEOWNERS
 * itself; false: none), plus a requireReviewers list; `@` dropped, deduplicated case-insensitively, never
 * `author` (with or without its `[bot]` suffix).
 */
export function reviewersFor(input: {
  autoRequestReviewers: boolean | readonly string[];
  requireReviewers: boolean | readonly string[];
  author?: string | null;
}): string[] {
  const lists = [input.autoRequestReviewers, input.requireReviewers].flatMap((l) =>
    Array.isArray(l) ? l : [],
  );
  const author = input.author ? loginKey(input.author) : null;
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of lists as string[]) {
    const login = raw.trim().replace(/^@/, '');
    const key = loginKey(login);
    if (login === '' || key === author || seen.has(login.toLowerCase())) continue;
    seen.add(login.toLowerCase());
    out.push(login);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The facts the body states

/** One checklist fact: whether it holds, and the evidence shown beside it. */
interface Fact {
  key: FactKey;
  label: string;
  holds: boolean;
  evidence: string;
}

type FactKey = 'caps' | 'allowed' | 'blocked' | 'risk' | 'ci' | 'reversible' | 'secrets';

/** Risk figures of a proposal. */
interface Risks {
  stated: number;
  computed: number;
  effective: number;
}

function risksOf(input: PullRequestInput, verdict: PullRequestVerdict): Risks {
  const stated = input.proposal.riskLevel;
  const computed = verdict.computedRisk ?? input.proposal.computedRisk ?? stated;
  return { stated, computed, effective: verdict.effectiveRisk ?? Math.max(stated, computed) };
}

function verdictOf(input: PullRequestInput): PullRequestVerdict {
  if (input.verdict) return input.verdict;
  const violations = input.proposal.violations;
  return {
    allowed: input.proposal.verdict === 'allowed',
    requiresHumanApproval: violations.some((v) => v.severity === 'approval'),
    violations,
    ...(input.proposal.computedRisk !== undefined ? { computedRisk: input.proposal.computedRisk } : {}),
  };
}

/** The violations of these rules. */
function hits(verdict: PullRequestVerdict, ids: readonly string[]): Violation[] {
  return verdict.violations.filter((v) => ids.includes(v.ruleId));
}

function ruleList(vs: readonly Violation[]): string {
  return [...new Set(vs.map((v) => v.ruleId))].map((id) => inlineCode(id)).join(', ');
}

/** The safety checklist's facts, each ticked only when the verdict shows it holds. */
function factsOf(input: PullRequestInput, verdict: PullRequestVerdict, risks: Risks): Fact[] {
  const p = input.proposal;
  const { maxLinesOfCode, maxFilesChanged, maxRiskLevel } = input.policy;
  const capHits = hits(verdict, CAP_RULE_IDS);
  const notAllowed = hits(verdict, NOT_ALLOWED_RULE_IDS);
  const blocked = hits(verdict, BLOCKED_PATH_RULE_IDS);
  const riskHits = hits(verdict, RISK_RULE_IDS);
  const secretHits = hits(verdict, SECRET_RULE_IDS);
  const withRules = (text: string, vs: Violation[]): string =>
    vs.length ? `${text}; rails: ${ruleList(vs)}` : text;
  return [
    {
      key: 'caps',
      label: 'Within the diff caps',
      holds: capHits.length === 0 && p.linesChanged <= maxLinesOfCode && p.filesChanged <= maxFilesChanged,
      evidence: withRules(
        `${p.linesChanged} of ${maxLinesOfCode} lines, ${p.filesChanged} of ${maxFilesChanged} files`,
        capHits,
      ),
    },
    {
      key: 'allowed',
      label: 'All files in allowed paths',
      holds: notAllowed.length === 0,
      evidence: withRules('config `safetyRails.allowedPaths`', notAllowed),
    },
    {
      key: 'blocked',
      label: 'No blocked or protected paths',
      holds: blocked.length === 0,
      evidence: withRules('config `safetyRails.blockedPaths` and the self-protected paths', blocked),
    },
    {
      key: 'risk',
      label: 'Risk level within the limit',
      holds: riskHits.length === 0 && risks.effective <= maxRiskLevel,
      evidence: withRules(
        `effective ${risks.effective} (stated ${risks.stated}, computed ${risks.computed}), limit ${maxRiskLevel}`,
        riskHits,
      ),
    },
    {
      key: 'ci',
      label: 'CI checks passing',
      holds: false,
      evidence: `not run yet when this pull request was written; ${input.ciText}`,
    },
    {
      key: 'reversible',
      label: 'Change is reversible',
      holds: true,
      evidence: input.revertHint,
    },
    {
      key: 'secrets',
      label: 'No secrets',
      holds: secretHits.length === 0,
      evidence: withRules('the rails found none in the change', secretHits),
    },
  ];
}

/** Which fact a checklist line of a template is about, by its words; null when none. */
function factOfText(text: string): FactKey | null {
  const t = text.toLowerCase();
  if (/secret|credential|api key|password|token/.test(t)) return 'secrets';
  if (/block(ed)?[ -]?(path|list)|protected path|deny ?list|forbidden path/.test(t)) return 'blocked';
  if (/allow ?list|allowlisted|allowed path|white ?list/.test(t)) return 'allowed';
  if (/\bcaps?\b|diff size|size limit|lines of code|\bloc\b/.test(t)) return 'caps';
  if (/\brisk\b/.test(t)) return 'risk';
  if (/\bci\b|checks? (are )?pass|status checks/.test(t)) return 'ci';
  if (/revers|revert|roll ?back/.test(t)) return 'reversible';
  return null;
}

function box(holds: boolean): string {
  return holds ? '[x]' : '[ ]';
}

function factLine(f: Fact): string {
  return `- ${box(f.holds)} ${f.label}: ${f.evidence}`;
}

/** A change type as a word: `prompt` -> `Prompt`. */
function typeWord(type: string): string {
  return type.charAt(0).toUpperCase() + type.slice(1);
}

/** The change types a pull request shows boxes for (config ChangeType). */
const CHANGE_TYPES = ['capability', 'prompt', 'persona', 'cleanup', 'wildcard'];

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

// ---------------------------------------------------------------------------------------------------------
// Sections

/** The kinds of section the body knows how to fill. */
type SectionKind =
  | 'meta'
  | 'type'
  | 'checklist'
  | 'risk'
  | 'reflection'
  | 'summary'
  | 'testing'
  | 'rollback'
  | 'related'
  | 'artifacts';

/** Which kind a template heading is (case-insensitive, emoji and punctuation ignored); null: unknown. */
function kindOfHeading(heading: string): SectionKind | null {
  const h = heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
  if (/\bgenerated\b/.test(h)) return 'meta';
  if (/\btype\b/.test(h)) return 'type';
  if (/\bchecklist\b|\bsafety\b/.test(h)) return 'checklist';
  if (/\brisk\b/.test(h)) return 'risk';
  if (/\breflection\b|\brationale\b|\binsights?\b|\bimpact\b|\bmotivation\b|\bwhy\b/.test(h))
    return 'reflection';
  if (/\bsummary\b|\bdescription\b|\bwhat changed\b|\bchanges\b/.test(h)) return 'summary';
  if (/\btest(s|ing)?\b|\bverif/.test(h)) return 'testing';
  if (/\brollback\b|\broll back\b|\brevert\b/.test(h)) return 'rollback';
  if (/\brelated\b|\brecords?\b|\bdata\b/.test(h)) return 'related';
  if (/\bartifacts?\b|\blogs?\b|\blinks?\b/.test(h)) return 'artifacts';
  if (/\bself evolution\b|\bprovenance\b/.test(h)) return 'meta';
  return null;
}

/** A `- **Label**: value` line that can fill a template's empty `- **Label**:` line. */
interface Field {
  label: string;
  /** Matched against a template label (lower-case, letters and digits, single spaces). */
  match: RegExp;
  value: string;
}

/** An H3 part of a section (e.g. "Insights from Reflection"). */
interface Part {
  title: string;
  match: RegExp;
  text: string;
}

/** What we put in one section. */
interface Content {
  kind: SectionKind;
  /** Heading of the built-in body. */
  title: string;
  fields: Field[];
  /** Markdown after the fields. */
  blocks: string[];
  parts: Part[];
}

/** Cuttable evidence: untrusted texts that may be shortened to fit the body limit. */
interface Evidence {
  text: string;
  /** Characters cut so far. */
  cut: number;
  /** Keep the end (command output tails) or the start (prose). */
  keep: 'end' | 'start';
}

function evidenceText(e: Evidence): string {
  if (e.cut === 0) return e.text;
  const note = `[… ${e.cut} characters cut to fit GitHub's ${BODY_MAX.toLocaleString('en-US')}-character limit]`;
  return e.keep === 'end' ? `${note}\n${e.text}` : `${e.text}\n${note}`;
}

/** The untrusted, cuttable texts of one pull request. */
interface EvidenceSet {
  description: Evidence;
  insights: Evidence;
  /** By verify command index: stdout and stderr. */
  outputs: { stdout: Evidence; stderr: Evidence }[];
}

function evidenceOf(input: PullRequestInput): EvidenceSet {
  const prose = (text: string): Evidence => ({ text, cut: 0, keep: 'start' });
  const tail = (text: string): Evidence => ({ text, cut: 0, keep: 'end' });
  return {
    description: prose(input.proposal.description ?? ''),
    insights: prose(input.insights ?? ''),
    outputs: (input.verify?.commands ?? []).map((c) => ({
      stdout: tail(c.stdoutTail),
      stderr: tail(c.stderrTail),
    })),
  };
}

function allEvidence(ev: EvidenceSet): Evidence[] {
  return [ev.description, ev.insights, ...ev.outputs.flatMap((o) => [o.stdout, o.stderr])];
}

/** The lines on top of the body: verification and approval warnings. */
function warningLines(input: PullRequestInput, verdict: PullRequestVerdict): string[] {
  const lines: string[] = [];
  const v = input.verify;
  if (v?.status === 'not-configured') {
    lines.push(
      '⚠️ Not verified: this repository configures no verify commands (config `verify.commands`), so this change was neither built nor tested before this pull request was written.',
    );
  } else if (v === null) {
    lines.push('⚠️ Not verified: the verify commands did not run on this change.');
  } else if (v.status === 'failed') {
    lines.push(`❌ Verify failed: ${safeInline(v.reason ?? 'a verify command failed')}`);
  }
  if (verdict.requiresHumanApproval) {
    const approval = verdict.violations.filter((x) => x.severity === 'approval');
    lines.push(`✋ Needs a human's approval (${ruleList(approval)}): see the risk assessment below.`);
  }
  if (!verdict.allowed) lines.push('⛔ The safety rails blocked this change: it must not be merged.');
  return lines;
}

function violationLine(v: Violation): string {
  const where = v.path ? ` ${inlineCode(v.path + (v.line !== undefined ? `:${v.line}` : ''))}` : '';
  return `- ${v.severity} ${inlineCode(v.ruleId)}${where}: ${safeInline(v.message)}`;
}

function verifyBlocks(input: PullRequestInput, ev: EvidenceSet): string[] {
  const v = input.verify;
  if (!v || v.status === 'not-configured') {
    return [
      v
        ? 'No verify commands are configured (config `verify.commands`): nothing was built or tested.'
        : 'The verify commands did not run on this change.',
      input.ciText,
    ];
  }
  const out: string[] = [
    `Verify ${v.status}${v.reason ? `: ${safeInline(v.reason)}` : ''} (config \`verify.commands\`, run in a scratch worktree of the base commit with the change applied).`,
    input.ciText,
  ];
  v.commands.forEach((c: VerifyEvidence, i) => {
    const end = c.timedOut
      ? `timed out after ${seconds(c.durationMs)}`
      : c.exitCode !== null
        ? `exited ${c.exitCode} in ${seconds(c.durationMs)}`
        : `ended by ${c.signal ?? 'a signal'} after ${seconds(c.durationMs)}`;
    out.push(
      `- [${c.exitCode === 0 && !c.timedOut ? 'x' : ' '}] ${inlineCode(c.name)}: ${inlineCode(c.command)} ${end} (sandbox ${c.sandbox})`,
    );
    const o = ev.outputs[i]!;
    for (const [name, e] of [
      ['stdout', o.stdout],
      ['stderr', o.stderr],
    ] as const) {
      const text = evidenceText(e);
      if (text.trim() === '') continue;
      out.push(`${name} of ${inlineCode(c.name)} (last lines):`, fencedBlock(text));
    }
  });
  return out;
}

/** What each section holds for this pull request. */
function contents(input: PullRequestInput, ev: EvidenceSet): Content[] {
  const p = input.proposal;
  const verdict = verdictOf(input);
  const risks = risksOf(input, verdict);
  const facts = factsOf(input, verdict, risks);
  const goals = input.goals ?? p.provenance.signalsAddressed ?? [];
  const id = (n: number | null | undefined): string =>
    n === null || n === undefined ? '(not recorded)' : `#${n}`;
  const base = input.baseBranch ? inlineCode(input.baseBranch) : 'the default branch';
  const description = safeMarkdown(evidenceText(ev.description));
  const insights = safeMarkdown(evidenceText(ev.insights));
  const reviewNote = Array.isArray(input.config.prTemplateConfig.autoRequestReviewers)
    ? null
    : input.config.prTemplateConfig.autoRequestReviewers
      ? "review from the CODEOWNERS is requested by GitHub's own branch protection (config `prTemplateConfig.autoRequestReviewers: true`)"
      : null;
  const required = input.config.requireReviewers;
  const reviewText = [
    required === true ? 'a human review is required (config `safetyRails.requireReviewers`)' : null,
    Array.isArray(required) && required.length
      ? `review required from ${required.map((r) => inlineCode(String(r).replace(/^@/, ''))).join(', ')}`
      : null,
    reviewNote,
  ].filter((x): x is string => x !== null);
  const outcome = !verdict.allowed
    ? 'blocked'
    : verdict.requiresHumanApproval
      ? 'allowed, needs a human approval'
      : 'allowed';
  return [
    {
      kind: 'meta',
      title: '🤖 Generated by Self-Evolution',
      fields: [
        { label: 'Run ID', match: /\brun( id)?\b/, value: id(input.runId) },
        { label: 'Run Date', match: /\bdate\b|\bday\b/, value: input.runDate },
        { label: 'Proposal ID', match: /\bproposal\b/, value: id(p.id) },
        {
          label: 'Proposer',
          match: /\bproposer\b|\bagent\b/,
          value: `${safeInline(p.provenance.name)} (${safeInline(p.provenance.proposer)})`,
        },
        { label: 'Base', match: /\bbase\b/, value: `${base} at ${inlineCode(input.baseSha)}` },
        {
          label: 'Patch',
          match: /\bpatch\b/,
          value: inlineCode(`sha256:${input.patchSha256.toLowerCase()}`),
        },
      ],
      blocks: [],
      parts: [],
    },
    {
      kind: 'summary',
      title: '📝 Change Summary',
      fields: [],
      blocks: [
        description || safeInline(p.title) || '(no description)',
        `- ${p.filesChanged} file(s), +${p.linesAdded} −${p.linesDeleted} lines`,
      ],
      parts: [],
    },
    {
      kind: 'type',
      title: '🏷️ Change Type',
      fields: [],
      blocks: [
        CHANGE_TYPES.includes(p.type)
          ? CHANGE_TYPES.map((t) => `- ${box(t === p.type)} ${typeWord(t)}`).join('\n')
          : `- [x] ${safeInline(typeWord(p.type))}`,
      ],
      parts: [],
    },
    {
      kind: 'reflection',
      title: '🧠 Reflection & Rationale',
      fields: [],
      blocks: [],
      parts: [
        {
          title: 'Insights from Reflection',
          match: /\binsights?\b|\breflection\b|\bsignals?\b/,
          text: insights || '(no reflection insights)',
        },
        {
          title: 'Expected Impact',
          match: /\bimpact\b|\bgoals?\b|\bexpected\b/,
          text: goals.length
            ? `Addresses the reflection's goals: ${goals.map((g) => inlineCode(g)).join(', ')}`
            : 'Addresses no particular goal of the reflection.',
        },
      ],
    },
    {
      kind: 'checklist',
      title: '🛡️ Safety Checklist',
      fields: [],
      blocks: [facts.map(factLine).join('\n')],
      parts: [],
    },
    {
      kind: 'risk',
      title: '⚠️ Risk Assessment',
      fields: [
        {
          label: 'Risk Level',
          match: /\brisk\b/,
          value: `${risks.effective} of 5 (stated ${risks.stated}, computed ${risks.computed}; limit ${input.policy.maxRiskLevel})`,
        },
        {
          label: 'Effort',
          match: /\beffort\b/,
          value: p.effort === undefined ? '(not stated)' : `${p.effort} of 5`,
        },
        {
          label: 'Reversibility',
          match: /\brevers/,
          value: 'reversible: a revert pull request undoes it',
        },
        { label: 'Rails verdict', match: /\bverdict\b|\brails\b/, value: outcome },
        ...(reviewText.length ? [{ label: 'Review', match: /\breview/, value: reviewText.join('; ') }] : []),
      ],
      blocks: verdict.violations.length
        ? ['Findings of the safety rails:', verdict.violations.map(violationLine).join('\n')]
        : [],
      parts: [],
    },
    {
      kind: 'testing',
      title: '🧪 Testing',
      fields: [],
      blocks: verifyBlocks(input, ev),
      parts: [],
    },
    {
      kind: 'rollback',
      title: '↩️ Rollback Plan',
      fields: [],
      blocks: [
        [
          '- Before merge: close this pull request and delete its branch; nothing else was changed.',
          `- After merge: ${input.revertHint}`,
        ].join('\n'),
      ],
      parts: [],
    },
    {
      kind: 'related',
      title: '🔗 Related Data',
      fields: [
        { label: 'Run record', match: /\brun\b/, value: `self_evolution_runs ${id(input.runId)}` },
        {
          label: 'Reflection record',
          match: /\breflection\b/,
          value: `self_evolution_reflections ${id(input.reflectionId)}`,
        },
        { label: 'Proposal record', match: /\bproposal\b/, value: `self_evolution_proposals ${id(p.id)}` },
        {
          label: 'Action record',
          match: /\baction\b/,
          value: input.actionId ? `self_evolution_actions #${input.actionId}` : '(none yet)',
        },
      ],
      blocks: [],
      parts: [],
    },
    {
      kind: 'artifacts',
      title: '📦 Artifacts',
      fields: [
        {
          label: 'Workflow run',
          match: /\bworkflow\b|\brun\b/,
          value: input.logsUrl ? link('workflow run', input.logsUrl) : '(a local run: no workflow run)',
        },
        {
          label: 'Logs',
          match: /\blogs?\b|\bartifacts?\b/,
          value: input.artifactName
            ? `artifact ${inlineCode(input.artifactName)} (run.log, proposals.json${p.patchFile ? `, ${inlineCode(p.patchFile)}` : ''}${p.provenanceFile ? `, ${inlineCode(p.provenanceFile)}` : ''})`
            : '(no artifact uploaded)',
        },
      ],
      blocks: [],
      parts: [],
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Templates

/** One H2 section of a template (or the part before the first, `heading` null). */
interface TemplateSection {
  heading: string | null;
  lines: string[];
}

const H2 = /^ {0,3}##(?!#)[ \t]*(.*?)[ \t]*#*[ \t]*$/;
const H3 = /^ {0,3}###(?!#)[ \t]*(.*?)[ \t]*#*[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Splits `lines` at the lines `heading` matches, outside fenced code and HTML comments: the part before the
 * first heading, then each heading with its lines.
 */
function splitAt(lines: readonly string[], heading: RegExp): TemplateSection[] {
  const out: TemplateSection[] = [{ heading: null, lines: [] }];
  let fence: string | null = null;
  let comment = false;
  for (const line of lines) {
    const current = out[out.length - 1]!;
    if (fence) {
      if (new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`).test(line))
        fence = null;
      current.lines.push(line);
      continue;
    }
    if (comment) {
      if (line.includes('-->')) comment = false;
      current.lines.push(line);
      continue;
    }
    const f = FENCE.exec(line);
    if (f) {
      fence = f[1]!;
      current.lines.push(line);
      continue;
    }
    if (line.lastIndexOf('<!--') > line.lastIndexOf('-->')) {
      comment = true;
      current.lines.push(line);
      continue;
    }
    if (heading.test(line)) {
      out.push({ heading: line, lines: [] });
      continue;
    }
    current.lines.push(line);
  }
  return out;
}

/** The text of a heading line, without `#`s. */
function headingText(line: string): string {
  return (H2.exec(line) ?? H3.exec(line))?.[1] ?? line;
}

/** Text without its HTML comments (an unterminated one runs to the end). */
function withoutComments(text: string): string {
  return text.replace(/<!--[\s\S]*?(-->|$)/g, '');
}

/** Blank runs collapsed to one blank line, the ends trimmed of blank lines. */
function tidy(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const blank = l.trim() === '';
    if (blank && (out.length === 0 || out[out.length - 1]!.trim() === '')) continue;
    out.push(blank ? '' : l.replace(/[ \t]+$/, ''));
  }
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

/** A template label (`- **Risk Level**:` with nothing after it), normalised; null when the line is not one. */
function emptyLabel(line: string): string | null {
  const m = /^\s*(?:[-*+]\s+)?([*_]{0,2})([^:*_\n]{1,60}?)\1?\s*:\s*([*_]{0,2})\s*$/.exec(line);
  if (!m) return null;
  return m[2]!
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * A template block filled with our content: HTML comments removed, empty `Label:` lines our fields match
 * filled in, then our fields that filled none, then our blocks.
 */
function fillBlock(
  templateLines: readonly string[],
  fields: readonly Field[],
  blocks: readonly string[],
): string[] {
  const used = new Set<Field>();
  let lastFilled = -1;
  const lines = withoutComments(templateLines.join('\n'))
    .split('\n')
    .map((line, i) => {
      const label = emptyLabel(line);
      if (label === null) return line;
      const field = fields.find((f) => !used.has(f) && f.match.test(label));
      if (!field) return line;
      used.add(field);
      lastFilled = i;
      return `${line.replace(/\s+$/, '')} ${field.value}`;
    });
  const rest = fields.filter((f) => !used.has(f)).map((f) => `- **${f.label}**: ${f.value}`);
  // Our other fields go right after the template's last filled one (one list), else at the end.
  if (lastFilled >= 0) lines.splice(lastFilled + 1, 0, ...rest);
  else lines.push('', ...rest);
  return tidy([...lines, ...(blocks.length ? ['', blocks.join('\n\n')] : [])]);
}

/** The type section of a template: the real type's box ticked, the others not; added when none names it. */
function fillType(templateLines: readonly string[], type: string): string[] {
  let ticked = false;
  const word = new RegExp(`\\b${type.replace(/[^a-z0-9]/gi, '')}\\b`, 'i');
  const lines = withoutComments(templateLines.join('\n'))
    .split('\n')
    .map((line) => {
      const m = /^(\s*[-*+]\s+)\[[ xX]\](.*)$/.exec(line);
      if (!m) return line;
      const mine = !ticked && word.test(m[2]!);
      if (mine) ticked = true;
      return `${m[1]}${box(mine)}${m[2]}`;
    });
  if (!ticked) lines.push(`- [x] ${safeInline(typeWord(type))}`);
  return tidy(lines);
}

/**
 * The checklist of a template: each box whose words name one of our facts is ticked only when that fact
 * holds, with its evidence; a box we cannot judge is left unticked; facts no box names are added.
 */
function fillChecklist(templateLines: readonly string[], facts: readonly Fact[]): string[] {
  const covered = new Set<FactKey>();
  const lines = withoutComments(templateLines.join('\n'))
    .split('\n')
    .map((line) => {
      const m = /^(\s*[-*+]\s+)\[[ xX]\](\s*)(.*)$/.exec(line);
      if (!m) return line;
      const key = factOfText(m[3]!);
      const fact = key ? facts.find((f) => f.key === key) : undefined;
      if (!fact) return `${m[1]}[ ]${m[2]}${m[3]}`;
      covered.add(fact.key);
      return `${m[1]}${box(fact.holds)}${m[2] || ' '}${m[3]!.replace(/\s+$/, '')}: ${fact.evidence}`;
    });
  const extra = facts.filter((f) => !covered.has(f.key)).map(factLine);
  return tidy([...lines, ...extra]);
}

/** A section with H3 parts: each part our content names filled, ours no H3 names added at the end. */
function fillParts(templateLines: readonly string[], c: Content): string[] {
  const pieces = splitAt(templateLines, H3);
  const used = new Set<Part>();
  const out: string[] = [];
  for (const piece of pieces) {
    if (piece.heading === null) {
      out.push(...fillBlock(piece.lines, c.fields, c.blocks), '');
      continue;
    }
    const name = headingText(piece.heading)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, ' ');
    const part = c.parts.find((p) => !used.has(p) && p.match.test(name));
    out.push(piece.heading, '');
    if (part) {
      used.add(part);
      out.push(...fillBlock(piece.lines, [], [part.text]), '');
    } else {
      out.push(...withoutComments(piece.lines.join('\n')).split('\n'), '');
    }
  }
  for (const part of c.parts.filter((p) => !used.has(p))) out.push(`### ${part.title}`, '', part.text, '');
  return tidy(out);
}

function fillSection(
  kind: SectionKind,
  lines: readonly string[],
  c: Content,
  facts: readonly Fact[],
  type: string,
): string[] {
  if (kind === 'type') return fillType(lines, type);
  if (kind === 'checklist') return fillChecklist(lines, facts);
  if (c.parts.length) return fillParts(lines, c);
  return fillBlock(lines, c.fields, c.blocks);
}

/** The lines of a template's preamble: comments removed, an H1 left without text gets the title. */
function fillPreamble(lines: readonly string[], title: string): string[] {
  return tidy(
    withoutComments(lines.join('\n'))
      .split('\n')
      .map((line) => {
        const m = /^( {0,3}#(?!#)[ \t]*)(.*?)[ \t]*$/.exec(line);
        if (!m) return line;
        const text = m[2]!.replace(/#+$/, '').trim();
        return text === '' || text.endsWith(':') ? `${m[1]}${text ? `${text} ` : ''}${title}` : line;
      }),
  );
}

function builtIn(c: Content): string[] {
  const out = [`## ${c.title}`, ''];
  const fields = c.fields.map((f) => `- **${f.label}**: ${f.value}`);
  if (fields.length) out.push(...fields, '');
  for (const b of c.blocks) out.push(b, '');
  for (const p of c.parts) out.push(`### ${p.title}`, '', p.text, '');
  return tidy(out);
}

// ---------------------------------------------------------------------------------------------------------
// The body

/** The body before the marker, from the input and the (possibly cut) evidence. */
function compose(input: PullRequestInput, ev: EvidenceSet): string {
  const verdict = verdictOf(input);
  const facts = factsOf(input, verdict, risksOf(input, verdict));
  const all = contents(input, ev);
  const withChecklist = input.config.prTemplateConfig.requireChecklist;
  const lines: string[] = [];
  const warnings = warningLines(input, verdict);
  if (warnings.length) lines.push(...warnings.flatMap((w) => [w, '']));
  const template =
    input.template === null ? null : input.template.replace(/^\ufeff/, '').replace(/\r\n?/g, '\n');
  if (template === null || template.trim() === '') {
    for (const c of all) {
      if (c.kind === 'checklist' && !withChecklist) continue;
      lines.push(...builtIn(c), '');
    }
    return tidy(lines).join('\n');
  }
  const sections = splitAt(
    template.split('\n').filter((l) => !MARKER_LINE.test(l)),
    H2,
  );
  const filled = new Set<SectionKind>();
  const title = safeInline(input.proposal.title) || 'change';
  for (const s of sections) {
    if (s.heading === null) {
      lines.push(...fillPreamble(s.lines, title), '');
      continue;
    }
    const kind = kindOfHeading(headingText(s.heading));
    lines.push(s.heading, '');
    if (kind === null || filled.has(kind)) {
      lines.push(...s.lines, '');
      continue;
    }
    filled.add(kind);
    lines.push(
      ...fillSection(
        kind,
        s.lines,
        all.find((c) => c.kind === kind)!,
        facts,
        input.proposal.type,
      ),
      '',
    );
  }
  for (const c of all) {
    if (filled.has(c.kind) || (c.kind === 'checklist' && !withChecklist)) continue;
    lines.push(...builtIn(c), '');
  }
  return tidy(lines).join('\n');
}

/**
 * The body: warnings first (not verified, needs approval, blocked), then the template's sections filled (or
 * the built-in sections), then the marker as the last line. At most BODY_MAX characters: the longest
 * untrusted evidence (command output, then prose) is cut first, each cut said in place; only if that is not
 * enough is the text before the marker cut. The marker is always kept.
 */
function bodyFor(input: PullRequestInput, marker: string): string {
  const ev = evidenceOf(input);
  const room = BODY_MAX - marker.length - 2;
  let text = compose(input, ev);
  for (let i = 0; i < 10_000 && text.length > room; i++) {
    const over = text.length - room;
    const longest = allEvidence(ev)
      .filter((e) => e.text.length > 0)
      .sort((a, b) => b.text.length - a.text.length)[0];
    if (!longest) break;
    const keep = Math.max(0, longest.text.length - over - 120);
    const removed = longest.text.length - keep;
    longest.text = longest.keep === 'end' ? tailUnits(longest.text, keep) : cutUnits(longest.text, keep);
    longest.cut += removed;
    text = compose(input, ev);
  }
  if (text.length > room) {
    const note = `\n\n[… cut to fit GitHub's ${BODY_MAX.toLocaleString('en-US')}-character limit]`;
    text = cutUnits(text, room - note.length) + note;
  }
  return `${text}\n\n${marker}`;
}

/** The last `max` UTF-16 units of `text`, never starting inside a surrogate pair. */
function tailUnits(text: string, max: number): string {
  if (text.length <= max) return text;
  let start = text.length - Math.max(0, max);
  const c = text.charCodeAt(start);
  if (c >= 0xdc00 && c <= 0xdfff) start += 1;
  return text.slice(start);
}

/**
 * The pull request of one allowed proposal: title (titleFor), body, branch (branchNameFor with config
 * prTemplateConfig.branchPrefix), labels (labelsFor with the computed risk), reviewers (reviewersFor) and the
 * draft flag (config pullRequest.draft).
 *
 * The body: on top, "⚠️ Not verified: …" when no verify commands are configured (or they did not run), a
 * failed verification, a needed human approval; then, with a template, the template's own headings in their
 * order with the sections we know filled (summary, change type with the real type ticked, reflection,
 * safety checklist, risk assessment, testing with each verify command's exit code, duration and last lines,
 * rollback plan, related records, artifacts) and their HTML-comment placeholders removed, unknown sections
 * kept as they are, and the sections it lacks added after it; without one, the built-in sections in that
 * order (no checklist when prTemplateConfig.requireChecklist is false). The safety checklist ticks a box only
 * when the verdict shows it holds; CI is never ticked (it has not run yet). Ends with the marker (markerOf).
 * Untrusted text is neutralised (see the module comment). At most BODY_MAX characters.
 * @throws RangeError for a bad run date, patch hash, base commit or ids (branchNameFor, markerOf), or a
 *   branch prefix git refuses
 */
export function renderPullRequest(input: PullRequestInput): RenderedPullRequest {
  const verdict = verdictOf(input);
  const risks = risksOf(input, verdict);
  const branch = branchNameFor({
    prefix: input.config.prTemplateConfig.branchPrefix,
    runDate: input.runDate,
    title: input.proposal.title,
    patchSha256: input.patchSha256,
  });
  const marker = markerOf({
    run: input.runId,
    proposal: input.proposal.id,
    patchSha256: input.patchSha256,
    baseSha: input.baseSha,
  });
  return {
    title: titleFor(input.proposal.title),
    body: bodyFor(input, marker),
    branch,
    labels: labelsFor({
      computedRisk: risks.computed,
      type: input.proposal.type,
      autoLabels: input.config.prTemplateConfig.autoLabels,
    }),
    reviewers: reviewersFor({
      autoRequestReviewers: input.config.prTemplateConfig.autoRequestReviewers,
      requireReviewers: input.config.requireReviewers,
      author: input.author ?? null,
    }),
    draft: input.config.pullRequest.draft,
  };
}
