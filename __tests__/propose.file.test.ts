import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { silentLogger } from '../src/deps.js';
import { addWorktree, diffPatch, headSha, stageAll } from '../src/git/git.js';
import { createFileProposer } from '../src/propose/file.js';
import type { ProposerContext } from '../src/propose/types.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

let repo: TempRepo;
let base: string;

const ctx = (): ProposerContext => ({
  repoDir: repo.dir,
  baseSha: base,
  reflection: {
    insights: '',
    signals: { git: { recentCommits: [], reverts: [], mostChangedFiles: [], windowDays: 30 } },
  },
  logger: silentLogger,
});

/** A patch made by git: the change `files` (null deletes) against the base commit. */
async function makePatch(files: Record<string, string | Uint8Array | null>): Promise<string> {
  const wt = await addWorktree(repo.dir, base);
  try {
    for (const [path, content] of Object.entries(files)) {
      const abs = join(wt.dir, path);
      if (content === null) {
        await rm(abs);
        continue;
      }
      await mkdir(dirname(abs), { recursive: true });
      await writeFile(abs, content);
    }
    await stageAll(wt.dir);
    return await diffPatch(wt.dir);
  } finally {
    await wt.remove();
  }
}

async function writeProposals(dir: string, files: Record<string, string>): Promise<void> {
  await rm(join(repo.dir, dir), { recursive: true, force: true });
  await mkdir(join(repo.dir, dir), { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(repo.dir, dir, name), content);
}

const meta = (m: Record<string, unknown>): string => JSON.stringify(m);

async function worktreeCount(): Promise<number> {
  return (await repo.git('worktree', 'list', '--porcelain'))
    .split('\n')
    .filter((l) => l.startsWith('worktree ')).length;
}

beforeAll(async () => {
  repo = await makeTempRepo({
    'docs/a.md': 'alpha\nbeta\ngamma\n',
    'docs/b.md': 'one\ntwo\n',
    'assets/logo.bin': Buffer.from([0, 1, 2, 3]),
  });
  base = await headSha(repo.dir);
  // Proposal directories are written into the work tree but never staged: keep them out of `git status`.
  await writeFile(join(repo.dir, '.git/info/exclude'), 'proposals*/\n');
});
afterAll(() => repo.cleanup());
afterEach(async () => {
  expect(await worktreeCount()).toBe(1);
  expect(await repo.git('status', '--porcelain')).toBe('');
});

describe('file proposer', () => {
  it('proposes each valid patch in name order, each against a clean base', async () => {
    const editA = await makePatch({ 'docs/a.md': 'alpha\nBETA\ngamma\n' });
    const otherEditA = await makePatch({
      'docs/a.md': 'alpha\nbeta (again)\ngamma\ndelta\n',
      'docs/b.md': null,
    });
    const newFile = await makePatch({ 'docs/new.md': 'new\n' });
    const newFileAgain = await makePatch({
      'docs/new.md': 'newer\n',
      'assets/logo.bin': Buffer.from([0, 9, 9]),
    });
    await writeProposals('proposals', {
      '10-new.patch': newFile,
      '10-new.json': meta({ title: 'Add new', type: 'capability', riskLevel: 2 }),
      '02-other.patch': otherEditA,
      '02-other.json': meta({
        title: 'Other edit',
        description: 'desc',
        type: 'prompt',
        riskLevel: 1,
        effort: 3,
      }),
      '01-edit.patch': editA,
      '01-edit.json': meta({ title: 'Edit a', type: 'cleanup', riskLevel: 0 }),
      '11-again.patch': newFileAgain,
      '11-again.json': meta({ title: 'Add new again', type: 'persona', riskLevel: 1 }),
      'README.md': 'not a patch',
    });
    const proposer = createFileProposer({ kind: 'file', directory: 'proposals' });
    expect([proposer.kind, proposer.name]).toEqual(['file', 'file:proposals']);

    const result = await proposer.propose(ctx());
    expect(result.failures).toEqual([]);
    expect(result.proposals.map((p) => p.title)).toEqual([
      'Edit a',
      'Other edit',
      'Add new',
      'Add new again',
    ]);
    const [a, other, added, again] = result.proposals;
    expect(a).toMatchObject({ type: 'cleanup', riskLevel: 0, effort: 1, baseSha: base, patch: editA });
    expect(a!.facts.files).toEqual([
      {
        path: 'docs/a.md',
        status: 'modified',
        oldMode: '100644',
        newMode: '100644',
        binary: false,
        linesAdded: 1,
        linesDeleted: 1,
        bytesAdded: 5,
      },
    ]);
    expect(a!.provenance).toMatchObject({
      proposer: 'file',
      name: 'file:proposals',
      source: 'proposals/01-edit.patch',
    });
    expect(other).toMatchObject({ description: 'desc', type: 'prompt', riskLevel: 1, effort: 3 });
    expect(other!.facts.files.map((f) => [f.path, f.status, f.linesAdded, f.linesDeleted])).toEqual([
      ['docs/a.md', 'modified', 2, 1],
      ['docs/b.md', 'deleted', 0, 2],
    ]);
    expect(added!.facts.files).toEqual([
      expect.objectContaining({ path: 'docs/new.md', status: 'added', linesAdded: 1 }),
    ]);
    // 11 adds docs/new.md too: it applies only because 10's untracked result was cleaned away.
    expect(again!.facts.files.map((f) => [f.path, f.status, f.binary])).toEqual([
      ['assets/logo.bin', 'modified', true],
      ['docs/new.md', 'added', false],
    ]);
  });

  it('normalizes a hand-written patch into git diff --binary output', async () => {
    const handWritten = [
      '--- a/docs/b.md',
      '+++ b/docs/b.md',
      '@@ -1,2 +1,3 @@',
      ' one',
      ' two',
      '+three',
      '',
    ].join('\n');
    await writeProposals('proposals-hand', {
      'x.patch': handWritten,
      'x.json': meta({ title: 'Three', type: 'cleanup', riskLevel: 0 }),
    });
    const result = await createFileProposer({
      kind: 'file',
      name: 'hand',
      directory: 'proposals-hand/',
    }).propose(ctx());
    expect(result.failures).toEqual([]);
    expect(result.proposals[0]!.patch).toMatch(
      /^diff --git a\/docs\/b\.md b\/docs\/b\.md\nindex [0-9a-f]+\.\.[0-9a-f]+ 100644\n/,
    );
    expect(result.proposals[0]!.provenance).toMatchObject({ name: 'hand', source: 'proposals-hand/x.patch' });
  });

  it('reports each unusable proposal by file and reason, and still proposes the good ones', async () => {
    const good = await makePatch({ 'docs/b.md': 'one\ntwo\nthree\n' });
    const stale =
      'diff --git a/docs/a.md b/docs/a.md\n--- a/docs/a.md\n+++ b/docs/a.md\n@@ -1,1 +1,1 @@\n-ALPHA\n+omega\n';
    await writeProposals('proposals-mixed', {
      'a-stale.patch': stale,
      'a-stale.json': meta({ title: 'Stale', type: 'cleanup', riskLevel: 0 }),
      'b-empty.patch': '\n',
      'b-empty.json': meta({ title: 'Empty', type: 'cleanup', riskLevel: 0 }),
      'c-nojson.patch': good,
      'd-badjson.patch': good,
      'd-badjson.json': meta({ type: 'refactor', riskLevel: 7 }),
      'e-notjson.patch': good,
      'e-notjson.json': '{ title: nope',
      'f-extra.patch': good,
      'f-extra.json': meta({ title: 'Extra', type: 'cleanup', riskLevel: 0, risk: 1 }),
      'g-good.patch': good,
      'g-good.json': meta({ title: 'Good', type: 'cleanup', riskLevel: 0 }),
      'h-garbage.patch': 'this is not a patch at all\n',
      'h-garbage.json': meta({ title: 'Garbage', type: 'cleanup', riskLevel: 0 }),
    });
    const result = await createFileProposer({ kind: 'file', directory: 'proposals-mixed' }).propose(ctx());
    expect(result.proposals.map((p) => p.title)).toEqual(['Good']);
    const errors = result.failures.map((f) => [f.title, f.provenance.source, f.error]);
    expect(errors).toEqual([
      [
        'Stale',
        'proposals-mixed/a-stale.patch',
        expect.stringMatching(
          /^proposals-mixed\/a-stale\.patch does not apply to [0-9a-f]{12}: .*patch does not apply/,
        ),
      ],
      ['Empty', 'proposals-mixed/b-empty.patch', 'proposals-mixed/b-empty.patch is empty'],
      [
        'c-nojson.patch',
        'proposals-mixed/c-nojson.patch',
        expect.stringMatching(/^proposals-mixed\/c-nojson\.json is missing/),
      ],
      [
        'd-badjson.patch',
        'proposals-mixed/d-badjson.patch',
        expect.stringMatching(
          /^proposals-mixed\/d-badjson\.json is invalid: title: .*; type: .*; riskLevel: /,
        ),
      ],
      [
        'e-notjson.patch',
        'proposals-mixed/e-notjson.patch',
        expect.stringMatching(/e-notjson\.json is not valid JSON/),
      ],
      [
        'f-extra.patch',
        'proposals-mixed/f-extra.patch',
        expect.stringMatching(/f-extra\.json is invalid: .*risk/),
      ],
      [
        'Garbage',
        'proposals-mixed/h-garbage.patch',
        expect.stringMatching(/h-garbage\.patch does not apply/),
      ],
    ]);
    for (const f of result.failures) expect(f.provenance.proposer).toBe('file');
  });

  it('reports a missing directory as a failure, not a throw', async () => {
    const result = await createFileProposer({ kind: 'file', directory: 'no/such/dir' }).propose(ctx());
    expect(result.proposals).toEqual([]);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]!.error).toBe(`proposals directory no/such/dir does not exist in ${repo.dir}`);
  });

  it('refuses a directory outside the repository', async () => {
    const result = await createFileProposer({ kind: 'file', directory: '../elsewhere' }).propose(ctx());
    expect(result.failures[0]!.error).toMatch(/must be relative and inside the repository/);
  });

  it('gives nothing for a directory without .patch files', async () => {
    await writeProposals('proposals-none', { 'notes.md': 'nothing here' });
    const result = await createFileProposer({ kind: 'file', directory: 'proposals-none' }).propose(ctx());
    expect(result).toEqual({ proposals: [], failures: [] });
  });
});
