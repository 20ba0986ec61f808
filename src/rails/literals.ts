/**
 * A fast case-insensitive search for many short ASCII literals at once (the secret rules' keywords, as
 * gitleaks calls its prefilter), and the one pass over a line that the content rules gate their work on.
 *
 * A regex alternation of a hundred literals with the `i` flag costs V8 a try of many alternatives at every
 * position, and one regex call per line and per trigger costs more than the characters on short lines. This
 * looks each position up in a table of the literals' first two characters (ASCII letters folded to lower
 * case) and compares only the few literals that start so. One pass, no allocation per character. Pure.
 */

/** ASCII codes with upper-case letters folded to lower case (index: the code; codes >= 128 fold to 0). */
const FOLD = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = c >= 65 && c <= 90 ? c | 0x20 : c;
  return table;
})();

/** Folded code of `text[i]` (0 past the end or for non-ASCII). */
function foldAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? FOLD[c]! : 0;
}

/** A set of literals searched for together, case-insensitively (ASCII letters only are folded). */
export class LiteralSet {
  /** The literals, lower case, longest first. */
  readonly literals: readonly string[];
  /**
   * (first code << 7 | second code), both folded -> 1 + index into `groups` of the literals starting so
   * (longest first); 0 when none does.
   */
  readonly table = new Uint16Array(128 * 128);
  /** Literal indexes per table entry, longest first. */
  readonly groups: number[][] = [];
  /**
   * ((group - 1) << 7 | third code) -> 1 when some literal of the group has that (folded) third character,
   * or is two characters long (then every third code, and 0 for "none", is allowed).
   */
  thirds = new Uint8Array(0);

  /**
   * @param literals printable ASCII strings of at least 2 characters, matched case-insensitively.
   * @throws RangeError for a literal that is shorter or not printable ASCII.
   */
  constructor(literals: readonly string[]) {
    const list = [...new Set(literals.map((l) => l.toLowerCase()))].sort(
      (a, b) => b.length - a.length || (a < b ? -1 : 1),
    );
    for (const l of list) {
      if (l.length < 2 || !/^[\x20-\x7e]+$/.test(l)) {
        throw new RangeError(`literal ${JSON.stringify(l)} is not 2+ characters of printable ASCII`);
      }
    }
    this.literals = Object.freeze(list);
    list.forEach((l, i) => {
      const key = (l.charCodeAt(0) << 7) | l.charCodeAt(1);
      if (this.table[key] === 0) {
        this.groups.push([]);
        this.table[key] = this.groups.length;
      }
      this.groups[this.table[key]! - 1]!.push(i);
    });
    this.thirds = new Uint8Array(this.groups.length * 128);
    this.groups.forEach((group, g) => {
      for (const k of group) {
        const l = list[k]!;
        if (l.length === 2) this.thirds.fill(1, g * 128, g * 128 + 128);
        else this.thirds[g * 128 + l.charCodeAt(2)] = 1;
      }
    });
  }

  /**
   * The index of the longest literal of table entry `group` (1-based) found at `at` in `text` (whose first
   * two characters the caller matched), or -1.
   */
  matchAt(text: string, at: number, group: number): number {
    for (const k of this.groups[group - 1]!) {
      const l = this.literals[k]!;
      if (at + l.length > text.length) continue;
      let m = 2;
      while (m < l.length && foldAt(text, at + m) === l.charCodeAt(m)) m++;
      if (m === l.length) return k;
    }
    return -1;
  }

  /**
   * The first position at or after `from` where a literal starts, with the longest literal there (every
   * other literal found at that position is a prefix of it), or undefined. One table look-up per character.
   */
  next(text: string, from: number): { index: number; literal: string } | undefined {
    const n = text.length;
    const table = this.table;
    let c1 = foldAt(text, from);
    for (let i = from; i + 1 < n; i++) {
      const c0 = c1;
      c1 = foldAt(text, i + 1);
      const group = table[(c0 << 7) | c1]!;
      if (group === 0) continue;
      const k = this.matchAt(text, i, group);
      if (k >= 0) return { index: i, literal: this.literals[k]! };
    }
    return undefined;
  }

  /** True when `text` contains one of the literals. */
  test(text: string): boolean {
    return this.next(text, 0) !== undefined;
  }

  /** The longest literal at each position where one starts, each literal once, in order of first appearance. */
  all(text: string): string[] {
    const out = new Set<string>();
    for (let hit = this.next(text, 0); hit !== undefined; hit = this.next(text, hit.index + 1)) {
      out.add(hit.literal);
    }
    return [...out];
  }
}

/** Flags scanText sets (see there). */
export const SCAN_NOT_ASCII = 1;
export const SCAN_ESCAPE = 2;
export const SCAN_GLUE = 4;
export const SCAN_LONG_RUN = 8;
export const SCAN_MANY_COMMAS = 16;

/** Character kinds of scanText. */
const ALNUM = 1;
const DIGIT_OR_SLASH = 2;
/** `+` and `/`: base64's own characters (standard alphabet). */
const STD_ONLY = 128;
const UPPER = 4;
const QUOTE = 8;
const GLUE_OP = 16;
const SPACE = 32;
const HEX = 64;
/** `-` and `_`: base64url's own characters. */
const URL_ONLY = 256;
const KINDS = (() => {
  const table = new Uint16Array(128);
  const set = (chars: string, kind: number): void => {
    for (const ch of chars) table[ch.charCodeAt(0)]! |= kind;
  };
  set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', ALNUM);
  set('+/', STD_ONLY);
  set('0123456789+/', DIGIT_OR_SLASH);
  set('ABCDEFGHIJKLMNOPQRSTUVWXYZ', UPPER);
  set('"\'`', QUOTE);
  set('-_', URL_ONLY);
  set('+.&|<>^~\\,', GLUE_OP);
  set(' \t', SPACE);
  set('0123456789abcdefABCDEF', HEX);
  return table;
})();

