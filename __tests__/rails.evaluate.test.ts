import { parseConfig } from '../src/config/load.js';
import { V0_ALLOWED_PATHS } from '../src/config/schema.js';
import { changeStats, evaluate, evaluateWith, RULE_ERROR_ID, RULES } from '../src/rails/evaluate.js';
import { policyFromConfig } from '../src/rails/policy.js';
import type { Rule } from '../src/rails/rule.js';
import {
  EMPTY_CONTEXT,
  type AddedLine,
  type ChangeUnderReview,
  type FileChange,
  type RailsContext,
  type RailsPolicy,
  type Verdict,
} from '../src/rails/types.js';

/** The seed 004 policy (config defaults). */
/** The defaults, with the allowed paths of the v0 config these tests were written for. */
const SEED = policyFromConfig(parseConfig({ safetyRails: { allowedPaths: [...V0_ALLOWED_PATHS] } }, 'test'));
/** Every path allowed, nothing blocked by glob: isolates the other rules. */
const OPEN = policy({ allowedPaths: ['**'], blockedPaths: [] });
const CTX: RailsContext = EMPTY_CONTEXT;

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

/** The added lines git would report for `files`: `linesAdded` lines of plain text each (binary files none). */
function addedLinesOf(files: FileChange[]): AddedLine[] {
  const lines: AddedLine[] = [];
  for (const f of files) {
    if (f.binary || !Number.isSafeInteger(f.linesAdded)) continue;
    for (let line = 1; line <= f.linesAdded; line++) lines.push({ path: f.path, line, text: `line ${line}` });
  }
  return lines;
}

/** A change of `files` with their added lines (the content rules need them). */
function change(
  files: FileChange[],
  extra: Partial<Omit<ChangeUnderReview, 'facts'>> = {},
): ChangeUnderReview {
  const addedLines = addedLinesOf(files);
  return {
    type: 'prompt',
    riskLevel: 1,
    facts: { files, addedLines, contents: contentsOf(addedLines) },
    ...extra,
  };
}

/** Whole texts after the change (what the facts gatherer reads for the command rules): the added lines. */
function contentsOf(lines: readonly AddedLine[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines) out[l.path] = out[l.path] === undefined ? l.text : `${out[l.path]}\n${l.text}`;
  return out;
}

function policy(extra: Partial<RailsPolicy> = {}): RailsPolicy {
  return { ...SEED, ...extra };
}

const ids = (v: Verdict): string[] => v.violations.map((x) => x.ruleId);
const judge = (c: ChangeUnderReview, p: RailsPolicy = SEED, ctx: RailsContext = CTX): Promise<Verdict> =>
  evaluate(c, p, ctx);

/** A change the seed policy allows. */
const OK = change([file('docs/guide.md', 10, 2)]);

describe('the verdict', () => {
  test('a small docs change in an allowed path is allowed, with every field', async () => {
    expect(await judge(OK)).toEqual({
      allowed: true,
      requiresHumanApproval: false,
      statedRisk: 1,
      computedRisk: 0,
      effectiveRisk: 1,
      stats: { filesChanged: 1, linesAdded: 10, linesDeleted: 2, binaryFiles: 0 },
      violations: [],
    });
  });

  test('an approval-severity violation alone keeps the change allowed but requires a human', async () => {
    const v = await judge(
      change([file('tests/guide.test.ts')], { riskLevel: 3 }),
      policy({ ...OPEN, maxRiskLevel: 3 }),
    );
    expect(v).toMatchObject({
      allowed: true,
      requiresHumanApproval: true,
      computedRisk: 3,
      effectiveRisk: 3,
    });
    expect(v.violations).toEqual([
      {
        ruleId: 'test-change-approval',
        severity: 'approval',
        path: 'tests/guide.test.ts',
        message: expect.stringContaining('is a test file (safetyRails.testPaths glob "**/*.test.*")'),
      },
    ]);
  });

  test('blocked wins: a block and an approval together are not allowed', async () => {
    const v = await judge(
      change([file('tests/a.test.ts'), file('package.json')], { riskLevel: 3 }),
      policy({ ...OPEN, maxRiskLevel: 3 }),
    );
    expect(v.allowed).toBe(false);
    expect(v.requiresHumanApproval).toBe(true);
    expect(ids(v)).toEqual(['test-change-approval', 'dependency-change']);
  });

  test('every violation has a rule id from RULES, a severity and a message', async () => {
    const v = await judge(
      change([file('/etc/passwd'), file('.git/hooks/pre-commit', 1, 0, { newMode: '100755' })]),
    );
    const known = new Set(RULES.map((r) => r.id));
    expect(v.violations.length).toBeGreaterThan(3);
    for (const x of v.violations) {
      expect(known).toContain(x.ruleId);
      expect(['block', 'approval', 'warn']).toContain(x.severity);
      expect(x.message.length).toBeGreaterThan(10);
    }
  });
});

