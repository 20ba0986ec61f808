import { access, chmod, mkdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addWorktree,
  applyPatch,
  diffFacts,
  diffPatch,
  ensureExcluded,
  GitError,
  headSha,
  isGitRepository,
  originUrl,
  parseRawNumstatZ,
  repoRoot,
  repositoryFromRemote,
  runGit,
  stageAll,
} from '../src/git/git.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

async function worktreeCount(repo: TempRepo): Promise<number> {
  const list = await repo.git('worktree', 'list', '--porcelain');
  return list.split('\n').filter((l) => l.startsWith('worktree ')).length;
}

describe('repositoryFromRemote', () => {
  it.each([
    ['https://github.com/acme/widgets.git', 'acme/widgets'],
    ['https://github.com/acme/widgets', 'acme/widgets'],
    ['https://github.com/acme/widgets/', 'acme/widgets'],
    ['https://x-access-token:ghs_secret@github.com/acme/widgets.git', 'acme/widgets'],
    ['http://git.example.com:8080/team/repo.git', 'team/repo'],
    ['git@github.com:acme/widgets.git', 'acme/widgets'],
    ['github.com:acme/widgets', 'acme/widgets'],
    ['ssh://git@github.com/acme/widgets.git', 'acme/widgets'],
    ['ssh://git@git.example.com:2222/acme/widgets.git', 'acme/widgets'],
    ['git://github.com/acme/widgets.git', 'acme/widgets'],
    ['git+ssh://git@github.com/acme/widgets.git', 'acme/widgets'],
    ['https://gitlab.com/group/sub/proj.git', 'group/sub/proj'],
    ['  git@gitlab.example.org:ops/my.repo.git\n', 'ops/my.repo'],
  ])('%s -> %s', (url, expected) => {
    expect(repositoryFromRemote(url)).toBe(expected);
  });

  it.each([
    [''],
    ['/srv/git/widgets.git'],
    ['../widgets'],
    ['file:///srv/git/acme/widgets.git'],
    ['https://github.com/acme'],
    ['https://github.com/acme/widgets/tree/main'],
    ['git@github.com:widgets.git'],
    ['not a url'],
  ])('%j -> null', (url) => {
    expect(repositoryFromRemote(url)).toBeNull();
  });
});

