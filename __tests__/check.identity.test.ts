/**
 * The check pipeline's side of issue #7 classes 6 and 7 (src/check.ts, src/git/links.ts), in-process against
 * real git repositories: a policy file that is a symbolic link is read and compared through the link, a
 * change to its target is a policy change (patch and range checks), and Self-Evolution's own repository gets
 * its build files self-protected.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkChange, type CheckResult } from '../src/check.js';
import { hostsSelfEvolution, listSymlinks, readThroughLinks } from '../src/git/links.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

const POLICY = '.github/self-evolution-config.json';
const CONFIG = {
  safetyRails: {
    allowedPaths: ['docs/**', 'src/**', POLICY],
    blockedPaths: ['.github/workflows/**', '.env*'],
  },
};
const text = (config: unknown): string => `${JSON.stringify(config, null, 2)}\n`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'se-identity-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The staged diff of `files` against HEAD as a patch (the edit is undone after). */
async function patchOf(repo: TempRepo, files: Record<string, string | null>): Promise<string> {
  await repo.write(files);
  await repo.git('add', '-A');
  const patch = await repo.git('diff', '--cached', '--binary');
  await repo.git('reset', '--quiet', '--hard', 'HEAD');
  return `${patch}\n`;
}

const ids = (r: CheckResult): string[] => r.verdict.violations.map((v) => v.ruleId);

describe('a policy file that is a symbolic link (issue #7 class 7)', () => {
  let repo: TempRepo;
  beforeAll(async () => {
    repo = await makeTempRepo({
      'src/policy.json': text(CONFIG),
      [POLICY]: { symlink: '../src/policy.json' },
      'docs/guide.md': '# Guide\n',
    });
  });
  afterAll(async () => {
    await repo.cleanup();
  });

  const loosened = { ...CONFIG, safetyRails: { ...CONFIG.safetyRails, allowedPaths: ['**'] } };

  it('git helpers see the link and read through it', async () => {
    expect(await listSymlinks(repo.dir, 'HEAD')).toEqual({ [POLICY]: '../src/policy.json' });
    expect(await readThroughLinks(repo.dir, 'HEAD', POLICY)).toBe(text(CONFIG));
    expect(await readThroughLinks(repo.dir, 'HEAD', 'docs/none.md')).toBeNull();
  });

  it('patch: editing the target loosens the policy, reported at the target, even with the override', async () => {
    const patch = await patchOf(repo, { 'src/policy.json': text(loosened) });
    const r = await checkChange({ repoDir: repo.dir, patch, humanOverride: true });
    expect(r.verdict.allowed).toBe(false);
    const v = r.verdict.violations.find((x) => x.ruleId === 'policy-loosened');
    expect(v).toMatchObject({
      path: 'src/policy.json',
      message: expect.stringMatching(
        /^src\/policy\.json \(the target of \.github\/self-evolution-config\.json\): safetyRails\.allowedPaths gains "\*\*"/,
      ),
    });
    expect(r.policy.policyTarget).toBe('src/policy.json');
    expect(r.notes).toContain(
      `the policy file ${POLICY} is a symbolic link to src/policy.json: both are protected`,
    );
  });

  it('patch: without the override the target is self-protected', async () => {
    const patch = await patchOf(repo, { 'src/policy.json': text({ ...CONFIG, version: '2' }) });
    const r = await checkChange({ repoDir: repo.dir, patch });
    expect(ids(r)).toContain('self-protected-path');
    expect(ids(r)).not.toContain('policy-loosened'); // a cosmetic edit, compared through the link
    const override = await checkChange({ repoDir: repo.dir, patch, humanOverride: true });
    expect(override.verdict.violations.find((v) => v.ruleId === 'self-protected-path')?.severity).toBe(
      'warn',
    );
    expect(ids(override)).not.toContain('policy-loosened');
  });

  it('range: the config is read from the base through the link, and head is compared through its links', async () => {
    const base = await repo.git('rev-parse', 'HEAD');
    await repo.git('checkout', '--quiet', '-b', 'loosen');
    const head = await repo.commit({ 'src/policy.json': text(loosened) });
    await repo.git('checkout', '--quiet', '-');
    const r = await checkChange({ repoDir: repo.dir, base, head, humanOverride: true });
    expect(r.policy.from).toBe('base-commit');
    expect(r.policy.source).toBe('file');
    expect(ids(r)).toContain('policy-loosened');
    // the config really was the linked file's: docs/guide.md is allowed, src/** too
    const doc = await checkChange({
      repoDir: repo.dir,
      patch: await patchOf(repo, { 'src/tool.ts': 'export const x = 1;\n' }),
    });
    expect(doc.verdict.allowed).toBe(true);
  });

  it('deleting the target deletes the policy file', async () => {
    const patch = await patchOf(repo, { 'src/policy.json': null });
    const r = await checkChange({ repoDir: repo.dir, patch, humanOverride: true });
    expect(r.verdict.violations.find((x) => x.ruleId === 'policy-loosened')?.message).toContain(
      'the policy file is deleted',
    );
  });
});

describe("Self-Evolution's own repository (issue #7 class 6)", () => {
  let own: TempRepo;
  let other: TempRepo;
  const files = (name: string) => ({
    'package.json': text({ name, version: '1.0.0' }),
    [POLICY]: text({ safetyRails: { allowedPaths: ['**'], blockedPaths: [] } }),
    'src/check.ts': 'export const check = 1;\n',
    'src/tool.ts': 'export const tool = 1;\n',
  });
  beforeAll(async () => {
    own = await makeTempRepo(files('self-evolution'));
    other = await makeTempRepo(files('my-agent'));
  });
  afterAll(async () => {
    await own.cleanup();
    await other.cleanup();
  });

  it('is recognised by the base package.json name', async () => {
    expect(await hostsSelfEvolution(own.dir, 'HEAD')).toBe(true);
    expect(await hostsSelfEvolution(other.dir, 'HEAD')).toBe(false);
  });

  it('there, the check code is self-protected; elsewhere src/check.ts is an ordinary file', async () => {
    const edit = { 'src/check.ts': 'export const check = 2;\n' };
    const mine = await checkChange({ repoDir: own.dir, patch: await patchOf(own, edit) });
    expect(ids(mine)).toContain('self-protected-path');
    expect(mine.policy.hostsSelfEvolution).toBe(true);
    const theirs = await checkChange({ repoDir: other.dir, patch: await patchOf(other, edit) });
    expect(ids(theirs)).not.toContain('self-protected-path');
    const tool = await checkChange({
      repoDir: own.dir,
      patch: await patchOf(own, { 'src/tool.ts': 'export const tool = 2;\n' }),
    });
    expect(ids(tool)).not.toContain('self-protected-path');
  });

  it('a change cannot opt out by renaming the package: the base decides', async () => {
    const patch = await patchOf(own, {
      'package.json': text({ name: 'not-self-evolution', version: '1.0.0' }),
      'src/check.ts': 'export const check = 3;\n',
    });
    const r = await checkChange({ repoDir: own.dir, patch });
    expect(r.verdict.violations.filter((v) => v.ruleId === 'self-protected-path').map((v) => v.path)).toEqual(
      ['package.json', 'src/check.ts'],
    );
  });
});
