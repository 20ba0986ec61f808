/**
 * The command proposer: runs a shell command (a formatter, a codemod, a coding-agent CLI such as aider,
 * Claude Code or Codex) in a scratch git worktree of the target at the base commit, and proposes whatever
 * it changed there.
 *
 * The command sees a scrubbed environment (see runner.ts; config `passEnv` lets named variables through)
 * plus:
 * - SELF_EVOLUTION_GOAL: the human request of the run, else the title of the top goal that is not untrusted
 *   text (an issue title never is the goal), else '';
 * - SELF_EVOLUTION_PROMPT_FILE: absolute path of the prompt (Markdown, see prompt.ts): the task, the ranked
 *   goals with untrusted text and evidence fenced as data, the policy, how to describe the change;
 * - SELF_EVOLUTION_PROPOSAL_FILE: absolute path, outside the worktree, where the command may write a
 *   proposal.json `{title?, description?, type?, riskLevel?, effort?}` overriding the configured metadata;
 * - SELF_EVOLUTION_REFLECTION_FILE: absolute path of the run's reflection as JSON (read-only input);
 * - SELF_EVOLUTION_BASE_SHA: the commit the worktree is at.
 *
 * The command runs in a sandbox (src/sandbox/) when the run gives one (`deps.sandbox`): its own PID and mount
 * namespaces, the file system read-only but for its scratch work tree, a private HOME and TMPDIR and the
 * proposal file's directory; the target checkout and the run's state hidden; every process it started killed
 * when it ends. Without one (config `sandbox: "none"`, library use) it runs as the same user with the whole
 * file system and network in reach; what it does to the target checkout is still detected (git/snapshot.ts).
 * Either way its work tree is a git repository of its own, and the change is read with a fresh `.git`
 * (Workspace.seal), so nothing it wrote into its `.git` runs outside the sandbox.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { ChangeType, ConfigSchema, RiskLevel, type CommandProposerConfig } from '../config/schema.js';
import { diffFactsWithLines, stageAll } from '../git/git.js';
import { snapshotCheckout, snapshotChanges } from '../git/snapshot.js';
import { policyFromConfig } from '../rails/policy.js';
import type { ForbiddenCommand } from '../rails/types.js';
import { goalsOf } from '../reflect/types.js';
import { describeForbidden, forbiddenCommandsIn } from '../sandbox/command-policy.js';
import { buildCommandPrompt, sha256Hex, type PolicySummary } from './prompt.js';
import {
  commandLogEntry,
  runCommand,
  scrubEnv,
  type CommandResult,
  type SandboxPlan,
  type SandboxUsed,
} from '../sandbox/runner.js';
import { createWorkspace, type Workspace } from '../sandbox/workspace.js';
import { maskSecrets, redactTokens, secretEnvValues } from '../secrets.js';
import type { FailedProposal, Proposal, Proposer, ProposerContext, ProposerResult } from './types.js';
import type { Provenance } from '../records.js';

/** The optional proposal.json a command may write to SELF_EVOLUTION_PROPOSAL_FILE; unknown keys are errors. */
export const CommandProposalFileSchema = z.strictObject({
  title: z.string().min(1).optional(),
  description: z.string().optional(),
  type: ChangeType.optional(),
  riskLevel: RiskLevel.optional(),
  effort: z.number().int().min(0).max(5).optional(),
});
/** Contents of a command's proposal.json. */
export type CommandProposalFile = z.infer<typeof CommandProposalFileSchema>;

/** What a command proposer gets from the run; every member is optional (library use, tests). */
export interface CommandProposerDeps {
  /** The environment to scrub and pass on (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Names kept even though they look like secrets (see scrubEnv), added to the config's `passEnv`. */
  passEnv?: readonly string[];
  /**
   * The policy the prompt file states, and the forbidden commands the command is checked against (a
   * RailsPolicy fits). Default: the config defaults' paths and limits, DEFAULT_FORBIDDEN_COMMANDS.
   */
  policy?: PolicySummary & { forbiddenCommands?: readonly ForbiddenCommand[] };
  /** More values to mask in everything the proposer returns or logs (the run's token, database URL). */
  secrets?: readonly string[];
  /** The sandbox to run the command in (see SandboxPlan); absent: none (library use, `sandbox: "none"`). */
  sandbox?: SandboxPlan;
}

