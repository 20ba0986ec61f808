/**
 * Facts for `check` from real git: every kind of file change through both inputs (a range of commits, and the
 * same change as a patch, read alone and applied to a repository), git's exact machine output for
 * `git apply --numstat --summary -z`, and the bad inputs (unreadable, empty, oversized, not UTF-8, CRLF).
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  factsFromPatch,
  factsFromRange,
  FactsError,
  headerModes,
  MAX_PATCH_BYTES,
  parseApplyOutput,
  PatchError,
  renameText,
  RevisionError,
} from '../src/git/facts.js';
import type { FileChange } from '../src/rails/types.js';
import { makeTempRepo, type FileSpec, type TempRepo } from './helpers/git-repo.js';

/** The patch git writes for base..head (binary, renames), as bytes. */
async function patchOf(repo: TempRepo, base: string, head: string, ...extra: string[]): Promise<Buffer> {
  const out = join(tmpdir(), `se-facts-${process.pid}-${Math.random().toString(36).slice(2)}.patch`);
  await repo.git('diff', '--binary', '-M', ...extra, `--output=${out}`, base, head);
  try {
    return await readFile(out);
  } finally {
    await rm(out, { force: true });
  }
}

/** The facts that matter, sorted by path, for comparing the three ways. */
function shape(files: readonly FileChange[]) {
  return [...files]
    .map((f) => ({
      path: f.path,
      oldPath: f.oldPath,
      status: f.status,
      oldMode: f.oldMode,
      newMode: f.newMode,
      binary: f.binary,
      linesAdded: f.linesAdded,
      linesDeleted: f.linesDeleted,
    }))
    .sort((a, b) => (a.path + a.status < b.path + b.status ? -1 : 1));
}

const BASE_FILES: Record<string, FileSpec> = {
  'docs/guide.md': 'one\ntwo\nthree\n',
  'docs/old name.md': 'alpha\nbeta\ngamma\ndelta\nepsilon\n',
  'src/a.ts': 'export const a = 1;\n',
  'src/gone.ts': 'export const gone = true;\n',
  'scripts/run.sh': '#!/bin/sh\necho run\n',
  'docs/current.md': { symlink: 'guide.md' },
  'assets/logo.bin': new Uint8Array([0, 1, 2, 3, 0, 255]),
  'notes/crlf.txt': 'first\r\nsecond\r\n',
};

/**
 * One repository, one head commit per case (each a child of `base`), so every case is checked the three
 * ways: range, patch alone, patch applied to the repository.
 */
interface Case {
  name: string;
  change: Record<string, FileSpec | null>;
  /** The facts all three ways must report (sorted by path). */
  expected: ReturnType<typeof shape>;
}

