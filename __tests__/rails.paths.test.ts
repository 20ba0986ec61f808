/**
 * Rules 1-3 of issue #3: allowed/blocked globs, path safety, file kinds; and issue #7's classes 7 (paths
 * judged at the file they name through the base's symbolic links) and 9 (Unicode in paths: hidden
 * characters, case folding and look-alikes against catch lists).
 */
import fc from 'fast-check';
import { parseConfig } from '../src/config/load.js';
import { V0_ALLOWED_PATHS } from '../src/config/schema.js';
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

/** The defaults, with the allowed paths of the v0 config these tests were written for. */
const SEED = policyFromConfig(parseConfig({ safetyRails: { allowedPaths: [...V0_ALLOWED_PATHS] } }, 'test'));
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

describe('the default allowedPaths (a config without them)', () => {
  const DEFAULTS = policyFromConfig(parseConfig({}, 'test'));

  test('allow only Markdown under docs/ and Markdown or text in prompts folders', async () => {
    for (const path of ['docs/guide.md', 'docs/a/b.md', 'prompts/system.md', 'src/agent/prompts/greet.txt']) {
      expect([path, ids(await judge([file(path)], DEFAULTS))]).toEqual([path, []]);
    }
    for (const path of [
      'src/index.ts',
      'README.md',
      '.github/copilot-instructions.md',
      'src/agent/prompts/load.ts',
      'packages/agent/src/tools/t.ts',
      'apps/bot/src/persona/tone.json',
      'docs/build.sh',
    ]) {
      expect([path, ids(await judge([file(path)], DEFAULTS)).includes('path-not-allowed')]).toEqual([
        path,
        true,
      ]);
    }
  });
});

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
          'docs/a\\u{202E}.md: has the invisible, control or formatting character U+202E at position 7; a path must show what it is (no setting allows this)',
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

