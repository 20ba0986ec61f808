/**
 * Facts the change cannot bend (issue #7, classes 1, 2, 3, 7b and 11's bytes), through every way facts are
 * gathered: a range (`check --base/--head`, the PR gate), a patch applied to a repository, a patch alone, and
 * the staged changes of a proposer's worktree (diffFactsWithLines). Real git repositories throughout.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { parseConfig } from '../src/config/load.js';
import { factsFromPatch, factsFromRange, MAX_CONTENT_BYTES } from '../src/git/facts.js';
import { addWorktree, diffFacts, diffFactsWithLines, diffPatch } from '../src/git/git.js';
import { policyFromConfig } from '../src/rails/policy.js';
import type { ChangeFacts, FileChange, RailsPolicy } from '../src/rails/types.js';
import { makeTempRepo, type FileSpec, type TempRepo } from './helpers/git-repo.js';

const exec = promisify(execFile);

/** The default policy (command paths: shell scripts, workflows, Makefiles, package.json, ...). */
const POLICY: RailsPolicy = policyFromConfig(parseConfig({}, '(defaults)'));

const TOKEN = `ghp_${'a1B2c3D4e5F6g7H8i9J0'.repeat(2).slice(0, 36)}`;

/** The patch git writes for base..head (binary patches, renames; extra options allowed), as bytes. */
async function patchOf(repo: TempRepo, base: string, head: string, ...extra: string[]): Promise<Buffer> {
  const { stdout } = await exec(
    'git',
    ['-c', 'core.quotepath=false', 'diff', '--binary', '-M', ...extra, base, head],
    { cwd: repo.dir, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/** The file `path` of `facts`, or a failure naming it. */
function fileOf(facts: ChangeFacts, path: string): FileChange {
  const f = facts.files.find((x) => x.path === path);
  if (f === undefined)
    throw new Error(`${path} is not a file of the change: ${facts.files.map((x) => x.path).join(', ')}`);
  return f;
}

/** The texts of the added lines of `path`. */
const linesOf = (facts: ChangeFacts, path: string): string[] =>
  (facts.addedLines ?? []).filter((l) => l.path === path).map((l) => l.text);

/** A repository with `files` at `base`, then a head commit writing `change`; the work tree is left at head. */
async function rangeRepo(
  files: Record<string, FileSpec>,
  change: Record<string, FileSpec | null>,
): Promise<{ repo: TempRepo; base: string; head: string }> {
  const repo = await makeTempRepo(files);
  const base = await repo.git('rev-parse', 'HEAD');
  const head = await repo.commit(change, { message: 'head' });
  return { repo, base, head };
}

describe('class 1: a gitlink is always a file of the change (mode 160000)', () => {
  const GITLINK_A = '1'.repeat(40);
  const GITLINK_B = '2'.repeat(40);
  const IGNORE_ALL =
    '[submodule "lib"]\n\tpath = src/vendor/lib\n\turl = https://example.com/lib.git\n\tignore = all\n';
  let repo: TempRepo;
  let base: string;

  /** Commits the gitlink at `sha` (and `files`), without a checkout of the submodule. */
  async function commitGitlink(sha: string, files: Record<string, FileSpec> = {}): Promise<string> {
    await repo.write(files);
    await repo.git('add', '-A');
    await repo.git('update-index', '--add', '--cacheinfo', `160000,${sha},src/vendor/lib`);
    await repo.git('commit', '--quiet', '--no-verify', '-m', 'gitlink');
    return repo.git('rev-parse', 'HEAD');
  }

  beforeAll(async () => {
    repo = await makeTempRepo({ 'docs/a.md': 'a\n' });
    base = await commitGitlink(GITLINK_A, { '.gitmodules': IGNORE_ALL });
  });
  afterAll(() => repo.cleanup());

  const bump = {
    path: 'src/vendor/lib',
    status: 'modified',
    oldMode: '160000',
    newMode: '160000',
  };

  it('ignore = all in the base .gitmodules, in the local config and diff.ignoreSubmodules: a range still sees the bump', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    await repo.git('config', 'submodule.lib.ignore', 'all');
    await repo.git('config', 'diff.ignoreSubmodules', 'all');
    try {
      const head = await commitGitlink(GITLINK_B, { 'docs/a.md': 'a\nb\n' });
      // What plain `git diff` shows here: the gitlink is hidden.
      expect(await repo.git('diff', '--name-only', base, head)).toBe('docs/a.md');
      const r = await factsFromRange(repo.dir, base, head);
      expect(r.facts.files.map((f) => f.path).sort()).toEqual(['docs/a.md', 'src/vendor/lib']);
      expect(fileOf(r.facts, 'src/vendor/lib')).toEqual(expect.objectContaining(bump));
      // The patch the same commits make, applied to the base: the same file.
      await repo.git('checkout', '--quiet', '--detach', base);
      const applied = await factsFromPatch(await patchOf(repo, base, head, '--ignore-submodules=none'), {
        repoDir: repo.dir,
      });
      expect(applied.source).toBe('patch-applied');
      expect(fileOf(applied.facts, 'src/vendor/lib')).toEqual(expect.objectContaining(bump));
    } finally {
      await repo.git('config', '--unset', 'submodule.lib.ignore');
      await repo.git('config', '--unset', 'diff.ignoreSubmodules');
    }
  });

  it('ignore = all added by the change itself, with the work tree at head (the PR gate checks out the merge)', async () => {
    const plain = await makeTempRepo({ 'docs/a.md': 'a\n' });
    try {
      await plain.git('update-index', '--add', '--cacheinfo', `160000,${GITLINK_A},src/vendor/lib`);
      await plain.git('commit', '--quiet', '--no-verify', '-m', 'gitlink');
      const b = await plain.git('rev-parse', 'HEAD');
      await plain.write({ '.gitmodules': IGNORE_ALL });
      await plain.git('add', '.gitmodules');
      await plain.git('update-index', '--cacheinfo', `160000,${GITLINK_B},src/vendor/lib`);
      await plain.git('commit', '--quiet', '--no-verify', '-m', 'hide the bump');
      const h = await plain.git('rev-parse', 'HEAD');
      expect(await plain.git('diff', '--name-only', b, h)).toBe('.gitmodules');
      const r = await factsFromRange(plain.dir, b, h, { policy: POLICY });
      expect(r.facts.files.map((f) => f.path).sort()).toEqual(['.gitmodules', 'src/vendor/lib']);
      expect(fileOf(r.facts, 'src/vendor/lib')).toEqual(expect.objectContaining(bump));
      // The new .gitmodules is read whole for the rails (absent before).
      expect(r.facts.contents?.['.gitmodules']).toBe(IGNORE_ALL);
    } finally {
      await plain.cleanup();
    }
  });

  it('staged in a worktree whose .gitmodules says ignore = all (the proposers): the bump is a file', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    try {
      await repo.git('update-index', '--cacheinfo', `160000,${GITLINK_B},src/vendor/lib`);
      expect(await repo.git('diff', '--cached', '--name-only')).toBe('');
      const { facts } = await diffFactsWithLines(repo.dir, 'HEAD', POLICY);
      expect(facts.files).toEqual([expect.objectContaining(bump)]);
      expect((await diffFacts(repo.dir)).files).toEqual([expect.objectContaining(bump)]);
      expect(await diffPatch(repo.dir)).toContain(`+Subproject commit ${GITLINK_B}`);
    } finally {
      await repo.git('reset', '--quiet', '--hard', base);
    }
  });
});

describe('class 2: attributes the change (or the checkout) sets do not change the facts', () => {
  const LEAK = `export const token = "${TOKEN}";\nexport const other = 1;\n`;

  it.each([
    ['*.ts -diff'],
    ['*.ts binary'],
    ['*.ts diff=hide'],
    ['*.ts filter=hide'],
    ['*.ts text eol=crlf'],
    ['*.ts working-tree-encoding=UTF-16'],
  ])('range with src/.gitattributes "%s": leak.ts is text, counted and read', async (attrs) => {
    // Under working-tree-encoding the checkout holds UTF-16 (with a byte order mark); git stores UTF-8.
    const utf16 = attrs.includes('UTF-16');
    const content = utf16 ? Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(LEAK, 'utf16le')]) : LEAK;
    const { repo, base, head } = await rangeRepo(
      { 'docs/a.md': 'a\n' },
      { 'src/.gitattributes': `${attrs}\n`, 'src/leak.ts': content },
    );
    try {
      // Drivers a checkout's config could define: never run (no textconv, no external diff, no filter).
      await repo.git('config', 'diff.hide.binary', 'true');
      await repo.git('config', 'diff.hide.textconv', 'sed s/ghp_/xxx_/');
      await repo.git('config', 'filter.hide.clean', 'sed s/ghp_/xxx_/');
      await repo.git('config', 'filter.hide.smudge', 'sed s/ghp_/xxx_/');
      const r = await factsFromRange(repo.dir, base, head);
      expect(fileOf(r.facts, 'src/leak.ts')).toEqual(
        expect.objectContaining({ binary: false, linesAdded: 2, bytesAdded: Buffer.byteLength(LEAK) }),
      );
      expect(linesOf(r.facts, 'src/leak.ts')).toEqual(LEAK.trimEnd().split('\n'));
    } finally {
      await repo.cleanup();
    }
  });

  it('a global core.attributesFile and the system attributes are not read either', async () => {
    const { repo, base, head } = await rangeRepo({ 'docs/a.md': 'a\n' }, { 'src/leak.ts': LEAK });
    const dir = await mkdtemp(join(tmpdir(), 'se-attrs-'));
    const saved = process.env.GIT_CONFIG_GLOBAL;
    try {
      await writeFile(join(dir, 'attributes'), '*.ts binary\n');
      await writeFile(join(dir, 'gitconfig'), `[core]\n\tattributesFile = ${join(dir, 'attributes')}\n`);
      process.env.GIT_CONFIG_GLOBAL = join(dir, 'gitconfig');
      expect(
        await repo.git(
          '-c',
          `core.attributesFile=${join(dir, 'attributes')}`,
          'diff',
          '--numstat',
          base,
          head,
        ),
      ).toMatch(/^-\t-\tsrc\/leak\.ts$/);
      const r = await factsFromRange(repo.dir, base, head);
      expect(fileOf(r.facts, 'src/leak.ts').binary).toBe(false);
      expect(linesOf(r.facts, 'src/leak.ts')).toHaveLength(2);
    } finally {
      if (saved === undefined) delete process.env.GIT_CONFIG_GLOBAL;
      else process.env.GIT_CONFIG_GLOBAL = saved;
      await rm(dir, { recursive: true, force: true });
      await repo.cleanup();
    }
  });

  it('a genuinely binary file (NUL bytes) stays binary, its bytes counted from its blob', async () => {
    const bin = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 1, 2, 3, 0, 255, 10, 43, 43]);
    const { repo, base, head } = await rangeRepo(
      { 'docs/a.md': 'a\n' },
      { 'src/.gitattributes': '*.png text\n', 'src/logo.png': bin },
    );
    try {
      const r = await factsFromRange(repo.dir, base, head);
      expect(fileOf(r.facts, 'src/logo.png')).toEqual(
        expect.objectContaining({ binary: true, linesAdded: 0, bytesAdded: bin.length }),
      );
      await repo.git('checkout', '--quiet', '--detach', base);
      const applied = await factsFromPatch(await patchOf(repo, base, head), { repoDir: repo.dir });
      expect(fileOf(applied.facts, 'src/logo.png')).toEqual(
        expect.objectContaining({ binary: true, bytesAdded: bin.length }),
      );
      // Alone, the size comes from the binary patch's `literal` line.
      expect(
        fileOf((await factsFromPatch(await patchOf(repo, base, head))).facts, 'src/logo.png').bytesAdded,
      ).toBe(bin.length);
    } finally {
      await repo.cleanup();
    }
  });

  it('a patch that writes a text file as a binary patch (made under *.ts -diff) is judged as text once applied', async () => {
    const { repo, base, head } = await rangeRepo(
      { 'docs/a.md': 'a\n', 'src/b.ts': 'export const b = 1;\n' },
      {
        'src/.gitattributes': '*.ts -diff\n',
        'src/leak.ts': LEAK,
        'src/b.ts': `export const b = 2;\nexport const t = "${TOKEN}";\n`,
      },
    );
    try {
      // What git writes in the repository that has the attributes: both .ts files as binary patches.
      const patch = await patchOf(repo, base, head);
      expect(patch.toString('utf8')).toMatch(/GIT binary patch[\s\S]*GIT binary patch/);
      expect(patch.toString('utf8')).not.toContain(TOKEN);
      await repo.git('checkout', '--quiet', '--detach', base);
      const applied = await factsFromPatch(patch, { repoDir: repo.dir });
      expect(applied.source).toBe('patch-applied');
      expect(fileOf(applied.facts, 'src/leak.ts')).toEqual(
        expect.objectContaining({ status: 'added', binary: false, linesAdded: 2, linesDeleted: 0 }),
      );
      expect(fileOf(applied.facts, 'src/b.ts')).toEqual(
        expect.objectContaining({ status: 'modified', binary: false, linesAdded: 2, linesDeleted: 1 }),
      );
      expect(linesOf(applied.facts, 'src/leak.ts')).toEqual(LEAK.trimEnd().split('\n'));
      expect(linesOf(applied.facts, 'src/b.ts')).toEqual([
        'export const b = 2;',
        `export const t = "${TOKEN}";`,
      ]);
      expect(applied.notes.join('\n')).toMatch(
        /"src\/leak\.ts" is written as a binary patch but its content is text/,
      );
      // Without a repository the binary patch cannot be read: it stays binary (and the rails block binaries).
      expect(fileOf((await factsFromPatch(patch)).facts, 'src/leak.ts').binary).toBe(true);
    } finally {
      await repo.cleanup();
    }
  });

  it('staged in a worktree with *.ts -diff: the facts and the patch a proposal carries are text', async () => {
    const repo = await makeTempRepo({ 'docs/a.md': 'a\n' });
    try {
      await repo.write({ 'src/.gitattributes': '*.ts -diff\n', 'src/leak.ts': LEAK });
      await repo.git('add', '-A');
      expect(await repo.git('diff', '--cached', '--numstat')).toContain('-\t-\tsrc/leak.ts');
      const { facts, patch, linesError } = await diffFactsWithLines(repo.dir, 'HEAD', POLICY);
      expect(linesError).toBeUndefined();
      expect(fileOf(facts, 'src/leak.ts')).toEqual(expect.objectContaining({ binary: false, linesAdded: 2 }));
      expect(linesOf(facts, 'src/leak.ts')).toContain(`export const token = "${TOKEN}";`);
      expect(patch).toContain(`+export const token = "${TOKEN}";`);
    } finally {
      await repo.cleanup();
    }
  });
});

