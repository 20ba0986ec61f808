/**
 * Secrets (scan diffs for tokens, keys and passwords and block the change when one is present; credentials
 * are never
 * Editable"). Pure: secretlint's in-memory `lintSource` reads no file (see SECRETLINT_CONFIG for the one rule
 * that could, and why it cannot here).
 *
 * - `secret-detected`: the added lines, scanned with secretlint's recommended rules
 *   (@secretlint/secretlint-rule-preset-recommend) and with the known formats of ../secret-rules.ts (modelled
 *   on gitleaks' default rules), as written and in the views of ../secret-views.ts (escapes, URL-encoding,
 *   HTML references, joined literals, base64, hex, character codes, invisible characters, reversal, ROT13,
 *   key blocks over lines). A secret both find is reported once (secretlint's finding).
 * - `secret-high-entropy`: assignments of a long, random-looking value to a secret-like name, also with the
 *   value on the next line, split over literals or encoded (the same views).
 * - `secret-file`: a path named like a secret (.env*, *.pem, *.key, id_rsa*, credentials), whatever its status
 *   or content; not source code so named (`credentials.ts`); env templates (`.env.example`) by their values.
 * - `secret-in-path`: a name in a written path that holds a known-format secret (`src/ghp_….txt`).
 * - `content-unread`: the added lines were not read (or not all of them), so the content rules (these and
 *   `command-forbidden`) could not run: when in doubt the engine blocks.
 *
 * A secret is never echoed: messages show it masked by {@link maskSecret} (its first 4 characters and its
 * length).
 *
 * Work is linear in the added text, and cheap on text that cannot hold a secret: one JS pass per line
 * (scanned: ../literals.ts scanText) finds the known formats' keywords, secretlint's markers
 * (SECRETLINT_MARKERS, written against every rule of the preset), the secret-like words and what the views
 * undo; every regex then runs only where that pass calls for it. secretlint runs once per batch of many
 * files (up to 8 Mi characters), not per file or line: each `lintSource` call also leaves ~100 entries in
 * secretlint's always-on profiler (a process-wide `performance.mark` buffer), so thousands of calls in one
 * process would slow it down. The entropy scan looks only around the secret-like words of a line, with
 * bounded work per word. The results every rule shares (usable lines, the pass, the views, secretlint's
 * findings) are computed once per list of added lines. A 1 MB line takes milliseconds.
 */
import { lintSource } from '@secretlint/core';
import { rules as RECOMMENDED_RULES } from '@secretlint/secretlint-rule-preset-recommend';
import { compileGlobs } from '../glob.js';
import { LiteralSet, scanText } from '../literals.js';
import type { Finding, Rule, RuleInput } from '../rule.js';
import {
  DEFAULT_MIN_ENTROPY,
  KEYWORDLESS_HINT,
  SECRET_PATTERNS,
  type SecretPattern,
} from '../secret-rules.js';
import {
  decodedRuns,
  LONG_RUN_FLAG,
  normalizeText,
  TRIGGER_WORDS,
  unescapeText,
  viewsOfLines,
  WORD_FLAG,
  type View,
} from '../secret-views.js';
import type { AddedLine, ChangeUnderReview } from '../types.js';
import { filesOf, isCount, namedPaths, printable, show } from './common.js';

/** The secretlint config type, as lintSource declares it. */
type SecretlintConfig = Parameters<typeof lintSource>[0]['options']['config'];

/** Id of secretlint's comment filter (`secretlint-disable` directives), which this rule leaves out. */
const FILTER_COMMENTS_ID = '@secretlint/secretlint-rule-filter-comments';
/** Id of secretlint's AWS rule, whose access-key-id scan is off by default. */
const AWS_ID = '@secretlint/secretlint-rule-aws';

/**
 * The secretlint config of `secret-detected`: every rule of the recommended preset, configured one by one
 * instead of through the preset so that
 * - `secretlint-disable` comments are NOT honoured (the comment filter rule is left out): a change must not
 *   be able to switch the scan off for its own lines;
 * - the AWS rule also reports access key ids (`AKIA...`, option `enableIDScanRule`, off by default).
 * Values the preset itself ignores as documentation examples stay ignored: AWS's `AKIAIOSFODNN7EXAMPLE` and
 * `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`, basic-auth and connection-string URLs whose user or password is
 * a placeholder (`password`, `${password}`, `{{password}}`, `YOUR_PASSWORD`, localhost, ...), private key
 * blocks whose body is not base64 of a real key (`MII...` or `b3BlbnNzaC1rZXktdjE...`, at least 100 chars).
 * The GCP rule reads a `.p12` file from disk only when the source's extension is `.p12`; this module always
 * passes `.txt`, so it never does (and its JSON check, which needs a whole key file as one JSON document, does
 * not apply to batched lines: the key inside such a file is found by the private key rule).
 */
export const SECRETLINT_CONFIG: SecretlintConfig = Object.freeze({
  rules: RECOMMENDED_RULES.filter((rule) => rule.meta.id !== FILTER_COMMENTS_ID).map((rule) => ({
    id: rule.meta.id,
    rule,
    options: rule.meta.id === AWS_ID ? { enableIDScanRule: true } : {},
  })),
}) as SecretlintConfig;

/**
 * `secret` masked for messages: its first 4 characters (unprintable ones escaped), `…`, and its length in
 * characters, e.g. `ghp_…(40 chars)`. Secrets of 8 characters or fewer show only their length.
 */
export function maskSecret(secret: string): string {
  const chars = Array.from(secret);
  const head = chars.length > 8 ? printable(chars.slice(0, 4).join('')) : '';
  return `${head}…(${chars.length} chars)`;
}

/** Largest batch of added text handed to one secretlint call, in UTF-16 code units (8 Mi). */
const MAX_BATCH_CHARS = 8 * 1024 * 1024;

const USABLE = new WeakMap<readonly AddedLine[], readonly AddedLine[]>();

/**
 * The usable added lines of a change (a string path and text; odd entries skipped), the same list object
 * for every rule (the views and line flags are cached per list).
 */
function usableLines(lines: readonly AddedLine[]): readonly AddedLine[] {
  let usable = USABLE.get(lines);
  if (usable === undefined) {
    usable = lines.every((l) => typeof l?.path === 'string' && typeof l.text === 'string')
      ? lines
      : lines.filter((l) => typeof l?.path === 'string' && typeof l.text === 'string');
    USABLE.set(lines, usable);
  }
  return usable;
}

/** The added lines of `change` when they were read (an array), else undefined. */
function addedLinesOf(change: ChangeUnderReview): readonly AddedLine[] | undefined {
  const lines: unknown = (change as Partial<ChangeUnderReview> | undefined)?.facts?.addedLines;
  return Array.isArray(lines) ? (lines as AddedLine[]) : undefined;
}

/**
 * Added text batched for secretlint: the lines of many files joined with `\n`, an empty line before each file
 * and between lines that are not consecutive in their file (so a pattern does not run across a gap), and an
 * empty first line (so the text never starts with a BOM, which secretlint would strip, shifting offsets).
 * `starts[i]` is the offset of batch line i in `text`, `origins[i]` the added line it is (undefined for a
 * separator); a reported offset is mapped back by binary search, whatever line breaks a text contains.
 */
