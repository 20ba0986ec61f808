/**
 * End to end through the CLI process (`self-evolution run ... --json`, spawned as a user runs it) against a
 * real temporary repository and a real Postgres database:
 *
 * 1. `run --request "..." --json` with a command proposer (a fake agent CLI) shows the reflection, the
 *    proposal and its provenance in the artifacts and in the database.
 * 2. CANARY: secrets planted in the environment (GITHUB_TOKEN, the password of DATABASE_URL, OPENAI_API_KEY,
 *    a custom *_SECRET) appear nowhere: not in the agent's environment (it dumps it into its change), not in
 *    any artifact, not in any table of the database, not on stdout or stderr. GitHub and the chat endpoint
 *    are local servers on 127.0.0.1; the endpoint even echoes the key it receives.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Db } from '../src/store/db.js';
import { openDatabase } from '../src/store/open.js';
import { migrate } from '../src/store/migrate.js';
import { setFlag } from '../src/store/flags.js';
import { runCli } from './helpers/cli.js';
import { createTestDatabase, testAdminUrl, type TestDatabase } from './helpers/db.js';
import { makeTempRepo } from './helpers/git-repo.js';
import { issue, startGitHubServer } from './helpers/github-server.js';
import { reply, startChatServer } from './helpers/chat-server.js';
import { visibleFixtures } from './helpers/fixtures.js';

const AGENTS = visibleFixtures('agents');
const agent = (name: string): string => `sh '${join(AGENTS, `${name}.sh`)}'`;

const CONFIG = {
  enabled: true,
  safetyRails: {
    allowedPaths: ['docs/**/*.md'],
    blockedPaths: ['.github/workflows/**', '.env*'],
    maxRiskLevel: 2,
  },
};
const GUIDE = '# Guide\n\nteh weather, teh forecast\n';

/** Every file under `dir`, recursively, as text. */
async function readTree(dir: string): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await readTree(path)));
    else if ((await stat(path)).isFile()) out.push({ path, text: await readFile(path, 'utf8') });
  }
  return out;
}

/** Every table of the public schema, every row, as JSON text. */
async function dumpDatabase(db: Db): Promise<string> {
  const tables = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  expect(tables.map((t) => t.table_name)).toEqual(
    expect.arrayContaining(['self_evolution_runs', 'self_evolution_reflections', 'self_evolution_proposals']),
  );
  const parts: string[] = [];
  for (const { table_name } of tables) {
    const rows = await db.query(`SELECT row_to_json(t)::text AS j FROM ${JSON.stringify(table_name)} t`);
    parts.push(`${table_name}:\n${rows.map((r) => (r as { j: string }).j).join('\n')}`);
  }
  return parts.join('\n');
}