describe('property: no attribute hides a line (docs/rails.md, "How the facts are read")', () => {
  const ATTRIBUTES = [
    '-diff',
    'binary',
    'diff=hide',
    'diff=plain',
    '-text',
    'text',
    'eol=crlf',
    'eol=lf',
    'crlf',
    'filter=hide',
    'working-tree-encoding=UTF-8',
    'export-ignore',
    'linguist-generated',
    'whitespace=-trailing',
  ];

  it('whatever attributes the base or the change sets, where and for which pattern, the added lines are read as text', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(ATTRIBUTES, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('*', '*.ts', 'leak.ts', '*.[tj]s', 'src/**'),
        fc.constantFrom('.gitattributes', 'src/.gitattributes'),
        fc.boolean(),
        fc.boolean(),
        async (attrs, pattern, where, inBase, crlf) => {
          const eol = crlf ? '\r\n' : '\n';
          const content = `const a = 1;${eol}export const token = "${TOKEN}";${eol}`;
          const attributes = { [where]: `${pattern} ${attrs.join(' ')}\n` };
          const repo = await makeTempRepo({ 'docs/a.md': 'a\n', ...(inBase ? attributes : {}) });
          try {
            // Diff drivers a checkout could configure: they must never decide what is binary or shown.
            await repo.git('config', 'diff.hide.binary', 'true');
            await repo.git('config', 'diff.hide.textconv', 'sed s/ghp_/xxx_/');
            const base = await repo.git('rev-parse', 'HEAD');
            const head = await repo.commit({ 'src/leak.ts': content, ...(inBase ? {} : attributes) });
            const range = await factsFromRange(repo.dir, base, head);
            const patch = await patchOf(repo, base, head);
            await repo.git('checkout', '--quiet', '--detach', base);
            const applied = await factsFromPatch(patch, { repoDir: repo.dir });
            for (const facts of [range.facts, applied.facts]) {
              const leakFile = fileOf(facts, 'src/leak.ts');
              expect(leakFile.binary).toBe(false);
              expect(leakFile.linesAdded).toBe(2);
              expect(linesOf(facts, 'src/leak.ts')).toContain(`export const token = "${TOKEN}";`);
            }
          } finally {
            await repo.cleanup();
          }
        },
      ),
      { numRuns: 12, seed: 7 },
    );
  }, 300_000);
});

