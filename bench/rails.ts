/**
 * Benchmark of the rails (`npm run bench:rails`): how `self-evolution check` and the engine alone scale with
 * the size of a change, against the floor of asking git itself about the same patch.
 *
 * For each size it writes a real git patch of N new Markdown files x 10 lines (1k, 10k and 100k files: up to
 * 1M added lines) in git's own format, then times, 3 runs each, median:
 * - floor: `git apply --numstat --summary -z <patch>` in a repository made from the corpus base
 *   (__fixtures__/rails/base): what any tool that takes its facts from git must pay;
 * - check: `self-evolution check --patch <patch> --format json` end to end, in a fresh copy of that repository
 *   each run (check writes the patch's blobs into the object store), as a separate process (the built
 *   lib/ when it is newer than src/, else from source through tsx), also net of its startup (the same check
 *   of a 1-line patch: process start, module loading, config);
 * - engine: `evaluate(change, policy, context)` in-process, on facts and added lines already in memory
 *   (after one untimed run of the same size).
 * It prints a table with the ratios to the floor and the cost per 100k changed lines (linear growth keeps that
 * column flat). No assertions. A size whose floor alone takes more than 60 s is skipped with a note.
 *
 * Options: `--sizes 1000,10000` (file counts), `--runs 3`, `--lines 10` (lines per file).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseConfigText } from '../src/config/load.js';
import { evaluate, policyFromConfig } from '../src/rails/index.js';
import type { AddedLine, ChangeUnderReview, FileChange, RailsContext } from '../src/rails/types.js';
import { makeTempRepo } from '../__tests__/helpers/git-repo.js';
import { BASE_DATE, BASE_DIR, baseFiles } from '../__tests__/helpers/rails-corpus.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const POLICY_PATH = '.github/self-evolution-config.json';
/** A size whose floor takes longer than this is skipped. */
const FLOOR_LIMIT_MS = 60_000;
/** A single timed command is killed after this long. */
const RUN_TIMEOUT_MS = 300_000;

/** A synthetic change: the patch text and the same change as engine input. */
interface Synthetic {
  patch: string;
  change: ChangeUnderReview;
  files: number;
  lines: number;
}

/** Git's blob id of `content`. */
function blobId(content: string): string {
  return createHash('sha1')
    .update(`blob ${Buffer.byteLength(content)}\0`)
    .update(content)
    .digest('hex');
}

/**
 * `files` new Markdown files of `linesPerFile` lines each under docs/gen/, as a `git diff --binary`-style
 * patch (what `git diff` prints for new files) and as ChangeFacts with their added lines.
 */
function synthesize(files: number, linesPerFile: number): Synthetic {
  const parts: string[] = [];
  const facts: FileChange[] = [];
  const addedLines: AddedLine[] = [];
  for (let f = 0; f < files; f++) {
    const path = `docs/gen/d${String(Math.floor(f / 1000)).padStart(3, '0')}/f${String(f).padStart(6, '0')}.md`;
    let body = '';
    let hunk = '';
    for (let l = 1; l <= linesPerFile; l++) {
      const text = `Line ${l} of page ${f}: the agent explains one more detail.`;
      body += `${text}\n`;
      hunk += `+${text}\n`;
      addedLines.push({ path, line: l, text });
    }
    parts.push(
      `diff --git a/${path} b/${path}\nnew file mode 100644\nindex 0000000..${blobId(body).slice(0, 7)}\n--- /dev/null\n+++ b/${path}\n@@ -0,0 +1,${linesPerFile} @@\n${hunk}`,
    );
    facts.push({
      path,
      status: 'added',
      oldMode: '000000',
      newMode: '100644',
      binary: false,
      linesAdded: linesPerFile,
      linesDeleted: 0,
    });
  }
  return {
    patch: parts.join(''),
    change: { type: 'cleanup', riskLevel: 1, facts: { files: facts, addedLines } },
    files,
    lines: files * linesPerFile,
  };
}

/** Runs a command; resolves with its wall time in ms and exit code (stdout/stderr discarded, tail kept). */
function timeCommand(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ ms: number; code: number | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ ms: Number(process.hrtime.bigint() - started) / 1e6, code, stderr });
    });
  });
}

/** Median of `values`. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Newest modification time (ms) of any file under `dir` ending in `ext`. */
function newest(dir: string, ext: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) max = Math.max(max, newest(path, ext));
    else if (entry.name.endsWith(ext)) max = Math.max(max, statSync(path).mtimeMs);
  }
  return max;
}

/** How to start the CLI: the built lib/ when it is newer than every source file, else the sources via tsx. */
function cliCommand(): { args: string[]; label: string } {
  const lib = join(ROOT, 'lib', 'cli.js');
  if (existsSync(lib) && statSync(lib).mtimeMs >= newest(join(ROOT, 'src'), '.ts')) {
    return { args: [join(ROOT, 'bin', 'self-evolution.js')], label: 'node bin/self-evolution.js (lib/)' };
  }
  return {
    args: ['--import', 'tsx', join(ROOT, '__tests__', 'helpers', 'cli-entry.ts')],
    label: 'node --import tsx (sources; run `npm run build:cli` to time the built CLI)',
  };
}

