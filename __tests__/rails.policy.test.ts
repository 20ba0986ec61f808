/** src/rails/policy.ts: the policy built from the config, and the engine's fixed defaults. */
import { ConfigSchema } from '../src/config/schema.js';
import { parseConfig } from '../src/config/load.js';
import { evaluate } from '../src/rails/evaluate.js';
import {
  DEFAULT_CHANGE_TYPE_PATHS,
  DEFAULT_COMMAND_PATHS,
  DEFAULT_DEPENDENCY_PATHS,
  DEFAULT_FORBIDDEN_COMMANDS,
  DEFAULT_POLICY_PATH,
  DEFAULT_RISK_RUBRIC,
  DEFAULT_SECRET_ENTROPY,
  DEFAULT_SECRET_PATHS,
  DEFAULT_SELF_PROTECTED_PATHS,
  DEFAULT_TEST_PATHS,
  PROTECTED_BRANCHES,
  SELF_HOSTED_PROTECTED,
  SELF_HOSTED_PROTECTED_PATHS,
  SELF_PROTECTED,
  WILDCARD_PER_DAY,
  policyFromConfig,
  protectedBecause,
} from '../src/rails/policy.js';
import { compileGlobs } from '../src/rails/glob.js';
import { EMPTY_CONTEXT } from '../src/rails/types.js';

const SEED = policyFromConfig(parseConfig({}, 'test'));

describe('policyFromConfig', () => {
  test('the seed defaults, and ours', () => {
    expect(SEED).toMatchObject({
      maxFilesChanged: 10,
      maxLinesOfCode: 500,
      maxRiskLevel: 2,
      allowedChangeTypes: ['capability', 'prompt', 'persona', 'cleanup', 'wildcard'],
      wildcard: { enabled: false, maxRiskLevel: 1, allowedTypes: ['persona', 'prompt'], perDay: 1 },
      changeTypePaths: { prompt: ['**/prompts/**'], persona: ['**/persona/**'] },
      fileKinds: { allowSymlinks: false, allowSubmodules: false, allowBinary: false, allowExecutable: false },
      testPaths: DEFAULT_TEST_PATHS,
      dependencyPaths: DEFAULT_DEPENDENCY_PATHS,
      allowDependencyChanges: false,
      secretPaths: DEFAULT_SECRET_PATHS,
      secretEntropy: DEFAULT_SECRET_ENTROPY,
      commandPaths: DEFAULT_COMMAND_PATHS,
      forbiddenCommands: DEFAULT_FORBIDDEN_COMMANDS,
      policyPath: DEFAULT_POLICY_PATH,
      selfProtectedPaths: [DEFAULT_POLICY_PATH, ...DEFAULT_SELF_PROTECTED_PATHS],
      riskRubric: DEFAULT_RISK_RUBRIC,
      branchPrefix: 'self-evolution/',
      protectedBranches: ['main', 'master', 'production', 'deploy'],
    });
    expect(WILDCARD_PER_DAY).toBe(1);
    expect(PROTECTED_BRANCHES).toEqual(['main', 'master', 'production', 'deploy']);
  });

  test('carries the config values (after overrides), copied and deeply frozen', () => {
    const config = parseConfig(
      {
        safetyRails: {
          diffCaps: { maxFilesChanged: 3, maxLinesOfCode: 30 },
          maxRiskLevel: 1,
          allowedChangeTypes: ['cleanup'],
          fileKinds: { allowBinary: true },
          testPaths: ['checks/**'],
          dependencyPaths: ['deps.txt'],
          allowDependencyChanges: true,
        },
        wildcardFeature: { enabled: true, maxRiskLevel: 0, changeTypePaths: { prompt: ['ai/**'] } },
        prTemplateConfig: { branchPrefix: 'bot/' },
      },
      't',
    );
    const p = policyFromConfig(config, { policyPath: './config/se.json' });
    expect(p).toMatchObject({
      maxFilesChanged: 3,
      maxLinesOfCode: 30,
      maxRiskLevel: 1,
      allowedChangeTypes: ['cleanup'],
      wildcard: { enabled: true, maxRiskLevel: 0, allowedTypes: ['persona', 'prompt'], perDay: 1 },
      changeTypePaths: { prompt: ['ai/**'] },
      fileKinds: { allowSymlinks: false, allowSubmodules: false, allowBinary: true, allowExecutable: false },
      testPaths: ['checks/**'],
      dependencyPaths: ['deps.txt'],
      allowDependencyChanges: true,
      policyPath: 'config/se.json',
      branchPrefix: 'bot/',
    });
    expect(p.selfProtectedPaths[0]).toBe('config/se.json');
    config.safetyRails.blockedPaths.push('docs/**');
    expect(p.blockedPaths).not.toContain('docs/**');
    expect(Object.isFrozen(p) && Object.isFrozen(p.blockedPaths) && Object.isFrozen(p.wildcard)).toBe(true);
    expect(Object.isFrozen(p.riskRubric.paths[0])).toBe(true);
  });

  test("the self-protected paths: the policy file, then every repository's, then (when hosting) the build", () => {
    expect(DEFAULT_SELF_PROTECTED_PATHS).toEqual(SELF_PROTECTED.map((e) => e.glob));
    expect(SELF_HOSTED_PROTECTED_PATHS).toEqual(SELF_HOSTED_PROTECTED.map((e) => e.glob));
    for (const glob of [
      '.github/**',
      '**/action.yml',
      '**/action.yaml',
      '**/CODEOWNERS',
      'dist/**',
      'src/rails/**',
    ]) {
      expect(DEFAULT_SELF_PROTECTED_PATHS).toContain(glob);
    }
    for (const glob of [
      'src/check.ts',
      'src/git/**',
      'src/config/**',
      'bin/**',
      'package.json',
      'tsconfig*.json',
    ]) {
      expect(SELF_HOSTED_PROTECTED_PATHS).toContain(glob);
      expect(DEFAULT_SELF_PROTECTED_PATHS).not.toContain(glob);
    }
    const hosted = policyFromConfig(parseConfig({}, 't'), { hostsSelfEvolution: true });
    expect(hosted.selfProtectedPaths).toEqual([
      DEFAULT_POLICY_PATH,
      ...DEFAULT_SELF_PROTECTED_PATHS,
      ...SELF_HOSTED_PROTECTED_PATHS,
    ]);
    expect(policyFromConfig(parseConfig({}, 't'), { hostsSelfEvolution: false }).selfProtectedPaths).toEqual(
      SEED.selfProtectedPaths,
    );
    expect(Object.isFrozen(SELF_PROTECTED[0])).toBe(true);
    expect(protectedBecause('dist/**')).toMatch(/build output/);
    expect(protectedBecause('src/git/**')).toMatch(/facts/);
    expect(protectedBecause('docs/**')).toBeUndefined();
  });

  test('a policy path with glob characters is protected literally', () => {
    const p = policyFromConfig(parseConfig({}, 't'), { policyPath: 'cfg/[x]*.json' });
    const protectedSet = compileGlobs(p.selfProtectedPaths, 'catch');
    expect(protectedSet.firstMatch('cfg/[x]*.json')).toBe(0);
    expect(protectedSet.firstMatch('cfg/xa.json')).toBe(-1);
  });

  test('the seed policy, evaluated, allows a docs fix and blocks a workflow change', async () => {
    const docs = {
      type: 'cleanup',
      riskLevel: 0,
      facts: {
        files: [
          {
            path: 'docs/a.md',
            status: 'modified' as const,
            oldMode: '100644',
            newMode: '100644',
            binary: false,
            linesAdded: 1,
            linesDeleted: 1,
          },
        ],
        addedLines: [{ path: 'docs/a.md', line: 1, text: 'A fix.' }],
      },
    };
    expect((await evaluate(docs, SEED, EMPTY_CONTEXT)).allowed).toBe(true);
    const wf = {
      ...docs,
      facts: {
        files: [{ ...docs.facts.files[0]!, path: '.github/workflows/x.yml' }],
        addedLines: [{ path: '.github/workflows/x.yml', line: 1, text: 'on: push' }],
      },
    };
    expect((await evaluate(wf, SEED, EMPTY_CONTEXT)).allowed).toBe(false);
  });
});

