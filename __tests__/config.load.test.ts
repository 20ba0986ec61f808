import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, jsonPath, loadConfig, parseConfig, parseConfigText } from '../src/config/load.js';
import { DEFAULT_ALLOWED_PATHS, DEFAULT_BLOCKED_PATHS, globProblem } from '../src/config/schema.js';

/** A v0-style file (seed 004) with every key the seed's config has, values changed from the defaults. */
const FULL_V0 = {
  version: '1.0.0',
  enabled: true,
  dryRunMode: true,
  scheduleConfig: { cronSchedule: '0 3 * * *', jitterMinutes: 15, skipDuringDeployments: true },
  safetyRails: {
    diffCaps: { maxLinesOfCode: 400, maxFilesChanged: 8, requireGreenCI: true },
    allowedPaths: ['packages/agent/src/tools/**', 'docs/**/*.md', '.github/self-evolution-config.json'],
    blockedPaths: ['.github/workflows/**', 'packages/database/**', '.env*', 'pnpm-lock.yaml'],
    allowedChangeTypes: ['capability', 'prompt', 'persona', 'cleanup', 'wildcard'],
    maxRiskLevel: 2,
    requireReviewers: true,
  },
  wildcardFeature: {
    enabled: false,
    maxRiskLevel: 1,
    allowedTypes: ['persona', 'prompt'],
    description: 'One small, reversible, low-risk change per day',
  },
  telemetry: {
    logRetentionDays: 90,
    storeReflections: true,
    storeProposals: true,
    storeActions: true,
    attachArtifacts: true,
  },
  prTemplateConfig: {
    autoLabels: ['self-evolution', 'automated'],
    autoRequestReviewers: true,
    branchPrefix: 'self-evolution/',
    requireChecklist: true,
  },
  rollbackConfig: { autoRevertOnFailure: true, maxFailuresBeforeDisable: 3, cooldownHours: 24 },
};

/** The ConfigError thrown by fn (fails the test when fn does not throw one). */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('parseConfig defaults', () => {
  const config = parseConfig({}, 'test');

  test('an empty object gives the seed 004 values', () => {
    expect(config.safetyRails.diffCaps.maxLinesOfCode).toBe(500);
    expect(config.safetyRails.diffCaps.maxFilesChanged).toBe(10);
    expect(config.safetyRails.maxRiskLevel).toBe(2);
    expect(config.wildcardFeature.maxRiskLevel).toBe(1);
    expect(config.wildcardFeature.enabled).toBe(false);
    expect(config.scheduleConfig.jitterMinutes).toBe(20);
    expect(config.scheduleConfig.cronSchedule).toBe('0 2 * * *');
    expect(config.telemetry.logRetentionDays).toBe(90);
    expect(config.rollbackConfig.cooldownHours).toBe(24);
    expect(config.prTemplateConfig.branchPrefix).toBe('self-evolution/');
    expect(config.enabled).toBe(false);
    expect(config.dryRunMode).toBe(true);
    expect(config.safetyRails.allowedPaths).toEqual([...DEFAULT_ALLOWED_PATHS]);
    expect(config.safetyRails.blockedPaths).toEqual([
      '.github/workflows/**',
      'packages/database/**',
      '.env*',
      'pnpm-lock.yaml',
    ]);
    expect(config.proposers).toEqual([]);
  });

  test('defaults are fresh arrays, not the frozen constants', () => {
    const a = parseConfig({}, 'a');
    a.safetyRails.blockedPaths.push('x');
    expect(parseConfig({}, 'b').safetyRails.blockedPaths).toEqual([...DEFAULT_BLOCKED_PATHS]);
  });

  test('a partial object keeps its values and fills the rest', () => {
    const c = parseConfig({ safetyRails: { diffCaps: { maxLinesOfCode: 50 } } }, 'test');
    expect(c.safetyRails.diffCaps.maxLinesOfCode).toBe(50);
    expect(c.safetyRails.diffCaps.maxFilesChanged).toBe(10);
    expect(c.safetyRails.diffCaps.requireGreenCI).toBe(true);
  });
});

