import { tmpdir } from 'node:os';
import { GitError } from '../src/git/git.js';
import { collectGitHistory, collectGitSignals, isRevert } from '../src/reflect/git.js';
import { gitInsights, reflect } from '../src/reflect/index.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

const NOW = new Date('2025-06-30T12:00:00Z');

describe('collectGitSignals on a history with dates around the window', () => {
  let repo: TempRepo;
  const sha: Record<string, string> = {};

  beforeAll(async () => {
    repo = await makeTempRepo({ 'src/a.ts': 'a0\n', 'old.ts': 'old\n' }, { date: '2025-04-01T00:00:00Z' });
    sha.old = await repo.git('rev-parse', 'HEAD');
    sha.first = await repo.commit(
      { 'src/a.ts': 'a1\n', 'src/b.ts': 'b1\n' },
      { message: 'add feature', date: '2025-06-05T10:00:00Z', author: 'Ada' },
    );
    sha.second = await repo.commit(
      { 'src/a.ts': 'a2\n' },
      { message: 'tweak a', date: '2025-06-10T10:00:00Z' },
    );
    sha.revert = await repo.commit(
      { 'src/a.ts': 'a1\n' },
      { message: `Revert "tweak a"\n\nThis reverts commit ${sha.second}.`, date: '2025-06-15T10:00:00Z' },
    );
    sha.bodyRevert = await repo.commit(
      { 'docs/c.md': 'c\n', 'old.ts': null },
      { message: 'undo part of the feature\n\nThis reverts commit 1234567.', date: '2025-06-20T10:00:00Z' },
    );
    sha.future = await repo.commit(
      { 'src/a.ts': 'future\n' },
      { message: 'from the future', date: '2025-07-05T00:00:00Z' },
    );
  });
  afterAll(() => repo.cleanup());

  it('lists the commits of the window newest first, without older or later ones', async () => {
    const signals = await collectGitSignals(repo.dir, NOW);
    expect(signals.windowDays).toBe(30);
    expect(signals.recentCommits.map((c) => c.sha)).toEqual([
      sha.bodyRevert,
      sha.revert,
      sha.second,
      sha.first,
    ]);
    const first = signals.recentCommits[3]!;
    expect(first).toMatchObject({ author: 'Ada', subject: 'add feature' });
    expect(new Date(first.date).toISOString()).toBe('2025-06-05T10:00:00.000Z');
  });

  it('finds reverts by subject and by body', async () => {
    const signals = await collectGitSignals(repo.dir, NOW);
    expect(signals.reverts.map((c) => [c.sha, c.subject])).toEqual([
      [sha.bodyRevert, 'undo part of the feature'],
      [sha.revert, 'Revert "tweak a"'],
    ]);
  });

  it('ranks files by the number of commits touching them', async () => {
    const signals = await collectGitSignals(repo.dir, NOW);
    expect(signals.mostChangedFiles).toEqual([
      { path: 'src/a.ts', commits: 3 },
      { path: 'docs/c.md', commits: 1 },
      { path: 'old.ts', commits: 1 },
      { path: 'src/b.ts', commits: 1 },
    ]);
  });

  it('honours a shorter window', async () => {
    const signals = await collectGitSignals(repo.dir, NOW, 16);
    expect(signals.recentCommits.map((c) => c.sha)).toEqual([sha.bodyRevert, sha.revert]);
    expect(signals.windowDays).toBe(16);
  });

  it('writes insights a human can read', async () => {
    const result = await reflect({ repoDir: repo.dir, now: NOW });
    expect(result.insights.split('\n')).toEqual([
      '4 commits in the last 30 days',
      `2 reverts: undo part of the feature (${sha.bodyRevert!.slice(0, 7)}); Revert "tweak a" (${sha.revert!.slice(0, 7)})`,
      'most changed: src/a.ts (3 commits), docs/c.md (1 commit), old.ts (1 commit)',
      '3 goals:',
      `1. [35] revert:${sha.bodyRevert!.slice(0, 7)}: Avoid what was reverted: undo part of the feature`,
      `2. [35] revert:${sha.revert!.slice(0, 7)}: Avoid what was reverted: Revert "tweak a"`,
      '3. [10] hotspot:src/a.ts: Stabilize src/a.ts (changed in 3 commits in 30 days)',
    ]);
    expect(result.signals.git.recentCommits).toHaveLength(4);
    expect(result.signals.goals!.map((g) => g.id)).toEqual([
      `revert:${sha.bodyRevert!.slice(0, 7)}`,
      `revert:${sha.revert!.slice(0, 7)}`,
      'hotspot:src/a.ts',
    ]);
    expect(result.signals.request).toBeNull();
  });

  it('rejects a bad window', async () => {
    await expect(collectGitSignals(repo.dir, NOW, 0)).rejects.toThrow(
      /windowDays must be a positive number of days, got 0/,
    );
    await expect(collectGitSignals(repo.dir, new Date('nope'))).rejects.toThrow(/valid Date/);
  });
});

