/**
 * `self-evolution check` as a user runs it (a separate process through runCli): exit codes 0 allowed, 1
 * blocked, 2 bad usage or unreadable input; the text, JSON and SARIF outputs; a range check that reads the
 * config from the base commit; and the bad inputs of issue #3. The stdin path (`--patch -`) runs in-process,
 * since runCli gives the child no stdin.
 */
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../src/cli.js';
import { checkChange } from '../src/check.js';
import { MAX_PATCH_BYTES } from '../src/git/facts.js';
import { RULES } from '../src/rails/index.js';
import type { Verdict } from '../src/rails/types.js';
import type { Log } from 'sarif';
import { renderVerdictMarkdown, renderVerdictText, sarifLog, TOOL_VERSION } from '../src/report/verdict.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';

/** A config that allows docs and prompts, as a target repository would have it. */
const CONFIG = {
  safetyRails: {
    allowedPaths: ['docs/**', 'prompts/**', '.github/self-evolution-config.json'],
    blockedPaths: ['.github/workflows/**', '.env*'],
  },
};

/** A GitHub token-shaped secret (not a real one), split so this file does not trip scanners itself. */
const FAKE_TOKEN = 'ghp_' + 'R8x2Lq9vTz4Wm6Kp3Jd7Ns5Hc1Fg0Yb2Ae4';

let repo: TempRepo;
let dir: string;
let base: string;

/** Writes `content` to a file in the scratch directory and returns its path. */
async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** The patch git writes for the working-tree edit `files` against HEAD (the edit is undone after). */
async function patchFor(files: Record<string, string | null>): Promise<string> {
  await repo.write(files);
  await repo.git('add', '-A');
  const out = join(dir, `p-${Math.random().toString(36).slice(2)}.patch`);
  await repo.git('diff', '--cached', '--binary', `--output=${out}`);
  await repo.git('reset', '--quiet', '--hard', 'HEAD');
  return out;
}

function check(...args: string[]): Promise<CliResult> {
  return runCli(['check', '--repo', repo.dir, ...args]);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'se-check-'));
  repo = await makeTempRepo({
    '.github/self-evolution-config.json': JSON.stringify(CONFIG, null, 2) + '\n',
    'docs/guide.md': '# Guide\n\nSome text.\n',
    'docs/crlf.md': 'line one\r\nline two\r\n',
    'src/agent.ts': 'export const agent = 1;\n',
  });
  base = await repo.git('rev-parse', 'HEAD');
}, 60_000);

