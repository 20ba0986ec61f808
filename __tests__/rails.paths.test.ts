/** Rules 1-3 of issue #3: allowed/blocked globs, path safety, file kinds. */
import { parseConfig } from '../src/config/load.js';
import { evaluate } from '../src/rails/evaluate.js';
import { policyFromConfig } from '../src/rails/policy.js';
import {
  EMPTY_CONTEXT,
  type AddedLine,
  type ChangeUnderReview,
  type FileChange,
  type RailsPolicy,
  type Verdict,
} from '../src/rails/types.js';

const SEED = policyFromConfig(parseConfig({}, 'test'));
/** Everything allowed by glob, nothing blocked by glob, risk up to 3: isolates rules 2 and 3. */
const OPEN: RailsPolicy = { ...SEED, allowedPaths: ['**'], blockedPaths: [], maxRiskLevel: 3 };

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
/** The added lines git would report for `files`: `linesAdded` lines of plain text each (binary files none). */
function addedLinesOf(files: FileChange[]): AddedLine[] {
  const lines: AddedLine[] = [];
  for (const f of files) {
    if (f.binary || !Number.isSafeInteger(f.linesAdded)) continue;
    for (let line = 1; line <= f.linesAdded; line++) lines.push({ path: f.path, line, text: `line ${line}` });
  }
  return lines;
}

/** Whole texts after the change (what the facts gatherer reads for the command rules): the added lines. */
function contentsOf(lines: readonly AddedLine[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines) out[l.path] = out[l.path] === undefined ? l.text : `${out[l.path]}\n${l.text}`;
  return out;
}

const change = (files: FileChange[]): ChangeUnderReview => {
  const addedLines = addedLinesOf(files);
  return { type: 'prompt', riskLevel: 1, facts: { files, addedLines, contents: contentsOf(addedLines) } };
};
const judge = (files: FileChange[], p: RailsPolicy = SEED): Promise<Verdict> =>
  evaluate(change(files), p, EMPTY_CONTEXT);
const ids = (v: Verdict): string[] => v.violations.map((x) => x.ruleId);

describe('path-blocked', () => {
  test('a blocked path is blocked, naming the glob and the setting; an allowed one is not', async () => {
    const v = await judge([file('.github/workflows/ci.yml')]);
    expect(v.violations).toContainEqual({
      ruleId: 'path-blocked',
      severity: 'block',
      path: '.github/workflows/ci.yml',
      message: expect.stringContaining('matches safetyRails.blockedPaths glob ".github/workflows/**"'),
    });
    expect(ids(await judge([file('docs/guide.md')]))).toEqual([]);
  });

  test('blocked wins over allowed', async () => {
    const p = { ...SEED, allowedPaths: ['docs/**'], blockedPaths: ['docs/secret/**'] };
    expect(ids(await judge([file('docs/secret/a.md')], p))).toEqual(['path-blocked']);
    expect((await judge([file('docs/public/a.md')], p)).allowed).toBe(true);
  });

  test('".env*" catches .ENV, .Env.local and a nested .env; "secrets/**" catches Secrets/', async () => {
    const p = { ...OPEN, blockedPaths: ['.env*', 'secrets/**'] };
    for (const path of ['.ENV', '.Env.local', 'apps/bot/.env.production', 'Secrets/a.md', 'SECRETS/x/y.md']) {
      const pathIds = ids(await judge([file(path)], p)).filter((x) => x.startsWith('path-'));
      expect([path, pathIds]).toEqual([path, ['path-blocked']]); // .env files also trip secret-file
    }
    expect((await judge([file('docs/environment.md')], p)).allowed).toBe(true);
  });

  test('a glob with a "/" stays anchored at the root', async () => {
    const p = { ...OPEN, blockedPaths: ['.github/workflows/**'] };
    expect(ids(await judge([file('vendor/.github/workflows/x.md')], p))).toEqual([]);
    // (workflows are self-protected too)
    expect(ids(await judge([file('.GitHub/Workflows/x.md')], p))).toEqual([
      'path-blocked',
      'self-protected-path',
    ]);
  });

  test('deleting a blocked file is blocked too; both sides of a rename or copy are checked', async () => {
    expect(ids(await judge([file('pnpm-lock.yaml', { status: 'deleted', newMode: '000000' })]))).toContain(
      'path-blocked',
    );
    const renamed = file('docs/moved.md', { status: 'renamed', oldPath: 'packages/database/schema.md' });
    const v = await judge([renamed]);
    expect(v.violations).toEqual([
      {
        ruleId: 'path-blocked',
        severity: 'block',
        path: 'packages/database/schema.md',
        message: expect.stringMatching(
          /^packages\/database\/schema\.md \(renamed to docs\/moved\.md\): matches/,
        ),
      },
      {
        ruleId: 'path-not-allowed',
        severity: 'block',
        path: 'packages/database/schema.md',
        message: expect.stringContaining(
          '(renamed to docs/moved.md): no safetyRails.allowedPaths glob matches it',
        ),
      },
    ]);
    const copied = await judge([file('docs/env.md', { status: 'copied', oldPath: '.env' })]);
    expect(copied.violations[0]!.message).toContain('.env (copied to docs/env.md)');
  });
});