describe('collectGitSignals limits and edge cases', () => {
  it('keeps at most 50 commits and 20 files, but counts every commit', async () => {
    const repo = await makeTempRepo({ 'seed.txt': 's\n' }, { date: '2025-06-01T00:00:00Z' });
    try {
      for (let i = 0; i < 55; i++) {
        const date = new Date(Date.UTC(2025, 5, 2, 0, i)).toISOString();
        await repo.commit(
          { [`f/${String(i % 25).padStart(2, '0')}.txt`]: `${i}\n` },
          { message: `c${i}`, date },
        );
      }
      const history = await collectGitHistory(repo.dir, NOW);
      expect(history.totalCommits).toBe(56);
      expect(history.signals.recentCommits).toHaveLength(50);
      expect(history.signals.recentCommits[0]!.subject).toBe('c54');
      expect(history.signals.mostChangedFiles).toHaveLength(20);
      // Files 00-04 were touched three times (i, i+25, i+50), the others twice.
      expect(history.signals.mostChangedFiles.slice(0, 6)).toEqual([
        { path: 'f/00.txt', commits: 3 },
        { path: 'f/01.txt', commits: 3 },
        { path: 'f/02.txt', commits: 3 },
        { path: 'f/03.txt', commits: 3 },
        { path: 'f/04.txt', commits: 3 },
        { path: 'f/05.txt', commits: 2 },
      ]);
      expect(gitInsights(history)[0]).toBe('56 commits in the last 30 days');
    } finally {
      await repo.cleanup();
    }
  });

  it('counts a rename for both paths and handles odd file names', async () => {
    const repo = await makeTempRepo({ 'old name.txt': 'x\n' }, { date: '2025-06-10T00:00:00Z' });
    try {
      await repo.git('mv', 'old name.txt', 'nëw\nname.txt');
      await repo.commit({}, { message: 'rename', date: '2025-06-11T00:00:00Z' });
      const signals = await collectGitSignals(repo.dir, NOW);
      expect(signals.mostChangedFiles).toEqual([
        { path: 'old name.txt', commits: 2 },
        { path: 'nëw\nname.txt', commits: 1 },
      ]);
    } finally {
      await repo.cleanup();
    }
  });

  it('gives empty lists for an empty repository or a quiet window', async () => {
    const empty = await makeTempRepo({}, { empty: true });
    const quiet = await makeTempRepo({ 'a.txt': 'a\n' }, { date: '2024-01-01T00:00:00Z' });
    try {
      const expected = { recentCommits: [], reverts: [], mostChangedFiles: [], windowDays: 30 };
      expect(await collectGitSignals(empty.dir, NOW)).toEqual(expected);
      expect(await collectGitSignals(quiet.dir, NOW)).toEqual(expected);
      expect((await reflect({ repoDir: quiet.dir, now: NOW })).insights.split('\n')[0]).toBe(
        'no commits in the last 30 days',
      );
    } finally {
      await empty.cleanup();
      await quiet.cleanup();
    }
  });

  it('throws GitError outside a repository', async () => {
    await expect(collectGitSignals(tmpdir(), NOW)).rejects.toBeInstanceOf(GitError);
  });
});

describe('isRevert', () => {
  it.each([
    ['Revert "x"', '', true],
    ['fix', 'This reverts commit abc.', true],
    ['Reverted nothing', '', false],
    ['revert "x"', '', false],
  ])('%j / %j -> %s', (subject, body, expected) => {
    expect(isRevert(subject, body)).toBe(expected);
  });
});
