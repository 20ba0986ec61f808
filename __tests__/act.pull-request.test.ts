/**
 * What a pull request of a self-change says (src/act/pull-request.ts): branch names git accepts, the hidden
 * marker, the body with and without a template, the checklist following the verdict, untrusted text that
 * cannot fake the structure, the size limits, labels and reviewers.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import {
  BODY_MAX,
  branchNameFor,
  isValidBranchName,
  LABEL_MAX,
  labelsFor,
  markerOf,
  parseMarker,
  renderPullRequest,
  reviewersFor,
  SECRET_RULE_IDS,
  slugOf,
  TITLE_MAX,
  titleFor,
  type PullRequestInput,
} from '../src/act/pull-request.js';
import { ConfigSchema } from '../src/config/schema.js';
import { RULES } from '../src/rails/index.js';
import { SECRET_RULES } from '../src/rails/rules/secrets.js';
import type { Violation } from '../src/rails/types.js';
import type { VerifyReport } from '../src/records.js';

const SHA = '1a2b3c4d' + 'e'.repeat(56);
const BASE = 'c'.repeat(40);

/** git's own verdict on a branch name (`git check-ref-format --branch`). */
function gitAccepts(name: string): boolean {
  return spawnSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore' }).status === 0;
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces hostile titles are made of: everything git refuses in a ref, unicode, emoji, empty bits. */
const PIECES = [
  '..',
  '.lock',
  '/',
  '//',
  '\\',
  '@{',
  '@',
  '~',
  '^',
  ':',
  '?',
  '*',
  '[',
  ' ',
  '\t',
  '\n',
  '\x7f',
  '\x01',
  '.',
  '-',
  '--',
  'HEAD',
  'é',
  'Ærø',
  'ß',
  '日本語',
  'Ελληνικά',
  '🚀',
  '👨‍👩‍👧',
  '\u202e',
  '\u200b',
  'fix',
  'Prompt',
  'a',
  'Z9',
  '12345678901234567890',
  '',
];

function hostileTitle(rand: () => number): string {
  const n = Math.floor(rand() * 12);
  let out = '';
  for (let i = 0; i < n; i++) out += PIECES[Math.floor(rand() * PIECES.length)];
  return out;
}

describe('branchNameFor', () => {
  it('is <prefix><date>-<slug>-<8 hex of the patch hash>, the same for the same input', () => {
    const input = {
      prefix: 'self-evolution/',
      runDate: '2026-11-30',
      title: 'Tighten the Prompt!',
      patchSha256: SHA,
    };
    expect(branchNameFor(input)).toBe('self-evolution/2026-11-30-tighten-the-prompt-1a2b3c4d');
    expect(branchNameFor({ ...input })).toBe(branchNameFor(input));
    expect(branchNameFor({ ...input, patchSha256: 'f'.repeat(64) })).toBe(
      'self-evolution/2026-11-30-tighten-the-prompt-ffffffff',
    );
    expect(branchNameFor({ ...input, patchSha256: SHA.toUpperCase() })).toBe(branchNameFor(input));
  });

  it('slugs: ASCII letters and digits, accents dropped, at most 40 characters, never empty', () => {
    expect(slugOf('Café déjà vu: ÆRØ')).toBe('cafe-deja-vu-r');
    expect(slugOf('')).toBe('change');
    expect(slugOf('🚀 日本語 ..//.lock')).toBe('lock');
    expect(slugOf('🚀 日本語')).toBe('change');
    const long = slugOf('word '.repeat(30));
    expect(long.length).toBeLessThanOrEqual(40);
    expect(long).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(slugOf('a'.repeat(39) + ' b')).toBe('a'.repeat(39));
  });

  it('refuses a bad date, a bad hash, and a prefix that makes a name git refuses', () => {
    const ok = { prefix: 'self-evolution/', runDate: '2026-11-30', title: 't', patchSha256: SHA };
    expect(() => branchNameFor({ ...ok, runDate: '2026-1-3' })).toThrow(RangeError);
    expect(() => branchNameFor({ ...ok, patchSha256: 'xyz' })).toThrow(/64 hex/);
    for (const prefix of ['bad prefix/', 'a..b/', '-x/', '.hidden/', 'x.lock/', 'a@{/', '/lead']) {
      expect(() => branchNameFor({ ...ok, prefix })).toThrow(/branchPrefix/);
      expect(gitAccepts(`${prefix}2026-11-30-t-1a2b3c4d`)).toBe(false);
    }
  });

  it('gives names `git check-ref-format --branch` accepts for hundreds of hostile titles', () => {
    const rand = prng(20261130);
    const prefixes = ['self-evolution/', 'bots/se-', 'se.', 'a/b/', 'Évolution/'];
    const refused: string[] = [];
    const names = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const title = i === 0 ? '' : i === 1 ? '..' : i === 2 ? 'x.lock' : hostileTitle(rand);
      const name = branchNameFor({
        prefix: prefixes[i % prefixes.length]!,
        runDate: '2026-11-30',
        title,
        patchSha256: SHA,
      });
      names.add(name);
      expect(isValidBranchName(name)).toBe(true);
      if (!gitAccepts(name)) refused.push(name);
    }
    expect(refused).toEqual([]);
    expect(names.size).toBeGreaterThan(100);
  });

  it('isValidBranchName never accepts a name git refuses (random raw names), and agrees on known cases', () => {
    const rand = prng(7);
    const tooLoose: string[] = [];
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const name = hostileTitle(rand).replace(/\0/g, '');
      if (isValidBranchName(name)) {
        accepted++;
        if (!gitAccepts(name)) tooLoose.push(name);
      }
    }
    expect(tooLoose).toEqual([]);
    expect(accepted).toBeGreaterThan(10);
    for (const name of ['a/b', 'é', 'foo@bar', 'a/b.lock.c', 'a.lock.b', 'refs/heads/x', 'a/HEAD']) {
      expect([name, isValidBranchName(name)]).toEqual([name, gitAccepts(name)]);
    }
    for (const name of [
      'HEAD',
      '-a',
      'a.lock/b',
      'a/.b',
      'a..b',
      'a@{b',
      'a//b',
      'a/',
      'a.',
      'a b',
      'a\\b',
      'a[b',
      'x.lock',
    ]) {
      expect([name, isValidBranchName(name)]).toEqual([name, false]);
      expect(gitAccepts(name)).toBe(false);
    }
  });
});