interface Batch {
  /** Pretend file name given to secretlint (decides which npm checks run). */
  filePath: string;
  parts: string[];
  starts: number[];
  origins: (AddedLine | undefined)[];
  length: number;
}

function newBatch(filePath: string): Batch {
  return { filePath, parts: [''], starts: [0], origins: [undefined], length: 1 };
}

function pushLine(batch: Batch, text: string, origin: AddedLine | undefined): void {
  batch.starts.push(batch.length);
  batch.parts.push(text);
  batch.origins.push(origin);
  batch.length += text.length + 1;
}

/**
 * secretlint's npm rule checks `_authToken=` only in `.npmrc` and GitHub `x-oauth-basic` URLs only in
 * package.json / package-lock.json. Package files are linted as `package.json`, every other file as `.npmrc`,
 * so an npm auth token written by a script or a doc is caught too (stricter than secretlint's default).
 */
function secretlintFileOf(path: string): string {
  const lower = path.toLowerCase();
  return lower.endsWith('package.json') || lower.endsWith('package-lock.json') ? 'package.json' : '.npmrc';
}

/**
 * The ids of the rules of @secretlint/secretlint-rule-preset-recommend that SECRETLINT_MARKERS was written
 * for. A test fails when the installed preset has other rules, so an upgrade cannot add a rule the prefilter
 * would starve.
 */
export const KNOWN_SECRETLINT_RULES: readonly string[] = Object.freeze(
  [
    'aws',
    'gcp',
    'privatekey',
    'npm',
    'basicauth',
    'slack',
    'sendgrid',
    'shopify',
    'github',
    'gitlab',
    'grafana',
    'openai',
    'anthropic',
    'groq',
    'huggingface',
    'linear',
    'notion',
    '1password',
    'database-connection-string',
    'hashicorp-vault',
    'vercel',
    'databricks',
    'docker',
    'figma',
    'filter-comments',
  ].map((id) => `@secretlint/secretlint-rule-${id}`),
);

/**
 * A prefilter, so secretlint reads only lines that may hold what one of its rules reports: every rule of the
 * preset (KNOWN_SECRETLINT_RULES) needs one of these literals in the matched text (case-insensitive here, a
 * superset): AWS key id prefixes, `secret` and `account` (AWS secret key and account id), `private key`,
 * `_authToken`, `npm_`, `://` (basic auth, connection strings, Slack webhooks, x-oauth-basic), Slack `xox?-`/
 * `xapp`, `SG.`, Shopify `shp??_`, GitHub `gh?_`/`github_pat_`, `sk-` (OpenAI, Anthropic), `gsk_`, `hf_`,
 * `lin_api_`, `ntn_`, `glpat-`, `glc_`, `glsa_`, `ops_ey`, Vault `hv?.`, Vercel `vc?_`, `dapi`, `dckr_pat_`,
 * `figd_`. Searched for with the known formats' keywords in the same pass over each line (scanned): far
 * cheaper than secretlint's 24 passes over text that cannot match. The line after a matching line is kept
 * too (a value on the next line), and every line of a file that mentions a private key (a key block spans
 * lines that do not all match).
 */
const SECRETLINT_MARKERS: readonly string[] = Object.freeze([
  ...['a3t', 'akia', 'agpa', 'aida', 'aroa', 'aipa', 'anpa', 'anva', 'asia', 'secret', 'account'],
  ...['private key', '_authtoken', 'npm_', '://', 'xapp', 'sg.', 'github_pat_', 'sk-', 'gsk_', 'hf_'],
  ...['lin_api_', 'ntn_', 'glpat-', 'glc_', 'glsa_', 'ops_ey', 'dapi', 'dckr_pat_', 'figd_'],
  ...'bpaor'.split('').map((c) => `xox${c}`),
  ...['pa', 'ca', 'at', 'ss'].map((c) => `shp${c}_`),
  ...'pousr'.split('').map((c) => `gh${c}_`),
  ...'sbr'.split('').map((c) => `hv${c}.`),
  ...'pciark'.split('').map((c) => `vc${c}_`),
]);
/** A private key header: its file is scanned whole. */
const PRIVATE_KEY_MARK = /private key/i;

/**
 * Splits the added lines into batches (see Batch), at most MAX_BATCH_CHARS each (a huge file is split),
 * keeping only the lines with a SECRETLINT_MARKERS literal (scanned) and their next lines, and whole files
 * with a private key. Skipped lines become gaps.
 */
function buildBatches(lines: readonly AddedLine[]): Batch[] {
  const { flags } = scanned(lines);
  const byPath = new Map<string, number[]>();
  let lastPath: string | undefined;
  let list: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const path = lines[i]!.path;
    if (path !== lastPath) {
      // Lines come grouped by file: one map look-up per run, not per line.
      lastPath = path;
      const existing = byPath.get(path);
      if (existing === undefined) byPath.set(path, (list = []));
      else list = existing;
    }
    list.push(i);
  }
  const done: Batch[] = [];
  const open = new Map<string, Batch>();
  for (const [path, all] of byPath) {
    let indexes = all;
    const wholeFile = all.some((i) => (flags[i]! & WORD_FLAG) !== 0 && PRIVATE_KEY_MARK.test(lines[i]!.text));
    if (!wholeFile) {
      indexes = [];
      let previousMarked = false;
      for (const i of all) {
        const marked = (flags[i]! & SECRETLINT_FLAG) !== 0;
        if (marked || previousMarked) indexes.push(i);
        previousMarked = marked;
      }
    }
    if (indexes.length === 0) continue;
    const kind = secretlintFileOf(path);
    let batch = open.get(kind) ?? newBatch(kind);
    open.set(kind, batch);
    pushLine(batch, '', undefined);
    let previous: number | undefined;
    for (const i of indexes) {
      const l = lines[i]!;
      if (batch.length + l.text.length + 2 > MAX_BATCH_CHARS && batch.origins.length > 2) {
        done.push(batch);
        batch = newBatch(kind);
        open.set(kind, batch);
        previous = undefined;
      }
      if (previous !== undefined && l.line !== previous + 1) pushLine(batch, '', undefined);
      pushLine(batch, l.text, l);
      previous = l.line;
    }
  }
  return [...done, ...open.values()];
}

