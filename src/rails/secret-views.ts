/**
 * What a secret scan must look at besides the added lines as written: the same text with its obvious
 * encodings undone. Issue #7 class 10: a token split over concatenated literals, written with string escapes,
 * base64-encoded or put on the line after its `=` passed the rails. This module turns the added lines of one
 * file into "views" the secret rules scan like a line:
 *
 * - normalised: invisible characters removed (zero-width spaces and joiners, soft hyphens, bidi marks: Unicode
 *   format characters), full-width forms folded (NFKC), so `ｇｈｐ＿…` or `gh\u200Bp_…` reads `ghp_…`;
 * - unescaped: string escapes decoded (`\uXXXX`, `\u{…}`, `\UXXXXXXXX`, `\xXX`, `\x{…}`, octal `\NNN`, `\/` and
 *   the other one-character escapes), URL-encoding (`%67`) and HTML character references (`&#103;`, `&#x67;`,
 *   a few named ones such as `&lowbar;`);
 * - joined: adjacent string literals glued (`"ab" + "cd"`, `'ab' 'cd'`, `"ab" . "cd"`, `"ab" .. "cd"`,
 *   `"ab" & "cd"`, `"ab" || "cd"`, `"ab" <> "cd"`, `"ab" ~ "cd"`, `"ab" \` + newline + `"cd"`, `["ab", "cd"]`
 *   when the text says `join`) and template placeholders (`${…}`) dropped, also across consecutive added lines
 *   (one ends with an operator, a backslash or an open bracket, or ends with a quote and the next starts
 *   with one), and a value on the line after its assignment (`TOKEN =`, `token:`, `"token":`, `key: |`);
 * - decoded: runs of base64 (standard or URL-safe, 20 to MAX_RUN characters), of hexadecimal (32 or more
 *   digits) and lists of 16 or more character codes (`103, 104, 112` or `0x67, 0x68`), decoded when the
 *   result is text, twice at most (base64 of base64);
 * - reversed (`….split('').reverse()`, `[::-1]`) and ROT13 (`codecs.decode(…, 'rot13')`) when the text says so.
 *
 * Work is linear in the text: each step is one pass over its input, decoding stops at the first byte that
 * is not text, runs are capped (MAX_RUN), and nesting is bounded (MAX_DEPTH). Pure: no I/O.
 */
import {
  LiteralSet,
  SCAN_ESCAPE,
  SCAN_GLUE,
  SCAN_LONG_RUN,
  SCAN_MANY_COMMAS,
  SCAN_NOT_ASCII,
  scanText,
} from './literals.js';
import type { AddedLine } from './types.js';

/** A text to scan for secrets, with the added line each of its offsets comes from. */
export interface View {
  /** Path of the file the text comes from. */
  readonly path: string;
  readonly text: string;
  /**
   * What was undone to get `text` and which lines it spans, for messages ("after decoding escapes and joining
   * concatenated literals, across lines 3-4"); '' for none.
   */
  readonly how: string;
  /** True when the text holds more than one added line (a value may sit on the line after its name). */
  readonly multiLine: boolean;
  /** True when `text` differs from the added lines as written (decoded, joined, normalised). */
  readonly changed: boolean;
  /** The 1-based line number of the added line `offset` (a UTF-16 index into `text`) comes from. */
  lineAt(offset: number): number;
}

/** Longest run (base64, hex, character codes) decoded, in characters: bounds the work per run. */
export const MAX_RUN = 8192;
/** Shortest base64 run decoded (15 bytes: shorter ones cannot hold a token and its prefix). */
export const MIN_BASE64_RUN = 20;
/** Decoding inside decoded text goes this deep at most (base64 of base64). */
const MAX_DEPTH = 2;
/** A chain of joined lines is cut after this many characters (a new chain starts there). */
const MAX_CHAIN_CHARS = 1 << 20;

// ---- normalisation --------------------------------------------------------------------------------------

/**
 * Invisible characters: Unicode format characters (category Cf: soft hyphen, zero-width space/joiners, bidi
 * marks and controls, word joiner, invisible operators, BOM, tag characters), the Mongolian vowel separator,
 * the Hangul fillers and variation selectors.
 */
