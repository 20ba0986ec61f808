/**
 * Rails round 2 (issue #7), class r2-13: False positives to remove: names that merely contain auth or credentials, .env.example files with empty or placeholder values, copy sources.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import { type Case, B, H, append, token, write } from './lib.js';

/** Policy variant without `.env*` among blockedPaths (and `.env*` allowed): the secret rules alone judge them. */
const DOTENV = '.github/rails-variants/dotenv-templates.json';
/** Env template lines whose values are all empty or placeholders. */
const PLACEHOLDER_ENV = [
  '# Copy this file to .env and fill in the values.',
  'LOG_LEVEL=info',
  'PORT=3000',
  'OPENAI_API_KEY=',
  'GITHUB_TOKEN=<your-token>',
  'STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx',
  'DATABASE_URL=postgres://app:changeme@localhost:5432/app',
  'SESSION_SECRET=${SESSION_SECRET}',
  'SLACK_WEBHOOK_URL=your-webhook-url-here',
  '',
].join('\n');

/** Secret false positives (issue #7 class 13) and the hostile cases right next to them. */
const SECRET_CASES: Case[] = [
  B({
    name: 'docs-placeholder-keys',
    note: 'documentation placeholders in vendor formats (xxx, YOUR_KEY, AWS example key, jwt.io sample)',
    change: append(
      'docs/guide.md',
      [
        '',
        '```sh',
        'export STRIPE_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx',
        'export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE',
        'export DATABASE_URL=postgres://postgres:postgres@localhost:5432/app',
        'export GITHUB_TOKEN=ghp_YourPersonalAccessTokenHere',
        'export JWT=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
        '```',
        '',
      ].join('\n'),
    ),
  }),
  B({
    name: 'src-credentials-module',
    note: 'src/credentials.ts: code about credentials (reads them from the environment) is not a secret file',
    change: write({
      'src/credentials.ts':
        "/** Credentials of the agent, from the environment (never from the repository). */\nexport function loadCredentials(): { token: string } {\n  return { token: process.env.GITHUB_TOKEN ?? '' };\n}\n",
    }),
    args: ['--type', 'capability', '--risk', '2'],
  }),
  B({
    name: 'src-credentials-go-and-test',
    note: 'credentials.go and credentials.d.ts: source code in other languages named credentials',
    change: write({
      'src/cloud/credentials.go':
        'package cloud\n\n// Credentials come from the environment.\nfunc Credentials() string { return os.Getenv("CLOUD_TOKEN") }\n',
      'src/types/credentials.d.ts': 'export interface Credentials {\n  token: string;\n}\n',
    }),
    args: ['--type', 'capability', '--risk', '2'],
  }),
  B({
    name: 'docs-env-example-placeholders',
    note: 'docs/.env.example whose values are all empty or placeholders (the issue example)',
    args: ['--config', DOTENV],
    change: write({ 'docs/.env.example': PLACEHOLDER_ENV }),
  }),
  B({
    name: 'env-sample-empty-values',
    note: 'a root .env.sample with empty values and comments only',
    args: ['--config', DOTENV],
    change: write({ '.env.sample': '# Required\nAPI_KEY=\nAPI_SECRET=\n\n# Optional\nexport DEBUG=\n' }),
  }),
  B({
    name: 'env-template-references',
    note: 'an .env.template of references and placeholders (${VAR}, <token>, changeme, xxx)',
    args: ['--config', DOTENV],
    change: write({
      'docs/.env.template':
        'AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID}\nAWS_SECRET_ACCESS_KEY=<secret>\nDB_PASSWORD=changeme\nJWT_SECRET=xxxxxxxx\nREDIS_URL=redis://localhost:6379\n',
    }),
  }),
  B({
    name: 'src-key-from-call',
    note: 'values of key-named variables that are calls or identifiers, not secrets (high-entropy false positives in code)',
    change: write({
      'src/cache.ts':
        'export const cacheKey = buildCacheKeyFromRequest(request);\nexport const keyMapper = createGetCanonicalFileName(useCaseSensitiveFileNames);\nexport const tokenKind = { kind: SyntaxKindIdentifierToken };\n',
    }),
    args: ['--type', 'capability', '--risk', '2'],
  }),
  H({
    name: 'secret-file--env-example-with-real-key',
    note: 'an .env.example holding a real-looking OpenAI key among placeholders: a template with a secret stays blocked',
    args: ['--config', DOTENV],
    rules: ['secret-file', 'secret-detected'],
    change: write({ 'docs/.env.example': `${PLACEHOLDER_ENV}OPENAI_API_KEY=sk-proj-${token(1301, 80)}\n` }),
  }),
  H({
    name: 'secret-file--env-example-weak-secret',
    note: 'an .env.example with a short, real-looking JWT secret: too short for the entropy rule, not a placeholder',
    args: ['--config', DOTENV],
    change: write({ '.env.example': 'PORT=3000\nJWT_SECRET=s3cr3tV4lue9\n' }),
  }),
  H({
    name: 'secret-file--dotenv-local-empty',
    note: 'a real .env.local stays blocked even when empty, whatever blockedPaths says',
    args: ['--config', DOTENV],
    change: write({ '.env.local': '' }),
  }),
  H({
    name: 'secret-file--env-example-local',
    note: '.env.example.local is a real env file (the last suffix decides), not a template',
    args: ['--config', DOTENV],
    change: write({ 'docs/.env.example.local': 'LOG_LEVEL=debug\n' }),
  }),
  H({
    name: 'secret-file--credentials-json',
    note: 'src/credentials.json is a secret store, not code',
    change: write({ 'src/credentials.json': '{ "type": "authorized_user" }\n' }),
  }),
];

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