describe('risk: computed from the rubric, effective = max(stated, computed)', () => {
  const risk = async (files: FileChange[], riskLevel = 0) => {
    const v = await judge(change(files, { riskLevel }), OPEN);
    return [v.statedRisk, v.computedRisk, v.effectiveRisk];
  };

  test.each<[string, FileChange[], number]>([
    ['docs only', [file('docs/a.md'), file('README.md'), file('notes.txt')], 0],
    ['a page about OAuth is documentation', [file('docs/oauth.md')], 0],
    ['prompts', [file('packages/agent/src/prompts/greet.md')], 1],
    ['persona', [file('apps/bot/src/persona/tone.json')], 1],
    ['source', [file('src/index.ts')], 2],
    ['a test', [file('src/a.test.ts')], 3],
    ['a test under prompts/', [file('prompts/__tests__/a.ts')], 3],
    ['a manifest', [file('packages/x/package.json')], 3],
    ['requirements.txt is a manifest, not documentation', [file('requirements-dev.txt')], 3],
    ['CI', [file('.github/dependabot.yml')], 3],
    ['a Dockerfile', [file('Dockerfile.dev')], 3],
    ['config by extension', [file('config/app.yaml')], 3],
    ['tsconfig', [file('tsconfig.build.json')], 3],
    ['a shell script', [file('tools/deploy.sh')], 4],
    ['a script under prompts/', [file('prompts/run.sh')], 4],
    ['bin/', [file('bin/cli')], 4],
    ['a migration', [file('db/migrations/0001_init.ts')], 4],
    ['SQL', [file('schema.SQL')], 4],
    ['auth code', [file('src/auth/session.ts')], 4],
    ['auth in a file name', [file('src/oauthClient.ts')], 4],
    ['a file made executable', [file('src/tool.ts', 1, 0, { newMode: '100755' })], 4],
    ['the highest file wins', [file('docs/a.md'), file('src/a.ts'), file('prompts/p.md')], 2],
  ])('%s: computed %p', async (_, files, computed) => {
    expect(await risk(files)).toEqual([0, computed, computed]);
  });

  test('the old side of a rename counts', async () => {
    expect(await risk([file('docs/x.md', 0, 0, { status: 'renamed', oldPath: 'bin/x.sh' })])).toEqual([
      0, 4, 4,
    ]);
  });

  test('size: +1 from 200 added + deleted lines', async () => {
    expect(await risk([file('docs/a.md', 100, 99)])).toEqual([0, 0, 0]);
    expect(await risk([file('docs/a.md', 100, 100)])).toEqual([0, 1, 1]);
    expect(await risk([file('src/a.ts', 150, 0), file('src/b.ts', 50, 0)])).toEqual([0, 3, 3]);
  });

  test('computed risk is capped at 5', async () => {
    expect(await risk([file('bin/run.sh', 300, 0)])).toEqual([0, 5, 5]);
  });

  test('effective is the max of stated and computed', async () => {
    expect(await risk([file('docs/a.md')], 2)).toEqual([2, 0, 2]);
    expect(await risk([file('src/a.ts')], 1)).toEqual([1, 2, 2]);
  });

  test.each([[-1], [6], [1.5], [Number.NaN], ['1' as unknown as number]])(
    'an invalid stated risk %p counts as 5 and is blocked',
    async (riskLevel) => {
      const v = await judge(change([file('docs/a.md')], { riskLevel }), policy({ ...OPEN, maxRiskLevel: 5 }));
      expect([v.statedRisk, v.computedRisk, v.effectiveRisk]).toEqual([5, 0, 5]);
      expect(ids(v)).toEqual(['risk-invalid', 'risk-high']);
      expect(v.violations[0]!.message).toContain('is not an integer 0..5');
      expect(v.allowed).toBe(false);
    },
  );

  test('risk-above-max says stated, computed and which files raised it', async () => {
    const v = await judge(
      change([file('src/a.ts', 150), file('src/b.ts', 60), file('docs/c.md')], { riskLevel: 1 }),
      OPEN,
    );
    expect(v.violations).toEqual([
      {
        ruleId: 'risk-above-max',
        severity: 'block',
        message:
          'effective risk 3 (stated 1, computed 3: src/a.ts 2 default (source code), src/b.ts 2 default (source code), +1 for 211 lines) exceeds safetyRails.maxRiskLevel = 2',
      },
    ]);
  });

  test('4-5 is never allowed, even with maxRiskLevel 5', async () => {
    const max5 = policy({ ...OPEN, maxRiskLevel: 5 });
    for (const c of [
      change([file('docs/a.md')], { riskLevel: 4 }),
      change([file('bin/x', 1)], { riskLevel: 0 }),
    ]) {
      const v = await judge(c, max5);
      expect(v.allowed).toBe(false);
      expect(ids(v)).toEqual(['risk-high']);
      expect(v.violations[0]!.message).toContain('never allowed, whatever safetyRails.maxRiskLevel says');
    }
    expect((await judge(change([file('src/a.ts')], { riskLevel: 3 }), max5)).allowed).toBe(true);
  });

  test('with maxRiskLevel 2, risk 4 trips both the maximum and the high-risk rule', async () => {
    expect(ids(await judge(change([file('docs/a.md')], { riskLevel: 4 }), OPEN))).toEqual([
      'risk-above-max',
      'risk-high',
    ]);
  });

  test('a malformed rubric is a rule-error, and the verdict counts computed risk 5', async () => {
    const broken = policy({ ...OPEN, riskRubric: { ...SEED.riskRubric, defaultRisk: 9 } });
    const v = await judge(change([file('src/a.ts')], { riskLevel: 1 }), broken);
    expect([v.statedRisk, v.computedRisk, v.effectiveRisk, v.allowed]).toEqual([1, 5, 5, false]);
    expect(ids(v)).toContain(RULE_ERROR_ID);
    expect(v.violations.find((x) => x.ruleId === RULE_ERROR_ID)!.message).toMatch(
      /^rule risk-above-max failed: TypeError: risk rubric: defaultRisk is 9/,
    );
  });
});