const CASES: Case[] = [
  {
    name: 'a modified text file',
    change: { 'docs/guide.md': 'one\n2\nthree\nfour\n' },
    expected: [
      {
        path: 'docs/guide.md',
        oldPath: undefined,
        status: 'modified',
        oldMode: '100644',
        newMode: '100644',
        binary: false,
        linesAdded: 2,
        linesDeleted: 1,
      },
    ],
  },
  {
    name: 'an added and a deleted file',
    change: { 'src/new.ts': 'export const n = 2;\nexport const m = 3;\n', 'src/gone.ts': null },
    expected: [
      {
        path: 'src/gone.ts',
        oldPath: undefined,
        status: 'deleted',
        oldMode: '100644',
        newMode: '000000',
        binary: false,
        linesAdded: 0,
        linesDeleted: 1,
      },
      {
        path: 'src/new.ts',
        oldPath: undefined,
        status: 'added',
        oldMode: '000000',
        newMode: '100644',
        binary: false,
        linesAdded: 2,
        linesDeleted: 0,
      },
    ],
  },
  {
    name: 'a rename with an edit, into another directory, names with spaces and " => "',
    change: {
      'docs/old name.md': null,
      'archive/new => name.md': 'alpha\nbeta\ngamma\ndelta\nepsilon!\n',
    },
    expected: [
      {
        path: 'archive/new => name.md',
        oldPath: 'docs/old name.md',
        status: 'renamed',
        oldMode: '100644',
        newMode: '100644',
        binary: false,
        linesAdded: 1,
        linesDeleted: 1,
      },
    ],
  },
  {
    name: 'a mode change that makes a script executable',
    change: { 'scripts/run.sh': { content: '#!/bin/sh\necho run\n', mode: 0o755 } },
    expected: [
      {
        path: 'scripts/run.sh',
        oldPath: undefined,
        status: 'modified',
        oldMode: '100644',
        newMode: '100755',
        binary: false,
        linesAdded: 0,
        linesDeleted: 0,
      },
    ],
  },
  {
    name: 'a new symlink and a retargeted one',
    change: { 'docs/passwd.md': { symlink: '/etc/passwd' }, 'docs/current.md': { symlink: '../src/a.ts' } },
    expected: [
      {
        path: 'docs/current.md',
        oldPath: undefined,
        status: 'modified',
        oldMode: '120000',
        newMode: '120000',
        binary: false,
        linesAdded: 1,
        linesDeleted: 1,
      },
      {
        path: 'docs/passwd.md',
        oldPath: undefined,
        status: 'added',
        oldMode: '000000',
        newMode: '120000',
        binary: false,
        linesAdded: 1,
        linesDeleted: 0,
      },
    ],
  },
  {
    name: 'a binary file added and one modified',
    change: {
      'assets/logo.bin': new Uint8Array([0, 9, 9, 9, 0, 255, 7]),
      'assets/new.bin': new Uint8Array([0, 0, 1]),
    },
    expected: [
      {
        path: 'assets/logo.bin',
        oldPath: undefined,
        status: 'modified',
        oldMode: '100644',
        newMode: '100644',
        binary: true,
        linesAdded: 0,
        linesDeleted: 0,
      },
      {
        path: 'assets/new.bin',
        oldPath: undefined,
        status: 'added',
        oldMode: '000000',
        newMode: '100644',
        binary: true,
        linesAdded: 0,
        linesDeleted: 0,
      },
    ],
  },
  {
    name: 'a CRLF file edited, keeping CRLF',
    change: { 'notes/crlf.txt': 'first\r\nchanged\r\nthird\r\n' },
    expected: [
      {
        path: 'notes/crlf.txt',
        oldPath: undefined,
        status: 'modified',
        oldMode: '100644',
        newMode: '100644',
        binary: false,
        linesAdded: 2,
        linesDeleted: 1,
      },
    ],
  },
  {
    name: 'unicode and a line break in file names',
    change: { 'docs/café.md': 'bonjour\n', 'docs/two\nlines.md': 'x\n' },
    expected: [
      {
        path: 'docs/café.md',
        oldPath: undefined,
        status: 'added',
        oldMode: '000000',
        newMode: '100644',
        binary: false,
        linesAdded: 1,
        linesDeleted: 0,
      },
      {
        path: 'docs/two\nlines.md',
        oldPath: undefined,
        status: 'added',
        oldMode: '000000',
        newMode: '100644',
        binary: false,
        linesAdded: 1,
        linesDeleted: 0,
      },
    ],
  },
];