/** Right-aligns `s` in `width` columns. */
const pad = (s: string, width: number): string => s.padStart(width);
const fmt = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(ms < 100 ? 1 : 0) : '-');
const ratio = (a: number, b: number): string =>
  Number.isFinite(a) && b > 0 ? `${(a / b).toFixed(2)}x` : '-';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '1000,10000,100000' },
      runs: { type: 'string', default: '3' },
      lines: { type: 'string', default: '10' },
    },
  });
  const sizes = values.sizes.split(',').map((s) => Number.parseInt(s, 10));
  const runs = Math.max(1, Number.parseInt(values.runs, 10));
  const linesPerFile = Math.max(1, Number.parseInt(values.lines, 10));

  const policy = policyFromConfig(
    parseConfigText(readFileSync(join(BASE_DIR, POLICY_PATH), 'utf8'), POLICY_PATH).config,
    {
      policyPath: POLICY_PATH,
    },
  );
  const context: RailsContext = { wildcardsToday: 0, humanOverride: false };
  // Warm the engine up (module loading, JIT, the secret scanner's first use) so the first size does not pay it.
  await evaluate(synthesize(10, linesPerFile).change, policy, context);
  const cli = cliCommand();
  const repo = await makeTempRepo(baseFiles(), { date: BASE_DATE, message: 'base' });
  const work = mkdtempSync(join(tmpdir(), 'se-bench-rails-'));
  process.stdout.write(`rails benchmark: ${runs} runs each, median; CLI: ${cli.label}\n`);

  /** Times `check` on `patchFile` `runs` times; the median, or NaN and a note when it gave no verdict. */
  const timeCheck = async (patchFile: string, what: string, notes: string[]): Promise<number> => {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      // A fresh repository for every run: check writes the patch's blobs into the object store, and a
      // second run that finds them there would not pay what a user's (new) change costs.
      const fresh = await makeTempRepo(baseFiles(), { date: BASE_DATE, message: 'base' });
      const r = await timeCommand(
        process.execPath,
        [...cli.args, 'check', '--repo', fresh.dir, '--patch', patchFile, '--format', 'json'],
        ROOT,
      ).finally(() => fresh.cleanup());
      if (r.code !== 0 && r.code !== 1) {
        notes.push(`check exited ${r.code} on ${what}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
        return NaN;
      }
      times.push(r.ms);
    }
    return median(times);
  };

  const rows: string[][] = [];
  const notes: string[] = [];
  let startupMs: number;
  try {
    // What `check` costs before it reads anything: process start, module loading, config, one tiny patch.
    const tinyFile = join(work, 'tiny.patch');
    writeFileSync(tinyFile, synthesize(1, 1).patch);
    startupMs = await timeCheck(tinyFile, 'a 1-line patch', notes);
    process.stdout.write(`- startup (check of a 1-line patch): ${fmt(startupMs)} ms\n`);

    for (const files of sizes) {
      const synthetic = synthesize(files, linesPerFile);
      const patchFile = join(work, `change-${files}.patch`);
      writeFileSync(patchFile, synthetic.patch);
      const mb = (Buffer.byteLength(synthetic.patch) / 1e6).toFixed(1);
      process.stdout.write(`- ${files} files, ${synthetic.lines} lines, ${mb} MB patch: `);

      const floor: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await timeCommand('git', ['apply', '--numstat', '--summary', '-z', patchFile], repo.dir);
        if (r.code !== 0) throw new Error(`git apply --numstat failed on ${patchFile}: ${r.stderr}`);
        floor.push(r.ms);
        if (r.ms > FLOOR_LIMIT_MS) break;
      }
      const floorMs = median(floor);
      if (floorMs > FLOOR_LIMIT_MS) {
        notes.push(
          `${files} files skipped: the floor alone took ${fmt(floorMs)} ms (> ${FLOOR_LIMIT_MS} ms)`,
        );
        process.stdout.write('skipped (floor too slow)\n');
        continue;
      }
      process.stdout.write(`floor ${fmt(floorMs)} ms; `);

      const checkMs = await timeCheck(patchFile, `${files} files`, notes);
      const checkNetMs = checkMs - startupMs;
      process.stdout.write(`check ${fmt(checkMs)} ms (${fmt(checkNetMs)} ms after startup); `);

      // One untimed run first: the timed ones then measure the engine, not the JIT warming to this size.
      await evaluate(synthetic.change, policy, context);
      const engine: number[] = [];
      let blocked = '';
      for (let i = 0; i < runs; i++) {
        const started = process.hrtime.bigint();
        const verdict = await evaluate(synthetic.change, policy, context);
        engine.push(Number(process.hrtime.bigint() - started) / 1e6);
        blocked = [...new Set(verdict.violations.map((v) => v.ruleId))].join(', ');
      }
      const engineMs = median(engine);
      process.stdout.write(`engine ${fmt(engineMs)} ms (verdict: ${blocked || 'allowed'})\n`);

      const per100k = (ms: number): string => fmt((ms / synthetic.lines) * 100_000);
      rows.push([
        `${files / 1000}k`,
        String(files),
        String(synthetic.lines),
        fmt(floorMs),
        fmt(checkMs),
        fmt(checkNetMs),
        fmt(engineMs),
        ratio(checkMs, floorMs),
        ratio(checkNetMs, floorMs),
        ratio(engineMs, floorMs),
        per100k(floorMs),
        per100k(checkNetMs),
        per100k(engineMs),
      ]);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    await repo.cleanup();
  }

  const header = [
    'size',
    'files',
    'lines',
    'floor ms',
    'check ms',
    'check-startup ms',
    'engine ms',
    'check/floor',
    '(check-startup)/floor',
    'engine/floor',
    'floor ms/100k lines',
    '(check-startup) ms/100k lines',
    'engine ms/100k lines',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => pad(c, widths[i]!)).join(' | ')} |`;
  process.stdout.write(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
  process.stdout.write(
    `startup: check of a 1-line patch, ${fmt(startupMs)} ms (process start, module loading, config); ` +
      'check-startup is what the change itself costs\n',
  );
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
}

await main();
