/** src/rails/glob.ts: minimatch's answers, compiled once per list, fast paths checked against minimatch. */
import fc from 'fast-check';
import { minimatch } from 'minimatch';
import { compileGlobs, GLOB_OPTIONS, GlobError, pathInfo, type GlobMode } from '../src/rails/glob.js';
import {
  DEFAULT_COMMAND_PATHS,
  DEFAULT_DEPENDENCY_PATHS,
  DEFAULT_RISK_RUBRIC,
  DEFAULT_SECRET_PATHS,
  DEFAULT_SELF_PROTECTED_PATHS,
  DEFAULT_TEST_PATHS,
} from '../src/rails/policy.js';
import {
  fold,
  findHidden,
  hasNonAscii,
  lookalike,
  sameName,
  skeleton,
  skeletonGlob,
} from '../src/rails/unicode.js';

const MODES: GlobMode[] = ['allow', 'catch'];

/**
 * What minimatch itself says: the index of the first glob matching `path`, or -1; in catch mode a path with
 * a non-ASCII character also matches a glob when its folded skeleton matches the glob's skeleton.
 */
const reference = (globs: readonly string[], path: string, mode: GlobMode): number =>
  globs.findIndex(
    (g) =>
      minimatch(path, g, GLOB_OPTIONS[mode]) ||
      (mode === 'catch' &&
        hasNonAscii(path) &&
        minimatch(lookalike(path), skeletonGlob(g), GLOB_OPTIONS[mode])),
  );

const PATH_SEGMENTS = [
  'a',
  'A',
  'b',
  'docs',
  'Docs',
  '.github',
  '.git',
  'package.json',
  'x.md',
  'X.MD',
  '.md',
  'md',
  '.env',
  '.env.local',
  'auth',
  'oauth.ts',
  'prompts',
  'persona',
  '__tests__',
  'a.test.ts',
  'x.config.js',
  'Dockerfile.dev',
  'dockerfile',
  'requirements-dev.txt',
  'y_test.go',
  '..',
  '.',
  '',
  'foo bar',
  'é',
  '.g\u0131thub',
  '.g\u0456thub',
  'D\u043ecs',
  'Stra\u00dfe',
  '\ufb01le.md',
  '\u212aey',
  'mak\u0435file',
  'a\\b',
  'a\nb',
  'ab.c.d',
];
const GLOB_SEGMENTS = [
  'a',
  'A',
  '*',
  '**',
  'docs',
  '*.md',
  '*.MD',
  '.env*',
  '*auth*',
  'prompts',
  '.github',
  'package.json',
  '*.test.*',
  '__tests__',
  'x*',
  '*x',
  '{a,b}',
  '{*.md,docs}',
  '?',
  '[ab]',
  'Dockerfile*',
  '*.config.*',
  '.*',
  '*.*',
  'a*b*c',
  'requirements*.txt',
  '*_test.go',
  '+(a|b)',
  'é',
  '.github',
  'Strasse',
  'Makefile',
  '[Mm]akefile',
  '?(a|b)',
  '[!a]',
  'file.*',
  'KEY',
];
const pathArb = fc
  .array(fc.constantFrom(...PATH_SEGMENTS), { minLength: 1, maxLength: 5 })
  .map((s) => s.join('/'));
const globArb = fc
  .array(fc.constantFrom(...GLOB_SEGMENTS), { minLength: 1, maxLength: 4 })
  .map((s) => s.join('/'));

