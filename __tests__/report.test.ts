import { describe, expect, it } from '@jest/globals';
import { createRunLogger } from '../src/report/logger.js';
import { maskDeep, maskSecrets, secretEnvValues, secretsOf, MASK } from '../src/secrets.js';
import { renderRunText, renderSummaryMarkdown, cell } from '../src/report/summary.js';
import { pullRequestsCell, renderStatusTable } from '../src/report/status.js';
import type { RunWithCounts } from '../src/store/runs.js';
import type { RunReport } from '../src/report/types.js';
import { closedRunSummary, everyProposerFailed } from '../src/report/run-report.js';
import { gateLine } from '../src/gates/stage.js';

const clock = { now: () => new Date('2026-11-22T02:00:00Z') };

describe('maskSecrets', () => {
  it('replaces every occurrence of each secret, longest first', () => {
    expect(maskSecrets('a tok123456 b tok123456', ['tok123456'])).toBe(`a ${MASK} b ${MASK}`);
    expect(maskSecrets('abcdef', ['abcd', 'abcdef'])).toBe(MASK);
  });
  it('removes credentials from any URL even when not listed as a secret', () => {
    expect(maskSecrets('connect postgres://bob:pw@db:5432/x failed', [])).toBe(
      `connect postgres://${MASK}@db:5432/x failed`,
    );
    expect(maskSecrets('https://token@github.com/o/r', [])).toBe(`https://${MASK}@github.com/o/r`);
  });
  it('ignores secrets too short to mask safely and leaves other text alone', () => {
    expect(maskSecrets('a b c', ['b'])).toBe('a b c');
  });
});

describe('secretsOf', () => {
  it('lists the token, the URL and the URL password (raw and decoded)', () => {
    const s = secretsOf({ githubToken: 'ghp_x1234', databaseUrl: 'postgres://u:p%40ss@h/d' });
    expect(s).toEqual(expect.arrayContaining(['ghp_x1234', 'postgres://u:p%40ss@h/d', 'p%40ss', 'p@ss']));
  });
  it('is empty without secrets', () => {
    expect(secretsOf({})).toEqual([]);
  });
});

describe('createRunLogger', () => {
  it('masks, timestamps and keeps every line, and forwards to the sink', () => {
    const seen: string[] = [];
    const log = createRunLogger({ secrets: ['supersecret'], clock, sink: (l, m) => seen.push(`${l}:${m}`) });
    log.info('token supersecret here');
    log.addSecrets(['another1']);
    log.warn('another1!');
    expect(seen).toEqual([`info:token ${MASK} here`, `warn:${MASK}!`]);
    expect(log.lines()).toEqual([
      `2026-11-22T02:00:00.000Z INFO token ${MASK} here`,
      `2026-11-22T02:00:00.000Z WARN ${MASK}!`,
    ]);
  });
});

function report(over: Partial<RunReport> = {}): RunReport {
  return {
    sandbox: null,
    baseSha: 'a'.repeat(40),
    toolVersion: '0.1.0',
    actor: 'octocat',
    config: { path: '.github/self-evolution-config.json', blobSha: 'b'.repeat(40), dirty: false },
    worktreeDirty: false,
    liveRefusal: null,
    runId: 4,
    status: 'success',
    skipReason: null,
    repository: 'acme/agent',
    runDate: '2026-11-22',
    trigger: 'schedule',
    dryRun: true,
    forced: false,
    gates: { beforeJitter: [{ gate: 'feature-flag', outcome: 'pass', reason: 'on' }], underLock: [] },
    jitterMs: 0,
    startedAt: '',
    finishedAt: '',
    summary: 'dry run: 1 proposal(s), 0 allowed, 1 blocked',
    error: null,
    proposals: [
      {
        id: 9,
        title: 'Edit | workflow',
        type: 'capability',
        riskLevel: 3,
        proposer: 'p',
        status: 'evaluated',
        filesChanged: 1,
        linesAdded: 1,
        linesDeleted: 1,
        linesChanged: 2,
        verdict: 'blocked',
        blockedReasons: ['path-blocked: x', 'risk-above-max: y'],
        violations: [],
        provenance: { proposer: 'file', name: 'p', durationMs: 1 },
        patchFile: 'proposal-9.patch',
      },
    ],
    insights: null,
    artifactsDir: '/tmp/a/4',
    artifactName: null,
    logsUrl: null,
    metrics: { stagesMs: {}, proposals: 1, allowed: 0, blocked: 1, failedProposals: 0 },
    overrides: {},
    ...over,
  };
}

