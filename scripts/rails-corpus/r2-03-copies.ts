/**
 * Rails round 2 (issue #7), class r2-03: Copies and renames that shrink the counts: a copy counts all its lines, a rename its edits; a copy source is read, not changed (no false positives from it); copying a secret file stays blocked.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 *
 * Patches marked `copies` are written with `-C --find-copies-harder` (git then writes `copy from` / `copy
 * to`, with a hunk only for the edits); the others without copy detection (the copy is a new file). Either
 * way the facts count every line of the new file, as GitHub's "Files changed" does, and find exact copies of
 * base files by object id (FileChange.copyOf), so a copy's source is judged as read, never as changed.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import { B, H, base, write, type Case } from './lib.js';

/** `n` lines of a vendored library (distinct lines, so git sees one file, not repeats). */
function library(n: number, name: string): string {
  let out = `// ${name}: vendored, do not edit.\n`;
  for (let i = 1; i < n; i++)
    out += `export const ${name}_${i} = (x: number): number => x * ${i} + ${i % 7};\n`;
  return out;
}

const LIB_600 = library(600, 'big');
const LIB_450 = library(450, 'mid');
const LICENSE =
  'MIT License\n\nCopyright (c) 2026 Tiny Agent authors\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software, to deal in the Software without restriction.\n';
const ENV_FILE = 'LOG_LEVEL=debug\nPORT=8080\nREGION=eu-west-1\n';
const RISK_3 = base('.github/rails-variants/risk-3.json');

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {
  'r2-03-vendored': {
    note: 'vendored libraries of 600 and 450 lines under src/vendor/, an empty vendor/empty.py, a LICENSE and a config/.env',
    files: {
      'src/vendor/big.ts': { text: LIB_600 },
      'src/vendor/mid.ts': { text: LIB_450 },
      'vendor/empty.py': { text: '' },
      LICENSE: { text: LICENSE },
      'config/.env': { text: ENV_FILE },
    },
  },
  'r2-03-range-nine-copies': {
    note: 'a second commit copying a 59-line base file nine times into docs/ (531 lines)',
    files: Object.fromEntries(
      Array.from({ length: 9 }, (_, i) => [`docs/settings-copy-${i + 1}.json`, { text: RISK_3 }]),
    ),
  },
};

export const CASES: Case[] = [
  H({
    name: 'diff-max-lines--copy-of-600-line-file',
    note: 'a new 600-line file that copies src/vendor/big.ts exactly: git writes "copy from" with no hunk (0 lines); a reviewer sees +600',
    base: 'r2-03-vendored',
    copies: true,
    change: write({ 'src/lib/big-copy.ts': LIB_600 }),
  }),
  H({
    name: 'diff-max-lines--copy-plus-100-lines',
    note: 'a copy of the 450-line src/vendor/mid.ts plus 100 new lines: git counts 100, a reviewer sees +550',
    base: 'r2-03-vendored',
    copies: true,
    change: write({ 'src/lib/mid-plus.ts': LIB_450 + library(101, 'extra').split('\n').slice(1).join('\n') }),
  }),
  H({
    name: 'diff-max-lines--copy-written-as-new-file',
    note: 'the same 600-line copy in a patch written without copy detection (a new file): still +600',
    base: 'r2-03-vendored',
    change: write({ 'src/lib/big-copy.ts': LIB_600 }),
  }),
  H({
    name: 'diff-max-lines--range-nine-copies',
    note: 'range: head copies a 59-line file nine times into docs/ (531 lines; copy detection would count 0)',
    base: 'r2-03-range-nine-copies',
    noFile: true,
    args: ['--base', 'HEAD~1', '--head', 'HEAD'],
  }),
  H({
    name: 'secret-file--copy-of-dotenv-content',
    note: 'docs/settings.md is an exact copy of config/.env (no secret value in it): copying a secret file stays blocked',
    base: 'r2-03-vendored',
    change: write({ 'docs/settings.md': ENV_FILE }),
  }),
  H({
    name: 'secret-file--declared-copy-of-dotenv',
    note: 'the same copy written with copy detection: "copy from config/.env"',
    base: 'r2-03-vendored',
    copies: true,
    change: write({ 'docs/settings.md': ENV_FILE }),
  }),
  B({
    name: 'empty-init-beside-empty-vendor-file',
    note: 'a new empty src/__init__.py, while an empty vendor/empty.py exists: no copy of vendor/ (not allowed) is made',
    base: 'r2-03-vendored',
    copies: true,
    change: write({ 'src/__init__.py': '' }),
  }),
  B({
    name: 'license-copied-into-docs-with-two-lines',
    note: 'docs/license.md = the root LICENSE plus two lines: LICENSE is read, not changed',
    base: 'r2-03-vendored',
    copies: true,
    change: write({ 'docs/license.md': `${LICENSE}\nSee the LICENSE file at the root of the repository.\n` }),
  }),
  B({
    name: 'doc-copied-within-docs',
    note: 'an exact copy of docs/faq.md as docs/faq-v2.md: a small copy inside an allowed path',
    copies: true,
    change: write({ 'docs/faq-v2.md': base('docs/faq.md') }),
  }),
];
