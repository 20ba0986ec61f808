/**
 * `self-evolution run --live` as a user runs it: a real CLI process pushing with the user's own git (a local
 * bare `origin`) and talking to the GitHub API given by GITHUB_API_URL (the OpenAPI-validated fake) with
 * GITHUB_TOKEN. The process is SIGKILLed while it waits for GitHub to open the pull request, after the push:
 * the next run opens exactly one pull request for that branch, and the token is in no process's argv.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import type { Db } from '../src/store/db.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { runCli, startCli } from './helpers/cli.js';
import { TOKEN, world, type World } from './helpers/live-world.js';

let database: TestDatabase;
let admin: Db;
let w: World | undefined;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('cli_live'));
  await resetRuns(admin);
});
afterAll(async () => {
  await admin?.close();
  await database?.drop();
});
afterEach(async () => {
  await w?.cleanup();
  w = undefined;
});

/** Every process's argv that holds the token (none may). */
async function argvWithToken(): Promise<string[]> {
  const hits: string[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (argv.includes(TOKEN)) hits.push(argv.replace(/\0/g, ' '));
  }
  return hits;
}

describe('run --live (CLI)', () => {
  it('SIGKILL after the push, before the pull request: the next run opens exactly one', async () => {
    w = await world(database.url);
    const env = { DATABASE_URL: database.url, GITHUB_TOKEN: TOKEN, GITHUB_API_URL: w.fake.url };
    const args = ['run', '--repo', w.repo.dir, '--repository', 'acme/agent', '--live', '--no-jitter'];
    const held = w.fake.holdNext({ method: 'POST', path: '/repos/acme/agent/pulls' });
    const cli = startCli(args, env);
    await held.arrived; // the branch is pushed, the pull request asked for: the process waits for GitHub
    expect(await argvWithToken()).toEqual([]);
    cli.child.kill('SIGKILL');
    const killed = await cli.result;
    expect(killed.code).toBeNull();
    held.release();

    const [action] = await admin.query<{ status: string; branch: string }>(
      'SELECT status, branch FROM self_evolution_actions',
    );
    expect(['planned', 'pushed']).toContain(action!.status);
    expect(await w.git('for-each-ref', '--format=%(refname)', 'refs/heads/self-evolution/')).toBe(
      `refs/heads/${action!.branch}`,
    );

    const next = await runCli([...args, '--force', '--json'], env);
    expect(next.code).toBe(0);
    const report = JSON.parse(next.stdout) as {
      proposals: { pullRequest: { state: string; number: number } }[];
    };
    expect(['opened', 'existing']).toContain(report.proposals[0]!.pullRequest.state);
    // the held request was answered after the kill: GitHub may have made the pull request then; either way,
    // there is exactly one pull request for the branch
    const forBranch = w.fake.pulls.filter((p) => p.head === action!.branch);
    expect(forBranch).toHaveLength(1);
    expect(
      (await admin.query<{ status: string }>('SELECT status FROM self_evolution_actions')).map(
        (a) => a.status,
      ),
    ).toEqual(['submitted']);
    expect(next.stdout + next.stderr).not.toContain(TOKEN);
    w.fake.assertNoViolations();
  });
});
