/**
 * The rails corpus (__fixtures__/rails/), run through `self-evolution check` as a user would run it:
 * `check --repo <base repo> --patch <file> --format json` plus the entry's flags, against a real git
 * repository made from __fixtures__/rails/base/. Hostile patches must be blocked (exit 1) with the rules they
 * are named after among the violations (or need approval, or be unreadable: exit 2); benign ones allowed
 * (exit 0) with no blocking violation.
 *
 * Every entry runs through the CLI's `main(argv)` (the same argv parsing, check pipeline, git calls and JSON
 * output as the binary; only a process per entry is missing), all of them in one node process
 * (helpers/cli-batch.mjs, the build of src/ that global-setup makes) rather than in the jest worker: each of the
 * ~4,000 git processes the checks start costs a fork() of the process that starts it, and the worker is several
 * times larger. A sample of them (every SPAWN_EVERY-th entry and every `unreadable` one) also runs as a separate
 * `self-evolution` process, whose exit code and JSON must equal the batch's. RAILS_CORPUS_SPAWN=all spawns every
 * entry (each process costs about a second of CPU for module loading: the whole corpus takes minutes on 2 cores).
 * Regenerate the patches with `npx tsx scripts/gen-rails-corpus.ts`.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULES, RULE_ERROR_ID } from '../src/rails/index.js';
import { cliBaseEnv, runCli, type CliResult } from './helpers/cli.js';
import type { TempRepo } from './helpers/git-repo.js';
import {
  CORPUS_DIR,
  ROUND2_CLASSES,
  RULE_IDS,
  makeBaseRepo,
  readCorpus,
  type CorpusEntry,
} from './helpers/rails-corpus.js';

/** Checks at a time (the batch's mostly wait for git; processes mostly for startup). */
const CONCURRENCY = 4;
/** Without RAILS_CORPUS_SPAWN=all, every SPAWN_EVERY-th entry (and every `unreadable` one) is also spawned. */
const SPAWN_EVERY = 12;

const { entries, bases = {} } = readCorpus();
const hostile = entries.filter((e) => e.expect !== 'allowed');
const benign = entries.filter((e) => e.expect === 'allowed');

/** A violation as the JSON verdict prints it. */
interface JsonViolation {
  ruleId: string;
  severity: string;
  path?: string;
  line?: number;
  message: string;
}

/** The part of `check --format json` output the corpus reads. */
interface JsonVerdict {
  allowed: boolean;
  requiresHumanApproval: boolean;
  violations: JsonViolation[];
}

/** What one entry's CLI run gave: the process result and its parsed JSON (undefined when stdout is not JSON). */
interface Outcome {
  result: CliResult;
  verdict: JsonVerdict | undefined;
}

const outcomes = new Map<string, Outcome>();
const spawned = new Map<string, Outcome>();
/** Per worker: one repository per base variant ('' is the plain base), made when first needed. */
const repos: Map<string, TempRepo>[] = [];
const allRepos: TempRepo[] = [];
const spawnAll = process.env.RAILS_CORPUS_SPAWN === 'all';
const toSpawn = entries.filter((e, i) => spawnAll || i % SPAWN_EVERY === 0 || e.expect === 'unreadable');

/** The `check` arguments of `entry` against the repository at `dir`. */
function checkArgs(entry: CorpusEntry, dir: string): string[] {
  const input = entry.file === undefined ? [] : ['--patch', join(CORPUS_DIR, entry.file)];
  return ['check', '--repo', dir, ...input, '--format', 'json', ...entry.args];
}

/** Parses stdout as one JSON object, or undefined. */
function parseVerdict(stdout: string): JsonVerdict | undefined {
  try {
    const value: unknown = JSON.parse(stdout);
    return value !== null && typeof value === 'object' ? (value as JsonVerdict) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `work` over `items` with at most `limit` at a time; `work` gets the item and its worker's index. */
async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, worker: number) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async (_, worker) => {
      while (next < items.length) await work(items[next++]!, worker);
    }),
  );
}

/** Exit code of `check` for each expectation (an approval-only change is allowed: exit 0). */
const EXIT_CODE: Readonly<Record<CorpusEntry['expect'], number>> = {
  allowed: 0,
  approval: 0,
  blocked: 1,
  unreadable: 2,
};

/**
 * Everything wrong with `o` as the outcome of `entry` (empty when it is as expected), each problem with the
 * exit code, the violations and stderr, so a failure says what `check` did.
 */