afterAll(async () => {
  await repo?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('exit codes and formats', () => {
  let docFix: string;
  let hostile: string;
  beforeAll(async () => {
    docFix = await patchFor({ 'docs/guide.md': '# Guide\n\nSome better text.\n' });
    hostile = await patchFor({
      'docs/guide.md': `# Guide\n\nSome text.\ntoken = "${FAKE_TOKEN}"\n`,
      '.env.production': 'X=1\n',
    });
  });

  it('an allowed change: exit 0, the summary line on stdout, nothing on stderr but notes', async () => {
    const r = await check('--patch', docFix);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'allowed: no violations; risk stated 0, computed 0, effective 0; 1 file, +1 -1 lines, 0 binary\n',
    );
  });

  it('a blocked change: exit 1; text lists `path:line rule-id message` per violation, then the summary', async () => {
    const r = await check('--patch', hostile, '--risk', '3');
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[lines.length - 1]).toMatch(
      /^blocked: \d+ violations \(\d+ block\); risk stated 3, computed \d, effective \d; 2 files, \+2 -0 lines, 0 binary$/,
    );
    // A violation with a line, one with a path only, one about the whole change.
    expect(lines).toContainEqual(
      expect.stringMatching(/^docs\/guide\.md:4 secret-(detected|high-entropy) .+/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^\.env\.production path-blocked .+/));
    expect(lines).toContainEqual(expect.stringMatching(/^- risk-above-max .+/));
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/^\S+ [a-z]+(-[a-z]+)+ \S.*$/);
    // The secret itself is never echoed.
    expect(r.stdout + r.stderr).not.toContain(FAKE_TOKEN);
  });

  it('--format json prints the Verdict', async () => {
    const r = await check('--patch', hostile, '--format', 'json');
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout) as Verdict;
    expect(Object.keys(v).sort()).toEqual(
      [
        'allowed',
        'computedRisk',
        'effectiveRisk',
        'requiresHumanApproval',
        'statedRisk',
        'stats',
        'violations',
      ].sort(),
    );
    expect(v.allowed).toBe(false);
    expect(v.stats).toEqual({ filesChanged: 2, linesAdded: 2, linesDeleted: 0, binaryFiles: 0 });
    expect(v.violations).toContainEqual(
      expect.objectContaining({
        ruleId: expect.stringMatching(/^secret-/),
        severity: 'block',
        path: 'docs/guide.md',
        line: 4,
      }),
    );
    expect(r.stdout).not.toContain(FAKE_TOKEN);
  });

  it('--format sarif prints SARIF 2.1.0 that code scanning accepts', async () => {
    const r = await check('--patch', hostile, '--risk', '3', '--format', 'sarif');
    expect(r.code).toBe(1);
    const log = JSON.parse(r.stdout) as Log;
    // The sarifLog object: the properties SARIF 2.1.0 and GitHub's code scanning require.
    expect(log.$schema).toBe('https://json.schemastore.org/sarif-2.1.0.json');
    expect(log.version).toBe('2.1.0');
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0]!;
    expect(run.tool.driver.name).toBe('self-evolution');
    expect(run.tool.driver.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(run.tool.driver.informationUri).toBe('https://github.com/self-evolution/self-evolution');
    const rules = run.tool.driver.rules!;
    expect(rules.map((x) => x.id)).toEqual(RULES.map((x) => x.id));
    for (const rule of rules) {
      expect(rule.shortDescription!.text.length).toBeGreaterThan(0);
      expect(rule.fullDescription!.text.length).toBeGreaterThan(0);
      expect(rule.fullDescription!.text.length).toBeLessThanOrEqual(1024);
      expect(rule.help!.text).toContain('Setting:');
      expect(['error', 'warning', 'note']).toContain(rule.defaultConfiguration!.level);
      expect(rule.helpUri).toBe(
        `https://github.com/self-evolution/self-evolution/blob/main/docs/rails.md#${rule.id}`,
      );
    }
    const results = run.results!;
    expect(results.length).toBeGreaterThanOrEqual(3);
    for (const result of results) {
      expect(rules[result.ruleIndex!]!.id).toBe(result.ruleId);
      expect(['error', 'warning', 'note']).toContain(result.level);
      expect(result.message.text!.length).toBeGreaterThan(0);
      expect(result.locations).toHaveLength(1);
      const where = result.locations![0]!.physicalLocation!;
      expect(where.artifactLocation!.uri).toMatch(/^\S+$/);
      expect(where.region!.startLine).toBeGreaterThanOrEqual(1);
    }
    const secret = results.find(
      (x) => x.ruleId!.startsWith('secret-') && x.locations![0]!.physicalLocation!.region!.startLine === 4,
    )!;
    expect(secret.level).toBe('error');
    expect(secret.locations![0]!.physicalLocation).toEqual({
      artifactLocation: { uri: 'docs/guide.md' },
      region: { startLine: 4 },
    });
    // A violation about the whole change is placed on the policy file, line 1.
    const risk = results.find((x) => x.ruleId === 'risk-above-max')!;
    expect(risk.locations![0]!.physicalLocation!.artifactLocation!.uri).toBe(
      '.github/self-evolution-config.json',
    );
    expect(run.properties).toMatchObject({ allowed: false, statedRisk: 3 });
  });

  it('the SARIF tool version is the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(TOOL_VERSION).toBe(pkg.version);
  });

  it('exit 2 for bad usage, naming what is wrong', async () => {
    const results = await Promise.all([
      check('--patch', docFix, '--base', 'HEAD', '--head', 'HEAD'),
      check(),
      check('--patch', join(dir, 'missing.patch')),
      check('--patch', docFix, '--risk', 'high'),
      check('--patch', docFix, '--format', 'xml'),
      check('--base', 'HEAD'),
      check('--patch', docFix, '--config', 'no-such-config.json'),
    ]);
    for (const r of results) expect(r.code).toBe(2);
    const [both, neither, missing, risk, format, half, config] = results.map((r) => r.stderr);
    expect(both).toContain('error: give either --patch FILE or --base REF --head REF, not both');
    expect(neither).toContain('nothing to check: give a patch');
    expect(missing).toContain(`patch file not found: ${join(dir, 'missing.patch')}`);
    expect(risk).toMatch(/--risk <n>' argument 'high' is invalid\. expected a risk level 0-5/);
    expect(format).toMatch(
      /--format <format>' argument 'xml' is invalid\. Allowed choices are text, json, sarif/,
    );
    expect(half).toContain('--base and --head go together: got only --base');
    expect(config).toMatch(/config file not found: .*no-such-config\.json/);
    for (const r of results) expect(r.stdout).toBe('');
    for (const r of results) expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('a risk outside 0..5 is not a usage error: the rails block it (risk-invalid)', async () => {
    const r = await check('--patch', docFix, '--risk', '7', '--format', 'json');
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as Verdict).violations.map((v) => v.ruleId)).toContain('risk-invalid');
  });
});

