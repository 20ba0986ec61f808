/**
 * A cancelled run leaves no process of its agent behind (issue #8: "every process it started killed when it
 * ends, on timeout or on cancel"). The command proposer runs in a node process of its own
 * (__fixtures__/sandbox/propose-child.ts, a stand-in for the CLI or the action); its agent starts processes
 * that try to outlive it (background, setsid, double fork) and sleeps. The test then ends the node process
 * the way a cancel does (SIGINT: Ctrl-C, GitHub's first signal; SIGTERM: GitHub's second; SIGKILL: a lost
 * runner) and looks for the agent's processes. With the sandbox none survives: bubblewrap's --die-with-parent
 * and unshare started through `setpriv --pdeathsig SIGKILL` end the namespace with the run's process. Without
 * a sandbox (the control) the setsid'ed process survives, so the test can fail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { headSha } from '../src/git/git.js';
import type { TempRepo } from './helpers/git-repo.js';
import { eachMechanism, makeTargetRepo, randomHex, sandboxTools, scratchDir } from './sandbox.helpers.js';

const TOOLS = await sandboxTools();
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CHILD = fileURLToPath(new URL('../__fixtures__/sandbox/propose-child.ts', import.meta.url));

let repo: TempRepo;
let base: string;
let scratch: string;

beforeAll(async () => {
  repo = await makeTargetRepo({ 'README.md': 'hello\n' });
  base = await headSha(repo.dir);
  scratch = await scratchDir('se-cancel-');
});
afterAll(async () => {
  await repo?.cleanup();
  await rm(scratch, { recursive: true, force: true });
});

/** Pids of live processes whose command line holds `marker` (zombies excluded). */
function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes(marker)) continue;
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (state !== 'Z') out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 50 ms until it is true or `ms` passed; returns its last value. */
async function waitFor(fn: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return true;
    await sleep(50);
  }
  return fn();
}

/**
 * Starts propose-child.ts with an agent that leaves three processes carrying a unique marker, waits until
 * they run, sends `signal` to the node process, and returns the marker's processes 1.5 s after it ended.
 */
async function survivorsAfter(
  mechanism: 'bwrap' | 'unshare' | 'none',
  signal: NodeJS.Signals,
): Promise<number[]> {
  const marker = `se-cancel-${randomHex(6)}`;
  // Each leftover runs `sleep 300 <marker>`-like commands: sh -c with the marker as $0.
  const command = [
    `(sh -c 'sleep 300' ${marker}-bg &)`,
    `setsid sh -c 'sleep 300' ${marker}-setsid &`,
    `(sh -c '(sh -c "sleep 300" ${marker}-double &)' &)`,
    `exec sh -c 'sleep 300' ${marker}-main`,
  ].join('\n');
  const job = join(scratch, `job-${randomHex(4)}.json`);
  await writeFile(job, JSON.stringify({ repoDir: repo.dir, baseSha: base, command, mechanism }));
  const child = spawn(process.execPath, ['--import', TSX, CHILD, job], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  try {
    const started = await waitFor(() => processesWith(`${marker}-main`).length > 0, 30_000);
    if (!started) throw new Error(`the agent did not start: ${stderr.slice(-1000)}`);
    // All four are running before the signal (the main one, the background, setsid and double-fork ones).
    expect(await waitFor(() => processesWith(marker).length >= 4, 10_000)).toBe(true);
    child.kill(signal);
    await closed;
    await sleep(1500);
    return processesWith(marker);
  } finally {
    child.kill('SIGKILL');
    for (const pid of processesWith(marker)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

eachMechanism(TOOLS, (mechanism) => {
  it.each(['SIGINT', 'SIGTERM', 'SIGKILL'] as const)(
    'the run process ended by %s: no process of the agent is left',
    async (signal) => {
      expect(await survivorsAfter(mechanism, signal)).toEqual([]);
    },
    60_000,
  );
});

describe('without a sandbox (the control)', () => {
  it('a process the agent moved into a session of its own survives the run process', async () => {
    expect((await survivorsAfter('none', 'SIGTERM')).length).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
