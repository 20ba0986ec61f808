/**
 * Repository checks run in one scratch worktree of a real temporary git repository: pass, fail, timeout,
 * scrubbed environment, masked output, worktree removal.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createWorkspace, type Workspace } from '../src/sandbox/workspace.js';
import {
  CHECK_OUTPUT_TAIL_BYTES,
  checkInsights,
  RepositoryCheckSchema,
  RepositoryChecksSchema,
  runRepositoryChecks,
} from '../src/reflect/checks.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

const SECRET = 'canary-secret-value-4f9a1c';
const TOKEN = `ghp_${'Zq9'.repeat(12)}`;

let repo: TempRepo;
let base: string;

beforeAll(async () => {
  repo = await makeTempRepo({
    'package.json': '{"name":"target"}\n',
    'ok.sh': { content: '#!/bin/sh\necho "all 3 tests passed"\n', mode: 0o755 },
    'fail.sh': {
      content: '#!/bin/sh\necho "running lint"\necho "src/a.ts:3:1 error no-unused-vars" >&2\nexit 3\n',
      mode: 0o755,
    },
  });
  base = await repo.git('rev-parse', 'HEAD');
});
afterAll(() => repo.cleanup());

/** createWorkspace, recording the work tree of each workspace it made (and its root, to see it removed). */
function trackedWorktrees(): {
  dirs: string[];
  roots: string[];
  createWorkspace: (r: string, s: string) => Promise<Workspace>;
} {
  const dirs: string[] = [];
  const roots: string[] = [];
  return {
    dirs,
    roots,
    createWorkspace: async (r, s) => {
      const ws = await createWorkspace(r, s);
      dirs.push(ws.work);
      roots.push(ws.root);
      return ws;
    },
  };
}

const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra });

