/** Builds the configured proposers. */
import type { ProposerConfig } from '../config/schema.js';
import type { ForbiddenCommand } from '../rails/types.js';
import { createCommandProposer } from './command.js';
import { createFileProposer } from './file.js';
import { createOpenAIProposer } from './openai.js';
import type { PolicySummary } from './prompt.js';
import type { Proposer } from './types.js';
import type { SandboxPlan } from '../sandbox/runner.js';

/** What the run gives every proposer it builds. */
export interface ProposersDeps {
  /**
   * The rails policy (policyFromConfig): stated in the prompts, honoured when the openai proposer picks
   * files, and its forbiddenCommands checked before a command runs.
   */
  policy: PolicySummary & { forbiddenCommands?: readonly ForbiddenCommand[] };
  /**
   * The run's environment: scrubbed for commands (their config `passEnv` lets named variables through);
   * an openai proposer reads only its `apiKeyEnv` from it.
   */
  env: Readonly<Record<string, string | undefined>>;
  /** Values to mask in everything proposers return or log (the run's token, database URL). */
  secrets?: readonly string[];
  /** fetch for the openai SDK (tests); default globalThis.fetch. */
  fetch?: typeof fetch;
  /** The sandbox command proposers run in; absent: none. */
  sandbox?: SandboxPlan;
}

/**
 * One Proposer per config entry, in config order: command (with `deps.env`, `deps.policy`,
 * `deps.secrets`, `deps.sandbox`), file, openai (with `deps.env`, `deps.policy`, `deps.fetch`).
 * @throws Error naming the kind when an entry has a kind this build does not know (config validation
 *   normally rules that out).
 */
export function createProposers(configs: readonly ProposerConfig[], deps: ProposersDeps): Proposer[] {
  return configs.map((cfg) => {
    switch (cfg.kind) {
      case 'command':
        return createCommandProposer(cfg, {
          env: deps.env,
          policy: deps.policy,
          secrets: deps.secrets,
          ...(deps.sandbox ? { sandbox: deps.sandbox } : {}),
        });
      case 'file':
        return createFileProposer(cfg);
      case 'openai':
        return createOpenAIProposer(cfg, {
          env: deps.env,
          policy: deps.policy,
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
        });
      default: {
        const unknown: never = cfg;
        throw new Error(
          `unknown proposer kind ${JSON.stringify((unknown as { kind?: unknown }).kind)}; expected 'command', 'file' or 'openai'`,
        );
      }
    }
  });
}
