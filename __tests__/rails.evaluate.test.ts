import { parseConfig } from '../src/config/load.js';
import { changeStats, evaluate, RULES } from '../src/rails/evaluate.js';
import { policyFromConfig } from '../src/rails/policy.js';
import type { ChangeUnderReview, FileChange, RailsPolicy, Verdict } from '../src/rails/types.js';

/** The seed 004 policy (config defaults). */
const SEED = policyFromConfig(parseConfig({}, 'test'));

/** A modified text file with `added`/`deleted` lines. */
function file(path: string, added = 1, deleted = 0, extra: Partial<FileChange> = {}): FileChange {
  return {
    path,
    status: 'modified',
    oldMode: '100644',
    newMode: '100644',
    binary: false,
    linesAdded: added,
    linesDeleted: deleted,
    ...extra,
  };
}

function change(
  files: FileChange[],
  extra: Partial<Omit<ChangeUnderReview, 'facts'>> = {},
): ChangeUnderReview {
  return { type: 'prompt', riskLevel: 1, facts: { files }, ...extra };
}

function policy(extra: Partial<RailsPolicy> = {}): RailsPolicy {
  return { ...SEED, ...extra };
}

const ids = (v: Verdict): string[] => v.violations.map((x) => x.ruleId);

/** A change the seed policy allows. */
const OK = change([file('docs/guide.md', 10, 2)]);

test('a small change in an allowed path is allowed', () => {
  const v = evaluate(OK, SEED);
  expect(v).toEqual({
    allowed: true,
    violations: [],
    stats: { filesChanged: 1, linesAdded: 10, linesDeleted: 2, binaryFiles: 0 },
  });
});

describe('path-blocked', () => {
  test('a blocked path is blocked; an allowed one is not', () => {
    const v = evaluate(change([file('.github/workflows/ci.yml')]), SEED);
    expect(v.allowed).toBe(false);
    expect(v.violations).toContainEqual({
      ruleId: 'path-blocked',
      path: '.github/workflows/ci.yml',
      message: expect.stringContaining('matches safetyRails.blockedPaths glob ".github/workflows/**"'),
    });
    expect(ids(evaluate(OK, SEED))).not.toContain('path-blocked');
  });

  test('blocked wins over allowed', () => {
    const p = policy({ allowedPaths: ['docs/**'], blockedPaths: ['docs/secret/**'] });
    const v = evaluate(change([file('docs/secret/a.md')]), p);
    expect(v.allowed).toBe(false);
    expect(ids(v)).toEqual(['path-blocked']);
    expect(evaluate(change([file('docs/public/a.md')]), p).allowed).toBe(true);
  });

  test('".env*" catches .ENV, .Env.local and a nested .env (case-insensitive, base name at any depth)', () => {
    const p = policy({ allowedPaths: ['**'] });
    for (const path of ['.ENV', '.Env.local', '.env', 'apps/bot/.env.production']) {
      expect([path, ids(evaluate(change([file(path)]), p))]).toEqual([path, ['path-blocked']]);
    }
    expect(evaluate(change([file('docs/environment.md')]), p).allowed).toBe(true);
  });

  test('a glob with a "/" is anchored at the root, also for blocked paths', () => {
    const p = policy({ allowedPaths: ['**'] });
    expect(ids(evaluate(change([file('vendor/.github/workflows/x.yml')]), p))).toEqual([]);
    expect(ids(evaluate(change([file('.GitHub/Workflows/x.yml')]), p))).toEqual(['path-blocked']);
  });

  test('deleting a blocked file is blocked too', () => {
    const v = evaluate(
      change([file('pnpm-lock.yaml', 0, 40, { status: 'deleted', newMode: '000000' })]),
      SEED,
    );
    expect(ids(v)).toContain('path-blocked');
  });
});

describe('path-not-allowed', () => {
  test('a path no allowed glob matches is blocked; a matching one is not', () => {
    const v = evaluate(change([file('src/index.ts')]), SEED);
    expect(v.violations).toEqual([
      {
        ruleId: 'path-not-allowed',
        path: 'src/index.ts',
        message: expect.stringContaining('src/index.ts: no safetyRails.allowedPaths glob matches it'),
      },
    ]);
    expect(ids(evaluate(change([file('packages/agent/src/tools/new-tool.ts')]), SEED))).toEqual([]);
  });

  test('allowed globs see dot files but are case-sensitive', () => {
    const p = policy({ allowedPaths: ['docs/**'] });
    expect(evaluate(change([file('docs/.hidden/notes.md')]), p).allowed).toBe(true);
    expect(ids(evaluate(change([file('DOCS/notes.md')]), p))).toEqual(['path-not-allowed']);
  });

  test('an empty allow list allows nothing', () => {
    expect(ids(evaluate(OK, policy({ allowedPaths: [] })))).toEqual(['path-not-allowed']);
  });
});