/** Index of the last start <= offset (binary search over ascending `starts`). */
function lineAt(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** `@secretlint/secretlint-rule-github` -> `github`. */
function shortRuleId(id: string): string {
  return id.replace(/^@secretlint\/secretlint-rule-/, '');
}

/** A secret secretlint found: where (column range in its added line) and what. */
interface SecretlintHit {
  start: number;
  end: number;
  secret: string;
}

/** What secretlint found in a change's added lines: the findings, and the hits by `path\0line`. */
interface SecretlintResult {
  findings: Finding[];
  hits: Map<string, SecretlintHit[]>;
}

const SECRETLINT_RESULTS = new WeakMap<readonly AddedLine[], Promise<SecretlintResult>>();

/** secretlint's recommended rules over `lines` (see SECRETLINT_CONFIG), once per list of lines. */
function secretlintScan(lines: readonly AddedLine[]): Promise<SecretlintResult> {
  let result = SECRETLINT_RESULTS.get(lines);
  if (result === undefined) {
    result = runSecretlint(lines);
    SECRETLINT_RESULTS.set(lines, result);
  }
  return result;
}

/** secretlint's rules that report URLs with a password (their whole match is the URL). */
const URL_RULES: ReadonlySet<string> = new Set([
  '@secretlint/secretlint-rule-basicauth',
  '@secretlint/secretlint-rule-database-connection-string',
]);

/**
 * True when secretlint's URL rules (URL_RULES) matched a URL whose password is a placeholder, a reference,
 * the user name or a default account's (isRealPassword): `postgres://app:changeme@localhost`,
 * `postgres://postgres:postgres@db`. secretlint already passes some of these; the same judgment as the
 * `url-password` format keeps the two rule sets in step. A match that is not such a URL is kept.
 */
function isPlaceholderUrl(ruleId: string, matched: string): boolean {
  if (!URL_RULES.has(ruleId)) return false;
  const m = /[a-z][a-z0-9+.-]*:\/\/([^\s:/?#@]*):([^\s/?#@]+)@/i.exec(matched);
  return m !== null && !isRealPassword(m[2]!, m[1]);
}

async function runSecretlint(lines: readonly AddedLine[]): Promise<SecretlintResult> {
  const findings: Finding[] = [];
  const hits = new Map<string, SecretlintHit[]>();
  const seen = new Set<string>();
  for (const batch of buildBatches(usableLines(lines))) {
    if (batch.origins.length <= 2) continue;
    const content = batch.parts.join('\n');
    const result = await lintSource({
      source: { content, filePath: batch.filePath, ext: '.txt', contentType: 'text' },
      options: { config: SECRETLINT_CONFIG, maskSecrets: true, noPhysicFilePath: true },
    });
    for (const message of result.messages) {
      const [start, end] = message.range;
      const index = lineAt(batch.starts, start);
      const origin = batch.origins[index];
      if (origin === undefined) continue; // only separators: cannot happen for a real match
      const secret = content.slice(start, Math.max(start, end));
      if (isPlaceholderUrl(message.ruleId, secret)) continue;
      const lineKey = `${origin.path}\0${origin.line}`;
      const column = start - batch.starts[index]!;
      const list = hits.get(lineKey) ?? [];
      list.push({ start: column, end: column + secret.length, secret });
      hits.set(lineKey, list);
      const masked = maskSecret(secret);
      const what = `${shortRuleId(message.ruleId)}: ${message.messageId}`;
      const key = `${lineKey}\0${what}\0${masked}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push({
        path: origin.path,
        line: origin.line,
        message: `${printable(origin.path)}:${origin.line}: secret found by secretlint (${what}): ${masked}; remove it from the change and rotate it (no setting allows a detected secret)`,
      });
    }
  }
  return { findings, hits };
}

// ---- the known formats of secret-rules.ts ---------------------------------------------------------------

/** A pattern compiled once: its regex (flags g, d and maybe i) and the group holding the secret. */
interface CompiledPattern {
  spec: SecretPattern;
  re: RegExp;
  group: number;
  minEntropy: number;
}

const COMPILED: readonly CompiledPattern[] = SECRET_PATTERNS.map((spec) => ({
  spec,
  re: new RegExp(spec.regex, spec.caseInsensitive ? 'gdi' : 'gd'),
  group: spec.group ?? 0,
  minEntropy: spec.minEntropy ?? DEFAULT_MIN_ENTROPY,
}));

/** Patterns without keywords: tried on every text. */
const ALWAYS_TRIED: readonly number[] = COMPILED.flatMap((c, i) => (c.spec.keywords.length === 0 ? [i] : []));

/** The words that make a name secret-like (SECRET_WORD's, as literals). */
const SECRET_WORDS: readonly string[] = Object.freeze([
  'secret',
  'token',
  'passw',
  'pwd',
  'passphrase',
  'credential',
  'auth',
  'key',
]);

/**
 * The prefilter: every keyword of every pattern, the views' TRIGGER_WORDS, secretlint's markers and the
 * secret words of `secret-high-entropy`, searched for at once in one pass per line (LiteralSet, scanText).
 * At a position the longest literal there is found; KEYWORD_PATTERNS maps it to the patterns of every
 * keyword that is a prefix of it (which match there too), KEYWORD_FLAGS to the flags of every list one of
 * whose literals is a prefix of it.
 */
const KEYWORDS = new LiteralSet([
  ...COMPILED.flatMap((c) => c.spec.keywords),
  ...TRIGGER_WORDS,
  ...SECRETLINT_MARKERS,
  ...SECRET_WORDS,
]);
const KEYWORD_PATTERNS: readonly (readonly number[])[] = KEYWORDS.literals.map((k) =>
  COMPILED.flatMap((c, i) => (c.spec.keywords.some((w) => k.startsWith(w)) ? [i] : [])),
);
/** The line's flag a found literal sets: a trigger word, a secretlint marker, a secret word. */
const SECRETLINT_FLAG = 64;
const SECRET_WORD_FLAG = 128;
const KEYWORD_FLAGS: readonly number[] = KEYWORDS.literals.map(
  (k) =>
    (TRIGGER_WORDS.some((w) => k.startsWith(w)) ? WORD_FLAG : 0) |
    (SECRETLINT_MARKERS.some((w) => k.startsWith(w)) ? SECRETLINT_FLAG : 0) |
    (SECRET_WORDS.some((w) => k.startsWith(w)) ? SECRET_WORD_FLAG : 0),
);

/** What one pass over each added line found: its flags (secret-views.ts) and the formats worth trying. */
interface Scanned {
  flags: Uint8Array;
  /** Per line index, the indexes of SECRET_PATTERNS its keywords (or a long run) call for. */
  candidates: Map<number, number[]>;
}

const SCANNED = new WeakMap<readonly AddedLine[], Scanned>();

/**
 * One JS pass per added line (scanText): keywords, trigger words, the characters the views undo, long runs.
 * Computed once per list of usable lines, shared by the content rules.
 */
function scanned(lines: readonly AddedLine[]): Scanned {
  let result = SCANNED.get(lines);
  if (result !== undefined) return result;
  const flags = new Uint8Array(lines.length);
  const candidates = new Map<number, number[]>();
  const hits: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    hits.length = 0;
    let f = scanText(lines[i]!.text, KEYWORDS, hits);
    let tried: number[] | undefined;
    for (const h of hits) {
      f |= KEYWORD_FLAGS[h]!;
      const patterns = KEYWORD_PATTERNS[h]!;
      if (patterns.length > 0) (tried ??= []).push(...patterns);
    }
    if ((f & LONG_RUN_FLAG) !== 0 && KEYWORDLESS_HINT.test(lines[i]!.text)) {
      (tried ??= []).push(...ALWAYS_TRIED);
    }
    flags[i] = f;
    if (tried !== undefined) candidates.set(i, tried);
  }
  result = { flags, candidates };
  SCANNED.set(lines, result);
  return result;
}

/** Values the vendors publish as documentation examples (AWS's example key pair, jwt.io's sample token). */
const DOCUMENTED_EXAMPLES: ReadonlySet<string> = new Set([
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
]);
/** Words and runs that make a value a placeholder when they are a large part of it. */
const PLACEHOLDER_PARTS =
  /example|sample|dummy|placeholder|redacted|fake|your|here|secret|token|key|x{3,}|\*{2,}|\.{3,}|0{6,}/gi;

/**
 * True when `secret` is a documentation placeholder, not a secret: a documented example value, words after a
 * short prefix (isIdentifierLike), or a value that without placeholder words and runs (example, your, here, xxx, ***, ...) keeps less than 3/4 of its
 * length or less than `minEntropy` bits per character.
 */
export function isPlaceholderSecret(secret: string, minEntropy: number): boolean {
  if (DOCUMENTED_EXAMPLES.has(secret)) return true;
  // After a short prefix (`sk-`, `sk_live_`), words: `sk-someClassNameForTheWidget`, `sk_live_YourKeyHere`.
  if (isIdentifierLike(secret.replace(/^[A-Za-z0-9]{1,12}[-_.]/, ''))) return true;
  const stripped = secret.replace(PLACEHOLDER_PARTS, '');
  if (stripped.length * 4 < secret.length * 3) return true;
  return shannonEntropy(stripped) < minEntropy;
}

/** Placeholders and references in a password: `${PASS}`, `$PASS`, `%PASS%`, `{{pass}}`, `<password>`, ... */
const PASSWORD_REFERENCE = /^[$%{<[*:]|\$\{|\{\{|%\(|^\.{3}|\.\.\.$/;
/** Words that make a password a placeholder (also inside it: `app_password`, `your-pass`, `changeme1`). */
const PASSWORD_PLACEHOLDER =
  /passw(?:or)?d|changeme|change_me|example|sample|placeholder|redacted|dummy|your|secret|x{3,}|\*{3,}/i;
/** Whole passwords that are placeholders or default accounts' passwords. */
const PASSWORD_DEFAULT =
  /^(?:pass|pwd|pw|test|user|admin|root|guest|foo|bar|baz|postgres|mysql|redis|mongo)\d{0,4}$/i;

/** A plain absolute POSIX path (letters, digits, `._-` and slashes): what a key=value password is not. */
const ABSOLUTE_PATH = /^\/[\w.-]+(?:\/[\w.-]*)*$/;

/**
 * True when `password` (from a URL's user information or a `Password=` pair) looks like a real password: not a
 * reference or placeholder (see PASSWORD_REFERENCE, PASSWORD_PLACEHOLDER, PASSWORD_DEFAULT), not the user
 * name, at least 4 characters, and mixing two kinds of characters (lower case, upper case, digits, others)
 * unless it is 12 characters or longer.
 */
export function isRealPassword(password: string, user?: string): boolean {
  if (password.length < 4 || PASSWORD_REFERENCE.test(password)) return false;
  if (user !== undefined && password === user) return false;
  if (PASSWORD_PLACEHOLDER.test(password) || PASSWORD_DEFAULT.test(password)) return false;
  const kinds =
    Number(/[a-z]/.test(password)) +
    Number(/[A-Z]/.test(password)) +
    Number(/[0-9]/.test(password)) +
    Number(/[^A-Za-z0-9]/.test(password));
  return kinds >= 2 || password.length >= 12;
}

/** Base64 tokens after a key header: their concatenation, stopping at the first word that is not base64. */
function keyBody(after: string): string {
  const end = after.search(/-----END|Private-MAC:/i);
  const body = end >= 0 ? after.slice(0, end) : after.slice(0, 16384);
  let out = '';
  for (const word of body.split(/(?:\s|\\[nr]|["',])+/)) {
    if (word === '') continue;
    if (/^[A-Za-z][\w-]*:$/.test(word)) continue; // a header field name (Proc-Type:, DEK-Info:, Comment:)
    if (!/^[A-Za-z0-9+/=]+$/.test(word)) {
      if (out.length > 0) break;
      continue; // the rest of a header field's line
    }
    out += word;
  }
  return out;
}

/** True when `body` looks like base64 of key material: 64+ characters, mixed, random (>= 4.5 bits). */
function isKeyMaterial(body: string): boolean {
  return (
    body.length >= 64 &&
    /[A-Z]/.test(body) &&
    /[a-z]/.test(body) &&
    /[0-9+/]/.test(body) &&
    shannonEntropy(body) >= 4.5
  );
}

/** One known-format secret found in a text: the pattern, the secret, and its range in the text. */
export interface PatternMatch {
  pattern: SecretPattern;
  secret: string;
  start: number;
  end: number;
}

/**
 * Runs a pattern's named check (SecretPattern.check) on a match; returns the secret to report, or undefined
 * when the match is no secret (a placeholder password, a key header without key material).
 */
function checkedSecret(c: CompiledPattern, m: RegExpExecArray, text: string): string | undefined {
  switch (c.spec.check) {
    case 'url-password': {
      const password = m[3]!;
      return isRealPassword(password, m[2]) ? password : undefined;
    }
    case 'key-value-password':
      // `PWD=/tmp/x` is a shell's working directory and `password=/run/secrets/db` names a file: a value
      // that is a plain absolute path is a reference, not a password.
      return isRealPassword(m[1]!) && !ABSOLUTE_PATH.test(m[1]!) ? m[1] : undefined;
    case 'private-key': {
      const body = keyBody(text.slice(m.index + m[0].length, m.index + m[0].length + 16384));
      return isKeyMaterial(body) ? body : undefined;
    }
    case 'putty-key': {
      const window = text.slice(m.index, m.index + 16384);
      const lines = /Private-Lines:\s*\d+/i.exec(window);
      if (lines === null) return undefined;
      const body = keyBody(window.slice(lines.index + lines[0].length));
      return isKeyMaterial(body) ? body : undefined;
    }
    default:
      return m[c.group];
  }
}

/**
 * Every secret of a known format (SECRET_PATTERNS) in `text`, placeholders left out (isPlaceholderSecret,
 * the patterns' checks), in text order; where two patterns match overlapping text, the one listed first in
 * SECRET_PATTERNS wins. A keyword search picks the patterns worth trying, so text without any keyword costs
 * one native regex scan. Linear in the text (every pattern's repetitions are bounded).
 */
export function findSecrets(text: string): PatternMatch[] {
  let tried: number[] | undefined;
  for (let hit = KEYWORDS.next(text, 0); hit !== undefined; hit = KEYWORDS.next(text, hit.index + 1)) {
    (tried ??= []).push(...KEYWORD_PATTERNS[KEYWORDS.literals.indexOf(hit.literal)]!);
  }
  return findSecretsWith(text, tried === undefined ? ALWAYS_TRIED : [...ALWAYS_TRIED, ...tried]);
}

/** Like findSecrets, trying only the patterns of SECRET_PATTERNS at indexes `tried` (any order, repeats ok). */
function findSecretsWith(text: string, tried: readonly number[]): PatternMatch[] {
  const order = tried.length <= 1 ? tried : [...tried].sort((a, b) => a - b);
  const found: PatternMatch[] = [];
  for (let o = 0; o < order.length; o++) {
    const i = order[o]!;
    if (o > 0 && order[o - 1] === i) continue; // a repeat
    const c = COMPILED[i]!;
    c.re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = c.re.exec(text)) !== null) {
      if (m[0].length === 0) {
        c.re.lastIndex++;
        continue;
      }
      const secret = checkedSecret(c, m, text);
      if (secret === undefined || secret === '' || isPlaceholderSecret(secret, c.minEntropy)) continue;
      const range = m.indices?.[c.group] ?? [m.index, m.index + m[0].length];
      const start = range[0];
      const end = range[1];
      if (found.some((f) => f.start < end && start < f.end)) continue;
      found.push({ pattern: c.spec, secret, start, end });
    }
  }
  return found.sort((a, b) => a.start - b.start);
}

/**
 * The known-format secrets of `lines` as written: only the lines whose keywords (or long runs) call for a
 * format (scanned) are matched, each against those formats. Returns [line, matches] for lines with a match.
 */
function rawSecrets(lines: readonly AddedLine[]): [AddedLine, PatternMatch[]][] {
  const out: [AddedLine, PatternMatch[]][] = [];
  for (const [i, patterns] of scanned(lines).candidates) {
    const matches = findSecretsWith(lines[i]!.text, patterns);
    if (matches.length > 0) out.push([lines[i]!, matches]);
  }
  return out;
}

// ---- views shared by the content rules -------------------------------------------------------------------

const VIEWS = new WeakMap<readonly AddedLine[], readonly View[]>();

/** The views of `lines` (secret-views.ts), computed once per list of added lines; odd entries skipped. */
function viewsOf(lines: readonly AddedLine[]): readonly View[] {
  let views = VIEWS.get(lines);
  if (views === undefined) {
    const usable = usableLines(lines);
    views = viewsOfLines(usable, scanned(usable).flags);
    VIEWS.set(lines, views);
  }
  return views;
}

/** `text` without white space and escaped line breaks: a key block compared across its line breaks. */
function compact(text: string): string {
  return text.replace(/\s+|\\[nr]/g, '');
}

/** How a view was made, as a message fragment: `` or `, after decoding escapes`. */
function afterWhat(how: string): string {
  return how === '' ? '' : `, ${how}`;
}

/** secretlint's recommended rules and the known formats of secret-rules.ts. */
export const secretDetected: Rule = {
  id: 'secret-detected',
  summary:
    "An added line holds a secret in a known format: found by secretlint's recommended rules or by the formats of src/rails/secret-rules.ts (AWS, GitHub, GitLab, Slack, Stripe, Google, OpenAI, Anthropic, npm, PyPI, Twilio, SendGrid, Discord, Telegram, Azure, JWTs, private keys, passwords in URLs, ...), as written or after undoing string escapes, URL-encoding, HTML references, concatenated literals, base64, hex, character codes, invisible characters and reversal; `secretlint-disable` comments are ignored. Shown masked.",
  setting: '(none: always on; remove the secret and rotate it)',
  severity: 'block',
  check: async ({ change }) => {
    const lines = addedLinesOf(change);
    if (lines === undefined || lines.length === 0) return [];
    const { findings: fromSecretlint, hits } = await secretlintScan(lines);
    const findings = [...fromSecretlint];
    const seen = new Set<string>();
    const report = (path: string, line: number, m: PatternMatch, how: string): void => {
      const key = `${path}\0${line}\0${m.secret}`;
      if (seen.has(key)) return;
      seen.add(key);
      findings.push({
        path,
        line,
        message: `${printable(path)}:${line}: secret found (${m.pattern.id}: ${m.pattern.description}${afterWhat(how)}): ${maskSecret(m.secret)}; remove it from the change and rotate it (no setting allows a detected secret)`,
      });
    };
    for (const [l, matches] of rawSecrets(usableLines(lines))) {
      const known = hits.get(`${l.path}\0${l.line}`);
      for (const m of matches) {
        if (known?.some((h) => h.start < m.end && m.start < h.end)) continue;
        report(l.path, l.line, m, '');
      }
    }
    for (const v of viewsOf(lines)) {
      if (!v.changed) continue;
      for (const m of findSecrets(v.text)) {
        const line = v.lineAt(m.start);
        const known = hits.get(`${v.path}\0${line}`);
        if (known !== undefined) {
          const ours = compact(m.secret);
          if (known.some((h) => compact(h.secret).includes(ours) || ours.includes(compact(h.secret))))
            continue;
        }
        report(v.path, line, m, v.how);
      }
    }
    return findings;
  },
};

// ---- high-entropy assignments -------------------------------------------------------------------------------

/**
 * Words that make a name secret-like: secret, token, password/passwd, pwd, passphrase, credential, auth, key.
 * Searched for first (a native literal search); only around a hit is an assignment read.
 */
const SECRET_WORD = /secret|token|passw|pwd|passphrase|credential|auth|key/gi;
/** Names that say "a hash of something" (their hex values are not secrets: git SHAs, checksums). */
const HASH_NAME = /sha|hash|digest|checksum|integrity|fingerprint|commit|etag|revision/i;
/** The longest value read after an assignment, in characters: bounds the work per assignment. */
const MAX_VALUE_CHARS = 1024;
/** Characters that end an unquoted value. */
const BARE_END = /[\s"'`,;(){}[\]<>&|]/;
/** Template placeholders, removed before judging a value: `${...}`, `{{...}}`, `$(...)`, `%(...)s`, `<%...%>`. */
const PLACEHOLDER =
  /\$\{[^}]{0,200}\}|\{\{[^}]{0,200}\}\}|\$\([^)]{0,200}\)|%\([^)]{0,200}\)[a-z]?|<%[^%]{0,200}%>/g;
/** Values that are documentation, not secrets. */
const PLACEHOLDER_WORD = /example|placeholder|changeme|redacted|dummy/i;
/** A URL scheme at the start of a value. */
const URL_START = /^[a-z][a-z0-9+.-]*:\/\//i;
/** A dotted member expression (`process.env.API_TOKEN`, `secrets.NPM_TOKEN`): a reference, not a value. */
const MEMBER_EXPRESSION = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/;
/** Hex digits only (optionally `0x`), or a UUID: judged against the hex threshold. */
const HEX = /^(?:0x)?[0-9a-f]+$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Words before the real value of an Authorization-like header. */
const SCHEME_WORD = /^(?:bearer|basic|token|digest)$/i;

/**
 * Shannon entropy of `text` in bits per character (UTF-16 code units): -sum(p * log2 p) over the frequencies
 * of its characters. 0 for an empty string; at most log2(length) and log2(alphabet size).
 */
export function shannonEntropy(text: string): number {
  const n = text.length;
  if (n === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / n;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** A value read after an assignment: its text (at most MAX_VALUE_CHARS) and where reading stopped. */
interface ReadValue {
  value: string;
  end: number;
}

/** Reads the value starting at `at`: quoted (up to the same quote) or bare (up to BARE_END). */
function readValue(line: string, at: number): ReadValue {
  const q = line[at];
  if (q === '"' || q === "'" || q === '`') {
    // A quoted value ends at its quote, or at the end of its line.
    let window = line.slice(at + 1, at + 1 + MAX_VALUE_CHARS + 1);
    const newline = window.indexOf('\n');
    if (newline >= 0) window = window.slice(0, newline);
    const close = window.indexOf(q);
    const value = close >= 0 ? window.slice(0, close) : window.slice(0, MAX_VALUE_CHARS);
    return { value, end: at + 1 + value.length + (close >= 0 ? 1 : 0) };
  }
  const window = line.slice(at, at + MAX_VALUE_CHARS);
  const m = BARE_END.exec(window);
  const value = m ? window.slice(0, m.index) : window;
  return { value, end: at + value.length };
}

/** What a high-entropy value is judged as, for the message. */
interface EntropyHit {
  shown: string;
  bits: number;
  threshold: number;
  length: number;
  hex: boolean;
}

/**
 * True when `value` reads as an identifier made of words (`iterationTypesOfAsyncIterable`,
 * `getRedirectsCacheKey`): letters only (and `_`, `$`), never two upper-case letters in a row, words of 3+
 * letters on average. A random string of 20 letters has two upper-case letters in a row with a probability
 * above 98%, and one with digits is never taken for an identifier.
 */
export function isIdentifierLike(value: string): boolean {
  if (!/^[A-Za-z_$]+$/.test(value) || /[A-Z]{2}/.test(value)) return false;
  const words = value.split(/(?=[A-Z])|[_$]+/).filter((w) => w !== '');
  return words.length > 0 && value.length >= 3 * words.length;
}

/**
 * Judges one assigned value (see the rule's docs for what is skipped) against `minLength` characters and
 * `minBits` bits per character (hex values and UUIDs: `minBits * 4 / 6`, the ratio of log2(16) to log2(64),
 * since hex can never exceed 4 bits per character). Returns the hit, or undefined when it is not one.
 */
function judgeValue(name: string, raw: string, minLength: number, minBits: number): EntropyHit | undefined {
  let value = raw.replace(PLACEHOLDER, '');
  if (URL_START.test(value)) {
    // A URL is not a secret; the password of its user info may be.
    const userInfo = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:([^/@\s]+)@/i.exec(value);
    if (!userInfo) return undefined;
    value = userInfo[1]!;
  }
  if (value.length < minLength || /\s/.test(value)) return undefined;
  if (/^(?:\.{0,2}\/|~\/)/.test(value)) return undefined; // a path
  if (value.includes('/') && /\.[A-Za-z0-9]{1,6}$/.test(value) && /^[\w./-]+$/.test(value)) return undefined;
  if (MEMBER_EXPRESSION.test(value) || isIdentifierLike(value)) return undefined;
  if (PLACEHOLDER_WORD.test(value)) return undefined;
  // Random strings of 20+ characters mix lower case, upper case and digits; words do not ("user-profile-page").
  const classes = Number(/[a-z]/.test(value)) + Number(/[A-Z]/.test(value)) + Number(/[0-9]/.test(value));
  if (classes < 2) return undefined;
  const hex = HEX.test(value) || UUID.test(value);
  if (hex && HASH_NAME.test(name)) return undefined; // a git SHA, a checksum
  const judged = hex ? value.replace(/^0x|-/gi, '') : value;
  if (judged.length < minLength) return undefined;
  const threshold = hex ? (minBits * 4) / 6 : minBits;
  const bits = shannonEntropy(judged);
  if (bits < threshold) return undefined;
  return { shown: maskSecret(raw), bits, threshold, length: Array.from(raw).length, hex };
}

/** Characters of a name: letters, digits, `_`, `$`, `.`, `-` (ASCII only). */
function isNameChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 95 ||
    c === 36 ||
    c === 46 ||
    c === 45
  );
}

/** The longest name read around a secret word, in characters: bounds the work per hit. */
const MAX_NAME_CHARS = 128;

/** A YAML block scalar indicator (`|`, `>-`, `|+2`) ending its line: the value is on the next lines. */
const BLOCK_INDICATOR = /^[|>][-+]?[0-9]?[ \t]*(?:#[^\n]*)?(?=\r?\n)/;

/**
 * The assignment around a secret word at `from`..`to` in `text`: the whole name (the run of name characters
 * containing the word, at most MAX_NAME_CHARS each side, optionally in quotes and followed by `]`), then `:=`,
 * `=>`, `:` or `=` between spaces or tabs: `KEY = "..."`, `"token": "..."`, `password: ...`, `X_SECRET=...`,
 * `--token=...`, `cfg['apiKey'] = ...`. In a multi-line text (`multiLine`) the value may start on the next
 * line: after line breaks, an opening parenthesis, a backslash line continuation or a YAML block indicator
 * (`TOKEN =` / `"…"`, `token: |` / `…`); `crossed` then says so. Returns where the name ends and, when it is
 * an assignment, the name and where the value starts.
 */
function assignmentAt(
  text: string,
  from: number,
  to: number,
  multiLine = false,
): { nameEnd: number; assignment?: { name: string; at: number; crossed: boolean } } {
  let start = from;
  while (start > 0 && from - start < MAX_NAME_CHARS && isNameChar(text.charCodeAt(start - 1))) start--;
  let end = to;
  while (end < text.length && end - to < MAX_NAME_CHARS && isNameChar(text.charCodeAt(end))) end++;
  let at = end;
  const quote = text[start - 1];
  if ((quote === '"' || quote === "'" || quote === '`') && text[at] === quote) at++;
  if (text[at] === ']') at++;
  while (text[at] === ' ' || text[at] === '\t') at++;
  if (text.startsWith(':=', at) || text.startsWith('=>', at)) at += 2;
  else if (text[at] === ':' || text[at] === '=') at++;
  else return { nameEnd: end };
  // `==`, `::`: a comparison or a scope, not a value
  if (text[at] === '=' || text[at] === ':') return { nameEnd: end };
  while (text[at] === ' ' || text[at] === '\t') at++;
  let crossed = false;
  if (multiLine) {
    // Bounded: at most MAX_NAME_CHARS characters of layout between the operator and the value.
    const limit = at + MAX_NAME_CHARS;
    for (;;) {
      const block = BLOCK_INDICATOR.exec(text.slice(at, at + 40));
      if (block !== null) at += block[0].length;
      const c = text[at];
      if (c === '\n' || c === '\r') crossed = true;
      else if (c === '\\' && (text[at + 1] === '\n' || text[at + 1] === '\r')) crossed = true;
      else if (!(c === ' ' || c === '\t' || c === '(') || at >= limit) break;
      at++;
    }
  }
  return { nameEnd: end, assignment: { name: text.slice(start, end).replace(/^-+/, ''), at, crossed } };
}

/** One high-entropy assignment found in a text: the name, where it starts, and the value judged. */
interface EntropyFind {
  name: string;
  index: number;
  hit: EntropyHit;
}

/**
 * The high-entropy assignments of one text (a line, or a multi-line view when `multiLine`). Linear in the
 * text's length: each secret word is looked at once, with bounded work around it (MAX_NAME_CHARS,
 * MAX_VALUE_CHARS), and the search resumes after the value. A value on the line after its name counts only
 * when it is quoted or fills that line by itself (`TOKEN =` / `  abc…`), so the next statement of a code block
 * (`if token:` / `  call_something()`) or a YAML key (`auth:` / `  client_id: …`) is not read as a value.
 */
function entropyHits(text: string, minLength: number, minBits: number, multiLine = false): EntropyFind[] {
  const out: EntropyFind[] = [];
  const re = SECRET_WORD; // global; reset here, used synchronously
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const { nameEnd, assignment } = assignmentAt(text, m.index, m.index + m[0].length, multiLine);
    // Resume after the whole name: other secret words inside it would find the same name again.
    re.lastIndex = Math.max(re.lastIndex, nameEnd);
    if (assignment === undefined) continue;
    let read = readValue(text, assignment.at);
    if (SCHEME_WORD.test(read.value) && text[read.end] === ' ') read = readValue(text, read.end + 1);
    re.lastIndex = Math.max(re.lastIndex, read.end);
    const bare = !QUOTE_CHARS.includes(text[assignment.at] ?? '');
    // A bare value that is called (`key = makeKey(...)`) or negated (`!!x.y`) is an expression, not a value.
    if (bare && (text[read.end] === '(' || /^[!~]/.test(read.value))) continue;
    if (assignment.crossed && !QUOTE_CHARS.includes(text[assignment.at] ?? '')) {
      const lineEnd = text.indexOf('\n', assignment.at);
      const rest = text.slice(read.end, lineEnd < 0 ? undefined : lineEnd);
      if (!/^[\s,;]*$/.test(rest) || read.value.endsWith(':')) continue;
    }
    const hit = judgeValue(assignment.name, read.value, minLength, minBits);
    if (hit) out.push({ name: assignment.name, index: m.index, hit });
  }
  return out;
}

/** Quote characters that open a quoted value. */
const QUOTE_CHARS = '"\'`';

/** Reads policy.secretEntropy, falling back to safe values when it is not usable (odd input never throws). */
function entropySettings(input: RuleInput): { minLength: number; minBits: number } {
  const s: unknown = input.policy?.secretEntropy;
  const o = (s !== null && typeof s === 'object' ? s : {}) as Partial<Record<string, unknown>>;
  const minLength = typeof o.minLength === 'number' && o.minLength >= 1 ? o.minLength : 20;
  const minBits = typeof o.minBitsPerChar === 'number' && o.minBitsPerChar >= 0 ? o.minBitsPerChar : 3.5;
  return { minLength, minBits };
}

/** Beyond known formats: random-looking values assigned to secret-like names. */
export const secretHighEntropy: Rule = {
  id: 'secret-high-entropy',
  summary:
    'An added line assigns a long, random-looking value (Shannon entropy per character at or above the threshold; hex values against 4/6 of it) to a name that says secret, token, password, pwd, passphrase, credential, auth or key (`KEY = "..."`, `"token": "..."`, `password: ...`, `X_SECRET=...`, `--token=...`); also a value on the line after its name (`TOKEN =`, `token:`, `key: |`, `KEY = (`), split over concatenated literals, escaped or encoded (the views of secret-views.ts). Skipped: values with spaces or with only one of lower case, upper case and digits (words), identifiers made of words, calls and negations (`key = makeKey(...)`, `!x`), URLs without a password, paths, `a.b.c` references, template placeholders, values saying example/placeholder/changeme/redacted/dummy, hex values of names saying sha/hash/digest/checksum/integrity/fingerprint/commit/etag/revision. Shown masked.',
  setting: '(none: secretEntropy of the policy, not configurable)',
  severity: 'block',
  check: (input) => {
    const lines = addedLinesOf(input.change);
    if (lines === undefined) return [];
    const { minLength, minBits } = entropySettings(input);
    const findings: Finding[] = [];
    const seen = new Set<string>();
    const report = (path: string, line: number, find: EntropyFind, how: string): void => {
      const { name, hit } = find;
      // One finding per name and line: a view (a placeholder dropped, literals joined) shows the same value.
      const key = `${path}\0${line}\0${name}`;
      if (seen.has(key)) return;
      seen.add(key);
      findings.push({
        path,
        line,
        message: `${printable(path)}:${line}: high-entropy value assigned to ${printable(name)}${afterWhat(how)}: ${hit.shown}, ${hit.bits.toFixed(2)} bits per character >= ${hit.threshold.toFixed(2)}${hit.hex ? ' (hex)' : ''}; a secret belongs in the CI secret store, not in the repository (thresholds: secretEntropy.minLength ${minLength}, minBitsPerChar ${minBits}; not configurable)`,
      });
    };
    // The lines as written: only those with a secret word (scanned) can hold a secret-like name.
    const usable = usableLines(lines);
    const { flags } = scanned(usable);
    for (let i = 0; i < usable.length; i++) {
      const l = usable[i]!;
      if ((flags[i]! & SECRET_WORD_FLAG) === 0 || l.text.length < minLength) continue;
      for (const find of entropyHits(l.text, minLength, minBits)) report(l.path, l.line, find, '');
    }
    for (const v of viewsOf(lines)) {
      if (v.text.length < minLength) continue;
      for (const find of entropyHits(v.text, minLength, minBits, v.multiLine)) {
        report(v.path, v.lineAt(find.index), find, v.how);
      }
    }
    return findings;
  },
};

// ---- secret files and unread content ------------------------------------------------------------------------

// ---- env templates --------------------------------------------------------------------------------------

/** `NAME=value` (or `export NAME=value`, `NAME: value`) of an env file. */
const ENV_ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][\w.-]*)\s*[=:]\s*(.*)$/;
/**
 * Values of an env template that are placeholders: empty; `<token>`, `${VAR}`, `$VAR`, `{{var}}`, `%VAR%`;
 * runs of x, *, ., _ or -; values saying your, example, sample, placeholder, changeme / change-me, replace,
 * todo, fixme, dummy, fake, redacted or here.
 */
