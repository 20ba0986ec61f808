/**
 * The CLI with no DATABASE_URL, as separate processes: the embedded Postgres server in <repo>/.self-evolution/pg
 * is started by the first command and shared. While a run lasts (its command proposer sleeps), `status`,
 * `flag get` and `flag set` work and a second run is skipped with "lock held" (the advisory run lock); the run then
 * records its result. `db status` and `db stop` show and stop the server left behind; the next command starts it
 * again with the records kept.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunningServer, stopEmbeddedServer } from '../src/store/embedded-server.js';
import { runCli, startCli } from './helpers/cli.js';
import { SLEEPER_FILES, sleeperPids, waitFor } from './helpers/cancel.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

let repo: TempRepo;
let pidsDir: string;
let serverDir: string;
/** No idle keeper: the server runs until the test stops it. */
const ENV = { SELF_EVOLUTION_DB_IDLE_MINUTES: '0' };

beforeAll(async () => {
  repo = await makeTempRepo(SLEEPER_FILES);
  pidsDir = await mkdtemp(join(tmpdir(), 'se-cli-embedded-pids-'));
  serverDir = join(repo.dir, '.self-evolution', 'pg');
});

afterAll(async () => {
  const pids = pidsDir !== undefined ? sleeperPids(pidsDir) : undefined;
  for (const pid of pids ? [pids.main, pids.bg] : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (serverDir !== undefined) await stopEmbeddedServer(serverDir, { force: true });
  await rm(pidsDir, { recursive: true, force: true });
  await repo?.cleanup();
});

const cli = (args: string[], env: Record<string, string> = {}) =>
  runCli([...args, '--repo', repo.dir, '--repository', 'acme/embedded'], { ...ENV, ...env });

describe('the embedded database of the CLI', () => {
  it('is a Postgres server in .self-evolution/pg, started by the first command and left running', async () => {
    expect(readRunningServer(serverDir)).toBeNull();
    const set = await cli(['flag', 'set', 'self_evolution_enabled', 'true']);
    expect(set).toMatchObject({ code: 0, stdout: 'self_evolution_enabled=true\n' });
    const running = readRunningServer(serverDir);
    expect(running).not.toBeNull();
    const status = await cli(['db', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`embedded database: ${serverDir}\n`);
    expect(status.stdout).toContain(`server: running, pid ${running!.pid}, 127.0.0.1:${running!.port}`);
    expect(status.stdout).toContain('idle keeper: none');
    expect(existsSync(join(repo.dir, '.self-evolution', 'db'))).toBe(false);
  }, 60_000);

  it('serves status and flags during a run, skips a second run with "lock held", then records the run', async () => {
    const first = startCli(
      ['run', '--repo', repo.dir, '--repository', 'acme/embedded', '--no-jitter', '--json'],
      {
        ...ENV,
        SE_TEST_PIDS: pidsDir,
      },
    );
    let exited = false;
    first.child.on('exit', () => (exited = true));
    const sleeping = await waitFor(() => sleeperPids(pidsDir) !== undefined || exited, 60_000);
    if (!sleeping || exited)
      throw new Error(`the run did not reach its proposer: ${(await first.result).stderr}`);

    // While the run holds its lock (and sleeps in its proposer): read-only commands and flag set work.
    const [status, get, second] = await Promise.all([
      cli(['status', '--json']),
      cli(['flag', 'get', 'self_evolution_enabled']),
      cli(['run', '--no-jitter', '--force', '--json']),
    ]);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as { status: string }[]).map((r) => r.status)).toContain('running');
    expect(get).toMatchObject({ code: 0, stdout: 'self_evolution_enabled=true\n' });
    expect(second.code).toBe(0);
    const skipped = JSON.parse(second.stdout) as { status: string; skipReason: string };
    expect(skipped.status).toBe('skipped');
    expect(skipped.skipReason).toMatch(/^lock held: another self-evolution run for this repository/);
    expect(exited).toBe(false);

    // The proposer ends (its sleep is killed): the run finishes and records its result.
    process.kill(sleeperPids(pidsDir)!.bg, 'SIGTERM');
    const done = await first.result;
    expect(done.code).toBe(0);
    expect((JSON.parse(done.stdout) as { status: string }).status).toBe('success');
    const after = await cli(['status', '--json']);
    const runs = JSON.parse(after.stdout) as { status: string }[];
    expect(runs.map((r) => r.status).sort()).toEqual(['skipped', 'success']);
  }, 180_000);

  it('db stop stops the server; the next command starts it again with the records kept', async () => {
    const before = readRunningServer(serverDir);
    expect(before).not.toBeNull();
    const stop = await cli(['db', 'stop']);
    expect(stop).toMatchObject({ code: 0 });
    expect(stop.stdout).toContain(`stopped the embedded Postgres server (pid ${before!.pid})`);
    expect(readRunningServer(serverDir)).toBeNull();
    expect((await cli(['db', 'status'])).stdout).toContain('server: stopped (the next command starts it)');
    expect((await cli(['db', 'stop'])).stdout).toContain('was not running');

    const status = await cli(['status', '--json']);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as unknown[]).length).toBe(2);
    const again = readRunningServer(serverDir);
    expect(again).not.toBeNull();
    expect(again!.pid).not.toBe(before!.pid);
  }, 60_000);
});