describe('renames and copies', () => {
  test('both sides are checked and each is reported', () => {
    const renamed = file('docs/moved.md', 0, 0, {
      status: 'renamed',
      oldPath: 'packages/database/schema.sql',
    });
    const v = evaluate(change([renamed]), SEED);
    expect(v.violations).toEqual([
      {
        ruleId: 'path-blocked',
        path: 'packages/database/schema.sql',
        message: expect.stringContaining('packages/database/schema.sql (renamed to docs/moved.md): matches'),
      },
      {
        ruleId: 'path-not-allowed',
        path: 'packages/database/schema.sql',
        message: expect.stringContaining('(renamed to docs/moved.md)'),
      },
    ]);
  });

  test('the new side of a rename is checked too', () => {
    const renamed = file('src/x.ts', 0, 0, { status: 'renamed', oldPath: 'docs/x.md' });
    expect(evaluate(change([renamed]), SEED).violations).toEqual([
      { ruleId: 'path-not-allowed', path: 'src/x.ts', message: expect.any(String) },
    ]);
  });

  test('copying out of a blocked path is blocked', () => {
    const copied = file('docs/env.md', 3, 0, { status: 'copied', oldPath: '.env' });
    const v = evaluate(change([copied]), SEED);
    expect(v.violations.map((x) => [x.ruleId, x.path])).toEqual([
      ['path-blocked', '.env'],
      ['path-not-allowed', '.env'],
    ]);
    expect(v.violations[0]!.message).toContain('.env (copied to docs/env.md)');
  });

  test('a rename between allowed paths is allowed and counts as one file', () => {
    const v = evaluate(change([file('docs/b.md', 0, 0, { status: 'renamed', oldPath: 'docs/a.md' })]), SEED);
    expect(v.allowed).toBe(true);
    expect(v.stats.filesChanged).toBe(1);
  });
});

describe('diff-max-files', () => {
  const files = (n: number): FileChange[] => Array.from({ length: n }, (_, i) => file(`docs/f${i}.md`));

  test('more files than maxFilesChanged is blocked; exactly the cap is not', () => {
    const v = evaluate(change(files(11)), SEED);
    expect(v.violations).toEqual([
      {
        ruleId: 'diff-max-files',
        message: '11 files changed (0 binary) exceeds safetyRails.diffCaps.maxFilesChanged = 10',
      },
    ]);
    expect(evaluate(change(files(10)), SEED).allowed).toBe(true);
  });

  test('binary files count as files', () => {
    const binary = file('docs/img.md', 0, 0, { binary: true });
    const v = evaluate(change([...files(10), binary]), SEED);
    expect(ids(v)).toEqual(['diff-max-files']);
    expect(v.violations[0]!.message).toContain('11 files changed (1 binary)');
    expect(v.stats).toEqual({ filesChanged: 11, linesAdded: 10, linesDeleted: 0, binaryFiles: 1 });
  });
});

describe('diff-max-lines', () => {
  test('added + deleted above the cap is blocked, with the numbers and the setting', () => {
    const v = evaluate(change([file('docs/x.md', 600, 12)]), SEED);
    expect(v.violations).toEqual([
      {
        ruleId: 'diff-max-lines',
        path: 'docs/x.md',
        message:
          'docs/x.md: 612 lines changed (added 600 + deleted 12) exceeds safetyRails.diffCaps.maxLinesOfCode = 500',
      },
    ]);
  });

  test('exactly the cap is allowed; the sum over files counts', () => {
    expect(evaluate(change([file('docs/a.md', 250, 0), file('docs/b.md', 0, 250)]), SEED).allowed).toBe(true);
    const v = evaluate(change([file('docs/a.md', 250, 0), file('docs/b.md', 1, 250)]), SEED);
    expect(v.violations).toEqual([
      {
        ruleId: 'diff-max-lines',
        message:
          '501 lines changed (added 251 + deleted 250) exceeds safetyRails.diffCaps.maxLinesOfCode = 500; largest: docs/b.md 251, docs/a.md 250',
      },
    ]);
  });

  test('a line count that is not a whole number >= 0 is blocked, not treated as small', () => {
    const v = evaluate(change([file('docs/a.md', Number.NaN, -1)]), SEED);
    expect(v.violations).toEqual([
      {
        ruleId: 'diff-max-lines',
        path: 'docs/a.md',
        message: expect.stringContaining('not whole numbers >= 0'),
      },
    ]);
    expect(v.stats.linesAdded).toBe(0);
  });
});

