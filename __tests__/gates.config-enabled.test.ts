import { ConfigSchema } from '../src/config/schema.js';
import { checkConfigEnabled } from '../src/gates/config-enabled.js';

describe('checkConfigEnabled', () => {
  it('skips with the default config (enabled defaults to false)', () => {
    expect(checkConfigEnabled(ConfigSchema.parse({}))).toEqual({
      gate: 'config-enabled',
      outcome: 'skip',
      reason: 'config: enabled is false',
    });
  });

  it('passes when enabled', () => {
    expect(checkConfigEnabled(ConfigSchema.parse({ enabled: true })).outcome).toBe('pass');
  });
});
