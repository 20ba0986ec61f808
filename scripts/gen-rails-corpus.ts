/**
 * Writes the rails corpus: __fixtures__/rails/hostile/*.patch, __fixtures__/rails/benign/*.patch and
 * __fixtures__/rails/corpus.json, from the agent repository in __fixtures__/rails/base/. Each case changes a
 * scratch git repository made from base (or from a base variant: the base plus a second commit, for cases
 * that need a submodule, a link or attributes already in the base) and saves `git diff --binary` of the staged
 * change, so every patch is one git itself wrote. What git refuses to produce (absolute paths, `..` segments,
 * `.git/` components) is made by renaming a placeholder path in the headers of a real patch; `git apply
 * --numstat` still reads those, as `check` does. A few cases edit a real patch otherwise (CRLF line endings,
 * stale context). Tokens in the secret cases come from a fixed-seed generator: the output is the same on every
 * run, byte for byte.
 *
 * The cases live in scripts/rails-corpus/: round1.ts (issue #3: at least one hostile case per rule id) and one
 * file per bypass class of rails round 2 (issue #7), r2-NN-*.ts, each exporting CASES (and BASES, the base
 * variants its cases use).
 *
 * The base's policy (.github/self-evolution-config.json) allows docs, prompts, persona, src, scripts, tests,
 * the policy file, the Dockerfile and package.json, so that each hostile case is stopped by the rule it is
 * named after, not merely by an allow-list. Two variants in base/.github/rails-variants/ are used through
 * `--config`: wildcard-off.json (wildcardFeature.enabled false) and risk-3.json (maxRiskLevel 3: test changes
 * then need approval instead of being blocked by risk, and Dockerfile edits are judged by the command rule).
 *
 * Run: `npx tsx scripts/gen-rails-corpus.ts` (rewrites the hostile/ and benign/ directories).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TempRepo } from '../__tests__/helpers/git-repo.js';
import {
  CORPUS_DIR,
  CORPUS_JSON,
  ROUND2_CLASSES,
  makeBaseRepo,
  type BaseVariant,
  type CorpusEntry,
} from '../__tests__/helpers/rails-corpus.js';
import type { Case } from './rails-corpus/lib.js';

/** What a case file exports. */
interface CaseFile {
  CASES: Case[];
  BASES?: Record<string, BaseVariant>;
}

/** Every case file of scripts/rails-corpus/ (round1.ts, then r2-*.ts in name order) with its class id. */
async function loadCaseFiles(): Promise<{ cases: Case[]; bases: Record<string, BaseVariant> }> {
  const dir = fileURLToPath(new URL('./rails-corpus/', import.meta.url));
  const names = readdirSync(dir)
    .filter((f) => f === 'round1.ts' || /^r2-\d\d-.+\.ts$/.test(f))
    .sort((a, b) => (a === 'round1.ts' ? -1 : b === 'round1.ts' ? 1 : a < b ? -1 : 1));
  const cases: Case[] = [];
  const bases: Record<string, BaseVariant> = {};
  for (const name of names) {
    const mod = (await import(`./rails-corpus/${name.replace(/\.ts$/, '.js')}`)) as CaseFile;
    const klass = /^(r2-\d\d)-/.exec(name)?.[1];
    if (klass !== undefined && ROUND2_CLASSES[klass] === undefined) {
      throw new Error(`${name}: ${klass} is not a class of ROUND2_CLASSES`);
    }
    for (const [b, variant] of Object.entries(mod.BASES ?? {})) {
      if (bases[b] !== undefined) throw new Error(`${name}: base variant ${b} is defined twice`);
      bases[b] = variant;
    }
    for (const c of mod.CASES) cases.push(klass === undefined ? c : { ...c, class: klass });
  }
  return { cases, bases };
}

/** The patch git writes for `c` against `repo` (the repository is reset afterwards). */
async function patchOf(c: Case, repo: TempRepo): Promise<string | Buffer> {
  if (c.raw !== undefined) return c.raw;
  await c.change?.(repo);
  if (!c.staged) await repo.git('add', '-A');
  // Bytes, not text: a patch of a file that is not UTF-8 must keep its bytes.
  const diff = execFileSync(
    'git',
    [
      '-c',
      'core.quotepath=false',
      'diff',
      '--cached',
      '--binary',
      '-M',
      '--ignore-submodules=none',
      ...(c.copies ? ['-C', '--find-copies-harder'] : []),
      '--src-prefix=a/',
      '--dst-prefix=b/',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
      'HEAD',
    ],
    { cwd: repo.dir, maxBuffer: 64 * 1024 * 1024 },
  );
  if (diff.length === 0) throw new Error(`case ${c.name} changed nothing`);
  const patch = c.edit ? Buffer.from(c.edit(diff.toString('utf8')), 'utf8') : diff;
  await repo.git('reset', '--quiet', '--hard', 'HEAD');
  await repo.git('clean', '--quiet', '-fdx');
  return patch;
}

async function main(): Promise<void> {
  const { cases, bases } = await loadCaseFiles();
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`duplicate case ${c.name}`);
    names.add(c.name);
    if (c.base !== undefined && bases[c.base] === undefined) {
      throw new Error(`case ${c.name}: unknown base variant ${c.base}`);
    }
  }
  const repos = new Map<string, TempRepo>();
  const repoFor = async (variant: string | undefined): Promise<TempRepo> => {
    const key = variant ?? '';
    let repo = repos.get(key);
    if (repo === undefined) {
      repo = await makeBaseRepo(variant === undefined ? undefined : bases[variant]);
      repos.set(key, repo);
    }
    return repo;
  };
  try {
    for (const dir of ['hostile', 'benign']) {
      rmSync(join(CORPUS_DIR, dir), { recursive: true, force: true });
      mkdirSync(join(CORPUS_DIR, dir), { recursive: true });
    }
    const entries: CorpusEntry[] = [];
    for (const c of cases) {
      const file = c.noFile ? undefined : `${c.kind}/${c.name}.patch`;
      if (file !== undefined) writeFileSync(join(CORPUS_DIR, file), await patchOf(c, await repoFor(c.base)));
      const rules = c.rules ?? (c.kind === 'hostile' ? [c.name.split('--')[0]!] : []);
      entries.push({
        name: c.name,
        ...(file !== undefined ? { file } : {}),
        expect: c.expect,
        rules,
        args: c.args ?? [],
        note: c.note,
        ...(c.base !== undefined ? { base: c.base } : {}),
        ...(c.class !== undefined ? { class: c.class } : {}),
      });
    }
    const used = Object.fromEntries(
      Object.entries(bases).filter(([name]) => cases.some((c) => c.base === name)),
    );
    writeFileSync(CORPUS_JSON, `${JSON.stringify({ bases: used, entries }, null, 2)}\n`);
    const hostile = entries.filter((e) => e.expect !== 'allowed').length;
    process.stdout.write(
      `wrote ${entries.length} entries (${hostile} hostile, ${entries.length - hostile} benign), ${Object.keys(used).length} base variant(s)\n`,
    );
  } finally {
    for (const repo of repos.values()) await repo.cleanup();
  }
}

await main();