describe('Unicode in paths (issue #7 class 9)', () => {
  test.each([
    ['src/to\u200bol.ts', 'U+200B', 'zero-width space'],
    ['src/to\u200dol.ts', 'U+200D', 'zero-width joiner'],
    ['src/to\u2060ol.ts', 'U+2060', 'word joiner'],
    ['src/to\u00adol.ts', 'U+00AD', 'soft hyphen'],
    ['src/tool\ufe0f.ts', 'U+FE0F', 'variation selector'],
    ['src/tool\u{e0041}.ts', 'U+E0041', 'tag character'],
    ['src/to\u3164ol.ts', 'U+3164', 'Hangul filler'],
    ['src/to\u034fol.ts', 'U+034F', 'combining grapheme joiner'],
    ['src/my\u00a0tool.ts', 'U+00A0', 'no-break space'],
    ['src/my\u3000tool.ts', 'U+3000', 'ideographic space'],
    ['src/\u2066tool.ts', 'U+2066', 'bidi isolate'],
    ['src/\u061ctool.ts', 'U+061C', 'Arabic letter mark'],
    ['src/tool.ts\u180e', 'U+180E', 'Mongolian vowel separator'],
  ])('path-control-char blocks %j (%s, %s)', async (path, code) => {
    const v = await judge([file(path)], OPEN);
    const violation = v.violations.find((x) => x.ruleId === 'path-control-char');
    expect(violation?.message).toContain(`character ${code} at position`);
    expect(violation?.message).toContain(`\\u{${code.slice(2)}}`); // shown escaped
    expect(v.allowed).toBe(false);
  });

  test.each(['docs/café.md', 'docs/中文.md', 'docs/Ελληνικά.md', 'docs/a-b_c.d.md', 'docs/naïve résumé.md'])(
    'ordinary non-ASCII letters are not hidden characters: %j',
    async (path) => {
      expect(ids(await judge([file(path)], OPEN)).filter((x) => x.startsWith('path-'))).toEqual([]);
    },
  );

  const BLOCK_GITHUB: RailsPolicy = { ...OPEN, blockedPaths: ['.github/**', 'secrets/**'] };
  test.each([
    ['.g\u0131thub/workflows/x.yml', 'dotless i: Windows upper-cases it to .GITHUB'],
    ['.g\u0456thub/workflows/x.yml', 'Cyrillic i'],
    ['.G\u0406THUB/workflows/x.yml', 'Cyrillic capital I'],
    ['.\u0261ithub/workflows/x.yml', 'Latin script g'],
    ['\u0455ecrets/key.txt', 'Cyrillic dze'],
    ['\u017fecrets/key.txt', 'long s (NFKC)'],
    ['SECRETS\u200b/key.txt', 'a zero-width space inside'],
  ])('path-blocked catches %j (%s) with allowedPaths ["**"]', async (path) => {
    const v = await judge([file(path)], BLOCK_GITHUB);
    expect(ids(v)).toContain('path-blocked');
    expect(v.allowed).toBe(false);
  });

  test('look-alikes do not widen a list that permits: allowed globs match as written', async () => {
    const p = { ...SEED, allowedPaths: ['docs/**'] };
    expect(ids(await judge([file('d\u043ecs/a.md')], p))).toContain('path-not-allowed');
  });

  test.each(['.g\u0131t/config', '.g\u0456t/hooks/pre-commit', '\uff0egit/config', 'sub/.GİT/config'])(
    'path-git-internal reads %j as .git',
    async (path) => {
      expect(ids(await judge([file(path)], OPEN))).toContain('path-git-internal');
    },
  );

  // docs/rails.md: "case, look-alike letters, invisible characters and compatibility forms do not hide a
  // blocked or self-protected path". Each character of a blocked path may be replaced by a look-alike or
  // another case, and invisible characters inserted anywhere: the change stays blocked.
  const LOOKALIKE: Record<string, string[]> = {
    g: ['g', 'G', '\u0261', '\uff47'],
    i: ['i', 'I', '\u0131', '\u0456', '\u0406', '\u0130', '\uff49'],
    t: ['t', 'T', '\uff54'],
    h: ['h', 'H', '\u04bb', '\uff48'],
    u: ['u', 'U', '\u057d', '\uff55'],
    b: ['b', 'B', '\u042c', '\uff42'],
    '.': ['.', '\uff0e'],
    s: ['s', 'S', '\u0455', '\u017f', '\uff53'],
    e: ['e', 'E', '\u0435', '\uff45'],
    c: ['c', 'C', '\u0441', '\u217d'],
    r: ['r', 'R', '\u0433', '\uff52'],
    k: ['k', 'K', '\u212a'],
    w: ['w', 'W', '\u051d'],
    o: ['o', 'O', '\u043e', '\u03bf'],
    f: ['f', 'F', '\uff46'],
    l: ['l', 'L', '\u217c'],
    y: ['y', 'Y', '\u0443'],
    m: ['m', 'M', '\u041c', '\uff4d'],
  };
  const INVISIBLE = ['', '', '', '\u200b', '\u200c', '\u200d', '\u2060', '\u00ad', '\ufe0f', '\u034f'];
  const disguise = (path: string): fc.Arbitrary<string> =>
    fc
      .tuple(
        ...[...path].map((c) =>
          fc.tuple(fc.constantFrom(...(LOOKALIKE[c.toLowerCase()] ?? [c])), fc.constantFrom(...INVISIBLE)),
        ),
      )
      .map((parts) => parts.map(([c, hidden]) => c + hidden).join(''));
  test.each(['.github/workflows/ci.yml', 'secrets/key.txt', 'docs/Makefile'])(
    'property: look-alikes, case and invisible characters do not hide %j',
    async (path) => {
      const p: RailsPolicy = { ...OPEN, blockedPaths: ['.github/**', 'secrets/**', '**/Makefile'] };
      await fc.assert(
        fc.asyncProperty(disguise(path), async (disguised) => {
          const v = await judge([file(disguised)], p);
          expect([disguised, ids(v).includes('path-blocked')]).toEqual([disguised, true]);
          if (path.startsWith('.github/')) {
            expect([disguised, ids(v).includes('self-protected-path')]).toEqual([disguised, true]);
          }
        }),
        { numRuns: 300 },
      );
    },
  );
});

