/**
 * What the cancellation tests share: a command proposer that sleeps (recording the pids of its shell and of a
 * background child), process and scratch-directory probes, and the backend that holds a repository's run lock.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Queryable } from '../../src/store/db.js';
import { runLockKey } from '../../src/store/lock.js';

/**
 * A command proposer's command: with SE_TEST_PIDS set, it starts `sleep 300` in the background, writes the pids
 * of that child (bg.pid) and of its shell (main.pid, written last, atomically) into that directory and waits;
 * without it, it only fixes the typo of docs/guide.md (a run that finishes).
 */
export const SLEEPER = [
  'if [ -n "$SE_TEST_PIDS" ]; then',
  '  sleep 300 &',
  '  echo $! > "$SE_TEST_PIDS/bg.pid"',
  '  echo $$ > "$SE_TEST_PIDS/main.tmp" && mv "$SE_TEST_PIDS/main.tmp" "$SE_TEST_PIDS/main.pid"',
  '  wait',
  'fi',
  "sed -i 's/teh/the/g' docs/guide.md",
].join('\n');

/** A config whose one proposer is SLEEPER, without a sandbox (so the recorded pids are the real ones). */
export const SLEEPER_CONFIG = {
  enabled: true,
  sandbox: 'none',
  safetyRails: {
    allowedPaths: ['docs/**/*.md'],
    blockedPaths: ['.github/workflows/**', '.env*'],
    maxRiskLevel: 2,
  },
  proposers: [
    {
      kind: 'command',
      name: 'sleeper',
      command: SLEEPER,
      title: 'Fix typos',
      type: 'cleanup',
      riskLevel: 0,
      timeoutSeconds: 600,
    },
  ],
};

/** The files of a target repository with SLEEPER_CONFIG. */
export const SLEEPER_FILES = {
  '.github/self-evolution-config.json': JSON.stringify(SLEEPER_CONFIG, null, 2),
  'docs/guide.md': '# Guide\n\nteh weather, teh forecast\n',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 50 ms until it is true or `ms` passed; returns its last value. */
export async function waitFor(fn: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(50);
  }
  return fn();
}

/** The pids SLEEPER wrote into `dir` (its shell, its background child); undefined until main.pid exists. */
export function sleeperPids(dir: string): { main: number; bg: number } | undefined {
  if (!existsSync(join(dir, 'main.pid'))) return undefined;
  const read = (name: string) => Number(readFileSync(join(dir, name), 'utf8').trim());
  return { main: read('main.pid'), bg: read('bg.pid') };
}

/** True when process `pid` exists and is not a zombie (an exited child not yet reaped by its parent). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return /^State:\s+Z/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8')) === null;
  } catch {
    return false;
  }
}

/** Names of the scratch directories of process `pid` under `tmp` (git/exec.ts scratchPrefix: any kind). */
export function scratchDirsOf(pid: number, tmp: string): string[] {
  const pattern = new RegExp(`^self-evolution-[a-z]+-${pid}-`);
  return readdirSync(tmp).filter((name) => pattern.test(name));
}

/** The backend pid of the session that holds `repository`'s run lock in this database, or undefined. */
export async function lockBackendPid(db: Queryable, repository: string): Promise<number | undefined> {
  const rows = await db.query<{ pid: number }>(
    `SELECT pid FROM pg_locks
     WHERE locktype = 'advisory' AND granted AND objsubid = 1
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND classid::bigint = (($1::bigint >> 32) & 4294967295)
       AND objid::bigint = ($1::bigint & 4294967295)`,
    [runLockKey(repository)],
  );
  return rows[0]?.pid;
}