describe('path-not-allowed', () => {
  test('a path no allowed glob matches is blocked, listing the allowed globs; a matching one is not', async () => {
    expect((await judge([file('src/index.ts')])).violations).toEqual([
      {
        ruleId: 'path-not-allowed',
        severity: 'block',
        path: 'src/index.ts',
        message: expect.stringMatching(
          /^src\/index\.ts: no safetyRails\.allowedPaths glob matches it \(allowed: packages\/agent\/src\/tools\/\*\*, /,
        ),
      },
    ]);
    expect(ids(await judge([file('packages/agent/src/tools/new-tool.ts')]))).toEqual([]);
  });

  test('allowed globs see dot files but are case-sensitive and anchored', async () => {
    const p = { ...SEED, allowedPaths: ['docs/**'] };
    expect((await judge([file('docs/.hidden/notes.md')], p)).allowed).toBe(true);
    expect(ids(await judge([file('DOCS/notes.md')], p))).toEqual(['path-not-allowed']);
    expect(ids(await judge([file('x/docs/notes.md')], p))).toEqual(['path-not-allowed']);
  });

  test('an empty allow list allows nothing; a rename between allowed paths is one allowed file', async () => {
    expect(ids(await judge([file('docs/a.md')], { ...SEED, allowedPaths: [] }))).toEqual([
      'path-not-allowed',
    ]);
    const v = await judge([file('docs/b.md', { status: 'renamed', oldPath: 'docs/a.md', linesAdded: 0 })]);
    expect([v.allowed, v.stats.filesChanged]).toEqual([true, 1]);
  });
});

describe('path safety (no setting allows these)', () => {
  test.each<[string, string, string[]]>([
    ['path-absolute', '/etc/passwd', []],
    ['path-absolute', 'C:/Windows/win.ini', []],
    ['path-traversal', 'docs/../../etc/passwd', []],
    ['path-traversal', 'docs/./a.md', []],
    ['path-traversal', 'docs//a.md', []],
    ['path-git-internal', '.git/hooks/pre-commit', []],
    ['path-git-internal', 'sub/.GIT/config', []],
    ['path-git-internal', 'GIT~1/config', []],
    ['path-git-internal', '.git::$INDEX_ALLOCATION/config', []],
    ['path-git-internal', '.g\u200cit/config', ['path-control-char', 'path-not-nfc']],
    ['path-control-char', 'docs/a\nb.md', []],
    ['path-control-char', 'docs/\u202eevil.md', []],
    ['path-control-char', 'docs/a\u0000.md', []],
    ['path-backslash', 'docs\\a.md', []],
    ['path-not-nfc', 'docs/cafe\u0301.md', []],
    ['path-not-nfc', 'docs/\ud800.md', []],
    ['path-trailing-dot-space', 'docs/a.md.', []],
    ['path-trailing-dot-space', 'docs /a.md', []],
  ])('%s: %j', async (id, path, others) => {
    const v = await judge([file(path)], OPEN);
    expect(ids(v).filter((x) => x !== id && !others.includes(x) && !x.startsWith('path-'))).toEqual([]);
    expect(ids(v)).toContain(id);
    expect(v.allowed).toBe(false);
    const violation = v.violations.find((x) => x.ruleId === id)!;
    expect(violation.path).toBe(path);
    expect(violation.message).toContain('no setting allows this');
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    expect(violation.message).not.toMatch(/[\u0000-\u001f\u202e]/); // messages show unprintables escaped
  });

  test.each([
    'docs/a.md',
    'docs/café.md',
    '.github/self-evolution-config.json',
    '.gitignore',
    'src/.gitkeep',
    'a/git/b.md',
    'docs/v1.2/notes.md',
    'docs/…md',
    'docs/a b.md',
    '..docs/x.md',
  ])('a safe path passes every path-safety rule: %j', async (path) => {
    expect(ids(await judge([file(path)], OPEN)).filter((x) => x.startsWith('path-'))).toEqual([]);
  });

  test('the message says what was found', async () => {
    const v = await judge([file('docs/a\u202e.md')], OPEN);
    expect(v.violations).toEqual([
      {
        ruleId: 'path-control-char',
        severity: 'block',
        path: 'docs/a\u202e.md',
        message:
          'docs/a\\u{202E}.md: has the control or formatting character U+202E at position 7; a path must show what it is (no setting allows this)',
      },
    ]);
  });

  test('the old side of a rename is checked too', async () => {
    const v = await judge([file('docs/a.md', { status: 'renamed', oldPath: '../outside.md' })], OPEN);
    expect(v.violations.map((x) => [x.ruleId, x.path])).toEqual([
      ['path-not-allowed', '../outside.md'], // minimatch's "**" never matches a ".." segment
      ['path-traversal', '../outside.md'],
    ]);
  });
});

describe('file kinds', () => {
  const kinds = (extra: Partial<RailsPolicy['fileKinds']>): RailsPolicy => ({
    ...OPEN,
    fileKinds: { ...OPEN.fileKinds, ...extra },
  });

  test.each<[string, Partial<FileChange>, keyof RailsPolicy['fileKinds']]>([
    ['file-symlink', { status: 'added', oldMode: '000000', newMode: '120000' }, 'allowSymlinks'],
    ['file-symlink', { oldMode: '120000', newMode: '120000' }, 'allowSymlinks'],
    ['file-symlink', { status: 'type-changed', oldMode: '100644', newMode: '120000' }, 'allowSymlinks'],
    ['file-symlink', { status: 'type-changed', oldMode: '120000', newMode: '100644' }, 'allowSymlinks'],
    ['file-submodule', { status: 'added', oldMode: '000000', newMode: '160000' }, 'allowSubmodules'],
    ['file-submodule', { status: 'deleted', oldMode: '160000', newMode: '000000' }, 'allowSubmodules'],
    ['file-binary', { binary: true, linesAdded: 0 }, 'allowBinary'],
    ['file-executable', { status: 'added', oldMode: '000000', newMode: '100755' }, 'allowExecutable'],
    ['file-executable', { oldMode: '100644', newMode: '100755' }, 'allowExecutable'],
    ['file-executable', { newMode: '100777' }, 'allowExecutable'],
  ])('%s for %j, unless %s', async (id, facts, flag) => {
    const blocked = await judge([file('docs/thing.md', facts)], OPEN);
    expect(ids(blocked).filter((x) => x.startsWith('file-'))).toEqual([id]);
    expect(blocked.violations.find((x) => x.ruleId === id)!.message).toContain(
      `safetyRails.fileKinds.${flag} = true allows it`,
    );
    const allowed = await judge([file('docs/thing.md', facts)], kinds({ [flag]: true }));
    expect(ids(allowed).filter((x) => x.startsWith('file-'))).toEqual([]);
  });

  test('ordinary changes trip no file-kind rule', async () => {
    for (const facts of [
      {},
      { status: 'deleted', newMode: '000000' },
      { status: 'deleted', oldMode: '120000', newMode: '000000' },
      { oldMode: '100755', newMode: '100755' },
      { oldMode: '100755', newMode: '100644' },
      { status: 'renamed', oldPath: 'docs/old.md', oldMode: '100755', newMode: '100755' },
    ] as Partial<FileChange>[]) {
      expect([
        facts,
        ids(await judge([file('docs/thing.md', facts)], OPEN)).filter((x) => x.startsWith('file-')),
      ]).toEqual([facts, []]);
    }
  });

  test('the messages say what happened', async () => {
    const v = await judge(
      [
        file('docs/link.md', { status: 'added', oldMode: '000000', newMode: '120000' }),
        file('docs/run.md', { status: 'added', oldMode: '000000', newMode: '100755' }),
      ],
      OPEN,
    );
    expect(v.violations.filter((x) => x.ruleId.startsWith('file-')).map((x) => x.message)).toEqual([
      'docs/link.md: creates a symlink (mode 120000); a symlink can point outside the repository (safetyRails.fileKinds.allowSymlinks = true allows it)',
      'docs/run.md: becomes executable (a new executable file) (safetyRails.fileKinds.allowExecutable = true allows it)',
    ]);
  });
});