describe('facts of each kind of change, three ways', () => {
  let repo: TempRepo;
  let base: string;
  const heads = new Map<string, string>();

  beforeAll(async () => {
    repo = await makeTempRepo(BASE_FILES, { date: '2026-01-01T00:00:00Z' });
    base = await repo.git('rev-parse', 'HEAD');
    for (const c of CASES) {
      await repo.git('checkout', '--quiet', '--detach', base);
      heads.set(c.name, await repo.commit(c.change, { message: c.name }));
    }
    await repo.git('checkout', '--quiet', '--detach', base);
  });
  afterAll(() => repo.cleanup());

  it.each(CASES.map((c) => [c.name, c]))('%s', async (_name, c) => {
    const head = heads.get(c.name)!;
    const range = await factsFromRange(repo.dir, base, head);
    expect(range.source).toBe('range');
    expect(shape(range.facts.files)).toEqual(c.expected);
    expect(range.mergeBase).toBe(base);

    const patch = await patchOf(repo, base, head);
    const alone = await factsFromPatch(patch);
    expect(alone.source).toBe('patch-only');
    expect(shape(alone.facts.files)).toEqual(c.expected);
    expect(alone.contentReadable).toBe(true);

    const applied = await factsFromPatch(patch, { repoDir: repo.dir });
    expect(applied.source).toBe('patch-applied');
    expect(shape(applied.facts.files)).toEqual(c.expected);
  });

  it('a submodule added and one moved to another commit (mode 160000)', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    await repo.git('update-index', '--add', '--cacheinfo', `160000,${base},vendor/lib`);
    await repo.git('commit', '--quiet', '--no-verify', '-m', 'add submodule');
    const subBase = await repo.git('rev-parse', 'HEAD');
    await repo.git('update-index', '--cacheinfo', `160000,${heads.get(CASES[0]!.name)!},vendor/lib`);
    await repo.git(
      'update-index',
      '--add',
      '--cacheinfo',
      `160000,${heads.get(CASES[1]!.name)!},vendor/other`,
    );
    await repo.git('commit', '--quiet', '--no-verify', '-m', 'move submodule');
    const subHead = await repo.git('rev-parse', 'HEAD');
    const expected = [
      {
        path: 'vendor/lib',
        oldPath: undefined,
        status: 'modified',
        oldMode: '160000',
        newMode: '160000',
        binary: false,
        linesAdded: 1,
        linesDeleted: 1,
      },
      {
        path: 'vendor/other',
        oldPath: undefined,
        status: 'added',
        oldMode: '000000',
        newMode: '160000',
        binary: false,
        linesAdded: 1,
        linesDeleted: 0,
      },
    ];
    expect(shape((await factsFromRange(repo.dir, subBase, subHead)).facts.files)).toEqual(expected);
    const patch = await patchOf(repo, subBase, subHead);
    // Alone, the unchanged mode 160000 of vendor/lib comes from the patch's `index a..b 160000` line.
    expect(shape((await factsFromPatch(patch)).facts.files)).toEqual(expected);
    await repo.git('checkout', '--quiet', '--detach', subBase);
    const applied = await factsFromPatch(patch, { repoDir: repo.dir });
    expect(applied.source).toBe('patch-applied');
    expect(shape(applied.facts.files)).toEqual(expected);
    await repo.git('checkout', '--quiet', '--detach', base);
  });

  it('a file replaced by a symlink: one type change in a range, a deletion and a creation in a patch', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    const head = await repo.commit({ 'src/a.ts': { symlink: '/etc/shadow' } }, { message: 'type change' });
    const range = await factsFromRange(repo.dir, base, head);
    expect(shape(range.facts.files)).toEqual([
      expect.objectContaining({
        path: 'src/a.ts',
        status: 'type-changed',
        oldMode: '100644',
        newMode: '120000',
      }),
    ]);
    const alone = await factsFromPatch(await patchOf(repo, base, head));
    expect(shape(alone.facts.files)).toEqual([
      expect.objectContaining({ path: 'src/a.ts', status: 'added', oldMode: '000000', newMode: '120000' }),
      expect.objectContaining({ path: 'src/a.ts', status: 'deleted', oldMode: '100644', newMode: '000000' }),
    ]);
    await repo.git('checkout', '--quiet', '--detach', base);
  });

  it('a copy counts every line: a range sees an added file naming its source (copyOf), a patch keeps its declared copy; a 100% rename read alone takes the mode as regular and says so', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    const head = await repo.commit(
      {
        'docs/copy of old.md': 'alpha\nbeta\ngamma\ndelta\nepsilon\n',
        'docs/guide.md': null,
        'docs/moved.md': 'one\ntwo\nthree\n',
      },
      { message: 'copy and move' },
    );
    const patch = await patchOf(repo, base, head, '-C', '--find-copies-harder');
    const alone = await factsFromPatch(patch);
    expect(shape(alone.facts.files)).toEqual([
      expect.objectContaining({ path: 'docs/copy of old.md', oldPath: 'docs/old name.md', status: 'copied' }),
      expect.objectContaining({
        path: 'docs/moved.md',
        oldPath: 'docs/guide.md',
        status: 'renamed',
        oldMode: '100644',
      }),
    ]);
    expect(alone.notes.join('\n')).toMatch(
      /does not give the mode of .*docs\/moved\.md.*taken as regular files/,
    );
    // A range uses no copy detection (it would read every unchanged blob): the copy is an added file with
    // all its lines, and its exact source is found by object id.
    const range = await factsFromRange(repo.dir, base, head);
    expect(range.facts.files.find((f) => f.path === 'docs/copy of old.md')).toEqual(
      expect.objectContaining({
        status: 'added',
        linesAdded: 5,
        linesDeleted: 0,
        copyOf: ['docs/old name.md'],
        bytesAdded: 31,
      }),
    );
    // An applied patch keeps the copy it declares, counted whole (a 100% copy has no hunk at all).
    await repo.git('checkout', '--quiet', '--detach', base);
    const applied = await factsFromPatch(patch, { repoDir: repo.dir });
    expect(applied.source).toBe('patch-applied');
    expect(applied.facts.files.find((f) => f.path === 'docs/copy of old.md')).toEqual(
      expect.objectContaining({
        oldPath: 'docs/old name.md',
        status: 'copied',
        linesAdded: 5,
        linesDeleted: 0,
        copyOf: ['docs/old name.md'],
        bytesAdded: 31,
      }),
    );
    expect(
      applied.facts.addedLines!.filter((l) => l.path === 'docs/copy of old.md').map((l) => l.text),
    ).toEqual(['alpha', 'beta', 'gamma', 'delta', 'epsilon']);
    // The rename keeps its exact mode from HEAD's tree, and counts its edits (none).
    expect(applied.facts.files.find((f) => f.path === 'docs/moved.md')).toEqual(
      expect.objectContaining({ status: 'renamed', oldMode: '100644', newMode: '100644', linesAdded: 0 }),
    );
    expect(applied.notes.join('\n')).not.toMatch(/does not give the mode/);
  });

  it('base...head: changes made on base after head forked are not part of the change', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    const head = await repo.commit({ 'docs/guide.md': 'one\ntwo\nthree\nfour\n' }, { message: 'head' });
    await repo.git('checkout', '--quiet', '--detach', base);
    const advancedBase = await repo.commit(
      { 'src/a.ts': 'export const a = 2;\n' },
      { message: 'base moves on' },
    );
    const r = await factsFromRange(repo.dir, advancedBase, head);
    expect(r.mergeBase).toBe(base);
    expect(r.base).toBe(advancedBase);
    expect(r.facts.files.map((f) => f.path)).toEqual(['docs/guide.md']);
    expect(r.patch).toContain('+four');
    expect(r.patch).not.toContain('src/a.ts');
    await repo.git('checkout', '--quiet', '--detach', base);
  });

  it('captures a file before and after: range (merge base, head), patch applied (HEAD, result), patch alone', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    const head = await repo.commit({ 'docs/guide.md': 'one\ntwo\nTHREE\n' }, { message: 'edit' });
    const capture = [{ path: 'docs/guide.md' }, { path: 'missing.json' }];
    const range = await factsFromRange(repo.dir, base, head, { capture });
    expect(range.captured).toEqual([
      { path: 'docs/guide.md', before: 'one\ntwo\nthree\n', after: 'one\ntwo\nTHREE\n' },
      { path: 'missing.json', before: null, after: null },
    ]);
    await repo.git('checkout', '--quiet', '--detach', base);
    const patch = await patchOf(repo, base, head);
    const applied = await factsFromPatch(patch, { repoDir: repo.dir, capture });
    expect(applied.captured[0]).toEqual({
      path: 'docs/guide.md',
      before: 'one\ntwo\nthree\n',
      after: 'one\ntwo\nTHREE\n',
    });
    // Alone: `before` from the caller, `after` by applying the patch to that one file.
    const alone = await factsFromPatch(patch, {
      capture: [{ path: 'docs/guide.md', before: 'one\ntwo\nthree\n' }],
    });
    expect(alone.captured).toEqual([
      { path: 'docs/guide.md', before: 'one\ntwo\nthree\n', after: 'one\ntwo\nTHREE\n' },
    ]);
    const unknown = await factsFromPatch(patch, { capture: [{ path: 'docs/guide.md' }] });
    expect(unknown.captured).toEqual([{ path: 'docs/guide.md', before: undefined, after: undefined }]);
    // The real index and work tree are untouched by the temporary-index application.
    expect(await repo.git('status', '--porcelain')).toBe('');
  });
});

