/**
 * What a killed run left is pruned by the next one (sandbox/leftovers.ts): scratch directories whose pid names a
 * dead process and that are older than the threshold are removed, and the worktree that lived in one leaves
 * `git worktree list`; a live process's directories (any repository's), fresh ones, names without a pid and
 * other files stay. A run does it under its lock (run.ts cleanUpAfterDeadRuns).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pruneLeftovers } from '../src/sandbox/leftovers.js';
import { scratchPrefix } from '../src/git/exec.js';
import { STALE_AFTER_MS } from '../src/store/runs.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

let repo: TempRepo;
let tmp: string;

beforeAll(async () => {
  repo = await makeTempRepo({ 'README.md': 'hello\n' });
});

afterAll(async () => {
  await repo?.cleanup();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The pid of a process that has exited (and was reaped). */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  }).stdout;
  return Number(pid);
}

const HOUR_AGO = (Date.now() - 3600_000) / 1000;

async function aged(path: string, seconds = HOUR_AGO): Promise<string> {
  await utimes(path, seconds, seconds);
  return path;
}

describe('pruneLeftovers', () => {
  it("removes a dead run's old scratch directories and prunes its worktree; leaves everything else", async () => {
    tmp = await mkdtemp(join(tmpdir(), 'se-leftovers-'));
    const dead = deadPid();
    expect(Number.isInteger(dead) && dead > 0).toBe(true);
    const live = process.ppid; // alive: the process that started this test's worker
    // A worktree of the repository a killed run left: its directory and its entry in `git worktree list`.
    const deadWorktree = join(tmp, `self-evolution-wt-${dead}-Ab12Cd`);
    await repo.git('worktree', 'add', '--detach', deadWorktree, 'HEAD');
    await aged(deadWorktree);
    expect(await repo.git('worktree', 'list')).toContain(deadWorktree);
    const deadSandbox = join(tmp, `self-evolution-sandbox-${dead}-Xy34Zw`);
    await mkdir(join(deadSandbox, 'work'), { recursive: true });
    await writeFile(join(deadSandbox, 'work', 'file.txt'), 'x');
    await aged(deadSandbox);
    const deadCmd = join(tmp, `self-evolution-cmd-${dead}-q1`);
    await mkdir(deadCmd);
    await aged(deadCmd);

    // Kept: a live process's old directory, a dead process's fresh one, one without a pid, one of this
    // process, a file, a symbolic link, and another prefix.
    const keep: string[] = [];
    const dir = async (name: string, old = true): Promise<void> => {
      const path = join(tmp, name);
      await mkdir(path);
      if (old) await aged(path);
      keep.push(path);
    };
    await dir(`self-evolution-wt-${live}-Live01`);
    await dir(`self-evolution-facts-${dead}-Fresh1`, false);
    await dir('self-evolution-wt-NoPid1');
    await dir(`self-evolution-sandbox-${process.pid}-Mine01`);
    await dir(`other-tool-wt-${dead}-abc`);
    const file = join(tmp, `self-evolution-facts-${dead}-file`);
    await writeFile(file, 'not a directory');
    await aged(file);
    keep.push(file);
    const link = join(tmp, `self-evolution-wt-${dead}-link`);
    await symlink(join(tmp, `self-evolution-wt-${live}-Live01`), link);
    keep.push(link);

    const result = await pruneLeftovers({ repoDir: repo.dir, tmpDir: tmp, olderThanMs: STALE_AFTER_MS });

    expect(result.problems).toEqual([]);
    expect(result.removed.sort()).toEqual([deadCmd, deadSandbox, deadWorktree].sort());
    for (const path of [deadWorktree, deadSandbox, deadCmd]) expect(existsSync(path)).toBe(false);
    for (const path of keep) expect(existsSync(path)).toBe(true);
    expect(await repo.git('worktree', 'list')).not.toContain(deadWorktree);
    expect((await repo.git('worktree', 'list')).split('\n')).toHaveLength(1);
  });

  it('names scratch directories with the pid of the process that makes them', () => {
    expect(scratchPrefix('wt')).toBe(join(tmpdir(), `self-evolution-wt-${process.pid}-`));
  });
});
