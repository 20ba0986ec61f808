/**
 * Rails round 2 (issue #7), class r2-10: Secrets the preset misses: vendor key formats (gitleaks-style rules), split and concatenated literals, encodings (escapes, base64), values on the next line, secrets in file names.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 *
 * Every secret below is made up (fixed-seed characters in the vendor's format). Each hostile case hides a
 * token a different way an attacker would try: the formats secretlint's preset does not know, string
 * escapes of several languages, literals glued together on one line or across lines, base64, hex, character
 * codes, invisible characters, reversal, a value on the line after its name, a token as a file name. The
 * benign cases are ordinary code and docs full of what the decoders look at (concatenation, escapes, base64
 * images, hashes, `reverse()`), which must stay allowed.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import { ALNUM, B, BASE64, DIGITS, GHP, H, NPM, append, type Case, token, write } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

const B64URL = `${ALNUM}_-`;
const STRIPE = `sk_live_${token(1001, 24)}`;
const GOOGLE = `AIza${token(1002, 35, B64URL)}`;
const JWT = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(`{"sub":"${token(1003, 12)}","exp":1893456000}`).toString('base64url')}.${token(1004, 43, B64URL)}`;
const ANTHROPIC = `sk-ant-api03-${token(1005, 93, B64URL)}`;
const DIGITALOCEAN = `dop_v1_${token(1006, 64, '0123456789abcdef')}`;
const DISCORD_BOT = `${Buffer.from('112233445566778899').toString('base64url')}.${token(1009, 6, B64URL)}.${token(1010, 38, B64URL)}`;
const AZURE_KEY = `${token(1011, 86, BASE64)}==`;
const TELEGRAM = `${token(1012, 10, DIGITS).replace(/^0/, '7')}:AA${token(1013, 33, B64URL)}`;
const HF = `hf_${token(1014, 34)}`;
const PEM_BODY = Array.from({ length: 8 }, (_, i) => token(1020 + i, 64, BASE64));
const ENTROPY_VALUE = token(1030, 40);
const hex2 = (c: string): string => c.charCodeAt(0).toString(16).padStart(2, '0');

/** GHP with every third character written with `escape`. */
function escaped(escape: (c: string) => string): string {
  return Array.from(GHP, (c, i) => (i % 3 === 0 ? escape(c) : c)).join('');
}