/** Formats zod issues as `key: message; key: message`. */
export function formatZodIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** The last non-empty line of `text`, at most 200 characters. */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim());
  const line = lines.filter((l) => l !== '').pop() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Most characters of the raw proposal.json kept in the provenance. */
const MAX_PROPOSAL_JSON_CHARS = 8192;

/**
 * Reads and validates the proposal.json at `file`. Returns null when the file does not exist, else the
 * parsed metadata and the raw text.
 * @throws Error naming the file and the problem when it is not JSON or does not match the schema.
 */
async function readProposalFile(file: string): Promise<{ meta: CommandProposalFile; raw: string } | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`proposal.json written by the command is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const parsed = CommandProposalFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`proposal.json written by the command is invalid: ${formatZodIssues(parsed.error)}`);
  }
  return { meta: parsed.data, raw: text };
}

/** Provenance of a command proposal or failure (stored without `prompt`; see Provenance). */
export interface CommandProvenance extends Provenance {
  proposer: 'command';
  command: string;
  /** The prompt file's text (artifacts only). */
  prompt?: string;
  /** Names of the variables passed through although they look like secrets (config passEnv). */
  passEnv: string[];
  /** The time limit the command ran under, ms (its timeoutSeconds, cut to the run's remaining budget). */
  timeoutMs?: number;
  /** The raw proposal.json the command wrote (masked, at most 8 KiB), when it wrote one. */
  proposalJson?: string;
  /** What changed in the target checkout while the command ran, when something did. */
  outsideWrites?: string[];
  /** How the command was isolated: 'bwrap', 'unshare' or 'none'. */
  sandbox: SandboxUsed;
  /** Network inside the sandbox ('on' or 'none'; always 'on' without a sandbox). */
  network: 'on' | 'none';
}

/**
 * Creates a proposer that runs `cfg.command` with `/bin/sh -c` in a scratch worktree of `ctx.repoDir` at
 * `ctx.baseSha` and proposes the resulting change (`git add -A`, then facts, their added lines and the patch
 * from git: diffFactsWithLines). The worktree and the scratch files are always removed.
 *
 * Before anything runs, the command is checked against the command policy (`deps.policy.forbiddenCommands`,
 * default DEFAULT_FORBIDDEN_COMMANDS; see command-policy.ts): a forbidden command is not run. The command
 * gets a scrubbed environment (scrubEnv; `cfg.passEnv` and `deps.passEnv` let named variables through) plus
 * SELF_EVOLUTION_GOAL (the request, else the title of the top trusted goal, else ''), SELF_EVOLUTION_PROMPT_FILE (the
 * prompt: goals, data fences, policy; see prompt.ts), SELF_EVOLUTION_PROPOSAL_FILE, SELF_EVOLUTION_REFLECTION_FILE
 * and SELF_EVOLUTION_BASE_SHA, all outside the worktree. Its time limit is `cfg.timeoutSeconds`, cut to
 * `ctx.timeLimitMs`. The command and its result go to `ctx.onCommand` (commands.jsonl). The target checkout
 * is fingerprinted before and after (git/snapshot.ts): a change there is a failure "wrote outside its
 * worktree".
 *
 * Results, each with a CommandProvenance (values of secret-looking variables masked everywhere): a refused
 * command, a write to the target checkout, a timeout, a non-zero exit, no change at all ("no change: ..."),
 * an invalid proposal.json, an interrupted run (`ctx.signal`: the command's process group is killed) or any
 * other error give one FailedProposal; otherwise one Proposal whose title,
 * description, type, riskLevel and effort come from proposal.json when written, else from `cfg` (title default
 * `${name}: changes from \`${command}\``). A command that commits moves nothing: its commits are folded back
 * into the staged change against the base commit. Never throws.
 */
