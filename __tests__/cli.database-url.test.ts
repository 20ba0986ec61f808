/**
 * The database URL of the CLI without a password on the command line (issue #8): `--database-url-file FILE`
 * reads it from a file (a secret of the run, never printed), `--database-url URL` with a password warns once,
 * bad files and both options are usage errors, and no process of a run started with the file has the password
 * in its /proc/PID/cmdline (while one started with --database-url does).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../src/store/open.js';
import type { Db } from '../src/store/db.js';
import { createTestDatabase } from './helpers/db.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';
import { runCli, startCli, type CliResult } from './helpers/cli.js';

/** Exactly one warning about a password on the command line. */
const WARNING = /warning: the URL given with --database-url holds a password/g;

let database: { url: string; drop(): Promise<void> };
/** The test database's URL with a password: the server's own, else a canary the (trust) server ignores. */
let urlWithPassword: string;
let password: string;
let admin: Db;
let dir: string;
let repo: TempRepo;

beforeAll(async () => {
  database = await createTestDatabase('cli database url');
  const url = new URL(database.url);
  if (url.password === '') url.password = `pw-canary-${randomBytes(8).toString('hex')}`;
  password = decodeURIComponent(url.password);
  urlWithPassword = url.toString();
  admin = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
  dir = await mkdtemp(join(tmpdir(), 'se-dburl-'));
  repo = await makeTempRepo({ 'README.md': 'x\n' });
});

afterAll(async () => {
  await repo?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
  await admin?.close();
  await database?.drop();
});

/** Writes `content` to a new file in the test directory and returns its path. */
async function urlFile(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content, { mode: 0o600 });
  return path;
}

/** Everything the CLI printed. */
const output = (r: CliResult): string => r.stdout + r.stderr;

