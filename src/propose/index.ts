/** Builds the configured proposers. */
import type { ProposerConfig } from '../config/schema.js';
import { createCommandProposer, type CommandProposerDeps } from './command.js';
import { createFileProposer } from './file.js';
import type { Proposer } from './types.js';

/**
 * One Proposer per config entry, in config order. `deps` (environment and pass-through names) goes to the
 * command proposers; by default they scrub process.env.
 * @throws Error naming the kind when an entry has a kind this build does not know (config validation
 *   normally rules that out).
 */
export function createProposers(
  configs: readonly ProposerConfig[],
  deps: CommandProposerDeps = {},
): Proposer[] {
  return configs.map((cfg) => {
    switch (cfg.kind) {
      case 'command':
        return createCommandProposer(cfg, deps);
      case 'file':
        return createFileProposer(cfg);
      default: {
        const unknown: never = cfg;
        throw new Error(
          `unknown proposer kind ${JSON.stringify((unknown as { kind?: unknown }).kind)}; expected 'command' or 'file'`,
        );
      }
    }
  });
}