describe('parseConfig on valid files', () => {
  test('a full v0-style file with every seed key loads with its values', () => {
    const c = parseConfig(FULL_V0, 'v0.json');
    expect(c.enabled).toBe(true);
    expect(c.scheduleConfig.jitterMinutes).toBe(15);
    expect(c.safetyRails.diffCaps.maxLinesOfCode).toBe(400);
    expect(c.safetyRails.diffCaps.maxFilesChanged).toBe(8);
    expect(c.prTemplateConfig.autoLabels).toEqual(['self-evolution', 'automated']);
    expect(c.wildcardFeature.description).toBe('One small, reversible, low-risk change per day');
  });

  test('proposers get their defaults', () => {
    const c = parseConfig(
      {
        $schema: '../schema/self-evolution-config.schema.json',
        proposers: [{ kind: 'command', command: 'echo hi' }],
      },
      't',
    );
    expect(c.proposers[0]).toEqual({
      kind: 'command',
      command: 'echo hi',
      timeoutSeconds: 300,
      type: 'cleanup',
      riskLevel: 1,
      effort: 1,
      passEnv: [],
    });
  });

  test('reflection, limits and the openai proposer get their defaults', () => {
    const c = parseConfig(
      {
        proposers: [
          { kind: 'command', command: 'aider --yes', passEnv: ['OPENAI_API_KEY'], instructions: 'be brief' },
          { kind: 'openai', baseURL: 'http://127.0.0.1:11434/v1', model: 'llama3' },
        ],
        reflection: { checks: [{ name: 'lint', command: 'npm run lint' }] },
      },
      't',
    );
    expect(c.reflection).toEqual({
      checks: [{ name: 'lint', command: 'npm run lint', timeoutSeconds: 300 }],
      windowDays: 30,
      githubWindowDays: 7,
      maxGoals: 5,
    });
    expect(c.limits).toEqual({
      maxProposalsPerRun: 5,
      proposeBudgetSeconds: 1800,
      tokenBudgetPerRun: 200000,
    });
    expect(c.proposers[0]).toMatchObject({ passEnv: ['OPENAI_API_KEY'], instructions: 'be brief' });
    expect(c.proposers[1]).toMatchObject({ kind: 'openai', apiKeyEnv: 'OPENAI_API_KEY', maxRetries: 1 });
  });

  test('passEnv takes variable names, not values; limits must be positive', () => {
    const err = configErrorOf(() =>
      parseConfig(
        {
          proposers: [{ kind: 'command', command: 'x', passEnv: ['sk-live key'] }],
          limits: { maxProposalsPerRun: 0 },
          reflection: {
            checks: [
              { name: 'a', command: 'x' },
              { name: 'a', command: 'y' },
            ],
          },
        },
        'c.json',
      ),
    );
    expect(err.issues.map((i) => i.path).sort()).toEqual([
      '$.limits.maxProposalsPerRun',
      '$.proposers[0].passEnv[0]',
      '$.reflection.checks[1].name',
    ]);
  });
});