describe('runRepositoryChecks', () => {
  it('runs a passing and a failing check in one worktree of the base commit, then removes it', async () => {
    const wt = trackedWorktrees();
    const results = await runRepositoryChecks(
      repo.dir,
      base,
      [
        { name: 'test', command: './ok.sh && pwd && git rev-parse HEAD', timeoutSeconds: 30 },
        { name: 'lint', command: './fail.sh', timeoutSeconds: 30 },
      ],
      { env: env(), createWorkspace: wt.createWorkspace },
    );
    expect(wt.dirs).toHaveLength(1);
    expect(existsSync(wt.dirs[0]!)).toBe(false);
    expect(await repo.git('worktree', 'list', '--porcelain')).not.toContain(wt.dirs[0]!);

    const [test, lint] = results as [(typeof results)[0], (typeof results)[0]];
    expect(test).toMatchObject({ name: 'test', exitCode: 0, timedOut: false, passed: true });
    expect(test.outputTail).toBe(`all 3 tests passed\n${wt.dirs[0]}\n${base}\n`);
    expect(lint).toMatchObject({
      name: 'lint',
      command: './fail.sh',
      exitCode: 3,
      timedOut: false,
      passed: false,
    });
    // stderr and stdout combined, in the order written.
    expect(lint.outputTail).toBe('running lint\nsrc/a.ts:3:1 error no-unused-vars\n');
    expect(lint.durationMs).toBeGreaterThanOrEqual(0);
    expect(checkInsights(results)).toEqual([
      expect.stringMatching(/^check test: passed \(\d+\.\d s\)$/),
      expect.stringMatching(/^check lint: failed \(exit code 3, \d+\.\d s\)$/),
    ]);
  });

  it('kills a hanging check at its timeout and goes on with the next', async () => {
    const wt = trackedWorktrees();
    const started = Date.now();
    const [hang, after] = await runRepositoryChecks(
      repo.dir,
      base,
      [
        { name: 'hang', command: 'echo started; sleep 30; echo never', timeoutSeconds: 1 },
        { name: 'after', command: 'echo still running', timeoutSeconds: 30 },
      ],
      { env: env(), createWorkspace: wt.createWorkspace },
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(hang).toMatchObject({ name: 'hang', timedOut: true, passed: false, exitCode: null });
    expect(hang!.durationMs).toBeGreaterThanOrEqual(950);
    expect(hang!.outputTail).toBe('started\n');
    expect(after).toMatchObject({ passed: true, outputTail: 'still running\n' });
    expect(existsSync(wt.dirs[0]!)).toBe(false);
  });

  it('scrubs secrets from the environment and masks them in the output', async () => {
    const leakFile = join(repo.dir, '.git', 'leak.txt');
    await writeFile(leakFile, `${SECRET} ${TOKEN}\n`);
    const results = await runRepositoryChecks(
      repo.dir,
      base,
      [
        {
          name: 'env',
          command:
            'echo "token=${GITHUB_TOKEN:-unset} db=${DATABASE_URL:-unset} key=${MY_API_KEY:-unset} plain=$PLAIN_VAR"; env',
          timeoutSeconds: 30,
        },
        // A check that finds secrets elsewhere (here: a file outside the worktree) and prints them: masked.
        { name: 'leak', command: `cat '${leakFile}'; exit 1`, timeoutSeconds: 30 },
      ],
      {
        env: env({
          GITHUB_TOKEN: TOKEN,
          DATABASE_URL: 'postgres://se:pg-pass-123@localhost/se',
          MY_API_KEY: SECRET,
          PLAIN_VAR: 'visible',
          GIT_DIR: '/elsewhere/.git',
        }),
      },
    );
    const [envCheck, leak] = results as [(typeof results)[0], (typeof results)[0]];
    expect(envCheck.outputTail).toContain('token=unset db=unset key=unset plain=visible');
    expect(envCheck.outputTail).not.toMatch(/^(GITHUB_TOKEN|DATABASE_URL|MY_API_KEY|GIT_DIR)=/m);
    expect(leak.outputTail).toBe('*** ***\n');
    expect(JSON.stringify(results)).not.toContain(SECRET);
    expect(JSON.stringify(results)).not.toContain(TOKEN);
  });

  it('keeps only the last 2 KiB of the output', async () => {
    const [big] = await runRepositoryChecks(
      repo.dir,
      base,
      [
        {
          name: 'big',
          command: 'i=0; while [ $i -lt 400 ]; do echo "line $i of output"; i=$((i+1)); done',
          timeoutSeconds: 30,
        },
      ],
      { env: env() },
    );
    expect(Buffer.byteLength(big!.outputTail)).toBeLessThanOrEqual(CHECK_OUTPUT_TAIL_BYTES);
    expect(Buffer.byteLength(big!.outputTail)).toBeGreaterThan(CHECK_OUTPUT_TAIL_BYTES - 20);
    expect(big!.outputTail.endsWith('line 399 of output\n')).toBe(true);
    expect(big!.outputTail).not.toContain('line 0 of output');
  });

  it('sees the base commit, not the uncommitted state of the checkout, and links linkPaths', async () => {
    await repo.write({ 'ok.sh': { content: '#!/bin/sh\necho dirty\n', mode: 0o755 } });
    await mkdir(join(repo.dir, 'node_modules', 'dep'), { recursive: true });
    await writeFile(join(repo.dir, 'node_modules', 'dep', 'index.js'), 'module.exports = 1;\n');
    try {
      const [r] = await runRepositoryChecks(
        repo.dir,
        base,
        [{ name: 'test', command: './ok.sh && cat node_modules/dep/index.js', timeoutSeconds: 30 }],
        { env: env(), linkPaths: ['node_modules'] },
      );
      expect(r!.outputTail).toBe('all 3 tests passed\nmodule.exports = 1;\n');
      await expect(
        runRepositoryChecks(repo.dir, base, [{ name: 'x', command: 'true', timeoutSeconds: 5 }], {
          env: env(),
          linkPaths: ['../outside'],
        }),
      ).rejects.toThrow(/linkPaths/);
    } finally {
      await repo.git('checkout', '--', 'ok.sh');
    }
    expect(await repo.git('worktree', 'list')).not.toContain('self-evolution-wt-');
  });

  it('does not make a worktree for no checks, and throws for a base that is not a commit', async () => {
    const wt = trackedWorktrees();
    expect(await runRepositoryChecks(repo.dir, base, [], { createWorkspace: wt.createWorkspace })).toEqual(
      [],
    );
    expect(wt.dirs).toEqual([]);
    await expect(
      runRepositoryChecks(repo.dir, 'f'.repeat(40), [{ name: 't', command: 'true', timeoutSeconds: 5 }], {
        env: env(),
      }),
    ).rejects.toThrow();
  });

  it('removes the worktree even when running a check throws', async () => {
    const wt = trackedWorktrees();
    await expect(
      runRepositoryChecks(repo.dir, base, [{ name: 't', command: 'true', timeoutSeconds: 5 }], {
        env: env(),
        createWorkspace: wt.createWorkspace,
        runCommand: () => Promise.reject(new Error('boom')),
      }),
    ).rejects.toThrow('boom');
    expect(existsSync(wt.dirs[0]!)).toBe(false);
  });
});

describe('RepositoryCheckSchema', () => {
  it('defaults timeoutSeconds to 300 and rejects bad entries', () => {
    expect(RepositoryCheckSchema.parse({ name: 'lint', command: 'npm run lint' })).toEqual({
      name: 'lint',
      command: 'npm run lint',
      timeoutSeconds: 300,
    });
    expect(RepositoryCheckSchema.safeParse({ name: 'lint', command: '' }).success).toBe(false);
    expect(RepositoryCheckSchema.safeParse({ name: 'a\nb', command: 'x' }).success).toBe(false);
    expect(RepositoryCheckSchema.safeParse({ name: 'x', command: 'x', timeoutSeconds: 0 }).success).toBe(
      false,
    );
    expect(RepositoryCheckSchema.safeParse({ name: 'x', command: 'x', extra: 1 }).success).toBe(false);
  });

  it('the list rejects duplicate names and defaults to []', () => {
    expect(RepositoryChecksSchema.parse(undefined)).toEqual([]);
    const dup = RepositoryChecksSchema.safeParse([
      { name: 'lint', command: 'a' },
      { name: 'lint', command: 'b' },
    ]);
    expect(dup.success).toBe(false);
    expect(dup.error?.issues[0]).toMatchObject({ path: [1, 'name'], message: 'duplicate check name "lint"' });
  });
});
