/**
 * Reconciliation at the start of every run (act/reconcile.ts, issue #10 part 1), end to end: whole runs against a
 * checkout whose `origin` is a local bare repository, GitHub played by the OpenAPI-validated fake (which merges
 * and closes as a person would through its test controls), real Postgres. What must hold: a merged pull request
 * (merge commit or squash) moves its action to 'merged' with the commit, when and by whom; one closed with a
 * review keeps the reviewer's words (secrets masked) as the reason; an expired draft is closed with a comment in
 * a live run only (a dry run reports it and leaves it); a conflicted one with only the loop's commit is rebuilt as
 * a new pull request on the new tip, never force-pushed, and the old one closed with a comment; one someone else
 * committed to is left with one comment, never two; a GitHub error leaves the action as it was, recorded, and the
 * run succeeds; a later run changes nothing already final.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { silentLogger, neverInterrupted } from '../src/deps.js';
import type { Db } from '../src/store/db.js';
import {
  CLOSE_REASON_MAX,
  COMMENT_MARKER_PREFIX,
  reconcileActions,
  untrustedReason,
} from '../src/act/reconcile.js';
import { readTrailers } from '../src/git/publish.js';
import { renderRunText, renderSummaryMarkdown } from '../src/report/summary.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { makeTempRepo } from './helpers/git-repo.js';
import { config, DAY, world, type World } from './helpers/live-world.js';

let database: TestDatabase;
let admin: Db;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('reconcile'));
});
afterAll(async () => {
  await admin?.close();
  await database?.drop();
});
beforeEach(async () => {
  await resetRuns(admin);
});

let w: World | undefined;
afterEach(async () => {
  if (w) w.fake.assertNoViolations();
  await w?.cleanup();
  w = undefined;
});

interface Row {
  id: number;
  proposal_id: number;
  status: string;
  pr_number: number | null;
  branch: string;
  head_sha: string | null;
  patch_sha256: string;
  merge_commit_sha: string | null;
  merged_at: Date | null;
  merged_by: string | null;
  closed_at: Date | null;
  closed_by: string | null;
  close_reason: string | null;
  reconciled_at: Date | null;
  error: string | null;
  payload: Record<string, unknown>;
  updated_at: Date;
}

async function rows(): Promise<Row[]> {
  return admin.query<Row>(
    `SELECT id, proposal_id, status, pr_number, branch, head_sha, patch_sha256, merge_commit_sha, merged_at,
       merged_by, closed_at, closed_by, close_reason, reconciled_at, error, payload, updated_at
     FROM self_evolution_actions ORDER BY id`,
  );
}

/** Pushes a commit changing `files` onto `branch` of the world's origin (someone else's commit), returns it. */
async function pushAsSomeoneElse(
  world: World,
  branch: string,
  files: Record<string, string>,
  message: string,
): Promise<string> {
  const other = await makeTempRepo({});
  try {
    await other.git('fetch', '--quiet', world.bare, branch);
    await other.git('reset', '--quiet', '--hard', 'FETCH_HEAD');
    const sha = await other.commit(files, { message, author: 'Dana Human' });
    await other.git('push', '--quiet', world.bare, `HEAD:refs/heads/${branch}`);
    return sha;
  } finally {
    await other.cleanup();
  }
}

/** Requests the fake received since `from` (an index into its requests). */
function requestsSince(world: World, from: number): string[] {
  return world.fake.requests.slice(from).map((r) => `${r.method} ${r.path}`);
}

