/**
 * What a run that was killed (SIGKILL, a lost runner) left behind, removed by the next run: scratch directories
 * under the temporary directory whose process is gone, and the worktree entries of the repository that point at
 * directories no longer there (`git worktree prune`).
 *
 * Scratch directories carry their process's pid in the name (git/exec.ts scratchPrefix:
 * `self-evolution-<kind>-<pid>-XXXXXX`), and the temporary directory is shared by every run on the machine,
 * whatever its repository: a directory is removed only when its pid names no live process AND it is older than
 * the threshold. Names without a pid (older versions) are left alone.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGit } from '../git/exec.js';

/** A scratch directory's name: its kind and the pid of the process that made it. */
const LEFTOVER_NAME = /^self-evolution-(wt|cmd|sandbox|facts|probe)-(\d+)-[^/]+$/;

/** What {@link pruneLeftovers} looks at. */
export interface PruneInput {
  /** The run's repository: `git worktree prune` runs there. */
  repoDir: string;
  /** Where scratch directories are made (default os.tmpdir()). */
  tmpDir?: string;
  /** Only directories last modified more than this long ago are removed, ms. */
  olderThanMs: number;
  /** Now, ms since the epoch, compared with the directories' mtime (default Date.now(): file times are real). */
  nowMs?: number;
  /** True when a process with this pid exists (default: process.kill(pid, 0); EPERM counts as alive). */
  isAlive?: (pid: number) => boolean;
}

/** What {@link pruneLeftovers} did. */
export interface PruneResult {
  /** Absolute paths of the directories removed. */
  removed: string[];
  /** Problems (a directory that could not be removed, a failing `git worktree prune`), one line each. */
  problems: string[];
}

/** True when a process with this pid exists (EPERM: it exists, but belongs to another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the scratch directories of dead runs under `tmpDir` (see the module docs: a pid in the name that names
 * no live process, not this one, and an mtime more than `olderThanMs` before `nowMs`; symbolic links are never
 * followed or removed), then runs `git worktree prune` in `repoDir` so the worktrees that lived in them leave
 * `git worktree list`. Never throws: what fails is returned in `problems`.
 */
export async function pruneLeftovers(input: PruneInput): Promise<PruneResult> {
  const tmp = input.tmpDir ?? tmpdir();
  const now = input.nowMs ?? Date.now();
  const alive = input.isAlive ?? processAlive;
  const removed: string[] = [];
  const problems: string[] = [];
  let names: string[] = [];
  try {
    names = await readdir(tmp);
  } catch (error) {
    problems.push(`cannot list ${tmp}: ${(error as Error).message}`);
  }
  for (const name of names) {
    const match = LEFTOVER_NAME.exec(name);
    if (!match) continue;
    const pid = Number(match[2]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue;
    const path = join(tmp, name);
    try {
      const info = await lstat(path);
      if (!info.isDirectory() || now - info.mtimeMs <= input.olderThanMs) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch (error) {
      problems.push(`cannot remove ${path}: ${(error as Error).message}`);
    }
  }
  try {
    await runGit(['worktree', 'prune'], { cwd: input.repoDir });
  } catch (error) {
    problems.push(`git worktree prune failed: ${(error as Error).message}`);
  }
  return { removed, problems };
}