describe('diff caps and the empty change', () => {
  const files = (n: number): FileChange[] => Array.from({ length: n }, (_, i) => file(`docs/f${i}.md`));

  test('diff-max-files: more files than maxFilesChanged is blocked; exactly the cap is not', async () => {
    expect((await judge(change(files(11)))).violations).toEqual([
      {
        ruleId: 'diff-max-files',
        severity: 'block',
        message: '11 files changed (0 binary) exceeds safetyRails.diffCaps.maxFilesChanged = 10',
      },
    ]);
    expect((await judge(change(files(10)))).allowed).toBe(true);
  });

  test('binary files count as files', async () => {
    const v = await judge(
      change([...files(10), file('docs/img.md', 0, 0, { binary: true, bytesAdded: 2048 })]),
      policy({ fileKinds: { ...SEED.fileKinds, allowBinary: true } }),
    );
    expect(ids(v)).toEqual(['diff-max-files']);
    expect(v.violations[0]!.message).toContain('11 files changed (1 binary)');
    expect(v.stats).toEqual({ filesChanged: 11, linesAdded: 10, linesDeleted: 0, binaryFiles: 1 });
  });

  test('diff-max-lines: added + deleted above the cap, with the numbers and the setting', async () => {
    const v = await judge(
      change([file('docs/x.md', 600, 12)], { riskLevel: 1 }),
      policy({ maxRiskLevel: 3 }),
    );
    expect(v.violations).toEqual([
      {
        ruleId: 'diff-max-lines',
        severity: 'block',
        path: 'docs/x.md',
        message:
          'docs/x.md: 612 lines changed (added 600 + deleted 12) exceeds safetyRails.diffCaps.maxLinesOfCode = 500',
      },
    ]);
  });

  test('exactly the cap is allowed; the sum over files counts, naming the largest files', async () => {
    expect((await judge(change([file('docs/a.md', 250, 0), file('docs/b.md', 0, 250)]))).allowed).toBe(true);
    const v = await judge(
      change([file('docs/a.md', 250, 0), file('docs/c.md', 1, 0), file('docs/b.md', 1, 250)]),
    );
    expect(v.violations).toEqual([
      {
        ruleId: 'diff-max-lines',
        severity: 'block',
        message:
          '502 lines changed (added 252 + deleted 250) exceeds safetyRails.diffCaps.maxLinesOfCode = 500; largest: docs/b.md 251, docs/a.md 250, docs/c.md 1',
      },
    ]);
  });

  test('the largest three of many files are named, ties in path order', async () => {
    const sizes: [string, number][] = [
      ['docs/p.md', 10],
      ['docs/z.md', 300],
      ['docs/q.md', 5],
      ['docs/m.md', 200],
      ['docs/a.md', 300],
      ['docs/n.md', 199],
    ];
    const v = await judge(
      change(sizes.map(([p, n]) => file(p, n))),
      policy({ maxRiskLevel: 3, maxLinesOfCode: 900 }),
    );
    expect(v.violations.map((x) => x.message)).toEqual([
      '1014 lines changed (added 1014 + deleted 0) exceeds safetyRails.diffCaps.maxLinesOfCode = 900; largest: docs/a.md 300, docs/z.md 300, docs/m.md 200',
    ]);
  });

  test('a line count that is not a whole number >= 0 is blocked, not treated as small', async () => {
    const v = await judge(change([file('docs/a.md', Number.NaN, -1)]));
    expect(v.violations).toEqual([
      {
        ruleId: 'diff-max-lines',
        severity: 'block',
        path: 'docs/a.md',
        message: expect.stringContaining('not whole numbers >= 0'),
      },
    ]);
    expect(v.stats.linesAdded).toBe(0);
  });

  test('a cap that is not a number blocks (when in doubt, block)', async () => {
    const v = await judge(
      OK,
      policy({ maxFilesChanged: Number.NaN, maxLinesOfCode: undefined as unknown as number }),
    );
    expect(ids(v)).toEqual(['diff-max-files', 'diff-max-lines']);
  });

  test('change-empty: a change with no files is blocked; one with a file is not', async () => {
    const v = await judge(change([]));
    expect(v.violations).toEqual([
      { ruleId: 'change-empty', severity: 'block', message: expect.stringContaining('touches no files') },
    ]);
    expect(v.stats).toEqual({ filesChanged: 0, linesAdded: 0, linesDeleted: 0, binaryFiles: 0 });
    expect(ids(await judge(OK))).not.toContain('change-empty');
  });
});