describe('parseConfig on invalid input', () => {
  test('an unknown key is named with its JSON path, with a suggestion', () => {
    const err = configErrorOf(() =>
      parseConfig({ safetyRails: { diffCaps: { maxLineOfCode: 5 } } }, 'c.json'),
    );
    expect(err.kind).toBe('schema');
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe('$.safetyRails.diffCaps.maxLineOfCode');
    expect(err.issues[0]!.message).toContain('unknown key "maxLineOfCode"');
    expect(err.issues[0]!.message).toContain('did you mean "maxLinesOfCode"?');
    expect(err.issues[0]!.message).toContain(
      'allowed here: maxLinesOfCode, maxFilesChanged, maxBytesChanged, maxLineLength, requireGreenCI',
    );
    expect(err.message).toContain('c.json');
    expect(err.message).toContain('$.safetyRails.diffCaps.maxLineOfCode');
  });

  test('two unknown keys in one object are two issues', () => {
    const err = configErrorOf(() => parseConfig({ foo: 1, bar: 2 }, 'c.json'));
    expect(err.issues.map((i) => i.path).sort()).toEqual(['$.bar', '$.foo']);
    expect(err.issues.every((i) => !i.message.includes('did you mean'))).toBe(true);
  });

  test('every problem is listed at once, each with its path and what was found', () => {
    const err = configErrorOf(() =>
      parseConfig(
        {
          enabled: 'yes',
          safetyRails: { diffCaps: { maxLinesOfCode: -3 }, maxRiskLevel: 7, allowedPaths: ['docs/**', ''] },
          wildcardFeature: { allowedTypes: ['nope'] },
          proposers: [{ kind: 'shell' }, { kind: 'command', timeoutSeconds: 1.5 }],
          unknownTop: true,
        },
        'c.json',
      ),
    );
    const byPath = Object.fromEntries(err.issues.map((i) => [i.path, i.message]));
    expect(byPath['$.enabled']).toBe('expected true or false, found a string "yes"');
    expect(byPath['$.safetyRails.diffCaps.maxLinesOfCode']).toBe('expected a number > 0, found -3');
    expect(byPath['$.safetyRails.maxRiskLevel']).toBe('expected a number <= 5, found 7');
    expect(byPath['$.safetyRails.allowedPaths[1]']).toContain('empty');
    expect(byPath['$.wildcardFeature.allowedTypes[0]']).toBe(
      'expected one of "capability", "prompt", "persona", "cleanup", "wildcard", found "nope"',
    );
    expect(byPath['$.proposers[0].kind']).toBe(
      'expected kind to be one of "command", "file", "openai", found "shell"',
    );
    expect(byPath['$.proposers[1].command']).toBe('required: a string is missing');
    expect(byPath['$.proposers[1].timeoutSeconds']).toBe('expected an integer, found a number 1.5');
    expect(byPath['$.unknownTop']).toContain('unknown key "unknownTop"');
    expect(err.issues).toHaveLength(9);
    expect(err.message.split('\n')[0]).toBe('invalid config file c.json (9 problems):');
    for (const issue of err.issues) expect(err.message).toContain(`  - ${issue.path}: ${issue.message}`);
  });

  test('a wrong type is one issue, not followed by checks that repeat it', () => {
    const err = configErrorOf(() => parseConfig({ safetyRails: { blockedPaths: 'x' } }, 'c.json'));
    expect(err.issues).toEqual([
      { path: '$.safetyRails.blockedPaths', message: 'expected an array, found a string "x"' },
    ]);
  });

  test('a non-object document is one issue at $', () => {
    const err = configErrorOf(() => parseConfig([], 'c.json'));
    expect(err.issues).toEqual([{ path: '$', message: 'expected an object, found an array []' }]);
    expect(configErrorOf(() => parseConfig({ safetyRails: null }, 'c.json')).issues[0]!.message).toBe(
      'expected an object, found null null',
    );
  });

  test.each([
    ['!docs/**', 'negation'],
    ['#docs', 'comment'],
    ['/docs/**', 'absolute'],
    ['../x/**', '".."'],
    ['docs\\**', 'backslash'],
    [' docs/**', 'whitespace'],
    ['a'.repeat(70_000), 'not a valid minimatch pattern'],
  ])('glob %j in blockedPaths is an issue (%s)', (glob, words) => {
    const err = configErrorOf(() =>
      parseConfig({ safetyRails: { blockedPaths: ['.env*', glob] } }, 'c.json'),
    );
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe('$.safetyRails.blockedPaths[1]');
    expect(err.issues[0]!.message).toContain(words);
  });

  test('seed globs and ordinary globs pass', () => {
    for (const g of [
      ...DEFAULT_ALLOWED_PATHS,
      ...DEFAULT_BLOCKED_PATHS,
      'src/**/*.{ts,js}',
      '[abc].md',
      '**',
    ]) {
      expect(globProblem(g)).toBeUndefined();
    }
  });
});

