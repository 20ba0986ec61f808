/**
 * self_evolution_actions (src/store/actions.ts) on both engines: one row per patch per repository, rows that
 * move on only from the statuses they are expected in, the counts the pull-request limits read, and the pull
 * requests `status` lists for several runs at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/pg.js';
import { openEmbedded } from '../src/store/pglite.js';
import { insertProposal } from '../src/store/proposals.js';
import { startRun } from '../src/store/runs.js';
import {
  actionsOfRun,
  countActionsOn,
  findActionByPatch,
  planAction,
  pullRequestsOfRuns,
  unfinishedActions,
  updateAction,
  type PlannedAction,
} from '../src/store/actions.js';
import { createTestDatabase } from './helpers/db.js';

const engines = ['postgres', 'pglite'] as const;
let counter = 0;

describe.each(engines)('actions on %s', (engine) => {
  let db: Db;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    if (engine === 'postgres') {
      const testDb = await createTestDatabase('actions');
      db = await openPostgres(testDb.url);
      cleanup = async () => {
        await db.close();
        await testDb.drop();
      };
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'se-actions-pglite-'));
      db = await openEmbedded(join(dir, 'db'));
      cleanup = async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      };
    }
    await migrate(db);
  });
  afterAll(async () => {
    await cleanup?.();
  });

  /** A repository with one run and one allowed proposal. */
  async function setup(): Promise<{ repository: string; runId: number; proposalId: number }> {
    const repository = `octo/${engine}-${process.pid}-${++counter}`;
    const started = await startRun(db, {
      repository,
      runDate: '2026-11-30',
      trigger: 'schedule',
      dryRun: false,
      forced: false,
      gates: [],
      startedAt: new Date('2026-11-30T02:00:00Z'),
      config: {},
      overrides: {},
    });
    if (!started.ok) throw new Error('run not started');
    const proposalId = await insertProposal(db, started.run.id, {
      proposer: 'file:x',
      type: 'prompt',
      title: 't',
      description: '',
      riskLevel: 1,
      effort: 1,
      status: 'evaluated',
      verdict: 'allowed',
      blockedReasons: [],
      violations: [],
      filesChanged: 1,
      linesAdded: 1,
      linesDeleted: 0,
      patch: 'diff',
      provenance: {},
    });
    return { repository, runId: started.run.id, proposalId };
  }

  const planned = (
    s: { repository: string; runId: number; proposalId: number },
    hash: string,
  ): PlannedAction => ({
    ...s,
    actionType: 'pr',
    branch: `self-evolution/2026-11-30-x-${hash.slice(0, 8)}`,
    baseSha: 'b'.repeat(40),
    patchSha256: hash,
    payload: { tokenKind: 'github-token' },
  });

  it('one row per patch: a second plan of the same patch returns the first row and writes nothing', async () => {
    const s = await setup();
    const first = await planAction(db, planned(s, '1'.repeat(64)));
    expect(first.created).toBe(true);
    expect(first.action.status).toBe('planned');
    const again = await planAction(db, planned(s, '1'.repeat(64)));
    expect(again).toEqual({ created: false, action: first.action });
    expect(await actionsOfRun(db, s.runId)).toHaveLength(1);
    // the same patch in ANOTHER repository is another row
    const t = await setup();
    expect((await planAction(db, planned(t, '1'.repeat(64)))).created).toBe(true);
  });

  it('a failed row does not hold the patch: it may be tried again', async () => {
    const s = await setup();
    const first = await planAction(db, planned(s, '2'.repeat(64)));
    await updateAction(db, first.action.id, { status: 'failed', error: 'push refused' });
    expect(await findActionByPatch(db, s.repository, 'pr', '2'.repeat(64))).toBeNull();
    const second = await planAction(db, planned(s, '2'.repeat(64)));
    expect(second.created).toBe(true);
    expect(second.action.id).not.toBe(first.action.id);
  });

  it('moves planned -> pushed -> submitted, keeping what it knew, and only from the expected statuses', async () => {
    const s = await setup();
    const { action } = await planAction(db, planned(s, '3'.repeat(64)));
    expect(await unfinishedActions(db, s.repository)).toEqual([action]);
    const pushed = await updateAction(db, action.id, {
      status: 'pushed',
      headSha: 'c'.repeat(40),
      from: ['planned'],
    });
    expect(pushed).toMatchObject({ status: 'pushed', headSha: 'c'.repeat(40), branch: action.branch });
    // another run already moved it on: a guarded update does nothing
    expect(await updateAction(db, action.id, { status: 'pushed', from: ['planned'] })).toBeNull();
    const submitted = await updateAction(db, action.id, {
      status: 'submitted',
      prNumber: 7,
      prUrl: 'https://github.com/o/r/pull/7',
      from: ['pushed'],
      payload: { number: 7 },
      error: null,
    });
    expect(submitted).toMatchObject({ status: 'submitted', prNumber: 7, headSha: 'c'.repeat(40) });
    expect(submitted!.payload).toEqual({ tokenKind: 'github-token', number: 7 });
    expect(await unfinishedActions(db, s.repository)).toEqual([]);
  });

  it('counts the pull requests of a UTC day, failed ones not included', async () => {
    const s = await setup();
    expect(await countActionsOn(db, s.repository, '2026-11-30')).toBe(0);
    const a = await planAction(db, planned(s, '4'.repeat(64)));
    await planAction(db, planned(s, '5'.repeat(64)));
    const today = '2026-11-30'; // the run's day (run_date), not the clock's
    expect(await countActionsOn(db, s.repository, today)).toBe(2);
    await updateAction(db, a.action.id, { status: 'failed', error: 'x' });
    expect(await countActionsOn(db, s.repository, today)).toBe(1);
    expect(await countActionsOn(db, s.repository, '2000-01-01')).toBe(0);
  });

  it('lists the pull requests of several runs in one query, per run in id order, other runs left out', async () => {
    const s = await setup();
    const t = await setup();
    const u = await setup();
    const opened = await planAction(db, planned(s, '6'.repeat(64)));
    await updateAction(db, opened.action.id, {
      status: 'submitted',
      prNumber: 12,
      prUrl: 'https://github.com/o/r/pull/12',
    });
    const pushed = await planAction(db, planned(s, '7'.repeat(64)));
    await updateAction(db, pushed.action.id, { status: 'pushed', headSha: 'c'.repeat(40) });
    await planAction(db, planned(t, '8'.repeat(64)));
    await planAction(db, planned(u, '9'.repeat(64))); // a run not asked for

    const byRun = await pullRequestsOfRuns(db, [s.runId, t.runId, 999_999]);
    expect([...byRun.keys()].sort((a, b) => a - b)).toEqual([s.runId, t.runId]);
    expect(byRun.get(s.runId)).toEqual([
      {
        number: 12,
        url: 'https://github.com/o/r/pull/12',
        state: 'submitted',
        branch: opened.action.branch,
      },
      { number: null, url: null, state: 'pushed', branch: pushed.action.branch },
    ]);
    expect(byRun.get(t.runId)).toEqual([
      { number: null, url: null, state: 'planned', branch: expect.stringMatching(/-88888888$/) },
    ]);
    expect(await pullRequestsOfRuns(db, [])).toEqual(new Map());
  });
});
