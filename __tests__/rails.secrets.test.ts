/**
 * Secret rules (src/rails/rules/secrets.ts): secret-detected, secret-high-entropy, secret-file, content-unread.
 * Every secret below is made up and assembled at run time (so no scanner flags this file); every message is
 * checked not to contain it.
 */
import { rules as PRESET_RULES } from '@secretlint/secretlint-rule-preset-recommend';
import { ConfigSchema } from '../src/config/schema.js';
import { evaluate } from '../src/rails/evaluate.js';
import { policyFromConfig } from '../src/rails/policy.js';
import type { Finding, RuleInput } from '../src/rails/rule.js';
import {
  contentUnread,
  KNOWN_SECRETLINT_RULES,
  maskSecret,
  secretDetected,
  secretFile,
  secretHighEntropy,
  SECRET_RULES,
  shannonEntropy,
} from '../src/rails/rules/secrets.js';
import type { AddedLine, ChangeUnderReview, FileChange, RailsPolicy } from '../src/rails/types.js';

const POLICY: RailsPolicy = policyFromConfig(ConfigSchema.parse({}));
const CONTEXT = { wildcardsToday: 0, humanOverride: false };

/** Deterministic pseudo-random characters from `alphabet` (a fixed LCG: the same strings every run). */
function randomChars(n: number, alphabet: string, seed: number): string {
  let x = seed >>> 0;
  let out = '';
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out += alphabet[x % alphabet.length];
  }
  return out;
}
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE64 = `${ALNUM}+/`;
const HEX = '0123456789abcdef';

/** Made-up secrets in the formats secretlint's recommended rules know. */
const SECRETS = {
  githubClassic: ['gh', 'p_', randomChars(36, ALNUM, 1)].join(''),
  githubFineGrained: ['github', '_pat_', randomChars(82, `${ALNUM}_`, 2)].join(''),
  awsKeyId: ['AK', 'IA', randomChars(16, UPPER_DIGITS, 3)].join(''),
  awsSecret: randomChars(40, BASE64, 4),
  slack: ['xo', 'xb-', '2718281828-', '3141592653589-', randomChars(24, ALNUM, 5)].join(''),
  npm: ['np', 'm_', randomChars(36, ALNUM, 6)].join(''),
  basicAuthPassword: randomChars(14, ALNUM, 7),
  postgresPassword: randomChars(16, ALNUM, 8),
  openai: ['s', 'k-', randomChars(20, ALNUM, 9), 'T3Blbk', 'FJ', randomChars(20, ALNUM, 10)].join(''),
  privateKeyBody: `MIIEpAIBAAKCAQEA${randomChars(64 * 5 - 16, BASE64, 11)}`,
};

function file(path: string, linesAdded: number, extra: Partial<FileChange> = {}): FileChange {
  return {
    path,
    status: 'modified',
    oldMode: '100644',
    newMode: '100644',
    binary: false,
    linesAdded,
    linesDeleted: 0,
    ...extra,
  };
}

/** A change adding `texts` to `path` from line `first` on (files and counts consistent). */
function changeOf(path: string, texts: readonly string[], first = 1): ChangeUnderReview {
  const addedLines = texts.map((text, i) => ({ path, line: first + i, text }));
  return { type: 'cleanup', riskLevel: 1, facts: { files: [file(path, texts.length)], addedLines } };
}

function inputOf(change: ChangeUnderReview, policy: RailsPolicy = POLICY): RuleInput {
  return { change, policy, context: CONTEXT };
}

async function run(
  rule: { check: (i: RuleInput) => Finding[] | Promise<Finding[]> },
  change: ChangeUnderReview,
) {
  return rule.check(inputOf(change));
}

/** Asserts no message contains `secret`, nor any 8 consecutive characters of it beyond the first 4. */
function expectMasked(findings: readonly Finding[], secret: string): void {
  for (const f of findings) {
    expect(f.message).not.toContain(secret);
    for (let i = 4; i + 8 <= secret.length; i += 4) expect(f.message).not.toContain(secret.slice(i, i + 8));
  }
}

describe('maskSecret and shannonEntropy', () => {
  it('shows the first 4 characters and the length, never more', () => {
    expect(maskSecret(SECRETS.githubClassic)).toBe(`ghp_…(40 chars)`);
    expect(maskSecret('short')).toBe('…(5 chars)');
    expect(maskSecret('\u0007\u0008ab-rest-of-it')).toBe('\\u{0007}\\u{0008}ab…(15 chars)');
  });

  it('computes bits per character', () => {
    expect(shannonEntropy('')).toBe(0);
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abab')).toBeCloseTo(1);
    expect(shannonEntropy('0123456789abcdef')).toBeCloseTo(4);
  });
});

