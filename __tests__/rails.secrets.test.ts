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
  findSecrets,
  isIdentifierLike,
  isPlaceholderSecret,
  isRealPassword,
  KNOWN_SECRETLINT_RULES,
  maskSecret,
  secretDetected,
  secretFile,
  secretHighEntropy,
  secretInPath,
  SECRET_RULES,
  shannonEntropy,
} from '../src/rails/rules/secrets.js';
import { KEYWORDLESS_HINT, SECRET_PATTERNS } from '../src/rails/secret-rules.js';
import {
  decodeBase64,
  decodedRuns,
  decodeHex,
  joinLiterals,
  normalizeText,
  unescapeText,
  viewsOfLines,
} from '../src/rails/secret-views.js';
import { LiteralSet } from '../src/rails/literals.js';
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

// ---- round 2 (issue #7 class 10): known formats, encodings, split literals, next-line values, file names ----

const B64URL = `${ALNUM}_-`;
const LOWER_HEX = HEX;
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const BECH32 = 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L';
const r = (n: number, alphabet: string, seed: number): string => randomChars(n, alphabet, seed);
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const b64url = (text: string): string => Buffer.from(text).toString('base64url');
/** A made-up Discord bot token: base64 of an 18-digit user id, a 6-character timestamp, a 38-character HMAC. */
const DISCORD_BOT = `${b64url('123456789012345678')}.${r(6, B64URL, 301)}.${r(38, B64URL, 302)}`;
const JWT = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(`{"sub":"${r(12, ALNUM, 303)}","iat":1700000000}`)}.${r(43, B64URL, 304)}`;
const PEM_BODY = `MIIEvQIBADANBgkqhkiG9w0BAQEFAASC${r(200, BASE64, 305)}`;

/**
 * One made-up sample line per pattern of SECRET_PATTERNS, with the secret it holds. A test fails when a
 * pattern has no sample here, so every format is tested.
 */
const SAMPLES: Record<string, { line: string; secret: string }> = (() => {
  const s = (line: string, secret: string) => ({ line, secret });
  const plain = (secret: string, before = 'value: ') => s(`${before}${secret}`, secret);
  const aws40 = r(40, BASE64, 310);
  const uuid = `${r(8, LOWER_HEX, 311)}-${r(4, LOWER_HEX, 312)}-${r(4, LOWER_HEX, 313)}-${r(4, LOWER_HEX, 314)}-${r(12, LOWER_HEX, 315)}`;
  const twilio = r(32, LOWER_HEX, 316);
  const putty = r(120, BASE64, 317);
  return {
    'aws-access-key-id': plain(`AKIA${r(16, UPPER_DIGITS, 320)}`),
    'aws-secret-access-key': s(`aws_secret_access_key = "${aws40}"`, aws40),
    'google-api-key': s(`const maps = new Maps("AIza${r(35, B64URL, 321)}");`, `AIza${r(35, B64URL, 321)}`),
    'google-oauth-client-secret': plain(`GOCSPX-${r(28, B64URL, 322)}`),
    'google-oauth-access-token': plain(`ya29.${r(60, B64URL, 323)}`, 'Authorization: Bearer '),
    'gcp-service-account-key': s(
      `  "private_key": "-----BEGIN PRIVATE KEY-----\\n${PEM_BODY}\\n-----END PRIVATE KEY-----\\n",`,
      `-----BEGIN PRIVATE KEY-----\\n${PEM_BODY}\\n-----END PRIVATE KEY-----\\n`,
    ),
    'azure-storage-account-key': s(
      `DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${r(86, BASE64, 324)}==;EndpointSuffix=core.windows.net`,
      `${r(86, BASE64, 324)}==`,
    ),
    'azure-shared-access-key': s(
      `Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=${r(43, BASE64, 325)}=`,
      `${r(43, BASE64, 325)}=`,
    ),
    'azure-sas-signature': s(
      `https://acme.blob.core.windows.net/c/x.txt?sv=2022-11-02&ss=b&sp=r&se=2030-01-01&sig=${r(43, ALNUM, 326)}%3D`,
      `${r(43, ALNUM, 326)}%3D`,
    ),
    'azure-ad-client-secret': plain(`${r(3, ALNUM, 327)}8Q~${r(34, `${ALNUM}_~.-`, 328)}`, 'client_secret='),
    'digitalocean-token': plain(`dop_v1_${r(64, LOWER_HEX, 329)}`),
    'heroku-api-key': plain(`HRKU-${r(60, B64URL, 330)}`),
    'heroku-api-key-legacy': s(`HEROKU_API_KEY=${uuid}`, uuid),
    'alibaba-access-key-id': plain(`LTAI${r(20, ALNUM, 331)}`),
    'github-token': plain(SECRETS.githubClassic),
    'github-fine-grained-token': plain(SECRETS.githubFineGrained),
    'gitlab-token': plain(`glpat-${r(20, B64URL, 332)}`),
    'bitbucket-token': plain(`ATATT3${r(180, B64URL, 333)}`),
    'npm-token': plain(SECRETS.npm),
    'pypi-token': plain(`pypi-AgEIcHlwaS5vcmc${r(70, B64URL, 334)}`),
    'docker-hub-token': plain(`dckr_pat_${r(27, B64URL, 335)}`),
    'rubygems-api-key': plain(`rubygems_${r(48, LOWER_HEX, 336)}`),
    'nuget-api-key': plain(`oy2${r(43, 'abcdefghijklmnopqrstuvwxyz0123456789', 337)}`),
    'slack-token': plain(SECRETS.slack),
    'slack-webhook': plain(
      `https://hooks.slack.com/services/T0${r(8, UPPER_ALNUM, 338)}/B0${r(8, UPPER_ALNUM, 339)}/${r(24, ALNUM, 340)}`,
      'url: ',
    ),
    'discord-webhook': plain(
      `https://discord.com/api/webhooks/123456789012345678/${r(68, B64URL, 341)}`,
      'url: ',
    ),
    'discord-bot-token': s(`client.login('${DISCORD_BOT}');`, DISCORD_BOT),
    'telegram-bot-token': plain(`123456789:AA${r(33, B64URL, 342)}`),
    'twilio-api-key': plain(`SK${r(32, LOWER_HEX, 343)}`),
    'twilio-auth-token': s(`TWILIO_AUTH_TOKEN=${twilio}`, twilio),
    'sendgrid-api-key': plain(`SG.${r(22, B64URL, 344)}.${r(43, B64URL, 345)}`),
    'mailgun-api-key': s(
      `mailgun.client({ key: 'key-${r(32, LOWER_HEX, 346)}' })`,
      `key-${r(32, LOWER_HEX, 346)}`,
    ),
    'mailchimp-api-key': plain(`${r(32, LOWER_HEX, 347)}-us12`),
    'stripe-secret-key': s(
      `const stripe = new Stripe('sk_live_${r(24, ALNUM, 348)}');`,
      `sk_live_${r(24, ALNUM, 348)}`,
    ),
    'stripe-webhook-secret': plain(`whsec_${r(32, ALNUM, 349)}`),
    'square-token': plain(`EAAA${r(60, B64URL, 350)}`),
    'shopify-token': plain(`shpat_${r(32, LOWER_HEX, 351)}`),
    'braintree-access-token': plain(
      `access_token$production$${r(16, 'abcdefghijklmnopqrstuvwxyz0123456789', 352)}$${r(32, LOWER_HEX, 353)}`,
    ),
    'openai-api-key': plain(`sk-proj-${r(80, B64URL, 354)}`),
    'anthropic-api-key': plain(`sk-ant-api03-${r(93, B64URL, 355)}`),
    'sk-api-key': plain(`sk-${r(48, ALNUM, 356)}`),
    'huggingface-token': plain(`hf_${r(34, ALNUM, 357)}`),
    'groq-api-key': plain(`gsk_${r(52, ALNUM, 358)}`),
    'replicate-api-token': plain(`r8_${r(37, ALNUM, 359)}`),
    'perplexity-api-key': plain(`pplx-${r(48, ALNUM, 360)}`),
    'xai-api-key': plain(`xai-${r(80, ALNUM, 361)}`),
    'databricks-token': plain(`dapi${r(32, LOWER_HEX, 362)}`),
    'hashicorp-vault-token': plain(`hvs.${r(90, B64URL, 363)}`),
    'terraform-cloud-token': plain(`${r(14, ALNUM, 364)}.atlasv1.${r(67, B64URL, 365)}`),
    'pulumi-access-token': plain(`pul-${r(40, LOWER_HEX, 366)}`),
    'doppler-token': plain(`dp.pt.${r(43, ALNUM, 367)}`),
    'sentry-token': plain(`sntrys_${r(80, ALNUM, 368)}`),
    'postman-api-key': plain(`PMAK-${r(24, LOWER_HEX, 369)}-${r(34, LOWER_HEX, 370)}`),
    'new-relic-key': plain(`NRAK-${r(27, UPPER_ALNUM, 371)}`),
    'dynatrace-token': plain(`dt0c01.${r(24, UPPER_ALNUM, 372)}.${r(64, UPPER_ALNUM, 373)}`),
    'grafana-token': plain(`glsa_${r(32, ALNUM, 374)}_${r(8, LOWER_HEX, 375)}`),
    'linear-api-key': plain(`lin_api_${r(40, ALNUM, 376)}`),
    'notion-token': plain(`ntn_${r(46, ALNUM, 377)}`),
    'figma-token': plain(`figd_${r(40, B64URL, 378)}`),
    'onepassword-service-account-token': plain(`ops_eyJ${r(120, B64URL, 379)}`),
    'tailscale-key': plain(`tskey-api-${r(12, ALNUM, 380)}-${r(30, ALNUM, 381)}`),
    'planetscale-token': plain(`pscale_tkn_${r(43, B64URL, 382)}`),
    'supabase-key': plain(`sbp_${r(40, LOWER_HEX, 383)}`),
    'flyio-token': plain(`fo1_${r(43, B64URL, 384)}`),
    'mapbox-secret-token': plain(`sk.eyJ${r(60, B64URL, 385)}.${r(22, B64URL, 386)}`),
    'age-secret-key': plain(`AGE-SECRET-KEY-1${r(58, BECH32, 387)}`),
    jwt: s(`session = "${JWT}"`, JWT),
    'private-key': s(`-----BEGIN PRIVATE KEY-----${PEM_BODY}-----END PRIVATE KEY-----`, PEM_BODY),
    'putty-private-key': s(
      `PuTTY-User-Key-File-3: ssh-ed25519 Encryption: none Private-Lines: 2 ${putty.slice(0, 64)} ${putty.slice(64)} Private-MAC: ${r(64, LOWER_HEX, 388)}`,
      putty,
    ),
    'url-password': s(`REDIS_URL=redis://:Xk29sLq0pZ7@cache.internal:6379/0`, 'Xk29sLq0pZ7'),
    'connection-string-password': s(
      `Server=db;Database=app;User Id=sa;Password=Xk29sLq0pZ7!;`,
      'Xk29sLq0pZ7!',
    ),
  };
})();

