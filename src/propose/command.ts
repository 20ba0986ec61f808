/**
 * The command proposer: runs a shell command (a formatter, a codemod, an agent CLI...) in a scratch git
 * worktree of the target at the base commit, and proposes whatever it changed there.
 *
 * The command sees a scrubbed environment (see runner.ts) plus:
 * - SELF_EVOLUTION_GOAL: the human request of the run, or '';
 * - SELF_EVOLUTION_PROPOSAL_FILE: absolute path, outside the worktree, where the command may write a
 *   proposal.json `{title?, description?, type?, riskLevel?, effort?}` overriding the configured metadata;
 * - SELF_EVOLUTION_REFLECTION_FILE: absolute path of the run's reflection as JSON (read-only input);
 * - SELF_EVOLUTION_BASE_SHA: the commit the worktree is at.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { ChangeType, RiskLevel, type CommandProposerConfig } from '../config/schema.js';
import { addWorktree, diffFactsWithLines, headSha, runGit, stageAll, type Worktree } from '../git/git.js';
import { runCommand, scrubEnv, type CommandResult } from './runner.js';
import type {
  FailedProposal,
  Proposal,
  Proposer,
  ProposerContext,
  ProposerResult,
  Provenance,
} from './types.js';

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

/** Where a command proposer reads its environment from; defaults to process.env and no pass-through. */
export interface CommandProposerDeps {
  /** The environment to scrub and pass on (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Names kept even though they look like secrets (see scrubEnv). */
  passEnv?: readonly string[];
}

/** Variables that would point git at another repository than the worktree the command runs in. */
const GIT_LOCATION_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_PREFIX'];

/** Formats zod issues as `key: message; key: message`. */
export function formatZodIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** Replaces each secret (4+ characters) in `text` with `***`. */
function mask(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}

/** The last non-empty line of `text`, at most 200 characters. */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim());
  const line = lines.filter((l) => l !== '').pop() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * Reads and validates the proposal.json at `file`. Returns null when the file does not exist.
 * @throws Error naming the file and the problem when it is not JSON or does not match the schema.
 */
async function readProposalFile(file: string): Promise<CommandProposalFile | null> {
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
  return parsed.data;
}

/**
 * Creates a proposer that runs `cfg.command` with `/bin/sh -c` in a scratch worktree of `ctx.repoDir` at
 * `ctx.baseSha` (timeout `cfg.timeoutSeconds` s) and proposes the resulting change (`git add -A`, then
 * facts, their added lines and the patch from git: diffFactsWithLines). The worktree is always removed.
 *
 * Results: a failing command (non-zero exit), a timeout, an invalid proposal.json or any other error give
 * one FailedProposal; no change gives nothing; otherwise one Proposal whose title, description, type,
 * riskLevel and effort come from proposal.json when written, else from `cfg` (title default
 * `${name}: changes from \`${command}\``). A command that commits moves nothing: its commits are folded
 * back into the staged change against the base commit. Never throws.
 */
export function createCommandProposer(cfg: CommandProposerConfig, deps: CommandProposerDeps = {}): Proposer {
  const name = cfg.name ?? cfg.command;
  return {
    kind: 'command',
    name,
    async propose(ctx: ProposerContext): Promise<ProposerResult> {
      const started = performance.now();
      const baseEnv = deps.env ?? process.env;
      const env = scrubEnv(baseEnv, deps.passEnv);
      const secrets = Object.entries(baseEnv)
        .filter(([k, v]) => v !== undefined && !(k in env))
        .map(([, v]) => v as string);
      for (const v of GIT_LOCATION_VARS) delete env[v];

      let result: CommandResult | undefined;
      const provenance = (): Provenance => ({
        proposer: 'command',
        name,
        command: cfg.command,
        exitCode: result?.exitCode ?? null,
        durationMs: result?.durationMs ?? Math.round(performance.now() - started),
        stdoutTail: mask(result?.stdoutTail ?? '', secrets),
        stderrTail: mask(result?.stderrTail ?? '', secrets),
        timedOut: result?.timedOut ?? false,
      });
      const fail = (error: string, title = cfg.title ?? `${name}: failed`): ProposerResult => {
        const failure: FailedProposal = { title, error: mask(error, secrets), provenance: provenance() };
        ctx.logger.warn(`proposer ${name}: ${failure.error}`);
        return { proposals: [], failures: [failure] };
      };

      let scratch: string | undefined;
      let worktree: Worktree | undefined;
      try {
        scratch = await mkdtemp(join(tmpdir(), 'self-evolution-cmd-'));
        const proposalFile = join(scratch, 'proposal.json');
        const reflectionFile = join(scratch, 'reflection.json');
        await writeFile(reflectionFile, JSON.stringify(ctx.reflection, null, 2), 'utf8');
        worktree = await addWorktree(ctx.repoDir, ctx.baseSha);
        Object.assign(env, {
          SELF_EVOLUTION_GOAL: ctx.request ?? '',
          SELF_EVOLUTION_PROPOSAL_FILE: proposalFile,
          SELF_EVOLUTION_REFLECTION_FILE: reflectionFile,
          SELF_EVOLUTION_BASE_SHA: ctx.baseSha,
        });

        ctx.logger.info(`proposer ${name}: running \`${cfg.command}\` (timeout ${cfg.timeoutSeconds} s)`);
        result = await runCommand(cfg.command, {
          cwd: worktree.dir,
          timeoutMs: cfg.timeoutSeconds * 1000,
          env,
        });
        if (result.timedOut)
          return fail(`command \`${cfg.command}\` timed out after ${cfg.timeoutSeconds} s`);
        if (result.exitCode !== 0) {
          const how =
            result.exitCode === null
              ? `was killed by ${result.signal ?? 'a signal'}`
              : `exited with code ${result.exitCode}`;
          const why = lastLine(result.stderrTail) || lastLine(result.stdoutTail);
          return fail(`command \`${cfg.command}\` ${how}${why ? `: ${why}` : ''}`);
        }

        if ((await headSha(worktree.dir)) !== ctx.baseSha) {
          ctx.logger.info(`proposer ${name}: the command made commits; proposing their combined change`);
          await runGit(['reset', '--soft', '--quiet', ctx.baseSha], { cwd: worktree.dir });
        }
        await stageAll(worktree.dir);
        const { facts, patch, linesError } = await diffFactsWithLines(worktree.dir);
        if (facts.files.length === 0) {
          ctx.logger.info(`proposer ${name}: no change`);
          return { proposals: [], failures: [] };
        }
        if (linesError !== undefined) {
          ctx.logger.warn(`proposer ${name}: added lines not read (${linesError}); the rails will block it`);
        }

        let meta: CommandProposalFile | null;
        try {
          meta = await readProposalFile(proposalFile);
        } catch (e) {
          return fail((e as Error).message);
        }
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
        await worktree?.remove();
        if (scratch) await rm(scratch, { recursive: true, force: true }).catch(() => {});
      }
    },
  };
}