describe('reconcile: merged and closed pull requests', () => {
  it.each(['merge', 'squash'] as const)(
    'a pull request merged by %s moves its action to merged with the commit, when and by whom',
    async (method) => {
      w = await world(database.url);
      const first = await w.run();
      expect(first.reconciled).toEqual([]);
      expect(w.fake.pulls).toHaveLength(1);
      const [opened] = await rows();
      expect(opened!.status).toBe('submitted');

      const sha = await w.fake.mergePull(1, { by: 'alice', method });
      const parents = (await w.git('log', '-1', '--format=%P', sha)).split(' ');
      expect(parents).toHaveLength(method === 'merge' ? 2 : 1);

      const second = await w.run({ force: true });
      expect(second.status).toBe('success');
      const mergedAt = w.fake.pulls[0]!.mergedAt!;
      expect(second.reconciled).toEqual([
        expect.objectContaining({
          actionId: opened!.id,
          prNumber: 1,
          from: 'submitted',
          to: 'merged',
          outcome: 'merged',
          mergeCommitSha: sha,
          mergedAt,
          mergedBy: 'alice',
          error: null,
        }),
      ]);
      const [row] = await rows();
      expect(row).toMatchObject({ status: 'merged', merge_commit_sha: sha, merged_by: 'alice', error: null });
      expect(row!.merged_at!.toISOString().replace(/\.000Z$/, 'Z')).toBe(mergedAt);
      expect(row!.reconciled_at).not.toBeNull();
      expect(row!.closed_by).toBeNull();
      // the run's metrics, run.json and the summaries say it
      expect(second.metrics.reconciled).toEqual({ merged: 1 });
      expect(renderSummaryMarkdown(second)).toContain('reconciled 1 earlier pull request(s): 1 merged');
      expect(renderRunText(second)).toContain('reconciled 1 earlier pull request(s): 1 merged');
      // nothing was written to GitHub by reconciliation, nothing merged through the API
      expect(w.fake.merges).toEqual([]);
      expect(w.fake.comments).toEqual([]);

      // a third run: the merged action is final, it is neither read again nor changed
      const before = w.fake.requests.length;
      const third = await w.run({ force: true });
      expect(third.reconciled).toEqual([]);
      expect(requestsSince(w, before)).not.toContain('GET /repos/acme/agent/pulls/1');
      const [after] = await rows();
      expect(after!.updated_at.getTime()).toBe(row!.updated_at.getTime());
      expect(after!.status).toBe('merged');
    },
  );

  it("a pull request closed with a review moves to closed, the reviewer's words (secrets masked) as the reason", async () => {
    w = await world(database.url);
    await w.run();
    const token = `ghp_${'R3v1ewerLeak'.repeat(3)}`;
    await w.fake.closePull(1, {
      by: 'carol',
      review: { body: `We keep "teh": it is a quotation. (pasted by mistake: ${token})` },
    });
    const second = await w.run({ force: true });
    const [row] = await rows();
    expect(row).toMatchObject({
      status: 'closed',
      closed_by: 'carol',
      merge_commit_sha: null,
      merged_by: null,
    });
    expect(row!.close_reason).toBe('We keep "teh": it is a quotation. (pasted by mistake: ***)');
    expect(row!.closed_at).not.toBeNull();
    expect(second.reconciled).toEqual([
      expect.objectContaining({
        outcome: 'closed',
        from: 'submitted',
        to: 'closed',
        closedBy: 'carol',
        closeReason: 'We keep "teh": it is a quotation. (pasted by mistake: ***)',
      }),
    ]);
    expect(JSON.stringify(second)).not.toContain(token);
    // the same patch is never published again
    expect(second.proposals[0]!.pullRequest).toMatchObject({ state: 'not-published' });
    expect(w.fake.pulls).toHaveLength(1);
    // the summary says how many, not what the person wrote
    expect(renderSummaryMarkdown(second)).toContain('1 closed unmerged');
    expect(renderSummaryMarkdown(second)).not.toContain('quotation');
  });
});

