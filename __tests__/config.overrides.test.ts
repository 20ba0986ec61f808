import { ConfigError } from '../src/config/load.js';
import { applyEnvOverrides, parseEnvOverrides } from '../src/config/overrides.js';
import { parseConfig } from '../src/config/load.js';

function errorOf(env: Record<string, string | undefined>): ConfigError {
  try {
    parseEnvOverrides(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnvOverrides', () => {
  test('nothing set gives no overrides', () => {
    expect(parseEnvOverrides({})).toEqual({});
    expect(parseEnvOverrides({ PATH: '/bin', SELF_EVOLUTION_MAX_LOC: undefined })).toEqual({});
  });

  test('empty or blank values mean unset', () => {
    expect(parseEnvOverrides({ SELF_EVOLUTION_MAX_FILES: '', SELF_EVOLUTION_TIMEOUT: '  ' })).toEqual({});
  });

  test('reads all three', () => {
    expect(
      parseEnvOverrides({
        SELF_EVOLUTION_MAX_FILES: '3',
        SELF_EVOLUTION_MAX_LOC: ' 120 ',
        SELF_EVOLUTION_TIMEOUT: '3600',
      }),
    ).toEqual({ maxFilesChanged: 3, maxLinesOfCode: 120, commandTimeoutSeconds: 3600 });
  });

  test('the seed 000/001 MILTON_ names are not read', () => {
    expect(parseEnvOverrides({ MILTON_SELF_UPGRADE_MAX_LOC: '5' })).toEqual({});
  });

  test.each([
    ['SELF_EVOLUTION_MAX_FILES', '0'],
    ['SELF_EVOLUTION_MAX_FILES', '-1'],
    ['SELF_EVOLUTION_MAX_LOC', '1.5'],
    ['SELF_EVOLUTION_MAX_LOC', '1e3'],
    ['SELF_EVOLUTION_MAX_LOC', 'abc'],
    ['SELF_EVOLUTION_MAX_LOC', '0x10'],
    ['SELF_EVOLUTION_MAX_LOC', '99999999999999999999'],
    ['SELF_EVOLUTION_TIMEOUT', '3601'],
    ['SELF_EVOLUTION_TIMEOUT', '5m'],
  ])('%s=%j is rejected, naming the variable, the value and the range', (name, value) => {
    const err = errorOf({ [name]: value });
    expect(err.kind).toBe('env');
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe(name);
    expect(err.message).toContain(`${name}=${JSON.stringify(value)}`);
    expect(err.message).toContain(name === 'SELF_EVOLUTION_TIMEOUT' ? '1..3600' : 'at least 1');
  });

  test('every bad variable is reported at once', () => {
    const err = errorOf({
      SELF_EVOLUTION_MAX_FILES: 'x',
      SELF_EVOLUTION_MAX_LOC: '10',
      SELF_EVOLUTION_TIMEOUT: '0',
    });
    expect(err.issues.map((i) => i.path)).toEqual(['SELF_EVOLUTION_MAX_FILES', 'SELF_EVOLUTION_TIMEOUT']);
    expect(err.message.split('\n')[0]).toBe('invalid environment overrides (2 problems):');
  });
});

describe('applyEnvOverrides', () => {
  const base = parseConfig(
    {
      proposers: [
        { kind: 'command', command: 'a', timeoutSeconds: 10 },
        { kind: 'file', directory: 'proposals' },
        { kind: 'command', command: 'b' },
      ],
    },
    'test',
  );
  const snapshot = JSON.stringify(base);

  test('no overrides: equal values, new object', () => {
    const out = applyEnvOverrides(base, {});
    expect(out).toEqual(base);
    expect(out).not.toBe(base);
  });

  test('replaces the caps and every command proposer timeout, leaves the rest', () => {
    const out = applyEnvOverrides(base, {
      maxFilesChanged: 2,
      maxLinesOfCode: 40,
      commandTimeoutSeconds: 60,
    });
    expect(out.safetyRails.diffCaps).toEqual({
      maxFilesChanged: 2,
      maxLinesOfCode: 40,
      maxBytesChanged: 262144,
      maxLineLength: 1000,
      requireGreenCI: true,
    });
    expect(out.proposers.map((p) => (p.kind === 'command' ? p.timeoutSeconds : p.kind))).toEqual([
      60,
      'file',
      60,
    ]);
    expect(out.safetyRails.allowedPaths).toEqual(base.safetyRails.allowedPaths);
    expect(out.wildcardFeature).toEqual(base.wildcardFeature);
  });

  test('one override leaves the other values', () => {
    const out = applyEnvOverrides(base, { maxLinesOfCode: 7 });
    expect(out.safetyRails.diffCaps.maxLinesOfCode).toBe(7);
    expect(out.safetyRails.diffCaps.maxFilesChanged).toBe(10);
    expect(out.proposers).toEqual(base.proposers);
  });

  test('is pure: the input config is unchanged', () => {
    applyEnvOverrides(base, { maxFilesChanged: 1, maxLinesOfCode: 1, commandTimeoutSeconds: 1 });
    expect(JSON.stringify(base)).toBe(snapshot);
  });
});
