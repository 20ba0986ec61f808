/**
 * Audit completeness (issue #9, part 9): every run records the commit it started from, the tool version, the
 * actor, where its config came from (path, blob at HEAD, dirty) and whether the work tree was dirty; proposals
 * record their base commit. Migration 000003 on Postgres (DATABASE_URL, else the suite's server) and PGlite.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOnce, type RunDeps } from '../src/run.js';
import { openDatabase } from '../src/store/open.js';
import { openEmbedded } from '../src/store/pglite.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { getRun, insertSkippedRun, startRun } from '../src/store/runs.js';
import { insertProposal, listProposals } from '../src/store/proposals.js';
import { liveRefusal, readRunSource } from '../src/git/checkout.js';
import { renderSummaryMarkdown } from '../src/report/summary.js';
import { TOOL_VERSION } from '../src/options.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';
import {
  capturingLogger,
  fixedRandom,
  recordingSleep,
  steppingClock,
  testOptions,
} from './helpers/run-deps.js';

const DAY = new Date('2026-11-22T02:05:00Z');
const CONFIG_PATH = '.github/self-evolution-config.json';

const CONFIG = {
  enabled: true,
  safetyRails: { allowedPaths: ['docs/**/*.md'], maxRiskLevel: 2 },
  proposers: [
    {
      kind: 'command',
      name: 'typo-fixer',
      command: "sed -i 's/teh/the/g' docs/guide.md",
      title: 'Fix typos',
      type: 'cleanup',
      riskLevel: 0,
    },
  ],
};

const FILES = {
  [CONFIG_PATH]: JSON.stringify(CONFIG, null, 2),
  'docs/guide.md': '# Guide\n\nteh weather\n',
};

const PACKAGE_VERSION = (
  JSON.parse(await readFile(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;

let database: TestDatabase;
let admin: Db;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('run_audit'));
});

afterAll(async () => {
  await admin?.close();
  await database?.drop();
});

beforeEach(async () => {
  await resetRuns(admin);
});

function deps(): RunDeps {
  const clock = steppingClock(DAY);
  return {
    clock,
    random: fixedRandom(0.5),
    sleep: recordingSleep(),
    logger: capturingLogger(clock),
    openDb: openDatabase,
  };
}

interface AuditRow {
  base_sha: string | null;
  tool_version: string | null;
  actor: string | null;
  config_path: string | null;
  config_blob_sha: string | null;
  config_dirty: boolean | null;
  worktree_dirty: boolean | null;
}

