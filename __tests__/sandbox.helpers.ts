/**
 * Helpers of the sandbox tests (__tests__/sandbox.*.test.ts, issue #8): the mechanisms to run on (each
 * probed for real), canary secrets and where they are found, a process outside the sandbox that holds
 * canaries in its environment and command line, processes found by a marker in their command line,
 * snapshots of directories, a TCP listener on 127.0.0.1, and the context of a command proposer.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat, mkdtemp, readFile, readdir, readlink, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { chooseSandbox, type SandboxMechanism, type SandboxTool } from '../src/sandbox/mechanism.js';
import type { CommandLogEntry } from '../src/sandbox/runner.js';
import type { ProposerContext } from '../src/propose/types.js';
import { makeTempRepo, type FileSpec, type TempRepo } from './helpers/git-repo.js';
import { visibleFixtures } from './helpers/fixtures.js';

/** Directory of the sandbox fixtures (hostile and honest agents, __fixtures__/sandbox/). */
export const SANDBOX_FIXTURES = visibleFixtures('sandbox');

/**
 * A directory for test files outside /tmp (/var/tmp where it exists): a real checkout is not under /tmp, and
 * the sandbox hides such a path with a mount of its own (a path under /tmp is gone with the private /tmp
 * anyway), and shows it read-only rather than not at all.
 */
export const OUTSIDE_TMP_BASE = existsSync('/var/tmp') ? '/var/tmp' : tmpdir();

/** makeTempRepo, under {@link OUTSIDE_TMP_BASE}. */
export async function makeTargetRepo(files: Record<string, FileSpec>): Promise<TempRepo> {
  const before = process.env.TMPDIR;
  process.env.TMPDIR = OUTSIDE_TMP_BASE;
  try {
    return await makeTempRepo(files);
  } finally {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
  }
}

/** A fresh directory (real path) under {@link OUTSIDE_TMP_BASE}. */
export async function scratchDir(prefix: string): Promise<string> {
  return realpath(await mkdtemp(join(OUTSIDE_TMP_BASE, prefix)));
}

/** The command that runs fixture `name` (e.g. 'hostile.sh') with /bin/sh. */
export const fixture = (name: string): string => `sh '${join(SANDBOX_FIXTURES, name)}'`;

/** The mechanisms every sandbox test runs on. */
export const MECHANISMS: readonly SandboxMechanism[] = ['bwrap', 'unshare'];

/** The tool of each mechanism when its trial works here, else why not (chooseSandbox's message). */
export async function sandboxTools(): Promise<Record<SandboxMechanism, SandboxTool | string>> {
  const out = {} as Record<SandboxMechanism, SandboxTool | string>;
  for (const m of MECHANISMS) {
    const c = await chooseSandbox(m);
    out[m] = c.mode === m ? c.tool : c.mode === 'unavailable' ? c.message : `chose ${c.mode}`;
  }
  return out;
}

/**
 * describe.each over {@link MECHANISMS}: `body(mechanism, tool)` for each that works here; one skipped test
 * (and a warning on the console) naming the reason for each that does not.
 */
export function eachMechanism(
  tools: Record<SandboxMechanism, SandboxTool | string>,
  body: (mechanism: SandboxMechanism, tool: SandboxTool) => void,
): void {
  describe.each([...MECHANISMS])('sandbox %s', (mechanism) => {
    const tool = tools[mechanism];
    if (typeof tool === 'string') {
      console.warn(`sandbox tests for ${mechanism} skipped: ${tool}`);
      it.skip(`(skipped: ${mechanism} is not available here: ${tool})`, () => undefined);
      return;
    }
    body(mechanism, tool);
  });
}

/** A random hex string of `bytes` bytes. */
export const randomHex = (bytes = 8): string => randomBytes(bytes).toString('hex');

