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

/** Candidate runs: base64 (standard or URL-safe alphabet, optional padding) or lists of character codes. */
const RUN =
  /[A-Za-z0-9+/_-]{20,}={0,2}|(?:(?:0x[0-9a-fA-F]{1,2}|\d{2,3})\b[^0-9A-Za-z\n]{1,6}){15,}(?:0x[0-9a-fA-F]{1,2}|\d{2,3})\b/g;
const HEX_ONLY = /^[0-9a-fA-F]+$/;

const B64_VALUES = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i;
  table[45] = 62; // '-' (URL-safe)
  table[95] = 63; // '_' (URL-safe)
  return table;
})();

/** Accepts a decoded byte as text: printable ASCII, tab, CR, LF; counts others as `high` (UTF-8). */
class TextSink {
  private readonly codes: number[] = [];
  private high = 0;
  /** False once a byte shows the data is not text (a control character). */
  push(b: number): boolean {
    if (b >= 0x80) this.high++;
    else if ((b < 0x20 && b !== 9 && b !== 10 && b !== 13) || b === 0x7f) return false;
    this.codes.push(b);
    return true;
  }
  /** The text, or undefined when too much of it is not ASCII (more than 1 byte in 10) or it is short. */
  result(min: number): string | undefined {
    if (this.codes.length < min || this.high * 10 > this.codes.length) return undefined;
    const bytes = Uint8Array.from(this.codes);
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/** `run` decoded as base64 when the result is text, else undefined. Stops at the first non-text byte. */
export function decodeBase64(run: string): string | undefined {
  const body = run.replace(/=+$/, '');
  const usable = body.length - (body.length % 4 === 1 ? 1 : 0);
  const sink = new TextSink();
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < usable; i++) {
    const c = body.charCodeAt(i);
    const v = c < 128 ? B64_VALUES[c]! : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (!sink.push((acc >> bits) & 0xff)) return undefined;
    }
  }
  return sink.result(12);
}

/** `run` (an even number of hex digits) decoded when the result is text, else undefined. */
export function decodeHex(run: string): string | undefined {
  const sink = new TextSink();
  for (let i = 0; i + 1 < run.length; i += 2) {
    if (!sink.push(hexValue(run.charCodeAt(i)) * 16 + hexValue(run.charCodeAt(i + 1)))) return undefined;
  }
  return sink.result(16);
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

/** Every decodable run of `text`: where it starts, its decoded text and what it was. */
export function decodedRuns(text: string): { index: number; decoded: string; how: string }[] {
  const out: { index: number; decoded: string; how: string }[] = [];
  RUN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = RUN.exec(text)) !== null) {
    const run = m[0].length > MAX_RUN ? m[0].slice(0, MAX_RUN) : m[0];
    let decoded: string | undefined;
    let how = '';
    if (/^[0-9]|^0x/.test(run) && /[,;\s]/.test(run)) {
      decoded = decodeCharCodes(run);
      how = 'character codes';
    } else {
      if (run.length >= 32 && run.length % 2 === 0 && HEX_ONLY.test(run)) {
        decoded = decodeHex(run);
        how = 'hex';
      }
      if (decoded === undefined && run.length >= MIN_BASE64_RUN) {
        decoded = decodeBase64(run);
        how = 'base64';
      }
    }
    if (decoded !== undefined) out.push({ index: m.index, decoded, how });
  }
  return out;
}

// ---- chains of lines ------------------------------------------------------------------------------------

/** Characters that, ending a line, continue its expression or assignment on the next line. */
const CONTINUE_END = new Set('+\\([{,=:.&~|>^'.split(''));
/** Characters that, starting a line, continue the expression of the previous one. */
const CONTINUE_START = new Set('+.&~|^'.split(''));
const QUOTES = new Set(['"', "'", '`']);

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