async function auditRow(runId: number | null): Promise<AuditRow> {
  const rows = await admin.query<AuditRow>(
    `SELECT base_sha, tool_version, actor, config_path, config_blob_sha, config_dirty, worktree_dirty
     FROM self_evolution_runs WHERE id = $1`,
    [runId],
  );
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

async function withRepo(fn: (repo: TempRepo) => Promise<void>): Promise<void> {
  const repo = await makeTempRepo(FILES);
  try {
    await fn(repo);
  } finally {
    await repo.cleanup();
  }
}

describe('the tool version', () => {
  it("is package.json's version (the bundle carries the constant)", () => {
    expect(TOOL_VERSION).toBe(PACKAGE_VERSION);
  });
});

describe('a run records what it started from', () => {
  it('on a clean checkout: HEAD, the version, the actor, the committed config; proposals share the base', async () => {
    await withRepo(async (repo) => {
      const head = await repo.git('rev-parse', 'HEAD');
      const blob = await repo.git('rev-parse', `HEAD:${CONFIG_PATH}`);
      const report = await runOnce(
        testOptions(repo.dir, { databaseUrl: database.url, actor: 'octo-tester' }),
        deps(),
      );
      expect(report.status).toBe('success');
      expect(await auditRow(report.runId)).toEqual({
        base_sha: head,
        tool_version: PACKAGE_VERSION,
        actor: 'octo-tester',
        config_path: CONFIG_PATH,
        config_blob_sha: blob,
        config_dirty: false,
        worktree_dirty: false,
      });
      const proposals = await listProposals(admin, report.runId!);
      expect(proposals.length).toBeGreaterThan(0);
      expect(proposals.map((p) => p.baseSha)).toEqual(proposals.map(() => head));
      const record = await getRun(admin, report.runId!);
      expect(record).toMatchObject({ baseSha: head, configBlobSha: blob, configDirty: false });

      expect(report).toMatchObject({
        baseSha: head,
        toolVersion: PACKAGE_VERSION,
        actor: 'octo-tester',
        config: { path: CONFIG_PATH, blobSha: blob, dirty: false },
        worktreeDirty: false,
        liveRefusal: null,
      });
      const runJson = JSON.parse(await readFile(join(report.artifactsDir!, 'run.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(runJson).toMatchObject({ baseSha: head, actor: 'octo-tester', config: { blobSha: blob } });
      expect(renderSummaryMarkdown(report)).toContain(
        `- base \`${head}\`, self-evolution ${PACKAGE_VERSION}, actor octo-tester`,
      );
    });
  });

  it('a config edited without a commit: config_dirty, the blob still HEAD’s, and why live mode would refuse', async () => {
    await withRepo(async (repo) => {
      const blob = await repo.git('rev-parse', `HEAD:${CONFIG_PATH}`);
      await repo.write({ [CONFIG_PATH]: JSON.stringify({ ...CONFIG, proposers: [] }, null, 2) });
      const report = await runOnce(testOptions(repo.dir, { databaseUrl: database.url }), deps());
      expect(report.status).toBe('success');
      const row = await auditRow(report.runId);
      expect(row).toMatchObject({ config_path: CONFIG_PATH, config_blob_sha: blob, config_dirty: true });
      expect(report.liveRefusal).toContain(`the config ${CONFIG_PATH} differs from HEAD's`);
    });
  });

  it('an untracked file: worktree_dirty, the config clean; .self-evolution/ does not count', async () => {
    await withRepo(async (repo) => {
      // A first run writes its artifacts under .self-evolution/ (excluded): the work tree stays clean.
      const first = await runOnce(testOptions(repo.dir, { databaseUrl: database.url, force: true }), deps());
      expect(await auditRow(first.runId)).toMatchObject({ worktree_dirty: false });
      await repo.write({ 'notes.txt': 'scratch\n' });
      const report = await runOnce(testOptions(repo.dir, { databaseUrl: database.url, force: true }), deps());
      expect(report.status).toBe('success');
      expect(await auditRow(report.runId)).toMatchObject({ config_dirty: false, worktree_dirty: true });
      expect(report.liveRefusal).toBe('a live run would be refused: the work tree has uncommitted changes');
    });
  });

  it('a skipped run records them too', async () => {
    await withRepo(async (repo) => {
      const head = await repo.git('rev-parse', 'HEAD');
      await runOnce(testOptions(repo.dir, { databaseUrl: database.url }), deps());
      const again = await runOnce(
        testOptions(repo.dir, { databaseUrl: database.url, actor: 'someone' }),
        deps(),
      );
      expect(again.status).toBe('skipped');
      expect(await auditRow(again.runId)).toMatchObject({
        base_sha: head,
        actor: 'someone',
        tool_version: PACKAGE_VERSION,
        config_dirty: false,
      });
    });
  });
});

describe('readRunSource and liveRefusal', () => {
  it('a config that is not committed has no blob and is dirty', async () => {
    await withRepo(async (repo) => {
      await repo.write({ 'other-config.json': '{}' });
      const source = await readRunSource(repo.dir, join(repo.dir, 'other-config.json'));
      expect(source.config).toEqual({ path: 'other-config.json', blobSha: null, dirty: true });
      expect(source.worktreeDirty).toBe(true);
      expect(liveRefusal(source)).toBe(
        'a live run would be refused: the config other-config.json is not committed; the work tree has uncommitted changes',
      );
    });
  });

  it('refuses nothing for a clean config and work tree', () => {
    expect(
      liveRefusal({ config: { path: 'c.json', blobSha: 'b', dirty: false }, worktreeDirty: false }),
    ).toBeNull();
  });
});

describe('migration 000003 on both databases', () => {
  const audit = {
    baseSha: 'a'.repeat(40),
    toolVersion: '9.9.9',
    actor: 'octocat',
    configPath: CONFIG_PATH,
    configBlobSha: 'b'.repeat(40),
    configDirty: true,
    worktreeDirty: false,
  };

  async function roundTrip(db: Db): Promise<void> {
    const started = await startRun(db, {
      repository: 'acme/audit',
      runDate: '2026-11-22',
      trigger: 'cli',
      dryRun: true,
      forced: true,
      gates: [],
      startedAt: DAY,
      config: {},
      overrides: {},
      audit,
    });
    if (!started.ok) throw new Error('not started');
    expect(started.run).toMatchObject(audit);
    const skipped = await insertSkippedRun(db, {
      repository: 'acme/audit',
      runDate: '2026-11-22',
      trigger: 'cli',
      dryRun: true,
      forced: false,
      gates: [],
      startedAt: DAY,
      finishedAt: DAY,
      skipReason: 'test',
      summary: 'skipped: test',
      audit: { actor: 'someone' },
    });
    expect(skipped).toMatchObject({ actor: 'someone', baseSha: null, worktreeDirty: null });
    await insertProposal(db, started.run.id, {
      proposer: 'p',
      type: 'cleanup',
      title: 't',
      description: '',
      riskLevel: 0,
      effort: 0,
      status: 'evaluated',
      verdict: 'allowed',
      blockedReasons: [],
      violations: [],
      filesChanged: 1,
      linesAdded: 1,
      linesDeleted: 0,
      patch: 'x',
      provenance: {},
      baseSha: audit.baseSha,
    });
    expect((await listProposals(db, started.run.id)).map((p) => p.baseSha)).toEqual([audit.baseSha]);
  }

  it('applies on Postgres and keeps the columns', async () => {
    await roundTrip(admin);
  });

  it('applies on PGlite and keeps the columns', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'se-audit-pglite-'));
    const db = await openEmbedded(dir);
    try {
      await migrate(db);
      await roundTrip(db);
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