export const CASES: Case[] = [
  // -- formats secretlint's recommended preset does not know
  H({
    name: 'secret-detected--stripe-key-in-constructor',
    note: 'a Stripe live secret key passed to the Stripe constructor (the issue example)',
    change: write({
      'src/billing.ts': `import Stripe from 'stripe';\n\nexport const stripe = new Stripe('${STRIPE}', { apiVersion: '2024-06-20' });\n`,
    }),
  }),
  H({
    name: 'secret-detected--google-api-key',
    note: 'a Google API key (AIza...) in a Firebase config',
    change: write({
      'src/firebase.ts': `export const firebaseConfig = {\n  apiKey: '${GOOGLE}',\n  projectId: 'tiny-agent',\n};\n`,
    }),
  }),
  H({
    name: 'secret-detected--jwt-assigned-to-session',
    note: 'a signed JWT assigned to a name that is not secret-like (session)',
    change: write({ 'src/session.py': `session = "${JWT}"\n` }),
  }),
  H({
    name: 'secret-detected--anthropic-key-in-prompt',
    note: 'an Anthropic API key in a prompt',
    change: append('prompts/system.md', `\nWhen you need a model, call it with ${ANTHROPIC}.\n`),
  }),
  H({
    name: 'secret-detected--digitalocean-token-in-docs',
    note: 'a DigitalOcean personal access token (dop_v1_) in a doc',
    change: append('docs/guide.md', `\nDeploy with: doctl auth init --access-token ${DIGITALOCEAN}\n`),
  }),
  H({
    name: 'secret-detected--discord-bot-token',
    note: 'a Discord bot token passed to client.login()',
    change: write({ 'src/discord.ts': `client.login('${DISCORD_BOT}');\n` }),
  }),
  H({
    name: 'secret-detected--azure-connection-string',
    note: 'an Azure storage connection string with its account key',
    change: write({
      'src/storage.ts': `export const conn = 'DefaultEndpointsProtocol=https;AccountName=tinyagent;AccountKey=${AZURE_KEY};EndpointSuffix=core.windows.net';\n`,
    }),
  }),
  H({
    name: 'secret-detected--telegram-bot-token',
    note: 'a Telegram bot token in a persona file',
    change: append('persona/voice.md', `\nPost updates through bot ${TELEGRAM}.\n`),
  }),
  H({
    name: 'secret-detected--service-account-json',
    note: 'a Google service account key file: the private key on one JSON line with \\n escapes',
    change: write({
      'docs/sa.json': `{\n  "type": "service_account",\n  "private_key": "-----BEGIN PRIVATE KEY-----\\n${PEM_BODY.join('\\n')}\\n-----END PRIVATE KEY-----\\n"\n}\n`,
    }),
  }),
  H({
    name: 'secret-detected--redis-url-password',
    note: 'a Redis URL whose user name is empty and password real (redis://:pw@host)',
    change: write({
      'src/cache.ts': `export const REDIS_URL = 'redis://:${token(1031, 14)}@cache.internal:6379/0';\n`,
    }),
  }),
  // -- split and concatenated literals
  H({
    name: 'secret-detected--split-literal-plus',
    note: 'a GitHub token split over two literals joined by + (the issue example)',
    change: write({ 'src/gh.ts': `export const token = "${GHP.slice(0, 10)}" + "${GHP.slice(10)}";\n` }),
  }),
  H({
    name: 'secret-detected--template-literal-split',
    note: 'a token split by an empty template placeholder',
    change: write({ 'src/gh2.ts': `export const token = \`${GHP.slice(0, 10)}\${''}${GHP.slice(10)}\`;\n` }),
  }),
  H({
    name: 'secret-detected--python-implicit-concat-lines',
    note: 'Python implicit concatenation of literals on separate lines inside parentheses',
    change: write({
      'src/gh.py': `TOKEN = (\n    "${GHP.slice(0, 14)}"\n    "${GHP.slice(14, 27)}"\n    "${GHP.slice(27)}"\n)\n`,
    }),
  }),
  H({
    name: 'secret-detected--plus-at-line-end',
    note: 'a token split over two lines, the first ending with +',
    change: write({ 'src/hf.ts': `export const HF = '${HF.slice(0, 12)}' +\n  '${HF.slice(12)}';\n` }),
  }),
  H({
    name: 'secret-detected--joined-list',
    note: 'a token assembled with [...].join("") over several lines',
    change: write({
      'src/npm.ts': `export const npmToken = [\n  '${NPM.slice(0, 8)}',\n  '${NPM.slice(8, 24)}',\n  '${NPM.slice(24)}',\n].join('');\n`,
    }),
  }),
  H({
    name: 'secret-detected--shell-quote-juxtaposition',
    note: 'a token in a shell line written as two adjacent quoted strings',
    change: write({
      'docs/setup.md': `# Setup\n\n    export GH_TOKEN="${GHP.slice(0, 20)}"'${GHP.slice(20)}'\n`,
    }),
  }),
  // -- encodings
  H({
    name: 'secret-detected--unicode-escape',
    note: 'a token with \\u0067-style escapes (the issue example)',
    change: write({ 'src/esc.ts': `export const t = "${escaped((c) => `\\u00${hex2(c)}`)}";\n` }),
  }),
  H({
    name: 'secret-detected--hex-escape',
    note: 'a token with \\x67-style escapes (Python, C)',
    change: write({ 'src/esc.py': `t = "${escaped((c) => `\\x${hex2(c)}`)}"\n` }),
  }),
  H({
    name: 'secret-detected--octal-escape',
    note: 'a token with octal escapes (\\147)',
    change: write({ 'src/esc.rb': `T = "${escaped((c) => `\\${c.charCodeAt(0).toString(8)}`)}"\n` }),
  }),
  H({
    name: 'secret-detected--html-entities',
    note: 'a token written with HTML character references in a doc',
    change: append('docs/faq.md', `\n<code>${escaped((c) => `&#${c.charCodeAt(0)};`)}</code>\n`),
  }),
  H({
    name: 'secret-detected--url-encoded',
    note: 'a token URL-encoded in a link',
    change: append(
      'docs/guide.md',
      `\n[API](https://api.acme-corp.io/v1/?access_token=${escaped((c) => `%${hex2(c)}`)})\n`,
    ),
  }),
  H({
    name: 'secret-detected--base64-token',
    note: 'a base64-encoded token (the issue example)',
    change: write({ 'src/b64.ts': `export const encoded = '${Buffer.from(GHP).toString('base64')}';\n` }),
  }),
  H({
    name: 'secret-detected--base64-env-file',
    note: 'a whole env file base64-encoded into a Kubernetes-style secret manifest',
    change: write({
      'docs/k8s-secret.yaml': `apiVersion: v1\nkind: Secret\ndata:\n  env: ${Buffer.from(`STRIPE_KEY=${STRIPE}\nLOG_LEVEL=info\n`).toString('base64')}\n`,
    }),
  }),
  H({
    name: 'secret-detected--hex-encoded',
    note: 'a token hex-encoded and decoded at run time',
    change: write({
      'src/hex.py': `TOKEN = bytes.fromhex("${Buffer.from(GHP).toString('hex')}").decode()\n`,
    }),
  }),
  H({
    name: 'secret-detected--char-codes',
    note: 'a token as a list of character codes',
    change: write({
      'src/codes.ts': `export const t = String.fromCharCode(${Array.from(STRIPE, (c) => c.charCodeAt(0)).join(', ')});\n`,
    }),
  }),
  H({
    name: 'secret-detected--zero-width-space',
    note: 'a token with a zero-width space and a soft hyphen inside it (invisible in review)',
    change: append(
      'persona/traits.md',
      `\nKey: ${GHP.slice(0, 3)}\u200b${GHP.slice(3, 20)}\u00ad${GHP.slice(20)}\n`,
    ),
  }),
  H({
    name: 'secret-detected--full-width-letters',
    note: 'a token whose prefix is written in full-width letters (ｇｈｐ＿), which read like ghp_',
    change: append(
      'prompts/planner.md',
      `\nUse ${Array.from(GHP.slice(0, 4), (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).join('')}${GHP.slice(4)} for GitHub.\n`,
    ),
  }),
  H({
    name: 'secret-detected--base64-of-base64',
    note: 'a token base64-encoded twice',
    change: write({
      'src/twice.ts': `export const blob = '${Buffer.from(Buffer.from(STRIPE).toString('base64')).toString('base64')}';\n`,
    }),
  }),
  H({
    name: 'secret-detected--reversed',
    note: 'a token stored reversed and reversed back at run time',
    change: write({
      'src/rev.ts': `export const t = '${Array.from(STRIPE).reverse().join('')}'.split('').reverse().join('');\n`,
    }),
  }),
  // -- values on the next line
  H({
    name: 'secret-high-entropy--value-on-next-line',
    note: 'TOKEN = on one line, the value on the next (the issue example)',
    change: write({ 'src/settings.py': `API_TOKEN = \\\n    "${ENTROPY_VALUE}"\n` }),
  }),
  H({
    name: 'secret-high-entropy--yaml-next-line',
    note: 'a YAML key whose value is on the next line',
    change: write({ 'prompts/config.yaml': `model: small\nclient_secret:\n  ${ENTROPY_VALUE}\n` }),
  }),
  H({
    name: 'secret-high-entropy--yaml-block-scalar',
    note: 'a YAML block scalar (|) holding the value',
    change: write({ 'prompts/keys.yaml': `session_key: |\n  ${token(1032, 36)}\n` }),
  }),
  H({
    name: 'secret-high-entropy--json-next-line',
    note: 'a JSON member whose value is on the next line',
    change: write({ 'docs/settings.json': `{\n  "auth_token":\n    "${token(1033, 40)}"\n}\n` }),
  }),
  // -- secrets in file names
  H({
    name: 'secret-in-path--token-file-name',
    note: 'a token used as a file name (the issue example)',
    change: write({ [`docs/${GHP}.md`]: '# Notes\n' }),
  }),
  H({
    name: 'secret-in-path--token-directory',
    note: 'a Stripe key as a directory name',
    change: write({ [`docs/${STRIPE}/readme.md`]: '# Readme\n' }),
  }),
  H({
    name: 'secret-in-path--base64-file-name',
    note: 'a base64url-encoded token as a file name',
    change: write({ [`prompts/${Buffer.from(NPM).toString('base64url')}.md`]: 'Be brief.\n' }),
  }),
  H({
    name: 'secret-in-path--rename-to-token',
    note: 'a rename whose new name holds a token',
    rules: ['secret-in-path'],
    change: async (repo) => {
      await repo.git('mv', 'docs/old-notes.md', `docs/${HF}.md`);
    },
  }),
  // -- benign: what the decoders look at, in ordinary code and docs
  B({
    name: 'src-string-building',
    note: 'code that concatenates and joins strings, escapes text and reverses a list: nothing decodes to a secret',
    change: write({
      'src/format.ts': [
        "export const greet = (name: string): string => 'Hello, ' + name + '!';",
        "export const slug = (parts: string[]): string => parts.join('-');",
        'export const path = (root: string, dir: string): string => `${root}/${dir}/index.md`;',
        "export const cafe = 'caf\\u00e9 cr\\u00e8me';",
        "export const backwards = (s: string): string => s.split('').reverse().join('');",
        "export const cacheKey = (id: string): string => 'key-' + id;",
        '',
      ].join('\n'),
    }),
    args: ['--type', 'capability', '--risk', '2'],
  }),
  B({
    name: 'docs-base64-image-and-hashes',
    note: 'a doc with a base64 data URI, a commit id, a sha512 integrity value and a URL-encoded query',
    change: append(
      'docs/faq.md',
      [
        '',
        '![dot](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==)',
        '',
        'Fixed in 58bbbef3a549b730a0ebef92571ebff7fe744085; the tarball has integrity',
        `sha512-${token(1040, 86, BASE64)}==.`,
        'Search with https://example.com/search?q=caf%C3%A9%20cr%C3%A8me&lang=fr.',
        '',
      ].join('\n'),
    ),
  }),
];
