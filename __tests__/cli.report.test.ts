/**
 * `self-evolution report [--out FILE] [--repository R | --all] [--days N]` as a user runs it (a separate process
 * against Postgres): the dashboard written where asked (by default <repo>/.self-evolution/report.html), its path
 * alone on stdout, one repository or all of them, and bad usage refused with exit code 2.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openDatabase } from '../src/store/open.js';
import { runCli } from './helpers/cli.js';
import { seedDailyRuns } from './helpers/dashboard-fixture.js';
import { createTestDatabase } from './helpers/db.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

const MAIN = 'acme/report';
const OTHER = 'acme/report-other';

let database: { url: string; drop(): Promise<void> };
let admin: Db;
let repo: TempRepo;

beforeAll(async () => {
  database = await createTestDatabase('cli_report');
  admin = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
  await migrate(admin);
  await seedDailyRuns(admin, MAIN, { from: 1, to: 40 });
  await seedDailyRuns(admin, OTHER, { from: 1, to: 3 });
  repo = await makeTempRepo({ 'README.md': 'x\n' });
}, 60_000);

afterAll(async () => {
  await repo?.cleanup();
  await admin?.close();
  await database?.drop();
});

describe('report', () => {
  it("writes one repository's dashboard to <repo>/.self-evolution/report.html and prints its path", async () => {
    const res = await runCli(['report', '--repo', repo.dir, '--repository', MAIN], {
      DATABASE_URL: database.url,
    });
    expect(res.stderr).toMatch(new RegExp(`^dashboard of ${MAIN}: \\d+ run\\(s\\) in 90 days\\n$`));
    expect(res.code).toBe(0);
    const path = join(repo.dir, '.self-evolution', 'report.html');
    expect(res.stdout).toBe(`${path}\n`);
    const html = await readFile(path, 'utf8');
    expect(html).toContain(`<title>Self-Evolution · ${MAIN}</title>`);
    expect(html).not.toContain(OTHER);
    expect(html.match(/<svg class="calendar"/g)).toHaveLength(1);
  });

  it('writes every repository with --all to --out (relative to the current directory) over --days', async () => {
    const res = await runCli(
      ['report', '--repo', repo.dir, '--all', '--out', 'all.html', '--days', '30'],
      {
        DATABASE_URL: database.url,
      },
      repo.dir,
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(`${join(repo.dir, 'all.html')}\n`);
    expect(res.stderr).toMatch(/^dashboard of 2 repositories: \d+ run\(s\) in 30 days\n$/);
    const html = await readFile(join(repo.dir, 'all.html'), 'utf8');
    expect(html).toContain('<title>Self-Evolution · all repositories (2)</title>');
    expect(html).toContain('The last 30 days');
    expect(html.match(/<svg class="calendar"/g)).toHaveLength(2);
  });

  it('refuses --all with --repository, and a --days out of range (exit 2)', async () => {
    const env = { DATABASE_URL: database.url };
    const both = await runCli(['report', '--repo', repo.dir, '--all', '--repository', MAIN], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give either --repository owner/name or --all, not both');
    const zero = await runCli(['report', '--repo', repo.dir, '--days', '0'], env);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('expected a whole number >= 1, got "0"');
    const many = await runCli(['report', '--repo', repo.dir, '--days', '401'], env);
    expect(many.code).toBe(2);
    expect(many.stderr).toContain('expected at most 400 days, got 401');
    expect(both.stdout + zero.stdout + many.stdout).toBe('');
  });
});
