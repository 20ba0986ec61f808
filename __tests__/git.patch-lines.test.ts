/**
 * addedLinesFromPatch / attachAddedLines (src/git/patch-lines.ts) and diffFactsWithLines (src/git/git.ts): the
 * added lines of a patch, with new-file line numbers and git's own paths, from patches git really printed;
 * and the proposers (command, file) that fill facts.addedLines with them.
 */
import { CommandProposerSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/deps.js';
import { diffFacts, diffFactsWithLines, diffPatch, headSha, stageAll } from '../src/git/git.js';
import { createCommandProposer } from '../src/propose/command.js';
import { createFileProposer } from '../src/propose/file.js';
import type { ProposerContext } from '../src/propose/types.js';
import {
  addedLinesFromPatch,
  attachAddedLines,
  createdText,
  readAddedContent,
  readPatchSections,
  unquoteGitPath,
} from '../src/git/patch-lines.js';
import type { AddedLine, ChangeFacts } from '../src/rails/types.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

/** Lines as `path:line:text` for compact assertions. */
const shown = (lines: readonly AddedLine[] | undefined): string[] =>
  (lines ?? []).map((l) => `${l.path}:${l.line}:${l.text}`);

describe('unquoteGitPath', () => {
  it.each([
    ['plain.txt', 'plain.txt'],
    ['caf\\303\\251.txt', 'café.txt'],
    ['ta\\tb.txt', 'ta\tb.txt'],
    ['quo\\"te.txt', 'quo"te.txt'],
    ['back\\\\slash', 'back\\slash'],
    ['\\360\\237\\230\\200 emoji', '😀 emoji'],
    ['unknown \\q escape', 'unknown \\q escape'],
    ['😀 raw \\t astral', '😀 raw \t astral'],
  ])('%j -> %j', (input, expected) => {
    expect(unquoteGitPath(input)).toBe(expected);
  });
});

describe('addedLinesFromPatch on hand-made patches', () => {
  const patch = [
    'diff --git a/docs/a.md b/docs/a.md',
    'index 1111111..2222222 100644',
    '--- a/docs/a.md',
    '+++ b/docs/a.md',
    '@@ -1,3 +1,4 @@',
    ' one',
    '-two',
    '+TWO',
    '+2b',
    ' three',
    '@@ -10,2 +11,2 @@',
    ' ten',
    '-eleven',
    '+ELEVEN',
    '\\ No newline at end of file',
    '',
  ].join('\n');

  it('gives every + line with its new-file line number, across hunks, and skips "\\ No newline"', () => {
    expect(shown(addedLinesFromPatch(patch))).toEqual([
      'docs/a.md:2:TWO',
      'docs/a.md:3:2b',
      'docs/a.md:12:ELEVEN',
    ]);
  });

  it('gives nothing for an empty patch or text that is not a patch', () => {
    expect(addedLinesFromPatch('')).toEqual([]);
    expect(addedLinesFromPatch('hello\nworld\n')).toEqual([]);
  });

  it('strips ONE trailing \\r of a CRLF line and reports it; an inner \\r is kept', () => {
    const crlf = [
      'diff --git a/w.txt b/w.txt',
      'index 1111111..2222222 100644',
      '--- a/w.txt',
      '+++ b/w.txt',
      '@@ -1 +1,3 @@',
      ' a\r',
      '+b\r',
      '+c\rd\r\r',
      '',
    ].join('\n');
    const crlfLines: number[] = [];
    const lines = addedLinesFromPatch(crlf, { onCrlf: (l) => crlfLines.push(l.line) });
    expect(lines.map((l) => l.text)).toEqual(['b', 'c\rd\r']);
    expect(crlfLines).toEqual([2, 3]);
  });

  it('reads a "+" line that looks like a header ("+++ x", "+diff --git") as content inside a hunk', () => {
    const tricky = [
      'diff --git a/n.md b/n.md',
      'index 1111111..2222222 100644',
      '--- a/n.md',
      '+++ b/n.md',
      '@@ -0,0 +1,2 @@',
      '++++ not a header',
      '+diff --git a/x b/x',
      '',
    ].join('\n');
    expect(shown(addedLinesFromPatch(tricky))).toEqual([
      'n.md:1:+++ not a header',
      'n.md:2:diff --git a/x b/x',
    ]);
  });
});

describe("readPatchSections follows git's grammar of a patch", () => {
  it('counts hunk lines by the header, so "-- x", "+++ y" and "diff --git" inside a hunk are content', () => {
    const patch = [
      'diff --git a/a.md b/a.md',
      'index 1111111..2222222 100644',
      '--- a/a.md',
      '+++ b/a.md',
      '@@ -1,2 +1,3 @@',
      '--- not a header',
      '++++ not a header',
      '+diff --git a/x b/x',
      ' kept',
      'trailing text git ignores',
      '--- a/old.txt\t2026-01-01 00:00:00',
      '+++ b/new.txt\t2026-01-02 00:00:00',
      '@@ -0,0 +1 @@',
      '+traditional',
      '',
    ].join('\n');
    const sections = readPatchSections(patch);
    expect(sections.map((x) => [x.name, x.lines.map((l) => `${l.line}:${l.text}`)])).toEqual([
      ['a.md', ['1:+++ not a header', '2:diff --git a/x b/x']],
      ['new.txt', ['1:traditional']],
    ]);
  });

  it('a marker after the last hunk line: no line ending, one byte less, and the created text ends without one', () => {
    const patch = [
      'diff --git a/n.txt b/n.txt',
      'new file mode 100644',
      'index 0000000..1111111',
      '--- /dev/null',
      '+++ b/n.txt',
      '@@ -0,0 +1,2 @@',
      '+é\r',
      '+end',
      '\\ No newline at end of file',
      '',
    ].join('\n');
    const [section] = readPatchSections(patch);
    expect(section).toEqual(
      expect.objectContaining({
        name: 'n.txt',
        created: true,
        noNewlineAtEnd: true,
        bytesAdded: 7,
        hunks: 1,
      }),
    );
    expect(createdText(section!)).toBe('é\r\nend');
  });

  it('a binary patch states its size on its literal line; a quoted name is decoded', () => {
    const patch = [
      'diff --git "a/caf\\303\\251.bin" "b/caf\\303\\251.bin"',
      'new file mode 100644',
      'index 0000000000000000000000000000000000000000..1111111111111111111111111111111111111111',
      'GIT binary patch',
      'literal 6',
      'NcmZQzU}a!o0000400RI3',
      '',
      'literal 0',
      'HcmV?d00001',
      '',
      'diff --git "a/caf\\303\\251.txt" "b/caf\\303\\251.txt"',
      'new file mode 100644',
      'index 0000000..1111111',
      '--- /dev/null',
      '+++ "b/caf\\303\\251.txt"',
      '@@ -0,0 +1 @@',
      '+x',
      '',
    ].join('\n');
    const sections = readPatchSections(patch);
    expect(sections.map((x) => [x.name, x.binary, x.binaryLiteralSize])).toEqual([
      ['', true, 6],
      ['café.txt', false, undefined],
    ]);
  });

  it('refuses a hunk cut short or holding a line that is no hunk line (git calls both corrupt)', () => {
    const head = 'diff --git a/x b/x\nindex 1111111..2222222 100644\n--- a/x\n+++ b/x\n';
    expect(() => readPatchSections(`${head}@@ -1,2 +1,2 @@\n-a\n`)).toThrow(/ends inside a hunk/);
    expect(() => readPatchSections(`${head}@@ -1 +1 @@\n*a\n+b\n`)).toThrow(/is no hunk line/);
  });

  it("readAddedContent refuses a reading whose count of added lines differs from git's", () => {
    const patch =
      'diff --git a/x b/x\nindex 1111111..2222222 100644\n--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n a\n+b\n';
    const file = {
      path: 'x',
      status: 'modified' as const,
      oldMode: '100644',
      newMode: '100644',
      binary: false,
      linesDeleted: 0,
    };
    expect(readAddedContent([{ ...file, linesAdded: 1 }], patch).addedLines).toEqual([
      { path: 'x', line: 2, text: 'b' },
    ]);
    expect(() => readAddedContent([{ ...file, linesAdded: 2 }], patch)).toThrow(
      /adds 1 line\(s\) to "x" where git counts 2/,
    );
  });
});

describe('attachAddedLines with git facts', () => {
  let repo: TempRepo;

  beforeAll(async () => {
    repo = await makeTempRepo({
      'my file.txt': 'x\n',
      'café.txt': 'a\n',
      'quo"te.txt': 'q\n',
      'ta\tb.txt': 't\n',
      "end'": 's\n',
      'docs/old-name.md': 'line 1\nline 2\nline 3\nline 4\nline 5\nline 6\n',
      'gone.txt': 'bye\n',
    });
    await repo.write({
      'my file.txt': 'x\ny\r\nz',
      'café.txt': 'a\nb\n',
      'quo"te.txt': 'q\nr\n',
      'ta\tb.txt': 't\nu\n',
      "end'": 's\nt\n',
      'docs/old-name.md': null,
      'docs/new-name.md': 'line 1\nline 2\nline 3 changed\nline 4\nline 5\nline 6\n',
      'gone.txt': null,
      'bin.dat': new Uint8Array([0, 1, 2, 3, 255, 0, 10, 43, 43, 10]),
      'docs/new.md': '# New\n\ntext\n',
    });
    await stageAll(repo.dir);
  });
  afterAll(() => repo.cleanup());

  it("maps every file's added lines to git's own paths: spaces, unicode, quotes, tabs, a trailing quote", async () => {
    const { facts, patch, linesError } = await diffFactsWithLines(repo.dir);
    expect(linesError).toBeUndefined();
    expect(shown(facts.addedLines).sort()).toEqual(
      [
        'café.txt:2:b',
        "end':2:t",
        'my file.txt:2:y',
        'my file.txt:3:z',
        'quo"te.txt:2:r',
        'ta\tb.txt:2:u',
        'docs/new-name.md:3:line 3 changed',
        'docs/new.md:1:# New',
        'docs/new.md:2:',
        'docs/new.md:3:text',
      ].sort(),
    );
    // The binary file and the deletion give none; every path is one git reported.
    const paths = new Set(facts.files.map((f) => f.path));
    for (const l of facts.addedLines!) expect(paths).toContain(l.path);
    expect(facts.addedLines!.some((l) => l.path === 'bin.dat' || l.path === 'gone.txt')).toBe(false);
    // The patch returned is git's own (a binary patch section included); read alone, it names the files
    // as its `+++ ` lines do (quotes decoded, the trailing quote of end' kept).
    expect(patch).toContain('GIT binary patch');
    expect(addedLinesFromPatch(patch).map((l) => l.path)).toContain("end'");
  });

  it('matches the line counts git reports for each text file', async () => {
    const { facts } = await diffFactsWithLines(repo.dir);
    for (const f of facts.files) {
      const read = facts.addedLines!.filter((l) => l.path === f.path).length;
      expect({ path: f.path, read }).toEqual({ path: f.path, read: f.binary ? 0 : f.linesAdded });
    }
  });

  it('does not modify its input and keeps the other facts', async () => {
    const facts = await diffFacts(repo.dir);
    const patch = await diffPatch(repo.dir);
    const copy = JSON.parse(JSON.stringify(facts)) as ChangeFacts;
    const out = attachAddedLines(facts, patch);
    expect(facts).toEqual(copy);
    expect(out.files).toBe(facts.files);
    expect(out.addedLines!.length).toBeGreaterThan(0);
  });

  it('throws, naming the file, when a file of the patch matches no path of the facts', async () => {
    const facts = await diffFacts(repo.dir);
    const patch = await diffPatch(repo.dir);
    const fewer: ChangeFacts = { files: facts.files.filter((f) => f.path !== 'docs/new.md') };
    expect(() => attachAddedLines(fewer, patch)).toThrow(/"docs\/new\.md".*match no file git reported/);
  });

  it('drops lines the facts say belong to a binary file', () => {
    const patch = [
      'diff --git a/x.txt b/x.txt',
      'index 1111111..2222222 100644',
      '--- a/x.txt',
      '+++ b/x.txt',
      '@@ -0,0 +1 @@',
      '+hello',
      '',
    ].join('\n');
    const file = {
      path: 'x.txt',
      status: 'modified' as const,
      oldMode: '100644',
      newMode: '100644',
      linesDeleted: 0,
    };
    expect(attachAddedLines({ files: [{ ...file, binary: true, linesAdded: 0 }] }, patch).addedLines).toEqual(
      [],
    );
    expect(
      shown(attachAddedLines({ files: [{ ...file, binary: false, linesAdded: 1 }] }, patch).addedLines),
    ).toEqual(['x.txt:1:hello']);
  });
});

describe('diffFactsWithLines on a large single line', () => {
  it('reads a 1 MB added line whole', async () => {
    const repo = await makeTempRepo({ 'docs/a.md': 'a\n' });
    try {
      const long = 'x'.repeat(1024 * 1024);
      await repo.write({ 'docs/a.md': `a\n${long}\n` });
      await stageAll(repo.dir);
      const { facts } = await diffFactsWithLines(repo.dir);
      expect(facts.addedLines).toHaveLength(1);
      expect(facts.addedLines![0]!.text.length).toBe(long.length);
    } finally {
      await repo.cleanup();
    }
  });
});

describe('the proposers fill facts.addedLines', () => {
  it('a command proposer and a file proposer both propose with the added lines read', async () => {
    const repo = await makeTempRepo({ 'docs/a.md': 'alpha\n' });
    try {
      const baseSha = await headSha(repo.dir);
      const ctx: ProposerContext = {
        repoDir: repo.dir,
        baseSha,
        reflection: {
          insights: '',
          signals: { git: { recentCommits: [], reverts: [], mostChangedFiles: [], windowDays: 30 } },
        },
        logger: silentLogger,
      };
      const command = createCommandProposer(
        CommandProposerSchema.parse({ kind: 'command', command: 'printf "alpha\\nbeta\\n" > docs/a.md' }),
      );
      const fromCommand = await command.propose(ctx);
      expect(shown(fromCommand.proposals[0]?.facts.addedLines)).toEqual(['docs/a.md:2:beta']);

      await repo.commit({
        'proposals/one.patch': fromCommand.proposals[0]!.patch,
        'proposals/one.json': JSON.stringify({ title: 'beta', type: 'cleanup', riskLevel: 1 }),
      });
      const file = createFileProposer({ kind: 'file', directory: 'proposals' });
      const fromFile = await file.propose({ ...ctx, baseSha: await headSha(repo.dir) });
      expect(fromFile.failures).toEqual([]);
      expect(shown(fromFile.proposals[0]?.facts.addedLines)).toEqual(['docs/a.md:2:beta']);
    } finally {
      await repo.cleanup();
    }
  });
});