describe('symbolic links of the base (issue #7 class 7)', () => {
  const linked = (files: FileChange[], baseSymlinks: Record<string, string>): ChangeUnderReview => ({
    ...change(files),
    facts: { ...change(files).facts, baseSymlinks },
  });
  const judgeLinked = (
    files: FileChange[],
    baseSymlinks: Record<string, string>,
    p: RailsPolicy = OPEN,
  ): Promise<Verdict> => evaluate(linked(files, baseSymlinks), p, EMPTY_CONTEXT);

  test('a path under a linked directory is judged at the file it names', async () => {
    const p = { ...OPEN, blockedPaths: ['.github/**'] };
    const v = await judgeLinked([file('src/link/actions/setup/index.js')], { 'src/link': '../.github' }, p);
    expect(v.violations).toContainEqual({
      ruleId: 'path-blocked',
      severity: 'block',
      path: 'src/link/actions/setup/index.js',
      message: expect.stringContaining(
        'src/link/actions/setup/index.js (really .github/actions/setup/index.js, through the symbolic link src/link -> ../.github): matches safetyRails.blockedPaths glob ".github/**"',
      ),
    });
    expect(ids(v)).toContain('self-protected-path');
  });

  test('the target must be allowed too', async () => {
    const p = { ...SEED, allowedPaths: ['docs/**'], blockedPaths: [] };
    const v = await judgeLinked([file('docs/more/notes.md')], { 'docs/more': '../infra' }, p);
    expect(v.violations.filter((x) => x.ruleId === 'path-not-allowed').map((x) => x.message)).toEqual([
      'docs/more/notes.md (really infra/notes.md, through the symbolic link docs/more -> ../infra): no safetyRails.allowedPaths glob matches it (allowed: docs/**)',
    ]);
  });

  test('a file a protected link points to is protected: the policy file as a link', async () => {
    const v = await judgeLinked([file('src/policy.json')], {
      '.github/self-evolution-config.json': '../src/policy.json',
    });
    const found = v.violations.filter(
      (x) => x.ruleId === 'self-protected-path' || x.ruleId === 'policy-loosened',
    );
    expect(found.map((x) => [x.ruleId, x.path, x.message.split(':')[0]])).toEqual([
      [
        'self-protected-path',
        'src/policy.json',
        'src/policy.json (the target of .github/self-evolution-config.json)',
      ],
      [
        'policy-loosened',
        'src/policy.json',
        'src/policy.json (the target of .github/self-evolution-config.json)',
      ],
    ]);
  });

  test('a file under a directory a protected link points to is protected, through chains of links', async () => {
    const links = { '.github/actions': '../tools/gh', 'tools/gh': '../lib/actions' };
    const v = await judgeLinked([file('lib/actions/setup/index.js')], links);
    const messages = v.violations.filter((x) => x.ruleId === 'self-protected-path').map((x) => x.message);
    expect(messages).toEqual([
      expect.stringContaining(
        'lib/actions/setup/index.js (also .github/actions/setup/index.js, through the symbolic link .github/actions): is self-protected (glob ".github/**"',
      ),
    ]);
  });

  test('names through chains of directory links are found (breadth first)', async () => {
    const links = { '.github': 'config/gh', 'config/gh/workflows': '../../ci/wf' };
    const v = await judgeLinked([file('ci/wf/deploy.yml')], links);
    expect(v.violations.filter((x) => x.ruleId === 'self-protected-path').map((x) => x.message)).toEqual([
      expect.stringContaining(
        'ci/wf/deploy.yml (also .github/workflows/deploy.yml, through the symbolic link .github): is self-protected',
      ),
    ]);
  });

  test('a link renamed away no longer leads anywhere: a new directory of that name is judged as itself', async () => {
    const v = await judgeLinked(
      [
        file('src/gh-old', { status: 'renamed', oldPath: 'src/gh', oldMode: '120000', newMode: '120000' }),
        file('src/gh/x.ts', { status: 'added', oldMode: '000000' }),
      ],
      { 'src/gh': '../.github' },
    );
    expect(ids(v)).toEqual(['file-symlink']);
  });

  test('the names a base gives a file are not judged for path safety: the change does not write them', async () => {
    const v = await judgeLinked([file('docs/b.md')], { 'docs/a\u200b.md': 'b.md', 'docs\\c.md': 'b.md' });
    expect(ids(v)).toEqual([]);
  });

  test('links that lead outside the repository or round in a loop block', async () => {
    const outside = await judgeLinked([file('src/ext/x.ts')], { 'src/ext': '../../etc' });
    expect(outside.violations.find((x) => x.ruleId === 'path-traversal')?.message).toBe(
      'src/ext/x.ts (leads outside the repository, to ../etc/x.ts, through the symbolic link src/ext -> ../../etc): has a ".." segment, which can reach outside the repository (no setting allows this)',
    );
    const absolute = await judgeLinked([file('src/abs/x.ts')], { 'src/abs': '/etc' });
    expect(ids(absolute)).toContain('path-absolute');
    const loop = await judgeLinked([file('a/x.ts')], { a: 'b', b: 'a' });
    expect(loop.violations.find((x) => x.ruleId === 'path-traversal')?.message).toMatch(
      /^a\/x\.ts \(its symbolic links go round in a loop: a -> b, b -> a, a -> b and \d+ more\): cannot be resolved/,
    );
  });

  test('a link into .git is git-internal', async () => {
    const v = await judgeLinked([file('tools/hooks/pre-commit')], { tools: '.git' });
    expect(ids(v)).toContain('path-git-internal');
  });

  test('a change to a link itself is not a change to its target; a link the change removes leads nowhere', async () => {
    const links = { 'docs/ci.yml': '../.github/workflows/ci.yml', 'src/gh': '../.github' };
    const retarget = await judgeLinked(
      [file('docs/ci.yml', { oldMode: '120000', newMode: '120000' })],
      links,
    );
    expect(ids(retarget).filter((x) => x !== 'file-symlink')).toEqual([]);
    const replaced = await judgeLinked(
      [
        file('src/gh', { status: 'deleted', oldMode: '120000', newMode: '000000', linesAdded: 0 }),
        file('src/gh/x.ts', { status: 'added', oldMode: '000000' }),
      ],
      links,
    );
    expect(ids(replaced)).toEqual([]);
  });

  test('a file that merely has another name through a link is allowed when it is', async () => {
    // base: docs/current.md -> guide.md; editing docs/guide.md is fine under docs/**
    const p = { ...SEED, allowedPaths: ['docs/**'], blockedPaths: [] };
    expect((await judgeLinked([file('docs/guide.md')], { 'docs/current.md': 'guide.md' }, p)).allowed).toBe(
      true,
    );
    // an alias outside the allowed paths does not block: the change writes docs/guide.md
    expect((await judgeLinked([file('docs/guide.md')], { 'README.md': 'docs/guide.md' }, p)).allowed).toBe(
      true,
    );
  });

  test('copying what a secret-named link holds is reading a secret', async () => {
    const v = await judgeLinked(
      [file('docs/settings.txt', { status: 'added', oldMode: '000000', copyOf: ['config/app.txt'] })],
      { '.env.local': 'config/app.txt' },
    );
    expect(ids(v)).toContain('secret-file');
  });

  test('without baseSymlinks nothing changes, and a bad baseSymlinks blocks as rule-error', async () => {
    expect(ids(await judge([file('src/policy.json')], OPEN))).toEqual([]);
    const bad = await evaluate(
      {
        ...change([file('docs/a.md')]),
        facts: { ...change([file('docs/a.md')]).facts, baseSymlinks: 'x' as never },
      },
      OPEN,
      EMPTY_CONTEXT,
    );
    expect(ids(bad)).toContain('rule-error');
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
      `set safetyRails.fileKinds.${flag} to true to allow it`,
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
      'docs/link.md: creates a symlink (mode 120000); a symlink can point outside the repository (set safetyRails.fileKinds.allowSymlinks to true to allow it)',
      'docs/run.md: becomes executable (a new executable file) (set safetyRails.fileKinds.allowExecutable to true to allow it)',
    ]);
  });
});