describe('repository helpers', () => {
  let repo: TempRepo;
  beforeAll(async () => {
    repo = await makeTempRepo({ 'a.txt': 'a\n', 'sub/b.txt': 'b\n' });
  });
  afterAll(() => repo.cleanup());

  it('recognizes a repository, its root and HEAD', async () => {
    expect(await isGitRepository(repo.dir)).toBe(true);
    expect(await isGitRepository(join(repo.dir, 'sub'))).toBe(true);
    expect(await repoRoot(join(repo.dir, 'sub'))).toBe(repo.dir);
    expect(await headSha(repo.dir)).toBe(await repo.git('rev-parse', 'HEAD'));
    expect(await headSha(repo.dir)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('says no for a plain or missing directory', async () => {
    expect(await isGitRepository(join(tmpdir(), 'definitely-missing-self-evolution-dir'))).toBe(false);
    expect(await isGitRepository('/')).toBe(false);
  });

  it('reads the origin URL, or null without one', async () => {
    expect(await originUrl(repo.dir)).toBeNull();
    await repo.git('remote', 'add', 'origin', 'git@github.com:acme/widgets.git');
    expect(await originUrl(repo.dir)).toBe('git@github.com:acme/widgets.git');
    await repo.git('remote', 'remove', 'origin');
  });

  it('runGit ignores variables of the caller that would point git elsewhere (the one list of git/exec.ts)', async () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        GIT_DIR: '/nonexistent/.git',
        GIT_CONFIG_PARAMETERS: "'user.name'='from-the-caller'",
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'user.email',
        GIT_CONFIG_VALUE_0: 'caller@example.invalid',
      });
      const { stdout } = await runGit(['rev-parse', '--show-toplevel'], { cwd: repo.dir });
      expect(stdout.trim()).toBe(await realpath(repo.dir));
      const name = await runGit(['config', '--get', 'user.name'], { cwd: repo.dir }).catch(() => null);
      expect(name?.stdout.trim() ?? '').not.toBe('from-the-caller');
      const email = await runGit(['config', '--get', 'user.email'], { cwd: repo.dir }).catch(() => null);
      expect(email?.stdout.trim() ?? '').not.toBe('caller@example.invalid');
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it('throws GitError naming the subcommand, the exit code and stderr', async () => {
    const err = await runGit(['rev-parse', '--verify', 'no-such-ref'], { cwd: repo.dir }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GitError);
    const gitErr = err as GitError;
    expect(gitErr.exitCode).toBe(128);
    expect(gitErr.message).toContain('git rev-parse failed');
    expect(gitErr.message).toContain('exit code 128');
    expect(gitErr.message).toContain('Needed a single revision');
  });

  it('masks credentials of URLs in GitError messages', async () => {
    const err = (await runGit(['ls-remote', 'https://user:hunter2secret@127.0.0.1:1/x.git'], {
      cwd: repo.dir,
    }).catch((e: unknown) => e)) as GitError;
    expect(err).toBeInstanceOf(GitError);
    expect(err.message).not.toContain('hunter2secret');
  });

  it('explains an empty repository in headSha', async () => {
    const empty = await makeTempRepo({}, { empty: true });
    try {
      await expect(headSha(empty.dir)).rejects.toThrow(/has no commit yet/);
    } finally {
      await empty.cleanup();
    }
  });

  it('adds .self-evolution/ to info/exclude once, so it never shows as a change', async () => {
    expect(await ensureExcluded(repo.dir, '.self-evolution/')).toBe(true);
    expect(await ensureExcluded(repo.dir, '.self-evolution/')).toBe(false);
    const exclude = await readFile(join(repo.dir, '.git/info/exclude'), 'utf8');
    expect(exclude.split('\n').filter((l) => l === '.self-evolution/')).toHaveLength(1);
    await repo.write({ '.self-evolution/db/data': 'x' });
    expect(await repo.git('status', '--porcelain', '--untracked-files=all')).toBe('');
    await expect(ensureExcluded(repo.dir, 'a\nb')).rejects.toThrow(/one non-empty line/);
  });
});

describe('worktrees and staged-change facts', () => {
  let repo: TempRepo;
  let base: string;
  beforeAll(async () => {
    repo = await makeTempRepo({
      'keep.md': 'line 1\nline 2\nline 3\n',
      'remove.md': 'bye\n',
      'move/old name.txt': 'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n',
      'script.sh': '#!/bin/sh\necho hi\n',
      'image.bin': Buffer.from([0, 1, 2, 3, 0, 255]),
    });
    base = await headSha(repo.dir);
  });
  afterAll(() => repo.cleanup());

  it('creates a detached worktree outside the repo and removes it idempotently', async () => {
    const wt = await addWorktree(repo.dir, base);
    expect(wt.dir.startsWith(repo.dir)).toBe(false);
    expect(await headSha(wt.dir)).toBe(base);
    expect(await readFile(join(wt.dir, 'keep.md'), 'utf8')).toBe('line 1\nline 2\nline 3\n');
    expect(await worktreeCount(repo)).toBe(2);
    await wt.remove();
    await wt.remove();
    expect(await exists(wt.dir)).toBe(false);
    expect(await worktreeCount(repo)).toBe(1);
  });

  it('rejects a base that is not a commit and leaves no worktree behind', async () => {
    await expect(addWorktree(repo.dir, 'f'.repeat(40))).rejects.toBeInstanceOf(GitError);
    expect(await worktreeCount(repo)).toBe(1);
  });

  it('reports add, modify, delete, rename, binary, chmod, symlink and odd paths from git', async () => {
    const wt = await addWorktree(repo.dir, base);
    try {
      const odd = 'dir with space/ünïcødé\nnewline.txt';
      await writeFile(join(wt.dir, 'keep.md'), 'line 1\nline two\nline 3\nline 4\n');
      await runGit(['rm', '-q', 'remove.md'], { cwd: wt.dir });
      await runGit(['mv', 'move/old name.txt', 'move/new näme.txt'], { cwd: wt.dir });
      await writeFile(join(wt.dir, 'image.bin'), Buffer.from([0, 9, 9, 9, 0, 1]));
      await chmod(join(wt.dir, 'script.sh'), 0o755);
      await symlink('keep.md', join(wt.dir, 'link.md'));
      await mkdir(join(wt.dir, 'dir with space'));
      await writeFile(join(wt.dir, odd), 'x\ny\n');
      await stageAll(wt.dir);

      const facts = await diffFacts(wt.dir);
      const byPath = new Map(facts.files.map((f) => [f.path, f]));
      expect(facts.files).toHaveLength(7);
      expect(byPath.get('keep.md')).toEqual({
        path: 'keep.md',
        status: 'modified',
        oldMode: '100644',
        newMode: '100644',
        binary: false,
        linesAdded: 2,
        linesDeleted: 1,
      });
      expect(byPath.get('remove.md')).toMatchObject({
        status: 'deleted',
        oldMode: '100644',
        newMode: '000000',
        linesDeleted: 1,
      });
      expect(byPath.get('move/new näme.txt')).toMatchObject({
        status: 'renamed',
        oldPath: 'move/old name.txt',
        linesAdded: 0,
        linesDeleted: 0,
      });
      expect(byPath.get('image.bin')).toMatchObject({
        status: 'modified',
        binary: true,
        linesAdded: 0,
        linesDeleted: 0,
      });
      expect(byPath.get('script.sh')).toMatchObject({
        status: 'modified',
        oldMode: '100644',
        newMode: '100755',
        linesAdded: 0,
      });
      expect(byPath.get('link.md')).toMatchObject({ status: 'added', oldMode: '000000', newMode: '120000' });
      expect(byPath.get(odd)).toMatchObject({
        status: 'added',
        newMode: '100644',
        linesAdded: 2,
        binary: false,
      });

      // The patch round-trips: applied to a fresh worktree it gives the same facts.
      const patch = await diffPatch(wt.dir);
      expect(patch).toContain('rename from move/old name.txt');
      expect(patch).toContain('GIT binary patch');
      const other = await addWorktree(repo.dir, base);
      try {
        await applyPatch(other.dir, patch);
        expect(await diffFacts(other.dir)).toEqual(facts);
      } finally {
        await other.remove();
      }
    } finally {
      await wt.remove();
    }
    expect(await worktreeCount(repo)).toBe(1);
  });

  it('reports a submodule (gitlink) with mode 160000 as given', async () => {
    const wt = await addWorktree(repo.dir, base);
    try {
      await runGit(['update-index', '--add', '--cacheinfo', `160000,${base},vendor/lib`], { cwd: wt.dir });
      const facts = await diffFacts(wt.dir);
      expect(facts.files).toEqual([
        expect.objectContaining({
          path: 'vendor/lib',
          status: 'added',
          oldMode: '000000',
          newMode: '160000',
        }),
      ]);
    } finally {
      await wt.remove();
    }
  });

  it('gives no facts and an empty patch when nothing is staged', async () => {
    const wt = await addWorktree(repo.dir, base);
    try {
      await stageAll(wt.dir);
      expect(await diffFacts(wt.dir)).toEqual({ files: [] });
      expect(await diffPatch(wt.dir)).toBe('');
    } finally {
      await wt.remove();
    }
  });

  it("rejects a patch that does not apply with git's message", async () => {
    const wt = await addWorktree(repo.dir, base);
    try {
      const bad =
        'diff --git a/keep.md b/keep.md\n--- a/keep.md\n+++ b/keep.md\n@@ -1,1 +1,1 @@\n-nope\n+yes\n';
      const err = (await applyPatch(wt.dir, bad).catch((e: unknown) => e)) as GitError;
      expect(err).toBeInstanceOf(GitError);
      expect(err.message).toMatch(/git apply failed.*patch does not apply/);
      expect(await diffFacts(wt.dir)).toEqual({ files: [] });
    } finally {
      await wt.remove();
    }
  });

  it('removes the worktree even when a command in it fails', async () => {
    const wt = await addWorktree(repo.dir, base);
    try {
      await expect(runGit(['checkout', 'no-such-branch'], { cwd: wt.dir })).rejects.toBeInstanceOf(GitError);
    } finally {
      await wt.remove();
    }
    expect(await exists(wt.dir)).toBe(false);
    expect(await worktreeCount(repo)).toBe(1);
  });

  it('removes a worktree whose directory is already gone', async () => {
    const wt = await addWorktree(repo.dir, base);
    await rm(wt.dir, { recursive: true, force: true });
    await wt.remove();
    expect(await worktreeCount(repo)).toBe(1);
  });
});

describe('parseRawNumstatZ', () => {
  it('parses a copy with its source path and a type change', () => {
    const out =
      ':100644 100644 aaaa bbbb C075\0src.txt\0copy.txt\0' +
      ':100644 120000 cccc dddd T\0m.txt\0' +
      '3\t1\t\0src.txt\0copy.txt\0' +
      '1\t2\tm.txt\0';
    expect(parseRawNumstatZ(out).files).toEqual([
      {
        path: 'copy.txt',
        oldPath: 'src.txt',
        status: 'copied',
        oldMode: '100644',
        newMode: '100644',
        binary: false,
        linesAdded: 3,
        linesDeleted: 1,
      },
      {
        path: 'm.txt',
        status: 'type-changed',
        oldMode: '100644',
        newMode: '120000',
        binary: false,
        linesAdded: 1,
        linesDeleted: 2,
      },
    ]);
  });

  it('refuses output where raw and numstat disagree, or unmerged entries', () => {
    expect(() => parseRawNumstatZ(':100644 100644 a b M\0x\0' + '1\t1\ty\0')).toThrow(/disagree/);
    expect(() => parseRawNumstatZ(':100644 100644 a b M\0x\0')).toThrow(/1 --raw records but 0 --numstat/);
    expect(() => parseRawNumstatZ(':000000 000000 a b U\0x\0' + '0\t0\tx\0')).toThrow(/status U/);
  });
});