const ENV_PLACEHOLDER =
  /^$|^<[^>]*>$|^\$\{[^}]*\}$|^\$[A-Za-z_]\w*$|^\{\{[^}]*\}\}$|^%[^%]+%$|^[xX]+$|^[*._-]+$|your|example|sample|placeholder|changeme|change[-_ ]me|replace|todo|fixme|dummy|fake|redacted|\bhere\b/i;
/** A name that says secret, token, password, ... (the words of SECRET_WORD, not global). */
const SECRET_NAME = /secret|token|passw|pwd|passphrase|credential|auth|key/i;
/** In a template, a value under a secret-like name looks real from this many characters on. */
const TEMPLATE_MIN_CHARS = 8;
/** ... and this many bits per character. */
const TEMPLATE_MIN_BITS = 3;

/** The value of an env line: unquoted, without a trailing comment (for unquoted values). */
function envValue(raw: string): string {
  const text = raw.trim();
  const q = text[0];
  if (q === '"' || q === "'" || q === '`') {
    const close = text.indexOf(q, 1);
    return close > 0 ? text.slice(1, close) : text.slice(1);
  }
  return text.replace(/\s+#.*$/, '');
}

/**
 * Why one line of an env template looks like a secret, or undefined when it does not (see
 * DEFAULT_ENV_TEMPLATE_PATHS): a known format anywhere in the line; else, for `NAME=value` lines whose
 * value is no placeholder (ENV_PLACEHOLDER), a secret-like name with a value of TEMPLATE_MIN_CHARS+ characters
 * mixing two kinds of characters at TEMPLATE_MIN_BITS+ bits per character, or any name with a high-entropy
 * value (the thresholds of `secret-high-entropy`).
 */
function templateSecret(text: string, minLength: number, minBits: number): string | undefined {
  const known = findSecrets(text);
  if (known.length > 0) return `${known[0]!.pattern.id}: ${maskSecret(known[0]!.secret)}`;
  const m = ENV_ASSIGNMENT.exec(text);
  if (m === null) return undefined;
  const name = m[1]!;
  const value = envValue(m[2]!);
  if (ENV_PLACEHOLDER.test(value) || /\s/.test(value)) return undefined;
  if (SECRET_NAME.test(name) && value.length >= TEMPLATE_MIN_CHARS) {
    const kinds =
      Number(/[a-z]/.test(value)) +
      Number(/[A-Z]/.test(value)) +
      Number(/[0-9]/.test(value)) +
      Number(/[^A-Za-z0-9]/.test(value));
    if (kinds >= 2 && shannonEntropy(value) >= TEMPLATE_MIN_BITS) {
      return `${printable(name)}=${maskSecret(value)}`;
    }
  }
  const hit = judgeValue(name, value, minLength, minBits);
  return hit === undefined ? undefined : `${printable(name)}=${hit.shown}`;
}

/** The lines of `path` to judge: its whole text when the facts have it, else its added lines. */
function templateLines(change: ChangeUnderReview, path: string): { line: number; text: string }[] {
  const whole: unknown = change.facts?.contents?.[path];
  if (typeof whole === 'string') return whole.split(/\r?\n/).map((text, i) => ({ line: i + 1, text }));
  return (addedLinesOf(change) ?? []).filter((l) => l?.path === path && typeof l.text === 'string');
}

/** Reads a glob list of the policy that may be absent (a policy built by an older tool): [] then. */
function optionalGlobs(list: unknown): readonly string[] {
  return Array.isArray(list) ? (list as string[]) : [];
}

// ---- secret files and unread content ------------------------------------------------------------------------

/** files named like secrets, even empty, any status. */
export const secretFile: Rule = {
  id: 'secret-file',
  summary:
    'A changed path (either side of a rename or copy; added, modified, deleted, even empty) named like a secret: .env*, *.pem, *.key, id_rsa*, credentials, .npmrc, .git-credentials, *.ppk, ... (case-insensitive, at any depth). Not source code named so (`credentials.ts`); env templates (`.env.example`, `.env.sample`, `.env.template`, `.env.dist`) only when a value looks like a secret.',
  setting: '(none: secretPaths of the policy, not configurable)',
  severity: 'block',
  check: (input) => {
    const secretPaths = compileGlobs(input.policy.secretPaths, 'catch', 'secretPaths');
    const exceptions = compileGlobs(optionalGlobs(input.policy.notSecretPaths), 'catch', 'notSecretPaths');
    const templates = compileGlobs(optionalGlobs(input.policy.envTemplatePaths), 'catch', 'envTemplatePaths');
    const { minLength, minBits } = entropySettings(input);
    const findings: Finding[] = [];
    const judged = new Set<string>();
    for (const t of namedPaths(input)) {
      const glob = secretPaths.firstGlob(t.info);
      if (glob === undefined || exceptions.matches(t.info)) continue;
      if (templates.matches(t.info)) {
        // A template is judged by what the change writes into it, once per path (a copy's source is not).
        if (t.old || t.file.status === 'deleted' || judged.has(t.path)) continue;
        judged.add(t.path);
        for (const l of templateLines(input.change, t.path)) {
          const why = templateSecret(l.text, minLength, minBits);
          if (why === undefined) continue;
          findings.push({
            path: t.path,
            line: l.line,
            message: `${t.label}:${l.line}: an env template holds a value that looks like a secret (${why}); a template may hold only empty values and placeholders (your-key-here, changeme, <token>, \${VAR}): remove the value and rotate it (not configurable)`,
          });
        }
        continue;
      }
      findings.push({
        path: t.path,
        message: `${t.label}: is named like a secret file (secret path glob ${show(glob)}); such files are never changed by the loop, whatever their content or status (not configurable)`,
      });
    }
    return findings;
  },
};

// ---- secrets in file names ------------------------------------------------------------------------------

/** Cheap test of a path: anything a secret in a name needs (a keyword, a long run, an escape, non-ASCII). */
const PATH_SUSPECT = /[A-Za-z0-9+_-]{20,}|[%\\&]|[^\x20-\x7e]/;

/** The secrets of known formats in one path segment, as written or decoded (escapes, base64, hex). */
function segmentSecrets(segment: string): PatternMatch[] {
  const found = findSecrets(segment);
  const normal = normalizeText(segment) ?? segment;
  const decoded = unescapeText(normal) ?? normal;
  if (decoded !== segment) found.push(...findSecrets(decoded));
  for (const run of decodedRuns(decoded)) found.push(...findSecrets(run.decoded));
  return found;
}

/** A token used as a file name is a secret in the change. */
export const secretInPath: Rule = {
  id: 'secret-in-path',
  summary:
    'A path the change writes (added, modified, or the new side of a rename or copy) holds a secret of a known format in one of its names (`src/ghp_….txt`), as written or after decoding URL-encoding, escapes, base64 or hex. The name is shown masked.',
  setting: '(none: always on; rename the file and rotate the secret)',
  severity: 'block',
  check: ({ change }) => {
    const findings: Finding[] = [];
    for (const file of filesOf(change)) {
      const path: unknown = file?.path;
      if (typeof path !== 'string' || file.status === 'deleted') continue;
      if (!PATH_SUSPECT.test(path) && !KEYWORDS.test(path)) continue;
      const segments = path.split('/');
      const masked: string[] = [];
      let first: PatternMatch | undefined;
      for (const segment of segments) {
        const found = segmentSecrets(segment);
        first ??= found[0];
        masked.push(found.length > 0 ? maskSecret(segment) : printable(segment));
      }
      if (first === undefined) continue;
      findings.push({
        path,
        message: `${masked.join('/')}: a file name holds a secret (${first.pattern.id}: ${first.pattern.description}): ${maskSecret(first.secret)}; rename the file and rotate the secret (no setting allows a detected secret)`,
      });
    }
    return findings;
  },
};

/** When in doubt the engine blocks: content rules that could not read the added lines. */
export const contentUnread: Rule = {
  id: 'content-unread',
  summary:
    'The added lines were not read (facts.addedLines absent), or fewer were read for a text file than git counts, so the content rules (secrets, forbidden commands) could not check them all.',
  setting: '(none: always on; the caller must read the added lines)',
  severity: 'block',
  check: ({ change }) => {
    const lines = addedLinesOf(change);
    if (lines === undefined) {
      return [
        {
          message:
            'added lines were not read; content rules (secrets, forbidden commands) could not run (the caller must pass facts.addedLines, read from the patch)',
        },
      ];
    }
    const read = new Map<string, number>();
    let lastPath: string | undefined;
    let run = 0;
    for (const l of lines) {
      const path: unknown = l?.path;
      if (path === lastPath) {
        run++;
        continue;
      }
      if (lastPath !== undefined) read.set(lastPath, (read.get(lastPath) ?? 0) + run);
      lastPath = typeof path === 'string' ? path : undefined;
      run = typeof path === 'string' ? 1 : 0;
    }
    if (lastPath !== undefined) read.set(lastPath, (read.get(lastPath) ?? 0) + run);
    const findings: Finding[] = [];
    for (const f of filesOf(change)) {
      if (f?.binary === true || f?.status === 'deleted' || typeof f?.path !== 'string') continue;
      if (!isCount(f.linesAdded) || f.linesAdded === 0) continue;
      const got = read.get(f.path) ?? 0;
      if (got >= f.linesAdded) continue;
      findings.push({
        path: f.path,
        message: `${printable(f.path)}: git counts ${f.linesAdded} added lines but ${got} were read; content rules (secrets, forbidden commands) could not check the rest`,
      });
    }
    return findings;
  },
};

/** The secret rules, in evaluation order (content-unread first: it explains why the others found nothing). */
export const SECRET_RULES: readonly Rule[] = Object.freeze([
  contentUnread,
  secretDetected,
  secretHighEntropy,
  secretFile,
  secretInPath,
]);