describe("the run pipeline: a proposer's scratch worktree (a linked worktree) gets the same facts", () => {
  it('a gitlink bump hidden by ignore = all and a leak hidden by *.ts -diff, staged in a linked worktree', async () => {
    const repo = await makeTempRepo({
      'docs/a.md': 'a\n',
      '.gitmodules': '[submodule "lib"]\n\tpath = lib\n\turl = https://example.com/lib.git\n\tignore = all\n',
    });
    try {
      await repo.git('update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},lib`);
      await repo.git('commit', '--quiet', '--no-verify', '-m', 'gitlink');
      const wt = await addWorktree(repo.dir, await repo.git('rev-parse', 'HEAD'));
      try {
        const leak = `export const token = "${TOKEN}";\n`;
        await writeFile(join(wt.dir, 'leak.ts'), leak);
        await writeFile(join(wt.dir, '.gitattributes'), '*.ts -diff\n');
        const git = (...args: string[]) => exec('git', args, { cwd: wt.dir });
        await git('add', 'leak.ts', '.gitattributes');
        await git('update-index', '--cacheinfo', `160000,${'2'.repeat(40)},lib`);
        const { facts, linesError } = await diffFactsWithLines(wt.dir, 'HEAD', POLICY);
        expect(linesError).toBeUndefined();
        expect(facts.files.map((f) => [f.path, f.status, f.newMode, f.binary]).sort()).toEqual([
          ['.gitattributes', 'added', '100644', false],
          ['leak.ts', 'added', '100644', false],
          ['lib', 'modified', '160000', false],
        ]);
        expect(linesOf(facts, 'leak.ts')).toEqual([leak.trimEnd()]);
        expect(fileOf(facts, 'leak.ts').bytesAdded).toBe(Buffer.byteLength(leak));
      } finally {
        await wt.remove();
      }
    } finally {
      await repo.cleanup();
    }
  });
});

describe('class 3: copies count every line, renames their edits; sources found by object id', () => {
  const THOUSAND =
    Array.from({ length: 1000 }, (_, i) => `line ${i + 1} of the vendored library`).join('\n') + '\n';
  let repo: TempRepo;
  let base: string;

  beforeAll(async () => {
    repo = await makeTempRepo({
      'vendor/lib.js': THOUSAND,
      'vendor/empty.py': '',
      'vendor/one.txt': 'x\n',
      LICENSE: 'MIT License\n\nCopyright (c) 2026 Someone\n',
      'docs/notes.md': 'alpha\nbeta\ngamma\ndelta\n',
    });
    base = await repo.git('rev-parse', 'HEAD');
  });
  afterAll(() => repo.cleanup());

  it('a 1,000-line copy counts 1,000 added lines and names its source; the copy plus 150 lines counts 1,150', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    const extra = Array.from({ length: 150 }, (_, i) => `added ${i}`).join('\n') + '\n';
    const head = await repo.commit({ 'src/lib.js': THOUSAND, 'src/lib2.js': THOUSAND + extra });
    const r = await factsFromRange(repo.dir, base, head);
    expect(fileOf(r.facts, 'src/lib.js')).toEqual(
      expect.objectContaining({ status: 'added', linesAdded: 1000, copyOf: ['vendor/lib.js'] }),
    );
    expect(fileOf(r.facts, 'src/lib2.js')).toEqual(
      expect.objectContaining({ status: 'added', linesAdded: 1150 }),
    );
    expect(fileOf(r.facts, 'src/lib2.js').copyOf).toBeUndefined();

    // The same change as a patch written WITH copy detection: the declared copies count every line too.
    await repo.git('checkout', '--quiet', '--detach', base);
    const patch = await patchOf(repo, base, head, '-C', '--find-copies-harder');
    expect(patch.toString('utf8')).toMatch(/copy from vendor\/lib\.js\ncopy to src\/lib2\.js/);
    const applied = await factsFromPatch(patch, { repoDir: repo.dir });
    for (const [path, lines] of [
      ['src/lib.js', 1000],
      ['src/lib2.js', 1150],
    ] as const) {
      const f = fileOf(applied.facts, path);
      expect({ path, linesAdded: f.linesAdded, linesDeleted: f.linesDeleted }).toEqual({
        path,
        linesAdded: lines,
        linesDeleted: 0,
      });
      expect(linesOf(applied.facts, path)).toHaveLength(lines);
    }
    expect(fileOf(applied.facts, 'src/lib2.js')).toEqual(
      expect.objectContaining({
        status: 'copied',
        oldPath: 'vendor/lib.js',
        bytesAdded: Buffer.byteLength(THOUSAND + extra),
      }),
    );
  });

  it('no copy source for the empty file, a one-line file, or a file that merely resembles one', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    const head = await repo.commit({
      'src/__init__.py': '',
      'src/one.txt': 'x\n',
      'docs/license.md': 'MIT License\n\nCopyright (c) 2026 Someone\nSee the LICENSE file.\n\n',
      'docs/notes-copy.md': 'alpha\nbeta\ngamma\ndelta\n',
    });
    const r = await factsFromRange(repo.dir, base, head);
    expect(fileOf(r.facts, 'src/__init__.py').copyOf).toBeUndefined();
    expect(fileOf(r.facts, 'src/one.txt').copyOf).toBeUndefined();
    expect(fileOf(r.facts, 'docs/license.md').copyOf).toBeUndefined();
    expect(fileOf(r.facts, 'docs/notes-copy.md').copyOf).toEqual(['docs/notes.md']);
    // A patch read with a repository finds the same by hashing what the patch creates.
    await repo.git('checkout', '--quiet', '--detach', base);
    const applied = await factsFromPatch(await patchOf(repo, base, head), { repoDir: repo.dir });
    expect(applied.facts.files.filter((f) => f.copyOf).map((f) => [f.path, f.copyOf])).toEqual([
      ['docs/notes-copy.md', ['docs/notes.md']],
    ]);
  });

  it('a rename counts its edits', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    const head = await repo.commit({
      'vendor/lib.js': null,
      'src/moved.js': THOUSAND.replace('line 7 of', 'LINE 7 OF'),
    });
    const r = await factsFromRange(repo.dir, base, head);
    expect(r.facts.files).toEqual([
      expect.objectContaining({
        path: 'src/moved.js',
        oldPath: 'vendor/lib.js',
        status: 'renamed',
        linesAdded: 1,
        linesDeleted: 1,
      }),
    ]);
  });

  it('a range in a partial clone (blob:none) reads no unchanged blob: no copy detection', async () => {
    const clone = await mkdtemp(join(tmpdir(), 'se-partial-'));
    const source = await makeTempRepo({
      ...Object.fromEntries(
        Array.from({ length: 20 }, (_, i) => [`docs/page${i}.md`, `page ${i}\n`.repeat(5)]),
      ),
    });
    try {
      await source.git('config', 'uploadpack.allowFilter', 'true');
      await exec('git', [
        'clone',
        '--quiet',
        '--no-checkout',
        '--filter=blob:none',
        `file://${source.dir}`,
        clone,
      ]);
      const run = (...args: string[]) => exec('git', args, { cwd: clone }).then((r) => r.stdout.trim());
      await run('config', 'user.name', 'T');
      await run('config', 'user.email', 't@example.com');
      const b = await run('rev-parse', 'HEAD');
      // A head commit adding a copy of an unchanged page, made without reading any blob of the base.
      await run('read-tree', b);
      const blob = (
        await exec(
          'sh',
          ['-c', 'printf "page 3\\npage 3\\npage 3\\npage 3\\npage 3\\n" | git hash-object -w --stdin'],
          { cwd: clone },
        )
      ).stdout.trim();
      await run('update-index', '--add', '--cacheinfo', `100644,${blob},docs/copy.md`);
      const tree = await run('write-tree');
      const h = await run('commit-tree', tree, '-p', b, '-m', 'copy');
      // The promisor remote goes away: any blob git would fetch now fails the command.
      await source.cleanup();
      const r = await factsFromRange(clone, b, h);
      expect(r.facts.files).toEqual([
        expect.objectContaining({
          path: 'docs/copy.md',
          status: 'added',
          linesAdded: 5,
          copyOf: ['docs/page3.md'],
        }),
      ]);
    } finally {
      await rm(clone, { recursive: true, force: true });
      await source.cleanup();
    }
  });
});

