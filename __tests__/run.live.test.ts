/**
 * Live mode end to end, in process: a real checkout whose `origin` is a local bare repository, GitHub's REST
 * API played by the stateful fake (every request and response validated against GitHub's OpenAPI description),
 * real Postgres. What must hold: the first pull request is right (branch, trailers, body and marker, labels,
 * reviewers, draft); a rerun makes no duplicate; a crash between push and pull request is finished by the next
 * run; a failed verification opens nothing; GitHub errors leave nothing half-done; the limits hold; a protected
 * target is refused; a moved base is handled; nothing is ever merged or force-pushed; the token is nowhere.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from '../src/store/db.js';
import { parseMarker } from '../src/act/pull-request.js';
import { readTrailers } from '../src/git/publish.js';
import { reconcileLine } from '../src/report/summary.js';
import { listProposals } from '../src/store/proposals.js';
import { openRunDatabase, resetRuns } from './helpers/run-db.js';
import type { TestDatabase } from './helpers/db.js';
import { makeTempRepo } from './helpers/git-repo.js';
import { secondaryRateLimit } from './helpers/github-fake.js';
import { config, CONFIG_PATH, TOKEN, world, type World } from './helpers/live-world.js';

let database: TestDatabase;
let admin: Db;

beforeAll(async () => {
  ({ database, admin } = await openRunDatabase('run_live'));
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
  await w?.cleanup();
  w = undefined;
});

async function actions(): Promise<
  { status: string; pr_number: number | null; branch: string; head_sha: string | null }[]
> {
  return admin.query('SELECT status, pr_number, branch, head_sha FROM self_evolution_actions ORDER BY id');
}

/** GitHub fails every attempt to open a pull request of the next run (the client retries a 500 three times). */
function failOpening(): void {
  w!.fake.failNext({ method: 'POST', path: '/repos/acme/agent/pulls', status: 500, times: 4 });
}

/** As if the run had stopped before pushing `row`'s branch: no branch, the row only says it was about to happen. */
async function asIfStoppedBeforePush(row: { branch: string }): Promise<void> {
  await w!.git('update-ref', '-d', `refs/heads/${row.branch}`);
  await admin.query("UPDATE self_evolution_actions SET status = 'planned', head_sha = NULL");
}