describe('known formats (secret-rules.ts)', () => {
  it('has a sample for every pattern, and unique kebab-case ids with keywords and a source', () => {
    const ids = SECRET_PATTERNS.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.keys(SAMPLES).sort()).toEqual([...ids].sort());
    for (const p of SECRET_PATTERNS) {
      expect(p.id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(p.source.length).toBeGreaterThan(20);
      for (const k of p.keywords) expect(k).toBe(k.toLowerCase());
    }
    // The formats without a distinctive literal go without keywords: tried on lines with a long run.
    expect(SECRET_PATTERNS.filter((p) => p.keywords.length === 0).map((p) => p.id)).toEqual([
      'nuget-api-key',
      'discord-bot-token',
      'telegram-bot-token',
      'twilio-api-key',
      'mailchimp-api-key',
    ]);
    // ... and the hint that gates them finds each of their samples.
    for (const p of SECRET_PATTERNS.filter((x) => x.keywords.length === 0)) {
      expect([p.id, KEYWORDLESS_HINT.test(SAMPLES[p.id]!.line)]).toEqual([p.id, true]);
    }
  });

  it.each(Object.entries(SAMPLES))(
    'finds %s in its sample, as that format, the whole secret',
    (id, sample) => {
      const found = findSecrets(sample.line);
      expect(found.map((f) => f.pattern.id)).toContain(id);
      const f = found.find((x) => x.pattern.id === id)!;
      expect(f.secret).toBe(sample.secret);
      // Each keyword is what the prefilter needs: the sample holds one of the pattern's keywords.
      const p = SECRET_PATTERNS.find((x) => x.id === id)!;
      if (p.keywords.length > 0)
        expect(p.keywords.some((k) => sample.line.toLowerCase().includes(k))).toBe(true);
    },
  );

  it.each(Object.entries(SAMPLES))('secret-detected blocks %s and never echoes it', async (_id, sample) => {
    const findings = await run(secretDetected, changeOf('src/config.ts', ['// config', sample.line], 4));
    expect(findings.length).toBeGreaterThanOrEqual(1);
    expect(findings.every((f) => f.path === 'src/config.ts' && f.line === 5)).toBe(true);
    expectMasked(findings, sample.secret);
  });

  const passes: [string, string][] = [
    ['a documented AWS example key id', 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE'],
    ['a placeholder Stripe key', "Stripe('sk_live_xxxxxxxxxxxxxxxxxxxxxxxx')"],
    ['a Stripe key made of placeholder words', 'STRIPE_KEY=sk_live_YourSecretKeyHereExample'],
    ['a publishable Stripe key (public by design)', `pk_live_${r(24, ALNUM, 400)}`],
    ['a Twilio account SID alone (an identifier)', `AC${r(32, LOWER_HEX, 401)}`],
    [
      'jwt.io sample token',
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    ],
    ['a URL whose password is its user name', 'postgres://postgres:postgres@localhost:5432/app'],
    ['a URL with a password reference', 'https://deploy:${DEPLOY_TOKEN}@git.acme-corp.io/x.git'],
    ['a URL with a placeholder password', 'mongodb://root:example@mongo:27017/'],
    ['a URL with a default-account password', 'amqp://guest:guest@rabbit:5672'],
    ['a URL with user info but a port (no password)', 'ssh://git@github.com:22/acme/x.git'],
    ['a connection string with a placeholder', 'Server=db;User Id=sa;Password=<your-password>;'],
    [
      'a key header without key material',
      '-----BEGIN RSA PRIVATE KEY----- ... paste your key here ... -----END RSA PRIVATE KEY-----',
    ],
    [
      'a key header with a placeholder body',
      `-----BEGIN PRIVATE KEY-----${'x'.repeat(80)}-----END PRIVATE KEY-----`,
    ],
    ['a long camelCase identifier after "sk-"', 'css: .sk-someVeryLongClassNameForTheWidgetHere {}'],
    [
      'a Java-like dotted name (not a Discord token)',
      'MyVeryLongClassNameForTests.method.someOtherVeryLongIdentifierHere',
    ],
    [
      'a lockfile integrity hash',
      '"integrity": "sha512-Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG9mcmVk=="',
    ],
  ];
  it.each(passes)('passes %s', (_what, line) => {
    expect(findSecrets(line)).toEqual([]);
  });

  it('reports two different secrets of one line, each once', () => {
    const line = `keys: ${SECRETS.githubClassic} and ${SAMPLES['stripe-secret-key']!.secret}`;
    expect(findSecrets(line).map((f) => f.pattern.id)).toEqual(['github-token', 'stripe-secret-key']);
  });

  it('judges placeholders and passwords as documented', () => {
    expect(isPlaceholderSecret('AKIAIOSFODNN7EXAMPLE', 3)).toBe(true);
    expect(isPlaceholderSecret(`ghp_${'x'.repeat(36)}`, 3)).toBe(true);
    // A real token with EXAMPLE glued to it keeps most of its length: still a secret.
    expect(isPlaceholderSecret(`${SECRETS.githubClassic}EXAMPLE`, 3)).toBe(false);
    expect(isPlaceholderSecret(SECRETS.githubClassic, 3)).toBe(false);
    expect(isRealPassword('hunter22')).toBe(true);
    expect(isRealPassword('Xk29sLq0pZ7')).toBe(true);
    expect(isRealPassword('correcthorsebatterystaple')).toBe(true); // 12+ characters
    for (const p of [
      'postgres',
      'password',
      'app_password',
      'changeme1',
      '${PASS}',
      '$PASS',
      '%PASS%',
      '<pw>',
      'abc',
      '***',
    ])
      expect([p, isRealPassword(p)]).toEqual([p, false]);
    expect(isRealPassword('deploy', 'deploy')).toBe(false);
  });

  it('takes a key=value "password" that is an absolute path for what it is: a directory or a file reference', () => {
    const ids = (line: string) => findSecrets(line).map((f) => f.pattern.id);
    expect(ids('PWD=/tmp/self-evolution-sandbox-AbC123/work')).not.toContain('connection-string-password');
    expect(ids('password=/run/secrets/db_password')).not.toContain('connection-string-password');
    // Real ones stay found, also ones that merely start with a slash.
    expect(ids('Server=db;Uid=sa;Pwd=Xk29sLq0pZ7!;')).toContain('connection-string-password');
    expect(ids('password=/Xk29!sLq0pZ7@')).toContain('connection-string-password');
  });
});

describe('secret-detected through encodings (issue #7 class 10)', () => {
  const ghp = SECRETS.githubClassic;
  const stripe = SAMPLES['stripe-secret-key']!.secret;
  const google = SAMPLES['google-api-key']!.secret;
  const esc = (text: string, f: (c: string) => string, every = 3) =>
    Array.from(text, (c, i) => (i % every === 0 ? f(c) : c)).join('');
  const hex2 = (c: string) => c.charCodeAt(0).toString(16).padStart(2, '0');
  const cases: [string, string[], string][] = [
    [
      'a Stripe key passed to a constructor',
      [`const stripe = new Stripe("${stripe}", { apiVersion: '2024-06-20' });`],
      stripe,
    ],
    ['a Google API key', [`firebase.initializeApp({ apiKey: '${google}' });`], google],
    ['a JWT assigned to session', [`session = '${JWT}'`], JWT],
    ['"a" + "b"', [`const t = "${ghp.slice(0, 9)}" + "${ghp.slice(9)}";`], ghp],
    ['three pieces', [`t = '${ghp.slice(0, 5)}' + '${ghp.slice(5, 20)}' + '${ghp.slice(20)}'`], ghp],
    [
      'a template literal with an empty placeholder',
      [`const t = \`${ghp.slice(0, 9)}\${''}${ghp.slice(9)}\`;`],
      ghp,
    ],
    ['Python implicit concatenation', [`TOKEN = "${ghp.slice(0, 9)}" "${ghp.slice(9)}"`], ghp],
    ['PHP concatenation', [`$t = '${ghp.slice(0, 9)}' . '${ghp.slice(9)}';`], ghp],
    ['Lua concatenation', [`local t = "${ghp.slice(0, 9)}" .. "${ghp.slice(9)}"`], ghp],
    [
      'a joined list',
      [`const t = ['${ghp.slice(0, 9)}', '${ghp.slice(9, 20)}', '${ghp.slice(20)}'].join('');`],
      ghp,
    ],
    ['shell quote juxtaposition', [`export GH_TOKEN="${ghp.slice(0, 9)}"'${ghp.slice(9)}'`], ghp],
    ['\\u escapes', [`x = "${esc(ghp, (c) => `\\u00${hex2(c)}`)}"`], ghp],
    ['\\u{} escapes', [`x = "${esc(ghp, (c) => `\\u{${hex2(c)}}`)}"`], ghp],
    ['\\x escapes', [`x = "${esc(ghp, (c) => `\\x${hex2(c)}`)}"`], ghp],
    ['octal escapes', [`x = "${esc(ghp, (c) => `\\${c.charCodeAt(0).toString(8)}`)}"`], ghp],
    ['HTML character references', [`<meta content="${esc(ghp, (c) => `&#${c.charCodeAt(0)};`)}">`], ghp],
    ['hex HTML references and &lowbar;', [`<i>gh&#x70;&lowbar;${ghp.slice(4)}</i>`], ghp],
    ['URL-encoding', [`curl "https://api.acme.io/?t=${esc(ghp, (c) => `%${hex2(c)}`)}"`], ghp],
    ['a JSON \\/ escape', [`{"key": "${stripe.replace('_', '\\u005f')}"}`], stripe],
    ['base64', [`TOKEN_B64="${b64(ghp)}"`], ghp],
    ['URL-safe base64 of a whole env line', [`data: ${b64url(`GITHUB_TOKEN=${ghp}\n`)}`], ghp],
    ['base64 of base64', [`blob = "${b64(b64(ghp))}"`], ghp],
    ['hex', [`k = bytes.fromhex("${Buffer.from(ghp).toString('hex')}")`], ghp],
    ['character codes', [`String.fromCharCode(${Array.from(ghp, (c) => c.charCodeAt(0)).join(', ')})`], ghp],
    ['hex character codes', [`bytes([${Array.from(ghp, (c) => `0x${hex2(c)}`).join(',')}])`], ghp],
    [
      'a reversed string',
      [`const t = '${Array.from(ghp).reverse().join('')}'.split('').reverse().join('');`],
      ghp,
    ],
    ['Python slicing reversal', [`t = "${Array.from(ghp).reverse().join('')}"[::-1]`], ghp],
    [
      'ROT13',
      [
        `t = codecs.decode("${ghp.replace(/[a-z]/gi, (c) => String.fromCharCode(((c.toLowerCase().charCodeAt(0) - 97 + 13) % 26) + (c <= 'Z' ? 65 : 97)))}", "rot13")`,
      ],
      ghp,
    ],
    ['a zero-width space inside', [`t = "${ghp.slice(0, 3)}\u200B${ghp.slice(3)}"`], ghp],
    [
      'a soft hyphen and a word joiner inside',
      [`t = "${ghp.slice(0, 3)}\u00AD${ghp.slice(3, 9)}\u2060${ghp.slice(9)}"`],
      ghp,
    ],
    [
      'full-width letters',
      [
        `t = "${Array.from(ghp.slice(0, 4), (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('')}${ghp.slice(4)}"`,
      ],
      ghp,
    ],
    [
      'concatenation across lines (+ at the end)',
      [`const t = "${ghp.slice(0, 9)}" +`, `  "${ghp.slice(9)}";`],
      ghp,
    ],
    [
      'concatenation across lines (+ at the start)',
      [`const t = "${ghp.slice(0, 9)}"`, `  + "${ghp.slice(9)}";`],
      ghp,
    ],
    [
      'Python parentheses across lines',
      ['TOKEN = (', `    "${ghp.slice(0, 20)}"`, `    "${ghp.slice(20)}"`, ')'],
      ghp,
    ],
    ['a backslash continuation', [`TOKEN = "${ghp.slice(0, 20)}" \\`, `    "${ghp.slice(20)}"`], ghp],
    [
      'a list joined across lines',
      ['const t = [', `  '${ghp.slice(0, 9)}',`, `  '${ghp.slice(9)}',`, "].join('');"],
      ghp,
    ],
    ['escapes and concatenation together', [`x = "\\u0067hp_" + "${ghp.slice(4)}"`], ghp],
    ['base64 split over literals', [`x = "${b64(ghp).slice(0, 20)}" + "${b64(ghp).slice(20)}"`], ghp],
  ];

  it.each(cases)('trips on %s, masked', async (_what, lines, secret) => {
    const findings = await run(secretDetected, changeOf('src/tool.ts', lines, 10));
    expect(findings.length).toBeGreaterThanOrEqual(1);
    for (const f of findings) {
      expect(f.path).toBe('src/tool.ts');
      expect(f.line).toBeGreaterThanOrEqual(10);
      expect(f.line).toBeLessThan(10 + lines.length);
    }
    expectMasked(findings, secret);
  });

  it('names what it undid, and the line of the piece that holds the secret', async () => {
    const findings = await run(
      secretDetected,
      changeOf(
        'src/a.py',
        ['x = 1', 'TOKEN = (', `    "${ghp.slice(0, 20)}"`, `    "${ghp.slice(20)}"`, ')'],
        1,
      ),
    );
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ path: 'src/a.py', line: 3 });
    expect(findings[0]!.message).toBe(
      `src/a.py:3: secret found (github-token: GitHub token (personal access, OAuth, user-to-server, server-to-server or refresh), after joining concatenated literals, across lines 2-4): ghp_…(40 chars); remove it from the change and rotate it (no setting allows a detected secret)`,
    );
  });

  it('does not join lines of different files, nor lines that are not consecutive', async () => {
    const change: ChangeUnderReview = {
      type: 'cleanup',
      riskLevel: 1,
      facts: {
        files: [file('src/a.ts', 2), file('src/b.ts', 1)],
        addedLines: [
          { path: 'src/a.ts', line: 1, text: `const t = "${ghp.slice(0, 9)}" +` },
          { path: 'src/a.ts', line: 5, text: `  "${ghp.slice(9)}";` },
          { path: 'src/b.ts', line: 2, text: `  "${ghp.slice(9)}";` },
        ],
      },
    };
    expect(await run(secretDetected, change)).toEqual([]);
  });

  it("drops secretlint's URL findings whose password is a placeholder, keeps real ones", async () => {
    const findings = await run(
      secretDetected,
      changeOf('docs/a.md', [
        'DATABASE_URL=postgres://app:changeme@localhost:5432/app',
        'url: postgresql://postgres:postgres@db:5432/postgres',
        `DATABASE_URL=postgres://app:${SECRETS.postgresPassword}@db.internal:5432/app`,
      ]),
    );
    expect(findings.map((f) => f.line)).toEqual([3]);
  });

  it('reports a secret secretlint finds once (not again as a known format)', async () => {
    const findings = await run(secretDetected, changeOf('docs/a.md', [`token: ${ghp}`]));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/secret found by secretlint \(github/);
  });

  it('passes ordinary code, prose, JSON and base64 that is not text', async () => {
    const findings = await run(
      secretDetected,
      changeOf('src/a.ts', [
        'const message = "Hello, " + name + "!";',
        "const parts = ['a', 'b', 'c'].join('-');",
        'const path = `${root}/${dir}/file.txt`;',
        '"integrity": "sha512-' + r(86, BASE64, 410) + '==",',
        'const icon = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAGElEQVQ4jWNgGAWjYBSMglEwCkYBAgABAAH/fT3mAAAAAElFTkSuQmCC";',
        'const reversed = name.split("").reverse().join("");',
        'x = "caf\\u00e9 cr\\u00e8me"',
        'It is 100% safe & sound; see &amp; and &lt;tag&gt;.',
        'const commit = "da39a3ee5e6b4b0d3255bfef95601890afd80709";',
      ]),
    );
    expect(findings).toEqual([]);
  });
});

describe('views (secret-views.ts)', () => {
  it('decodes escapes, URL-encoding and HTML references, or says there were none', () => {
    expect(unescapeText('plain text')).toBeUndefined();
    expect(unescapeText('\\u0067\\x68\\160\\u{5f}\\/')).toBe('ghp_/');
    expect(unescapeText('\\ud83d\\ude00!')).toBe('\u{1F600}!');
    expect(unescapeText('%67%68p%5F and %E2%82%AC')).toBe('ghp_ and €');
    expect(unescapeText('&#103;&#x68;p&lowbar;&amp;')).toBe('ghp_&');
    expect(unescapeText('line\\nbreak\\ttab')).toBe('line break tab');
    expect(unescapeText('bad \\u00zz and \\xZZ and &nosuch; %zz')).toBeUndefined();
  });

  it('removes invisible characters and folds full-width forms', () => {
    expect(normalizeText('ascii only')).toBeUndefined();
    expect(normalizeText('g\u200Bh\u200Dp\uFEFF_')).toBe('ghp_');
    expect(normalizeText('\uFF47\uFF48\uFF50\uFF3F')).toBe('ghp_');
    expect(normalizeText('café')).toBeUndefined();
  });

  it('joins adjacent literals and maps offsets back', () => {
    expect(joinLiterals('no literals here')).toBeUndefined();
    expect(joinLiterals('x = "ab" + "cd" + y')!.text).toBe('x = "abcd" + y');
    expect(joinLiterals("x = 'ab' 'cd'")!.text).toBe("x = 'abcd'");
    expect(joinLiterals('x = `ab${""}cd`')!.text).toBe('x = `abcd`');
    expect(joinLiterals('f("a", "b")')).toBeUndefined();
    expect(joinLiterals('["a", "b"].join("")')!.text).toBe('["ab"].join()');
  });

  it('decodes base64, hex and character codes only when they are text', () => {
    expect(decodeBase64(b64('ghp_0123456789abcdef'))).toBe('ghp_0123456789abcdef');
    expect(decodeBase64(b64url('\u00ff\u00fe binary \u0001'))).toBeUndefined();
    expect(decodeBase64('someVeryLongFunctionName')).toBeUndefined();
    expect(decodeHex(Buffer.from('hello, secret world').toString('hex'))).toBe('hello, secret world');
    expect(decodeHex('da39a3ee5e6b4b0d3255bfef95601890afd80709')).toBeUndefined();
    const runs = decodedRuns(
      `a ${b64('first decoded text')} b ${Buffer.from('second decoded text!').toString('hex')}`,
    );
    expect(runs.map((x) => [x.how, x.decoded])).toEqual([
      ['base64', 'first decoded text'],
      ['hex', 'second decoded text!'],
    ]);
  });

  it('chains only lines that continue each other, and says which', () => {
    const lines: AddedLine[] = [
      { path: 'a.ts', line: 1, text: 'const a = 1;' },
      { path: 'a.ts', line: 2, text: 'const t = "ab" +' },
      { path: 'a.ts', line: 3, text: '  "cd";' },
      { path: 'a.ts', line: 4, text: 'API_TOKEN =' },
      { path: 'a.ts', line: 5, text: '  "value"' },
      { path: 'a.ts', line: 6, text: 'next = 1' },
    ];
    const views = viewsOfLines(lines);
    expect(views.map((v) => [v.how, v.text, v.lineAt(0)])).toEqual([
      ['after joining concatenated literals, across lines 2-3', 'const t = "abcd";', 2],
      ['across lines 4-5', 'API_TOKEN =\n  "value"', 4],
    ]);
  });

  it('finds literals case-insensitively with LiteralSet, longest first', () => {
    const set = new LiteralSet(['ab', 'abc', 'xyz']);
    expect(set.next('--ABCd', 0)).toEqual({ index: 2, literal: 'abc' });
    expect(set.all('ab xYz abc')).toEqual(['ab', 'xyz', 'abc']);
    expect(set.test('a b')).toBe(false);
    expect(() => new LiteralSet(['x'])).toThrow(RangeError);
  });

  it('stays linear on hostile long lines (reverse words, escapes, runs)', async () => {
    const long = [
      'reverse '.repeat(120_000),
      '\\u0067'.repeat(150_000),
      `${'A'.repeat(9000)} `.repeat(100),
      '"a" + '.repeat(150_000),
      '12, '.repeat(200_000),
    ];
    const findings = await run(secretDetected, changeOf('dist/a.js', long));
    expect(findings).toEqual([]);
  });
});

describe('secret-high-entropy (round 2: values on the next line, joined, decoded; code is not a value)', () => {
  const value = randomChars(32, ALNUM, 420);
  const trips: [string, string[]][] = [
    ['`TOKEN =` then the value', ['TOKEN =', `  "${value}"`]],
    ['YAML: the value on the next line', ['api_token:', `  ${value}`]],
    ['YAML block scalar', ['api_token: |', `  ${value}`]],
    ['JSON: the value on the next line', ['  "client_secret":', `    "${value}",`]],
    ['INI with a continuation', ['password = \\', `  ${value}`]],
    ['Python parentheses', ['SECRET_KEY = (', `    "${value}"`, ')']],
    ['a split literal', [`API_KEY = "${value.slice(0, 10)}" + "${value.slice(10)}"`]],
    [
      'escaped characters',
      [`API_KEY = "${Array.from(value, (c) => `\\x${c.charCodeAt(0).toString(16)}`).join('')}"`],
    ],
    ['a base64 env line', [`blob: ${b64(`SECRET_KEY=${value}`)}`]],
  ];
  it.each(trips)('trips on %s, masked', async (_what, lines) => {
    const findings = await run(secretHighEntropy, changeOf('config/app.yml', lines, 20));
    expect(findings.length).toBeGreaterThanOrEqual(1);
    expect(findings[0]!.line).toBe(20);
    expectMasked(findings, value);
  });

  const passes: [string, string[]][] = [
    ['a call on the next line of a block', ['if api_token:', '    refreshTheSessionFromUpstream2()']],
    ['a nested YAML key', ['auth:', '  someLongCamelCaseKeyName123: x']],
    ['a YAML key that is a mapping', ['auth_settings:', `  provider_${value}:`]],
    ['a function call', ['const key = getRedirectsCacheKey(redirectOptions);']],
    ['an identifier', ['extraKeyDiagnostics: compilerOptionsDidYouMeanDiagnostics,']],
    ['a quoted identifier', ['iterableCacheKey: "iterationTypesOfAsyncIterable",']],
    ['a negated expression', ['const keysRemapped = !!target2.declaration.nameType;']],
    ['the next line after an unrelated name', ['greeting =', `  "${value}"`]],
  ];
  it.each(passes)('passes %s', async (_what, lines) => {
    expect(await run(secretHighEntropy, changeOf('src/a.ts', lines))).toEqual([]);
  });

  it('tells identifiers from random letters', () => {
    expect(isIdentifierLike('iterationTypesOfAsyncIterable')).toBe(true);
    expect(isIdentifierLike('get_redirect_cache_key')).toBe(true);
    expect(isIdentifierLike('aBcDeFgHiJkLmNoPqRsT')).toBe(false);
    expect(isIdentifierLike('XkQpZmWbTrLsYvNcHgJd')).toBe(false);
    expect(isIdentifierLike('abc123')).toBe(false);
  });
});

describe('secret-in-path (issue #7 class 10: a token used as a file name)', () => {
  const ghp = SECRETS.githubClassic;
  const pathCheck = (files: FileChange[]) =>
    secretInPath.check(inputOf({ type: 'cleanup', riskLevel: 1, facts: { files, addedLines: [] } }));

  it.each([
    ['a token as a file name', `src/${ghp}.txt`],
    ['a token as a directory name', `docs/${SAMPLES['stripe-secret-key']!.secret}/notes.md`],
    ['a URL-encoded token', `docs/%67hp_${ghp.slice(4)}.md`],
    ['a base64-encoded token', `docs/${b64url(ghp)}.md`],
  ])('trips on %s, masking the name', async (_what, path) => {
    const findings = await pathCheck([file(path, 1, { status: 'added', oldMode: '000000' })]);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.path).toBe(path);
    expect(findings[0]!.message).toMatch(/a file name holds a secret \(/);
    expectMasked(findings, ghp);
  });

  it('judges the new side of a rename, not deletions nor the old side', async () => {
    const findings = await pathCheck([
      file(`docs/${ghp}.md`, 0, { status: 'deleted', newMode: '000000' }),
      file('docs/notes.md', 0, { status: 'renamed', oldPath: `docs/old-${ghp}.md` }),
      file(`docs/new-${SECRETS.npm}.md`, 0, { status: 'renamed', oldPath: 'docs/b.md' }),
    ]);
    expect(findings.map((f) => f.path)).toEqual([`docs/new-${SECRETS.npm}.md`]);
  });

  it.each([
    'src/task-runner/desk.ts',
    'docs/gen/d000/f000001.md',
    'src/someVeryLongFileNameForTheWidget.tsx',
  ])('passes %s', async (path) => {
    expect(await pathCheck([file(path, 1)])).toEqual([]);
  });
});

describe('secret-file (round 2: code named credentials, env templates)', () => {
  const check = (files: FileChange[], addedLines: AddedLine[] = [], contents?: Record<string, string>) =>
    secretFile.check(
      inputOf({
        type: 'cleanup',
        riskLevel: 1,
        facts: { files, addedLines, ...(contents ? { contents } : {}) },
      }),
    );
  const envChange = (path: string, texts: string[]) => ({
    files: [file(path, texts.length, { status: 'added', oldMode: '000000' })],
    lines: texts.map((text, i) => ({ path, line: i + 1, text })),
  });

  it.each([
    'src/credentials.ts',
    'lib/auth/Credentials.py',
    'pkg/credentials.go',
    'src/credentials.test.ts',
    'types/credentials.d.ts',
  ])('passes source code named credentials: %s', async (path) => {
    expect(await check([file(path, 1)])).toEqual([]);
  });

  it.each([
    'config/credentials.json',
    'credentials.yml',
    '.aws/credentials',
    'docs/.credentials',
    'scripts/credentials.sh',
    'x/.git-credentials',
    'keys/server.ppk',
    'a/.docker/config.json',
  ])('blocks %s', async (path) => {
    expect(await check([file(path, 1)])).toHaveLength(1);
  });

  const placeholders = [
    '# Copy to .env and fill in',
    'API_KEY=',
    'OPENAI_API_KEY=your-key-here',
    'GITHUB_TOKEN=<token>',
    'DB_PASSWORD=changeme',
    'SESSION_SECRET=${SESSION_SECRET}',
    'STRIPE_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx',
    'export AWS_SECRET_ACCESS_KEY=""',
    'DATABASE_URL=postgres://app:password@localhost:5432/app',
    'LOG_LEVEL=debug',
    'PORT=3000',
    'POSTGRES_PASSWORD=postgres',
  ];
  it.each([
    '.env.example',
    'docs/.env.sample',
    'apps/web/.env.template',
    '.env.dist',
    '.env.local.example',
    'x/.ENV.EXAMPLE',
  ])('passes the template %s when every value is empty or a placeholder', async (path) => {
    const { files, lines } = envChange(path, placeholders);
    expect(await check(files, lines)).toEqual([]);
  });

  it.each([
    ['a known format', `GITHUB_TOKEN=${SECRETS.githubClassic}`],
    ['a real-looking value under a secret-like name', 'JWT_SECRET=s3cr3tV4lue'],
    ['a high-entropy value under any name', `SESSION=${randomChars(32, ALNUM, 430)}`],
    ['a password in a URL', 'DATABASE_URL=postgres://app:Xk29sLq0pZ7@db.internal:5432/app'],
  ])('blocks a template holding %s, at its line, masked', async (_what, text) => {
    const { files, lines } = envChange('.env.example', [...placeholders, text]);
    const findings = await check(files, lines);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ path: '.env.example', line: placeholders.length + 1 });
    expect(findings[0]!.message).toMatch(/an env template holds a value that looks like a secret/);
    expectMasked(findings, text.split('=').slice(1).join('='));
  });

  it('judges the whole template when the facts carry it (a rename brings old lines)', async () => {
    const files = [file('docs/.env.example', 0, { status: 'renamed', oldPath: 'docs/env.txt' })];
    const findings = await check(files, [], { 'docs/.env.example': `A=\nAPI_TOKEN=${SECRETS.npm}\n` });
    expect(findings.map((f) => f.line)).toEqual([2]);
  });

  it.each(['.env', '.env.local', 'apps/x/.env.production', '.env.test', '.env.example.local'])(
    'still blocks %s, even empty',
    async (path) => {
      const findings = await check([file(path, 0, { status: 'added', oldMode: '000000' })]);
      expect(findings).toHaveLength(1);
      expect(findings[0]!.message).toMatch(/is named like a secret file/);
    },
  );

  it('blocks renaming a real .env into a template, and copying one', async () => {
    const findings = await check([
      file('.env.example', 0, { status: 'renamed', oldPath: '.env' }),
      file('.env.sample', 1, { status: 'copied', oldPath: '.env.production' }),
    ]);
    expect(findings.map((f) => f.path).sort()).toEqual(['.env', '.env.production']);
  });
});