describe('git apply --numstat --summary -z, matched exactly', () => {
  it('renameText writes a shared leading directory once, as git does', () => {
    expect(renameText('d/a.txt', 'd/b.txt')).toBe('d/{a.txt => b.txt}');
    expect(renameText('a/b/c.md', 'a/x/c.md')).toBe('a/{b/c.md => x/c.md}');
    expect(renameText('x => y.txt', 'dir/z => w.txt')).toBe('x => y.txt => dir/z => w.txt');
    expect(renameText('ab/c', 'a/c')).toBe('ab/c => a/c');
  });

  it('parses real output of every summary form (captured from git 2.39)', () => {
    const forward =
      '-\t-\tb.bin\0' +
      '0\t0\tdir/z => w.txt\0' +
      '0\t0\tnl\nrenamed.txt\0' +
      '50\t50\tbig.txt\0' +
      '0\t1\ttc\0' +
      '1\t0\ttc\0' +
      '1\t1\tsub\0' +
      ' create mode 100644 b.bin\n' +
      ' rename x => y.txt => dir/z => w.txt (100%)\n' +
      ' mode change 100644 => 100755\n' +
      ' rename nl\nname.txt => nl\nrenamed.txt (100%)\n' +
      ' rewrite big.txt (100%)\n' +
      ' mode change 100644 => 100755\n' +
      ' delete mode 100644 tc\n' +
      ' create mode 120000 tc\n';
    const reverse =
      '1\t1\tsub\0' +
      '0\t1\ttc\0' +
      '1\t0\ttc\0' +
      '50\t50\tbig.txt\0' +
      '0\t0\tnl\nname.txt\0' +
      '0\t0\tx => y.txt\0' +
      '-\t-\tb.bin\0';
    expect(parseApplyOutput(forward, reverse)).toEqual([
      {
        path: 'b.bin',
        oldPath: 'b.bin',
        status: 'added',
        oldMode: '000000',
        newMode: '100644',
        binary: true,
        linesAdded: 0,
        linesDeleted: 0,
      },
      {
        path: 'dir/z => w.txt',
        oldPath: 'x => y.txt',
        status: 'renamed',
        score: 100,
        oldMode: '100644',
        newMode: '100755',
        binary: false,
        linesAdded: 0,
        linesDeleted: 0,
      },
      {
        path: 'nl\nrenamed.txt',
        oldPath: 'nl\nname.txt',
        status: 'renamed',
        score: 100,
        binary: false,
        linesAdded: 0,
        linesDeleted: 0,
      },
      {
        path: 'big.txt',
        oldPath: 'big.txt',
        status: 'modified',
        score: 100,
        oldMode: '100644',
        newMode: '100755',
        binary: false,
        linesAdded: 50,
        linesDeleted: 50,
      },
      {
        path: 'tc',
        oldPath: 'tc',
        status: 'deleted',
        oldMode: '100644',
        newMode: '000000',
        binary: false,
        linesAdded: 0,
        linesDeleted: 1,
      },
      {
        path: 'tc',
        oldPath: 'tc',
        status: 'added',
        oldMode: '000000',
        newMode: '120000',
        binary: false,
        linesAdded: 1,
        linesDeleted: 0,
      },
      { path: 'sub', oldPath: 'sub', status: 'modified', binary: false, linesAdded: 1, linesDeleted: 1 },
    ]);
  });

  it('refuses output it cannot match: a reverse run that does not mirror, a missing rename line, leftover text', () => {
    expect(() => parseApplyOutput('1\t0\ta\0', '1\t0\ta\0')).toThrow(/does not mirror/);
    expect(() => parseApplyOutput('0\t0\tb\0', '0\t0\ta\0')).toThrow(/no rename or copy line/);
    expect(() => parseApplyOutput('1\t0\ta\0 create mode 100644 b\n', '0\t1\ta\0')).toThrow(
      /unexpected summary text/,
    );
    expect(() => parseApplyOutput('x\t0\ta\0', '0\tx\ta\0')).toThrow(FactsError);
  });

  it('a name that mimics a summary line is matched whole, not split', async () => {
    const patch =
      'diff --git a/x b/x\nnew file mode 100644\nindex 0000000..587be6b\n--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+x\n' +
      'diff --git "a/x\\n create mode 100755 y" "b/x\\n create mode 100755 y"\nnew file mode 100644\nindex 0000000..587be6b\n--- /dev/null\n+++ "b/x\\n create mode 100755 y"\n@@ -0,0 +1 @@\n+x\n';
    const r = await factsFromPatch(patch);
    // Sorted by path: "x\n..." comes before "x".
    expect(shape(r.facts.files)).toEqual([
      expect.objectContaining({ path: 'x\n create mode 100755 y', status: 'added', newMode: '100644' }),
      expect.objectContaining({ path: 'x', status: 'added', newMode: '100644' }),
    ]);
  });

  it('headerModes reads the git header of each section, CRLF or not, and nothing inside hunks', () => {
    const patch =
      'diff --git a/l b/l\r\nindex 1a2b3c4..5d6e7f8 120000\r\n--- a/l\r\n+++ b/l\r\n@@ -1 +1 @@\r\n-a\r\n+b\r\n' +
      'diff --git a/s b/s\nold mode 100644\nnew mode 100755\n' +
      'diff --git a/n b/n\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/n\n@@ -0,0 +1 @@\n+index 0000000..2222222 160000\n';
    expect(headerModes(patch)).toEqual([
      { indexMode: '120000' },
      { oldMode: '100644', newMode: '100755' },
      { newFileMode: '100644' },
    ]);
  });

  it('a traditional diff (diff -u) describes regular files', async () => {
    const patch =
      '--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n' +
      '--- a/old.txt\n+++ b/old.txt\n@@ -1 +1 @@\n-x\n+y\n' +
      '--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-z\n';
    const r = await factsFromPatch(patch);
    expect(shape(r.facts.files)).toEqual([
      {
        path: 'gone.txt',
        oldPath: undefined,
        status: 'deleted',
        oldMode: '100644',
        newMode: '000000',
        binary: false,
        linesAdded: 0,
        linesDeleted: 1,
      },
      {
        path: 'new.txt',
        oldPath: undefined,
        status: 'added',
        oldMode: '000000',
        newMode: '100644',
        binary: false,
        linesAdded: 2,
        linesDeleted: 0,
      },
      {
        path: 'old.txt',
        oldPath: undefined,
        status: 'modified',
        oldMode: '100644',
        newMode: '100644',
        binary: false,
        linesAdded: 1,
        linesDeleted: 1,
      },
    ]);
    expect(r.notes).toEqual([]);
  });

  it('a patch mixing git and traditional sections cannot be paired: an error, not a guess', async () => {
    const patch =
      'diff --git a/l b/l\nindex 1a2b3c4..5d6e7f8 120000\n--- a/l\n+++ b/l\n@@ -1 +1 @@\n-a\n+b\n' +
      '--- a/old.txt\n+++ b/old.txt\n@@ -1 +1 @@\n-x\n+y\n';
    await expect(factsFromPatch(patch)).rejects.toMatchObject({ kind: 'git-output' });
  });
});