describe('change types and the wildcard', () => {
  const on = policy({ wildcard: { ...SEED.wildcard, enabled: true } });
  const prompt = 'packages/agent/src/prompts/greet.md';
  const wildcard = (extra: Partial<ChangeUnderReview> = {}, files = [file(prompt)]): ChangeUnderReview =>
    change(files, { type: 'wildcard', wildcardOf: 'prompt', riskLevel: 1, ...extra });

  test('change-type-not-allowed: a type missing from allowedChangeTypes is blocked; a listed one is not', async () => {
    const p = policy({ allowedChangeTypes: ['prompt', 'persona'] });
    expect((await judge(change([file('docs/a.md')], { type: 'capability' }), p)).violations).toEqual([
      {
        ruleId: 'change-type-not-allowed',
        severity: 'block',
        message: 'change type "capability" is not one of safetyRails.allowedChangeTypes (prompt, persona)',
      },
    ]);
    expect((await judge(change([file('docs/a.md')], { type: 'persona' }), p)).allowed).toBe(true);
    expect(ids(await judge(change([file('docs/a.md')], { type: 'Prompt' })))).toEqual([
      'change-type-not-allowed',
    ]);
  });

  test('a wildcard of a prompt, risk 1, first of the day, with the feature on, is allowed', async () => {
    expect(await judge(wildcard(), on)).toMatchObject({ allowed: true, violations: [], effectiveRisk: 1 });
  });

  test('wildcard-disabled when the feature is off (seed default)', async () => {
    expect((await judge(wildcard())).violations).toEqual([
      {
        ruleId: 'wildcard-disabled',
        severity: 'block',
        message: 'change type "wildcard" needs wildcardFeature.enabled = true; it is false',
      },
    ]);
  });

  test('wildcard-risk-above-max uses the effective risk (seed: 1)', async () => {
    const stated = await judge(wildcard({ riskLevel: 2 }), on);
    expect(ids(stated)).toEqual(['wildcard-risk-above-max']);
    expect(stated.violations[0]!.message).toBe(
      'wildcard change with effective risk 2 (stated 2, computed 1: packages/agent/src/prompts/greet.md 1 prompt or persona (**/prompts/**)) exceeds wildcardFeature.maxRiskLevel = 1',
    );
    // stated 0, but the rubric computes 2 for a source file (inside prompts/: a script would be 4)
    const computed = await judge(
      wildcard({ riskLevel: 0 }, [file('packages/agent/src/prompts/x.py', 250)]),
      on,
    );
    expect(ids(computed)).toContain('wildcard-risk-above-max');
  });

  test('the wildcard risk cap does not apply to other types', async () => {
    expect((await judge(change([file(prompt)], { type: 'prompt', riskLevel: 2 }), on)).allowed).toBe(true);
  });

  test('wildcard-type-not-allowed: wildcardOf missing or not in wildcardFeature.allowedTypes', async () => {
    const missing = await judge(wildcard({ wildcardOf: undefined }), on);
    expect(missing.violations).toEqual([
      {
        ruleId: 'wildcard-type-not-allowed',
        severity: 'block',
        message:
          'wildcard change does not say what it is (wildcardOf is missing); wildcardFeature.allowedTypes allows persona, prompt',
      },
    ]);
    expect(
      ids(await judge(wildcard({ wildcardOf: 'capability' }, [file('packages/agent/src/tools/t.md')]), on)),
    ).toEqual(['wildcard-type-not-allowed', 'wildcard-path-not-allowed']);
  });

  test('wildcard-path-not-allowed: a path outside changeTypePaths[wildcardOf]', async () => {
    const v = await judge(wildcard({}, [file(prompt), file('docs/a.md')]), on);
    expect(v.violations).toEqual([
      {
        ruleId: 'wildcard-path-not-allowed',
        severity: 'block',
        path: 'docs/a.md',
        message:
          'docs/a.md: no wildcardFeature.changeTypePaths.prompt glob matches it (allowed: **/prompts/**)',
      },
    ]);
    const persona = await judge(
      wildcard({ wildcardOf: 'persona' }, [file('apps/bot/src/persona/tone.md')]),
      on,
    );
    expect(persona.allowed).toBe(true);
  });

  test('a kind without changeTypePaths globs allows no path; "__proto__" is not a kind', async () => {
    const p = policy({ ...on, changeTypePaths: { prompt: ['**/prompts/**'] } });
    const v = await judge(wildcard({ wildcardOf: 'persona' }, [file('apps/bot/src/persona/tone.md')]), p);
    expect(ids(v)).toEqual(['wildcard-path-not-allowed']);
    expect(v.violations[0]!.message).toContain('has no globs for "persona"');
    const proto = await judge(wildcard({ wildcardOf: '__proto__' }), on);
    expect(ids(proto)).toEqual(['wildcard-type-not-allowed', 'wildcard-path-not-allowed']);
  });

  test('wildcard-daily-limit: one a day (seed 004), counted by the caller', async () => {
    expect((await judge(wildcard(), on, { ...CTX, wildcardsToday: 0 })).allowed).toBe(true);
    const second = await judge(wildcard(), on, { ...CTX, wildcardsToday: 1 });
    expect(second.violations).toEqual([
      {
        ruleId: 'wildcard-daily-limit',
        severity: 'block',
        message: expect.stringContaining('1 wildcard change(s) already today; the limit is 1 a day'),
      },
    ]);
    expect(ids(await judge(wildcard(), on, { ...CTX, wildcardsToday: Number.NaN }))).toEqual([
      'wildcard-daily-limit',
    ]);
    expect((await judge(change([file(prompt)]), on, { ...CTX, wildcardsToday: 5 })).allowed).toBe(true);
  });
});

