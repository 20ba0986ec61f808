/**
 * The walk up the process tree (issue #8: "a command proposer that reads /proc/$PPID/environ, and walks
 * further up the process tree, finds GITHUB_TOKEN"). The command proposer runs in a process of its own
 * (__fixtures__/sandbox/propose-child.ts), started like the action's node process: with the canaries in its
 * environment (where a variable set at run time would not show: /proc/PID/environ is the environment a
 * process was started with) and a database password on its command line. hostile-walk.sh reads every
 * process it can see, its parent and each ancestor up the tree: in the sandbox of either mechanism it finds
 * none of the canaries; without one (the control) it finds them in its ancestor.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { headSha } from '../src/git/git.js';
import type { ProposerResult } from '../src/propose/types.js';
import type { SandboxMechanism } from '../src/sandbox/mechanism.js';
import type { TempRepo } from './helpers/git-repo.js';
import {
  canariesIn,
  eachMechanism,
  fixture,
  makeCanaries,
  makeTargetRepo,
  processesSeen,
  randomHex,
  sandboxTools,
  scratchDir,
  startHolder,
  type Canaries,
  type Holder,
} from './sandbox.helpers.js';

const TOOLS = await sandboxTools();
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CHILD = fileURLToPath(new URL('../__fixtures__/sandbox/propose-child.ts', import.meta.url));

let repo: TempRepo;
let base: string;
let canaries: Canaries;
let holder: Holder;
let scratch: string;

beforeAll(async () => {
  canaries = makeCanaries();
  repo = await makeTargetRepo({ 'docs/guide.md': '# Guide\n', 'README.md': 'hello\n' });
  await repo.git(
    'config',
    'http.https://github.com/.extraheader',
    `AUTHORIZATION: basic ${canaries.checkout}`,
  );
  base = await headSha(repo.dir);
  holder = await startHolder(canaries);
  scratch = await scratchDir('se-sbx-ancestor-');
});
afterAll(async () => {
  await holder?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  await repo?.cleanup();
});

/**
 * Runs the walk through the proposer in propose-child.ts, started with the canaries (and `extra`) in its
 * environment and `--database-url postgres://app:<canary>@...` on its command line; resolves with the
 * ProposerResult it printed.
 */
async function walkFromChild(
  mechanism: SandboxMechanism | 'none',
  extra: Record<string, string> = {},
): Promise<ProposerResult> {
  const job = join(scratch, `job-${randomHex(4)}.json`);
  await writeFile(
    job,
    JSON.stringify({ repoDir: repo.dir, baseSha: base, command: fixture('hostile-walk.sh'), mechanism }),
  );
  const child = spawn(
    process.execPath,
    [
      '--import',
      TSX,
      CHILD,
      job,
      '--database-url',
      `postgres://app:${canaries.ancestorArg}@db.invalid:5432/app`,
    ],
    {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        ...canaries.env,
        [canaries.parentName]: canaries.parentValue,
        SE_TARGET: repo.dir,
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`propose-child exited ${code}: ${stderr.slice(-2000)}`);
  return JSON.parse(stdout) as ProposerResult;
}

eachMechanism(TOOLS, (mechanism) => {
  it('an ancestor started with secrets in its environment and command line is out of reach', async () => {
    const result = await walkFromChild(mechanism);
    expect(result.failures.map((f) => f.error)).toEqual([]);
    const patch = result.proposals[0]!.patch;
    expect(patch).toContain('== parent');
    expect(processesSeen(patch)).toBeLessThan(15);
    expect(canariesIn(JSON.stringify(result), canaries)).toEqual([]);
  });
});

describe('without a sandbox (control)', () => {
  it('the walk up the tree finds the secrets of the ancestor', async () => {
    // Filtered to lines with a canary, so the control does not copy other processes' environments.
    const result = await walkFromChild('none', { SE_WALK_FILTER: 'SECANARY' });
    const patch = result.proposals[0]!.patch;
    expect(canariesIn(patch, canaries)).toEqual(
      expect.arrayContaining([
        canaries.parentName,
        'ancestor command line',
        'GITHUB_TOKEN',
        'OPENAI_API_KEY',
      ]),
    );
  });
});
