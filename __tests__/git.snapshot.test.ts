/** Fingerprints of a checkout (git/snapshot.ts): what a command could change in the target checkout. */
import { writeFile } from 'node:fs/promises';
import { snapshotChanges, snapshotCheckout } from '../src/git/snapshot.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

let repo: TempRepo;
beforeEach(async () => {
  repo = await makeTempRepo({ 'a.md': 'a\n', 'b.md': 'b\n' });
});
afterEach(() => repo.cleanup());

async function changesAfter(act: () => Promise<unknown>): Promise<string[]> {
  const before = await snapshotCheckout(repo.dir);
  await act();
  return snapshotChanges(before, await snapshotCheckout(repo.dir));
}

describe('snapshotCheckout / snapshotChanges', () => {
  it('sees nothing when nothing changed (the snapshot itself changes nothing)', async () => {
    expect(await changesAfter(async () => undefined)).toEqual([]);
  });

  it('sees new, changed and deleted files, and a second edit of an already dirty file', async () => {
    await repo.write({ 'b.md': 'dirty\n' });
    expect(
      await changesAfter(() => repo.write({ 'new.md': 'n\n', 'a.md': 'A\n', 'b.md': 'dirtier\n' })),
    ).toEqual(['a.md (changed)', 'b.md (changed)', 'new.md (created)']);
    expect(await changesAfter(() => repo.write({ 'new.md': null, 'a.md': null, 'b.md': 'b\n' }))).toEqual([
      'a.md (deleted)',
      'b.md (reverted)',
      'new.md (deleted)',
    ]);
  });

  it('sees moved HEAD, new branches and tags, and edits of .git/config and hooks', async () => {
    expect(await changesAfter(() => repo.git('branch', 'evil'))).toEqual(['refs/heads/evil (created)']);
    expect(await changesAfter(() => repo.commit({ 'c.md': 'c\n' }))).toEqual([
      'HEAD (moved)',
      'refs/heads/main (moved)',
    ]);
    expect(await changesAfter(() => repo.git('config', 'core.hooksPath', '/tmp/x'))).toEqual([
      '.git/config (changed)',
    ]);
    const hook = () => writeFile(`${repo.dir}/.git/hooks/post-checkout`, '#!/bin/sh\n');
    expect(await changesAfter(hook)).toEqual(['.git/hooks/post-checkout (appeared)']);
    // The attributes file git reads whatever the work tree holds (the facts cannot keep it out).
    const attrs = () => writeFile(`${repo.dir}/.git/info/attributes`, '*.ts -diff\n');
    expect(await changesAfter(attrs)).toEqual(['.git/info/attributes (changed)']);
  });

  it('does not see ignored files (documented limit)', async () => {
    await repo.commit({ '.gitignore': '*.log\n' });
    expect(await changesAfter(() => repo.write({ 'x.log': 'x\n' }))).toEqual([]);
  });
});