describe('jsonPath', () => {
  test('formats identifiers, indexes and odd keys', () => {
    expect(jsonPath([])).toBe('$');
    expect(jsonPath(['proposers', 0, 'kind'])).toBe('$.proposers[0].kind');
    expect(jsonPath(['$schema'])).toBe('$.$schema');
    expect(jsonPath(['a b', 'c'])).toBe('$["a b"].c');
  });
});

describe('parseConfigText (JSON errors)', () => {
  test.each([
    ['{\n  "enabled": true\n  "dryRunMode": true\n}', 3, 3, "expected ','"],
    ['{\n  "enabled": }', 2, 14, 'expected a value'],
    ['{\n  "enabled": true,\n}', 3, 1, 'trailing comma'],
    ['{"enabled": tru}', 1, 13, 'unexpected character'],
    ['', 1, 1, 'expected a value'],
    ['{\n  // comment\n  "enabled": true\n}', 2, 3, 'JSON allows no comments'],
    ['{"a": "x\ny"}', 1, 7, 'unterminated string'],
    ['{} {}', 1, 4, 'after the end'],
  ])('%j fails at its line and column', (text, line, column, words) => {
    const err = configErrorOf(() => parseConfigText(text, 'c.json'));
    expect(err.kind).toBe('json');
    expect(err.message).toContain(`invalid JSON in config file c.json at line ${line}, column ${column}`);
    expect(err.message).toContain(words);
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe('$');
    expect(err.issues[0]!.message).toContain(`line ${line}:${column}`);
  });

  test('the caret points at the column', () => {
    const err = configErrorOf(() => parseConfigText('{\n  "enabled": }', 'c.json'));
    const lines = err.message.split('\n');
    expect(lines[1]).toBe('    "enabled": }');
    expect(lines[2]).toBe(`  ${' '.repeat(13)}^`);
  });

  test('a byte order mark is ignored and raw is the parsed JSON', () => {
    const loaded = parseConfigText('\ufeff{"enabled": true}', 'c.json');
    expect(loaded.config.enabled).toBe(true);
    expect(loaded.raw).toEqual({ enabled: true });
    expect(loaded.path).toBe('c.json');
  });

  test('valid JSON with schema problems is a schema error', () => {
    expect(configErrorOf(() => parseConfigText('{"x": 1}', 'c.json')).kind).toBe('schema');
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'se-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function rejection(path: string): Promise<ConfigError> {
    const err = await loadConfig(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }

  test('loads a file: config, path and raw', async () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify(FULL_V0, null, 2));
    const loaded = await loadConfig(path);
    expect(loaded.path).toBe(path);
    expect(loaded.raw).toEqual(FULL_V0);
    expect(loaded.config.safetyRails.diffCaps.maxFilesChanged).toBe(8);
  });

  test('a missing file says where and what to do', async () => {
    const path = join(dir, 'nope', 'self-evolution-config.json');
    const err = await rejection(path);
    expect(err.kind).toBe('not-found');
    expect(err.name).toBe('ConfigError');
    expect(err.message).toBe(
      `config file not found: ${path}; create it (see README 'Config reference') or pass --config / config-path`,
    );
  });

  test('a directory is unreadable, not missing', async () => {
    const path = join(dir, 'a-dir');
    mkdirSync(path);
    const err = await rejection(path);
    expect(err.kind).toBe('unreadable');
    expect(err.message).toContain('it is a directory');
  });

  test('malformed JSON names the file, line and column', async () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, '{\n  "enabled": false,\n  "dryRunMode": true,,\n}\n');
    const err = await rejection(path);
    expect(err.kind).toBe('json');
    expect(err.message).toContain(`${path} at line 3, column 22`);
  });

  test('schema errors from a file list every issue', async () => {
    const path = join(dir, 'schema.json');
    writeFileSync(path, JSON.stringify({ enabled: 1, telemetry: { logRetentionDays: 0 } }));
    const err = await rejection(path);
    expect(err.kind).toBe('schema');
    expect(err.issues.map((i) => i.path)).toEqual(['$.enabled', '$.telemetry.logRetentionDays']);
  });
});
