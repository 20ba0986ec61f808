/**
 * The workspace of a sandboxed command (src/sandbox/workspace.ts) against a target that is a LINKED worktree:
 * its repository (whose config may hold a checkout's token) lies outside the checkout and must be hidden too,
 * while the objects the scratch repository borrows stay readable. And `kill 0` from inside reaches no process
 * outside the sandbox.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headSha } from '../src/git/git.js';
import { runCommand } from '../src/sandbox/runner.js';
import { createWorkspace, hiddenPathsFor } from '../src/sandbox/workspace.js';
import type { TempRepo } from './helpers/git-repo.js';
import { eachMechanism, makeTargetRepo, sandboxTools } from './sandbox.helpers.js';

const TOOLS = await sandboxTools();
const TOKEN_LINE = '\textraheader = AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX2NhbmFyeQ==';

let main: TempRepo;
let linked: string;
let linkedParent: string;

beforeAll(async () => {
  main = await makeTargetRepo({ 'README.md': 'hello\n' });
  await writeFile(
    join(main.dir, '.git', 'config'),
    `${await readFile(join(main.dir, '.git', 'config'), 'utf8')}[http "https://github.com/"]\n${TOKEN_LINE}\n`,
  );
  linkedParent = await realpath(await mkdtemp(join(tmpdir(), 'se-linked-')));
  linked = join(linkedParent, 'checkout');
  await main.git('worktree', 'add', '--quiet', '--detach', linked);
});
afterAll(async () => {
  await main?.git('worktree', 'remove', '--force', linked).catch(() => undefined);
  await rm(linkedParent, { recursive: true, force: true });
  await main?.cleanup();
});

it("hides a linked worktree's main repository: hiddenPathsFor names its git directory", async () => {
  const hidden = await hiddenPathsFor({ repoDir: linked, env: { HOME: '/nonexistent-home' } });
  expect(hidden).toContain(linked);
  expect(hidden).toContain(await realpath(join(main.dir, '.git')));
});

eachMechanism(TOOLS, (_mechanism, tool) => {
  it("a command in a linked worktree's sandbox cannot read the main repository's config, yet git works", async () => {
    const ws = await createWorkspace(linked, await headSha(linked));
    try {
      const hidden = await hiddenPathsFor({ repoDir: linked, env: process.env });
      const gitConfig = join(main.dir, '.git', 'config');
      const r = await runCommand(
        `cat '${gitConfig}' 2>/dev/null || echo "no config"; git log --format=%s -1; kill -TERM 0; echo after`,
        {
          cwd: ws.work,
          timeoutMs: 30_000,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: ws.home, TMPDIR: ws.tmp },
          sandbox: { spec: ws.spec(tool, { network: false, hidden }), newRoot: ws.newRoot },
        },
      );
      expect(r.stdoutTail).not.toContain('extraheader');
      expect(r.stdoutTail).toMatch(/^no config\n\S.*\n/);
      // Without the hiding, the same command reads the token line: the test can fail.
      const bare = await runCommand(`cat '${gitConfig}'`, { cwd: ws.work, timeoutMs: 10_000, env: {} });
      expect(bare.stdoutTail).toContain('extraheader');
    } finally {
      await ws.remove();
    }
  });
});
