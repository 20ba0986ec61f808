/**
 * Benchmark of `check` and the rails (`npm run bench:rails`): the figures issue #7 ("Speed") asks for, each
 * measured side by side with its floor on the same input in the same run, as ratios.
 *
 * Rows (median of `--runs` runs each; every floor and command is timed on the very same patch):
 * - `node start`: `node -e 0`, the floor of any command-line tool written for node.
 * - `small check`: `self-evolution check --repo R --patch P --format json` of a 10-file, 300-line patch in a
 *   repository of 5,000 files, as a separate process; target: at most node start + 100 ms. Its floor
 *   column also shows `git apply --numstat --summary -z` of the patch.
 * - `large check`: the same for a 5,000-file, 100,000-line patch; target: at most 3x (git numstat + node
 *   start).
 * - `... in-process`: the same checks through checkChange() in this process (modules already loaded, one
 *   untimed run first): what the check pipeline itself costs, without process start and module loading.
 * - `engine 100k` / `engine 1M`: evaluate(change, policy, context) alone on facts and added lines already in
 *   memory (100,000 and 1,000,000 added lines), against `git apply --numstat --summary -z` of the same change
 *   as a patch; target: at most 1.5x.
 *
 * The CLI runs from the built lib/ when it is newer than every source file (`npm run build:cli`), else from
 * the sources through tsx (whose start-up alone is far above the target: the row then says so).
 * Options: `--runs 5`, `--skip-1m` (leave out the 1,000,000-line engine row, which needs ~1 GB).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkChange } from '../src/check.js';
import { parseConfigText } from '../src/config/load.js';
import { evaluate, policyFromConfig } from '../src/rails/index.js';
import type { AddedLine, ChangeUnderReview, FileChange, RailsContext } from '../src/rails/types.js';
import { makeTempRepo, type TempRepo } from '../__tests__/helpers/git-repo.js';
import { BASE_DATE, BASE_DIR, baseFiles } from '../__tests__/helpers/rails-corpus.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const POLICY_PATH = '.github/self-evolution-config.json';
/** A single timed command is killed after this long. */
const RUN_TIMEOUT_MS = 300_000;
/** Files of the benchmark repository (the corpus base plus generated pages). */
const REPO_FILES = 5000;

/** Git's blob id of `content`. */
function blobId(content: string): string {
  return createHash('sha1')
    .update(`blob ${Buffer.byteLength(content)}\0`)
    .update(content)
    .digest('hex');
}

/** A synthetic change of new files: the patch text and the same change as engine input. */
interface Synthetic {
  patch: string;
  change: ChangeUnderReview;
  lines: number;
}

/**
 * `files` new Markdown files of `linesPerFile` lines each under `dir`, as git writes such a patch, and as
 * ChangeFacts with their added lines (what the facts gatherer hands the engine).
 */
function synthesize(files: number, linesPerFile: number, dir = 'docs/new'): Synthetic {
  const parts: string[] = [];
  const facts: FileChange[] = [];
  const addedLines: AddedLine[] = [];
  for (let f = 0; f < files; f++) {
    const path = `${dir}/d${String(Math.floor(f / 1000)).padStart(3, '0')}/f${String(f).padStart(6, '0')}.md`;
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
      bytesAdded: Buffer.byteLength(body),
    });
  }
  return {
    patch: parts.join(''),
    change: { type: 'cleanup', riskLevel: 1, facts: { files: facts, addedLines } },
    lines: files * linesPerFile,
  };
}

/** Runs a command; resolves with its wall time in ms, exit code and the tail of stderr. */
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

/** Median wall time (ms) of `runs` calls of `fn`. */
async function timeRuns(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(times);
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
function cliCommand(): { args: string[]; label: string; built: boolean } {
  const lib = join(ROOT, 'lib', 'cli.js');
  if (existsSync(lib) && statSync(lib).mtimeMs >= newest(join(ROOT, 'src'), '.ts')) {
    return {
      args: [join(ROOT, 'bin', 'self-evolution.js')],
      label: 'node bin/self-evolution.js (lib/)',
      built: true,
    };
  }
  return {
    args: ['--import', 'tsx', join(ROOT, '__tests__', 'helpers', 'cli-entry.ts')],
    label: 'node --import tsx (sources: run `npm run build:cli` to time the built CLI)',
    built: false,
  };
}

const fmt = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(ms < 100 ? 1 : 0) : '-');

/** One row of the result table. */
interface Row {
  row: string;
  input: string;
  floorLabel: string;
  floorMs: number;
  ms: number;
  /** The figure the target is about, e.g. "1.8x" or "+64 ms". */
  figure: string;
  target: string;
  met: boolean;
}