describe("compileGlobs gives minimatch's answer", () => {
  test.each(MODES)('%s mode, on generated globs and paths', (mode) => {
    fc.assert(
      fc.property(
        fc.array(globArb, { minLength: 1, maxLength: 6 }),
        fc.array(pathArb, { minLength: 1, maxLength: 8 }),
        (globs, paths) => {
          const set = compileGlobs(globs, mode);
          for (const path of paths) {
            expect([globs, path, set.firstMatch(path)]).toEqual([globs, path, reference(globs, path, mode)]);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  const DEFAULT_LISTS = {
    testPaths: DEFAULT_TEST_PATHS,
    dependencyPaths: DEFAULT_DEPENDENCY_PATHS,
    secretPaths: DEFAULT_SECRET_PATHS,
    commandPaths: DEFAULT_COMMAND_PATHS,
    selfProtectedPaths: DEFAULT_SELF_PROTECTED_PATHS,
    rubric: DEFAULT_RISK_RUBRIC.paths.map((e) => e.glob),
  };
  const REAL_PATHS = [
    'package.json',
    'apps/web/Package.json',
    'src/index.ts',
    'src/auth/login.ts',
    'docs/oauth.md',
    '.env',
    'config/.env.production',
    'keys/id_rsa.pub',
    'scripts/deploy.sh',
    '.github/workflows/ci.yml',
    'docker/Dockerfile',
    'src/__tests__/a.test.ts',
    'tests/unit/x.py',
    'pkg/y_test.go',
    'requirements/dev.txt',
    'src/rails/evaluate.ts',
    'CODEOWNERS',
    '.github/CODEOWNERS',
    'db/migrations/001.sql',
    'tsconfig.build.json',
    'a/b/c/d/e/f.md',
    '.husky/pre-commit',
    'vendor/x/.npmrc',
    'Makefile',
    'lib/x.mk',
    'bin/tool',
  ];
  test.each(Object.entries(DEFAULT_LISTS))(
    'the default %s, in both modes, on real-looking paths',
    (_, globs) => {
      for (const mode of MODES) {
        const set = compileGlobs(globs, mode);
        for (const path of REAL_PATHS) {
          expect([mode, path, set.firstMatch(path)]).toEqual([mode, path, reference(globs, path, mode)]);
        }
      }
    },
  );

  test('catch mode: case-insensitive, and a glob without "/" matches the name at any depth', () => {
    const set = compileGlobs(['.env*', 'secrets/**'], 'catch');
    expect(['.ENV', 'a/b/.env.local', 'Secrets/x', 'a/secrets/x'].map((p) => set.firstMatch(p))).toEqual([
      0, 0, 1, -1,
    ]);
    const allow = compileGlobs(['.env*', 'secrets/**'], 'allow');
    expect(['.ENV', 'a/b/.env.local', 'Secrets/x', '.env'].map((p) => allow.firstMatch(p))).toEqual([
      -1, -1, -1, 0,
    ]);
  });

  test('firstGlob, matches and a PathInfo argument agree', () => {
    const set = compileGlobs(['docs/**', '**/*.md'], 'allow');
    expect(set.firstGlob('docs/a.md')).toBe('docs/**');
    expect(set.firstGlob('x/a.md')).toBe('**/*.md');
    expect(set.firstGlob('x/a.txt')).toBeUndefined();
    expect(set.matches(pathInfo('x/a.md'))).toBe(true);
  });
});

describe('catch mode: Unicode look-alikes and case folding (issue #7 class 9)', () => {
  const blocked = compileGlobs(['.github/**', 'secrets/**', '**/Makefile', '.env*'], 'catch');
  test.each([
    ['.g\u0131thub/workflows/ci.yml', '.github/**', 'dotless i (Windows upper-cases it to .GITHUB)'],
    ['.g\u0456thub/workflows/ci.yml', '.github/**', 'Cyrillic i'],
    ['.GİTHUB/x.yml', '.github/**', 'dotted capital I'],
    ['.gi\u200bthub/x.yml', '.github/**', 'a zero-width space (a default ignorable)'],
    ['\uff0egithub/x.yml', '.github/**', 'a fullwidth full stop (NFKC)'],
    ['\u0455ecrets/key.txt', 'secrets/**', 'Cyrillic dze'],
    ['\u017fecrets/key.txt', 'secrets/**', 'long s'],
    ['docs/\u041cakefile', '**/Makefile', 'Cyrillic capital em'],
    ['app/.\u0435nv', '.env*', 'Cyrillic ie, at any depth'],
  ])('%s is caught by %s (%s)', (path, glob) => {
    expect(blocked.firstGlob(path)).toBe(glob);
  });

  test.each(['.github/x', 'docs/g\u00e9n\u00e9ral.md', 'src/caf\u00e9.ts', 'docs/\u4e2d\u6587.md'])(
    '%s: plain and ordinary non-ASCII paths keep their answers',
    (path) => {
      expect(blocked.firstGlob(path)).toBe(path.startsWith('.github/') ? '.github/**' : undefined);
    },
  );

  test('allow mode matches as written: no folding, no skeleton', () => {
    const allow = compileGlobs(['.github/**', 'docs/**'], 'allow');
    expect(allow.matches('.g\u0131thub/x')).toBe(false);
    expect(allow.matches('d\u043ecs/x.md')).toBe(false);
  });

  test('the look-alike key is computed once per path and only for non-ASCII paths', () => {
    expect(pathInfo('src/a.ts').lookalike).toBeUndefined();
    expect(pathInfo('a\\b').lookalike).toBeUndefined();
    expect([pathInfo('.g\u0131thub/x').lookalike?.path, pathInfo('.g\u0131thub/x').lookalike?.plain]).toEqual(
      ['.github/x', true],
    );
    expect(pathInfo('\u041cakef\u0131le').lookalike?.path).toBe('rnakefile');
  });

  test('skeletonGlob keeps the syntax and escapes prototypes that are syntax', () => {
    expect(skeletonGlob('.github/**')).toBe('.github/**');
    expect(skeletonGlob('**/*.{md,txt}')).toBe('**/*.{rnd,txt}');
    expect(skeletonGlob('.GitHub/**')).toBe('.github/**');
    expect(skeletonGlob('[ab]/?')).toBe('@(a|b)/?*');
    expect(skeletonGlob('[a-z]/[!x]')).toBe('?*/?*');
    expect(skeletonGlob('?(a|b)')).toBe('*(a|b)');
    expect(skeletonGlob('a\\*b')).toBe('a\\*b');
    expect(skeletonGlob('\u01c3x')).toBe('\\!x'); // LATIN LETTER RETROFLEX CLICK looks like "!"
  });
});

describe('unicode.ts: hidden characters, folding, skeletons, look-alike keys', () => {
  test.each([
    ['Stra\u00dfe', 'strasse', 'sharp s: SS, then ss'],
    ['\ufb01le', 'file', 'ligature (NFKC)'],
    ['\u212aey', 'key', 'Kelvin sign'],
    ['\u017fecret', 'secret', 'long s'],
    ['.G\u0131tHub', '.github', 'dotless i: upper-cased to I'],
    ['\u0130stanbul', 'istanbul', 'dotted capital I: the dot above is dropped'],
    ['\u039f\u0394\u039f\u03a3', '\u03bf\u03b4\u03bf\u03c3', 'final sigma folds to sigma'],
    ['\uff47\uff49\uff54', 'git', 'fullwidth letters'],
    ['a\u200bb\u00adc', 'abc', 'default ignorables removed'],
  ])('fold(%j) is %j (%s)', (text, folded) => {
    expect(fold(text)).toBe(folded.normalize('NFD'));
  });

  test('skeleton: UTS #39 prototypes (Cyrillic and Latin look-alikes share one)', () => {
    expect(skeleton('\u0440\u0430\u0443\u0440\u0430l')).toBe('paypal');
    expect(skeleton('g\u0456thub')).toBe('github');
    expect(skeleton('a\u200bb')).toBe('ab');
  });

  test('lookalike: case-insensitive per character, mixing small and capital look-alikes', () => {
    for (const text of ['.gIthu\u042c', '.G\u0406THU\u042c', '.g\u0131thub', '.\u0261ithub', '.GITHUB']) {
      expect([text, lookalike(text)]).toEqual([text, lookalike('.github')]);
    }
    expect(lookalike('100%')).toBe('loo%'); // % keeps its place: its prototype would add a "/"
    expect(lookalike('docs')).not.toBe(lookalike('dots'));
  });

  test('sameName: case, look-alikes and invisible characters; different names stay different', () => {
    expect(sameName('.GitHub/X.json', '.github/x.json')).toBe(true);
    expect(sameName('.g\u0131thub/x.json', '.github/x.json')).toBe(true);
    expect(sameName('.git\u200bhub/x.json', '.github/x.json')).toBe(true);
    expect(sameName('.gitlab/x.json', '.github/x.json')).toBe(false);
    expect(sameName('src/rai1s', 'src/rails')).toBe(false); // ASCII look-alikes are different names
    expect(sameName(7 as unknown as string, '7')).toBe(false);
  });

  test('findHidden: what does not show as itself, and what does', () => {
    for (const c of [
      '\u200b',
      '\u200d',
      '\u2060',
      '\u00ad',
      '\ufe0f',
      '\u3164',
      '\u00a0',
      '\u3000',
      '\u202e',
      '\t',
      '\u{e0041}',
    ]) {
      expect([c, findHidden(`a${c}b`)?.index]).toEqual([c, 1]);
    }
    for (const c of [' ', '\u00e9', '\u4e2d', '\u0131', '\u{1f642}', '-', '_']) {
      expect([c, findHidden(`a${c}b`)]).toEqual([c, undefined]);
    }
  });

  test('a glob whose look-alike key is not a glob catches every non-ASCII path (when in doubt, catch)', () => {
    const set = compileGlobs(['\u200b'], 'catch');
    expect(set.matches('docs/\u00e9.md')).toBe(true);
    expect(set.matches('docs/e.md')).toBe(false);
  });
});

describe('compiled once', () => {
  test('the same list object gives the same compiled set; a list changed in place is compiled again', () => {
    const globs = ['docs/**'];
    const first = compileGlobs(globs, 'allow');
    expect(compileGlobs(globs, 'allow')).toBe(first);
    expect(compileGlobs(globs, 'catch')).not.toBe(first);
    globs.push('src/**');
    const second = compileGlobs(globs, 'allow');
    expect(second).not.toBe(first);
    expect(second.matches('src/a.ts')).toBe(true);
    expect(first.matches('src/a.ts')).toBe(false);
  });

  test('an equal but distinct list is its own cache entry (the cache is keyed by identity)', () => {
    expect(compileGlobs(['a/**'], 'allow')).not.toBe(compileGlobs(['a/**'], 'allow'));
  });
});

describe('invalid globs', () => {
  test.each([
    [['!docs/**'], /starts with "!" \(a minimatch negation\)/],
    [['#x'], /starts with "#" \(a minimatch comment\)/],
    [[''], /a glob must be a non-empty string, got ""/],
    [[7], /a glob must be a non-empty string, got 7/],
    ['docs/**', /expected a list of globs, got string/],
  ])('%j is a GlobError naming the setting', (globs, message) => {
    expect(() => compileGlobs(globs as string[], 'catch', 'safetyRails.blockedPaths')).toThrow(GlobError);
    expect(() => compileGlobs(globs as string[], 'catch', 'safetyRails.blockedPaths')).toThrow(message);
  });

  test('a valid glob is not an error', () => {
    expect(() => compileGlobs(['**/*.{md,txt}', '[ab]/?'], 'catch')).not.toThrow();
  });
});

describe('pathInfo', () => {
  test('plain paths are split once (lower-cased copy only when needed); others are not plain', () => {
    const lower = pathInfo('src/a.ts');
    expect(lower).toEqual({
      path: 'src/a.ts',
      plain: true,
      segments: ['src', 'a.ts'],
      lowerSegments: ['src', 'a.ts'],
    });
    expect(lower.lowerSegments).toBe(lower.segments);
    expect(pathInfo('Src/A.ts').lowerSegments).toEqual(['src', 'a.ts']);
    for (const odd of ['', '/a', 'a/', 'a//b', './a', 'a/..', 'a\\b', 'é', 'a\tb']) {
      expect([odd, pathInfo(odd).plain]).toEqual([odd, false]);
    }
  });
});