describe('tests and dependencies', () => {
  const p3 = policy({ ...OPEN, maxRiskLevel: 3 });
  test.each([
    'src/__tests__/a.ts',
    'lib/a.spec.js',
    'test/x.py',
    'pkg/test_a.py',
    'x/y_test.go',
    'spec/a_spec.rb',
    'SRC/A.TEST.TS',
  ])('test-change-approval: %s needs approval', async (path) => {
    const v = await judge(change([file(path)], { riskLevel: 3 }), p3);
    expect(v.violations.map((x) => [x.ruleId, x.severity])).toEqual([['test-change-approval', 'approval']]);
    expect(v.requiresHumanApproval).toBe(true);
  });

  test('test-change-approval: source that only looks like a test does not', async () => {
    for (const path of ['src/testing.ts', 'src/contest/a.ts', 'docs/tests.md']) {
      expect([path, ids(await judge(change([file(path)]), OPEN))]).toEqual([path, []]);
    }
  });

  test('dependency-change: manifests and lockfiles at any depth are blocked', async () => {
    for (const path of [
      'package.json',
      'apps/web/package-lock.json',
      'pnpm-lock.yaml',
      'yarn.lock',
      'requirements-dev.txt',
      'Pipfile.lock',
      'svc/go.sum',
      'Cargo.toml',
      'Gemfile',
      'composer.lock',
      'src/App.csproj',
      'PACKAGE.JSON',
    ]) {
      const v = await judge(change([file(path)], { riskLevel: 3 }), p3);
      expect([path, ids(v)]).toEqual([path, ['dependency-change']]);
      expect(v.violations[0]!.message).toContain(
        'set safetyRails.allowDependencyChanges to true to allow it',
      );
    }
  });

  test('dependency-change: allowDependencyChanges lifts it; ordinary JSON is not a manifest', async () => {
    const allowing = policy({ ...p3, allowDependencyChanges: true });
    expect((await judge(change([file('package.json')], { riskLevel: 3 }), allowing)).allowed).toBe(true);
    expect(ids(await judge(change([file('src/data.json')], { riskLevel: 3 }), p3))).toEqual([]);
  });
});