// eslint-disable-next-line no-misleading-character-class -- removing combining variation selectors is the point
const INVISIBLE = /[\p{Cf}\u115F\u1160\u180E\u3164\uFFA0\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/gu;
/** Full-width ASCII forms and the ideographic space: folded by NFKC. */
const FULL_WIDTH = /[\u3000\uFF01-\uFF5E]/;
/** Cheap test: any character outside printable ASCII. */
const NOT_ASCII = /[^\x20-\x7e\t]/;

/** `text` without invisible characters and with full-width forms folded, or undefined when unchanged. */
export function normalizeText(text: string): string | undefined {
  if (!NOT_ASCII.test(text)) return undefined;
  let out = text.replace(INVISIBLE, '');
  if (FULL_WIDTH.test(out)) out = out.normalize('NFKC');
  return out === text ? undefined : out;
}

// ---- escapes --------------------------------------------------------------------------------------------

/** Cheap test for anything unescapeText decodes. */
const ESCAPE_TRIGGER = /\\[\\uUxX0-7/'"`$nrtfvb ]|%[0-9A-Fa-f]{2}|&#|&[A-Za-z]{2,10};/;

/** Named HTML character references that spell characters of tokens (and the usual markup ones). */
const HTML_NAMED: Readonly<Record<string, string>> = Object.freeze({
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  lowbar: '_',
  UnderBar: '_',
  hyphen: '-',
  dash: '-',
  period: '.',
  sol: '/',
  colon: ':',
  commat: '@',
  equals: '=',
  plus: '+',
  num: '#',
  percnt: '%',
  dollar: '$',
  nbsp: ' ',
});

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The value of exactly `n` hex digits at `at`, or -1. */
function hexRun(text: string, at: number, n: number): number {
  if (at + n > text.length) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const h = hexValue(text.charCodeAt(at + i));
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/** A code point as text; control characters become a space (a token never holds one). */
function charOf(cp: number): string {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return ' ';
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(cp);
}

/** Decodes consecutive `%XX` bytes at `at` as UTF-8 (Latin-1 when they are not UTF-8). */
function percentRun(text: string, at: number): { decoded: string; end: number } | undefined {
  const bytes: number[] = [];
  let i = at;
  while (i + 2 < text.length + 0 && text.charCodeAt(i) === 37) {
    const v = hexRun(text, i + 1, 2);
    if (v < 0) break;
    bytes.push(v);
    i += 3;
  }
  if (bytes.length === 0) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(bytes.map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
  } catch {
    decoded = String.fromCharCode(...bytes);
  }
  return { decoded: Array.from(decoded, (c) => charOf(c.codePointAt(0)!)).join(''), end: i };
}

/**
 * `text` with its string escapes, URL-encoding and HTML character references decoded (see the module docs),
 * or undefined when it has none. One pass; decoded control characters become spaces.
 */
export function unescapeText(text: string): string | undefined {
  if (!ESCAPE_TRIGGER.test(text)) return undefined;
  const parts: string[] = [];
  let last = 0;
  let changed = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    let decoded: string | undefined;
    let end = i;
    if (c === 92 && i + 1 < n) {
      const e = text[i + 1]!;
      if (e === 'u' && text[i + 2] === '{') {
        const close = text.indexOf('}', i + 3);
        const v = close > i + 3 && close - i - 3 <= 6 ? hexRun(text, i + 3, close - i - 3) : -1;
        if (v >= 0) [decoded, end] = [charOf(v), close + 1];
      } else if (e === 'u') {
        const v = hexRun(text, i + 2, 4);
        if (v >= 0) {
          // A surrogate pair written as two escapes.
          const low =
            v >= 0xd800 && v <= 0xdbff && text.startsWith('\\u', i + 6) ? hexRun(text, i + 8, 4) : -1;
          if (low >= 0xdc00 && low <= 0xdfff) {
            [decoded, end] = [String.fromCodePoint(0x10000 + ((v - 0xd800) << 10) + (low - 0xdc00)), i + 12];
          } else [decoded, end] = [charOf(v), i + 6];
        }
      } else if (e === 'U') {
        const v = hexRun(text, i + 2, 8);
        if (v >= 0) [decoded, end] = [charOf(v), i + 10];
      } else if (e === 'x' || e === 'X') {
        if (text[i + 2] === '{') {
          const close = text.indexOf('}', i + 3);
          const v = close > i + 3 && close - i - 3 <= 6 ? hexRun(text, i + 3, close - i - 3) : -1;
          if (v >= 0) [decoded, end] = [charOf(v), close + 1];
        } else {
          const two = hexRun(text, i + 2, 2);
          const one = two < 0 ? hexRun(text, i + 2, 1) : -1;
          if (two >= 0) [decoded, end] = [charOf(two), i + 4];
          else if (one >= 0) [decoded, end] = [charOf(one), i + 3];
        }
      } else if (e >= '0' && e <= '7') {
        let v = 0;
        let j = i + 1;
        while (
          j < n &&
          j < i + 4 &&
          text[j]! >= '0' &&
          text[j]! <= '7' &&
          v * 8 + (text.charCodeAt(j) - 48) <= 255
        ) {
          v = v * 8 + (text.charCodeAt(j) - 48);
          j++;
        }
        [decoded, end] = [charOf(v), j];
      } else if ('nrtfvb'.includes(e)) {
        [decoded, end] = [' ', i + 2];
      } else if ('\\/\'"`$ '.includes(e)) {
        [decoded, end] = [e, i + 2];
      }
    } else if (c === 37) {
      const run = percentRun(text, i);
      if (run !== undefined) [decoded, end] = [run.decoded, run.end];
    } else if (c === 38 && i + 3 < n) {
      const semi = text.indexOf(';', i + 2);
      if (semi > 0 && semi - i <= 12) {
        const body = text.slice(i + 1, semi);
        let v = -1;
        if (/^#[0-9]{1,7}$/.test(body)) v = Number(body.slice(1));
        else if (/^#[xX][0-9a-fA-F]{1,6}$/.test(body)) v = Number.parseInt(body.slice(2), 16);
        if (v >= 0) [decoded, end] = [charOf(v), semi + 1];
        else if (Object.hasOwn(HTML_NAMED, body)) [decoded, end] = [HTML_NAMED[body]!, semi + 1];
      }
    }
    if (decoded === undefined) continue;
    parts.push(text.slice(last, i), decoded);
    last = end;
    i = end - 1;
    changed = true;
  }
  if (!changed) return undefined;
  parts.push(text.slice(last));
  return parts.join('');
}

// ---- joining literals -----------------------------------------------------------------------------------

/**
 * What glues two string literals into one: a closing quote, an operator of some language (`+` JS/Java/Python,
 * `.` PHP/Perl, `..` Lua, `&` VB, `||` SQL, `<>` Elixir, `++` Haskell, `^` OCaml, `~` D/Raku), a backslash
 * line continuation or nothing (C, Python and shell juxtaposition), an opening quote; and a template
 * placeholder `${…}`. GLUE_COMMA also glues list items (`["ab", "cd"].join("")`).
 */
const GLUE = /["'`]\s*(?:(?:\+\+?|\.\.?|&|\|\||<>|\^|~|\\)\s*)?["'`]|\$\{[^{}\n]{0,200}\}/g;
const GLUE_COMMA = /["'`]\s*(?:(?:\+\+?|\.\.?|&|\|\||<>|\^|~|\\|,)\s*)?["'`]|\$\{[^{}\n]{0,200}\}/g;
/** Cheap test: anything GLUE could match. */
const GLUE_TRIGGER = /["'`]\s*(?:\+\+?|\.\.?|&|\|\||<>|\^|~|\\|,)?\s*["'`]|\$\{/;

/** Text with glue removed, and how to map its offsets back to the input's. */
interface Joined {
  text: string;
  /** Output offsets where a removed region was, and how many input characters were removed up to there. */
  at: number[];
  removed: number[];
}

/** `text` with the glue between literals removed (see GLUE), or undefined when there is none. */
export function joinLiterals(text: string): Joined | undefined {
  if (!GLUE_TRIGGER.test(text)) return undefined;
  const re = /join/i.test(text) ? GLUE_COMMA : GLUE;
  re.lastIndex = 0;
  const parts: string[] = [];
  const at: number[] = [];
  const removed: number[] = [];
  let last = 0;
  let out = 0;
  let total = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    parts.push(text.slice(last, m.index));
    out += m.index - last;
    total += m[0].length;
    at.push(out);
    removed.push(total);
    last = m.index + m[0].length;
  }
  if (at.length === 0) return undefined;
  parts.push(text.slice(last));
  return { text: parts.join(''), at, removed };
}

/** Index of the last element of ascending `values` that is <= `x` (-1 when none). */
function lastAtMost(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

// ---- runs of encoded text -------------------------------------------------------------------------------

/**
 * Runs of base64 (standard alphabet, or URL-safe) or hex characters, MIN_BASE64_RUN or more; the look-behind
 * makes a run start only where the previous character cannot belong to it (linear: no retry inside a short
 * word). A run mixing `/` with `-` or `_` is a path and splits into shorter runs.
 */
const BASE64_RUN = /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{20,}|(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{20,}/g;
/** Cheap test before CHAR_CODES: three numbers in a comma-separated list. */
const CHAR_CODES_HINT =
  /(?:\d{2,3}|0x[0-9a-fA-F]{1,2})\s*,\s*(?:\d{2,3}|0x[0-9a-fA-F]{1,2})\s*,\s*(?:\d{2,3}|0x[0-9a-fA-F]{1,2})\b/;
/** Lists of character codes: 16 or more numbers (2-3 decimal digits, or 0x and 1-2 hex digits) in a row. */
const CHAR_CODES =
  /(?:(?:0x[0-9a-fA-F]{1,2}|\d{2,3})\b[^0-9A-Za-z\n]{1,6}){15,}(?:0x[0-9a-fA-F]{1,2}|\d{2,3})\b/g;

const B64_VALUES = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i;
  table[45] = 62; // '-' (URL-safe)
  table[95] = 63; // '_' (URL-safe)
  return table;
})();

/** Decoded bytes of the run being decoded (one run at a time: decoding allocates nothing until it succeeds). */
const BYTES = new Uint8Array(MAX_RUN);
const UTF8 = new TextDecoder('utf-8');

/**
 * Puts decoded byte `b` at BYTES[n] when it may be text: printable ASCII, tab, CR, LF, or a byte >= 0x80
 * (UTF-8). Returns the new count, or -1 for a control character (the data is not text).
 */
function put(n: number, b: number): number {
  if ((b < 0x20 && b !== 9 && b !== 10 && b !== 13) || b === 0x7f) return -1;
  BYTES[n] = b;
  return n + 1;
}

/** BYTES[0..n) as text when at least `min` bytes and at most 1 in 10 of them are not ASCII, else undefined. */
function bytesText(n: number, min: number): string | undefined {
  if (n < min) return undefined;
  let high = 0;
  for (let i = 0; i < n; i++) if (BYTES[i]! >= 0x80) high++;
  if (high * 10 > n) return undefined;
  return UTF8.decode(BYTES.subarray(0, n));
}

/**
 * `text[start, end)` (at most MAX_RUN characters) decoded as base64 (standard or URL-safe; padding and a
 * dangling last character ignored) when the result is text, else undefined. Stops at the first byte that is
 * not text.
 */
export function decodeBase64(text: string, start = 0, end = text.length): string | undefined {
  let stop = Math.min(end, start + MAX_RUN);
  while (stop > start && text.charCodeAt(stop - 1) === 61) stop--;
  if ((stop - start) % 4 === 1) stop--;
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = start; i < stop; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64_VALUES[c]! : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      n = put(n, (acc >> bits) & 0xff);
      if (n < 0) return undefined;
    }
  }
  return bytesText(n, 12);
}

/** `text[start, end)` (hex digits, at most MAX_RUN) decoded when the result is text, else undefined. */
export function decodeHex(text: string, start = 0, end = text.length): string | undefined {
  const stop = Math.min(end, start + MAX_RUN);
  let n = 0;
  for (let i = start; i + 1 < stop; i += 2) {
    const hi = hexValue(text.charCodeAt(i));
    const lo = hexValue(text.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return undefined;
    n = put(n, hi * 16 + lo);
    if (n < 0) return undefined;
  }
  return bytesText(n, 16);
}

/** A list of character codes (`103, 104` or `0x67, 0x68`) decoded when every code is printable ASCII. */
export function decodeCharCodes(run: string): string | undefined {
  const out: string[] = [];
  for (const m of run.matchAll(/0x[0-9a-fA-F]{1,2}|\d{2,3}/g)) {
    const v = m[0].startsWith('0') && m[0][1] === 'x' ? Number.parseInt(m[0].slice(2), 16) : Number(m[0]);
    if (v < 0x20 || v > 0x7e) return undefined;
    out.push(String.fromCharCode(v));
  }
  return out.length >= 16 ? out.join('') : undefined;
}

/** A run decoded: where it starts in its text, the decoded text, and what it was (base64, hex, ...). */
export interface DecodedRun {
  index: number;
  decoded: string;
  how: string;
}

/** Decodes the base64 or hex candidate run text[start, end); undefined when it is not text. */
function decodeRun(text: string, start: number, end: number): DecodedRun | undefined {
  const length = end - start;
  if (length >= 32 && length % 2 === 0) {
    let hex = true;
    for (let i = start; i < end && hex; i++) hex = hexValue(text.charCodeAt(i)) >= 0;
    const decoded = hex ? decodeHex(text, start, end) : undefined;
    if (decoded !== undefined) return { index: start, decoded, how: 'hex' };
  }
  const decoded = decodeBase64(text, start, end);
  return decoded === undefined ? undefined : { index: start, decoded, how: 'base64' };
}

/** The shared empty result of decodedRuns (most texts have no run): never pushed to. */
const NO_RUNS: DecodedRun[] = [];

/**
 * Every decodable run of `text` (see the module docs), in text order of the kinds: runs of base64 or hex
 * characters of MIN_BASE64_RUN+ characters (found by one pass over the text, each run decoded up to MAX_RUN
 * characters and only while it decodes to text), then lists of character codes (only in a text with 15 or
 * more commas).
 */
export function decodedRuns(text: string): DecodedRun[] {
  let out = NO_RUNS;
  BASE64_RUN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = BASE64_RUN.exec(text)) !== null) {
    const run = decodeRun(text, m.index, m.index + m[0].length);
    if (run !== undefined) (out === NO_RUNS ? (out = []) : out).push(run);
  }
  if (CHAR_CODES_HINT.test(text)) {
    CHAR_CODES.lastIndex = 0;
    while ((m = CHAR_CODES.exec(text)) !== null) {
      const decoded = decodeCharCodes(m[0].length > MAX_RUN ? m[0].slice(0, MAX_RUN) : m[0]);
      if (decoded !== undefined) {
        (out === NO_RUNS ? (out = []) : out).push({ index: m.index, decoded, how: 'character codes' });
      }
    }
  }
  return out;
}

// ---- chains of lines ------------------------------------------------------------------------------------

/** Characters that, ending a line, glue its literal to one starting the next line (operators, `\`, `(`). */
const GLUE_END = new Set('+.&~|^\\(<>'.split(''));
/** Characters that, starting a line, glue its literal to one ending the previous line. */
const GLUE_START = new Set('+.&~|^'.split(''));
const QUOTES = new Set(['"', "'", '`']);
/** Last characters of a line that ends with an assignment: `=`, `:`, `=>`, `:=`, `(`, `\`. */
const ASSIGNMENT_LAST = new Set('=:(\\>'.split(''));
/** A YAML block scalar indicator after `:` ending a line (`key: |`, `key: >-`, `key: |2`). */
const BLOCK_SCALAR_END = /:[ \t]*[|>][-+]?[0-9]?[ \t\r]*$/;
/** Words of a secret-like name (those of secret-high-entropy): only their values are read on the next line. */
const SECRET_WORDS = /secret|token|passw|pwd|passphrase|credential|auth|key/i;

/** Last non-space character of `text` ('' when none). */
function lastChar(text: string): string {
  let i = text.length - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r')) i--;
  return i >= 0 ? text[i]! : '';
}

/** First non-space character of `text` ('' when none). */
function firstChar(text: string): string {
  let i = 0;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  return i < text.length ? text[i]! : '';
}

/**
 * True when added line `next` continues `cur` (the line before it in the same file): a literal split over
 * them (`cur` ends with a glue operator, a backslash, an opening parenthesis or a quote, and `next` starts
 * with a quote; or `cur` ends with a quote and `next` starts with an operator), or `cur` ends with an
 * assignment after a secret-like name (its value is on `next`).
 */
function continues(cur: AddedLine, next: AddedLine): boolean {
  if (next.line !== cur.line + 1 || next.path !== cur.path) return false;
  const start = firstChar(next.text);
  if (start === '') return false;
  const end = lastChar(cur.text);
  if (QUOTES.has(start) && (QUOTES.has(end) || GLUE_END.has(end))) return true;
  if (QUOTES.has(end) && GLUE_START.has(start)) return true;
  if (
    !ASSIGNMENT_LAST.has(end) &&
    !(
      (end === '|' || end === '-' || end === '+' || (end >= '0' && end <= '9')) &&
      BLOCK_SCALAR_END.test(cur.text)
    )
  ) {
    return false;
  }
  return SECRET_WORDS.test(cur.text);
}

/** How a view's text was made, in words: its steps and the lines it spans. */
function describe(steps: readonly string[], span: string): string {
  const done = steps.length === 0 ? '' : `after ${steps.join(' and ')}`;
  return done === '' ? span : span === '' ? done : `${done}, ${span}`;
}

/** A view over one piece of text from a single line. */
function lineView(path: string, text: string, how: string, line: number, multiLine = false): View {
  return { path, text, how, multiLine, changed: true, lineAt: () => line };
}

/** Views of decoded runs (and, inside them, escapes and runs again) of `text`. */
function pushDecoded(
  out: View[],
  path: string,
  text: string,
  lineAt: number | ((offset: number) => number),
  how: string,
  depth: number,
): void {
  for (const run of decodedRuns(text)) {
    const line = typeof lineAt === 'number' ? lineAt : lineAt(run.index);
    const what = `${how === '' ? 'after ' : `${how}, then `}decoding ${run.how}`;
    const decoded = unescapeText(run.decoded) ?? run.decoded;
    out.push(lineView(path, decoded, what, line, decoded.includes('\n')));
    if (depth + 1 < MAX_DEPTH) pushDecoded(out, path, decoded, line, what, depth + 1);
  }
}

/** Words that say a text is stored reversed or ROT13-encoded. */
const TRANSFORM_WORDS = /reverse|strrev|\[::-1\]|rot[-_ ]?13/i;
const REVERSE_WORDS = /reverse|strrev|\[::-1\]/gi;
const ROT13_WORDS = /rot[-_ ]?13/gi;
/** Characters read before and after such a word: the literal it applies to is there. */
const TRANSFORM_BEFORE = 1024;
const TRANSFORM_AFTER = 256;

/** The windows around the matches of global `words` in `text`, overlapping ones merged: [start, end) pairs. */
function windows(text: string, words: RegExp): [number, number][] {
  const out: [number, number][] = [];
  words.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = words.exec(text)) !== null) {
    const start = Math.max(0, m.index - TRANSFORM_BEFORE);
    const end = Math.min(text.length, m.index + m[0].length + TRANSFORM_AFTER);
    const last = out[out.length - 1];
    if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

/** `text` reversed (by UTF-16 code unit, pairs kept together). */
function reversed(text: string): string {
  return Array.from(text).reverse().join('');
}

/** `text` with ASCII letters rotated by 13. */
function rot13(text: string): string {
  return text.replace(/[A-Za-z]/g, (c) => {
    const base = c <= 'Z' ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });
}

/**
 * Reversed and ROT13 views of `text` where it says it holds one (`….split('').reverse()`, `[::-1]`,
 * `strrev(…)`, `codecs.decode(…, 'rot13')`): the text within TRANSFORM_BEFORE characters before and
 * TRANSFORM_AFTER after each such word, undone. Overlapping windows are merged, so the work stays linear.
 */
function pushTransformed(out: View[], path: string, text: string, line: number): void {
  if (!TRANSFORM_WORDS.test(text)) return;
  for (const [start, end] of windows(text, REVERSE_WORDS)) {
    out.push(lineView(path, reversed(text.slice(start, end)), 'after reversing the text', line));
  }
  for (const [start, end] of windows(text, ROT13_WORDS)) {
    out.push(lineView(path, rot13(text.slice(start, end)), 'after decoding ROT13', line));
  }
}

/** A line that closes one. */
const KEY_BLOCK_END = /-----END|Private-MAC:/i;
/** Lines read after a key block's first line, at most. */
const MAX_KEY_BLOCK_LINES = 400;

/**
 * A key block: added line `i`, which opens a private key, with the consecutive added lines after it up to its
 * end marker (at most MAX_KEY_BLOCK_LINES), as one multi-line view.
 */
function pushKeyBlock(out: View[], lines: readonly AddedLine[], i: number): void {
  let j = i + 1;
  while (
    j < lines.length &&
    j - i <= MAX_KEY_BLOCK_LINES &&
    lines[j]!.line === lines[j - 1]!.line + 1 &&
    lines[j]!.path === lines[i]!.path &&
    !KEY_BLOCK_END.test(lines[j - 1]!.text)
  ) {
    j++;
  }
  if (j - i < 2) return;
  const text = lines
    .slice(i, j)
    .map((l) => l.text)
    .join('\n');
  const first = lines[i]!.line;
  out.push({
    path: lines[i]!.path,
    text,
    how: `across lines ${first}-${lines[j - 1]!.line}`,
    multiLine: true,
    changed: true,
    lineAt: () => first,
  });
}

// ---- which lines need a closer look -----------------------------------------------------------------------

/** What a line may hide, as bits of its flags (see scanFlags and scanText in literals.ts). */
export const NOT_ASCII_FLAG = SCAN_NOT_ASCII;
/** An escape, URL-encoding or an HTML reference may be there. */
export const ESCAPE_FLAG = SCAN_ESCAPE;
/** Literals glued together, or a template placeholder. */
export const GLUE_FLAG = SCAN_GLUE;
/** A run that may be base64 or hex (also where a keywordless token format can be). */
export const LONG_RUN_FLAG = SCAN_LONG_RUN;
/** 15 commas or more: a list of character codes may be there. */
export const MANY_COMMAS_FLAG = SCAN_MANY_COMMAS;
/** A word of TRIGGER_WORDS: reversed or ROT13 text, a key block, a joined list. */
export const WORD_FLAG = 32;
/** Every flag. */
export const ALL_FLAGS = 63;

/** Words that make a line worth a closer look (found with the secret rules' keywords, in the same scan). */
export const TRIGGER_WORDS: readonly string[] = Object.freeze([
  'reverse',
  'strrev',
  '[::-1]',
  'rot13',
  'rot_13',
  'rot-13',
  'rot 13',
  'private key',
  'putty-user-key-file-',
  'join(',
]);

const WORDS = new LiteralSet(TRIGGER_WORDS);

/** The flags of one line (scanText with TRIGGER_WORDS only; the secret rules scan keywords and words at once). */
export function scanFlags(text: string): number {
  const hits: number[] = [];
  const flags = scanText(text, WORDS, hits);
  return flags | (hits.length > 0 ? WORD_FLAG : 0);
}

/** A line that opens a key block spread over the following lines (PEM, OpenSSH, OpenPGP, PuTTY). */
const KEY_BLOCK_START = /private key|putty-user-key-file-/i;

/** The views of one added line that forms a chain by itself (the common case: no arrays, no closures). */
function pushLine(out: View[], l: AddedLine, flags: number): void {
  let t = l.text;
  let how = '';
  const norm = (flags & NOT_ASCII_FLAG) !== 0 ? normalizeText(t) : undefined;
  if (norm !== undefined) t = norm;
  const unesc = (flags & (ESCAPE_FLAG | NOT_ASCII_FLAG)) !== 0 ? unescapeText(t) : undefined;
  if (unesc !== undefined) t = unesc;
  const joined = (flags & GLUE_FLAG) !== 0 ? joinLiterals(t) : undefined;
  if (joined !== undefined) t = joined.text;
  if (t !== l.text) {
    const steps: string[] = [];
    if (norm !== undefined) steps.push('removing invisible characters and folding full-width ones');
    if (unesc !== undefined) steps.push('decoding escapes');
    if (joined !== undefined) steps.push('joining concatenated literals');
    how = describe(steps, '');
    out.push(lineView(l.path, t, how, l.line));
  }
  if ((flags & WORD_FLAG) !== 0) pushTransformed(out, l.path, t, l.line);
  // Runs and character codes: in the changed text (joined pieces may make one), else in the line as written.
  if (t !== l.text || (flags & (LONG_RUN_FLAG | MANY_COMMAS_FLAG)) !== 0) {
    pushDecoded(out, l.path, t, l.line, how, 0);
  }
}

/**
 * The views of added lines (`lines`, grouped by file, each file's in order) that differ from the lines as
 * written (see the module docs): the lines themselves are not repeated here. Lines are chained when they are
 * consecutive in the file and one continues the other; a chain holding more than one line, or a line that
 * changed when normalised, unescaped or joined, gives a view; every decodable run gives one; and each private
 * key block spread over lines, each list joined over lines, each reversed or ROT13 text gives one. `flags`
 * (one per line, see scanFlags; computed here when absent) gate every step, so a line with nothing to undo
 * costs no regex call. Linear in the text.
 */
export function viewsOfLines(lines: readonly AddedLine[], flags?: Uint8Array): View[] {
  const n = lines.length;
  const f = flags ?? Uint8Array.from(lines, (l) => scanFlags(l.text));
  const out: View[] = [];
  let i = 0;
  while (i < n) {
    // One chain: lines i..j-1.
    let j = i + 1;
    let size = lines[i]!.text.length;
    while (j < n && size < MAX_CHAIN_CHARS && continues(lines[j - 1]!, lines[j]!)) {
      size += lines[j]!.text.length + 1;
      j++;
    }
    if (j > i + 1) pushChain(out, lines, i, j);
    else if (f[i] !== 0) pushLine(out, lines[i]!, f[i]!);
    i = j;
  }
  for (let k = 0; k < n; k++) {
    if ((f[k]! & WORD_FLAG) === 0) continue;
    const text = lines[k]!.text;
    if (KEY_BLOCK_START.test(text)) pushKeyBlock(out, lines, k);
    if (text.includes('join(')) pushJoinWindow(out, lines, k);
  }
  return out;
}

/** Lines read on each side of a line that says `join`, for a list of literals joined into one. */
const JOIN_WINDOW = 32;

/**
 * A list of literals spread over lines and joined into one (`[` / `"ab",` / `"cd",` / `].join("")`, or
 * Python's `"".join([` ...): for added line `k`, which says `join(`, the consecutive added lines of its file
 * within JOIN_WINDOW lines either side, with list items glued, as one view when that glues something.
 */
function pushJoinWindow(out: View[], lines: readonly AddedLine[], k: number): void {
  const l = lines[k]!;
  let i = k;
  while (
    i > 0 &&
    k - i < JOIN_WINDOW &&
    lines[i - 1]!.path === l.path &&
    lines[i - 1]!.line === lines[i]!.line - 1
  ) {
    i--;
  }
  let j = k + 1;
  while (
    j < lines.length &&
    j - k <= JOIN_WINDOW &&
    lines[j]!.path === l.path &&
    lines[j]!.line === lines[j - 1]!.line + 1
  ) {
    j++;
  }
  if (j - i < 2) return;
  const texts = lines.slice(i, j).map((x) => unescapeText(x.text) ?? x.text);
  const joined = joinLiterals(texts.join('\n'));
  if (joined === undefined) return;
  const line = l.line;
  const how = `after joining a list of literals, across lines ${lines[i]!.line}-${lines[j - 1]!.line}`;
  out.push({ path: l.path, text: joined.text, how, multiLine: true, changed: true, lineAt: () => line });
}

/** The views of a chain of two or more lines, lines[i..j-1]. */
function pushChain(out: View[], lines: readonly AddedLine[], i: number, j: number): void {
  const path = lines[i]!.path;
  const steps: string[] = [];
  const texts: string[] = [];
  let normalized = false;
  let unescaped = false;
  for (let k = i; k < j; k++) {
    let t = lines[k]!.text;
    const norm = normalizeText(t);
    if (norm !== undefined) [t, normalized] = [norm, true];
    const unesc = unescapeText(t);
    if (unesc !== undefined) [t, unescaped] = [unesc, true];
    texts.push(t);
  }
  if (normalized) steps.push('removing invisible characters and folding full-width ones');
  if (unescaped) steps.push('decoding escapes');
  const chainText = texts.join('\n');
  const joined = joinLiterals(chainText);
  if (joined !== undefined) steps.push('joining concatenated literals');
  const text = joined?.text ?? chainText;
  // Offsets of `text` -> line numbers: undo the glue removal, then find the chain line.
  const starts: number[] = [];
  let offset = 0;
  for (const t of texts) {
    starts.push(offset);
    offset += t.length + 1;
  }
  const first = lines[i]!.line;
  const lineAt = (at: number): number => {
    let input = at;
    if (joined !== undefined) {
      const k = lastAtMost(joined.at, at);
      if (k >= 0) input += joined.removed[k]!;
    }
    return first + Math.max(0, lastAtMost(starts, input));
  };
  const how = describe(steps, `across lines ${first}-${lines[j - 1]!.line}`);
  const changed = normalized || unescaped || joined !== undefined;
  out.push({ path, text, how, multiLine: true, changed, lineAt });
  pushDecoded(out, path, text, lineAt, how, 0);
  pushTransformed(out, path, text, first);
}