describe('self-evolution run --request ... --json with an agent CLI', () => {
  let database: TestDatabase;
  let admin: Db;
  beforeAll(async () => {
    database = await createTestDatabase('e2e_request');
    admin = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
    await migrate(admin);
    await setFlag(admin, 'self_evolution_enabled', true, { by: 'test' });
  });
  afterAll(async () => {
    await admin?.close();
    await database?.drop();
  });

  it('shows the reflection, the proposal and its provenance in the artifacts and the database', async () => {
    const repo = await makeTempRepo({
      '.github/self-evolution-config.json': JSON.stringify({
        ...CONFIG,
        reflection: {
          checks: [
            { name: 'spelling', command: 'if grep -q teh docs/guide.md; then echo "typo: teh"; exit 1; fi' },
          ],
        },
        proposers: [{ kind: 'command', name: 'agent', command: agent('well-behaved'), timeoutSeconds: 60 }],
      }),
      'docs/guide.md': GUIDE,
    });
    try {
      const request = 'Fix the typos in docs/guide.md';
      const res = await runCli(
        [
          'run',
          '--repo',
          repo.dir,
          '--repository',
          'acme/e2e',
          '--no-jitter',
          '--request',
          request,
          '--json',
        ],
        { DATABASE_URL: database.url, PATH: process.env.PATH },
      );
      expect(res.code).toBe(0);
      expect(res.stdout.trim().split('\n')).toHaveLength(1);
      const out = JSON.parse(res.stdout);
      expect(out).toMatchObject({ status: 'success', repository: 'acme/e2e', request });
      expect(out.insights).toContain('1. [100] request: Request: Fix the typos in docs/guide.md');
      expect(out.insights).toContain('2. [90] check:spelling');
      expect(out.proposals).toEqual([
        expect.objectContaining({
          title: 'Fix typos in the guide',
          proposer: 'agent',
          status: 'evaluated',
          verdict: 'allowed',
          filesChanged: 1,
          patchFile: `proposal-${out.proposals[0].id}.patch`,
          provenanceFile: `proposal-${out.proposals[0].id}.provenance.json`,
        }),
      ]);
      const dir: string = out.artifactsDir;
      const id: number = out.proposals[0].id;

      // Artifacts: the reflection with its goals, commands.jsonl, the patch and the full provenance.
      const reflection = JSON.parse(await readFile(join(dir, 'reflection.json'), 'utf8'));
      expect(reflection.signals.request).toBe(request);
      expect(reflection.signals.goals.map((g: { id: string }) => g.id)).toEqual([
        'request',
        'check:spelling',
      ]);
      expect(reflection.signals.checks[0]).toMatchObject({
        name: 'spelling',
        passed: false,
        outputTail: 'typo: teh\n',
      });
      const commands = (await readFile(join(dir, 'commands.jsonl'), 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(commands.map((c) => [c.kind, c.name, c.exitCode])).toEqual([
        ['check', 'spelling', 1],
        ['proposer', 'agent', 0],
      ]);
      expect(await readFile(join(dir, `proposal-${id}.patch`), 'utf8')).toContain(
        '+the weather, the forecast',
      );
      const provenance = JSON.parse(await readFile(join(dir, `proposal-${id}.provenance.json`), 'utf8'));
      expect(provenance).toMatchObject({
        proposer: 'command',
        name: 'agent',
        exitCode: 0,
        signalsAddressed: ['request', 'check:spelling'],
        proposalJson: expect.stringContaining('Fix typos in the guide'),
      });
      expect(provenance.prompt).toContain(`<<<REQUEST "request#1"`);
      expect(provenance.prompt).toContain(request);
      const digest = createHash('sha256').update(provenance.prompt, 'utf8').digest('hex');
      expect(provenance.promptSha256).toBe(digest);

      // Database: the same reflection (text + signals with goals) and the proposal with the prompt's digest only.
      const [refl] = await admin.query<{
        insights: string;
        signals: { request: string; goals: { id: string }[] };
      }>('SELECT insights, signals FROM self_evolution_reflections WHERE run_id = $1', [out.runId]);
      expect(refl!.insights).toBe(out.insights);
      expect(refl!.signals.request).toBe(request);
      expect(refl!.signals.goals.map((g) => g.id)).toEqual(['request', 'check:spelling']);
      const [row] = await admin.query<{
        title: string;
        verdict: string;
        patch: string;
        provenance: Record<string, unknown>;
      }>('SELECT title, verdict, patch, provenance FROM self_evolution_proposals WHERE id = $1', [id]);
      expect(row).toMatchObject({ title: 'Fix typos in the guide', verdict: 'allowed' });
      expect(row!.provenance).toMatchObject({
        promptSha256: digest,
        signalsAddressed: ['request', 'check:spelling'],
      });
      expect(row!.provenance).not.toHaveProperty('prompt');
      const [run] = await admin.query<{ metrics: { request: string; goals: number; commands: number } }>(
        'SELECT metrics FROM self_evolution_runs WHERE id = $1',
        [out.runId],
      );
      expect(run!.metrics).toMatchObject({ request, goals: 2, commands: 2 });

      // Dry run: the target's checkout is as it was.
      expect(await readFile(join(repo.dir, 'docs/guide.md'), 'utf8')).toBe(GUIDE);
      expect(await repo.git('status', '--porcelain')).toBe('');
    } finally {
      await repo.cleanup();
    }
  });
});

describe('CANARY: planted secrets appear nowhere the run writes', () => {
  const CANARY = {
    GITHUB_TOKEN: `ghs_CANARY${randomBytes(12).toString('hex')}`,
    OPENAI_API_KEY: `sk-CANARY-${randomBytes(12).toString('hex')}`,
    MY_SERVICE_SECRET: `CANARY-custom-${randomBytes(8).toString('hex')}`,
    DB_PASSWORD: `CANARY-db-${randomBytes(8).toString('hex')}`,
  };
  const role = `se_canary_${randomBytes(4).toString('hex')}`;
  let database: TestDatabase;
  let canaryUrl: string;
  let admin: Db;

  beforeAll(async () => {
    database = await createTestDatabase('e2e_canary');
    // A role whose password is a canary, owning the test database: DATABASE_URL carries the canary.
    const root = new pg.Client({ connectionString: testAdminUrl() });
    await root.connect();
    try {
      await root.query(`CREATE ROLE ${role} LOGIN PASSWORD '${CANARY.DB_PASSWORD}'`);
      await root.query(`ALTER DATABASE ${JSON.stringify(database.name)} OWNER TO ${role}`);
    } finally {
      await root.end();
    }
    const url = new URL(database.url);
    url.username = role;
    url.password = CANARY.DB_PASSWORD;
    canaryUrl = url.toString();
    // The CLI migrates as that role (so it owns the tables); the superuser connection only reads.
    admin = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
  });
  afterAll(async () => {
    await admin?.close();
    await database?.drop();
    const root = new pg.Client({ connectionString: testAdminUrl() });
    await root.connect();
    await root.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await root.end();
  });

  it('searches the artifacts, every table, stdout and stderr, and the agent environment', async () => {
    const github = await startGitHubServer();
    github.issues = [issue(3, 'Document the setup', 'Please write down how to install.\n')];
    const chat = await startChatServer();
    // The endpoint echoes the key it received, in the title and the description (a worst case).
    chat.setFallback((req) => {
      const key = String(req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
      return reply.json({
        title: `Install notes (${key})`,
        description: `Made with key ${key}`,
        type: 'cleanup',
        risk: 0,
        effort: 1,
        diff: `diff --git a/docs/guide.md b/docs/guide.md\n--- a/docs/guide.md\n+++ b/docs/guide.md\n@@ -1,3 +1,4 @@\n # Guide\n \n teh weather, teh forecast\n+Install with npm.\n`,
      });
    });
    const repo = await makeTempRepo({
      '.github/self-evolution-config.json': JSON.stringify({
        ...CONFIG,
        reflection: {
          checks: [{ name: 'env', command: 'env; echo "token=$GITHUB_TOKEN key=$OPENAI_API_KEY"; exit 1' }],
        },
        proposers: [
          { kind: 'command', name: 'leaky-agent', command: agent('print-secrets') },
          {
            kind: 'command',
            name: 'echo-agent',
            command: `echo "$GITHUB_TOKEN $OPENAI_API_KEY $MY_SERVICE_SECRET" >> docs/guide.md`,
          },
          {
            kind: 'openai',
            name: 'llm',
            baseURL: chat.baseURL,
            model: 'm',
            apiKeyEnv: 'OPENAI_API_KEY',
            maxRetries: 0,
          },
          { kind: 'command', name: 'good-agent', command: agent('well-behaved') },
        ],
      }),
      'docs/guide.md': GUIDE,
    });
    try {
      const env = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: canaryUrl,
        GITHUB_TOKEN: CANARY.GITHUB_TOKEN,
        GITHUB_API_URL: github.url,
        OPENAI_API_KEY: CANARY.OPENAI_API_KEY,
        MY_SERVICE_SECRET: CANARY.MY_SERVICE_SECRET,
      };
      const flag = await runCli(
        ['flag', 'set', 'self_evolution_enabled', 'true', '--repo', repo.dir, '--repository', 'acme/canary'],
        env,
      );
      expect(flag.code).toBe(0);
      const res = await runCli(
        [
          'run',
          '--repo',
          repo.dir,
          '--repository',
          'acme/canary',
          '--no-jitter',
          '--request',
          'Document the setup',
          '--json',
        ],
        env,
      );
      expect(res.code).toBe(0);
      const out = JSON.parse(res.stdout);
      expect(out.status).toBe('success');

      // The run really used every secret: GitHub with the token, the endpoint with the key, the database.
      expect(github.requests.length).toBeGreaterThan(0);
      expect(github.requests.every((r) => r.headers.authorization === `token ${CANARY.GITHUB_TOKEN}`)).toBe(
        true,
      );
      expect(chat.requests[0]!.headers.authorization).toBe(`Bearer ${CANARY.OPENAI_API_KEY}`);
      expect(out.proposals.map((p: { proposer: string; status: string }) => [p.proposer, p.status])).toEqual([
        ['leaky-agent', 'evaluated'],
        ['echo-agent', 'evaluated'],
        ['llm', 'failed'],
        ['good-agent', 'evaluated'],
      ]);
      // The key the endpoint echoed made the openai proposal one that is not recorded.
      expect(out.proposals[2].blockedReasons[0]).toMatch(/contains the value of a secret/);

      // The agent's environment, as it dumped it into its change: none of the secrets, none of their names.
      const envDump = await readFile(join(out.artifactsDir, out.proposals[0].patchFile), 'utf8');
      expect(envDump).toContain('SELF_EVOLUTION_PROMPT_FILE=');
      for (const name of ['GITHUB_TOKEN', 'DATABASE_URL', 'OPENAI_API_KEY', 'MY_SERVICE_SECRET']) {
        expect(envDump).not.toMatch(new RegExp(`^\\+ {4}${name}=`, 'm'));
      }

      const written = [
        { where: 'stdout', text: res.stdout + flag.stdout },
        { where: 'stderr', text: res.stderr + flag.stderr },
        { where: 'database', text: await dumpDatabase(admin) },
        ...(await readTree(join(repo.dir, '.self-evolution'))).map((f) => ({ where: f.path, text: f.text })),
      ];
      expect(written.some((w) => w.where.endsWith('commands.jsonl'))).toBe(true);
      expect(written.some((w) => w.where.endsWith('.provenance.json'))).toBe(true);
      expect(written.some((w) => w.where.endsWith('reflection.json'))).toBe(true);
      const leaks: string[] = [];
      for (const w of written) {
        for (const [name, value] of [...Object.entries(CANARY), ['DATABASE_URL', canaryUrl]]) {
          if (w.text.includes(value!)) leaks.push(`${name} in ${w.where}`);
        }
      }
      expect(leaks).toEqual([]);
      // And the masking is visible where the secrets were printed.
      expect(written.find((w) => w.where.endsWith('commands.jsonl'))!.text).toContain('token= key=');
    } finally {
      await github.close();
      await chat.close();
      await repo.cleanup();
    }
  });
});