describe('reconcile: expired drafts', () => {
  it('a draft older than expireDays is reported by a dry run and left; a live run closes it with one comment', async () => {
    w = await world(database.url, config({ pullRequest: { expireDays: 14 } }));
    await w.run();
    const pull = w.fake.pulls[0]!;
    expect(pull.draft).toBe(true);
    pull.createdAt = new Date(DAY.getTime() - 20 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

    // day 2, a dry run: reported, nothing written to GitHub, the action stays submitted
    const writesBefore = w.fake.requests.filter((r) => r.method !== 'GET').length;
    const dry = await w.run({ force: true, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.reconciled).toEqual([
      expect.objectContaining({ outcome: 'would-expire', from: 'submitted', to: 'submitted', ageDays: 21 }),
    ]);
    expect(w.fake.requests.filter((r) => r.method !== 'GET')).toHaveLength(writesBefore);
    expect(pull.state).toBe('open');
    expect(w.fake.comments).toEqual([]);
    const [seen] = await rows();
    expect(seen).toMatchObject({ status: 'submitted', closed_by: null });
    expect(seen!.reconciled_at).not.toBeNull();
    expect(seen!.payload.reconcile).toMatchObject({ ageDays: 21, draft: true });

    // day 3, live: closed with a comment saying why
    const live = await w.run({ force: true });
    expect(live.reconciled).toEqual([
      expect.objectContaining({
        outcome: 'expired',
        to: 'closed',
        ageDays: 22,
        closedBy: 'self-evolution',
        closeReason: 'expired after 22 days',
      }),
    ]);
    expect(pull.state).toBe('closed');
    expect(pull.merged).toBe(false);
    expect(w.fake.comments).toHaveLength(1);
    expect(w.fake.comments[0]!.body).toMatch(/open for 22 days, longer than `pullRequest.expireDays` \(14\)/);
    expect(w.fake.comments[0]!.body).toContain(COMMENT_MARKER_PREFIX);
    const [row] = await rows();
    expect(row).toMatchObject({
      status: 'closed',
      closed_by: 'self-evolution',
      close_reason: 'expired after 22 days',
      error: null,
    });
    expect(row!.payload.reconcile).toMatchObject({ pending: null });
    // the branch stays, and nothing was force-pushed
    expect(await w.git('rev-parse', `refs/heads/${row!.branch}`)).toBe(row!.head_sha);
    expect(w.fake.refWrites.filter((r) => r.force)).toEqual([]);

    // day 4: final, nothing more
    const after = await w.run({ force: true });
    expect(after.reconciled).toEqual([]);
    expect(w.fake.comments).toHaveLength(1);
  });

  it('a pull request a person marked ready for review is not expired, whatever its age', async () => {
    w = await world(database.url);
    await w.run();
    const pull = w.fake.pulls[0]!;
    pull.draft = false;
    pull.createdAt = new Date(DAY.getTime() - 60 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const second = await w.run({ force: true });
    expect(second.reconciled).toEqual([
      expect.objectContaining({ outcome: 'open', to: 'submitted', ageDays: 61 }),
    ]);
    expect(pull.state).toBe('open');
    expect(w.fake.comments).toEqual([]);
  });
});

/** A file with the same block twice, so the typo fixer's patch still finds its context after main changed. */
const LONG = [
  '# Long',
  'intro',
  ...['alpha', 'beta', 'gamma', 'teh', 'delta', 'epsilon', 'zeta'],
  'middle',
  ...['alpha', 'beta', 'gamma', 'teh', 'delta', 'epsilon', 'zeta'],
  'end',
  '',
].join('\n');

/** A live config whose proposer fixes the first "teh" of docs/long.md (line 6). */
function longConfig(): Record<string, unknown> {
  return config({
    proposers: [
      {
        kind: 'command',
        name: 'typo-fixer',
        command: "sed -i '6s/teh/the/' docs/long.md",
        title: 'Fix a typo in the long guide',
        type: 'cleanup',
        riskLevel: 0,
      },
    ],
  });
}

describe('reconcile: pull requests that conflict with their base', () => {
  it('with only its own commit: the change is made again on the new tip as a new pull request, the old one closed with a comment; no force-push', async () => {
    w = await world(database.url, longConfig(), {}, { 'docs/long.md': LONG });
    const first = await w.run();
    expect(first.proposals[0]!.pullRequest).toMatchObject({ state: 'opened', number: 1 });
    const [old] = await rows();
    const oldHead = old!.head_sha!;

    // main changes the very line the pull request changes: GitHub says it conflicts
    const tip = await pushAsSomeoneElse(
      w,
      'main',
      { 'docs/long.md': LONG.replace('gamma\nteh\n', 'gamma\nteh (sic)\n') },
      'upstream: keep the quotation',
    );
    const second = await w.run({ force: true });
    expect(second.status).toBe('success');

    expect(w.fake.pulls).toHaveLength(2);
    const [was, now] = w.fake.pulls;
    expect(was).toMatchObject({ number: 1, state: 'closed', merged: false });
    expect(now).toMatchObject({ number: 2, state: 'open', base: 'main', draft: true });
    expect(now!.head).not.toBe(was!.head);
    expect(now!.body!.split('\n')[0]).toMatch(/^> Rebuilt by Self-Evolution: #1 conflicted with `main`/);
    // the new branch: one commit on the new tip with the change made again (git found the context further down)
    expect(await w.git('rev-parse', `${now!.headSha}^`)).toBe(tip);
    const rebuiltFile = await w.git('show', `${now!.headSha}:docs/long.md`);
    expect(rebuiltFile.split('\n')[5]).toBe('teh (sic)');
    expect(rebuiltFile.split('\n')[13]).toBe('the');
    // the old branch is untouched, no ref was ever forced
    expect(await w.git('rev-parse', `refs/heads/${was!.head}`)).toBe(oldHead);
    expect(w.fake.refWrites.filter((r) => r.force)).toEqual([]);
    // the old pull request says why it was closed, and where the change went
    const said = w.fake.comments.filter((c) => c.issueNumber === 1);
    expect(said).toHaveLength(1);
    expect(said[0]!.body).toMatch(/made the same change again on its tip .* as #2 and closes this one/);

    const [oldRow, newRow] = await rows();
    expect(oldRow).toMatchObject({
      status: 'closed',
      closed_by: 'self-evolution',
      close_reason: 'conflicted with main; rebuilt as #2',
    });
    expect(newRow).toMatchObject({
      status: 'submitted',
      pr_number: 2,
      proposal_id: oldRow!.proposal_id,
      branch: now!.head,
      head_sha: now!.headSha,
    });
    expect(newRow!.patch_sha256).not.toBe(oldRow!.patch_sha256);
    expect(newRow!.payload.rebuiltFrom).toMatchObject({ actionId: oldRow!.id, number: 1 });
    expect(oldRow!.payload.reconcile).toMatchObject({ rebuiltAs: { actionId: newRow!.id, number: 2 } });
    const trailers = await readTrailers(w.repo.dir, await w.git('log', '-1', '--format=%B', now!.headSha));
    expect(trailers).toMatchObject({ proposalId: oldRow!.proposal_id, patchSha256: newRow!.patch_sha256 });
    expect(second.reconciled).toEqual([
      expect.objectContaining({
        actionId: oldRow!.id,
        outcome: 'rebuilt',
        to: 'closed',
        rebuiltAs: { actionId: newRow!.id, number: 2, url: 'https://github.com/acme/agent/pull/2' },
      }),
    ]);
    // the run's own proposal (the old patch again) is not published a second time
    expect(second.proposals[0]!.pullRequest).toMatchObject({ state: 'not-published' });

    // the next run: the new pull request is open and clean, the old action final
    const third = await w.run({ force: true });
    expect(third.reconciled).toEqual([
      expect.objectContaining({ actionId: newRow!.id, outcome: 'open', to: 'submitted' }),
    ]);
    expect(w.fake.pulls).toHaveLength(2);
  });

  it('a dry run only says it would rebuild', async () => {
    w = await world(database.url, longConfig(), {}, { 'docs/long.md': LONG });
    await w.run();
    await pushAsSomeoneElse(
      w,
      'main',
      { 'docs/long.md': LONG.replace('gamma\nteh\n', 'gamma\nteh (sic)\n') },
      'upstream',
    );
    const writes = w.fake.requests.filter((r) => r.method !== 'GET').length;
    const dry = await w.run({ force: true, dryRun: true });
    expect(dry.reconciled).toEqual([expect.objectContaining({ outcome: 'would-rebuild', to: 'submitted' })]);
    expect(w.fake.requests.filter((r) => r.method !== 'GET')).toHaveLength(writes);
    expect(w.fake.pulls).toHaveLength(1);
    expect((await rows()).map((r) => r.status)).toEqual(['submitted']);
  });

  it('with only its own commit but a change that no longer applies: closed with a comment saying why', async () => {
    w = await world(database.url);
    await w.run();
    await pushAsSomeoneElse(
      w,
      'main',
      { 'docs/guide.md': '# Guide\n\nteh weather is lovely\n' },
      'upstream rewrote the line',
    );
    const second = await w.run({ force: true });
    expect(second.reconciled).toEqual([
      expect.objectContaining({
        outcome: 'not-rebuilt',
        to: 'closed',
        closedBy: 'self-evolution',
        closeReason: expect.stringMatching(
          /^conflicted with main; not rebuilt: the change does not apply to /,
        ),
      }),
    ]);
    expect(w.fake.pulls).toHaveLength(1);
    expect(w.fake.pulls[0]!.state).toBe('closed');
    expect(w.fake.comments).toHaveLength(1);
    expect(w.fake.comments[0]!.body).toMatch(/cannot make the same change again on its tip/);
    expect((await rows()).map((r) => r.status)).toEqual(['closed']);
  });

  it("with someone else's commit on the branch: left as it is with one comment, not a second one on the next run", async () => {
    w = await world(database.url);
    await w.run();
    const [row] = await rows();
    const theirs = await pushAsSomeoneElse(
      w,
      row!.branch,
      { 'docs/other.md': 'a human was here\n' },
      'a human adds to the pull request',
    );
    await pushAsSomeoneElse(
      w,
      'main',
      { 'docs/guide.md': '# Guide\n\nteh weather is lovely\n' },
      'upstream rewrote the line',
    );

    const second = await w.run({ force: true });
    expect(second.reconciled).toEqual([
      expect.objectContaining({
        outcome: 'conflicted',
        to: 'submitted',
        did: expect.stringMatching(/commented once/),
      }),
    ]);
    expect(w.fake.pulls).toHaveLength(1);
    expect(w.fake.pulls[0]!.state).toBe('open');
    expect(w.fake.comments).toHaveLength(1);
    expect(w.fake.comments[0]!.body).toMatch(/Someone other than Self-Evolution committed to its branch/);
    expect(await w.git('rev-parse', `refs/heads/${row!.branch}`)).toBe(theirs);
    const [after] = await rows();
    expect(after).toMatchObject({ status: 'submitted', error: null });
    expect(after!.payload.reconcile).toMatchObject({ conflictCommentedFor: theirs, pending: null });

    const third = await w.run({ force: true });
    expect(third.reconciled).toEqual([
      expect.objectContaining({
        outcome: 'conflicted',
        did: expect.stringMatching(/commented already/),
      }),
    ]);
    expect(w.fake.comments).toHaveLength(1);
    expect(w.fake.refWrites.filter((r) => r.force)).toEqual([]);
  });
});

describe('reconcile: errors and what is not checked', () => {
  it('a GitHub 500 leaves the action as it was with the error recorded; the run succeeds; the next run catches up', async () => {
    w = await world(database.url);
    await w.run();
    // the client retries a 500 three times: all four attempts fail
    w.fake.failNext({ method: 'GET', path: '/repos/acme/agent/pulls/1', status: 500, times: 4 });
    const second = await w.run({ force: true });
    expect(second.status).toBe('success');
    expect(second.reconciled).toEqual([
      expect.objectContaining({
        outcome: 'error',
        from: 'submitted',
        to: 'submitted',
        error: expect.stringMatching(/^GitHub API error: 500/),
      }),
    ]);
    expect(renderRunText(second)).toMatch(/1 GitHub error\(s\) \(left as they were\)/);
    const [row] = await rows();
    expect(row).toMatchObject({ status: 'submitted', reconciled_at: null, closed_at: null, merged_at: null });
    expect(row!.error).toMatch(/^GitHub API error: 500/);

    const third = await w.run({ force: true });
    expect(third.reconciled).toEqual([expect.objectContaining({ outcome: 'open', error: null })]);
    const [fixed] = await rows();
    expect(fixed).toMatchObject({ status: 'submitted', error: null });
    expect(fixed!.reconciled_at).not.toBeNull();
  });

  it('without a GitHub client nothing is looked up: each open one is reported not checked; planned and pushed ones are unfinished', async () => {
    w = await world(database.url);
    await w.run();
    const [row] = await rows();
    await admin.query(
      `INSERT INTO self_evolution_actions (proposal_id, run_id, repository, action_type, status, branch, patch_sha256)
       VALUES ($1, $2, 'acme/agent', 'pr', 'pushed', 'self-evolution/x', $3)`,
      [row!.proposal_id, 1, 'f'.repeat(64)],
    );
    const common = {
      db: admin,
      repository: 'acme/agent',
      now: new Date(DAY.getTime() + 86_400_000),
      expireDays: 14,
      write: false,
      guard: neverInterrupted,
      logger: silentLogger,
      secrets: [],
    };
    const before = w.fake.requests.length;
    const noToken = await reconcileActions({ ...common, repo: { owner: 'acme', repo: 'agent' } });
    expect(noToken).toEqual([
      expect.objectContaining({
        actionId: row!.id,
        outcome: 'not-checked',
        did: 'not checked: no GitHub token',
      }),
      expect.objectContaining({ outcome: 'unfinished', from: 'pushed', to: 'pushed' }),
    ]);
    const notGitHub = await reconcileActions({ ...common, github: w.client(), repo: null });
    expect(notGitHub[0]).toMatchObject({
      outcome: 'not-checked',
      did: expect.stringMatching(/not a GitHub repository/),
    });
    expect(w.fake.requests.length).toBe(before);
    const [unchanged] = await rows();
    expect(unchanged!.updated_at.getTime()).toBe(row!.updated_at.getTime());
  });
});

describe('untrustedReason', () => {
  it('masks the run secrets, GitHub tokens and known secret formats, and cuts long text', () => {
    const aws = 'AKIA' + 'QWERTYUIOPASDFGH';
    const text = `see ${aws} and ghp_${'x'.repeat(36)} and hunter2secret\r\nbye`;
    expect(untrustedReason(text, ['hunter2secret'])).toBe('see *** and *** and ***\nbye');
    const long = untrustedReason('a'.repeat(5000), []);
    expect(long).toHaveLength(CLOSE_REASON_MAX);
    expect(long.endsWith('…')).toBe(true);
    expect(untrustedReason('  short  ', [])).toBe('short');
  });
});