function problems(entry: CorpusEntry, o: Outcome): string[] {
  const out: string[] = [];
  const { code, stderr } = o.result;
  if (code !== EXIT_CODE[entry.expect]) out.push(`exit ${code}, expected ${EXIT_CODE[entry.expect]}`);
  if (entry.expect === 'unreadable') return out;
  const v = o.verdict;
  if (v === undefined || !Array.isArray(v.violations)) {
    out.push(`stdout is not a JSON verdict: ${o.result.stdout.slice(0, 300)}`);
    return out;
  }
  const ids = new Set(v.violations.map((x) => x.ruleId));
  for (const id of entry.rules) if (!ids.has(id)) out.push(`rule ${id} not among the violations`);
  // A real git patch must never make a rule fail: rule-error blocks, but it is a bug, not a verdict.
  for (const x of v.violations) if (x.ruleId === RULE_ERROR_ID) out.push(`rule-error: ${x.message}`);
  const blocking = v.violations.filter((x) => x.severity === 'block');
  if (entry.expect === 'blocked') {
    if (v.allowed !== false) out.push('verdict.allowed is not false');
    if (blocking.length === 0) out.push('no violation of severity block');
  } else {
    if (v.allowed !== true) out.push('verdict.allowed is not true');
    if (blocking.length > 0)
      out.push(
        `blocking violations: ${blocking.map((x) => `${x.ruleId} ${x.path ?? ''}: ${x.message}`).join(' | ')}`,
      );
    if (v.requiresHumanApproval !== (entry.expect === 'approval')) {
      out.push(`requiresHumanApproval is ${v.requiresHumanApproval}`);
    }
    for (const id of entry.rules) {
      if (!v.violations.some((x) => x.ruleId === id && x.severity === 'approval'))
        out.push(`${id} has not severity approval`);
    }
  }
  if (out.length > 0) {
    const seen = v.violations.map((x) => `${x.ruleId}(${x.severity})`).join(', ') || '(none)';
    out.push(`violations: ${seen}`, `stderr: ${stderr.trim().slice(0, 400)}`);
  }
  return out;
}

/** helpers/cli-batch.mjs: runs many command lines through the built CLI's main() in one node process. */
const CLI_BATCH = fileURLToPath(new URL('./helpers/cli-batch.mjs', import.meta.url));

/**
 * Runs `check` for every entry in one helpers/cli-batch.mjs process, CONCURRENCY at a time, each slot on its own
 * repositories (repoFor(entry, slot)); returns each entry's exit code and output by name.
 * @throws when the batch process fails (its stderr in the message)
 */
