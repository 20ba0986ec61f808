/**
 * Benchmark of the sandbox (issue #8, `npm run bench:sandbox`): what running a command of the repository in
 * the sandbox costs over running the very same command bare, side by side in one run.
 *
 * Rows: one per command and mechanism that works here (bwrap, unshare; each probed with chooseSandbox, a
 * mechanism that does not work is listed with the reason). Each cell is the median wall time (ms) of
 * `--runs` calls of runCommand (src/sandbox/runner.ts), spawn to return, after one untimed call; the bare
 * and the sandboxed call alternate, so both see the same load of the machine.
 * - `true`: `true` through `/bin/sh -c`: the floor of any command, so the overhead is the sandbox's own
 *   set-up and tear-down (namespaces, mounts, the fresh /proc, for unshare the setup script).
 * - `git status`: `git status --porcelain` in the work tree of a small repository (200 files): a small real
 *   command that reads the work tree and the objects borrowed from the target (read-only in the sandbox).
 * Columns: bare ms (runCommand without a sandbox), sandboxed ms (with the sandbox a command proposer gets:
 * the workspace's spec, the hidden paths of hiddenPathsFor, network none), overhead ms (sandboxed - bare) and
 * ratio (sandboxed / bare).
 *
 * Options: `--runs 10`.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { headSha } from '../src/git/git.js';
import { chooseSandbox, type SandboxMechanism, type SandboxTool } from '../src/sandbox/mechanism.js';
import { runCommand, scrubEnv, type RunCommandOptions } from '../src/sandbox/runner.js';
import { createWorkspace, hiddenPathsFor, type Workspace } from '../src/sandbox/workspace.js';
import { makeTempRepo } from '../__tests__/helpers/git-repo.js';

/** A single timed command is killed after this long. */
const RUN_TIMEOUT_MS = 60_000;
/** Files of the benchmark repository. */
const REPO_FILES = 200;
const COMMANDS: readonly { label: string; command: string }[] = [
  { label: 'true', command: 'true' },
  { label: 'git status', command: 'git status --porcelain' },
];

/** The median of `values` (not empty). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `ms` with one decimal. */
const fmt = (ms: number): string => ms.toFixed(1);

/** Wall time (ms) of one runCommand call; throws when the command fails (a benchmark of a failure is moot). */
async function timeOne(command: string, opts: RunCommandOptions): Promise<number> {
  const started = performance.now();
  const r = await runCommand(command, opts);
  const ms = performance.now() - started;
  if (r.exitCode !== 0) {
    throw new Error(`\`${command}\` (sandbox ${r.sandbox}) exited ${r.exitCode}: ${r.stderrTail.trim()}`);
  }
  return ms;
}

/** Median wall times of `command` bare and in `tool`'s sandbox, `runs` alternating calls each (one warm-up). */
async function measure(
  command: string,
  ws: Workspace,
  tool: SandboxTool,
  hidden: readonly string[],
  runs: number,
): Promise<{ bare: number; boxed: number }> {
  const env = { ...scrubEnv(process.env), HOME: ws.home, TMPDIR: ws.tmp };
  const bareOpts: RunCommandOptions = { cwd: ws.work, timeoutMs: RUN_TIMEOUT_MS, env };
  const boxedOpts: RunCommandOptions = {
    ...bareOpts,
    sandbox: { spec: ws.spec(tool, { network: false, hidden }), newRoot: ws.newRoot },
  };
  await timeOne(command, bareOpts);
  await timeOne(command, boxedOpts);
  const bare: number[] = [];
  const boxed: number[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(await timeOne(command, bareOpts));
    boxed.push(await timeOne(command, boxedOpts));
  }
  return { bare: median(bare), boxed: median(boxed) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
  const runs = Math.max(1, Number.parseInt(values.runs, 10) || 10);

  const files: Record<string, string> = {};
  for (let i = 0; i < REPO_FILES; i++) {
    files[`docs/d${Math.floor(i / 50)}/page-${i}.md`] = `# Page ${i}\n\nSome text of page ${i}.\n`;
  }
  const repo = await makeTempRepo(files);
  const ws = await createWorkspace(repo.dir, await headSha(repo.dir));
  const hidden = await hiddenPathsFor({ repoDir: repo.dir, env: process.env });
  const header = ['command', 'mechanism', 'bare ms', 'sandboxed ms', 'overhead ms', 'ratio'];
  const rows: string[][] = [];
  const notes: string[] = [];
  try {
    process.stdout.write(
      `sandbox overhead: median of ${runs} runs per cell, ${REPO_FILES}-file repository\n`,
    );
    for (const mechanism of ['bwrap', 'unshare'] as SandboxMechanism[]) {
      const choice = await chooseSandbox(mechanism);
      if (choice.mode !== mechanism) {
        const why = choice.mode === 'unavailable' ? choice.message : choice.mode;
        rows.push(['(all)', mechanism, '-', '-', '-', 'unavailable']);
        notes.push(`${mechanism} does not work here: ${why}`);
        continue;
      }
      process.stdout.write(`- ${mechanism}: ${choice.tool.program}\n`);
      for (const { label, command } of COMMANDS) {
        const { bare, boxed } = await measure(command, ws, choice.tool, hidden, runs);
        rows.push([
          label,
          mechanism,
          fmt(bare),
          fmt(boxed),
          fmt(boxed - bare),
          `${(boxed / bare).toFixed(2)}x`,
        ]);
        process.stdout.write(`  ${label}: bare ${fmt(bare)} ms, sandboxed ${fmt(boxed)} ms\n`);
      }
    }
  } finally {
    await ws.remove();
    await repo.cleanup();
  }

  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((c) => c[i]!.length)));
  const line = (c: string[]): string => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const c of rows) process.stdout.write(`${line(c)}\n`);
  for (const n of notes) process.stdout.write(`note: ${n}\n`);
}

await main();