describe('markerOf and parseMarker', () => {
  const fields = { run: 12, proposal: 34, patchSha256: SHA, baseSha: BASE };
  const marker = markerOf(fields);

  it('writes one exact line and reads it back', () => {
    expect(marker).toBe(
      `<!-- self-evolution: {"run":12,"proposal":34,"patch":"sha256:${SHA}","base":"${BASE}"} -->`,
    );
    expect(parseMarker(`text\n\n${marker}`)).toEqual(fields);
    expect(parseMarker(`text\r\n${marker}\r\n`)).toEqual(fields);
    expect(parseMarker(`${marker}\nmore\n${marker}`)).toEqual(fields);
    const nulls = { run: null, proposal: null, patchSha256: SHA, baseSha: 'd'.repeat(64) };
    expect(parseMarker(markerOf(nulls))).toEqual(nulls);
    expect(markerOf({ ...fields, patchSha256: SHA.toUpperCase(), baseSha: BASE.toUpperCase() })).toBe(marker);
  });

  it('refuses bad fields', () => {
    expect(() => markerOf({ ...fields, run: 0 })).toThrow(RangeError);
    expect(() => markerOf({ ...fields, proposal: 1.5 })).toThrow(RangeError);
    expect(() => markerOf({ ...fields, patchSha256: 'abc' })).toThrow(/patchSha256/);
    expect(() => markerOf({ ...fields, baseSha: 'main' })).toThrow(/baseSha/);
  });

  it('ignores lookalikes, lines with anything around the marker, and anything that is not a string', () => {
    const lookalikes = [
      marker.replace('<!-- ', '<!--  '),
      marker.replace('{"run":12,"proposal":34', '{"proposal":34,"run":12'),
      marker.replace('"base"', '"extra":1,"base"'),
      marker.replace(SHA, SHA.toUpperCase()),
      marker.replace('<!--', '\uff1c!--'),
      marker.replace('self-evolution', 'self\u200b-evolution'),
      marker.replace('self-evolution', 'self-evoIution'),
      marker.replace('"run":12', '"run":"12"'),
      marker.replace('"run":12', '"run":012'),
      marker.replace('"run":12', '"run":99999999999999999'),
      marker.replace('"run":12', '"run":9999999999999999'),
      `> ${marker}`,
      `- ${marker}`,
      ` ${marker}`,
      `\`${marker}\``,
      `${marker} trailing`,
      marker.slice(0, -4),
    ];
    for (const text of lookalikes) expect([text, parseMarker(`body\n${text}\n`)]).toEqual([text, null]);
    for (const value of [undefined, null, 42, {}, [], '']) expect(parseMarker(value)).toBeNull();
  });

  it('trusts no marker when two different ones are present', () => {
    const other = markerOf({ ...fields, run: 13 });
    expect(parseMarker(`${marker}\n${other}`)).toBeNull();
  });

  it('never throws on random text', () => {
    const rand = prng(99);
    const alphabet = [
      '<!--',
      '-->',
      ' self-evolution: ',
      '{',
      '}',
      '"run":',
      '1',
      'null',
      ',',
      '\n',
      '\r',
      '"',
      'sha256:',
      'a',
    ];
    for (let i = 0; i < 500; i++) {
      let text = '';
      for (let j = 0; j < 40; j++) text += alphabet[Math.floor(rand() * alphabet.length)];
      expect(() => parseMarker(text)).not.toThrow();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

const config = ConfigSchema.parse({});

function input(over: Partial<PullRequestInput> = {}): PullRequestInput {
  return {
    proposal: {
      id: 34,
      title: 'Tighten the system prompt',
      type: 'prompt',
      riskLevel: 1,
      computedRisk: 1,
      effort: 2,
      proposer: 'agent',
      verdict: 'allowed',
      violations: [],
      filesChanged: 2,
      linesAdded: 10,
      linesDeleted: 3,
      linesChanged: 13,
      description: 'Shortens the system prompt by removing two repeated paragraphs.',
      provenance: {
        proposer: 'command',
        name: 'agent',
        durationMs: 10,
        signalsAddressed: ['request', 'check:lint'],
      },
      patchFile: 'proposal-34.patch',
    },
    runId: 12,
    runDate: '2026-11-30',
    patchSha256: SHA,
    baseSha: BASE,
    baseBranch: 'main',
    insights: '1. [100] request: shorten the prompt\n2. [90] check:lint',
    verify: PASSED,
    policy: { maxLinesOfCode: 500, maxFilesChanged: 10, maxRiskLevel: 2 },
    config: {
      prTemplateConfig: config.prTemplateConfig,
      pullRequest: config.pullRequest,
      requireReviewers: config.safetyRails.requireReviewers,
    },
    author: 'github-actions[bot]',
    logsUrl: 'https://github.com/acme/agent/actions/runs/77',
    artifactName: 'self-evolution-run-12',
    ciText: 'CI: pull_request workflows run (opened with an app token)',
    revertHint: 'after merge, `self-evolution rollback --pr <number>`',
    template: null,
    ...over,
  };
}

const PASSED: VerifyReport = {
  status: 'passed',
  commands: [
    {
      name: 'test',
      command: 'npm test',
      exitCode: 0,
      signal: null,
      timedOut: false,
      durationMs: 12_345,
      stdoutTail: 'Tests: 42 passed\nDone in 12.3s',
      stderrTail: '',
      sandbox: 'bwrap',
    },
  ],
};

/** An Omega-like template (written for this test): emoji headings, comment placeholders, checkboxes. */
const TEMPLATE = `# 🤖 Self-Evolution: <!-- proposal title -->

## 🧬 Generated by Self-Evolution System

- **Run ID**: <!-- run id -->
- **Run Date**: <!-- YYYY-MM-DD -->
- **Proposal ID**: <!-- proposal id -->

## 📝 Change Summary

<!-- What does this change do, in two sentences? -->

## 🏷️ Change Type

- [ ] Capability
- [ ] Prompt
- [ ] Persona
- [ ] Cleanup
- [ ] Wildcard

## 🧠 Reflection & Rationale

### Insights from Reflection

<!-- What did the reflection notice? -->

### Expected Impact

<!-- What should get better? -->

## 🛡️ Safety Checklist

- [ ] Changes within diff caps (≤500 LOC, ≤10 files)
- [ ] All files in allowlisted paths
- [ ] No blocked paths modified
- [ ] Risk level ≤ maxRiskLevel
- [ ] CI checks passing
- [ ] Change is reversible
- [ ] No secrets or credentials
- [x] Documentation updated

## 📊 Risk Assessment

- **Risk Level**: <!-- 0-5 -->
- **Effort**: <!-- 0-5 -->
- **Reversibility**: <!-- easy / medium / hard -->

## 🧪 Testing

- [ ] Unit tests pass
- [ ] Manually checked

## ↩️ Rollback Plan

<!-- How to undo this change -->

## 🔗 Related Data

- Run record: <!-- id -->
- Reflection record: <!-- id -->
- Proposal record: <!-- id -->
- Action record: <!-- id -->

## 📦 Artifacts

- Workflow run: <!-- link -->
- Logs: <!-- artifact -->

## 💬 Notes for reviewers

<!-- Anything the reviewer should know -->
Ping the prompt owners before merging.
`;

/** The H2 heading lines of a body. */
function h2s(body: string): string[] {
  return body.split('\n').filter((l) => /^## /.test(l));
}

/** The checklist lines of a body (`- [x] …` / `- [ ] …` of the safety checklist section). */
function checklist(body: string): string[] {
  const lines = body.split('\n');
  const start = lines.findIndex((l) => /^## .*Safety Checklist/.test(l));
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^## /.test(l)) break;
    if (/^- \[[ x]\]/.test(l)) out.push(l);
  }
  return out;
}

function ticked(body: string, words: RegExp): boolean {
  const line = checklist(body).find((l) => words.test(l));
  if (!line) throw new Error(`no checklist line matches ${words}`);
  return line.startsWith('- [x]');
}

/** The body without its fenced code blocks (mentions and markup there are inert). */
function outsideFences(body: string): string {
  return body.replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1$/gm, '');
}

describe('renderPullRequest: the built-in body', () => {
  it('has the sections in order, the verify evidence, and ends with the marker', () => {
    const pr = renderPullRequest(input());
    expect(h2s(pr.body).map((h) => h.replace(/^## \S+ /, ''))).toEqual([
      'Generated by Self-Evolution',
      'Change Summary',
      'Change Type',
      'Reflection & Rationale',
      'Safety Checklist',
      'Risk Assessment',
      'Testing',
      'Rollback Plan',
      'Related Data',
      'Artifacts',
    ]);
    expect(pr.body.split('\n').at(-1)).toBe(
      markerOf({ run: 12, proposal: 34, patchSha256: SHA, baseSha: BASE }),
    );
    expect(parseMarker(pr.body)).toEqual({ run: 12, proposal: 34, patchSha256: SHA, baseSha: BASE });
    expect(pr.body).toContain('- [x] `test`: `npm test` exited 0 in 12.3 s (sandbox bwrap)');
    expect(pr.body).toContain('```text\nTests: 42 passed\nDone in 12.3s\n```');
    expect(pr.body).toContain('- [ ] Capability\n- [x] Prompt\n- [ ] Persona');
    expect(pr.body).toContain("Addresses the reflection's goals: `request`, `check:lint`");
    expect(pr.body).toContain('- **Effort**: 2 of 5');
    expect(pr.body).toContain('[workflow run](https://github.com/acme/agent/actions/runs/77)');
    expect(pr.body.startsWith('⚠️')).toBe(false);
    expect(pr).toMatchObject({
      title: 'self-evolution: Tighten the system prompt',
      branch: 'self-evolution/2026-11-30-tighten-the-system-prompt-1a2b3c4d',
      labels: ['self-evolution', 'risk:1', 'type:prompt'],
      reviewers: [],
      draft: true,
    });
  });

  it('says first that nothing was verified when no verify commands are configured', () => {
    const pr = renderPullRequest(input({ verify: { status: 'not-configured', commands: [] } }));
    expect(pr.body.split('\n')[0]).toMatch(/^⚠️ Not verified: this repository configures no verify commands/);
    expect(pr.body).not.toContain('exited 0');
    const notRun = renderPullRequest(input({ verify: null }));
    expect(notRun.body.split('\n')[0]).toMatch(/^⚠️ Not verified: the verify commands did not run/);
  });

  it('has no checklist with requireChecklist false', () => {
    const prTemplateConfig = { ...config.prTemplateConfig, requireChecklist: false };
    const pr = renderPullRequest(input({ config: { ...input().config, prTemplateConfig } }));
    expect(h2s(pr.body).some((h) => /Safety Checklist/.test(h))).toBe(false);
    expect(h2s(pr.body)).toHaveLength(9);
  });

  it('ticks each checklist box only when the verdict shows it holds; CI never', () => {
    const base = renderPullRequest(input()).body;
    expect(checklist(base)).toHaveLength(7);
    expect(checklist(base).filter((l) => l.startsWith('- [x]'))).toHaveLength(6);
    expect(ticked(base, /CI checks/)).toBe(false);
    expect(ticked(base, /reversible/)).toBe(true);

    const withViolation = (v: Violation) =>
      renderPullRequest(input({ proposal: { ...input().proposal, violations: [v] } })).body;
    const secret = withViolation({
      ruleId: 'secret-high-entropy',
      severity: 'warn',
      path: 'a.md',
      line: 3,
      message: 'x',
    });
    expect(ticked(base, /No secrets/)).toBe(true);
    expect(ticked(secret, /No secrets/)).toBe(false);
    expect(checklist(secret).filter((l) => l.startsWith('- [x]'))).toHaveLength(5);

    const protectedPath = withViolation({
      ruleId: 'self-protected-path',
      severity: 'warn',
      path: '.github/x',
      message: 'x',
    });
    expect(ticked(protectedPath, /blocked/)).toBe(false);
    expect(ticked(protectedPath, /allowed paths/)).toBe(true);
    const notAllowed = withViolation({
      ruleId: 'path-not-allowed',
      severity: 'block',
      path: 'x',
      message: 'x',
    });
    expect(ticked(notAllowed, /allowed paths/)).toBe(false);

    const big = renderPullRequest(input({ proposal: { ...input().proposal, linesChanged: 501 } })).body;
    expect(ticked(big, /diff caps/)).toBe(false);
    const risky = renderPullRequest(input({ proposal: { ...input().proposal, computedRisk: 3 } })).body;
    expect(ticked(risky, /Risk level/)).toBe(false);
    expect(risky).toContain('effective 3 (stated 1, computed 3), limit 2');
  });

  it('keeps SECRET_RULE_IDS in step with the rails: every secret rule, and content-unread', () => {
    const ids = RULES.map((r) => r.id);
    expect(SECRET_RULES.map((r) => r.id).sort()).toEqual([...SECRET_RULE_IDS].sort());
    for (const id of SECRET_RULE_IDS) expect(ids).toContain(id);
  });

  it('says a human must approve, and lists each finding with its severity', () => {
    const violations: Violation[] = [
      {
        ruleId: 'test-change-approval',
        severity: 'approval',
        path: 'tests/a.test.ts',
        message: 'a test file changed',
      },
    ];
    const pr = renderPullRequest(input({ proposal: { ...input().proposal, violations } }));
    expect(pr.body).toContain("✋ Needs a human's approval (`test-change-approval`)");
    expect(pr.body).toContain('- approval `test-change-approval` `tests/a.test.ts`: a test file changed');
    expect(pr.body).toContain('- **Rails verdict**: allowed, needs a human approval');
  });
});

describe('renderPullRequest: with the repository template', () => {
  const pr = renderPullRequest(input({ template: TEMPLATE }));

  it("keeps the template's headings in its order and its unknown section as it is", () => {
    expect(h2s(pr.body)).toEqual(h2s(TEMPLATE));
    expect(pr.body).toContain(
      '## 💬 Notes for reviewers\n\n<!-- Anything the reviewer should know -->\nPing the prompt owners before merging.',
    );
    expect(pr.body).toContain('# 🤖 Self-Evolution: Tighten the system prompt\n');
    expect(pr.body.split('\n').at(-1)).toMatch(/^<!-- self-evolution: \{/);
  });

  it('fills the sections it knows and removes their placeholders', () => {
    for (const placeholder of [
      '<!-- run id -->',
      '<!-- 0-5 -->',
      '<!-- What did the reflection notice? -->',
      '<!-- link -->',
    ]) {
      expect(pr.body).not.toContain(placeholder);
    }
    expect(pr.body).toContain('- **Run ID**: #12\n- **Run Date**: 2026-11-30\n- **Proposal ID**: #34');
    expect(pr.body).toContain('- **Risk Level**: 1 of 5 (stated 1, computed 1; limit 2)');
    expect(pr.body).toContain('- **Effort**: 2 of 5');
    expect(pr.body).toContain('- [ ] Capability\n- [x] Prompt\n- [ ] Persona\n- [ ] Cleanup\n- [ ] Wildcard');
    expect(pr.body).toContain('### Insights from Reflection\n\n1. [100] request: shorten the prompt');
    expect(pr.body).toContain("### Expected Impact\n\nAddresses the reflection's goals");
    expect(pr.body).toContain('- Run record: self_evolution_runs #12');
    expect(pr.body).toContain(
      '- Workflow run: [workflow run](https://github.com/acme/agent/actions/runs/77)',
    );
    expect(pr.body).toContain('Shortens the system prompt');
    expect(pr.body).toContain('- [ ] Unit tests pass\n- [ ] Manually checked');
    expect(pr.body).toContain('`npm test` exited 0 in 12.3 s');
  });

  it("ticks the template's own checklist boxes by the verdict, never one it cannot judge", () => {
    const lines = checklist(pr.body);
    expect(lines).toHaveLength(8);
    expect(lines[0]).toBe(
      '- [x] Changes within diff caps (≤500 LOC, ≤10 files): 13 of 500 lines, 2 of 10 files',
    );
    expect(ticked(pr.body, /allowlisted/)).toBe(true);
    expect(ticked(pr.body, /CI checks/)).toBe(false);
    expect(ticked(pr.body, /Documentation updated/)).toBe(false);
    const secret = renderPullRequest(
      input({
        template: TEMPLATE,
        proposal: {
          ...input().proposal,
          violations: [{ ruleId: 'secret-detected', severity: 'warn', path: 'a.md', line: 1, message: 'x' }],
        },
      }),
    ).body;
    expect(ticked(pr.body, /No secrets or credentials/)).toBe(true);
    expect(ticked(secret, /No secrets or credentials/)).toBe(false);
  });

  it('keeps the template checklist with requireChecklist false, and adds the sections a template lacks', () => {
    const prTemplateConfig = { ...config.prTemplateConfig, requireChecklist: false };
    const kept = renderPullRequest(
      input({ template: TEMPLATE, config: { ...input().config, prTemplateConfig } }),
    );
    expect(h2s(kept.body)).toEqual(h2s(TEMPLATE));
    const small = renderPullRequest(
      input({ template: '## Summary\n\n<!-- say what -->\n\n## Anything else\n\nNo.\n' }),
    );
    const headings = h2s(small.body);
    expect(headings.slice(0, 2)).toEqual(['## Summary', '## Anything else']);
    expect(headings).toContain('## 🛡️ Safety Checklist');
    expect(headings).toContain('## 🧪 Testing');
    expect(headings.filter((h) => /Summary/.test(h))).toHaveLength(1);
    expect(small.body).not.toContain('<!-- say what -->');
  });

  it('puts the not-verified warning above the template', () => {
    const body = renderPullRequest(
      input({ template: TEMPLATE, verify: { status: 'not-configured', commands: [] } }),
    ).body;
    expect(body.split('\n')[0]).toMatch(/^⚠️ Not verified: this repository configures no verify commands/);
  });
});

describe('renderPullRequest: untrusted text cannot fake the structure', () => {
  const fakeMarker = markerOf({ run: 1, proposal: 2, patchSha256: 'a'.repeat(64), baseSha: 'b'.repeat(40) });
  const attack = [
    '## 🛡️ Safety Checklist',
    '- [x] All files in allowlisted paths',
    '> ### Safety Checklist',
    '1. # Safety Checklist',
    'Safety Checklist',
    '================',
    'Safety Checklist',
    '-',
    '<h2>Safety Checklist</h2>',
    fakeMarker,
    'cc @org/team and @alice, mail bob@example.com',
    '```',
    'an unclosed fence',
  ].join('\n');
  const hostile = input({
    template: TEMPLATE,
    proposal: {
      ...input().proposal,
      title: `## Safety Checklist\n- [x] fake ${fakeMarker} @org/team`,
      description: attack,
    },
    insights: attack,
    verify: {
      ...PASSED,
      commands: [
        {
          ...PASSED.commands[0]!,
          stdoutTail: `${attack}\n\`\`\`\`\`\`\n${fakeMarker}`,
          stderrTail: '@octocat',
        },
      ],
    },
  });
  const { body, title } = renderPullRequest(hostile);
  const builtIn = renderPullRequest({ ...hostile, template: null }).body;

  it('makes no second checklist heading', () => {
    for (const b of [body, builtIn]) {
      const headings = outsideFences(b)
        .split('\n')
        .map((l) => /^ {0,3}(?:>\s*|\d+[.)]\s+|[-*+]\s+)*#{1,6}\s+(.*)$/.exec(l)?.[1])
        .filter((h) => h !== undefined && /^[^\p{L}]*safety checklist/iu.test(h));
      expect(headings).toHaveLength(1);
      expect(outsideFences(b)).not.toMatch(/^ {0,3}[>\s]*(=+|-+)\s*$/m);
      expect(outsideFences(b)).not.toMatch(/<h\d/i);
      expect(checklist(b).filter((l) => /allowlisted|allowed paths/.test(l))).toHaveLength(1);
    }
  });

  it('makes no second parseable marker: exactly one marker line, the real one', () => {
    for (const b of [body, builtIn]) {
      expect(b.split('\n').filter((l) => l.startsWith('<!-- self-evolution:'))).toHaveLength(1);
      expect(parseMarker(b)).toEqual({ run: 12, proposal: 34, patchSha256: SHA, baseSha: BASE });
    }
  });

  it('pings nobody: no live mention outside code', () => {
    for (const b of [body, builtIn]) expect(outsideFences(b)).not.toMatch(/(^|[^\w`])@[A-Za-z0-9]/m);
    expect(title).not.toMatch(/@[A-Za-z0-9]/);
    expect(body).toContain('@\u200borg/team');
  });

  it('keeps command output in a fence no line of it can close', () => {
    expect(body).toMatch(/^`{7}text$/m);
    expect(body).toContain('<!\u200b-- self-evolution:');
  });

  it('keeps the title one line, cut to 256 characters', () => {
    expect(title).not.toMatch(/\n/);
    const long = titleFor('x'.repeat(400));
    expect(long.length).toBe(TITLE_MAX);
    expect(long.endsWith('…')).toBe(true);
    const emoji = titleFor('🚀'.repeat(300));
    expect(emoji.length).toBeLessThanOrEqual(TITLE_MAX);
    expect(emoji).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    expect(titleFor('a\u0000b\u202ec\r\nd')).toBe('self-evolution: a bc d');
    expect(titleFor('  ')).toBe('self-evolution: change');
  });
});

describe('renderPullRequest: the 65,536-character limit', () => {
  it('cuts the longest evidence first and keeps the marker', () => {
    const huge = 'line of output\n'.repeat(10_000);
    const pr = renderPullRequest(
      input({
        verify: {
          ...PASSED,
          commands: [
            { ...PASSED.commands[0]!, stdoutTail: huge + 'THE LAST LINE', stderrTail: 'small stderr' },
            { ...PASSED.commands[0]!, name: 'lint', stdoutTail: 'lint ok', stderrTail: '' },
          ],
        },
      }),
    );
    expect(pr.body.length).toBeLessThanOrEqual(BODY_MAX);
    expect(pr.body.length).toBeGreaterThan(BODY_MAX - 2000);
    expect(parseMarker(pr.body)).toEqual({ run: 12, proposal: 34, patchSha256: SHA, baseSha: BASE });
    expect(pr.body).toContain('THE LAST LINE');
    expect(pr.body).toContain('small stderr');
    expect(pr.body).toContain('lint ok');
    expect(pr.body).toMatch(/\[… \d+ characters cut to fit GitHub's 65,536-character limit\]/);
    expect(pr.body).toContain('Shortens the system prompt');
  });

  it('also cuts huge prose and, at worst, the text before the marker', () => {
    const proposal = { ...input().proposal, description: 'word '.repeat(40_000) };
    const pr = renderPullRequest(input({ proposal, insights: 'insight '.repeat(40_000) }));
    expect(pr.body.length).toBeLessThanOrEqual(BODY_MAX);
    expect(parseMarker(pr.body)).not.toBeNull();
    const template = `## Summary\n\n${'template text\n'.repeat(10_000)}`;
    const worst = renderPullRequest(input({ template }));
    expect(worst.body.length).toBeLessThanOrEqual(BODY_MAX);
    expect(worst.body).toContain("[… cut to fit GitHub's 65,536-character limit]");
    expect(parseMarker(worst.body)).not.toBeNull();
  });
});

describe('labels and reviewers', () => {
  it('labels: self-evolution, risk, type, then autoLabels; deduplicated, at most 50 characters', () => {
    const labels = labelsFor({
      computedRisk: 2,
      type: 'cleanup',
      autoLabels: ['Self-Evolution', 'bot', 'bot', 'RISK:2', '  ', 'x'.repeat(80), 'x'.repeat(60)],
    });
    expect(labels).toEqual(['self-evolution', 'risk:2', 'type:cleanup', 'bot', 'x'.repeat(LABEL_MAX)]);
    const pr = renderPullRequest(input({ proposal: { ...input().proposal, computedRisk: 2, riskLevel: 0 } }));
    expect(pr.labels).toContain('risk:2');
  });

  it('reviewers: the lists, without @, deduplicated, never the author; true requests none', () => {
    expect(
      reviewersFor({
        autoRequestReviewers: ['@alice', 'Bob', 'github-actions'],
        requireReviewers: ['alice', 'carol', 'github-actions[bot]'],
        author: 'github-actions[bot]',
      }),
    ).toEqual(['alice', 'Bob', 'carol']);
    expect(reviewersFor({ autoRequestReviewers: true, requireReviewers: true })).toEqual([]);
    expect(reviewersFor({ autoRequestReviewers: false, requireReviewers: ['dave'] })).toEqual(['dave']);
    const prTemplateConfig = { ...config.prTemplateConfig, autoRequestReviewers: true };
    const pr = renderPullRequest(input({ config: { ...input().config, prTemplateConfig } }));
    expect(pr.reviewers).toEqual([]);
    expect(pr.body).toContain("review from the CODEOWNERS is requested by GitHub's own branch protection");
  });

  it('draft follows config pullRequest.draft', () => {
    const pr = renderPullRequest(input({ config: { ...input().config, pullRequest: { draft: false } } }));
    expect(pr.draft).toBe(false);
  });
});
