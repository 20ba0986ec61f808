import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CommandProposerSchema,
  OpenAIProposerSchema,
  type CommandProposerConfig,
} from '../src/config/schema.js';
import { applyPatch, addWorktree, diffFacts, headSha } from '../src/git/git.js';
import { createCommandProposer } from '../src/propose/command.js';
import { createProposers } from '../src/propose/index.js';
import { OUTPUT_TAIL_BYTES, runCommand, scrubEnv } from '../src/sandbox/runner.js';
import type { ProposerContext } from '../src/propose/types.js';
import { makeTempRepo, type TempRepo } from './helpers/git-repo.js';
import { recordingLogger } from './helpers/logger.js';

/** Processes of process group `pgid` that are still running (zombies, which hold no resources, excluded). Linux /proc. */
async function liveGroupMembers(pgid: number): Promise<number[]> {
  const alive: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...; comm may contain spaces, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') alive.push(Number(entry));
  }
  return alive;
}

const cfg = (input: Partial<CommandProposerConfig> & { command: string }): CommandProposerConfig =>
  CommandProposerSchema.parse({ kind: 'command', ...input });

let repo: TempRepo;
let base: string;
let scratch: string;
let logger: ReturnType<typeof recordingLogger>;

const ctx = (extra: Partial<ProposerContext> = {}): ProposerContext => ({
  repoDir: repo.dir,
  baseSha: base,
  reflection: {
    insights: '',
    signals: { git: { recentCommits: [], reverts: [], mostChangedFiles: [], windowDays: 30 } },
  },
  logger,
  ...extra,
});

async function worktreeCount(): Promise<number> {
  return (await repo.git('worktree', 'list', '--porcelain'))
    .split('\n')
    .filter((l) => l.startsWith('worktree ')).length;
}

beforeAll(async () => {
  repo = await makeTempRepo({
    'docs/guide.md': '# Guide\n\nteh weather, teh forecast\n',
    'README.md': 'hello\n',
  });
  base = await headSha(repo.dir);
  scratch = await mkdtemp(join(tmpdir(), 'se-cmd-test-'));
});
afterAll(async () => {
  await repo.cleanup();
  await rm(scratch, { recursive: true, force: true });
});
beforeEach(() => {
  logger = recordingLogger();
});
afterEach(async () => {
  // Every proposer run leaves the target as it was: only the main worktree, nothing changed.
  expect(await worktreeCount()).toBe(1);
  expect(await repo.git('status', '--porcelain')).toBe('');
  expect(await headSha(repo.dir)).toBe(base);
});

