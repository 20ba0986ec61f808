/** The target of a run: a git checkout with at least one commit. */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { UsageError } from '../options.js';
import { oneLine } from '../secrets.js';
import { ensureExcluded, headSha, isGitRepository, runGit } from './git.js';
import { hostsSelfEvolution } from './links.js';

/**
 * Stage: `repoDir` must be a git checkout with at least one commit; `.self-evolution/` is added to its
 * `.git/info/exclude`. Returns whether it is Self-Evolution's own repository (its root package.json at HEAD,
 * the base of every proposal, is named `self-evolution`): the files the action is built from are then
 * self-protected too (docs/rails.md "Self-protection").
 * @throws UsageError naming the directory otherwise (exit 2)
 */
export async function checkRepository(repoDir: string): Promise<boolean> {
  if (!(await isGitRepository(repoDir))) {
    throw new UsageError(`not a git repository: ${repoDir} (pass --repo with the path of a git checkout)`);
  }
  try {
    await headSha(repoDir);
  } catch (err) {
    throw new UsageError(`${repoDir} has no commit to propose changes against: ${oneLine(err, [])}`);
  }
  await ensureExcluded(repoDir, '.self-evolution/');
  return hostsSelfEvolution(repoDir, 'HEAD');
}

/** Where a run's config came from (audit): recorded on the run. */
export interface ConfigSource {
  /** The config file, relative to the repository (POSIX separators); absolute when it lies outside it. */
  path: string;
  /** Its blob at HEAD (`git rev-parse HEAD:<path>`), or null when the file is not committed. */
  blobSha: string | null;
  /** The file in the work tree differs from its blob at HEAD, or is not committed. */
  dirty: boolean;
}

/** What a run starts from: HEAD, the config's source and whether the work tree has changes. */
export interface RunSource {
  /** HEAD of the checkout: the commit the run's proposals are based on. */
  baseSha: string;
  config: ConfigSource;
  /** `git status --porcelain` lists a change (tracked or untracked; `.self-evolution/` excluded). */
  worktreeDirty: boolean;
}

/**
 * Stage: reads what the run starts from (see RunSource) in `repoDir`, a checkout that passed checkRepository;
 * `configPath` absolute or relative to `repoDir`.
 * @throws GitError when git fails (not for a config file that is not committed: blobSha is then null)
 */
export async function readRunSource(repoDir: string, configPath: string): Promise<RunSource> {
  const baseSha = await headSha(repoDir);
  const abs = isAbsolute(configPath) ? configPath : resolve(repoDir, configPath);
  const rel = relative(repoDir, abs);
  const inside = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  const path = inside ? rel.split(sep).join('/') : abs;
  let blobSha: string | null = null;
  if (inside) {
    try {
      const { stdout } = await runGit(['rev-parse', '--verify', '--quiet', `${baseSha}:${path}`], {
        cwd: repoDir,
      });
      blobSha = stdout.trim() || null;
    } catch {
      blobSha = null;
    }
  }
  let dirty = true;
  if (blobSha !== null) {
    try {
      const { stdout } = await runGit(['hash-object', `--path=${path}`, '--', abs], { cwd: repoDir });
      dirty = stdout.trim() !== blobSha;
    } catch {
      dirty = true; // the file is gone from the work tree
    }
  }
  const { stdout: status } = await runGit(['status', '--porcelain', '--untracked-files=all'], {
    cwd: repoDir,
  });
  const worktreeDirty = status
    .split('\n')
    .filter((line) => line.trim() !== '')
    .some((line) => !line.slice(3).replace(/^"/, '').startsWith('.self-evolution/'));
  return { baseSha, config: { path, blobSha, dirty }, worktreeDirty };
}

/**
 * Why a live run from `source` would be refused (exit 2), or null when it would not: the config differs from
 * HEAD's (or is not committed), or the work tree has changes. Pure; a dry run records it.
 */
export function liveRefusal(source: Pick<RunSource, 'config' | 'worktreeDirty'>): string | null {
  const reasons: string[] = [];
  if (source.config.dirty) {
    reasons.push(
      source.config.blobSha === null
        ? `the config ${source.config.path} is not committed`
        : `the config ${source.config.path} differs from HEAD's`,
    );
  }
  if (source.worktreeDirty) reasons.push('the work tree has uncommitted changes');
  return reasons.length === 0 ? null : `a live run would be refused: ${reasons.join('; ')}`;
}