describe('--database-url-file', () => {
  it('migrate, status and flag read the URL from the file (first non-empty line, trimmed), before DATABASE_URL', async () => {
    await urlFile('url.txt', `\n   \n  ${urlWithPassword}  \r\nignored second line\n`);
    // DATABASE_URL points nowhere: the commands work only if the file wins.
    const env = { DATABASE_URL: 'postgres://u:env-secret-123@127.0.0.1:1/none' };
    const args = ['--repo', repo.dir, '--repository', 'acme/file', '--database-url-file', 'url.txt'];
    const migrate = await runCli(['migrate', ...args], env, dir); // relative to the current directory
    expect(migrate.stderr).toBe('');
    expect(migrate.code).toBe(0);
    const flag = await runCli(['flag', 'set', 'self_evolution_enabled', 'true', ...args], env, dir);
    expect(flag.code).toBe(0);
    const status = await runCli(['status', '--json', ...args], env, dir);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual([]);
    for (const r of [migrate, flag, status]) {
      expect(output(r)).not.toContain(password);
      expect(output(r)).not.toMatch(/warning/);
    }
    const flags = await admin.query<{ value: boolean }>(
      "SELECT value FROM feature_flags WHERE key = 'self_evolution_enabled'",
    );
    expect(flags).toEqual([{ value: true }]);
  });

  it("runs with the file; the URL's password is a secret of the run: a change holding it is not recorded", async () => {
    const run = await makeTempRepo({
      '.github/self-evolution-config.json': JSON.stringify({
        enabled: true,
        safetyRails: { allowedPaths: ['docs/**'] },
        proposers: [
          {
            kind: 'command',
            name: 'leaker',
            // The password reaches the proposer under a name that does not look secret.
            command: 'printf "%s\\n" "$SE_TEST_PROBE" >> docs/a.md',
            type: 'cleanup',
            riskLevel: 0,
          },
        ],
      }),
      'docs/a.md': 'a\n',
    });
    try {
      const file = await urlFile('run-url.txt', `${urlWithPassword}\n`);
      const args = ['--repo', run.dir, '--repository', 'acme/file-run', '--database-url-file', file];
      expect((await runCli(['flag', 'set', 'self_evolution_enabled', 'true', ...args])).code).toBe(0);
      const res = await runCli(['run', '--no-jitter', '--json', ...args], { SE_TEST_PROBE: password });
      expect(res.code).toBe(0);
      const out = JSON.parse(res.stdout);
      expect(out).toMatchObject({ status: 'success', repository: 'acme/file-run' });
      expect(out.proposals).toEqual([
        expect.objectContaining({ proposer: 'leaker', status: 'failed', patchFile: null }),
      ]);
      expect(output(res)).not.toContain(password);
      expect(output(res)).not.toMatch(/warning/);
      // Nothing the run wrote holds it: the artifacts and the database.
      const artifacts = out.artifactsDir as string;
      for (const name of await readdir(artifacts, { recursive: true })) {
        const text = await readFile(join(artifacts, name), 'utf8').catch(() => '');
        expect(text).not.toContain(password);
      }
      const rows = await admin.query<{ row: string }>(
        `SELECT to_jsonb(p)::text AS row FROM self_evolution_proposals p
           JOIN self_evolution_runs r ON r.id = p.run_id WHERE r.repository = 'acme/file-run'
         UNION ALL SELECT to_jsonb(r)::text FROM self_evolution_runs r WHERE r.repository = 'acme/file-run'`,
      );
      expect(rows.length).toBeGreaterThanOrEqual(2);
      for (const { row } of rows) expect(row).not.toContain(password);
    } finally {
      await run.cleanup();
    }
  });

  it('exits 2 naming the file, without a stack trace, when it is missing, a directory or empty, or with --database-url', async () => {
    const empty = await urlFile('empty.txt', '\n  \n\t\n');
    const zero = await urlFile('zero.txt', '');
    const sub = join(dir, 'a-directory');
    await mkdir(sub, { recursive: true });
    const missing = join(dir, 'missing.txt');
    const good = await urlFile('good.txt', `${urlWithPassword}\n`);
    const cases: [string[], RegExp][] = [
      [
        ['status', '--database-url-file', missing],
        /cannot read --database-url-file .*missing\.txt: no such file/,
      ],
      [
        ['migrate', '--database-url-file', sub],
        /cannot read --database-url-file .*a-directory: it is a directory/,
      ],
      [['flag', 'get', 'x', '--database-url-file', empty], /--database-url-file .*empty\.txt is empty/],
      [['status', '--database-url-file', zero], /--database-url-file .*zero\.txt is empty/],
      [
        ['status', '--database-url-file', join(good, 'below-a-file')],
        /cannot read --database-url-file .*good\.txt\/below-a-file: a part of the path is not a directory/,
      ],
      [
        ['run', '--no-jitter', '--database-url-file', good, '--database-url', urlWithPassword],
        /give either --database-url-file FILE or --database-url URL, not both/,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli([...args, '--repo', repo.dir])));
    results.forEach((res, i) => {
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(cases[i]![1]);
      expect(res.stderr).toMatch(/^error: /m);
      expect(res.stderr).not.toMatch(/\n\s+at /);
      expect(output(res)).not.toContain(password);
      expect(output(res)).not.toMatch(/warning/);
    });
  });

  // root reads any file, whatever its mode: nothing to test there.
  (process.getuid?.() === 0 ? it.skip : it)('exits 2 when the file cannot be read (mode 000)', async () => {
    const path = await urlFile('locked.txt', `${urlWithPassword}\n`);
    await chmod(path, 0o000);
    const res = await runCli(['status', '--repo', repo.dir, '--database-url-file', path]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cannot read --database-url-file .*locked\.txt: permission denied/);
  });
});