describe('risk-above-max and risk-invalid', () => {
  test('risk above maxRiskLevel is blocked; at the max it is not', () => {
    const v = evaluate(change([file('docs/a.md')], { riskLevel: 3 }), SEED);
    expect(v.violations).toEqual([
      { ruleId: 'risk-above-max', message: 'stated risk level 3 exceeds safetyRails.maxRiskLevel = 2' },
    ]);
    expect(evaluate(change([file('docs/a.md')], { riskLevel: 2 }), SEED).allowed).toBe(true);
    expect(evaluate(change([file('docs/a.md')], { riskLevel: 0 }), SEED).allowed).toBe(true);
  });

  test.each([[-1], [6], [1.5], [Number.NaN]])('risk level %p is invalid', (riskLevel) => {
    const v = evaluate(change([file('docs/a.md')], { riskLevel }), policy({ maxRiskLevel: 5 }));
    expect(ids(v)).toEqual(riskLevel === 6 ? ['risk-invalid', 'risk-above-max'] : ['risk-invalid']);
    expect(v.violations[0]!.message).toContain('is not an integer 0..5');
  });

  test('a risk level that is not a number is invalid', () => {
    const v = evaluate(change([file('docs/a.md')], { riskLevel: '1' as unknown as number }), SEED);
    expect(v.violations).toEqual([
      {
        ruleId: 'risk-invalid',
        message: expect.stringContaining('stated risk level "1" is not an integer 0..5'),
      },
    ]);
  });
});

describe('change-type-not-allowed', () => {
  test('a type missing from allowedChangeTypes is blocked; a listed one is not', () => {
    const p = policy({ allowedChangeTypes: ['prompt', 'persona'] });
    const v = evaluate(change([file('docs/a.md')], { type: 'capability' }), p);
    expect(v.violations).toEqual([
      {
        ruleId: 'change-type-not-allowed',
        message: 'change type "capability" is not one of safetyRails.allowedChangeTypes (prompt, persona)',
      },
    ]);
    expect(evaluate(change([file('docs/a.md')], { type: 'persona' }), p).allowed).toBe(true);
  });

  test('unknown types are blocked', () => {
    expect(ids(evaluate(change([file('docs/a.md')], { type: 'refactor' }), SEED))).toEqual([
      'change-type-not-allowed',
    ]);
    expect(ids(evaluate(change([file('docs/a.md')], { type: 'Prompt' }), SEED))).toEqual([
      'change-type-not-allowed',
    ]);
  });
});

describe('wildcard', () => {
  const wildcard = (riskLevel: number): ChangeUnderReview =>
    change([file('docs/a.md')], { type: 'wildcard', riskLevel });
  const on = policy({ wildcard: { ...SEED.wildcard, enabled: true } });

  test('wildcard-disabled when the feature is off (seed default); not when on', () => {
    expect(evaluate(wildcard(0), SEED).violations).toEqual([
      {
        ruleId: 'wildcard-disabled',
        message: 'change type "wildcard" needs wildcardFeature.enabled = true; it is false',
      },
    ]);
    expect(evaluate(wildcard(0), on).allowed).toBe(true);
  });

  test('wildcard-risk-above-max above wildcardFeature.maxRiskLevel (seed: 1); at 1 it is allowed', () => {
    expect(evaluate(wildcard(2), on).violations).toEqual([
      {
        ruleId: 'wildcard-risk-above-max',
        message: 'wildcard change with stated risk level 2 exceeds wildcardFeature.maxRiskLevel = 1',
      },
    ]);
    expect(evaluate(wildcard(1), on).allowed).toBe(true);
  });

  test('the wildcard risk cap does not apply to other types', () => {
    expect(evaluate(change([file('docs/a.md')], { type: 'prompt', riskLevel: 2 }), on).allowed).toBe(true);
  });
});

