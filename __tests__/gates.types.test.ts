import { firstBlocking, skipReasonOf, type GateResult } from '../src/gates/types.js';
import { errorMessage } from '../src/github/errors.js';
import { redactTokens } from '../src/secrets.js';

const pass: GateResult = { gate: 'config-enabled', outcome: 'pass', reason: 'config: enabled is true' };
const notChecked: GateResult = {
  gate: 'activity',
  outcome: 'not-checked',
  reason: 'not checked: no GitHub token',
};
const skip: GateResult = {
  gate: 'feature-flag',
  outcome: 'skip',
  reason: 'feature flag self_evolution_enabled is off',
};
const error: GateResult = { gate: 'cooldown', outcome: 'error', reason: 'connection refused' };

describe('firstBlocking', () => {
  it('is undefined when every gate passed or was not checked', () => {
    expect(firstBlocking([pass, notChecked])).toBeUndefined();
    expect(firstBlocking([])).toBeUndefined();
  });

  it('returns the first skip or error in order', () => {
    expect(firstBlocking([pass, notChecked, skip, error])).toBe(skip);
    expect(firstBlocking([pass, error, skip])).toBe(error);
  });
});

describe('skipReasonOf', () => {
  it('is the reason of a skip', () => {
    expect(skipReasonOf(skip)).toBe('feature flag self_evolution_enabled is off');
  });

  it('names the gate of an error', () => {
    expect(skipReasonOf(error)).toBe('cooldown gate error: connection refused');
  });
});

describe('redactTokens / errorMessage', () => {
  it('removes GitHub tokens of every kind', () => {
    const text = 'a ghp_abcdefghijklmnop0123 b ghs_ZZZZZZZZZZZZZZZZ c github_pat_11AAAAAAA0123456789_xyz d';
    expect(redactTokens(text)).toBe('a *** b *** c *** d');
  });

  it('takes the message of an Error, a string or anything else, redacted and cut', () => {
    expect(errorMessage(new Error('boom ghp_abcdefghijklmnop0123'))).toBe('boom ***');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage({ code: 'E1' })).toBe('{"code":"E1"}');
    expect(errorMessage(undefined)).toBe('undefined');
    const long = errorMessage(new Error('x'.repeat(1000)), 50);
    expect(long).toHaveLength(50);
    expect(long.endsWith('…')).toBe(true);
  });
});