describe('--database-url with a password', () => {
  it('warns once on stderr, never printing the URL or the password, and the command goes on', async () => {
    const res = await runCli([
      'status',
      '--json',
      '--repo',
      repo.dir,
      '--repository',
      'acme/warn',
      '--database-url',
      urlWithPassword,
    ]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual([]);
    expect(res.stderr.match(WARNING)).toHaveLength(1);
    expect(res.stderr).toMatch(/process list/);
    expect(res.stderr).toMatch(/DATABASE_URL or with --database-url-file FILE instead/);
    expect(output(res)).not.toContain(password);
    expect(output(res)).not.toContain(urlWithPassword);
  });

  it('warns exactly when the URL on the command line holds a password (user:password@ or ?password=)', async () => {
    const cases: [string[], Record<string, string>, boolean][] = [
      [['--database-url', 'postgres://u:pw-in-argv-1@127.0.0.1:1/none'], {}, true],
      [['--database-url', 'postgres://u@127.0.0.1:1/none?password=pw-in-query-2'], {}, true],
      [['--database-url', 'postgresql://u:p%40ss-word-3@127.0.0.1:1/none'], {}, true],
      [['--database-url', 'postgres://u@127.0.0.1:1/none'], {}, false],
      [['--database-url', 'postgres://u:@127.0.0.1:1/none'], {}, false],
      [['--database-url', 'postgres://127.0.0.1:1/none?sslmode=disable'], {}, false],
      [[], { DATABASE_URL: 'postgres://u:pw-in-env-4@127.0.0.1:1/none' }, false],
    ];
    const results = await Promise.all(
      cases.map(([args, env]) => runCli(['status', '--repo', repo.dir, ...args], env)),
    );
    results.forEach((res, i) => {
      const [, , warns] = cases[i]!;
      expect(res.code).toBe(1); // nothing listens on port 1
      expect(res.stderr).toMatch(/cannot connect to postgres 127\.0\.0\.1:1\/none/);
      expect(res.stderr.match(WARNING) ?? []).toHaveLength(warns ? 1 : 0);
      expect(output(res)).not.toMatch(/pw-in-|ss-word/);
    });
  });
});

/** The command line of every process now, by pid (NUL separators as spaces); vanished ones are left out. */
async function allCmdlines(): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.set(Number(name), (await readFile(`/proc/${name}/cmdline`, 'utf8')).replaceAll('\0', ' '));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/**
 * Runs the CLI with `args` and reads every process's /proc/PID/cmdline until it ends: what the child's own
 * command line was, and the command lines (of any process) that held the password.
 */
async function watchCmdlines(
  args: string[],
): Promise<{ result: CliResult; childCmdline: string; leaks: string[] }> {
  const { child, result } = startCli(args);
  let exited = false;
  void result.finally(() => (exited = true));
  let childCmdline = '';
  const leaks = new Set<string>();
  while (!exited) {
    for (const [pid, cmdline] of await allCmdlines()) {
      if (pid === child.pid && cmdline !== '') childCmdline = cmdline;
      if (cmdline.includes(password)) leaks.add(`${pid}: ${cmdline.slice(0, 80)}`);
    }
    await sleep(20);
  }
  return { result: await result, childCmdline, leaks: [...leaks] };
}

describe('the process list', () => {
  it('holds the password of no process of a run started with --database-url-file (and does with --database-url)', async () => {
    const run = await makeTempRepo({
      '.github/self-evolution-config.json': JSON.stringify({
        enabled: true,
        safetyRails: { allowedPaths: ['docs/**'] },
        // Slow enough to watch the run's own child processes (the shell, sleep, git) too.
        proposers: [
          {
            kind: 'command',
            name: 'slow',
            command: "sleep 1; sed -i 's/  */ /g' docs/a.md",
            type: 'cleanup',
            riskLevel: 0,
          },
        ],
      }),
      'docs/a.md': 'a  b\n',
    });
    try {
      const file = await urlFile('cmdline-url.txt', `${urlWithPassword}\n`);
      const common = ['--repo', run.dir, '--repository', 'acme/cmdline', '--no-jitter', '--force', '--json'];
      expect(
        (
          await runCli([
            'flag',
            'set',
            'self_evolution_enabled',
            'true',
            '--repo',
            run.dir,
            '--database-url-file',
            file,
          ])
        ).code,
      ).toBe(0);

      const withFile = await watchCmdlines(['run', ...common, '--database-url-file', file]);
      expect(withFile.result.code).toBe(0);
      expect(JSON.parse(withFile.result.stdout)).toMatchObject({ status: 'success' });
      // The child was seen while it ran, with its real command line.
      expect(withFile.childCmdline).toContain('--database-url-file');
      expect(withFile.childCmdline).toContain(file);
      expect(withFile.leaks).toEqual([]);

      // The same watch finds the password when the URL is on the command line: the test can fail.
      const withFlag = await watchCmdlines(['run', ...common, '--database-url', urlWithPassword]);
      expect(withFlag.result.code).toBe(0);
      expect(withFlag.childCmdline).toContain(password);
      expect(withFlag.leaks.length).toBeGreaterThanOrEqual(1);
      expect(withFlag.result.stderr.match(WARNING)).toHaveLength(1);
    } finally {
      await run.cleanup();
    }
  }, 120_000);
});
