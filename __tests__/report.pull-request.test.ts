/**
 * The dry run's pull request previews (src/act/preview.ts) and how the reports show pull requests
 * (src/report/pull-requests.ts): the `proposal-<id>.pull-request.md` artifact, the job summary and the CLI text.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { previewPullRequests, pullRequestRenderer, type PreviewOptions } from '../src/act/preview.js';
import { patchSha256 } from '../src/store/proposals.js';
import { parseMarker } from '../src/act/pull-request.js';
import { ConfigSchema } from '../src/config/schema.js';
import type { ProposalReport, PullRequestReport } from '../src/records.js';
import { writeArtifacts } from '../src/report/artifacts.js';
import { PREVIEW_NOTE, pullRequestFileName, renderPullRequestFile } from '../src/report/pull-requests.js';
import { renderRunText, renderSummaryMarkdown } from '../src/report/summary.js';
import type { RunReport } from '../src/report/types.js';
import { recordingLogger } from './helpers/logger.js';

const BASE = 'a'.repeat(40);
const PATCH =
  'diff --git a/prompts/system.md b/prompts/system.md\n--- a/prompts/system.md\n+++ b/prompts/system.md\n';

function proposal(over: Partial<ProposalReport> = {}): ProposalReport {
  return {
    id: 34,
    title: 'Tighten the system prompt',
    type: 'prompt',
    riskLevel: 1,
    computedRisk: 1,
    effort: 1,
    description: 'Removes two repeated paragraphs.',
    proposer: 'agent',
    status: 'evaluated',
    filesChanged: 1,
    linesAdded: 2,
    linesDeleted: 5,
    linesChanged: 7,
    verdict: 'allowed',
    blockedReasons: [],
    violations: [],
    provenance: { proposer: 'command', name: 'agent', durationMs: 3, signalsAddressed: ['request'] },
    patchFile: 'proposal-34.patch',
    ...over,
  };
}

function options(over: Partial<PreviewOptions> = {}): PreviewOptions {
  const config = ConfigSchema.parse({ prTemplateConfig: { autoLabels: ['self-evolution', 'bot'] } });
  return {
    runId: 12,
    runDate: '2026-11-30',
    baseSha: BASE,
    baseBranch: 'main',
    insights: '1. [100] request: shorten the prompt',
    config,
    policy: { maxLinesOfCode: 500, maxFilesChanged: 10, maxRiskLevel: 2 },
    logsUrl: 'https://github.com/acme/agent/actions/runs/77',
    artifactName: 'self-evolution-run-12',
    template: null,
    ...over,
  };
}

function report(proposals: ProposalReport[], over: Partial<RunReport> = {}): RunReport {
  return {
    runId: 12,
    status: 'success',
    skipReason: null,
    repository: 'acme/agent',
    runDate: '2026-11-30',
    trigger: 'schedule',
    dryRun: true,
    forced: false,
    gates: { beforeJitter: [], underLock: [] },
    jitterMs: 0,
    startedAt: '',
    finishedAt: '',
    summary: 'dry run: 2 proposal(s), 1 allowed, 1 blocked',
    error: null,
    proposals,
    insights: null,
    sandbox: null,
    baseSha: BASE,
    toolVersion: '0.1.0',
    actor: null,
    config: null,
    worktreeDirty: false,
    liveRefusal: null,
    artifactsDir: null,
    artifactName: null,
    logsUrl: null,
    metrics: { stagesMs: {}, proposals: proposals.length, allowed: 1, blocked: 1, failedProposals: 0 },
    overrides: {},
    ...over,
  };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('previewPullRequests', () => {
  it('previews each allowed proposal with a patch, and only those', () => {
    const allowed = proposal();
    const blocked = proposal({ id: 35, verdict: 'blocked', blockedReasons: ['path-blocked: x'] });
    const failed = proposal({ id: 36, status: 'failed', verdict: 'blocked' });
    const noPatch = proposal({ id: 37 });
    const log = recordingLogger();
    const out = previewPullRequests(
      [
        { report: allowed, patch: PATCH },
        { report: blocked, patch: PATCH },
        { report: failed, patch: null },
        { report: noPatch, patch: null },
      ],
      { ...options(), logger: log },
    );
    expect(out).toHaveLength(1);
    expect(allowed.pullRequest).toBe(out[0]);
    expect(blocked.pullRequest).toBeUndefined();
    expect(failed.pullRequest).toBeUndefined();
    expect(noPatch.pullRequest).toBeUndefined();
    const pr = allowed.pullRequest!;
    const sha = patchSha256(PATCH);
    expect(pr).toMatchObject({
      state: 'preview',
      baseBranch: 'main',
      title: 'self-evolution: Tighten the system prompt',
      branch: `self-evolution/2026-11-30-tighten-the-system-prompt-${sha.slice(0, 8)}`,
      labels: ['self-evolution', 'risk:1', 'type:prompt', 'bot'],
      reviewers: [],
      draft: true,
    });
    expect(parseMarker(pr.body)).toEqual({ run: 12, proposal: 34, patchSha256: sha, baseSha: BASE });
    // Default config: no verify commands, so the body says first that nothing was verified.
    expect(pr.body.split('\n')[0]).toMatch(/^⚠️ Not verified: this repository configures no verify commands/);
    expect(log.lines).toEqual([
      expect.stringMatching(/^info preview: pull request .* nothing was pushed or opened$/),
    ]);
  });

  it("states the report's verification, or that configured commands did not run", () => {
    const withCommands = options({
      config: ConfigSchema.parse({ verify: { commands: [{ name: 'test', command: 'npm test' }] } }),
    });
    const notRun = proposal();
    previewPullRequests([{ report: notRun, patch: PATCH }], withCommands);
    expect(notRun.pullRequest!.body.split('\n')[0]).toBe(
      '⚠️ Not verified: the verify commands did not run on this change.',
    );
    const verified = proposal({
      verify: {
        status: 'passed',
        commands: [
          {
            name: 'test',
            command: 'npm test',
            exitCode: 0,
            signal: null,
            timedOut: false,
            durationMs: 2000,
            stdoutTail: 'all green',
            stderrTail: '',
            sandbox: 'bwrap',
          },
        ],
      },
    });
    previewPullRequests([{ report: verified, patch: PATCH }], withCommands);
    expect(verified.pullRequest!.body.startsWith('⚠️')).toBe(false);
    expect(verified.pullRequest!.body).toContain('`npm test` exited 0 in 2.0 s');
  });

  it('says why a pull request cannot be previewed instead of throwing (a branch prefix git refuses)', () => {
    const p = proposal();
    const log = recordingLogger();
    const config = ConfigSchema.parse({ prTemplateConfig: { branchPrefix: 'self evolution/' } });
    const [pr] = previewPullRequests([{ report: p, patch: PATCH }], { ...options({ config }), logger: log });
    expect(pr).toMatchObject({ state: 'not-published', branch: '', body: '' });
    expect(pr!.reason).toMatch(/^cannot preview the pull request: the branch prefix "self evolution\/"/);
    expect(log.lines[0]).toMatch(/^warn proposal "Tighten the system prompt": cannot preview/);
  });

  it('renders what pullRequestRenderer renders for a live run (one renderer for both)', () => {
    const p = proposal();
    const [preview] = previewPullRequests([{ report: p, patch: PATCH }], options());
    const { state: _state, baseBranch: _base, ...fields } = preview!;
    expect(pullRequestRenderer(options())({ report: proposal(), patch: PATCH }, null, BASE)).toEqual(fields);
    expect(() => pullRequestRenderer(options())({ report: proposal(), patch: null }, null, BASE)).toThrow(
      /no patch/,
    );
  });
});

describe('reports of pull requests', () => {
  function previewed(): { run: RunReport; allowed: ProposalReport } {
    const allowed = proposal({ id: null });
    const blocked = proposal({ id: null, title: 'Edit the workflow', verdict: 'blocked' });
    previewPullRequests(
      [
        { report: blocked, patch: PATCH },
        { report: allowed, patch: PATCH },
      ],
      options(),
    );
    return { run: report([blocked, allowed]), allowed };
  }

  it('writes proposal-<id>.pull-request.md: the title as H1, the front block, then the body with its marker', async () => {
    const { run, allowed } = previewed();
    const dir = await mkdtemp(join(tmpdir(), 'se-pr-'));
    dirs.push(dir);
    await writeArtifacts(dir, { report: run, reflection: null, patches: [], log: [] });
    const files = (await readdir(dir)).filter((f) => f.endsWith('.pull-request.md'));
    // Not recorded: the position stands in for the id (the allowed proposal is the second), as for patches.
    expect(files).toEqual(['proposal-2.pull-request.md']);
    const text = await readFile(join(dir, files[0]!), 'utf8');
    const pr = allowed.pullRequest!;
    const lines = text.split('\n');
    expect(lines[0]).toBe('# self-evolution: Tighten the system prompt');
    expect(lines.slice(2, 8)).toEqual([
      `- state: preview (${PREVIEW_NOTE})`,
      `- branch: \`${pr.branch}\``,
      '- base: `main`',
      '- labels: `self-evolution`, `risk:1`, `type:prompt`, `bot`',
      '- reviewers: (none)',
      '- draft: yes',
    ]);
    expect(text).toContain(`\n\n---\n\n${pr.body}\n`);
    expect(parseMarker(text)).toEqual(parseMarker(pr.body));
    expect(parseMarker(text)).not.toBeNull();
  });

  it('names the file by the proposal id when it was recorded', () => {
    expect(pullRequestFileName({ id: 34 }, 0)).toBe('proposal-34.pull-request.md');
    expect(pullRequestFileName({ id: null }, 0)).toBe('proposal-1.pull-request.md');
  });

  it('the job summary and the CLI text show each title, branch and labels, and that nothing was pushed', () => {
    const { run, allowed } = previewed();
    const pr = allowed.pullRequest!;
    const md = renderSummaryMarkdown(run);
    expect(md).toContain('### Pull requests');
    expect(md).toContain(`_${PREVIEW_NOTE}_`);
    expect(md).toContain(
      `- **self-evolution: Tighten the system prompt**: preview; branch \`${pr.branch}\`, labels \`self-evolution\`, \`risk:1\`, \`type:prompt\`, \`bot\`; \`proposal-2.pull-request.md\``,
    );
    expect(md.match(/^- \*\*/gm)).toHaveLength(1);
    const text = renderRunText(run);
    expect(text).toContain('      pull request (preview): self-evolution: Tighten the system prompt');
    expect(text).toContain(`        branch ${pr.branch}, labels self-evolution, risk:1, type:prompt, bot`);
    expect(text.split('\n')).toContain(PREVIEW_NOTE);
  });

  it('a live run shows the link of an opened pull request and no preview line; none without pull requests', () => {
    const opened: PullRequestReport = {
      state: 'opened',
      branch: 'self-evolution/2026-11-30-x-1a2b3c4d',
      baseBranch: 'main',
      title: 'self-evolution: x',
      body: 'body',
      labels: ['self-evolution'],
      reviewers: ['alice'],
      draft: true,
      number: 7,
      url: 'https://github.com/acme/agent/pull/7',
    };
    const live = report([proposal({ pullRequest: opened })], { dryRun: false });
    const md = renderSummaryMarkdown(live);
    expect(md).toContain('- **self-evolution: x**: [#7](https://github.com/acme/agent/pull/7) (opened);');
    expect(md).not.toContain(PREVIEW_NOTE);
    const text = renderRunText(live);
    expect(text).toContain('      pull request #7 (opened): self-evolution: x');
    expect(text).toContain('        https://github.com/acme/agent/pull/7');
    expect(text).not.toContain(PREVIEW_NOTE);
    expect(renderPullRequestFile(opened)).toContain('- url: https://github.com/acme/agent/pull/7\n');

    const notPublished = report(
      [
        proposal({
          pullRequest: {
            ...opened,
            state: 'not-published',
            number: undefined,
            url: undefined,
            reason: 'limit reached: pullRequest.maxPerRun',
          },
        }),
      ],
      { dryRun: false },
    );
    expect(renderSummaryMarkdown(notPublished)).toContain(
      'not-published: limit reached: pullRequest.maxPerRun;',
    );

    const none = report([proposal()]);
    expect(renderSummaryMarkdown(none)).not.toContain('### Pull requests');
    expect(renderRunText(none)).not.toContain(PREVIEW_NOTE);
  });
});