describe('secret-detected (secretlint recommended rules)', () => {
  const cases: [string, string, string][] = [
    ['a classic GitHub token', `const token = "${SECRETS.githubClassic}";`, SECRETS.githubClassic],
    [
      'a fine-grained GitHub token',
      `Use ${SECRETS.githubFineGrained} for the API.`,
      SECRETS.githubFineGrained,
    ],
    ['an AWS access key id (ID scan enabled)', `aws_access_key_id = ${SECRETS.awsKeyId}`, SECRETS.awsKeyId],
    ['an AWS secret access key', `aws_secret_access_key = "${SECRETS.awsSecret}"`, SECRETS.awsSecret],
    ['a Slack bot token', `SLACK=${SECRETS.slack}`, SECRETS.slack],
    ['an npm token', `//registry.npmjs.org/:_authToken=${SECRETS.npm}`, SECRETS.npm],
    [
      'a basic-auth URL',
      `git clone https://deploy:${SECRETS.basicAuthPassword}@git.acme-corp.io/x.git`,
      SECRETS.basicAuthPassword,
    ],
    [
      'a Postgres URL with a password',
      `DATABASE_URL=postgres://app:${SECRETS.postgresPassword}@db.internal:5432/app`,
      SECRETS.postgresPassword,
    ],
    ['an OpenAI key', `openai.api_key = '${SECRETS.openai}'`, SECRETS.openai],
  ];

  it.each(cases)('trips on %s, at the right line, masked', async (_what, text, secret) => {
    const findings = await run(secretDetected, changeOf('docs/notes.md', ['intro', text, 'outro'], 7));
    expect(findings.length).toBeGreaterThanOrEqual(1);
    for (const f of findings)
      expect({ path: f.path, line: f.line }).toEqual({ path: 'docs/notes.md', line: 8 });
    expect(findings[0]!.message).toMatch(/^docs\/notes\.md:8: secret found by secretlint \(/);
    expectMasked(findings, secret);
  });

  it('trips on a private key block spread over added lines, reported at its first line', async () => {
    const body = SECRETS.privateKeyBody.match(/.{1,64}/g)!;
    const lines = [
      '# deploy key',
      '-----BEGIN RSA PRIVATE KEY-----',
      ...body,
      '-----END RSA PRIVATE KEY-----',
    ];
    const findings = await run(secretDetected, changeOf('persona/voice.md', lines));
    expect(findings.map((f) => f.line)).toEqual([2]);
    expectMasked(findings, SECRETS.privateKeyBody.slice(0, 40));
    for (const line of body) expectMasked(findings, line);
  });

  it('passes prose, code, and the documentation examples the preset ignores', async () => {
    const findings = await run(
      secretDetected,
      changeOf('docs/setup.md', [
        'Set your token in the environment; never commit it.',
        'const total = items.reduce((sum, item) => sum + item.price, 0);',
        'aws_access_key_id = AKIAIOSFODNN7EXAMPLE', // AWS's documented example key
        'url: https://user:password@localhost:8080/', // placeholder credentials
        'token: ${{ secrets.GITHUB_TOKEN }}',
      ]),
    );
    expect(findings).toEqual([]);
  });

  it('ignores secretlint-disable comments: a change cannot switch the scan off for itself', async () => {
    const findings = await run(
      secretDetected,
      changeOf('docs/a.md', [
        '<!-- secretlint-disable -->',
        `token ${SECRETS.githubClassic} // secretlint-disable-line`,
        `// secretlint-disable-next-line`,
        `other ${SECRETS.npm}`,
      ]),
    );
    expect(findings.map((f) => f.line)).toEqual([2, 4]);
  });

  it('sees through CRLF endings, tabs, and unicode around the secret', async () => {
    const findings = await run(
      secretDetected,
      changeOf('docs/a.md', [
        `crlf ${SECRETS.githubClassic}\r`,
        `\t\ttab\t${SECRETS.npm}\t`,
        `токен «${SECRETS.slack}» 🔑`,
        `nbsp\u00a0${SECRETS.awsKeyId}\u00a0end`,
      ]),
    );
    expect(findings.map((f) => f.line)).toEqual([1, 2, 3, 4]);
  });

  it('maps findings back to the right file and line across many files and gaps between hunks', async () => {
    const files: FileChange[] = [];
    const addedLines: AddedLine[] = [];
    for (let f = 0; f < 50; f++) {
      const path = f % 2 === 0 ? `docs/page-${f}.md` : `src/mod-${f}/package.json`;
      files.push(file(path, 6));
      for (const line of [1, 2, 3, 40, 41, 90])
        addedLines.push({ path, line, text: `page ${f} line ${line}` });
    }
    addedLines[6 * 17 + 4] = { ...addedLines[6 * 17 + 4]!, text: `k=${SECRETS.githubClassic}` }; // file 17, line 41
    addedLines[6 * 42 + 5] = { ...addedLines[6 * 42 + 5]!, text: `"npm": "${SECRETS.npm}"` }; // file 42, line 90
    const findings = await secretDetected.check(
      inputOf({ type: 'cleanup', riskLevel: 1, facts: { files, addedLines } }),
    );
    expect(findings.map((f) => `${f.path}:${f.line}`)).toEqual([
      'src/mod-17/package.json:41',
      'docs/page-42.md:90',
    ]);
  });

  it('handles a 1 MB line, and a file larger than one secretlint batch', async () => {
    const long = `${'secret padding '.repeat(70_000)}${SECRETS.githubClassic}`;
    const lines = Array.from({ length: 9 }, () => long);
    const findings = await run(secretDetected, changeOf('docs/big.md', lines));
    expect(findings.map((f) => f.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expectMasked(findings, SECRETS.githubClassic);
  });

  it('knows every rule of the installed preset (the prefilter was written for exactly these)', () => {
    expect(PRESET_RULES.map((r) => r.meta.id).sort()).toEqual([...KNOWN_SECRETLINT_RULES].sort());
  });

  it('finds nothing when the added lines were not read (content-unread reports that)', async () => {
    const change: ChangeUnderReview = {
      type: 'cleanup',
      riskLevel: 1,
      facts: { files: [file('docs/a.md', 1)] },
    };
    expect(await run(secretDetected, change)).toEqual([]);
  });
});

describe('secret-high-entropy', () => {
  const value = randomChars(32, ALNUM, 21);
  const trips: [string, string][] = [
    ['KEY = "..."', `API_KEY = "${value}"`],
    ['"token": "..."', `  "token": "${value}",`],
    ['password: ...', `password: ${value}`],
    ['X_SECRET=...', `export X_SECRET=${value}`],
    ['--token=...', `run --token=${value} --verbose`],
    ["cfg['apiKey'] = ...", `cfg['apiKey'] = '${value}';`],
    ['Authorization: Bearer ...', `Authorization: Bearer ${value}`],
    ['the password of a URL', `AUTH_URL=ftp://app:${value}@files.acme-corp.io/x`],
    ['a 40-hex token (hex threshold)', `api_token = "${randomChars(40, HEX, 22)}"`],
    ['after a placeholder', `session_secret: "\${PREFIX}${value}"`],
  ];

  it.each(trips)('trips on %s, masked', async (_what, text) => {
    const findings = await run(secretHighEntropy, changeOf('docs/config.md', [text], 3));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ path: 'docs/config.md', line: 3 });
    expect(findings[0]!.message).toMatch(
      /^docs\/config\.md:3: high-entropy value assigned to \S+: .{4}…\(\d+ chars\), \d\.\d\d bits per character/,
    );
    expectMasked(findings, value);
  });

  const passes: [string, string][] = [
    ['a low-entropy value', 'password: aaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
    ['a short value', `token = "${value.slice(0, 12)}"`],
    ['a name that is not secret-like', `greeting = "${value}"`],
    ['a URL without credentials', 'auth_url: https://login.example-corp.io/oauth2/v1/authorize?client=web'],
    ['a path', 'key_file: /etc/ssl/private/server-2024-ABCxyz.pem'],
    ['a relative path with an extension', 'token_path = config/tokens/Prod2024Rotation.json'],
    ['a reference', 'const token = process.env.GITHUB_TOKEN_FOR_RELEASES;'],
    ['a GitHub Actions expression', 'token: ${{ secrets.NPM_PUBLISH_TOKEN_2024 }}'],
    ['a placeholder word', 'api_key = "YOUR_EXAMPLE_KEY_GOES_HERE_1234"'],
    ['words', 'const cacheKey = "user-profile-settings-page";'],
    ['prose with spaces', 'password: "Choose a long passphrase with Words 4 and 5"'],
    ['a commit SHA under a hash-like name', 'commit_sha_key = "da39a3ee5e6b4b0d3255bfef95601890afd80709"'],
    ['a comparison', `if (token == "${value}") {`],
  ];

  it.each(passes)('passes %s', async (_what, text) => {
    expect(await run(secretHighEntropy, changeOf('docs/config.md', [text]))).toEqual([]);
  });

  it('uses the policy thresholds', async () => {
    const change = changeOf('docs/config.md', [`API_KEY = "${value}"`]);
    const strict: RailsPolicy = { ...POLICY, secretEntropy: { minLength: 64, minBitsPerChar: 3.5 } };
    const lax: RailsPolicy = { ...POLICY, secretEntropy: { minLength: 8, minBitsPerChar: 6 } };
    expect(await secretHighEntropy.check(inputOf(change, strict))).toEqual([]);
    expect(await secretHighEntropy.check(inputOf(change, lax))).toEqual([]);
    expect(await secretHighEntropy.check(inputOf(change))).toHaveLength(1);
  });

  it('reads a 1 MB line of assignments without hanging, and still finds the one at its end', async () => {
    const long = `${'token=a '.repeat(130_000)}${'key=aaaa-'.repeat(10_000)} SECRET_KEY=${value}`;
    const findings = await run(secretHighEntropy, changeOf('docs/a.md', [long]));
    expect(findings).toHaveLength(1);
    expectMasked(findings, value);
  });
});

describe('secret-file', () => {
  it.each([
    ['.env', {}],
    ['apps/bot/.env.production', {}],
    ['docs/.ENV', {}],
    ['docs/id_rsa', { linesAdded: 0, status: 'added' as const, oldMode: '000000' }],
    ['persona/server.PEM', {}],
    ['src/deploy.key', { status: 'deleted' as const, newMode: '000000', linesAdded: 0 }],
    ['docs/credentials', {}],
  ])('trips on %s', async (path, extra) => {
    const findings = await secretFile.check(
      inputOf({ type: 'cleanup', riskLevel: 1, facts: { files: [file(path, 0, extra)], addedLines: [] } }),
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]!.path).toBe(path);
    expect(findings[0]!.message).toMatch(/is named like a secret file \(secret path glob "[^"]+"\)/);
  });

  it('trips on either side of a rename', async () => {
    const renamed = file('docs/notes.md', 0, { status: 'renamed', oldPath: '.env.local' });
    const findings = await secretFile.check(
      inputOf({ type: 'cleanup', riskLevel: 1, facts: { files: [renamed], addedLines: [] } }),
    );
    expect(findings.map((f) => f.path)).toEqual(['.env.local']);
  });

  it.each([
    'docs/environment.md',
    'src/keyboard.ts',
    'docs/keys.md',
    'src/env.ts',
    'docs/credentials-guide.md',
  ])('passes %s', async (path) => {
    const findings = await secretFile.check(
      inputOf({ type: 'cleanup', riskLevel: 1, facts: { files: [file(path, 0)], addedLines: [] } }),
    );
    expect(findings).toEqual([]);
  });
});

describe('content-unread', () => {
  it('trips once, without a path, when the added lines were not read', async () => {
    const change: ChangeUnderReview = {
      type: 'cleanup',
      riskLevel: 1,
      facts: { files: [file('docs/a.md', 3)] },
    };
    const findings = await run(contentUnread, change);
    expect(findings).toEqual([
      {
        message:
          'added lines were not read; content rules (secrets, forbidden commands) could not run (the caller must pass facts.addedLines, read from the patch)',
      },
    ]);
  });

  it('trips per file when fewer lines were read than git counts', async () => {
    const change: ChangeUnderReview = {
      type: 'cleanup',
      riskLevel: 1,
      facts: {
        files: [file('docs/a.md', 3), file('docs/b.md', 1)],
        addedLines: [
          { path: 'docs/a.md', line: 1, text: 'one' },
          { path: 'docs/b.md', line: 1, text: 'b' },
          { path: 'docs/a.md', line: 2, text: 'two' },
        ],
      },
    };
    const findings = await run(contentUnread, change);
    expect(findings).toEqual([
      {
        path: 'docs/a.md',
        message:
          'docs/a.md: git counts 3 added lines but 2 were read; content rules (secrets, forbidden commands) could not check the rest',
      },
    ]);
  });

  it('passes when every line was read, and for binary files and deletions', async () => {
    const change: ChangeUnderReview = {
      type: 'cleanup',
      riskLevel: 1,
      facts: {
        files: [
          file('docs/a.md', 2),
          file('docs/logo.png', 0, { binary: true }),
          file('docs/old.md', 0, { status: 'deleted', newMode: '000000' }),
        ],
        addedLines: [
          { path: 'docs/a.md', line: 1, text: 'one' },
          { path: 'docs/a.md', line: 2, text: 'two' },
        ],
      },
    };
    expect(await run(contentUnread, change)).toEqual([]);
  });
});

describe('through evaluate()', () => {
  it('the engine runs the secret rules with their ids and severities, and blocks', async () => {
    expect(SECRET_RULES.map((r) => r.id)).toEqual([
      'content-unread',
      'secret-detected',
      'secret-high-entropy',
      'secret-file',
      'secret-in-path',
    ]);
    const change = changeOf('docs/guide.md', [`token: ${SECRETS.githubClassic}`]);
    const verdict = await evaluate(change, POLICY, CONTEXT);
    expect(verdict.allowed).toBe(false);
    const secret = verdict.violations.filter((v) => v.ruleId.startsWith('secret-'));
    expect(secret.map((v) => [v.ruleId, v.severity, v.line])).toEqual([
      ['secret-detected', 'block', 1],
      ['secret-high-entropy', 'block', 1],
    ]);
    expectMasked(verdict.violations as Finding[], SECRETS.githubClassic);
  });
});