describe('bad input', () => {
  it('a patch git cannot read: exit 2 quoting git', async () => {
    const r = await check('--patch', await file('mail.txt', 'Hi,\n\nplease apply my change.\n\nThanks\n'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: git cannot read the patch: error: No valid patches in input/m);
  });

  it('an empty patch: blocked as change-empty (exit 1), never allowed', async () => {
    const r = await check('--patch', await file('empty.patch', ''), '--format', 'json');
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as Verdict).violations.map((v) => v.ruleId)).toContain('change-empty');
  });

  it('a 200 MB patch: refused before it is read (exit 2), naming the size and the cap', async () => {
    const big = join(dir, 'big.patch');
    await writeFile(big, '');
    await truncate(big, 200 * 1024 * 1024); // sparse: no disk space used
    const r = await check('--patch', big);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `is ${200 * 1024 * 1024} bytes, more than the ${MAX_PATCH_BYTES} bytes (100 MiB)`,
    );
  });

  it('a patch that is not UTF-8: read by git as bytes, blocked as content-unread (never allowed)', async () => {
    const patch = Buffer.concat([
      Buffer.from(
        'diff --git a/docs/latin1.md b/docs/latin1.md\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/docs/latin1.md\n@@ -0,0 +1 @@\n+caf',
      ),
      Buffer.from([0xe9]),
      Buffer.from('\n'),
    ]);
    const r = await check('--patch', await file('latin1.patch', patch), '--format', 'json');
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout) as Verdict;
    expect(v.violations.map((x) => x.ruleId)).toContain('content-unread');
    expect(r.stderr).toContain('not valid UTF-8');
  });

  it('CRLF: a patch editing a CRLF file, and a patch whose every line ends in CRLF, are allowed doc edits', async () => {
    const crlfFile = await patchFor({ 'docs/crlf.md': 'line one\r\nline 2\r\n' });
    const crlfPatch = await file(
      'crlf.patch',
      'diff --git a/docs/new.md b/docs/new.md\r\nnew file mode 100644\r\nindex 0000000..1111111\r\n--- /dev/null\r\n+++ b/docs/new.md\r\n@@ -0,0 +1,2 @@\r\n+a\r\n+b\r\n',
    );
    const [a, b] = await Promise.all([check('--patch', crlfFile), check('--patch', crlfPatch)]);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('allowed: no violations');
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('1 file, +2 -0 lines');
  });

  it('a base commit that does not exist: exit 2 naming it and fetch-depth', async () => {
    const r = await check('--base', '0123456789abcdef0123456789abcdef01234567', '--head', 'HEAD');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--base "0123456789abcdef0123456789abcdef01234567" is not a commit .*fetch-depth: 0/,
    );
  });
});

