/**
 * Benchmark of the secret rules alone (`npx tsx bench/secrets.ts`): the time each rule of SECRET_RULES takes
 * on changes of about 100k added lines of different kinds, in-process, on facts already in memory (after one
 * untimed warm-up run), median of `--runs` (default 3). The rails' end-to-end figures are `npm run
 * bench:rails`; this one says which secret rule costs what, and on what kind of text.
 *
 * Inputs (deterministic; no secrets in them):
 * - `code`: the first 100k lines of TypeScript's own compiler (node_modules/typescript/lib/typescript.js),
 *   split into files of 500 lines: quotes, concatenations, escapes, long identifiers;
 * - `prose`: 100k lines of Markdown, as bench/rails.ts writes them;
 * - `json`: 100k lines of a lockfile-like JSON (integrity hashes: long base64 runs; resolved URLs);
 * - `minified`: a 1 MB single line (the longest lines of a minified bundle, repeated).
 * The rules share work computed once per list of added lines (the one pass over each line, the decoded
 * views, secretlint's findings): the first rule to need it pays for it (content-unread runs first but reads
 * only counts; secret-detected pays for the pass, the views and secretlint). Compare totals.
 * No assertions: it prints a table (ms per rule and input).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { ConfigSchema } from '../src/config/schema.js';
import { policyFromConfig } from '../src/rails/policy.js';
import type { RuleInput } from '../src/rails/rule.js';
import { SECRET_RULES } from '../src/rails/rules/secrets.js';
import type { AddedLine, ChangeUnderReview, FileChange } from '../src/rails/types.js';

const require = createRequire(import.meta.url);
const POLICY = policyFromConfig(ConfigSchema.parse({}));
const CONTEXT = { wildcardsToday: 0, humanOverride: false };
const LINES = 100_000;

/** A change adding `texts`, `perFile` lines per file, under `dir` with extension `ext`. */
function changeOf(texts: readonly string[], perFile: number, dir: string, ext: string): ChangeUnderReview {
  const files: FileChange[] = [];
  const addedLines: AddedLine[] = [];
  for (let i = 0; i < texts.length; i += perFile) {
    const path = `${dir}/f${String(i / perFile).padStart(5, '0')}${ext}`;
    const chunk = texts.slice(i, i + perFile);
    files.push({
      path,
      status: 'added',
      oldMode: '000000',
      newMode: '100644',
      binary: false,
      linesAdded: chunk.length,
      linesDeleted: 0,
    });
    chunk.forEach((text, j) => addedLines.push({ path, line: j + 1, text }));
  }
  return { type: 'cleanup', riskLevel: 1, facts: { files, addedLines } };
}

/** Deterministic base64-ish text (a fixed LCG). */
function pseudoBase64(n: number, seed: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let x = seed >>> 0;
  let out = '';
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out += alphabet[x >>> 26];
  }
  return out;
}

function inputs(): Record<string, ChangeUnderReview> {
  const ts = readFileSync(require.resolve('typescript/lib/typescript.js'), 'utf8').split('\n');
  const code = ts.slice(0, LINES);
  const prose = Array.from(
    { length: LINES },
    (_, i) => `Line ${i % 10} of page ${Math.floor(i / 10)}: the agent explains one more detail.`,
  );
  const json: string[] = [];
  for (let i = 0; json.length < LINES; i++) {
    json.push(
      `    "node_modules/pkg-${i}": {`,
      `      "version": "1.${i % 50}.${i % 7}",`,
      `      "resolved": "https://registry.npmjs.org/pkg-${i}/-/pkg-${i}-1.${i % 50}.${i % 7}.tgz",`,
      `      "integrity": "sha512-${pseudoBase64(86, i)}==",`,
      `      "license": "MIT"`,
      '    },',
    );
  }
  const longest = [...ts].sort((a, b) => b.length - a.length).slice(0, 50);
  let minified = '';
  while (minified.length < 1_000_000) minified += longest.map((l) => l.trim()).join(';');
  return {
    code: changeOf(code, 500, 'src/gen', '.js'),
    prose: changeOf(prose, 10, 'docs/gen', '.md'),
    json: changeOf(json.slice(0, LINES), 5000, 'data', '.json'),
    minified: changeOf([minified.slice(0, 1_000_000)], 1, 'dist', '.js'),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
  const runs = Math.max(1, Number(values.runs));
  const rows: string[][] = [['input', ...SECRET_RULES.map((r) => r.id), 'total']];
  for (const [name, change] of Object.entries(inputs())) {
    const times: number[][] = SECRET_RULES.map(() => []);
    for (let run = 0; run <= runs; run++) {
      // A fresh input and list of lines per run: the rules cache per RuleInput and per list of lines.
      const fresh: ChangeUnderReview = {
        ...change,
        facts: { ...change.facts, addedLines: [...(change.facts.addedLines ?? [])] },
      };
      const input: RuleInput = { change: fresh, policy: POLICY, context: CONTEXT };
      for (let r = 0; r < SECRET_RULES.length; r++) {
        const started = process.hrtime.bigint();
        await SECRET_RULES[r]!.check(input);
        if (run > 0) times[r]!.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    }
    const medians = times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
    const total = medians.reduce((a, b) => a + b, 0);
    rows.push([name, ...medians.map((m) => m.toFixed(1)), total.toFixed(1)]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows) process.stdout.write(`${row.map((v, c) => v.padStart(widths[c]!)).join('  ')}\n`);
  process.stdout.write('(ms, median of runs, per input of ~100k added lines; minified: one 1 MB line)\n');
}

await main();