describe('job summary and text output', () => {
  it('has the gates and a proposals table row with verdict and reasons, escaping pipes', () => {
    const md = renderSummaryMarkdown(report());
    expect(md).toContain('| feature-flag | pass | on |');
    expect(md).toContain(
      '| Edit \\| workflow | capability | 3 | 1 | 2 | blocked | path-blocked: x; risk-above-max: y |',
    );
  });
  it('says why a run was skipped and shows no proposals table', () => {
    const md = renderSummaryMarkdown(report({ status: 'skipped', skipReason: 'lock held', proposals: [] }));
    expect(md).toContain('skipped: lock held');
    expect(md).not.toContain('### Proposals');
  });
  it('prints each proposal with its verdict and reasons', () => {
    const text = renderRunText(report());
    expect(text).toContain('[BLOCKED] Edit | workflow (capability, risk 3, 1 files, 2 lines)');
    expect(text).toContain('      - risk-above-max: y');
  });
  it('states the sandbox: in bold when there was none, plainly when there was one, not at all without commands', () => {
    const none = renderSummaryMarkdown(report({ sandbox: 'none' }));
    expect(none).toContain('- **sandbox: none** (config `"sandbox": "none"`)');
    expect(renderRunText(report({ sandbox: 'none' }))).toContain(
      "sandbox: none: the repository's commands ran without isolation",
    );
    expect(renderSummaryMarkdown(report({ sandbox: 'bwrap' }))).toContain(
      "- sandbox: bwrap (the repository's commands ran isolated)",
    );
    expect(renderSummaryMarkdown(report({ sandbox: null }))).not.toContain('sandbox');
    expect(renderRunText(report({ sandbox: 'unshare' }))).not.toContain('sandbox');
  });
  it('cell() turns newlines into <br>', () => {
    expect(cell('a\nb')).toBe('a<br>b');
  });
});

describe('status table', () => {
  it('prints a row per run with the reason', () => {
    const run = {
      id: 3,
      runDate: '2026-11-22',
      repository: 'acme/agent',
      trigger: 'cli',
      forced: false,
      status: 'skipped',
      skipReason: 'already ran today (run #2, success)',
      summary: 'x',
      error: null,
      proposals: 0,
      allowed: 0,
      blocked: 0,
    } as unknown as RunWithCounts;
    const table = renderStatusTable([{ ...run, pullRequests: [] }]);
    expect(table.split('\n')).toHaveLength(2);
    expect(table).toMatch(
      /^3\s+2026-11-22\s+acme\/agent\s+cli\s+skipped\s+0\s+0\s+0\s+-\s+-\s+already ran today/m,
    );
    expect(table.split('\n')[0]).toMatch(/\bblocked\s+sandbox\s+PRs\s+reason/);
    const bare = renderStatusTable([
      { ...run, status: 'success', skipReason: null, sandbox: 'none', pullRequests: [] },
    ]);
    expect(bare).toMatch(/\ssuccess\s+0\s+0\s+0\s+none\s+-\s+x$/m);
    expect(renderStatusTable([])).toBe('no runs recorded yet');
  });

  it("shows each run's pull requests with their state, and - for a run without", () => {
    const base = {
      runDate: '2026-11-22',
      repository: 'acme/agent',
      trigger: 'schedule',
      forced: false,
      status: 'success',
      skipReason: null,
      error: null,
      summary: 'live',
      proposals: 3,
      allowed: 3,
      blocked: 0,
      sandbox: 'bwrap',
    };
    const table = renderStatusTable([
      {
        ...base,
        id: 9,
        pullRequests: [
          { number: 12, url: 'https://github.com/acme/agent/pull/12', state: 'submitted', branch: 'se/a' },
          { number: null, url: null, state: 'pushed', branch: 'se/b' },
          { number: 13, url: 'https://github.com/acme/agent/pull/13', state: 'merged', branch: 'se/c' },
        ],
      },
      { ...base, id: 8, pullRequests: [] },
    ]);
    const [header, first, second] = table.split('\n');
    const at = header!.indexOf('PRs');
    expect(at).toBeGreaterThan(header!.indexOf('sandbox'));
    expect(first!.slice(at)).toBe('#12 submitted, pushed (no PR), #13 merged  live');
    expect(second!.slice(at)).toMatch(/^-\s+live$/);
    expect(pullRequestsCell([])).toBe('-');
  });
});

describe('renderRunText first line', () => {
  it('says the status with the skip reason, the error or the summary, once', () => {
    const skipped = renderRunText(
      report({ status: 'skipped', skipReason: 'lock held', summary: 'skipped: lock held', proposals: [] }),
    );
    expect(skipped.split('\n')[0]).toBe('run 4 skipped: lock held');
    const failed = renderRunText(
      report({ status: 'failed', error: 'boom', summary: 'failed: boom', proposals: [] }),
    );
    expect(failed.split('\n')[0]).toBe('run 4 failed: boom');
    expect(renderRunText(report()).split('\n')[0]).toBe(
      'run 4 success: dry run: 1 proposal(s), 0 allowed, 1 blocked',
    );
  });
});