describe('command proposer', () => {
  it('proposes what a formatter-like command changed, with facts from git', async () => {
    const proposer = createCommandProposer(
      cfg({ name: 'typos', command: "sed -i 's/teh/the/g' docs/guide.md", type: 'cleanup', riskLevel: 0 }),
    );
    expect(proposer.kind).toBe('command');
    expect(proposer.name).toBe('typos');
    const result = await proposer.propose(ctx());
    expect(result.failures).toEqual([]);
    expect(result.proposals).toHaveLength(1);
    const p = result.proposals[0]!;
    expect(p.title).toBe("typos: changes from `sed -i 's/teh/the/g' docs/guide.md`");
    expect(p).toMatchObject({ type: 'cleanup', riskLevel: 0, effort: 1, baseSha: base });
    expect(p.facts.files).toEqual([
      {
        path: 'docs/guide.md',
        status: 'modified',
        oldMode: '100644',
        newMode: '100644',
        binary: false,
        linesAdded: 1,
        linesDeleted: 1,
        bytesAdded: 26,
      },
    ]);
    expect(p.patch).toContain('+the weather, the forecast');
    expect(p.patch).toContain('-teh weather, teh forecast');
    expect(p.provenance).toMatchObject({
      proposer: 'command',
      name: 'typos',
      command: "sed -i 's/teh/the/g' docs/guide.md",
      exitCode: 0,
      timedOut: false,
    });
    expect(p.provenance.durationMs).toBeGreaterThanOrEqual(0);
    // The target's own checkout is untouched.
    expect(await readFile(join(repo.dir, 'docs/guide.md'), 'utf8')).toContain('teh weather');
    // The patch applies to the base commit.
    const wt = await addWorktree(repo.dir, base);
    try {
      await applyPatch(wt.dir, p.patch);
      expect((await diffFacts(wt.dir)).files.map((f) => f.path)).toEqual(['docs/guide.md']);
    } finally {
      await wt.remove();
    }
  });

  it('reports a failing command as a FailedProposal with the exit code and the stderr tail', async () => {
    const result = await createCommandProposer(
      cfg({ command: 'echo partial > README.md; echo "lint exploded" >&2; exit 3' }),
    ).propose(ctx());
    expect(result.proposals).toEqual([]);
    expect(result.failures).toHaveLength(1);
    const f = result.failures[0]!;
    expect(f.error).toMatch(/exited with code 3: lint exploded/);
    expect(f.provenance).toMatchObject({ proposer: 'command', exitCode: 3, timedOut: false });
    expect(f.provenance.stderrTail).toContain('lint exploded');
  });

  it('kills a hanging command and its whole process group at the timeout', async () => {
    const pidFile = join(scratch, 'hang.pid');
    // The second background job ignores SIGTERM, so only the SIGKILL that follows can end it.
    const command = `echo $$ > '${pidFile}'; sleep 1000 & (trap '' TERM; sleep 1000) & sleep 1000`;
    const result = await createCommandProposer(cfg({ name: 'hang', command, timeoutSeconds: 1 })).propose(
      ctx(),
    );
    expect(result.proposals).toEqual([]);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]!.error).toBe(`command \`${command}\` timed out after 1 s`);
    expect(result.failures[0]!.provenance).toMatchObject({ timedOut: true, exitCode: null });
    const pgid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(pgid).toBeGreaterThan(1);
    expect(await liveGroupMembers(pgid)).toEqual([]);
  });

  it('lets proposal.json override title, description, type, risk and effort', async () => {
    const meta = { title: 'Fix typos', description: 'teh -> the', type: 'prompt', riskLevel: 0, effort: 2 };
    const command =
      `sed -i 's/teh/the/' docs/guide.md && ` +
      `printf '%s' '${JSON.stringify(meta)}' > "$SELF_EVOLUTION_PROPOSAL_FILE"`;
    const result = await createCommandProposer(cfg({ command, title: 'configured', riskLevel: 2 })).propose(
      ctx(),
    );
    expect(result.failures).toEqual([]);
    expect(result.proposals).toHaveLength(1);
    expect(result.proposals[0]).toMatchObject(meta);
    // proposal.json lives outside the worktree: it is not part of the change.
    expect(result.proposals[0]!.facts.files.map((f) => f.path)).toEqual(['docs/guide.md']);
  });

  it('uses the configured title and type when no proposal.json is written', async () => {
    const result = await createCommandProposer(
      cfg({
        command: 'echo more >> README.md',
        title: 'Grow the readme',
        description: 'why',
        type: 'persona',
      }),
    ).propose(ctx());
    expect(result.proposals[0]).toMatchObject({
      title: 'Grow the readme',
      description: 'why',
      type: 'persona',
    });
  });

  it.each([
    ['{"title": "x", "riskLevel": 9}', /proposal\.json .*invalid: riskLevel: /],
    ['{"title": "x", "risk": 1}', /proposal\.json .*invalid: .*risk/],
    ['{"type": "refactor"}', /proposal\.json .*invalid: type: /],
    ['not json', /proposal\.json .*not valid JSON/],
  ])('rejects an invalid proposal.json %s', async (content, pattern) => {
    const command = `echo more >> README.md; printf '%s' '${content}' > "$SELF_EVOLUTION_PROPOSAL_FILE"`;
    const result = await createCommandProposer(cfg({ command })).propose(ctx());
    expect(result.proposals).toEqual([]);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]!.error).toMatch(pattern);
  });

  it('hides tokens, database URLs and action inputs from the command', async () => {
    const envFile = join(scratch, 'env.txt');
    const saved = { GITHUB_TOKEN: process.env.GITHUB_TOKEN, DATABASE_URL: process.env.DATABASE_URL };
    process.env.GITHUB_TOKEN = 'ghs_processEnvToken123';
    process.env.DATABASE_URL = 'postgres://user:pw-process@db.example/se';
    try {
      const result = await createCommandProposer(
        cfg({ command: `env > '${envFile}'; pwd >> '${envFile}'; echo "$GITHUB_TOKEN"` }),
      ).propose(ctx({ request: 'tidy the docs' }));
      expect(result.proposals).toEqual([]);
      expect(result.failures.map((f) => f.error)).toEqual([
        expect.stringMatching(/^no change: .* exited 0 but left the worktree unchanged$/),
      ]);
      expect(JSON.stringify(result)).not.toContain('ghs_processEnvToken123');
      const env = await readFile(envFile, 'utf8');
      expect(env).not.toMatch(/^GITHUB_TOKEN=/m);
      expect(env).not.toMatch(/^DATABASE_URL=/m);
      expect(env).not.toContain('ghs_processEnvToken123');
      expect(env).not.toContain('pw-process');
      expect(env).toMatch(/^SELF_EVOLUTION_GOAL=tidy the docs$/m);
      const proposalFile = /^SELF_EVOLUTION_PROPOSAL_FILE=(.*)$/m.exec(env)![1]!;
      const cwd = env.trimEnd().split('\n').pop()!;
      expect(proposalFile.startsWith('/')).toBe(true);
      expect(proposalFile.startsWith(cwd)).toBe(false);
      expect(cwd.startsWith(repo.dir)).toBe(false);
      expect(logger.lines).toContainEqual(expect.stringMatching(/no change/));
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('scrubs an injected environment, keeping passEnv names and masking secrets in tails', async () => {
    const envFile = join(scratch, 'env2.txt');
    const result = await createCommandProposer(
      cfg({ command: `env > '${envFile}'; echo more >> README.md; echo "leak: gho_injected"` }),
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          GH_TOKEN: 'gho_injected',
          INPUT_GITHUB_TOKEN: 'ghs_input',
          OPENAI_API_KEY: 'sk-allowed',
          AWS_SECRET_ACCESS_KEY: 'aws-secret',
          REDIS_URL: 'redis://u:redispass@r/0',
          ACTIONS_RUNTIME_TOKEN: 'rt',
          PLAIN: 'visible',
          GIT_DIR: '/elsewhere/.git',
        },
        passEnv: ['OPENAI_API_KEY'],
      },
    ).propose(ctx());
    expect(result.failures).toEqual([]);
    expect(result.proposals[0]!.provenance.stdoutTail).toBe('leak: ***\n');
    const env = await readFile(envFile, 'utf8');
    expect(env).toMatch(/^PLAIN=visible$/m);
    expect(env).toMatch(/^OPENAI_API_KEY=sk-allowed$/m);
    for (const name of [
      'GH_TOKEN',
      'INPUT_GITHUB_TOKEN',
      'AWS_SECRET_ACCESS_KEY',
      'REDIS_URL',
      'ACTIONS_RUNTIME_TOKEN',
      'GIT_DIR',
    ]) {
      expect(env).not.toMatch(new RegExp(`^${name}=`, 'm'));
    }
  });

  it('records a command that changed nothing as a failure "no change"', async () => {
    const result = await createCommandProposer(cfg({ name: 'noop', command: 'true' })).propose(ctx());
    expect(result.proposals).toEqual([]);
    expect(result.failures).toEqual([
      expect.objectContaining({
        title: 'noop: no change',
        error: 'no change: `true` exited 0 but left the worktree unchanged',
      }),
    ]);
    expect(logger.lines).toContain(
      'warn proposer noop: no change: `true` exited 0 but left the worktree unchanged',
    );
  });

  it('ignores files the repository ignores, and folds commits made by the command into the change', async () => {
    const command =
      'echo "*.log" > .gitignore && git add .gitignore && git commit -q -m ignore && echo x > debug.log && echo y >> README.md';
    const result = await createCommandProposer(cfg({ command })).propose(ctx());
    expect(result.failures).toEqual([]);
    expect(result.proposals).toHaveLength(1);
    expect(result.proposals[0]!.facts.files.map((f) => [f.path, f.status])).toEqual([
      ['.gitignore', 'added'],
      ['README.md', 'modified'],
    ]);
    expect(result.proposals[0]!.baseSha).toBe(base);
  });

  it('turns a bad base commit into a FailedProposal instead of throwing', async () => {
    const result = await createCommandProposer(cfg({ command: 'true' })).propose(
      ctx({ baseSha: '0'.repeat(40) }),
    );
    expect(result.proposals).toEqual([]);
    expect(result.failures[0]!.error).toMatch(/proposer error: git rev-parse failed in .*: fatal/);
  });
});