describe('config keys for the rails (optional, with defaults in the schema)', () => {
  test('the new keys default as documented', () => {
    const c = ConfigSchema.parse({});
    expect(c.safetyRails.fileKinds).toEqual({
      allowSymlinks: false,
      allowSubmodules: false,
      allowBinary: false,
      allowExecutable: false,
      allowGitAttributes: false,
      allowMinified: false,
    });
    expect(c.safetyRails.diffCaps.maxBytesChanged).toBe(256 * 1024);
    expect(c.safetyRails.diffCaps.maxLineLength).toBe(1000);
    expect(c.safetyRails.testPaths).toEqual([...DEFAULT_TEST_PATHS]);
    expect(c.safetyRails.dependencyPaths).toEqual([...DEFAULT_DEPENDENCY_PATHS]);
    expect(c.safetyRails.allowDependencyChanges).toBe(false);
    expect(c.wildcardFeature.changeTypePaths).toEqual(DEFAULT_CHANGE_TYPE_PATHS);
  });

  test('they are strict: unknown keys, invalid globs and unknown change types are errors', () => {
    expect(() => parseConfig({ safetyRails: { fileKinds: { allowSymlink: true } } }, 't')).toThrow(
      /allowSymlink/,
    );
    expect(() => parseConfig({ safetyRails: { testPaths: ['/abs/**'] } }, 't')).toThrow(/absolute/);
    expect(() => parseConfig({ wildcardFeature: { changeTypePaths: { docs: ['docs/**'] } } }, 't')).toThrow();
    expect(() => parseConfig({ safetyRails: { allowDependencyChanges: 'yes' } }, 't')).toThrow();
  });
});

describe('default forbidden commands', () => {
  test('every policy carries the list of the command rule (src/rails/rules/commands.ts), seed 001 ids included', () => {
    const ids = SEED.forbiddenCommands.map((c) => c.id);
    for (const id of [
      'git-push',
      'git-merge',
      'git-rebase',
      'git-commit-amend',
      'git-checkout-protected',
      'systemctl',
      'docker-compose-up',
      'ufw',
      'iptables',
      'sudo',
      'curl-pipe-shell',
      'chmod-777',
      'rm-rf-root',
    ]) {
      expect(ids).toContain(id);
    }
    for (const c of SEED.forbiddenCommands) expect(() => new RegExp(c.pattern, 'i')).not.toThrow();
  });
});