describe('maskDeep and secretEnvValues', () => {
  it('masks every string of plain data, keys included, and leaves other values alone', () => {
    const at = new Date(0);
    const masked = maskDeep(
      { a: 'x s3cretvalue y', list: ['s3cretvalue', 3, null], nested: { s3cretvalue: true, at } },
      ['s3cretvalue'],
    );
    expect(masked).toEqual({ a: `x ${MASK} y`, list: [MASK, 3, null], nested: { [MASK]: true, at } });
    expect(masked.nested.at).toBe(at);
  });

  it('lists the values of secret-looking variables, passed through or not, but not plain action inputs', () => {
    expect(
      secretEnvValues({
        OPENAI_API_KEY: 'sk-0123456789',
        MY_SERVICE_SECRET: 'custom-secret-1',
        PROXY: 'http://u:proxy-pass@p:1',
        'INPUT_GITHUB-TOKEN': 'ghs_inputtoken1',
        INPUT_REQUEST: 'fix the typos in the guide',
        SHORT_TOKEN: 'abc',
        PATH: '/usr/bin:/bin',
      }).sort(),
    ).toEqual(['custom-secret-1', 'ghs_inputtoken1', 'http://u:proxy-pass@p:1', 'sk-0123456789']);
  });
});

describe('limits in the reports', () => {
  it('the job summary and the CLI text name each limit reached, the request and the tokens used', () => {
    const r = report({
      metrics: {
        stagesMs: {},
        proposals: 1,
        allowed: 1,
        blocked: 0,
        failedProposals: 0,
        tokensUsed: 1300,
        request: 'Fix the | typos',
        limitsReached: [
          { limit: 'tokenBudgetPerRun', value: 1000, skipped: 1, detail: 'proposer "second" not run' },
        ],
      },
    });
    const md = renderSummaryMarkdown(r);
    expect(md).toContain('- request: Fix the \\| typos');
    expect(md).toContain('- tokens used by openai proposers: 1300');
    expect(md).toContain(
      '- limit reached: `tokenBudgetPerRun` (1000): proposer "second" not run; 1 skipped or dropped',
    );
    expect(renderRunText(r)).toContain(
      'limit reached: tokenBudgetPerRun (1000): proposer "second" not run; 1 skipped or dropped',
    );
  });
});

describe('output a reader can take at its word', () => {
  const blocked = report().proposals[0]!;
  it('a [BLOCKED] line shows the effective risk, and the stated one only when they differ', () => {
    const under = renderRunText(report({ proposals: [{ ...blocked, riskLevel: 1, computedRisk: 3 }] }));
    expect(under).toContain('[BLOCKED] Edit | workflow (capability, risk 3 (stated 1), 1 files, 2 lines)');
    const over = renderRunText(report({ proposals: [{ ...blocked, riskLevel: 4, computedRisk: 2 }] }));
    expect(over).toContain('(capability, risk 4, 1 files, 2 lines)');
    expect(over).not.toContain('stated');
    const md = renderSummaryMarkdown(report({ proposals: [{ ...blocked, riskLevel: 1, computedRisk: 3 }] }));
    expect(md).toContain('| Edit \\| workflow | capability | 3 (stated 1) | 1 | 2 | blocked |');
  });

  it('the gate log lines say which pass they belong to', () => {
    const g = { gate: 'cooldown', outcome: 'pass', reason: 'no failed run; token s3cret' } as const;
    expect(gateLine(g, 'before-jitter', ['s3cret'])).toBe(
      `gate cooldown (before jitter): pass (no failed run; token ${MASK})`,
    );
    expect(gateLine(g, 'under-lock', [])).toBe(
      'gate cooldown (under the lock): pass (no failed run; token s3cret)',
    );
  });

  it('a success in which every proposer failed says so first, in the summary, the heading and the text', () => {
    const m = { stagesMs: {}, proposals: 2, allowed: 0, blocked: 0, failedProposals: 2 };
    const summary = closedRunSummary('success', m, null, true);
    expect(summary).toBe(
      'no usable proposal: every proposer failed (2 of 2); dry run: 2 proposal(s), 0 allowed, 0 blocked (2 failed)',
    );
    const r = report({ summary, metrics: m, proposals: [] });
    expect(renderSummaryMarkdown(r)).toContain(
      '## Self-Evolution run 4: success, no usable proposal (dry run)',
    );
    expect(renderRunText(r).split('\n')[0]).toBe(`run 4 success: ${summary}`);
    // One good proposal among failed ones is a usable day: no mark.
    const some = { ...m, failedProposals: 1, allowed: 1 };
    expect(closedRunSummary('success', some, null, true)).toMatch(/^dry run: 2 proposal/);
    expect(renderSummaryMarkdown(report({ metrics: some }))).toContain(
      '## Self-Evolution run 4: success (dry run)',
    );
    // No proposer at all is not "every proposer failed".
    expect(everyProposerFailed({ proposals: 0, failedProposals: 0 })).toBe(false);
  });
});
