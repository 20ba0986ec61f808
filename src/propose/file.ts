/**
 * The file proposer: ready-made proposals kept in the repository as `<name>.patch` (git diff output) with a
 * `<name>.json` beside it `{title, description?, type, riskLevel, effort?}`. Each patch is applied with
 * `git apply --index` in a scratch worktree at the base commit, so its facts and its normalized patch come
 * from git, and a patch that does not apply to the base is reported rather than proposed.
 */
import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { ChangeType, RiskLevel, type FileProposerConfig } from '../config/schema.js';
import { addWorktree, applyPatch, diffFactsWithLines, GitError, runGit, type Worktree } from '../git/git.js';
import { formatZodIssues } from './command.js';
import type { FailedProposal, Proposal, Proposer, ProposerContext, ProposerResult } from './types.js';

/** The `<name>.json` beside each `<name>.patch`; unknown keys are errors. */
export const PatchMetadataSchema = z.strictObject({
  title: z.string().min(1),
  description: z.string().optional(),
  type: ChangeType,
  riskLevel: RiskLevel,
  effort: z.number().int().min(0).max(5).optional(),
});
/** Contents of a patch's metadata file. */
export type PatchMetadata = z.infer<typeof PatchMetadataSchema>;

/** Effort used when a patch's metadata does not state one (0-5). */
export const DEFAULT_PATCH_EFFORT = 1;

/** How many lines of git's stderr a failure message quotes. */
const GIT_MESSAGE_LINES = 3;

/** git's own explanation of a failure, in one line. */
function gitReason(e: unknown): string {
  if (e instanceof GitError) {
    const lines = e.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    return lines.length ? lines.slice(0, GIT_MESSAGE_LINES).join(' | ') : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Reads and validates a patch's metadata file; returns the problem as a string instead of throwing. */
async function readMetadata(file: string, shown: string): Promise<PatchMetadata | string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT'
      ? `${shown} is missing (each .patch needs a .json beside it with title, type and riskLevel)`
      : `${shown} cannot be read: ${(e as Error).message}`;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return `${shown} is not valid JSON: ${(e as Error).message}`;
  }
  const parsed = PatchMetadataSchema.safeParse(json);
  return parsed.success ? parsed.data : `${shown} is invalid: ${formatZodIssues(parsed.error)}`;
}

/**
 * Creates a proposer that reads `<repoDir>/<cfg.directory>/*.patch` in name order. For each patch it
 * needs `<same name>.json` (see PatchMetadataSchema), applies the patch in one scratch worktree at
 * `ctx.baseSha` (reset between patches, always removed) and yields a Proposal with git's facts, their added
 * lines (`facts.addedLines`, for the rails' content rules; left unset with a warning when they cannot be read)
 * and the normalized patch (`git diff --cached --binary`). A missing directory, a missing/invalid .json, an empty
 * patch, a patch git cannot apply or one that changes nothing each give a FailedProposal naming the file
 * and the reason. A directory with no .patch file gives nothing. Never throws.
 */
export function createFileProposer(cfg: FileProposerConfig): Proposer {
  const name = cfg.name ?? `file:${cfg.directory}`;
  const dirShown = cfg.directory.split(sep).join('/').replace(/\/+$/, '');
  return {
    kind: 'file',
    name,
    async propose(ctx: ProposerContext): Promise<ProposerResult> {
      const result: ProposerResult = { proposals: [], failures: [] };
      const fail = (title: string, error: string, source: string, started: number): void => {
        const failure: FailedProposal = {
          title,
          error,
          provenance: { proposer: 'file', name, source, durationMs: Math.round(performance.now() - started) },
        };
        ctx.logger.warn(`proposer ${name}: ${error}`);
        result.failures.push(failure);
      };

      const listStarted = performance.now();
      const dir = resolve(ctx.repoDir, cfg.directory);
      const rel = relative(ctx.repoDir, dir);
      if (isAbsolute(cfg.directory) || rel.startsWith('..') || isAbsolute(rel)) {
        fail(
          `${name}: bad directory`,
          `directory ${JSON.stringify(cfg.directory)} must be relative and inside the repository`,
          dirShown,
          listStarted,
        );
        return result;
      }
      let patches: string[];
      try {
        const entries = await readdir(dir, { withFileTypes: true });
        patches = entries
          .filter((e) => e.isFile() && e.name.endsWith('.patch'))
          .map((e) => e.name)
          .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        fail(
          `${name}: no proposals directory`,
          code === 'ENOENT' || code === 'ENOTDIR'
            ? `proposals directory ${dirShown} does not exist in ${ctx.repoDir}`
            : `proposals directory ${dirShown} cannot be read: ${(e as Error).message}`,
          dirShown,
          listStarted,
        );
        return result;
      }
      if (patches.length === 0) {
        ctx.logger.info(`proposer ${name}: no .patch file in ${dirShown}`);
        return result;
      }

      let worktree: Worktree | undefined;
      let dirty = false;
      try {
        for (const patchName of patches) {
          const started = performance.now();
          const source = posix.join(dirShown, patchName);
          const jsonName = patchName.replace(/\.patch$/, '.json');
          const jsonShown = posix.join(dirShown, jsonName);
          const meta = await readMetadata(join(dir, jsonName), jsonShown);
          if (typeof meta === 'string') {
            fail(patchName, meta, source, started);
            continue;
          }
          let patch: string;
          try {
            patch = await readFile(join(dir, patchName), 'utf8');
          } catch (e) {
            fail(meta.title, `${source} cannot be read: ${(e as Error).message}`, source, started);
            continue;
          }
          if (patch.trim() === '') {
            fail(meta.title, `${source} is empty`, source, started);
            continue;
          }

          try {
            worktree ??= await addWorktree(ctx.repoDir, ctx.baseSha);
            if (dirty) {
              await runGit(['reset', '--hard', '--quiet', 'HEAD'], { cwd: worktree.dir });
              await runGit(['clean', '-ffdxq'], { cwd: worktree.dir });
            }
            dirty = true;
            try {
              await applyPatch(worktree.dir, patch);
            } catch (e) {
              fail(
                meta.title,
                `${source} does not apply to ${ctx.baseSha.slice(0, 12)}: ${gitReason(e)}`,
                source,
                started,
              );
              continue;
            }
            const {
              facts,
              patch: normalized,
              linesError,
            } = await diffFactsWithLines(worktree.dir, 'HEAD', ctx.policy);
            if (facts.files.length === 0) {
              fail(meta.title, `${source} applies but changes nothing`, source, started);
              continue;
            }
            if (linesError !== undefined) {
              ctx.logger.warn(
                `proposer ${name}: added lines of ${source} not read (${linesError}); the rails will block it`,
              );
            }
            const proposal: Proposal = {
              title: meta.title,
              description: meta.description ?? `Patch ${source}.`,
              type: meta.type,
              riskLevel: meta.riskLevel,
              effort: meta.effort ?? DEFAULT_PATCH_EFFORT,
              patch: normalized,
              facts,
              baseSha: ctx.baseSha,
              provenance: {
                proposer: 'file',
                name,
                source,
                durationMs: Math.round(performance.now() - started),
              },
            };
            ctx.logger.info(`proposer ${name}: proposed "${meta.title}" from ${source}`);
            result.proposals.push(proposal);
          } catch (e) {
            fail(meta.title, `${source}: ${gitReason(e)}`, source, started);
          }
        }
      } finally {
        await worktree?.remove();
      }
      return result;
    },
  };
}
