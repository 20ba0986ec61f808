/** userError: the one place both adapters turn an error into a user message and an exit code. */
import { ConfigError } from '../src/config/errors.js';
import { userError } from '../src/errors.js';
import { FactsError, PatchError } from '../src/git/errors.js';
import { UsageError } from '../src/options.js';

const SECRET = 's3cr3t-password-value';

describe('userError', () => {
  it('gives exit code 2 for input the user must fix, whatever the command', () => {
    for (const err of [
      new ConfigError(`bad config\n  - $.x: expected a number, found "${SECRET}"`, {
        kind: 'schema',
        source: 'f',
      }),
      new UsageError('--repository must be owner/name'),
      new PatchError('patch-unreadable', 'git apply says: corrupt patch at line 3'),
      new FactsError('bad-revision', 'no such commit: main~9'),
    ]) {
      for (const command of ['run', 'check', 'other'] as const) {
        expect(userError(err, [SECRET], command)).toMatchObject({ exitCode: 2, usage: true });
      }
    }
  });

  it('gives 1 for a failure at run time, but 2 in check (where 1 means blocked)', () => {
    const down = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    expect(userError(down, [], 'run')).toEqual({ message: down.message, exitCode: 1, usage: false });
    expect(userError(down, [], 'check')).toEqual({ message: down.message, exitCode: 2, usage: false });
  });

  it('decides by instanceof, not by name: an Error merely named ConfigError is a run-time failure', () => {
    const fake = Object.assign(new Error('x'), { name: 'ConfigError' });
    expect(userError(fake, [], 'run').exitCode).toBe(1);
  });

  it('keeps every line of a ConfigError, only the first of anything else, and masks secrets in both', () => {
    const config = userError(
      new ConfigError(`bad config\n  - $.a: found "${SECRET}"\n  - $.b: found 3`, {
        kind: 'schema',
        source: 'f',
      }),
      [SECRET],
    );
    expect(config.message.split('\n')).toHaveLength(3);
    expect(config.message).not.toContain(SECRET);
    const other = new Error(`failed with ${SECRET}\n    at stack (file.ts:1:1)`);
    expect(userError(other, [SECRET]).message).toBe('failed with ***');
  });

  it('accepts anything thrown: strings, undefined, objects', () => {
    expect(userError('plain text', []).message).toBe('plain text');
    expect(userError(undefined, []).message).toBe('undefined');
    expect(userError({ code: 7 }, []).exitCode).toBe(1);
  });
});
