/**
 * Rails round 2 (issue #7) rules on size and kinds that lines and paths alone do not show: bytes of added
 * content (diff-max-bytes), minified lines (content-minified), .gitattributes files (file-gitattributes) and
 * changes git cannot apply to their base (change-unapplicable). Pure engine calls, no git.
 */
import { parseConfig } from '../src/config/load.js';
import { evaluate } from '../src/rails/evaluate.js';
import { policyFromConfig } from '../src/rails/policy.js';
import { utf8Length } from '../src/rails/rules/size.js';
import {
  EMPTY_CONTEXT,
  type AddedLine,
  type ChangeFacts,
  type FileChange,
  type RailsPolicy,
  type Verdict,
} from '../src/rails/types.js';

const OPEN: RailsPolicy = {
  ...policyFromConfig(parseConfig({}, 'test')),
  allowedPaths: ['**'],
  blockedPaths: [],
  maxRiskLevel: 3,
};

function file(path: string, extra: Partial<FileChange> = {}): FileChange {
  return {
    path,
    status: 'modified',
    oldMode: '100644',
    newMode: '100644',
    binary: false,
    linesAdded: 1,
    linesDeleted: 0,
    ...extra,
  };
}

function judge(facts: ChangeFacts, policy: RailsPolicy = OPEN): Promise<Verdict> {
  return evaluate({ type: 'cleanup', riskLevel: 0, facts }, policy, EMPTY_CONTEXT);
}

const of = (v: Verdict, id: string) => v.violations.filter((x) => x.ruleId === id);

describe('diff-max-bytes', () => {
  test('a 5 MB single line is one line but 5 MB: blocked with the byte count and the setting', async () => {
    const text = 'x'.repeat(5 * 1024 * 1024);
    const v = await judge({
      files: [file('docs/blob.md', { linesAdded: 1 })],
      addedLines: [{ path: 'docs/blob.md', line: 1, text }],
    });
    const [hit] = of(v, 'diff-max-bytes');
    expect(hit?.message).toContain('5242881 bytes');
    expect(hit?.message).toContain('safetyRails.diffCaps.maxBytesChanged = 262144');
    expect(v.allowed).toBe(false);
  });

  test('bytesAdded from the facts wins over the added lines; the sum over files is what counts', async () => {
    const lines: AddedLine[] = [{ path: 'docs/a.md', line: 1, text: 'short' }];
    const small = await judge({ files: [file('docs/a.md', { bytesAdded: 6 })], addedLines: lines });
    expect(of(small, 'diff-max-bytes')).toEqual([]);
    const two = await judge({
      files: [file('docs/a.md', { bytesAdded: 200_000 }), file('docs/b.md', { bytesAdded: 70_000 })],
      addedLines: [...lines, { path: 'docs/b.md', line: 1, text: 'b' }],
    });
    expect(of(two, 'diff-max-bytes')[0]?.message).toContain('270000 bytes');
    expect(of(two, 'diff-max-bytes')[0]?.message).toContain('largest: docs/a.md 200000 bytes');
  });

  test('exactly at the cap is allowed; one byte over is not', async () => {
    const policy = { ...OPEN, maxBytesChanged: 10 };
    const at = await judge({ files: [file('docs/a.md', { bytesAdded: 10 })], addedLines: [] }, policy);
    const over = await judge({ files: [file('docs/a.md', { bytesAdded: 11 })], addedLines: [] }, policy);
    expect(of(at, 'diff-max-bytes')).toEqual([]);
    expect(of(over, 'diff-max-bytes')).toHaveLength(1);
  });

  test('binary files count by size; an unknown size blocks only when binary files are allowed', async () => {
    const allowBinary = { ...OPEN, fileKinds: { ...OPEN.fileKinds, allowBinary: true } };
    const big = await judge(
      { files: [file('docs/a.png', { binary: true, bytesAdded: 300_000, linesAdded: 0 })], addedLines: [] },
      allowBinary,
    );
    expect(of(big, 'diff-max-bytes')).toHaveLength(1);
    const unknown = { files: [file('docs/a.png', { binary: true, linesAdded: 0 })], addedLines: [] };
    expect(of(await judge(unknown, allowBinary), 'diff-max-bytes')[0]?.message).toContain('unknown size');
    // file-binary already blocks it without the allowance
    const v = await judge(unknown);
    expect(of(v, 'diff-max-bytes')).toEqual([]);
    expect(of(v, 'file-binary')).toHaveLength(1);
  });

  test('counts UTF-8 bytes, not UTF-16 code units', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
    expect(utf8Length('\ud800x')).toBe(4); // a lone surrogate is written as U+FFFD (3 bytes)
    for (const s of ['héllo wörld', '日本語のテキスト', 'a😀b€c\u0301']) {
      expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
    }
  });
});

