/**
 * Choosing the sandbox mechanism (issue #8): chooseSandbox('auto') takes bubblewrap where it works, else
 * unshare; with neither (PATH without them, or a bwrap that cannot make namespaces) the choice is
 * 'unavailable' with a message naming each and the fix. A run whose commands cannot be sandboxed fails with
 * that message before any of them runs; with config `"sandbox": "none"` it runs them bare and says so (the
 * runs.sandbox column, the report, the job summary).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOnce, type RunDeps } from '../src/run.js';
import { openDatabase } from '../src/store/open.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { setFlag } from '../src/store/flags.js';
import { createRunLogger } from '../src/report/logger.js';
import { renderRunText, renderSummaryMarkdown } from '../src/report/summary.js';
import {
  chooseSandbox,
  probeMechanism,
  resetSandboxProbes,
  type SandboxChoice,
  type SandboxMode,
} from '../src/sandbox/mechanism.js';
import { createTestDatabase } from './helpers/db.js';
import type { TempRepo } from './helpers/git-repo.js';
import { fixedRandom, recordingSleep, steppingClock, testOptions } from './helpers/run-deps.js';
import { makeTargetRepo, scratchDir } from './sandbox.helpers.js';

const DAY = new Date('2026-11-22T02:05:00Z');
/** Programs the unshare mechanism's setup script runs (besides /bin/sh), for a PATH without bwrap. */
const UNSHARE_NEEDS = [
  'unshare',
  'mount',
  'umount',
  'awk',
  'sort',
  'mkdir',
  'pivot_root',
  'rmdir',
  'ip',
  'setpriv',
];
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

let scratch: string;
const realPath = process.env.PATH;

/** How a command proposer's command was isolated, from its provenance (CommandProvenance.sandbox). */
const sandboxOf = (provenance: object): unknown => (provenance as { sandbox?: unknown }).sandbox;

