/**
 * Self-protection (src/rails/rules/self-protection.ts): self-protected-path (lifted by the human override),
 * policy-loosened (never lifted) and policy-invalid, and the completeness of the loosening tables.
 */
import { ConfigSchema, type Config, type ConfigInput } from '../src/config/schema.js';
import { evaluate } from '../src/rails/evaluate.js';
import { DEFAULT_POLICY_PATH, policyFromConfig } from '../src/rails/policy.js';
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
    expect(findings[0]!.message).toMatch(/is self-protected \(glob "[^"]+"\); only a human may change it/);
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
          'src/rails/evaluate.ts: is self-protected (glob "src/rails/**"); changed under the human override',
      },
    ]);
  });
});

describe('policy-loosened', () => {
  /** The loosening messages of an edit from `before` to `after` (config file contents). */
  async function loosened(before: ConfigInput | null, after: ConfigInput | null): Promise<string[]> {
    return messages(await policyLoosened.check(policyEdit(before, after)));
  }

  const cases: [string, ConfigInput, ConfigInput, RegExp][] = [
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

  it('every setting of the config is classified: it feeds the policy or has a direction in CONFIG_LOOSENING', () => {
    const config = ConfigSchema.parse({ $schema: './schema.json' });
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
