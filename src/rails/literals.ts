/**
 * A fast case-insensitive search for many short ASCII literals at once: the prefilter of the secret rules
 * (gitleaks calls them keywords). A regex alternation of a hundred literals with the `i` flag costs V8 a
 * try of every alternative at many positions; this looks each position up in a table of the literals' first
 * two characters (ASCII letters folded to lower case) and compares only the few literals that start so.
 * One pass over the text, no allocation per character. Pure.
 */

/** ASCII codes with upper-case letters folded to lower case (index: the code; codes >= 128 fold to 0). */
const FOLD = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = c >= 65 && c <= 90 ? c | 0x20 : c;
  return table;
})();

/** A set of literals searched for together, case-insensitively (ASCII letters only are folded). */
export class LiteralSet {
  /** The literals, lower case. */
  readonly literals: readonly string[];
  /**
   * (first code << 7 | second code) -> 1 + index into `groups` of the literals starting so (longest first);
   * 0 when none does.
   */
  private readonly prefixes = new Uint16Array(128 * 128);
  private readonly groups: number[][] = [];

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
      if (this.prefixes[key] === 0) {
        this.groups.push([]);
        this.prefixes[key] = this.groups.length;
      }
      this.groups[this.prefixes[key]! - 1]!.push(i);
    });
  }

  /** True when `text` contains one of the literals. */
  test(text: string): boolean {
    return this.next(text, 0) !== undefined;
  }

  /**
   * The first position at or after `from` where a literal starts, with the longest literal there (every
   * other literal found at that position is a prefix of it), or undefined. One table look-up per character
   * (its code and the next one's, folded); the literals of a matching prefix are compared only then.
   */
  next(text: string, from: number): { index: number; literal: string } | undefined {
    const n = text.length;
    if (from + 1 >= n) return undefined;
    const prefixes = this.prefixes;
    let c1 = FOLD[text.charCodeAt(from)] ?? 0;
    for (let i = from; i + 1 < n; i++) {
      const c0 = c1;
      const code = text.charCodeAt(i + 1);
      c1 = code < 128 ? FOLD[code]! : 0;
      const group = prefixes[(c0 << 7) | c1]!;
      if (group === 0) continue;
      for (const k of this.groups[group - 1]!) {
        const l = this.literals[k]!;
        if (i + l.length > n) continue;
        let m = 2;
        while (m < l.length && (FOLD[text.charCodeAt(i + m)] ?? 0) === l.charCodeAt(m)) m++;
        if (m === l.length) return { index: i, literal: l };
      }
    }
    return undefined;
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