describe("class 7b: a patch git cannot apply to HEAD is marked unapplicable, with git's reason", () => {
  let repo: TempRepo;

  beforeAll(async () => {
    repo = await makeTempRepo({
      '.github/actions/setup/index.js': 'setup();\n',
      'src/link': { symlink: '../.github' },
      'docs/a.md': 'one\ntwo\nthree\n',
    });
  });
  afterAll(() => repo.cleanup());

  const newFile = (path: string, line: string) =>
    `diff --git a/${path} b/${path}\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/${path}\n@@ -0,0 +1 @@\n+${line}\n`;

  it.each([
    [
      'a path beyond a symbolic link',
      newFile('src/link/actions/setup/index.js', 'evil();'),
      /beyond a symbolic link/,
    ],
    [
      'stale context',
      'diff --git a/docs/a.md b/docs/a.md\nindex 1111111..2222222 100644\n--- a/docs/a.md\n+++ b/docs/a.md\n@@ -1,2 +1,2 @@\n one\n-TWO\n+2\n',
      /patch failed: docs\/a\.md:1/,
    ],
    [
      'a deletion of a file that does not exist',
      'diff --git a/docs/gone.md b/docs/gone.md\ndeleted file mode 100644\nindex 1111111..0000000\n--- a/docs/gone.md\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n',
      /docs\/gone\.md: does not exist in index/,
    ],
    [
      'a rename whose source is missing',
      'diff --git a/docs/missing.md b/docs/moved.md\nsimilarity index 100%\nrename from docs/missing.md\nrename to docs/moved.md\n',
      /docs\/missing\.md: does not exist in index/,
    ],
    ['a file that exists already', newFile('docs/a.md', 'again'), /docs\/a\.md: already exists in index/],
  ])('%s', async (_name, patch, reason) => {
    const r = await factsFromPatch(patch, { repoDir: repo.dir });
    expect(r.facts.unapplicable).toMatch(reason);
    expect(r.source).toBe('patch-only');
    expect(r.facts.files.length).toBeGreaterThan(0);
    expect(r.facts.baseSymlinks).toEqual({ 'src/link': '../.github' });
    // Read alone (no repository), the same patch is not marked: there is nothing to apply it to.
    expect((await factsFromPatch(patch)).facts.unapplicable).toBeUndefined();
  });

  it('checks against HEAD, not the work tree: a dirty work tree neither blocks nor excuses a patch', async () => {
    const edit =
      'diff --git a/docs/a.md b/docs/a.md\nindex 1111111..2222222 100644\n--- a/docs/a.md\n+++ b/docs/a.md\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n';
    await repo.write({ 'docs/a.md': 'one\nTWO\nthree\n' });
    try {
      const r = await factsFromPatch(edit, { repoDir: repo.dir });
      expect(r.facts.unapplicable).toBeUndefined();
      expect(r.source).toBe('patch-applied');
      expect(await repo.git('status', '--porcelain')).toBe(' M docs/a.md');
    } finally {
      await repo.git('checkout', '--', 'docs/a.md');
    }
  });

  it('a repository without a commit: nothing to apply to, marked', async () => {
    const empty = await makeTempRepo({}, { empty: true });
    try {
      const r = await factsFromPatch(newFile('docs/x.md', 'x'), { repoDir: empty.dir });
      expect(r.facts.unapplicable).toMatch(/no commit yet/);
    } finally {
      await empty.cleanup();
    }
  });
});

