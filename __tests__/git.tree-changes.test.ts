/**
 * What a commit changed, as the Git Database API path needs it (src/git/tree-changes.ts), against a real
 * repository: added, modified, deleted, executable and symbolic-link files with their modes and blob ids; the
 * tree entries built from them (src/act/branch.ts apiTreeEntries), submodules refused.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { apiTreeEntries, ApiCommitRefused } from '../src/act/branch.js';
import {
  commitMessageOf,
  parseTreeChanges,
  readBlob,
  treeChanges,
  TreeChangeError,
  treeOf,
  type TreeChange,
} from '../src/git/tree-changes.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

let repo: TempRepo;
let base: string;
let head: string;

/** git's blob id of `path` in `commit`. */
const blob = (commit: string, path: string) => repo.git('rev-parse', `${commit}:${path}`);

beforeAll(async () => {
  repo = await makeTempRepo({
    'docs/kept.md': 'kept\n',
    'docs/modified.md': 'before\n',
    'docs/deleted.md': 'deleted\n',
    'bin/run.sh': '#!/bin/sh\necho hi\n',
    'docs/became-link.md': 'a file first\n',
  });
  base = await repo.git('rev-parse', 'HEAD');
  head = await repo.commit(
    {
      'docs/added.md': 'added\n',
      'docs/modified.md': 'after\n',
      'docs/deleted.md': null,
      'bin/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'bin/new-tool': { content: '#!/bin/sh\nexit 0\n', mode: 0o755 },
      'docs/link.md': { symlink: 'kept.md' },
      'docs/became-link.md': { symlink: 'added.md' },
    },
    { message: 'the change\n\nSelf-Evolution-Patch: sha256:abc' },
  );
});

afterAll(async () => {
  await repo?.cleanup();
});

describe('treeChanges', () => {
  it('lists every changed path in path order with its status, modes and full blob ids', async () => {
    const changes = await treeChanges(repo.dir, base, head);
    expect(changes).toEqual([
      {
        status: 'A',
        path: 'bin/new-tool',
        oldMode: null,
        newMode: '100755',
        oldSha: null,
        newSha: await blob(head, 'bin/new-tool'),
      },
      {
        // a mode-only change: the same blob on both sides
        status: 'M',
        path: 'bin/run.sh',
        oldMode: '100644',
        newMode: '100755',
        oldSha: await blob(base, 'bin/run.sh'),
        newSha: await blob(base, 'bin/run.sh'),
      },
      {
        status: 'A',
        path: 'docs/added.md',
        oldMode: null,
        newMode: '100644',
        oldSha: null,
        newSha: await blob(head, 'docs/added.md'),
      },
      {
        status: 'T',
        path: 'docs/became-link.md',
        oldMode: '100644',
        newMode: '120000',
        oldSha: await blob(base, 'docs/became-link.md'),
        newSha: await blob(head, 'docs/became-link.md'),
      },
      {
        status: 'D',
        path: 'docs/deleted.md',
        oldMode: '100644',
        newMode: null,
        oldSha: await blob(base, 'docs/deleted.md'),
        newSha: null,
      },
      {
        status: 'A',
        path: 'docs/link.md',
        oldMode: null,
        newMode: '120000',
        oldSha: null,
        newSha: await blob(head, 'docs/link.md'),
      },
      {
        status: 'M',
        path: 'docs/modified.md',
        oldMode: '100644',
        newMode: '100644',
        oldSha: await blob(base, 'docs/modified.md'),
        newSha: await blob(head, 'docs/modified.md'),
      },
    ]);
    expect(changes.map((c) => c.path)).not.toContain('docs/kept.md');
    expect(await treeChanges(repo.dir, head, head)).toEqual([]);
  });

  it('reads blobs as stored (a symbolic link is its target), tree ids and messages exactly', async () => {
    expect((await readBlob(repo.dir, await blob(head, 'docs/link.md'))).toString('utf8')).toBe('kept.md');
    expect((await readBlob(repo.dir, await blob(head, 'docs/modified.md'))).toString('utf8')).toBe('after\n');
    expect(await treeOf(repo.dir, head)).toBe(await repo.git('rev-parse', `${head}^{tree}`));
    expect(await treeOf(repo.dir, head)).not.toBe(await treeOf(repo.dir, base));
    expect(await commitMessageOf(repo.dir, head)).toBe('the change\n\nSelf-Evolution-Patch: sha256:abc\n');
  });

  it('refuses a path that is not UTF-8 and a record it cannot read', () => {
    const sha = 'a'.repeat(40);
    const zero = '0'.repeat(40);
    const record = (path: Buffer) =>
      Buffer.concat([Buffer.from(`:000000 100644 ${zero} ${sha} A\0`), path, Buffer.from('\0')]);
    expect(parseTreeChanges(record(Buffer.from('ok.md')))).toEqual([
      { status: 'A', path: 'ok.md', oldMode: null, newMode: '100644', oldSha: null, newSha: sha },
    ]);
    expect(() => parseTreeChanges(record(Buffer.from([0x66, 0xff, 0x2e, 0x6d, 0x64])))).toThrow(
      TreeChangeError,
    );
    expect(() => parseTreeChanges(Buffer.from(`:100644 100644 ${sha} ${sha} R100\0a\0b\0`))).toThrow(
      /unexpected git diff-tree record/,
    );
  });
});

describe('apiTreeEntries', () => {
  it('deletes with sha null and the old mode, uploads new blobs only, keeps modes', async () => {
    const { entries, upload } = apiTreeEntries(await treeChanges(repo.dir, base, head));
    expect(entries).toEqual([
      { path: 'bin/new-tool', mode: '100755', sha: await blob(head, 'bin/new-tool') },
      { path: 'bin/run.sh', mode: '100755', sha: await blob(base, 'bin/run.sh') },
      { path: 'docs/added.md', mode: '100644', sha: await blob(head, 'docs/added.md') },
      { path: 'docs/became-link.md', mode: '120000', sha: await blob(head, 'docs/became-link.md') },
      { path: 'docs/deleted.md', mode: '100644', sha: null },
      { path: 'docs/link.md', mode: '120000', sha: await blob(head, 'docs/link.md') },
      { path: 'docs/modified.md', mode: '100644', sha: await blob(head, 'docs/modified.md') },
    ]);
    // the mode-only change reuses the base's blob, which GitHub has
    expect(upload.map((u) => u.path)).toEqual([
      'bin/new-tool',
      'docs/added.md',
      'docs/became-link.md',
      'docs/link.md',
      'docs/modified.md',
    ]);
  });

  it('refuses a submodule on either side', () => {
    const gitlink: TreeChange = {
      status: 'A',
      path: 'vendor/lib',
      oldMode: null,
      newMode: '160000',
      oldSha: null,
      newSha: 'b'.repeat(40),
    };
    expect(() => apiTreeEntries([gitlink])).toThrow(ApiCommitRefused);
    expect(() => apiTreeEntries([gitlink])).toThrow(/vendor\/lib is a submodule/);
    expect(() =>
      apiTreeEntries([{ ...gitlink, status: 'D', oldMode: '160000', newMode: null, newSha: null }]),
    ).toThrow(/submodule/);
  });
});