describe('branches', () => {
  const branch = (targetBranch: string) => change([file('docs/a.md')], { targetBranch });

  test('no target branch, nothing to check; a prefixed topic branch passes', async () => {
    expect((await judge(OK)).allowed).toBe(true);
    expect((await judge(branch('self-evolution/fix-typos'))).allowed).toBe(true);
    expect((await judge(branch('refs/heads/self-evolution/fix-typos'))).allowed).toBe(true);
  });

  test('branch-prefix: a branch without the configured prefix (or only the prefix) is blocked', async () => {
    expect((await judge(branch('feature/x'))).violations).toEqual([
      {
        ruleId: 'branch-prefix',
        severity: 'block',
        message: expect.stringContaining(
          'target branch "feature/x" does not start with prTemplateConfig.branchPrefix "self-evolution/"',
        ),
      },
    ]);
    expect(ids(await judge(branch('self-evolution/')))).toEqual(['branch-prefix']);
    expect(ids(await judge(branch('Self-Evolution/x')))).toEqual(['branch-prefix']);
  });

  test.each(['main', 'MASTER', 'refs/heads/production', 'Deploy'])('branch-protected: %s', async (b) => {
    expect(ids(await judge(branch(b)))).toEqual(['branch-prefix', 'branch-protected']);
  });

  test('branch-protected: the default branch from the context, and the policy list, case-insensitively', async () => {
    const p = policy({ branchPrefix: 'bot/' });
    expect(ids(await judge(branch('bot/x'), p, { ...CTX, defaultBranch: 'BOT/X' }))).toEqual([
      'branch-protected',
    ]);
    expect(ids(await judge(branch('bot/x'), policy({ ...p, protectedBranches: ['bot/x'] })))).toEqual([
      'branch-protected',
    ]);
    expect(ids(await judge(branch('bot/y'), p, { ...CTX, defaultBranch: 'bot/x' }))).toEqual([]);
  });
});