/** The 5,000-file repository: the corpus base plus generated pages under docs/pages/ and src/gen/. */
async function benchRepo(): Promise<TempRepo> {
  const files = baseFiles();
  const extra = REPO_FILES - Object.keys(files).length;
  for (let i = 0; i < extra; i++) {
    const dir = i % 2 === 0 ? 'docs/pages' : 'src/gen';
    const ext = i % 2 === 0 ? 'md' : 'ts';
    files[`${dir}/p${String(Math.floor(i / 500)).padStart(2, '0')}/f${String(i).padStart(5, '0')}.${ext}`] =
      Array.from({ length: 20 }, (_, l) => `// line ${l + 1} of generated file ${i}`).join('\n') + '\n';
  }
  return makeTempRepo(files, { date: BASE_DATE, message: 'base' });
}

/** The patch of a change git writes in `repo` (staged with `git add -A`), after which the repository is reset. */
async function gitPatch(repo: TempRepo, write: () => Promise<void>): Promise<string> {
  await write();
  await repo.git('add', '-A');
  const patch = execFileSync('git', ['diff', '--cached', '--binary', '-M', '--no-color', 'HEAD'], {
    cwd: repo.dir,
    maxBuffer: 256 * 1024 * 1024,
  }).toString('utf8');
  await repo.git('reset', '--quiet', '--hard', 'HEAD');
  await repo.git('clean', '--quiet', '-fdx');
  return patch;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '5' }, 'skip-1m': { type: 'boolean', default: false } },
  });
  const runs = Math.max(1, Number.parseInt(values.runs, 10));
  const policy = policyFromConfig(
    parseConfigText(readFileSync(join(BASE_DIR, POLICY_PATH), 'utf8'), POLICY_PATH).config,
    { policyPath: POLICY_PATH },
  );
  const context: RailsContext = { wildcardsToday: 0, humanOverride: false };
  const cli = cliCommand();
  const work = mkdtempSync(join(tmpdir(), 'se-bench-rails-'));
  const repo = await benchRepo();
  const rows: Row[] = [];
  const notes: string[] = [];
  process.stdout.write(`rails benchmark: median of ${runs} runs; CLI: ${cli.label}\n`);
  try {
    const starts: number[] = [];
    for (let i = 0; i < runs; i++) starts.push((await timeCommand(process.execPath, ['-e', '0'], ROOT)).ms);
    const nodeStart = median(starts);
    process.stdout.write(`- node start (node -e 0): ${fmt(nodeStart)} ms\n`);

    /** Median time of `git apply --numstat --summary -z` of `file` in the repository. */
    const numstat = async (file: string): Promise<number> => {
      const t: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await timeCommand('git', ['apply', '--numstat', '--summary', '-z', file], repo.dir);
        if (r.code !== 0) throw new Error(`git apply --numstat failed on ${file}: ${r.stderr}`);
        t.push(r.ms);
      }
      return median(t);
    };
    /** Median time of the CLI's check of `file`, or NaN with a note when it gave no verdict. */
    const cliCheck = async (file: string, what: string): Promise<number> => {
      const t: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await timeCommand(
          process.execPath,
          [...cli.args, 'check', '--repo', repo.dir, '--patch', file, '--format', 'json'],
          ROOT,
        );
        if (r.code !== 0 && r.code !== 1) {
          notes.push(
            `check exited ${r.code} on ${what}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`,
          );
          return NaN;
        }
        t.push(r.ms);
      }
      return median(t);
    };
    /** Median time of checkChange() of `patch` in this process (one untimed run first). */
    const inProcess = async (patch: string): Promise<{ ms: number; verdict: string }> => {
      const run = () => checkChange({ repoDir: repo.dir, patch });
      const first = await run();
      const ms = await timeRuns(runs, run);
      const ids = [...new Set(first.verdict.violations.map((v) => v.ruleId))];
      return { ms, verdict: first.verdict.allowed ? 'allowed' : `blocked: ${ids.join(', ')}` };
    };

    // Small: 5 files edited (30 lines appended each) and 5 new files of 30 lines: 10 files, 300 lines.
    const small = await gitPatch(repo, async () => {
      const edits: Record<string, string> = {};
      for (let i = 0; i < 5; i++) {
        const path = `docs/pages/p00/f${String(i * 2).padStart(5, '0')}.md`;
        edits[path] =
          readFileSync(join(repo.dir, path), 'utf8') +
          Array.from({ length: 30 }, (_, l) => `Appended line ${l} of page ${i}.`).join('\n') +
          '\n';
      }
      for (let i = 0; i < 5; i++) {
        edits[`docs/new/page${i}.md`] =
          Array.from({ length: 30 }, (_, l) => `New line ${l} of page ${i}.`).join('\n') + '\n';
      }
      await repo.write(edits);
    });
    const smallFile = join(work, 'small.patch');
    writeFileSync(smallFile, small);
    const smallFloor = await numstat(smallFile);
    const smallCli = await cliCheck(smallFile, 'the small patch');
    const smallIn = await inProcess(small);
    rows.push({
      row: 'small check (process)',
      input: '10 files, 300 lines; repository of 5,000 files',
      floorLabel: `node start ${fmt(nodeStart)} ms (numstat ${fmt(smallFloor)} ms)`,
      floorMs: nodeStart,
      ms: smallCli,
      figure: `+${fmt(smallCli - nodeStart)} ms`,
      target: '<= node start + 100 ms',
      met: smallCli - nodeStart <= 100,
    });
    rows.push({
      row: 'small check (in-process)',
      input: `same (${smallIn.verdict})`,
      floorLabel: `numstat ${fmt(smallFloor)} ms`,
      floorMs: smallFloor,
      ms: smallIn.ms,
      figure: `${(smallIn.ms / smallFloor).toFixed(2)}x`,
      target: '(pipeline cost; no target)',
      met: true,
    });
    process.stdout.write(
      `- small: numstat ${fmt(smallFloor)} ms, check ${fmt(smallCli)} ms, in-process ${fmt(smallIn.ms)} ms\n`,
    );

    // Large: 5,000 new files of 20 lines: 100,000 lines.
    const large = synthesize(5000, 20);
    const largeFile = join(work, 'large.patch');
    writeFileSync(largeFile, large.patch);
    const largeFloor = await numstat(largeFile);
    const largeCli = await cliCheck(largeFile, 'the large patch');
    const largeIn = await inProcess(large.patch);
    rows.push({
      row: 'large check (process)',
      input: '5,000 files, 100,000 lines',
      floorLabel: `numstat ${fmt(largeFloor)} + node start ${fmt(nodeStart)} ms`,
      floorMs: largeFloor + nodeStart,
      ms: largeCli,
      figure: `${(largeCli / (largeFloor + nodeStart)).toFixed(2)}x`,
      target: '<= 3x',
      met: largeCli <= 3 * (largeFloor + nodeStart),
    });
    rows.push({
      row: 'large check (in-process)',
      input: `same (${largeIn.verdict})`,
      floorLabel: `numstat ${fmt(largeFloor)} ms`,
      floorMs: largeFloor,
      ms: largeIn.ms,
      figure: `${(largeIn.ms / largeFloor).toFixed(2)}x`,
      target: '(pipeline cost; no target)',
      met: true,
    });
    process.stdout.write(
      `- large: numstat ${fmt(largeFloor)} ms, check ${fmt(largeCli)} ms, in-process ${fmt(largeIn.ms)} ms\n`,
    );

    // The engine alone, at 100k and 1M lines.
    for (const [label, files] of [
      ['100k', 10_000],
      ['1M', 100_000],
    ] as const) {
      if (label === '1M' && values['skip-1m']) continue;
      const s = synthesize(files, 10);
      const file = join(work, `engine-${label}.patch`);
      writeFileSync(file, s.patch);
      const floor = await numstat(file);
      await evaluate(s.change, policy, context);
      const ms = await timeRuns(runs, () => evaluate(s.change, policy, context));
      rows.push({
        row: `engine ${label} lines`,
        input: `${files.toLocaleString('en')} files, ${s.lines.toLocaleString('en')} lines`,
        floorLabel: `numstat ${fmt(floor)} ms`,
        floorMs: floor,
        ms,
        figure: `${(ms / floor).toFixed(2)}x`,
        target: '<= 1.5x',
        met: ms <= 1.5 * floor,
      });
      process.stdout.write(`- engine ${label}: numstat ${fmt(floor)} ms, evaluate ${fmt(ms)} ms\n`);
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
    await repo.cleanup();
  }

  const header = ['row', 'input', 'floor', 'measured ms', 'figure', 'target', 'met'];
  const cells = rows.map((r) => [
    r.row,
    r.input,
    r.floorLabel,
    fmt(r.ms),
    r.figure,
    r.target,
    r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const c of cells) process.stdout.write(`${line(c)}\n`);
  if (!cli.built)
    notes.push(
      'the CLI ran from the sources through tsx: build it (npm run build:cli) for the figures users get',
    );
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
}

await main();