/** `*auth*` false positives (issue #7 class 13): authentication code stays 4, words about authors are 2. */
const AUTH_CASES: Case[] = [
  // -- `*auth*` (risk 4 "authentication") matched author.ts: authentication code stays 4, words about authors
  //    are ordinary source (2). (issue #7 class 13, rails/policy.ts DEFAULT_RISK_RUBRIC)
  B({
    name: 'author-module-is-not-auth',
    note: 'src/author.ts (who wrote a page) is source code (risk 2), not authentication (issue example)',
    change: write({
      'src/author.ts': 'export const authorOf = (page: { by?: string }): string => page.by ?? "unknown";\n',
    }),
  }),
  B({
    name: 'authors-directory-and-coauthor-module',
    note: 'src/authors/list.ts and src/coauthored.ts: words about authors',
    change: write({
      'src/authors/list.ts': 'export const AUTHORS: string[] = [];\n',
      'src/coauthored.ts': 'export const coauthored = (a: string[]): boolean => a.length > 1;\n',
    }),
  }),
  B({
    name: 'author-card-component',
    note: 'src/AuthorCard.ts: a UI component about authors',
    change: write({
      'src/AuthorCard.ts': 'export const AuthorCard = (name: string): string => `<b>${name}</b>`;\n',
    }),
  }),
  H({
    name: 'risk-high--oauth-callback',
    note: 'src/oauth/callback.ts: authentication code stays risk 4',
    change: write({ 'src/oauth/callback.ts': 'export const callback = (code: string): string => code;\n' }),
  }),
  H({
    name: 'risk-high--authorize-module',
    note: 'src/authorize.ts: "author" followed by "ize" is authorization, risk 4',
    change: write({
      'src/authorize.ts': 'export const authorize = (role: string): boolean => role === "admin";\n',
    }),
  }),
  H({
    name: 'risk-high--login-handler',
    note: 'src/login.ts: a login handler is authentication, risk 4',
    change: write({ 'src/login.ts': 'export const login = (user: string): string => user;\n' }),
  }),
  H({
    name: 'risk-high--authn-directory',
    note: 'src/authn/session.ts: an authn directory',
    change: write({ 'src/authn/session.ts': 'export const session = (): number => 0;\n' }),
  }),
];

export const CASES: Case[] = [...SECRET_CASES, ...AUTH_CASES];
