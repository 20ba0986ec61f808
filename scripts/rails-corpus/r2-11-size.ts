/**
 * Rails round 2 (issue #7), class r2-11: Size that lines do not measure: bytes added (maxBytesChanged), very
 * long (minified or generated) lines (maxLineLength, fileKinds.allowMinified).
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import { B, H, token, write, type Case } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

/** `n` lines of `width` characters of prose-like text (no line over the line cap). */
function wideLines(n: number, width: number, seed: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    const words = token(seed + i, width, 'abcdefghij klmnop qrstu vwxyz ');
    out += `${words.slice(0, width)}\n`;
  }
  return out;
}

/** One line of minified JavaScript, `length` characters. */
function minified(length: number): string {
  const unit = 'function a(b){return b.map(function(c){return c*2}).filter(Boolean)};var d=a([1,2,3]);';
  return `${unit.repeat(Math.ceil(length / unit.length)).slice(0, length)}\n`;
}

export const CASES: Case[] = [
  H({
    name: 'diff-max-bytes--wide-lines-under-line-cap',
    note: '499 lines of 600 characters: under the line cap (500) and under the line-length cap, but 300 KB of added content',
    change: write({ 'docs/reference.md': wideLines(499, 600, 1100) }),
    args: ['--type', 'cleanup', '--risk', '0'],
  }),
  H({
    name: 'diff-max-bytes--emoji-lines',
    note: '280 lines of 250 emoji: 250 characters a line (no minified line) but 1,000 bytes each, 280 KB in all',
    change: write({ 'docs/emoji.md': `${'\u{1F600}'.repeat(250)}\n`.repeat(280) }),
    args: ['--type', 'cleanup', '--risk', '0'],
  }),
  H({
    name: 'content-minified--one-long-line',
    note: 'a minified bundle: one line of 20,000 characters (one line, under every line cap)',
    change: write({ 'src/vendor.min.js': minified(20_000) }),
    args: ['--type', 'capability', '--risk', '2'],
  }),
  H({
    name: 'content-minified--doc-long-line',
    note: 'a Markdown page holding one 1,500-character line among short ones',
    change: write({
      'docs/generated.md': `# Generated\n\nShort line.\n${'word '.repeat(300)}\nShort line again.\n`,
    }),
    args: ['--type', 'cleanup', '--risk', '0'],
  }),
  B({
    name: 'size-wide-doc-under-caps',
    note: 'a doc of 60 lines of 900 characters (54 KB): under the line-length and byte caps',
    change: write({ 'docs/wide.md': wideLines(60, 900, 1200) }),
    args: ['--type', 'cleanup', '--risk', '0'],
  }),
];