describe('bad input', () => {
  let repo: TempRepo;
  beforeAll(async () => {
    repo = await makeTempRepo({ 'docs/a.md': 'a\n' });
  });
  afterAll(() => repo.cleanup());

  it('a patch git cannot read is a PatchError quoting git', async () => {
    const err = await factsFromPatch('hello, this is a mail without any diff in it\n').catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PatchError);
    expect((err as PatchError).kind).toBe('patch-unreadable');
    expect((err as Error).message).toMatch(/git cannot read the patch: .*No valid patches in input/);
    const corrupt = 'diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n';
    await expect(factsFromPatch(corrupt, { repoDir: repo.dir })).rejects.toThrow(
      /git cannot read the patch: .*corrupt patch at line 6/,
    );
  });

  it('an empty patch gives no files (the rails then block it as change-empty)', async () => {
    for (const empty of ['', Buffer.alloc(0), '\n\n  \n']) {
      const r = await factsFromPatch(empty, { repoDir: repo.dir });
      expect(r.facts.files).toEqual([]);
      expect(r.patch).toBe('');
    }
  });

  it('a patch over the cap is refused before git runs, naming its size and the cap', async () => {
    const big = Buffer.alloc(MAX_PATCH_BYTES + 1, 0x61);
    const err = await factsFromPatch(big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PatchError);
    expect((err as PatchError).kind).toBe('patch-too-large');
    expect((err as Error).message).toContain(`${MAX_PATCH_BYTES + 1} bytes`);
    expect((err as Error).message).toContain('100 MiB');
  });

  it('content that is not UTF-8 is read by git as bytes; the added lines are marked unreadable', async () => {
    const patch = Buffer.concat([
      Buffer.from(
        'diff --git a/docs/latin1.md b/docs/latin1.md\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/docs/latin1.md\n@@ -0,0 +1 @@\n+caf',
      ),
      Buffer.from([0xe9]),
      Buffer.from(' token\n'),
    ]);
    for (const opts of [{}, { repoDir: repo.dir }]) {
      const r = await factsFromPatch(patch, opts);
      expect(r.facts.files).toEqual([
        expect.objectContaining({ path: 'docs/latin1.md', linesAdded: 1, binary: false }),
      ]);
      expect(r.contentReadable).toBe(false);
      expect(r.notes.join(' ')).toMatch(/not valid UTF-8/);
      expect(r.patch).toContain('caf\uFFFD token');
    }
  });

  it('a path that is not UTF-8 is an error (the rails judge paths as text), in a patch and in a range', async () => {
    const patch = Buffer.concat([
      Buffer.from('diff --git a/docs/'),
      Buffer.from([0xff]),
      Buffer.from('.md b/docs/'),
      Buffer.from([0xff]),
      Buffer.from('.md\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/docs/'),
      Buffer.from([0xff]),
      Buffer.from('.md\n@@ -0,0 +1 @@\n+x\n'),
    ]);
    await expect(factsFromPatch(patch)).rejects.toMatchObject({ kind: 'path-encoding' });
    const base = await repo.git('rev-parse', 'HEAD');
    // Commit a path with a 0xff byte through the index (the helper writes paths as UTF-8).
    const blob = await repo.git('rev-parse', 'HEAD:docs/a.md');
    const { execFile } = await import('node:child_process');
    await new Promise<void>((resolve, reject) =>
      execFile('git', ['update-index', '--add', '--index-info'], { cwd: repo.dir }, (e) =>
        e ? reject(e) : resolve(),
      ).stdin!.end(
        Buffer.concat([Buffer.from(`100644 ${blob}\tdocs/`), Buffer.from([0xff]), Buffer.from('.md\n')]),
      ),
    );
    await repo.git('commit', '--quiet', '--no-verify', '-m', 'bad name');
    const head = await repo.git('rev-parse', 'HEAD');
    await expect(factsFromRange(repo.dir, base, head)).rejects.toMatchObject({ kind: 'path-encoding' });
    await repo.git('reset', '--quiet', '--hard', base);
  });

  it('a patch whose every line ends in CRLF is read by git like any other', async () => {
    const patch =
      'diff --git a/docs/b.md b/docs/b.md\r\nnew file mode 100644\r\nindex 0000000..1111111\r\n--- /dev/null\r\n+++ b/docs/b.md\r\n@@ -0,0 +1,2 @@\r\n+a\r\n+b\r\n';
    for (const opts of [{}, { repoDir: repo.dir }]) {
      const r = await factsFromPatch(patch, opts);
      expect(shape(r.facts.files)).toEqual([
        {
          path: 'docs/b.md',
          oldPath: undefined,
          status: 'added',
          oldMode: '000000',
          newMode: '100644',
          binary: false,
          linesAdded: 2,
          linesDeleted: 0,
        },
      ]);
    }
  });

  it("a patch that does not apply to HEAD is marked unapplicable with git's reason, its facts read alone", async () => {
    const patch =
      'diff --git a/docs/a.md b/docs/a.md\nindex 1111111..2222222 100644\n--- a/docs/a.md\n+++ b/docs/a.md\n@@ -1 +1 @@\n-not what is there\n+b\n';
    const r = await factsFromPatch(patch, { repoDir: repo.dir });
    expect(r.source).toBe('patch-only');
    expect(r.facts.unapplicable).toBe('patch failed: docs/a.md:1');
    // Without a repository there is nothing to apply to: not marked.
    expect((await factsFromPatch(patch)).facts.unapplicable).toBeUndefined();
    expect(r.notes.join(' ')).toMatch(
      /does not apply to HEAD of .*patch failed: docs\/a\.md:1.*judged unapplicable/,
    );
    expect(shape(r.facts.files)).toEqual([
      expect.objectContaining({ path: 'docs/a.md', status: 'modified', linesAdded: 1 }),
    ]);
  });

  it('range: a revision that is not a commit, an option-like revision, unrelated histories', async () => {
    const head = await repo.git('rev-parse', 'HEAD');
    await expect(factsFromRange(repo.dir, 'no-such-branch', head)).rejects.toThrow(
      /--base "no-such-branch" is not a commit of the repository at .*fetch-depth: 0/,
    );
    await expect(factsFromRange(repo.dir, head, '--output=/tmp/x')).rejects.toBeInstanceOf(RevisionError);
    await repo.git('checkout', '--quiet', '--orphan', 'unrelated');
    const orphan = await repo.commit({ 'other.md': 'o\n' }, { message: 'orphan' });
    const err = await factsFromRange(repo.dir, head, orphan).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RevisionError);
    expect((err as RevisionError).kind).toBe('no-merge-base');
    await repo.git('checkout', '--quiet', 'main');
  });

  it('range outside a repository is an error naming the directory', async () => {
    await expect(factsFromRange(tmpdir(), 'HEAD', 'HEAD')).rejects.toThrow(/not a git repository: /);
  });
});

describe('factsFromPatch leaves the repository as it was', () => {
  it('writes no object into the repository it checks the patch against', async () => {
    const repo = await makeTempRepo({ 'docs/a.md': 'one\n' });
    try {
      const patch = [
        'diff --git a/docs/new.md b/docs/new.md',
        'new file mode 100644',
        '--- /dev/null',
        '+++ b/docs/new.md',
        '@@ -0,0 +1,2 @@',
        '+a brand new blob',
        '+written only to a scratch object directory',
        '',
      ].join('\n');
      const before = await repo.git('count-objects', '-v');
      const result = await factsFromPatch(patch, { repoDir: repo.dir });
      expect(result.facts.files.map((f) => [f.path, f.status, f.linesAdded])).toEqual([
        ['docs/new.md', 'added', 2],
      ]);
      expect(result.source).toBe('patch-applied');
      expect(await repo.git('count-objects', '-v')).toBe(before);
      expect(await repo.git('status', '--porcelain')).toBe('');
    } finally {
      await repo.cleanup();
    }
  });
});