describe('createProposers', () => {
  it('builds one proposer per config entry, in order', () => {
    const proposers = createProposers(
      [
        cfg({ command: 'true' }),
        { kind: 'file', directory: 'proposals' },
        { kind: 'file', name: 'named', directory: 'p2' },
        OpenAIProposerSchema.parse({ kind: 'openai', baseURL: 'http://127.0.0.1:9/v1', model: 'm' }),
      ],
      {
        env: {},
        policy: {
          allowedPaths: ['docs/**'],
          blockedPaths: [],
          maxFilesChanged: 10,
          maxLinesOfCode: 500,
          maxRiskLevel: 2,
          allowedChangeTypes: ['cleanup'],
        },
      },
    );
    expect(proposers.map((p) => [p.kind, p.name])).toEqual([
      ['command', 'true'],
      ['file', 'file:proposals'],
      ['file', 'named'],
      ['openai', 'openai:m'],
    ]);
  });
});

describe('runCommand', () => {
  it('keeps only the last 4 KiB of each stream', async () => {
    const r = await runCommand(
      `i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo END >&2`,
      {
        cwd: scratch,
        timeoutMs: 60_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      },
    );
    expect(r).toMatchObject({ exitCode: 0, signal: null, timedOut: false, stderrTail: 'END\n' });
    expect(Buffer.byteLength(r.stdoutTail)).toBeLessThanOrEqual(OUTPUT_TAIL_BYTES);
    expect(Buffer.byteLength(r.stdoutTail)).toBeGreaterThan(OUTPUT_TAIL_BYTES - 20);
    expect(r.stdoutTail.endsWith('line 1999\n')).toBe(true);
    expect(r.stdoutTail).not.toContain('line 1000\n');
  });

  it('ends background processes the command left behind', async () => {
    const pidFile = join(scratch, 'bg.pid');
    const r = await runCommand(`echo $$ > '${pidFile}'; sleep 1000 >/dev/null 2>&1 & echo started`, {
      cwd: scratch,
      timeoutMs: 60_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    expect(r).toMatchObject({ exitCode: 0, timedOut: false, stdoutTail: 'started\n' });
    expect(await liveGroupMembers(Number((await readFile(pidFile, 'utf8')).trim()))).toEqual([]);
  });

  it('never throws, also when the directory does not exist', async () => {
    const r = await runCommand('true', { cwd: join(scratch, 'missing'), timeoutMs: 1000, env: {} });
    expect(r.exitCode).toBeNull();
    expect(r.stderrTail).toMatch(/cannot start \/bin\/sh/);
  });
});

describe('scrubEnv', () => {
  it('never passes on a variable that points git elsewhere, even when passEnv names it', () => {
    const env = {
      PATH: '/bin',
      GIT_DIR: '/target/.git',
      GIT_OBJECT_DIRECTORY: '/x',
      GIT_CONFIG_PARAMETERS: "'core.fsmonitor'='evil'",
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'core.hooksPath',
      GIT_CONFIG_VALUE_0: '/tmp/hooks',
      GIT_AUTHOR_NAME: 'kept',
    };
    expect(scrubEnv(env, Object.keys(env))).toEqual({ PATH: '/bin', GIT_AUTHOR_NAME: 'kept' });
  });
  it('removes secrets by name and URL passwords by value, keeps the rest and passEnv', () => {
    const env = {
      PATH: '/bin',
      GITHUB_TOKEN: 'a',
      GH_TOKEN: 'b',
      DATABASE_URL: 'postgres://localhost/db',
      INPUT_DRY_RUN: 'true',
      input_lower: 'x',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'c',
      ACTIONS_RESULTS_URL: 'https://results',
      NPM_TOKEN: 'd',
      my_secret_thing: 'e',
      PGPASSWORD: 'f',
      STRIPE_API_KEY: 'g',
      SSH_PRIVATE_KEY: 'h',
      PROXY: 'http://u:pw@proxy:3128',
      HOME: '/home/x',
      UNDEF: undefined,
    };
    expect(scrubEnv(env)).toEqual({ PATH: '/bin', HOME: '/home/x' });
    expect(scrubEnv(env, ['NPM_TOKEN', 'PROXY'])).toEqual({
      PATH: '/bin',
      HOME: '/home/x',
      NPM_TOKEN: 'd',
      PROXY: 'http://u:pw@proxy:3128',
    });
    expect(env.GITHUB_TOKEN).toBe('a');
  });
});