export function createCommandProposer(cfg: CommandProposerConfig, deps: CommandProposerDeps = {}): Proposer {
  const name = cfg.name ?? cfg.command;
  return {
    kind: 'command',
    name,
    async propose(ctx: ProposerContext): Promise<ProposerResult> {
      const started = performance.now();
      const baseEnv = deps.env ?? process.env;
      const passEnv = [...new Set([...cfg.passEnv, ...(deps.passEnv ?? [])])];
      const env = scrubEnv(baseEnv, passEnv);
      // Mask every secret-looking value, also those passEnv let through (an agent may print its key), but
      // not plain action inputs (INPUT_REQUEST is the request): see secretEnvValues.
      const secrets = [...(deps.secrets ?? []), ...secretEnvValues(baseEnv)];
      const masked = (text: string): string => redactTokens(maskSecrets(text, secrets));
      const goals = goalsOf(ctx.reflection);
      const policy = deps.policy;
      const plan = deps.sandbox;
      const sandbox: SandboxUsed = plan?.tool?.mechanism ?? 'none';
      const network = plan?.tool ? (cfg.network ?? (plan.network ? 'on' : 'none')) : 'on';

      let result: CommandResult | undefined;
      let prompt: string | undefined;
      let timeoutMs = cfg.timeoutSeconds * 1000;
      let proposalJson: string | undefined;
      let outsideWrites: string[] | undefined;
      const provenance = (): CommandProvenance => ({
        proposer: 'command',
        name,
        command: masked(cfg.command),
        exitCode: result?.exitCode ?? null,
        durationMs: result?.durationMs ?? Math.round(performance.now() - started),
        stdoutTail: masked(result?.stdoutTail ?? ''),
        stderrTail: masked(result?.stderrTail ?? ''),
        timedOut: result?.timedOut ?? false,
        timeoutMs,
        passEnv,
        sandbox,
        network,
        signalsAddressed: goals.map((g) => g.id),
        ...(prompt === undefined ? {} : { prompt: masked(prompt), promptSha256: sha256Hex(prompt) }),
        ...(proposalJson === undefined ? {} : { proposalJson }),
        ...(outsideWrites === undefined ? {} : { outsideWrites }),
      });
      const fail = (error: string, title = cfg.title ?? `${name}: failed`): ProposerResult => {
        const failure: FailedProposal = { title, error: masked(error), provenance: provenance() };
        ctx.logger.warn(`proposer ${name}: ${failure.error}`);
        return { proposals: [], failures: [failure] };
      };

      const hits = await forbiddenCommandsIn(cfg.command, policy?.forbiddenCommands);
      if (hits.length > 0) {
        const reason = describeForbidden(hits);
        ctx.onCommand?.({
          kind: 'proposer',
          name: masked(name),
          command: masked(cfg.command),
          cwd: '',
          exitCode: null,
          durationMs: 0,
          timedOut: false,
          timeoutMs: 0,
          outputTail: '',
          refused: reason,
        });
        return fail(`command refused, not run: ${reason}`);
      }

      let ws: Workspace | undefined;
      try {
        if (ctx.signal?.aborted) return fail('not run: the run was interrupted');
        if (ctx.timeLimitMs !== undefined && ctx.timeLimitMs < timeoutMs) {
          timeoutMs = Math.floor(ctx.timeLimitMs);
          if (timeoutMs <= 0) return fail('no time left of proposeBudgetSeconds; not run');
        }
        ws = await createWorkspace(ctx.repoDir, ctx.baseSha);
        const proposalFile = join(ws.output, 'proposal.json');
        const reflectionFile = join(ws.input, 'reflection.json');
        const promptFile = join(ws.input, 'prompt.md');
        prompt = buildCommandPrompt({
          goals,
          policy: policy ?? UNSTATED_POLICY,
          baseSha: ctx.baseSha,
          instructions: cfg.instructions,
        });
        await writeFile(promptFile, prompt, 'utf8');
        await writeFile(reflectionFile, JSON.stringify(ctx.reflection, null, 2), 'utf8');
        const before = await snapshotCheckout(ctx.repoDir);
        const request = ctx.request?.trim();
        Object.assign(env, {
          // Never untrusted text (an issue title) in a variable an agent may take as its instruction.
          SELF_EVOLUTION_GOAL: request ? request : (goals.find((g) => !g.untrusted)?.title ?? ''),
          SELF_EVOLUTION_PROMPT_FILE: promptFile,
          SELF_EVOLUTION_PROPOSAL_FILE: proposalFile,
          SELF_EVOLUTION_REFLECTION_FILE: reflectionFile,
          SELF_EVOLUTION_BASE_SHA: ctx.baseSha,
          TMPDIR: ws.tmp,
          // In a sandbox the real home is read-only and its credential files hidden: a private one instead.
          ...(plan?.tool ? { HOME: ws.home } : {}),
        });

        const seconds = Math.round(timeoutMs / 100) / 10;
        ctx.logger.info(`proposer ${name}: running \`${masked(cfg.command)}\` (timeout ${seconds} s)`);
        result = await runCommand(cfg.command, {
          cwd: ws.work,
          timeoutMs,
          env,
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          ...(plan?.tool
            ? {
                sandbox: {
                  spec: ws.spec(plan.tool, { network: network === 'on', hidden: plan.hidden }),
                  newRoot: ws.newRoot,
                },
              }
            : {}),
        });
        ctx.onCommand?.(
          commandLogEntry(result, { kind: 'proposer', name, command: cfg.command, timeoutMs }, masked),
        );

        if (result.cancelled) return fail(`command \`${cfg.command}\` stopped: the run was interrupted`);
        const changes = snapshotChanges(before, await snapshotCheckout(ctx.repoDir));
        if (changes.length > 0) {
          outsideWrites = changes;
          const shown =
            changes.slice(0, 5).join(', ') + (changes.length > 5 ? `, and ${changes.length - 5} more` : '');
          return fail(
            `wrote outside its worktree: the target checkout ${ctx.repoDir} changed while \`${cfg.command}\` ran (${shown}); nothing of it is proposed, check the checkout by hand`,
          );
        }
        if (result.timedOut) return fail(`command \`${cfg.command}\` timed out after ${seconds} s`);
        if (result.exitCode !== 0) {
          const how =
            result.exitCode === null
              ? `was killed by ${result.signal ?? 'a signal'}`
              : `exited with code ${result.exitCode}`;
          const why = lastLine(result.stderrTail) || lastLine(result.stdoutTail);
          return fail(`command \`${cfg.command}\` ${how}${why ? `: ${why}` : ''}`);
        }

        // Whatever the command did to its .git (commits included) is set aside: the change is its work tree
        // against the base commit, read with a fresh repository.
        await ws.seal();
        await stageAll(ws.work);
        const { facts, patch, linesError } = await diffFactsWithLines(ws.work, 'HEAD', ctx.policy);

        let file: { meta: CommandProposalFile; raw: string } | null;
        try {
          file = await readProposalFile(proposalFile);
        } catch (e) {
          return fail((e as Error).message);
        }
        if (file) {
          const raw = masked(file.raw);
          proposalJson =
            raw.length > MAX_PROPOSAL_JSON_CHARS ? `${raw.slice(0, MAX_PROPOSAL_JSON_CHARS)}…` : raw;
        }
        if (facts.files.length === 0) {
          return fail(
            `no change: \`${cfg.command}\` exited 0 but left the worktree unchanged`,
            file?.meta.title ?? cfg.title ?? `${name}: no change`,
          );
        }
        if (linesError !== undefined) {
          ctx.logger.warn(`proposer ${name}: added lines not read (${linesError}); the rails will block it`);
        }
        const meta = file?.meta;
        const proposal: Proposal = {
          title: meta?.title ?? cfg.title ?? `${name}: changes from \`${cfg.command}\``,
          description:
            meta?.description ??
            cfg.description ??
            `Changes made by running \`${cfg.command}\` on ${ctx.baseSha.slice(0, 12)}.`,
          type: meta?.type ?? cfg.type,
          riskLevel: meta?.riskLevel ?? cfg.riskLevel,
          effort: meta?.effort ?? cfg.effort,
          patch,
          facts,
          baseSha: ctx.baseSha,
          provenance: provenance(),
        };
        ctx.logger.info(`proposer ${name}: proposed "${proposal.title}" (${facts.files.length} file(s))`);
        return { proposals: [proposal], failures: [] };
      } catch (e) {
        return fail(`proposer error: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        await ws?.remove();
      }
    },
  };
}

/**
 * The policy stated when a command proposer is built without one (library use): the engine's defaults, the
 * rails policy of an empty config (so it follows the schema's defaults).
 */
const UNSTATED_POLICY: PolicySummary = policyFromConfig(ConfigSchema.parse({}));