/** Canary secrets: each value holds "SECANARY" (the filter of the tests' controls) and a random part. */
export interface Canaries {
  /** Secret-named variables of the environment given to the proposer or run (scrubbed for the agent). */
  env: Record<string, string>;
  /** The database password inside env.DATABASE_URL. */
  dbPassword: string;
  /**
   * A variable of the parent's own environment; its name looks secret, so scrubEnv keeps it out of the agent's
   * own environment: only the parent's /proc/PID/environ holds it.
   */
  parentName: string;
  parentValue: string;
  /** A variable only the holder process (outside the sandbox) has. */
  holderName: string;
  holderValue: string;
  /** An argument on the holder process's command line. */
  holderArg: string;
  /** An argument on the command line of an ancestor of the agent (a password in --database-url). */
  ancestorArg: string;
  /** An HTTP header in the target checkout's .git/config, as actions/checkout keeps its token. */
  checkout: string;
}

/** Fresh canary values. */
export function makeCanaries(): Canaries {
  const r = randomHex(10);
  const dbPassword = `dbpw-SECANARY-${r}`;
  return {
    env: {
      DATABASE_URL: `postgres://app:${dbPassword}@db.invalid:5432/app`,
      GITHUB_TOKEN: `ghs_SECANARY${r}gh`,
      ACTIONS_RUNTIME_TOKEN: `art-SECANARY-${r}`,
      OPENAI_API_KEY: `sk-SECANARY-${r}-openai`,
    },
    dbPassword,
    parentName: 'SE_PARENT_SECRET',
    parentValue: `parent-SECANARY-${r}`,
    holderName: 'SE_HOLDER_NOTE',
    holderValue: `holder-SECANARY-${r}`,
    holderArg: `holderarg-SECANARY-${r}`,
    ancestorArg: `ancestorpw-SECANARY-${r}`,
    checkout: `checkout-SECANARY-${r}`,
  };
}

/** Every canary value by a name for messages (the database URL counts by its password). */
export function canaryValues(c: Canaries): Record<string, string> {
  return {
    'DATABASE_URL password': c.dbPassword,
    GITHUB_TOKEN: c.env.GITHUB_TOKEN!,
    ACTIONS_RUNTIME_TOKEN: c.env.ACTIONS_RUNTIME_TOKEN!,
    OPENAI_API_KEY: c.env.OPENAI_API_KEY!,
    [c.parentName]: c.parentValue,
    [c.holderName]: c.holderValue,
    'holder command line': c.holderArg,
    'ancestor command line': c.ancestorArg,
    'checkout .git/config': c.checkout,
  };
}

/**
 * The names of the canaries whose value occurs in `text` (names only, so a failing assertion never prints
 * what a walk read).
 */
export function canariesIn(text: string, c: Canaries): string[] {
  return Object.entries(canaryValues(c))
    .filter(([, v]) => text.includes(v))
    .map(([k]) => k);
}

/** The number of processes hostile-walk.sh saw (its "sees N processes" line). */
export function processesSeen(text: string): number {
  const m = /sees (\d+) processes/.exec(text);
  if (!m) throw new Error('the walk did not report what it saw');
  return Number(m[1]);
}

/** A process started by the test outside any sandbox. */
export interface Holder {
  pid: number;
  /** True while the process exists (and is not a zombie). */
  alive(): boolean;
  /** Kills it (SIGKILL to its process group) and waits until it is gone. */
  stop(): Promise<void>;
}

/** True when process `pid` exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Resolves when `cond()` is true, or false after `ms`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  every = 25,
): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * Starts `/bin/sh -c 'sleep 120; exit 0' <holderArg>` in a process group of its own, with the canaries of
 * `env` and the holder variable in its environment: something for a walk of /proc to find. Resolves once its
 * command line is its own.
 */
export async function startHolder(c: Canaries): Promise<Holder> {
  const child = spawn('/bin/sh', ['-c', 'sleep 120; exit 0', c.holderArg], {
    env: { PATH: process.env.PATH, ...c.env, [c.holderName]: c.holderValue },
    stdio: 'ignore',
    detached: true,
  });
  const pid = child.pid!;
  child.unref();
  const ready = await waitFor(() => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(c.holderArg);
    } catch {
      return false;
    }
  }, 5000);
  if (!ready) throw new Error('the canary holder did not start');
  return {
    pid,
    alive: () => processAlive(pid),
    stop: async () => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
      await waitFor(() => !processAlive(pid), 2000);
    },
  };
}

