/**
 * git/revert.ts: the revert commit made through a private index (`git revert -m 1` semantics, the work tree,
 * index and HEAD untouched), the trailer that marks a revert (never the title), the next commit of the
 * first-parent line and the history grep for "This reverts commit <sha>".
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  commitRevert,
  nextOnFirstParent,
  revertMessage,
  revertOfMessage,
  RevertDoesNotApply,
  revertsInHistory,
  TRAILER_REVERT_OF,
} from '../src/git/revert.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

let repo: TempRepo | undefined;
afterEach(async () => {
  await repo?.cleanup();
  repo = undefined;
});

const identity = { name: 'bot', email: 'bot@example.com', date: new Date('2026-11-23T02:00:00Z') };
const SHA = 'a'.repeat(40);

describe('revertOfMessage and revertMessage', () => {
  it('knows a revert by its trailer, never by its title', async () => {
    repo = await makeTempRepo({ 'a.txt': 'a\n' });
    const message = revertMessage('Fix typos', 'confirmed: "test" failed', {
      revertOf: SHA,
      runId: 7,
      rollbackId: 3,
    });
    expect(message).toBe(
      `Revert "Fix typos"\n\nThis reverts commit ${SHA}.\n\nconfirmed: "test" failed\n\n${TRAILER_REVERT_OF}: ${SHA}\nSelf-Evolution-Run: 7\nSelf-Evolution-Rollback: 3\n`,
    );
    expect(await revertOfMessage(repo.dir, message)).toBe(SHA);
    // git revert's own message, without the trailer: not ours, not a revert for the loop guard
    expect(await revertOfMessage(repo.dir, `Revert "Fix typos"\n\nThis reverts commit ${SHA}.\n`)).toBeNull();
    // a title that says nothing of a revert, with the trailer: a revert
    expect(await revertOfMessage(repo.dir, `Tidy\n\n${TRAILER_REVERT_OF}: ${SHA}\n`)).toBe(SHA);
    // a malformed value is no revert
    expect(await revertOfMessage(repo.dir, `Tidy\n\n${TRAILER_REVERT_OF}: abc\n`)).toBeNull();
    // without a run, no run trailer
    expect(revertMessage('x\ny', '', { revertOf: SHA, runId: null, rollbackId: 1 })).not.toContain(
      'Self-Evolution-Run',
    );
  });
});

describe('commitRevert', () => {
  it("reverts a commit's first-parent diff on a later tip, through a private index", async () => {
    repo = await makeTempRepo({ 'guide.md': 'teh weather\n', 'other.md': 'other\n' });
    const change = await repo.commit(
      { 'guide.md': 'the weather\n', 'new.md': 'new\n' },
      { message: 'Fix typos' },
    );
    const later = await repo.commit({ 'other.md': 'other, later\n' }, { message: 'later' });
    const status = await repo.git('status', '--porcelain');
    const sha = await commitRevert({
      repoDir: repo.dir,
      revertOf: change,
      tipSha: later,
      message: revertMessage('Fix typos', '', { revertOf: change, runId: null, rollbackId: 1 }),
      identity,
    });
    expect(await repo.git('rev-parse', `${sha}^`)).toBe(later);
    expect(await repo.git('show', `${sha}:guide.md`)).toBe('teh weather');
    expect(await repo.git('show', `${sha}:other.md`)).toBe('other, later');
    await expect(repo.git('cat-file', '-e', `${sha}:new.md`)).rejects.toThrow();
    expect(await repo.git('log', '-1', '--format=%an <%ae> %at', sha)).toBe(
      'bot <bot@example.com> 1795399200',
    );
    // the work tree, the index and HEAD are as they were
    expect(await repo.git('rev-parse', 'HEAD')).toBe(later);
    expect(await repo.git('status', '--porcelain')).toBe(status);
  });

  it('reverts a merge against its first parent (git revert -m 1)', async () => {
    repo = await makeTempRepo({ 'a.md': 'a\n' });
    await repo.git('checkout', '--quiet', '-b', 'side');
    await repo.commit({ 'b.md': 'b\n' }, { message: 'side' });
    await repo.git('checkout', '--quiet', 'main');
    await repo.commit({ 'c.md': 'c\n' }, { message: 'main moves' });
    await repo.git('merge', '--quiet', '--no-ff', '-m', 'Merge side', 'side');
    const merge = await repo.git('rev-parse', 'HEAD');
    const sha = await commitRevert({
      repoDir: repo.dir,
      revertOf: merge,
      tipSha: merge,
      message: 'Revert\n',
      identity,
    });
    expect(await repo.git('ls-tree', '--name-only', sha)).toBe('a.md\nc.md');
  });

  it('refuses a revert that conflicts with the tip, or that changes nothing there any more', async () => {
    repo = await makeTempRepo({ 'guide.md': 'one\n' });
    const change = await repo.commit({ 'guide.md': 'two\n' }, { message: 'two' });
    const conflicting = await repo.commit({ 'guide.md': 'three\n' }, { message: 'three' });
    await expect(
      commitRevert({
        repoDir: repo.dir,
        revertOf: change,
        tipSha: conflicting,
        message: 'Revert\n',
        identity,
      }),
    ).rejects.toThrow(RevertDoesNotApply);
    const undone = await repo.commit({ 'guide.md': 'one\n' }, { message: 'back to one' });
    await expect(
      commitRevert({ repoDir: repo.dir, revertOf: change, tipSha: undone, message: 'Revert\n', identity }),
    ).rejects.toThrow(/does not apply|changes nothing/);
  });
});

describe('the default branch history', () => {
  it('finds the next commit of the first-parent line and the commits that say they revert one', async () => {
    repo = await makeTempRepo({ 'a.md': 'a\n' });
    const first = await repo.commit({ 'b.md': 'b\n' }, { message: 'b' });
    const second = await repo.commit(
      { 'c.md': 'c\n' },
      { message: `Revert "b"\n\nThis reverts commit ${first}.` },
    );
    const third = await repo.commit({ 'd.md': 'd\n' }, { message: 'd' });
    expect(await nextOnFirstParent(repo.dir, first, third)).toBe(second);
    expect(await nextOnFirstParent(repo.dir, second, third)).toBe(third);
    expect(await nextOnFirstParent(repo.dir, third, third)).toBeNull();
    expect(await revertsInHistory(repo.dir, third, first)).toEqual([second]);
    expect(await revertsInHistory(repo.dir, third, second)).toEqual([]);
  });
});