/** Shortest run scanText reports (SCAN_LONG_RUN); commas that make SCAN_MANY_COMMAS. */
export const SCAN_MIN_RUN = 20;
export const SCAN_MIN_COMMAS = 15;

/**
 * One pass over `text`, for the content rules' per-line gate. Pushes onto `hits` the index (in
 * `set.literals`) of the longest literal at each position where one starts, and returns flags:
 * - SCAN_NOT_ASCII: a character outside ASCII (invisible or full-width ones may hide a token);
 * - SCAN_ESCAPE: `\` and a character, `%` and a hex digit, `&#` or `&` and a letter (an escape, URL-encoding,
 *   an HTML reference may be there);
 * - SCAN_GLUE: a quote, then only spaces and glue operators (`+ . & | < > ^ ~ \ ,`), then a quote; or `${`
 *   (literals glued together, a template placeholder);
 * - SCAN_LONG_RUN: SCAN_MIN_RUN or more characters in a row of one base64 alphabet (standard `+/` or URL-safe
 *   `-_`: a run mixing them is a path), among them a digit, `+`, `/` or two upper-case letters in a row (a
 *   camelCase identifier has none of these; base64, hex and tokens almost always do);
 * - SCAN_MANY_COMMAS: SCAN_MIN_COMMAS commas or more (a list of character codes may be there).
 * No allocation: a regex call per line and per trigger costs more than this whole loop on short lines.
 */
export function scanText(text: string, set: LiteralSet, hits: number[]): number {
  const table = set.table;
  const thirds = set.thirds;
  const n = text.length;
  let out = 0;
  // Runs in the standard and in the URL-safe alphabet (a run mixing `/` with `-` or `_` is a path, not base64).
  let runStd = 0;
  let runUrl = 0;
  let oddStd = false;
  let oddUrl = false;
  let commas = 0;
  // Glue: 0 none, 1 after a quote (skipping spaces and operators).
  let afterQuote = 0;
  let prevCode = 0;
  let prevKind = 0;
  // Folded codes of the two characters before this one: a literal starting there is checked here, once its
  // third character is known (most first-two-character hits end there).
  let f2 = 0;
  let f1 = 0;
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    const fold = code < 128 ? FOLD[code]! : 0;
    if (f2 !== 0 && f1 !== 0) {
      const group = table[(f2 << 7) | f1]!;
      if (group !== 0 && thirds[((group - 1) << 7) | fold] === 1) {
        const k = set.matchAt(text, i - 2, group);
        if (k >= 0) hits.push(k);
      }
    }
    f2 = f1;
    f1 = fold;
    if (code >= 128) {
      out |= SCAN_NOT_ASCII;
      runStd = runUrl = 0;
      oddStd = oddUrl = false;
      afterQuote = 0;
      prevCode = code;
      prevKind = 0;
      continue;
    }
    const kind = KINDS[code]!;
    const odd = (kind & DIGIT_OR_SLASH) !== 0 || (kind & UPPER & prevKind) !== 0;
    if ((kind & (ALNUM | STD_ONLY)) !== 0) {
      oddStd ||= odd;
      if (++runStd >= SCAN_MIN_RUN && oddStd) out |= SCAN_LONG_RUN;
    } else {
      runStd = 0;
      oddStd = false;
    }
    if ((kind & (ALNUM | URL_ONLY)) !== 0) {
      oddUrl ||= odd;
      if (++runUrl >= SCAN_MIN_RUN && oddUrl) out |= SCAN_LONG_RUN;
    } else {
      runUrl = 0;
      oddUrl = false;
    }
    if (prevCode === 92)
      out |= SCAN_ESCAPE; // backslash
    else if (prevCode === 37 && (kind & HEX) !== 0)
      out |= SCAN_ESCAPE; // %XX
    else if (prevCode === 38 && (code === 35 || FOLD[code]! >= 97))
      out |= SCAN_ESCAPE; // &# or &name
    else if (prevCode === 36 && code === 123) out |= SCAN_GLUE; // ${
    if ((kind & QUOTE) !== 0) {
      // A quote after a quote and only spaces or operators: `" + "`, `" "`, `""`, `"'`.
      if (afterQuote === 1) out |= SCAN_GLUE;
      afterQuote = 1;
    } else if ((kind & (GLUE_OP | SPACE)) === 0) afterQuote = 0;
    if (code === 44 && ++commas === SCAN_MIN_COMMAS) out |= SCAN_MANY_COMMAS;
    prevCode = code;
    prevKind = kind;
  }
  // A two-character literal at the very end.
  if (f2 !== 0 && f1 !== 0) {
    const group = table[(f2 << 7) | f1]!;
    if (group !== 0 && thirds[(group - 1) << 7] === 1) {
      const k = set.matchAt(text, n - 2, group);
      if (k >= 0) hits.push(k);
    }
  }
  return out;
}