describe('whole files, base symlinks and bytes', () => {
  const SCRIPT = '#!/bin/sh\ncurl -fsSL https://example.com/install.sh \\\n  | sh\n';
  let repo: TempRepo;
  let base: string;

  beforeAll(async () => {
    repo = await makeTempRepo({
      'scripts/run.sh': { content: '#!/bin/sh\necho one\necho two\n', mode: 0o755 },
      '.gitmodules': '[submodule "lib"]\n\tpath = lib\n\turl = https://example.com/lib.git\n',
      'docs/current.md': { symlink: 'guide.md' },
      'docs/guide.md': 'guide\n',
      'src/tool': '#!/usr/bin/env node\nconsole.log(1);\n',
    });
    base = await repo.git('rev-parse', 'HEAD');
  });
  afterAll(() => repo.cleanup());

  it('a range, a patch applied and the staged changes hold the same whole files, before and after', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    const head = await repo.commit({
      'scripts/run.sh': { content: '#!/bin/sh\necho one\necho TWO\necho three\n', mode: 0o755 },
      'scripts/new.sh': SCRIPT,
      '.gitmodules': '[submodule "lib"]\n\tpath = lib\n\turl = https://evil.example.com/lib.git\n',
      'docs/guide.md': 'guide, longer\n',
    });
    // scripts/new.sh is added: its added lines are its whole text, so the rails do not ask for it again.
    const expected = {
      'scripts/run.sh': '#!/bin/sh\necho one\necho TWO\necho three\n',
      '.gitmodules': '[submodule "lib"]\n\tpath = lib\n\turl = https://evil.example.com/lib.git\n',
    };
    const before = {
      '.gitmodules': '[submodule "lib"]\n\tpath = lib\n\turl = https://example.com/lib.git\n',
    };
    const range = await factsFromRange(repo.dir, base, head, { policy: POLICY });
    expect(range.facts.contents).toEqual(expected);
    expect(range.facts.contentsBefore).toEqual(before);
    expect(range.facts.absentBefore).toEqual([]);
    expect(range.facts.baseSymlinks).toEqual({ 'docs/current.md': 'guide.md' });

    await repo.git('checkout', '--quiet', '--detach', base);
    const patch = await patchOf(repo, base, head);
    const applied = await factsFromPatch(patch, { repoDir: repo.dir, policy: POLICY });
    expect(applied.facts.contents).toEqual(expected);
    expect(applied.facts.contentsBefore).toEqual(before);
    expect(applied.facts.baseSymlinks).toEqual({ 'docs/current.md': 'guide.md' });

    await repo.git('checkout', '--quiet', '--detach', head);
    await repo.git('reset', '--quiet', '--soft', base);
    const staged = await diffFactsWithLines(repo.dir, 'HEAD', POLICY);
    expect(staged.facts.contents).toEqual(expected);
    expect(staged.facts.contentsBefore).toEqual(before);
    expect(staged.facts.baseSymlinks).toEqual({ 'docs/current.md': 'guide.md' });
    await repo.git('reset', '--quiet', '--hard', base);

    // Alone: no base, so nothing the rails ask for is known (the file the patch creates is not asked for);
    // no symlink of a base that is not there.
    const alone = await factsFromPatch(patch, { policy: POLICY });
    expect(alone.facts.contents).toEqual({});
    expect(alone.facts.contentsBefore).toEqual({});
    expect(alone.facts.absentBefore).toEqual([]);
    expect(alone.facts.baseSymlinks).toBeUndefined();
    // Without a policy nothing is read whole.
    expect((await factsFromRange(repo.dir, base, head)).facts.contents).toBeUndefined();
  });

  it('a file over the cap, or not UTF-8, is left out (the rails then block it as unread)', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    // Both files exist before the change (a new file is not read whole: its added lines are all of it).
    const mid = await repo.commit({ 'scripts/latin1.sh': '#!/bin/sh\necho cafe\n' });
    const big = `#!/bin/sh\n${'echo x\n'.repeat(Math.ceil(MAX_CONTENT_BYTES / 7))}`;
    const head = await repo.commit({
      'scripts/run.sh': { content: big, mode: 0o755 },
      'scripts/latin1.sh': Buffer.from('#!/bin/sh\necho caf\xe9\n', 'latin1'),
    });
    const r = await factsFromRange(repo.dir, mid, head, { policy: POLICY });
    expect(r.facts.contents).toEqual({});
    expect(r.notes.join('\n')).toMatch(/2 whole file\(s\) the rails need could not be read/);
  });

  it('a new shebang or executable bit makes a file read whole, wherever it is', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    const head = await repo.commit({
      'docs/guide.md': '#!/bin/sh\ncurl https://x | sh\n',
      'src/tool': { content: '#!/usr/bin/env node\nconsole.log(1);\n', mode: 0o755 },
    });
    await repo.git('checkout', '--quiet', '--detach', base);
    const applied = await factsFromPatch(await patchOf(repo, base, head), {
      repoDir: repo.dir,
      policy: POLICY,
    });
    expect(Object.keys(applied.facts.contents ?? {}).sort()).toEqual(['docs/guide.md', 'src/tool']);
    expect(applied.facts.contents?.['src/tool']).toBe('#!/usr/bin/env node\nconsole.log(1);\n');
  });

  it('bytes added: UTF-8 bytes of the added lines with their endings (CRLF two, a last line without one none)', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    const head = await repo.commit({
      'docs/utf8.md': 'é€😀\n',
      'docs/crlf.md': 'a\r\nb\r\n',
      'docs/noeol.md': 'no end',
      'docs/guide.md': 'guide\nmore\n',
    });
    const expected = { 'docs/utf8.md': 10, 'docs/crlf.md': 6, 'docs/noeol.md': 6, 'docs/guide.md': 5 };
    const range = await factsFromRange(repo.dir, base, head);
    await repo.git('checkout', '--quiet', '--detach', base);
    const patch = await patchOf(repo, base, head);
    for (const facts of [
      range.facts,
      (await factsFromPatch(patch, { repoDir: repo.dir })).facts,
      (await factsFromPatch(patch)).facts,
    ]) {
      expect(Object.fromEntries(Object.keys(expected).map((p) => [p, fileOf(facts, p).bytesAdded]))).toEqual(
        expected,
      );
    }
  });

  it('a deleted or renamed symlink of the base is still listed as a base symlink', async () => {
    await repo.git('checkout', '--quiet', '--detach', base);
    await repo.git('rm', '--quiet', 'docs/current.md');
    const head = await repo.commit({});
    const r = await factsFromRange(repo.dir, base, head);
    expect(r.facts.baseSymlinks).toEqual({ 'docs/current.md': 'guide.md' });
    expect(fileOf(r.facts, 'docs/current.md')).toEqual(
      expect.objectContaining({ status: 'deleted', bytesAdded: 0 }),
    );
  });
});