describe('live mode', () => {
  it('opens one draft pull request with the branch, commit, body, labels and reviewers; a rerun makes none', async () => {
    w = await world(database.url);
    const report = await w.run();
    expect(report.status).toBe('success');
    const p = report.proposals[0]!;
    expect(p.verdict).toBe('allowed');
    expect(p.pullRequest).toMatchObject({ state: 'opened', number: 1, draft: true, baseBranch: 'main' });
    expect(p.pullRequest!.ci).toMatch(/pull_request workflows run on it \(opened with the `pr-token`/);
    expect(report.summary).toMatch(
      /^live: 1 proposal\(s\), 1 allowed, 0 blocked, 1 pull request\(s\) opened/,
    );

    expect(w.fake.pulls).toHaveLength(1);
    const pr = w.fake.pulls[0]!;
    expect(pr.head).toMatch(/^self-evolution\/2026-11-22-fix-typos-in-the-guide-[0-9a-f]{8}$/);
    expect(pr.base).toBe('main');
    expect(pr.draft).toBe(true);
    expect(pr.title).toBe('self-evolution: Fix typos in the guide');
    expect(new Set(pr.labels)).toEqual(new Set(['self-evolution', 'risk:0', 'type:cleanup', 'ai-ops']));
    expect(pr.requestedReviewers).toEqual(['alice']);
    const marker = parseMarker(pr.body);
    const [row] = await listProposals(admin, report.runId!);
    expect(marker).toEqual({
      run: report.runId,
      proposal: row!.id,
      patchSha256: row!.patchSha256,
      baseSha: report.baseSha,
    });
    // no verify commands: the body says so first
    expect(pr.body!.split('\n').slice(0, 3).join('\n')).toMatch(/Not verified/);

    // the branch on the remote: one commit on main by the bot, with the trailers, holding the change
    const head = await w.git('rev-parse', `refs/heads/${pr.head}`);
    expect(pr.headSha).toBe(head);
    expect(await w.git('rev-parse', `${head}^`)).toBe(report.baseSha);
    expect(await w.git('log', '-1', '--format=%an <%ae>', head)).toBe(
      'github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>',
    );
    expect(await readTrailers(w.repo.dir, await w.git('log', '-1', '--format=%B', head))).toEqual({
      runId: report.runId,
      proposalId: row!.id,
      patchSha256: row!.patchSha256,
    });
    expect(await w.git('show', `${head}:docs/guide.md`)).toContain('the weather');
    expect(await actions()).toEqual([{ status: 'submitted', pr_number: 1, branch: pr.head, head_sha: head }]);

    // a rerun (forced, the next day) finds the same patch published: no second pull request, no second row
    const again = await w.run({ force: true });
    expect(again.status).toBe('success');
    expect(again.proposals[0]!.pullRequest).toMatchObject({ state: 'existing', number: 1 });
    expect(w.fake.pulls).toHaveLength(1);
    expect(await actions()).toHaveLength(1);

    expect(w.fake.merges).toEqual([]);
    expect(w.fake.refWrites.filter((r) => r.force)).toEqual([]);
    w.fake.assertNoViolations();
  });

  it('a run that crashed between push and pull request is finished by the next one: exactly one pull request', async () => {
    w = await world(database.url);
    failOpening();
    const first = await w.run();
    expect(first.status).toBe('success');
    expect(first.proposals[0]!.pullRequest).toMatchObject({ state: 'not-published' });
    expect(first.proposals[0]!.pullRequest!.reason).toMatch(/pull request not opened: GitHub API error: 500/);
    const [pushed] = await actions();
    expect(pushed!.status).toBe('pushed');
    expect(w.fake.pulls).toHaveLength(0);
    // the branch is on the remote
    expect(await w.git('rev-parse', `refs/heads/${pushed!.branch}`)).toBe(pushed!.head_sha);

    // as if the process died right after the push, before it recorded it
    await admin.query("UPDATE self_evolution_actions SET status = 'planned', head_sha = NULL");
    const second = await w.run({ force: true });
    // reconciliation finishes it first; the same change proposed again then finds its pull request
    expect(second.reconciled).toEqual([
      expect.objectContaining({ from: 'planned', to: 'submitted', outcome: 'resumed', prNumber: 1 }),
    ]);
    expect(second.proposals[0]!.pullRequest).toMatchObject({ state: 'existing', number: 1 });
    expect(w.fake.pulls).toHaveLength(1);
    expect(w.fake.pulls[0]!.head).toBe(pushed!.branch);
    expect(w.fake.pulls[0]!.headSha).toBe(pushed!.head_sha); // the branch was adopted, not rewritten
    expect((await actions()).map((a) => a.status)).toEqual(['submitted']);
    w.fake.assertNoViolations();
  });

  /** Commits `cfg` as the checkout's config and pushes it to main (the next run reads it). */
  async function commitConfig(cfg: Record<string, unknown>): Promise<void> {
    await w!.repo.commit({ [CONFIG_PATH]: JSON.stringify(cfg, null, 2) + '\n' }, { message: 'config' });
    await w!.repo.git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  }
  /** A proposer that changes docs/other.md instead of fixing the guide's typo. */
  const otherProposer = {
    kind: 'command',
    name: 'rewording',
    command: "sed -i 's/other/another/' docs/other.md",
    title: 'Reword the other page',
    type: 'cleanup',
    riskLevel: 0,
  };

  it.each([
    ['pushed', 'a run that stopped after the push'],
    ['planned', 'a run that stopped between its record and the push'],
  ])(
    'a change left %s (%s) is finished by the next live run though nothing proposes it again: its pull request, labels and reviewers',
    async (left) => {
      w = await world(database.url);
      failOpening();
      await w.run();
      const [pushed] = await actions();
      expect(pushed!.status).toBe('pushed');
      if (left === 'planned') await asIfStoppedBeforePush(pushed!);
      // the next day's proposer changes something else (and main moved): the first change is not proposed again
      await commitConfig(config({ proposers: [otherProposer] }));
      const second = await w.run({ force: true });
      expect(second.reconciled).toEqual([
        expect.objectContaining({
          from: left,
          to: 'submitted',
          outcome: 'resumed',
          prNumber: 1,
          branch: pushed!.branch,
          did: expect.stringMatching(/^finished what run #\d+ started: pull request #1 opened$/),
        }),
      ]);
      expect(reconcileLine(second)).toBe(
        "reconciled 1 earlier pull request(s): 1 finished (an earlier run's)",
      );
      expect(w.fake.pulls.map((p) => p.title)).toEqual([
        'self-evolution: Fix typos in the guide',
        'self-evolution: Reword the other page',
      ]);
      const pr = w.fake.pulls[0]!;
      expect(pr.head).toBe(pushed!.branch);
      if (left === 'pushed') expect(pr.headSha).toBe(pushed!.head_sha); // adopted, not rewritten
      expect(await w.git('show', `${pr.headSha}:docs/guide.md`)).toContain('the weather');
      expect(new Set(pr.labels)).toEqual(new Set(['self-evolution', 'risk:0', 'type:cleanup', 'ai-ops']));
      expect(pr.requestedReviewers).toEqual(['alice']);
      expect((await actions()).map((a) => [a.status, a.pr_number])).toEqual([
        ['submitted', 1],
        ['submitted', 2],
      ]);
      const [row] = await admin.query<{ payload: { resume?: unknown } }>(
        'SELECT payload FROM self_evolution_actions ORDER BY id LIMIT 1',
      );
      expect(row!.payload.resume).toEqual({ attempts: 1, at: expect.any(String) });
      // a third run has nothing left to finish
      const third = await w.run({ force: true });
      expect(third.reconciled!.map((r) => r.outcome)).toEqual(['open', 'open']);
      expect(w.fake.pulls).toHaveLength(2);
      expect(w.fake.merges).toEqual([]);
      expect(w.fake.refWrites.filter((r) => r.force)).toEqual([]);
      w.fake.assertNoViolations();
    },
  );

  it('a resume that pushes but cannot open the pull request records how far it got; the next run finishes it', async () => {
    w = await world(database.url);
    failOpening();
    await w.run();
    const [left] = await actions();
    await asIfStoppedBeforePush(left!);
    await commitConfig(config({ proposers: [] }));
    failOpening();
    const second = await w.run({ force: true });
    expect(second.reconciled).toEqual([
      expect.objectContaining({
        from: 'planned',
        to: 'pushed',
        outcome: 'unfinished',
        did: expect.stringMatching(/^pushed: not finished \(attempt 1 of 3; the next live run tries again\)/),
        error: expect.stringMatching(/pull request not opened: GitHub API error: 500/),
      }),
    ]);
    const [pushed] = await actions();
    expect(pushed!.status).toBe('pushed');
    expect(await w.git('rev-parse', `refs/heads/${left!.branch}`)).toBe(pushed!.head_sha);
    const third = await w.run({ force: true });
    expect(third.reconciled).toEqual([
      expect.objectContaining({ from: 'pushed', to: 'submitted', outcome: 'resumed', prNumber: 1 }),
    ]);
    expect(w.fake.pulls.map((p) => p.headSha)).toEqual([pushed!.head_sha]);
    w.fake.assertNoViolations();
  });

  it('a run that stopped after opening the pull request, before its labels and review requests: the next live run does them, once; a dry run does not', async () => {
    w = await world(database.url);
    w.fake.failNext({ method: 'POST', path: '/repos/acme/agent/issues/1/labels', status: 500, times: 4 });
    w.fake.failNext({
      method: 'POST',
      path: '/repos/acme/agent/pulls/1/requested_reviewers',
      status: 500,
      times: 4,
    });
    const first = await w.run();
    expect(first.proposals[0]!.pullRequest).toMatchObject({
      state: 'opened',
      number: 1,
      reason: expect.stringMatching(/^labels failed: .*; review request failed: /),
    });
    const pr = w.fake.pulls[0]!;
    expect(pr.labels).toEqual([]);
    expect(pr.requestedReviewers).toEqual([]);
    type Row = { payload: { finishing?: { done?: boolean; labels?: string[] }; notes?: string[] } };
    const [done] = await admin.query<Row>('SELECT payload FROM self_evolution_actions');
    expect(done!.payload.finishing).toMatchObject({ done: true, reviewers: ['alice'], dispatch: null });
    expect(done!.payload.notes).toHaveLength(2);
    // as if the run had stopped right after recording the pull request, before any of it
    await admin.query(
      "UPDATE self_evolution_actions SET payload = jsonb_set(payload, '{finishing,done}', 'false') - 'notes'",
    );
    const open = /^open for \d+ day\(s\) \(draft\)$/;
    const dry = await w.run({ force: true, dryRun: true });
    expect(dry.reconciled).toEqual([
      expect.objectContaining({ outcome: 'open', did: expect.stringMatching(open) }),
    ]);
    expect(pr.labels).toEqual([]);
    const second = await w.run({ force: true });
    expect(second.reconciled).toEqual([
      expect.objectContaining({
        outcome: 'open',
        did: expect.stringMatching(
          / \(draft\); the labels, review requests and CI dispatch the run that opened it did not get to were done$/,
        ),
      }),
    ]);
    expect(new Set(pr.labels)).toEqual(new Set(['self-evolution', 'risk:0', 'type:cleanup', 'ai-ops']));
    expect(pr.requestedReviewers).toEqual(['alice']);
    const [after] = await admin.query<Row>('SELECT payload FROM self_evolution_actions');
    expect(after!.payload.finishing).toMatchObject({ done: true });
    const third = await w.run({ force: true });
    expect(third.reconciled).toEqual([
      expect.objectContaining({ outcome: 'open', did: expect.stringMatching(open) }),
    ]);
    expect(w.fake.pulls).toHaveLength(1);
    w.fake.assertNoViolations();
  });

  it('a left change that cannot be finished is retried by the next runs, then given up with the reason; a dry run only reports it', async () => {
    w = await world(database.url);
    failOpening();
    await w.run();
    expect((await actions()).map((a) => a.status)).toEqual(['pushed']);
    // verification now fails (the config's verify commands changed), and nothing else is proposed
    await commitConfig(
      config({
        proposers: [],
        verify: { commands: [{ name: 'test', command: 'echo "1 test failed" >&2; exit 3' }] },
      }),
    );
    const dry = await w.run({ force: true, dryRun: true });
    expect(dry.reconciled).toEqual([
      expect.objectContaining({ from: 'pushed', to: 'pushed', outcome: 'unfinished' }),
    ]);
    for (const attempt of [1, 2]) {
      const run = await w.run({ force: true });
      expect(run.reconciled).toEqual([
        expect.objectContaining({
          from: 'pushed',
          to: 'pushed',
          outcome: 'unfinished',
          did: expect.stringContaining(`attempt ${attempt} of 3`),
          error: expect.stringMatching(/"test" exited 3/),
        }),
      ]);
    }
    const last = await w.run({ force: true });
    expect(last.reconciled).toEqual([
      expect.objectContaining({
        from: 'pushed',
        to: 'failed',
        outcome: 'unfinished',
        error: expect.stringMatching(/^not finished after 3 attempts: .*"test" exited 3/),
      }),
    ]);
    const [row] = await admin.query<{ status: string; error: string; payload: { resume?: unknown } }>(
      'SELECT status, error, payload FROM self_evolution_actions',
    );
    expect(row).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/not finished after 3 attempts/),
    });
    expect(row!.payload.resume).toEqual({ attempts: 3, at: expect.any(String) });
    // given up: not tried again, no pull request ever
    const after = await w.run({ force: true });
    expect(after.reconciled ?? []).toEqual([]);
    expect(w.fake.pulls).toHaveLength(0);
    w.fake.assertNoViolations();
  });

  it('without a pr-token, pullRequest.ciWorkflow is started by workflow_dispatch on the branch, and said so', async () => {
    w = await world(
      database.url,
      config({ pullRequest: { ciWorkflow: 'ci.yml' } }),
      {},
      {
        '.github/workflows/ci.yml': 'on:\n  workflow_dispatch:\njobs: {}\n',
      },
    );
    const report = await w.run({ prToken: undefined });
    const pr = report.proposals[0]!.pullRequest!;
    expect(pr).toMatchObject({ state: 'opened' });
    expect(w.fake.dispatches).toEqual([expect.objectContaining({ workflow: 'ci.yml', ref: pr.branch })]);
    expect(pr.ci).toMatch(/workflow `ci.yml` is started by workflow_dispatch on the branch/);
    expect(w.fake.pulls[0]!.body).toMatch(/workflow `ci.yml` is started by workflow_dispatch/);
    const [row] = await admin.query<{ payload: { finishing?: unknown } }>(
      'SELECT payload FROM self_evolution_actions',
    );
    expect(row!.payload.finishing).toEqual({
      branch: pr.branch,
      labels: expect.arrayContaining(['self-evolution']),
      reviewers: ['alice'],
      dispatch: 'ci.yml',
      done: true,
    });
    // a run that stopped before the dispatch: the next live run starts it
    await admin.query(
      "UPDATE self_evolution_actions SET payload = jsonb_set(payload, '{finishing,done}', 'false')",
    );
    await w.run({ prToken: undefined, force: true });
    expect(w.fake.dispatches).toEqual([
      expect.objectContaining({ workflow: 'ci.yml', ref: pr.branch }),
      expect.objectContaining({ workflow: 'ci.yml', ref: pr.branch }),
    ]);
    w.fake.assertNoViolations();
  });

  it('liveChangeTypes keeps other types as previews: nothing is pushed or opened for them', async () => {
    w = await world(database.url, config({ liveChangeTypes: ['wildcard', 'prompt'] }));
    const report = await w.run();
    const pr = report.proposals[0]!.pullRequest!;
    expect(pr).toMatchObject({
      state: 'preview',
      reason: 'type cleanup is not in liveChangeTypes: previewed, not published',
    });
    expect(w.fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(await w.git('for-each-ref', 'refs/heads/self-evolution/')).toBe('');
  });

  it('an unverified change of risk 2 is not published unless verify.optional', async () => {
    const risky = (extra: Record<string, unknown>) =>
      config({
        ...extra,
        proposers: [{ ...(config().proposers as Record<string, unknown>[])[0], riskLevel: 2 }],
      });
    w = await world(database.url, risky({}));
    const refused = await w.run();
    expect(refused.proposals[0]!.verdict).toBe('allowed');
    expect(refused.proposals[0]!.pullRequest).toMatchObject({
      state: 'not-published',
      reason: expect.stringMatching(/no verify commands configured; a change of risk 2 or more needs them/),
    });
    expect(w.fake.pulls).toEqual([]);
    await w.cleanup();
    await resetRuns(admin);

    w = await world(database.url, risky({ verify: { optional: true } }));
    const published = await w.run();
    expect(published.proposals[0]!.pullRequest).toMatchObject({ state: 'opened' });
    expect(w.fake.pulls[0]!.body!.split('\n').slice(0, 3).join('\n')).toMatch(/Not verified/);
  });

  it('a failed verification opens nothing and marks the proposal verify-failed', async () => {
    w = await world(
      database.url,
      config({ verify: { commands: [{ name: 'test', command: 'echo "1 test failed" >&2; exit 3' }] } }),
    );
    const report = await w.run();
    const p = report.proposals[0]!;
    expect(p.status).toBe('verify-failed');
    expect(p.verify).toMatchObject({ status: 'failed', reason: expect.stringMatching(/"test" exited 3/) });
    expect(p.pullRequest).toMatchObject({ state: 'not-published' });
    expect(w.fake.pulls).toHaveLength(0);
    expect(await actions()).toEqual([]);
    expect(await w.git('for-each-ref', 'refs/heads/self-evolution/')).toBe('');
    const [row] = await listProposals(admin, report.runId!);
    expect(row!.status).toBe('verify-failed');
    w.fake.assertNoViolations();
  });

  it('passing verify commands are the evidence in the body', async () => {
    w = await world(
      database.url,
      config({
        verify: { commands: [{ name: 'check', command: 'grep -q "the weather" docs/guide.md && echo ok' }] },
      }),
    );
    const report = await w.run();
    expect(report.proposals[0]!.verify).toMatchObject({ status: 'passed' });
    expect(w.fake.pulls).toHaveLength(1);
    expect(w.fake.pulls[0]!.body).toContain('grep -q');
    expect(w.fake.pulls[0]!.body).not.toMatch(/Not verified/);
  });

  it.each([
    [403, /GitHub API error: 403/],
    [422, /GitHub API error: 422/],
  ])(
    'GitHub answering %s to the pull request: recorded, the branch kept for the next run, nothing half-done',
    async (status, reason) => {
      w = await world(database.url);
      w!.fake.failNext({ method: 'POST', path: '/repos/acme/agent/pulls', status });
      const report = await w!.run();
      expect(report.status).toBe('success');
      expect(report.proposals[0]!.pullRequest!.reason).toMatch(reason);
      expect((await actions()).map((a) => a.status)).toEqual(['pushed']);
      expect(w!.fake.pulls).toHaveLength(0);
      const next = await w!.run({ force: true });
      // reconciliation finishes it; the same change proposed again finds its pull request
      expect(next.reconciled).toEqual([expect.objectContaining({ from: 'pushed', outcome: 'resumed' })]);
      expect(next.proposals[0]!.pullRequest).toMatchObject({ state: 'existing', number: 1 });
      expect(w!.fake.pulls).toHaveLength(1);
    },
  );

  it('a secondary rate limit on the pull request is waited for and retried once', async () => {
    w = await world(database.url);
    w.fake.failNext({ method: 'POST', path: '/repos/acme/agent/pulls', ...secondaryRateLimit(1) });
    const report = await w.run();
    expect(report.proposals[0]!.pullRequest).toMatchObject({ state: 'opened' });
    expect(w.fake.pulls).toHaveLength(1);
    expect(w.logs.some((l) => /secondary rate limit/.test(l))).toBe(true);
  });

  it('maxOpen counts the open self-evolution pull requests on GitHub and records the limit', async () => {
    w = await world(database.url);
    await w.repo.git('push', '--quiet', 'origin', 'HEAD:refs/heads/self-evolution/old-1');
    await w.repo.git('push', '--quiet', 'origin', 'HEAD:refs/heads/self-evolution/old-2');
    await w.fake.seedPull({ head: 'self-evolution/old-1', base: 'main', state: 'open' });
    await w.fake.seedPull({ head: 'self-evolution/old-2', base: 'main', state: 'open' });
    const report = await w.run();
    expect(report.proposals[0]!.pullRequest).toMatchObject({
      state: 'not-published',
      reason: 'limit reached: pullRequest.maxOpen',
    });
    expect(report.metrics.limitsReached).toEqual([
      expect.objectContaining({ limit: 'maxOpen', value: 2, skipped: 1 }),
    ]);
    expect(w.fake.pulls).toHaveLength(2);
    expect(await actions()).toEqual([]);
  });

  it('a target branch GitHub protects is refused before anything is pushed', async () => {
    // the dry run's preview names the exact branch a live run would use
    const probe = await world(database.url);
    const preview = await probe.run({ dryRun: true });
    const branch = preview.proposals[0]!.pullRequest!.branch;
    expect(preview.proposals[0]!.pullRequest!.state).toBe('preview');
    expect(probe.fake.requests).toEqual([]);
    await probe.cleanup();
    await resetRuns(admin);

    w = await world(database.url, config(), { protectedBranches: [branch] });
    const report = await w.run();
    expect(report.proposals[0]!.pullRequest).toMatchObject({ state: 'not-published' });
    expect(report.proposals[0]!.pullRequest!.reason).toMatch(/rulesets restrict branch|protected/);
    expect(await w.git('for-each-ref', 'refs/heads/self-evolution/')).toBe('');
    expect(await actions()).toEqual([]);
  });

  it('when the default branch moved since the proposal, the change is applied to the new tip', async () => {
    w = await world(database.url);
    // someone else pushes to main after the checkout was made
    const other = await makeTempRepo({});
    try {
      await other.git('fetch', '--quiet', w.bare, 'main');
      await other.git('reset', '--quiet', '--hard', 'FETCH_HEAD');
      const moved = await other.commit({ 'docs/other.md': 'changed upstream\n' }, { message: 'upstream' });
      await other.git('push', '--quiet', w.bare, 'HEAD:refs/heads/main');
      const report = await w.run();
      expect(report.proposals[0]!.pullRequest).toMatchObject({ state: 'opened' });
      const head = w.fake.pulls[0]!.headSha;
      expect(await w.git('rev-parse', `${head}^`)).toBe(moved);
      expect(await w.git('show', `${head}:docs/other.md`)).toBe('changed upstream');
      expect(parseMarker(w.fake.pulls[0]!.body)!.baseSha).toBe(moved);
    } finally {
      await other.cleanup();
    }
  });

  it('the token is in no log line, artifact, database row or pull request', async () => {
    w = await world(database.url);
    const report = await w.run();
    expect(w.fake.pulls).toHaveLength(1);
    expect(w.logs.join('\n')).not.toContain(TOKEN);
    const dir = report.artifactsDir!;
    for (const f of await readdir(dir)) expect(await readFile(join(dir, f), 'utf8')).not.toContain(TOKEN);
    const dump = await admin.query<{ t: string }>(
      `SELECT concat_ws(' ', (SELECT json_agg(r)::text FROM self_evolution_runs r), (SELECT json_agg(p)::text FROM self_evolution_proposals p),
         (SELECT json_agg(a)::text FROM self_evolution_actions a)) AS t`,
    );
    expect(dump[0]!.t).not.toContain(TOKEN);
    expect(JSON.stringify(w.fake.pulls)).not.toContain(TOKEN);
    expect(JSON.stringify(w.fake.requests.map((r) => r.body))).not.toContain(TOKEN);
  });

  it('a dry run previews the pull request, writes it to the artifacts and calls no GitHub write', async () => {
    w = await world(database.url);
    const report = await w.run({ dryRun: true });
    const pr = report.proposals[0]!.pullRequest!;
    expect(pr.state).toBe('preview');
    expect(pr.branch).toMatch(/^self-evolution\/2026-11-22-fix-typos-in-the-guide-[0-9a-f]{8}$/);
    const file = join(report.artifactsDir!, `proposal-${report.proposals[0]!.id}.pull-request.md`);
    expect(await readFile(file, 'utf8')).toContain(pr.title);
    expect(w.fake.requests).toEqual([]);
    expect(await w.git('for-each-ref', 'refs/heads/self-evolution/')).toBe('');
  });
});