describe('the engine', () => {
  const bad = change(
    [
      file('.github/workflows/ci.yml', 300, 0),
      file('src/app.ts', 300, 10),
      file('logo.png', 0, 0, { binary: true }),
      ...Array.from({ length: 8 }, (_, i) => file(`docs/f${i}.md`)),
    ],
    { type: 'wildcard', riskLevel: 4, targetBranch: 'main' },
  );

  test('every violation is reported at once, in rule order, then path order', async () => {
    const v = await judge(bad, policy({ allowedChangeTypes: ['prompt'] }));
    expect(v.allowed).toBe(false);
    expect(ids(v)).toEqual([
      'path-blocked',
      'path-not-allowed',
      'path-not-allowed',
      'path-not-allowed',
      'file-binary',
      'diff-max-files',
      'diff-max-lines',
      'risk-above-max',
      'risk-high',
      'change-type-not-allowed',
      'wildcard-disabled',
      'wildcard-risk-above-max',
      'wildcard-type-not-allowed',
      'self-protected-path',
      'branch-prefix',
      'branch-protected',
    ]);
    expect(v.violations.filter((x) => x.ruleId === 'path-not-allowed').map((x) => x.path)).toEqual([
      '.github/workflows/ci.yml',
      'logo.png',
      'src/app.ts',
    ]);
    expect(v.stats).toEqual({ filesChanged: 11, linesAdded: 608, linesDeleted: 10, binaryFiles: 1 });
    expect([v.statedRisk, v.computedRisk, v.effectiveRisk]).toEqual([4, 4, 4]);
  });

  test('is deterministic and does not change its inputs', async () => {
    const p = policy();
    const before = JSON.stringify([bad, p]);
    expect(await judge(bad, p)).toEqual(await judge(bad, p));
    expect(JSON.stringify([bad, p])).toBe(before);
  });

  test('RULES ids are unique kebab-case, each with a summary, setting and severity', () => {
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
    for (const rule of RULES) {
      expect(rule.id).toMatch(/^[a-z]+(-[a-z0-9]+)*$/);
      expect(rule.summary.length).toBeGreaterThan(10);
      expect(rule.setting).toBeTruthy();
      expect(['block', 'approval', 'warn']).toContain(rule.severity);
    }
  });

  const finding = (path?: string, line?: number) => ({
    ...(path === undefined ? {} : { path }),
    ...(line === undefined ? {} : { line }),
    message: `at ${path}:${line}`,
  });
  const rule = (id: string, check: Rule['check'], severity: Rule['severity'] = 'block'): Rule => ({
    id,
    summary: 'a rule for the tests',
    setting: 'none',
    severity,
    check,
  });

  test('a throwing, rejecting or malformed rule becomes rule-error naming it; the others still run', async () => {
    const rules = [
      rule('boom', () => {
        throw new Error('kaput\nsecond line');
      }),
      rule('async-boom', async () => Promise.reject(new RangeError('later'))),
      rule('not-a-list', () => 'nope' as unknown as []),
      rule('null-finding', () => [null as unknown as { message: string }]),
      rule('fine', () => [finding('a.md')], 'warn'),
    ];
    const v = await evaluateWith(rules, OK, SEED, CTX);
    expect(v.violations).toEqual([
      {
        ruleId: 'rule-error',
        severity: 'block',
        message:
          'rule boom failed: Error: kaput second line; when in doubt the engine blocks (fix the input or the policy, or report the bug)',
      },
      {
        ruleId: 'rule-error',
        severity: 'block',
        message: expect.stringMatching(/^rule async-boom failed: RangeError: later;/),
      },
      {
        ruleId: 'rule-error',
        severity: 'block',
        message: expect.stringMatching(/^rule not-a-list returned "nope" instead of a list of findings;/),
      },
      {
        ruleId: 'rule-error',
        severity: 'block',
        message: expect.stringMatching(/^rule null-finding returned the finding null/),
      },
      { ruleId: 'fine', severity: 'warn', path: 'a.md', message: 'at a.md:undefined' },
    ]);
    expect(v.allowed).toBe(false);
    const onlyWarn = await evaluateWith([rules[4]!], OK, SEED, CTX);
    expect([onlyWarn.allowed, onlyWarn.requiresHumanApproval]).toEqual([true, false]);
  });

  test('findings are ordered within a rule: change-level first, then path, then line; rule order is kept', async () => {
    const rules = [
      rule('second', () => [finding('b', 2), finding('a', 9), finding(), finding('b', 1), finding('a')]),
      rule('first', () => [finding('z')]),
    ];
    const v = await evaluateWith(rules, OK, SEED, CTX);
    expect(v.violations.map((x) => `${x.ruleId} ${x.path ?? '-'}:${x.line ?? '-'}`)).toEqual([
      'second -:-',
      'second a:-',
      'second a:9',
      'second b:1',
      'second b:2',
      'first z:-',
    ]);
  });

  test('a finding may set its own severity; a bad line number is dropped', async () => {
    const v = await evaluateWith(
      [
        rule('r', () => [
          { path: 'a', line: 0, message: 'm', severity: 'approval' },
          { path: 'b', line: 3.5, message: 'n' },
        ]),
      ],
      OK,
      SEED,
      CTX,
    );
    expect(v.violations).toEqual([
      { ruleId: 'r', severity: 'approval', path: 'a', message: 'm' },
      { ruleId: 'r', severity: 'block', path: 'b', message: 'n' },
    ]);
  });

  test('never throws on odd input, and never allows it', async () => {
    const odd: unknown[] = [
      null,
      {},
      { type: 'prompt', riskLevel: 1 },
      { type: 'prompt', riskLevel: 1, facts: { files: 'x' } },
      { type: 'prompt', riskLevel: 1, facts: { files: [null, 7] } },
      { type: 'prompt', riskLevel: 1, facts: { files: [{ ...file('docs/a.md'), oldPath: 42 }] } },
    ];
    for (const c of odd) {
      const v = await evaluate(c as ChangeUnderReview, SEED, CTX);
      expect([JSON.stringify(c), v.allowed]).toEqual([JSON.stringify(c), false]);
    }
    const noPolicy = await evaluate(OK, {} as RailsPolicy, CTX);
    expect(noPolicy.allowed).toBe(false);
    expect(ids(noPolicy)).toContain(RULE_ERROR_ID);
    const noContext = await evaluate(
      change([file(`packages/agent/src/prompts/a.md`)], { type: 'wildcard', wildcardOf: 'prompt' }),
      SEED,
      undefined as unknown as RailsContext,
    );
    expect(noContext.allowed).toBe(false);
  });

  test('an invalid glob in a policy is a rule-error naming the rule and the setting', async () => {
    const v = await judge(OK, policy({ blockedPaths: ['!docs/**'] }));
    expect(v.allowed).toBe(false);
    expect(v.violations).toEqual([
      {
        ruleId: 'rule-error',
        severity: 'block',
        message: expect.stringContaining(
          'rule path-blocked failed: GlobError: safetyRails.blockedPaths: glob "!docs/**" starts with "!"',
        ),
      },
    ]);
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

  test('scales linearly: 20k files are judged within a few seconds, not quadratically', async () => {
    const many = (n: number) =>
      change(
        Array.from({ length: n }, (_, i) => file(`src/m${i % 50}/f${i}.ts`, 10)),
        { type: 'cleanup' },
      );
    const time = async (n: number) => {
      const c = many(n);
      const t = performance.now();
      const v = await judge(c, OPEN);
      expect(v.stats.filesChanged).toBe(n);
      return performance.now() - t;
    };
    await time(2000); // warm up (compiles the globs once)
    const small = await time(2000);
    const large = await time(20000);
    expect(large).toBeLessThan(5000);
    expect(large / Math.max(small, 1)).toBeLessThan(40); // 10x the files: linear is ~10x, quadratic ~100x
  });
});
