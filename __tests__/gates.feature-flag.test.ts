import { checkFeatureFlag, type FlagLookup } from '../src/gates/feature-flag.js';

/** A FlagLookup over a plain object that records which keys were asked. */
function flags(values: Record<string, boolean>): FlagLookup & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async getFlag(key) {
      asked.push(key);
      return key in values ? values[key]! : null;
    },
  };
}

describe('checkFeatureFlag', () => {
  it('is off when no flag is set (absent means off), and the reason says how to turn it on', async () => {
    const lookup = flags({});
    const r = await checkFeatureFlag(lookup, 'acme/bot');
    expect(r.outcome).toBe('skip');
    expect(r.reason).toBe(
      'feature flag self_evolution_enabled is not set (defaults to off); turn it on with ' +
        '`npx self-evolution flag set self_evolution_enabled true` (every repository of this database) or ' +
        '`npx self-evolution flag set self_evolution_enabled:acme/bot true` (this repository only)',
    );
    expect(lookup.asked).toEqual(['self_evolution_enabled:acme/bot', 'self_evolution_enabled']);
  });

  it('falls back to the global flag', async () => {
    expect(await checkFeatureFlag(flags({ self_evolution_enabled: true }), 'acme/bot')).toMatchObject({
      gate: 'feature-flag',
      outcome: 'pass',
      reason: 'feature flag self_evolution_enabled is on',
    });
    expect(await checkFeatureFlag(flags({ self_evolution_enabled: false }), 'acme/bot')).toMatchObject({
      outcome: 'skip',
      reason: 'feature flag self_evolution_enabled is off',
    });
  });

  it('a per-repository flag overrides the global one, both ways', async () => {
    const off = flags({ self_evolution_enabled: true, 'self_evolution_enabled:acme/bot': false });
    const r1 = await checkFeatureFlag(off, 'acme/bot');
    expect(r1).toMatchObject({
      outcome: 'skip',
      reason: 'feature flag self_evolution_enabled:acme/bot is off',
    });
    expect(off.asked).toEqual(['self_evolution_enabled:acme/bot']);

    const on = flags({ self_evolution_enabled: false, 'self_evolution_enabled:acme/bot': true });
    expect(await checkFeatureFlag(on, 'acme/bot')).toMatchObject({
      outcome: 'pass',
      reason: 'feature flag self_evolution_enabled:acme/bot is on',
    });
  });

  it("another repository's override does not apply", async () => {
    const r = await checkFeatureFlag(flags({ 'self_evolution_enabled:acme/other': true }), 'acme/bot');
    expect(r.outcome).toBe('skip');
  });

  it('lets a lookup error propagate (runGates turns it into an error)', async () => {
    const broken: FlagLookup = {
      getFlag: () => Promise.reject(new Error('relation "feature_flags" does not exist')),
    };
    await expect(checkFeatureFlag(broken, 'acme/bot')).rejects.toThrow('feature_flags');
  });
});