describe('content-minified', () => {
  const long = (n: number): AddedLine => ({ path: 'src/app.min.js', line: 3, text: 'a'.repeat(n) });

  test('a line over 1,000 characters is blocked once per file, at its first line, with the count', async () => {
    const v = await judge({
      files: [file('src/app.min.js', { linesAdded: 3 })],
      addedLines: [{ path: 'src/app.min.js', line: 2, text: 'ok' }, long(1001), { ...long(5000), line: 4 }],
    });
    expect(of(v, 'content-minified')).toEqual([
      expect.objectContaining({
        path: 'src/app.min.js',
        line: 3,
        message: expect.stringContaining('2 such lines over safetyRails.diffCaps.maxLineLength = 1000'),
      }),
    ]);
  });

  test('1,000 characters is fine; characters are code points (an emoji is one)', async () => {
    const atLimit = await judge({ files: [file('src/a.ts')], addedLines: [long(1000)] });
    expect(of(atLimit, 'content-minified')).toEqual([]);
    const emoji = await judge({
      files: [file('src/a.ts')],
      addedLines: [{ path: 'src/a.ts', line: 1, text: '😀'.repeat(600) }],
    });
    expect(of(emoji, 'content-minified')).toEqual([]);
  });

  test('fileKinds.allowMinified lifts it; maxLineLength moves the threshold', async () => {
    const facts = { files: [file('src/a.ts')], addedLines: [long(1500)] };
    expect(
      of(
        await judge(facts, { ...OPEN, fileKinds: { ...OPEN.fileKinds, allowMinified: true } }),
        'content-minified',
      ),
    ).toEqual([]);
    expect(of(await judge(facts, { ...OPEN, maxLineLength: 2000 }), 'content-minified')).toEqual([]);
    expect(of(await judge(facts, { ...OPEN, maxLineLength: 100 }), 'content-minified')).toHaveLength(1);
  });
});

describe('file-gitattributes', () => {
  test.each([
    ['.gitattributes', 'added'],
    ['src/.gitattributes', 'added'],
    ['deep/er/.GitAttributes', 'modified'],
    ['docs/.gitattributes', 'deleted'],
  ] as const)('%s (%s) is blocked', async (path, status) => {
    const v = await judge({
      files: [file(path, { status, linesAdded: status === 'deleted' ? 0 : 1 })],
      addedLines: status === 'deleted' ? [] : [{ path, line: 1, text: '*.ts -diff' }],
    });
    expect(of(v, 'file-gitattributes').map((x) => x.path)).toEqual([path]);
    expect(v.allowed).toBe(false);
  });

  test('a rename to or from .gitattributes is caught on either side', async () => {
    const v = await judge({
      files: [file('src/x.txt', { status: 'renamed', oldPath: 'src/.gitattributes', linesAdded: 0 })],
      addedLines: [],
    });
    expect(of(v, 'file-gitattributes').map((x) => x.path)).toEqual(['src/.gitattributes']);
  });

  test('a name that merely contains it is not; the policy can allow it', async () => {
    const near = await judge({
      files: [file('docs/gitattributes.md'), file('src/.gitattributes.bak')],
      addedLines: [],
    });
    expect(of(near, 'file-gitattributes')).toEqual([]);
    const allowed = { ...OPEN, fileKinds: { ...OPEN.fileKinds, allowGitAttributes: true } };
    const v = await judge({ files: [file('.gitattributes')], addedLines: [] }, allowed);
    expect(of(v, 'file-gitattributes')).toEqual([]);
  });
});

describe('change-unapplicable', () => {
  test("blocks with git's reason whatever the rest of the facts say", async () => {
    const v = await judge({
      files: [file('docs/a.md')],
      addedLines: [{ path: 'docs/a.md', line: 1, text: 'fine' }],
      unapplicable: "error: affected file 'src/link/x.js' is beyond a symbolic link",
    });
    expect(v.allowed).toBe(false);
    expect(of(v, 'change-unapplicable')[0]?.message).toContain('beyond a symbolic link');
  });

  test('absent: nothing to say', async () => {
    const v = await judge({
      files: [file('docs/a.md')],
      addedLines: [{ path: 'docs/a.md', line: 1, text: 'x' }],
    });
    expect(of(v, 'change-unapplicable')).toEqual([]);
    expect(v.allowed).toBe(true);
  });
});
