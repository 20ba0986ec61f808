/**
 * Rails round 2 (issue #7), class r2-09: Unicode in paths: invisible and format characters (Cf, bidi), confusables and full case folding against catch lists.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 *
 * The look-alike cases run under `--config .github/rails-variants/allow-all.json` (allowedPaths ["**"], only
 * secrets blocked, maxRiskLevel 3): the catch list must stop them, not an allow-list.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import { type Case, H, B, base, write } from './lib.js';

const OPEN = ['--config', '.github/rails-variants/allow-all.json'];

export const BASES: Record<string, BaseVariant> = {};

export const CASES: Case[] = [
  // -- characters that do not show as themselves
  H({
    name: 'path-control-char--zero-width-space',
    note: 'src/to\\u200Bols.ts renders exactly like the existing src/tools.ts',
    change: write({ 'src/to\u200bols.ts': base('src/tools.ts').replace('searchDocs', 'searchAll') }),
  }),
  H({
    name: 'path-control-char--variation-selector',
    note: 'a variation selector (U+FE0F, a default ignorable) after the name',
    change: write({ 'src/tools\ufe0f.ts': 'export const x = 1;\n' }),
  }),
  H({
    name: 'path-control-char--no-break-space',
    note: 'a no-break space where a space seems to be',
    change: write({ 'docs/user\u00a0guide.md': '# User guide\n' }),
  }),
  H({
    name: 'path-control-char--hangul-filler',
    note: 'a Hangul filler (U+3164, renders blank) inside a name',
    change: write({ 'docs/gu\u3164ide.md': '# Guide\n' }),
  }),
  H({
    name: 'path-control-char--word-joiner',
    note: 'a word joiner (U+2060) inside a prompt file name',
    change: write({ 'prompts/sys\u2060tem.md': 'You are helpful.\n' }),
  }),
  // -- look-alikes and case folding against catch lists
  H({
    name: 'self-protected-path--dotless-i-github',
    note: '.g\\u0131thub/workflows: Windows upper-cases it to .GITHUB',
    args: OPEN,
    change: write({ '.g\u0131thub/workflows/deploy.yml': 'on: push\njobs: {}\n' }),
  }),
  H({
    name: 'self-protected-path--cyrillic-i-github',
    note: '.g\\u0456thub/workflows with a Cyrillic i',
    args: OPEN,
    change: write({ '.g\u0456thub/workflows/deploy.yml': 'on: push\njobs: {}\n' }),
  }),
  H({
    name: 'self-protected-path--fullwidth-codeowners',
    note: 'docs/ＣＯＤＥＯＷＮＥＲＳ in fullwidth letters (NFKC: CODEOWNERS)',
    change: write({ 'docs/\uff23\uff2f\uff24\uff25\uff2f\uff37\uff2e\uff25\uff32\uff33': '* @attacker\n' }),
  }),
  H({
    name: 'self-protected-path--cyrillic-a-rails',
    note: 'src/r\\u0430ils/engine.ts with a Cyrillic a, next to the real rails',
    change: write({ 'src/r\u0430ils/engine.ts': base('src/rails/engine.ts') }),
  }),
  H({
    name: 'path-blocked--cyrillic-dze-secrets',
    note: '\\u0455ecrets/ (Cyrillic dze) with secrets/** blocked',
    args: OPEN,
    change: write({ '\u0455ecrets/api.txt': 'rotate monthly\n' }),
  }),
  H({
    name: 'path-blocked--long-s-secrets',
    note: '\\u017fecrets/ (long s, NFKC s) with secrets/** blocked',
    args: OPEN,
    change: write({ '\u017fecrets/api.txt': 'rotate monthly\n' }),
  }),
  H({
    name: 'secret-file--cyrillic-ie-env',
    note: 'docs/.\\u0435nv (Cyrillic ie): .env at any depth',
    rules: ['secret-file', 'path-blocked'],
    change: write({ 'docs/.\u0435nv': 'LOG_LEVEL=debug\n' }),
  }),
  H({
    name: 'path-git-internal--dotless-i-git',
    note: 'a .g\\u0131t directory: .GIT on Windows',
    args: OPEN,
    change: write({ 'src/.g\u0131t/hooks/pre-commit': 'echo hi\n' }),
  }),
  // -- benign: ordinary non-ASCII names
  B({
    name: 'docs-accented-name',
    note: 'docs/café.md (NFC): an ordinary accented name',
    change: write({ 'docs/caf\u00e9.md': '# Café\n\nWhere the team meets.\n' }),
  }),
  B({
    name: 'docs-cjk-name',
    note: 'a Chinese page name',
    change: write({ 'docs/\u6307\u5357.md': '# 指南\n\n使用说明。\n' }),
  }),
  B({
    name: 'docs-greek-name',
    note: 'a Greek page name whose letters look like nothing protected',
    change: write({ 'docs/\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac.md': '# Ελληνικά\n' }),
  }),
];