describe('range checks', () => {
  it('judge base...head with the config of the BASE commit: a change cannot loosen its own rules', async () => {
    await repo.git('checkout', '--quiet', '-b', 'loosen', base);
    const head = await repo.commit({
      '.github/self-evolution-config.json': JSON.stringify({
        safetyRails: { allowedPaths: ['**'], blockedPaths: [] },
      }),
      'src/agent.ts': 'export const agent = 2;\n',
    });
    await repo.git('checkout', '--quiet', 'main');
    const r = await check('--base', 'main', '--head', head, '--format', 'json', '--allow-policy-edits');
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout) as Verdict;
    const ids = v.violations.map((x) => `${x.ruleId} ${x.path ?? '-'}`);
    expect(ids).toContain('path-not-allowed src/agent.ts');
    expect(ids).toContainEqual(expect.stringMatching(/^policy-loosened /));
  });

  it('an allowed range exits 0; head equal to base is blocked as change-empty', async () => {
    await repo.git('checkout', '--quiet', '-b', 'doc', base);
    const head = await repo.commit({ 'docs/guide.md': '# Guide\n\nMore text.\n' });
    await repo.git('checkout', '--quiet', 'main');
    const [ok, empty] = await Promise.all([
      check('--base', base, '--head', head),
      check('--base', 'HEAD', '--head', 'HEAD', '--format', 'json'),
    ]);
    expect(ok.code).toBe(0);
    expect(empty.code).toBe(1);
    expect((JSON.parse(empty.stdout) as Verdict).violations.map((x) => x.ruleId)).toEqual(['change-empty']);
  });
});

describe('facts the change cannot bend (issue #7)', () => {
  it('a patch git cannot apply to HEAD is blocked as change-unapplicable quoting git, never judged from its text', async () => {
    const stale =
      'diff --git a/docs/guide.md b/docs/guide.md\nindex 1111111..2222222 100644\n--- a/docs/guide.md\n+++ b/docs/guide.md\n@@ -1,3 +1,3 @@\n # Guide\n \n-Other text.\n+New text.\n';
    const r = await checkChange({ repoDir: repo.dir, patch: stale });
    expect(r.verdict.allowed).toBe(false);
    expect(r.facts.unapplicable).toMatch(/patch failed: docs\/guide\.md:1/);
    expect(r.verdict.violations.map((v) => v.ruleId)).toContain('change-unapplicable');
    // The same patch read without a repository is judged from its text (nothing to apply it to).
    expect(
      (await checkChange({ patch: stale, configPath: join(repo.dir, '.github/self-evolution-config.json') }))
        .facts.unapplicable,
    ).toBeUndefined();
  });

  it("a range judges the lines the checkout's .gitattributes would hide (*.md -diff)", async () => {
    await repo.git('checkout', '--quiet', '-b', 'leak-under-attributes', base);
    const head = await repo.commit({
      'docs/.gitattributes': '*.md -diff\n',
      'docs/notes.md': `# Notes\n\ntoken: ${FAKE_TOKEN}\n`,
    });
    await repo.git('checkout', '--quiet', 'leak-under-attributes');
    try {
      const r = await checkChange({ repoDir: repo.dir, base, head });
      const ids = r.verdict.violations.map((v) => `${v.ruleId} ${v.path ?? '-'}`);
      // The checkout holds docs/.gitattributes (*.md -diff): the facts still read notes.md as text.
      expect(ids).toContainEqual(expect.stringMatching(/^secret-[a-z-]+ docs\/notes\.md$/));
      expect(ids).toContain('file-gitattributes docs/.gitattributes');
      expect(ids).not.toContain('file-binary docs/notes.md');
      expect(r.facts.binaryFiles).toBe(0);
    } finally {
      await repo.git('checkout', '--quiet', 'main');
    }
  });
});