describe('change-empty', () => {
  test('a change with no files is blocked; one with a file is not', () => {
    const v = evaluate(change([]), SEED);
    expect(v.violations).toEqual([
      { ruleId: 'change-empty', message: expect.stringContaining('touches no files') },
    ]);
    expect(v.stats).toEqual({ filesChanged: 0, linesAdded: 0, linesDeleted: 0, binaryFiles: 0 });
    expect(ids(evaluate(OK, SEED))).not.toContain('change-empty');
  });
});

describe('all rules together', () => {
  const bad = change(
    [
      file('.github/workflows/ci.yml', 300, 0),
      file('src/app.ts', 300, 10),
      file('logo.png', 0, 0, { binary: true }),
      ...Array.from({ length: 8 }, (_, i) => file(`docs/f${i}.md`)),
    ],
    { type: 'wildcard', riskLevel: 4 },
  );

  test('every violation is reported at once, not only the first', () => {
    const v = evaluate(bad, policy({ allowedChangeTypes: ['prompt'] }));
    expect(v.allowed).toBe(false);
    expect(ids(v)).toEqual([
      'path-blocked',
      'path-not-allowed',
      'path-not-allowed',
      'path-not-allowed',
      'diff-max-files',
      'diff-max-lines',
      'risk-above-max',
      'change-type-not-allowed',
      'wildcard-disabled',
      'wildcard-risk-above-max',
    ]);
    expect(v.violations.filter((x) => x.ruleId === 'path-not-allowed').map((x) => x.path)).toEqual([
      '.github/workflows/ci.yml',
      'src/app.ts',
      'logo.png',
    ]);
    expect(v.stats).toEqual({ filesChanged: 11, linesAdded: 608, linesDeleted: 10, binaryFiles: 1 });
  });

  test('evaluate only emits rule ids listed in RULES, and every rule id is emitted by some change', () => {
    const known = new Set(RULES.map((r) => r.id));
    const seen = new Set<string>();
    for (const c of [bad, change([]), change([file('docs/a.md')], { riskLevel: 9 })]) {
      for (const violation of evaluate(c, policy({ allowedChangeTypes: ['prompt'] })).violations) {
        expect(known).toContain(violation.ruleId);
        seen.add(violation.ruleId);
      }
    }
    expect([...seen].sort()).toEqual([...known].sort());
  });

  test('RULES ids are unique kebab-case and each names its setting', () => {
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    for (const rule of RULES) {
      expect(rule.id).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(rule.summary.length).toBeGreaterThan(10);
      expect(rule.setting).toBeTruthy();
    }
  });

  test('is deterministic and does not change its inputs', () => {
    const p = policy();
    const before = JSON.stringify([bad, p]);
    expect(evaluate(bad, p)).toEqual(evaluate(bad, p));
    expect(JSON.stringify([bad, p])).toBe(before);
  });
});

describe('policyFromConfig and changeStats', () => {
  test('policy carries the config values after overrides', () => {
    const config = parseConfig(
      {
        safetyRails: {
          diffCaps: { maxFilesChanged: 3, maxLinesOfCode: 30 },
          maxRiskLevel: 1,
          allowedChangeTypes: ['cleanup'],
        },
        wildcardFeature: { enabled: true, maxRiskLevel: 0 },
      },
      't',
    );
    const p = policyFromConfig(config);
    expect(p).toEqual({
      allowedPaths: config.safetyRails.allowedPaths,
      blockedPaths: config.safetyRails.blockedPaths,
      maxFilesChanged: 3,
      maxLinesOfCode: 30,
      allowedChangeTypes: ['cleanup'],
      maxRiskLevel: 1,
      wildcard: { enabled: true, maxRiskLevel: 0, allowedTypes: ['persona', 'prompt'] },
    });
    config.safetyRails.blockedPaths.push('docs/**');
    expect(p.blockedPaths).not.toContain('docs/**');
  });

  test('seed policy defaults', () => {
    expect([
      SEED.maxFilesChanged,
      SEED.maxLinesOfCode,
      SEED.maxRiskLevel,
      SEED.wildcard.maxRiskLevel,
    ]).toEqual([10, 500, 2, 1]);
    expect(SEED.wildcard.enabled).toBe(false);
  });

  test('changeStats sums git counts', () => {
    expect(
      changeStats(change([file('a', 3, 4), file('b', 0, 0, { binary: true }), file('c', 5, 0)])),
    ).toEqual({
      filesChanged: 3,
      linesAdded: 8,
      linesDeleted: 4,
      binaryFiles: 1,
    });
  });
});