/** A process whose command line holds a marker. */
export interface MarkedProcess {
  pid: number;
  cmdline: string;
}

/** Live processes (zombies excluded) whose /proc/PID/cmdline contains `mark`, this process excluded. */
export function markedProcesses(mark: string): MarkedProcess[] {
  const out: MarkedProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (cmdline.includes(mark) && processAlive(Number(name))) out.push({ pid: Number(name), cmdline });
  }
  return out;
}

/** Kills the processes holding `mark` in their command line and their process groups (test cleanup). */
export async function killMarked(mark: string): Promise<void> {
  for (const p of markedProcesses(mark)) {
    for (const target of [-p.pid, p.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not a group leader, or gone
      }
    }
  }
  await waitFor(() => markedProcesses(mark).length === 0, 3000);
}

/** The PID namespace of this process, e.g. "pid:[4026531836]". */
export const hostPidNamespace = (): string => readlinkSync('/proc/self/ns/pid');

/**
 * Every entry under `dir` (itself included, `.git` and all): relative path -> kind, mode and, for a file,
 * the sha256 of its content, for a link its target. Two snapshots are equal when nothing under `dir` changed.
 */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === '' ? dir : join(dir, rel);
    const st = await lstat(abs);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) {
      out[rel || '.'] = `link ${await readlink(abs)}`;
    } else if (st.isDirectory()) {
      out[rel || '.'] = `dir ${mode}`;
      for (const name of (await readdir(abs)).sort()) await walk(rel === '' ? name : join(rel, name));
    } else {
      const sha = createHash('sha256')
        .update(await readFile(abs))
        .digest('hex');
      out[rel || '.'] = `file ${mode} ${sha}`;
    }
  };
  await walk('');
  return out;
}

/** Every file under `dir` as text, concatenated with its path (for canary searches in artifacts). */
export async function readTree(dir: string): Promise<string> {
  const parts: string[] = [];
  const walk = async (abs: string): Promise<void> => {
    const st = await lstat(abs);
    if (st.isDirectory()) {
      for (const name of (await readdir(abs)).sort()) await walk(join(abs, name));
    } else if (st.isFile()) {
      parts.push(`== ${abs}\n${await readFile(abs, 'utf8')}`);
    }
  };
  await walk(dir);
  return parts.join('\n');
}

/** A TCP server on 127.0.0.1 that records what each connection sent. */
export interface Listener {
  port: number;
  /** Text received, one entry per closed connection. */
  received: string[];
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Starts a {@link Listener} on a free port of 127.0.0.1. */
export async function startListener(): Promise<Listener> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  let count = 0;
  const server = createServer((s) => {
    count++;
    sockets.add(s);
    let text = '';
    s.on('data', (d) => (text += d.toString('utf8')));
    s.on('close', () => {
      sockets.delete(s);
      received.push(text);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    received,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Runs `fn` with `vars` set in this process's own environment (process.env), restoring the previous values
 * afterwards. Note that /proc/PID/environ shows the environment a process was started with: a variable set
 * at run time is not in it (the ancestor tests start a process with the canaries instead).
 */
export async function withProcessEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    before[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A command proposer's context for `repoDir` at `baseSha`, logging into `lines` and `commands`. */
export function proposerContext(
  repoDir: string,
  baseSha: string,
  record: { lines: string[]; commands: CommandLogEntry[] } = { lines: [], commands: [] },
): ProposerContext {
  return {
    repoDir,
    baseSha,
    request: 'fix the typos in the guide',
    reflection: {
      insights: '',
      signals: { git: { recentCommits: [], reverts: [], mostChangedFiles: [], windowDays: 30 }, goals: [] },
    },
    logger: {
      debug: (m) => void record.lines.push(m),
      info: (m) => void record.lines.push(m),
      warn: (m) => void record.lines.push(m),
      error: (m) => void record.lines.push(m),
    },
    onCommand: (e) => void record.commands.push(e),
  };
}
