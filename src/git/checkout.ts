/** The target of a run: a git checkout with at least one commit. */
import { UsageError } from '../options.js';
import { oneLine } from '../secrets.js';
import { ensureExcluded, headSha, isGitRepository } from './git.js';
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