/** Absolute path of `name` on the system PATH, or undefined. */
function systemProgram(name: string): string | undefined {
  for (const dir of SYSTEM_PATH.split(':')) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

/** A directory holding links to `names` (system programs), for PATH. */
async function pathWith(label: string, names: readonly string[]): Promise<string> {
  const dir = join(scratch, label);
  await mkdir(dir);
  for (const n of names) {
    const p = systemProgram(n);
    if (p) await symlink(p, join(dir, n));
  }
  return dir;
}

/** chooseSandbox(mode) with PATH set to `path`, probing afresh (the probes are cached per process). */
async function chooseWithPath(mode: SandboxMode, path: string): Promise<SandboxChoice> {
  resetSandboxProbes();
  process.env.PATH = path;
  try {
    return await chooseSandbox(mode);
  } finally {
    process.env.PATH = realPath;
    resetSandboxProbes();
  }
}

beforeAll(async () => {
  scratch = await scratchDir('se-sbx-mech-');
});
afterAll(async () => {
  process.env.PATH = realPath;
  resetSandboxProbes();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('chooseSandbox', () => {
  it("'auto' picks bubblewrap where it is installed and works", async () => {
    resetSandboxProbes();
    const bwrap = systemProgram('bwrap');
    const choice = await chooseSandbox('auto');
    if (bwrap === undefined) {
      console.warn('bwrap is not installed here: auto cannot pick it');
      expect(choice.mode).not.toBe('bwrap');
      return;
    }
    expect(choice).toEqual({ mode: 'bwrap', tool: { mechanism: 'bwrap', program: bwrap } });
    expect(await probeMechanism('bwrap')).toEqual({
      mechanism: 'bwrap',
      tool: { mechanism: 'bwrap', program: bwrap },
    });
  });

  it("'auto' falls back to unshare when bwrap is not on PATH", async () => {
    const dir = await pathWith('unshare-only', UNSHARE_NEEDS);
    const choice = await chooseWithPath('auto', dir);
    expect(choice).toEqual({
      mode: 'unshare',
      tool: expect.objectContaining({ mechanism: 'unshare', program: join(dir, 'unshare') }),
    });
  });

  it('is unavailable, naming both and the fix, when PATH has neither', async () => {
    const choice = await chooseWithPath('auto', await pathWith('empty', []));
    expect(choice.mode).toBe('unavailable');
    const message = (choice as { message: string }).message;
    expect(message).toContain('bwrap: bwrap is not installed (not found on PATH)');
    expect(message).toContain('unshare: unshare is not installed (not found on PATH)');
    expect(message).toContain('apt-get install -y bubblewrap');
    expect(message).toContain('"sandbox": "none"');
  });

  it('is unavailable when the mode asks for a mechanism whose program is missing', async () => {
    const choice = await chooseWithPath('bwrap', await pathWith('no-bwrap', UNSHARE_NEEDS));
    expect(choice.mode).toBe('unavailable');
    const message = (choice as { message: string }).message;
    expect(message).toContain('bwrap: bwrap is not installed (not found on PATH)');
    expect(message).not.toContain('unshare:');
    expect(message).toContain('apt-get install -y bubblewrap');
    expect(message).toContain('"sandbox": "none"');
  });

  it('is unavailable with the program’s own reason when bwrap cannot make its namespaces', async () => {
    const dir = join(scratch, 'refusing-bwrap');
    await mkdir(dir);
    await writeFile(
      join(dir, 'bwrap'),
      '#!/bin/sh\necho "bwrap: setting up uid map: Permission denied" >&2\nexit 1\n',
    );
    await chmod(join(dir, 'bwrap'), 0o755);
    const choice = await chooseWithPath('auto', dir);
    expect(choice.mode).toBe('unavailable');
    expect((choice as { message: string }).message).toContain(
      'bwrap: bwrap: setting up uid map: Permission denied',
    );
  });

  it("'none' is no sandbox, without probing", async () => {
    resetSandboxProbes();
    expect(await chooseSandbox('none')).toEqual({ mode: 'none' });
  });
});

describe('a run and its sandbox', () => {
  let database: { url: string; drop(): Promise<void> };
  let admin: Db;

  beforeAll(async () => {
    database = await createTestDatabase('sandbox_mechanism');
    admin = await openDatabase({ databaseUrl: database.url, embeddedDir: '' });
    await migrate(admin);
  });
  afterAll(async () => {
    await admin?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    await admin.query('TRUNCATE self_evolution_runs, feature_flags RESTART IDENTITY CASCADE');
    await setFlag(admin, 'self_evolution_enabled', true, { by: 'test' });
  });

  let repo: TempRepo | undefined;
  afterEach(async () => {
    await repo?.cleanup();
    repo = undefined;
  });

  /** A repository whose config has a command proposer and a check, each touching a marker file when run. */
  async function repoWith(sandbox: unknown, markers: { proposer: string; check: string }): Promise<TempRepo> {
    const config = {
      enabled: true,
      safetyRails: {
        allowedPaths: ['docs/**/*.md'],
        blockedPaths: ['.github/workflows/**'],
        maxRiskLevel: 2,
      },
      reflection: { checks: [{ name: 'mark', command: `touch '${markers.check}'` }] },
      proposers: [
        {
          kind: 'command',
          name: 'typos',
          command: `touch '${markers.proposer}'; sed -i 's/teh/the/g' docs/guide.md`,
        },
      ],
      ...(sandbox === undefined ? {} : { sandbox }),
    };
    return makeTargetRepo({
      '.github/self-evolution-config.json': JSON.stringify(config, null, 2),
      'docs/guide.md': '# Guide\n\nteh weather, teh forecast\n',
    });
  }

  /** Deps whose chooseSandbox records the modes asked and answers `answer`. */
  function deps(answer: SandboxChoice): RunDeps & { messages: string[]; asked: SandboxMode[] } {
    const clock = steppingClock(DAY);
    const messages: string[] = [];
    const asked: SandboxMode[] = [];
    const logger = createRunLogger({
      secrets: [],
      clock,
      sink: (level, m) => messages.push(`${level}: ${m}`),
    });
    return {
      clock,
      random: fixedRandom(0.5),
      sleep: recordingSleep(),
      logger,
      openDb: openDatabase,
      chooseSandbox: async (mode) => {
        asked.push(mode);
        return answer;
      },
      messages,
      asked,
    };
  }

  const options = (r: TempRepo) =>
    testOptions(r.dir, {
      databaseUrl: database.url,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      artifactsRoot: join(scratch, `artifacts-${Date.now()}-${Math.random()}`),
    });

  const markers = (label: string) => ({
    proposer: join(scratch, `${label}-proposer-ran`),
    check: join(scratch, `${label}-check-ran`),
  });

  it('fails with the reason and the fix before any command runs when no mechanism works', async () => {
    const unavailable = await chooseWithPath('auto', await pathWith('run-empty', []));
    expect(unavailable.mode).toBe('unavailable');
    const message = (unavailable as { message: string }).message;
    const m = markers('refused');
    repo = await repoWith(undefined, m);
    const d = deps(unavailable);
    const report = await runOnce(options(repo), d);

    expect(d.asked).toEqual(['auto']);
    expect(report.status).toBe('failed');
    expect(report.error).toBe(message);
    expect(report.sandbox).toBeNull();
    expect(existsSync(m.proposer)).toBe(false);
    expect(existsSync(m.check)).toBe(false);
    expect(report.proposals).toEqual([]);
    const [row] = await admin.query<{ status: string; error: string; sandbox: string | null }>(
      'SELECT status, error, sandbox FROM self_evolution_runs',
    );
    expect(row).toEqual({ status: 'failed', error: message, sandbox: null });
    expect(renderSummaryMarkdown(report)).toContain('apt-get install -y bubblewrap');
    expect(d.messages).toContain(`error: run failed: ${message}`);
  });

  it('with "sandbox": "none" runs the commands bare, and says so in the database, report and summary', async () => {
    const m = markers('none');
    repo = await repoWith('none', m);
    const d = deps({ mode: 'unavailable', message: 'must not be asked' });
    const report = await runOnce(options(repo), d);

    expect(d.asked).toEqual([]);
    expect(report.error).toBeNull();
    expect(report.status).toBe('success');
    expect(report.sandbox).toBe('none');
    expect(existsSync(m.proposer)).toBe(true);
    expect(existsSync(m.check)).toBe(true);
    expect(report.proposals.map((p) => [p.proposer, p.verdict, sandboxOf(p.provenance)])).toEqual([
      ['typos', 'allowed', 'none'],
    ]);
    const [row] = await admin.query<{ sandbox: string | null }>('SELECT sandbox FROM self_evolution_runs');
    expect(row!.sandbox).toBe('none');
    expect(renderSummaryMarkdown(report)).toContain('**sandbox: none**');
    expect(renderRunText(report)).toContain('sandbox: none');
    expect(d.messages.some((l) => l.startsWith('warn: sandbox: none'))).toBe(true);
  });

  it('records the mechanism chosen for a config without a sandbox key (default auto)', async () => {
    const m = markers('auto');
    repo = await repoWith(undefined, m);
    resetSandboxProbes();
    const real = await chooseSandbox('auto');
    if (real.mode === 'unavailable' || real.mode === 'none')
      throw new Error(`no mechanism here: ${real.mode}`);
    const d = deps(real);
    const report = await runOnce(options(repo), d);
    expect(d.asked).toEqual(['auto']);
    expect(report.status).toBe('success');
    expect(report.sandbox).toBe(real.mode);
    expect(sandboxOf(report.proposals[0]!.provenance)).toBe(real.mode);
    expect(renderSummaryMarkdown(report)).toContain(
      `sandbox: ${real.mode} (the repository's commands ran isolated)`,
    );
    // The markers are outside the commands' work trees: in the sandbox they could not write them.
    expect(existsSync(m.proposer)).toBe(false);
    expect(existsSync(m.check)).toBe(false);
  });
});