/** True when line `next` continues line `cur` (see the module docs). */
function continues(cur: string, next: string): boolean {
  const end = lastChar(cur);
  const start = firstChar(next);
  if (start === '') return false;
  if (CONTINUE_END.has(end)) return true;
  if (CONTINUE_START.has(start)) return true;
  return QUOTES.has(end) && QUOTES.has(start);
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
  lineAt: (offset: number) => number,
  how: string,
  depth: number,
): void {
  for (const run of decodedRuns(text)) {
    const line = lineAt(run.index);
    const what = `${how === '' ? 'after ' : `${how}, then `}decoding ${run.how}`;
    const unescaped = unescapeText(run.decoded);
    const decoded = unescaped ?? run.decoded;
    out.push(lineView(path, decoded, what, line, decoded.includes('\n')));
    if (depth + 1 < MAX_DEPTH) pushDecoded(out, path, decoded, () => line, what, depth + 1);
  }
}

/** A reversed or ROT13 view of `text` when it says it is one. */
function pushTransformed(out: View[], path: string, text: string, line: number): void {
  if (/reverse|\[::-1\]/i.test(text)) {
    out.push(lineView(path, Array.from(text).reverse().join(''), 'after reversing the text', line));
  }
  if (/rot[-_ ]?13/i.test(text)) {
    const rot = text.replace(/[A-Za-z]/g, (c) => {
      const base = c <= 'Z' ? 65 : 97;
      return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
    });
    out.push(lineView(path, rot, 'after decoding ROT13', line));
  }
}

/** A line that opens a key block spread over the following lines (PEM, OpenSSH, OpenPGP, PuTTY). */
const KEY_BLOCK_START = /private key|putty-user-key-file-/i;
/** A line that closes one. */
const KEY_BLOCK_END = /-----END|Private-MAC:/i;
/** Lines read after a key block's first line, at most. */
const MAX_KEY_BLOCK_LINES = 400;

/**
 * Key blocks: each added line that opens a private key, with the consecutive added lines after it up to its
 * end marker (at most MAX_KEY_BLOCK_LINES), as one multi-line view.
 */
function pushKeyBlocks(out: View[], lines: readonly AddedLine[]): void {
  for (let i = 0; i < lines.length; i++) {
    if (!KEY_BLOCK_START.test(lines[i]!.text)) continue;
    let j = i + 1;
    while (
      j < lines.length &&
      j - i <= MAX_KEY_BLOCK_LINES &&
      lines[j]!.line === lines[j - 1]!.line + 1 &&
      !KEY_BLOCK_END.test(lines[j - 1]!.text)
    ) {
      j++;
    }
    if (j - i < 2) continue;
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
}

/**
 * The views of the added lines of ONE file (`lines`, in file order) that differ from the lines as written
 * (see the module docs): the lines themselves are not repeated here. Lines are chained when they are
 * consecutive in the file and one continues the other; a chain holding more than one line, or a line that
 * changed when normalised, unescaped or joined, gives a view; then every decodable run of each chain (or
 * line) gives one. Linear in the text.
 */
export function viewsOfLines(lines: readonly AddedLine[]): View[] {
  const out: View[] = [];
  const n = lines.length;
  let i = 0;
  while (i < n) {
    // One chain: lines i..j-1.
    let j = i + 1;
    let size = lines[i]!.text.length;
    while (
      j < n &&
      lines[j]!.line === lines[j - 1]!.line + 1 &&
      size < MAX_CHAIN_CHARS &&
      continues(lines[j - 1]!.text, lines[j]!.text)
    ) {
      size += lines[j]!.text.length + 1;
      j++;
    }
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
    if (normalized) steps.push('removing invisible characters');
    if (unescaped) steps.push('decoding escapes');
    const chainText = texts.length === 1 ? texts[0]! : texts.join('\n');
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
    const how = describe(steps, j - i > 1 ? `across lines ${lines[i]!.line}-${lines[j - 1]!.line}` : '');
    const changed = normalized || unescaped || joined !== undefined;
    if (changed || j - i > 1) out.push({ path, text, how, multiLine: j - i > 1, changed, lineAt });
    pushDecoded(out, path, text, lineAt, how, 0);
    pushTransformed(out, path, text, first);
    i = j;
  }
  pushKeyBlocks(out, lines);
  return out;
}