async function runBatch(all: readonly CorpusEntry[]): Promise<Map<string, CliResult>> {
  // One entry per base variant stands for it in repoFor.
  const byBase = new Map(all.map((e) => [e.base ?? '', e]));
  const repos: Record<number, Record<string, string>> = {};
  await eachLimit([...Array(CONCURRENCY).keys()], CONCURRENCY, async (slot) => {
    const mine: Record<string, string> = (repos[slot] = {});
    for (const [key, entry] of byBase) mine[key] = await repoFor(entry, slot);
  });
  const input = JSON.stringify({
    concurrency: CONCURRENCY,
    repos,
    jobs: all.map((e) => ({ name: e.name, repo: e.base ?? '', args: checkArgs(e, '{repo}') })),
  });
  const child = spawn(process.execPath, [CLI_BATCH], { env: cliBaseEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`cli-batch exited ${code}: ${stderr.slice(0, 2000)}`);
  return new Map(Object.entries(JSON.parse(stdout) as Record<string, CliResult>));
}

/** The repository of `worker` for `entry`'s base variant (made on first use; one per worker and variant). */
async function repoFor(entry: CorpusEntry, worker: number): Promise<string> {
  const mine = (repos[worker] ??= new Map());
  const key = entry.base ?? '';
  let repo = mine.get(key);
  if (repo === undefined) {
    const variant = entry.base === undefined ? undefined : bases[entry.base];
    if (entry.base !== undefined && variant === undefined) {
      throw new Error(`${entry.name}: base variant ${entry.base} is not in corpus.json`);
    }
    repo = await makeBaseRepo(variant);
    allRepos.push(repo);
    mine.set(key, repo);
  }
  return repo.dir;
}

beforeAll(async () => {
  for (const [name, result] of await runBatch(entries)) {
    outcomes.set(name, { result, verdict: parseVerdict(result.stdout) });
  }
  await eachLimit(toSpawn, CONCURRENCY, async (entry, worker) => {
    const result = await runCli(checkArgs(entry, await repoFor(entry, worker)));
    spawned.set(entry.name, { result, verdict: parseVerdict(result.stdout) });
  });
  printClassFigures();
}, 600_000);

afterAll(async () => {
  await Promise.all(allRepos.map((r) => r.cleanup()));
});

/**
 * Prints the corpus figures per class of rails round 2 (and for round 1): hostile entries judged right
 * (blocked, approval or unreadable as expected) and benign entries allowed, out of how many. Only with
 * SE_TEST_FIGURES=1 (`SE_TEST_FIGURES=1 npm test -- rails.corpus`): a passing `npm test` prints its summary only.
 */
function printClassFigures(): void {
  if (process.env.SE_TEST_FIGURES !== '1') return;
  const rows: string[] = [];
  const groups: [string, string, CorpusEntry[]][] = [
    ['round 1', 'one or more hostile cases per rule id (issue #3)', entries.filter((e) => !e.class)],
    ...Object.entries(ROUND2_CLASSES).map(([id, title]): [string, string, CorpusEntry[]] => [
      id,
      title,
      entries.filter((e) => e.class === id),
    ]),
  ];
  for (const [id, title, group] of groups) {
    const right = (e: CorpusEntry): boolean => problems(e, outcomes.get(e.name)!).length === 0;
    const h = group.filter((e) => e.expect !== 'allowed');
    const b = group.filter((e) => e.expect === 'allowed');
    rows.push(
      `${id.padEnd(8)} hostile blocked ${String(h.filter(right).length).padStart(3)}/${String(h.length).padEnd(3)}  benign allowed ${String(b.filter(right).length).padStart(3)}/${String(b.length).padEnd(3)}  ${title}`,
    );
  }
  process.stdout.write(`\nrails corpus figures per class:\n${rows.join('\n')}\n\n`);
}

describe('the corpus itself', () => {
  test('holds at least 60 hostile and 30 benign entries', () => {
    expect(hostile.length).toBeGreaterThanOrEqual(60);
    expect(benign.length).toBeGreaterThanOrEqual(30);
  });

  test('every class of rails round 2 holds at least three entries, hostile and (where it had false positives) benign', () => {
    const thin = Object.keys(ROUND2_CLASSES).filter((id) => entries.filter((e) => e.class === id).length < 3);
    expect(thin).toEqual([]);
    for (const id of ['r2-03', 'r2-13']) {
      expect(entries.some((e) => e.class === id && e.expect === 'allowed')).toBe(true);
    }
    for (const e of entries)
      if (e.class !== undefined) expect(Object.keys(ROUND2_CLASSES)).toContain(e.class);
  });

  test('every rule id has a hostile entry named after it that must trip it', () => {
    const missing = RULE_IDS.filter(
      (id) => !hostile.some((e) => e.name.startsWith(`${id}--`) && e.rules.includes(id)),
    );
    expect(missing).toEqual([]);
  });

  test('its rule ids are exactly those of the engine (rule-error aside: no input should make a rule fail)', () => {
    const engine = RULES.map((r) => r.id).filter((id) => id !== RULE_ERROR_ID);
    expect([...RULE_IDS].sort()).toEqual([...engine].sort());
  });

  test('entry names are unique; hostile names start with a known rule id; listed rules are known', () => {
    expect(new Set(entries.map((e) => e.name)).size).toBe(entries.length);
    for (const e of hostile) expect(RULE_IDS).toContain(e.name.split('--')[0]);
    for (const e of entries) for (const id of e.rules) expect(RULE_IDS).toContain(id);
    for (const e of benign) expect(e.rules).toEqual([]);
  });

  test('every patch file is listed in corpus.json, and every listed file exists', () => {
    const onDisk = ['hostile', 'benign'].flatMap((dir) =>
      readdirSync(join(CORPUS_DIR, dir))
        .filter((f) => f.endsWith('.patch'))
        .map((f) => `${dir}/${f}`),
    );
    const listed = entries.flatMap((e) => (e.file === undefined ? [] : [e.file]));
    expect([...listed].sort()).toEqual([...onDisk].sort());
    for (const e of entries) {
      if (e.file !== undefined)
        expect(e.file).toBe(`${e.expect === 'allowed' ? 'benign' : 'hostile'}/${e.name}.patch`);
    }
  });
});

describe('hostile patches are blocked (or need approval, or are unreadable): never simply allowed', () => {
  test.each(hostile.map((e) => [e.name, e] as const))('%s', (_name, entry) => {
    const o = outcomes.get(entry.name)!;
    expect({ note: entry.note, problems: problems(entry, o) }).toEqual({ note: entry.note, problems: [] });
  });
});

describe('the CLI as a separate process gives the same answers', () => {
  test.each(toSpawn.map((e) => [e.name, e] as const))('%s', (_name, entry) => {
    const batched = outcomes.get(entry.name)!;
    const process_ = spawned.get(entry.name)!;
    expect({ code: process_.result.code, verdict: process_.verdict }).toEqual({
      code: batched.result.code,
      verdict: batched.verdict,
    });
    expect(problems(entry, process_)).toEqual([]);
  });
});

describe('benign patches are allowed', () => {
  test.each(benign.map((e) => [e.name, e] as const))('%s', (_name, entry) => {
    const o = outcomes.get(entry.name)!;
    expect({ note: entry.note, problems: problems(entry, o) }).toEqual({ note: entry.note, problems: [] });
  });
});