describe('in-process', () => {
  it('--patch - reads the patch from stdin', async () => {
    let out = '';
    let err = '';
    const patch =
      'diff --git a/docs/x.md b/docs/x.md\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/docs/x.md\n@@ -0,0 +1 @@\n+hello\n';
    const code = await main(['node', 'self-evolution', 'check', '--repo', repo.dir, '--patch', '-'], {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env: {},
      cwd: dir,
      stdin: Readable.from([Buffer.from(patch)]),
    });
    expect(err).not.toContain('error');
    expect(code).toBe(0);
    expect(out).toContain('1 file, +1 -0 lines');
  });

  it('without a config file the defaults apply, and the result says so', async () => {
    const bare = await makeTempRepo({ 'docs/a.md': 'a\n' });
    try {
      const r = await checkChange({
        repoDir: bare.dir,
        patch: 'diff --git a/docs/a.md b/docs/a.md\n--- a/docs/a.md\n+++ b/docs/a.md\n@@ -1 +1 @@\n-a\n+b\n',
      });
      expect(r.policy).toMatchObject({
        source: 'defaults',
        from: 'defaults',
        policyPath: '.github/self-evolution-config.json',
      });
      expect(r.notes.join(' ')).toMatch(/no config file at .*: using the default policy/);
      expect(r.facts).toMatchObject({ source: 'patch-applied', files: 1, addedLinesRead: true });
      expect(r.verdict.allowed).toBe(true);
    } finally {
      await bare.cleanup();
    }
  });

  it('the text says a list of allowed globs once, after the violations, not on every line', () => {
    const allowed = 'docs/**, src/tools/**';
    const outside = (path: string): Verdict['violations'][number] => ({
      ruleId: 'path-not-allowed',
      severity: 'block',
      path,
      message: `${path}: no safetyRails.allowedPaths glob matches it (allowed: ${allowed})`,
    });
    const verdict: Verdict = {
      allowed: false,
      requiresHumanApproval: false,
      statedRisk: 0,
      computedRisk: 1,
      effectiveRisk: 1,
      stats: { filesChanged: 3, linesAdded: 3, linesDeleted: 0, binaryFiles: 0 },
      violations: [
        outside('a.md'),
        outside('b.md'),
        { ruleId: 'path-blocked', severity: 'block', path: '.env', message: '.env: blocked (allowed: x)' },
      ],
    };
    const text = renderVerdictText(verdict).trimEnd().split('\n');
    expect(text).toEqual([
      'a.md path-not-allowed a.md: no safetyRails.allowedPaths glob matches it',
      'b.md path-not-allowed b.md: no safetyRails.allowedPaths glob matches it',
      '.env path-blocked .env: blocked (allowed: x)',
      `path-not-allowed (all 2 above): allowed: ${allowed}`,
      'blocked: 3 violations (3 block); risk stated 0, computed 1, effective 1; 3 files, +3 -0 lines, 0 binary',
    ]);
    // One violation keeps its list on its own line.
    const one = renderVerdictText({ ...verdict, violations: [outside('a.md')] });
    expect(one).toContain(
      `a.md path-not-allowed a.md: no safetyRails.allowedPaths glob matches it (allowed: ${allowed})\n`,
    );
    expect(one).not.toContain('above');
  });

  it('the renderers escape hostile file names: one line per violation, no broken table rows', () => {
    const verdict: Verdict = {
      allowed: false,
      requiresHumanApproval: true,
      statedRisk: 0,
      computedRisk: 1,
      effectiveRisk: 1,
      stats: { filesChanged: 1, linesAdded: 1, linesDeleted: 0, binaryFiles: 0 },
      violations: [
        { ruleId: 'path-control-char', severity: 'block', path: 'docs/a\nb|c.md', message: 'a\nb' },
        {
          ruleId: 'test-change-approval',
          severity: 'approval',
          path: 'x.test.ts',
          line: 3,
          message: 'needs review',
        },
      ],
    };
    const text = renderVerdictText(verdict).trimEnd().split('\n');
    expect(text).toEqual([
      'docs/a\\u{000A}b|c.md path-control-char a b',
      'x.test.ts:3 test-change-approval needs review',
      'blocked: 2 violations (1 block, 1 approval); risk stated 0, computed 1, effective 1; 1 file, +1 -0 lines, 0 binary',
    ]);
    const md = renderVerdictMarkdown(verdict, { title: 'gate' });
    expect(md).toContain('| block | `path-control-char` | docs/a\\u{000A}b\\|c.md |  | a\\u{000A}b |');
    const log = sarifLog(verdict, { rulesDoc: 'https://example.com/docs/rails.md' });
    const result = log.runs[0]!.results![0]!;
    expect(result.locations![0]!.physicalLocation!.artifactLocation!.uri).toBe('docs/a%0Ab%7Cc.md');
    expect(log.runs[0]!.results![1]!.level).toBe('warning');
    expect(log.runs[0]!.tool.driver.rules![0]!.helpUri).toBe(
      `https://example.com/docs/rails.md#${RULES[0]!.id}`,
    );
  });
});
