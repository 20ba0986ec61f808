/**
 * The rails corpus under __fixtures__/rails/: a small agent repository (`base/`), hostile and benign patches
 * against it, and `corpus.json` saying what `self-evolution check` must answer for each. Shared by the corpus
 * test, the generator (__fixtures__/rails/generate.ts) and the benchmark.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempRepo, type FileSpec, type TempRepo } from './git-repo.js';

/** __fixtures__/rails, absolute. */
export const CORPUS_DIR = fileURLToPath(new URL('../../__fixtures__/rails/', import.meta.url));
/** The files of the agent repository every patch applies to. */
export const BASE_DIR = join(CORPUS_DIR, 'base');
/** Where corpus.json lives. */
export const CORPUS_JSON = join(CORPUS_DIR, 'corpus.json');

/**
 * Every rule id of the rails (issue #3). The corpus must hold at least one hostile patch per id, so the
 * corpus cannot silently lose its coverage of a rule.
 */
export const RULE_IDS: readonly string[] = Object.freeze([
  'path-blocked',
  'path-not-allowed',
  'path-absolute',
  'path-traversal',
  'path-git-internal',
  'path-control-char',
  'path-backslash',
  'path-not-nfc',
  'path-trailing-dot-space',
  'file-symlink',
  'file-submodule',
  'file-binary',
  'file-executable',
  'file-gitattributes',
  'diff-max-files',
  'diff-max-lines',
  'diff-max-bytes',
  'content-minified',
  'change-empty',
  'change-unapplicable',
  'risk-invalid',
  'risk-above-max',
  'risk-high',
  'change-type-not-allowed',
  'wildcard-disabled',
  'wildcard-risk-above-max',
  'wildcard-type-not-allowed',
  'wildcard-path-not-allowed',
  'wildcard-daily-limit',
  'test-change-approval',
  'dependency-change',
  'branch-prefix',
  'branch-protected',
  'secret-detected',
  'secret-high-entropy',
  'secret-file',
  'secret-in-path',
  'content-unread',
  'command-forbidden',
  'command-dynamic',
  'self-protected-path',
  'policy-loosened',
  'policy-invalid',
]);

/**
 * What `check` must answer: `allowed` exit 0 and no block violation; `approval` exit 0, no block violation,
 * requiresHumanApproval; `blocked` exit 1; `unreadable` exit 2 (git cannot read the input, or the flags are
 * bad input) — never 0.
 */
export type CorpusExpectation = 'allowed' | 'approval' | 'blocked' | 'unreadable';

/** One entry of corpus.json. */
export interface CorpusEntry {
  /** Unique name: `<rule-id>--<case>` for hostile entries, `<case>` for benign ones. */
  name: string;
  /**
   * The patch, relative to __fixtures__/rails (`hostile/x.patch`, `benign/y.patch`); absent when the entry
   * checks two commits instead (its args then carry --base/--head).
   */
  file?: string;
  expect: CorpusExpectation;
  /** Rule ids that MUST appear among the verdict's violations (for `blocked` and `approval`). */
  rules: string[];
  /** Extra flags for `check`, e.g. ["--type", "wildcard", "--risk", "1"]. */
  args: string[];
  /** What the patch tries, in a sentence. */
  note: string;
  /** The base variant (a key of `bases`) the patch applies to; absent: the plain base. */
  base?: string;
  /** The bypass class of rails round 2 (issue #7), `r2-01` ... `r2-13`, when the entry belongs to one. */
  class?: string;
}

/**
 * One file of a base variant, as data: text (UTF-8) or bytes (base64) with an optional mode, a symbolic link,
 * a gitlink (a submodule entry: the commit id it points to), or null to delete a file of the plain base.
 */
export type BaseFileSpec =
  | { text: string; mode?: '100644' | '100755' }
  | { base64: string; mode?: '100644' | '100755' }
  | { symlink: string }
  | { gitlink: string }
  | null;

/** A variant of the base repository: the plain base plus a second commit writing `files`. */
export interface BaseVariant {
  /** What the variant has that the plain base has not, in a sentence. */
  note: string;
  files: Record<string, BaseFileSpec>;
}

/** The parsed corpus.json. */
export interface Corpus {
  /** Base variants by name (cases of round 2 that need a submodule, a link, attributes in the base). */
  bases?: Record<string, BaseVariant>;
  entries: CorpusEntry[];
}

/**
 * The bypass classes of rails round 2 (issue #7), by id: every class holds at least three cases of the corpus,
 * and the corpus test prints its figures per class.
 */
export const ROUND2_CLASSES: Readonly<Record<string, string>> = Object.freeze({
  'r2-01': 'submodules made invisible',
  'r2-02': 'attributes that change what git reports',
  'r2-03': 'copies and renames that shrink the counts',
  'r2-04': 'content rules that only read added lines',
  'r2-05': 'commands hidden from the command rule',
  'r2-06': 'self-protection that stops at src/rails/',
  'r2-07': 'symlinks',
  'r2-08': 'policy edits compared by truncated text',
  'r2-09': 'unicode in paths',
  'r2-10': 'secrets the preset misses',
  'r2-11': 'size that lines do not measure',
  'r2-12': 'risk by location instead of content',
  'r2-13': 'false positives',
});

/** Reads and minimally validates corpus.json. */
export function readCorpus(): Corpus {
  const corpus = JSON.parse(readFileSync(CORPUS_JSON, 'utf8')) as Corpus;
  if (!Array.isArray(corpus.entries)) throw new Error(`${CORPUS_JSON}: no "entries" array`);
  return corpus;
}

/** Base-repository paths that are executable (git mode 100755), whatever the checkout's file modes say. */
export const BASE_EXECUTABLES: readonly string[] = Object.freeze([
  'scripts/deploy.sh',
  'scripts/lint-docs.sh',
]);

/** Symbolic links of the base repository (git cannot keep them portably in a fixture directory). */
export const BASE_SYMLINKS: Readonly<Record<string, string>> = Object.freeze({
  'docs/current.md': 'guide.md',
});

/**
 * The files of the base repository as makeTempRepo() FileSpecs: every file under `base/` (bytes as they
 * are, so CRLF files stay CRLF), the scripts executable, plus the symbolic links of BASE_SYMLINKS.
 */
export function baseFiles(): Record<string, FileSpec> {
  const files: Record<string, FileSpec> = {};
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(BASE_DIR, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const content = readFileSync(join(BASE_DIR, path));
        files[path] = BASE_EXECUTABLES.includes(path) ? { content, mode: 0o755 } : content;
      }
    }
  };
  walk('');
  for (const [path, target] of Object.entries(BASE_SYMLINKS)) files[path] = { symlink: target };
  return files;
}

/** The fixed commit date of the base repository, so its commit id is the same on every machine. */
export const BASE_DATE = '2026-01-01T00:00:00Z';
/** The fixed commit date of a base variant's second commit. */
export const VARIANT_DATE = '2026-01-02T00:00:00Z';

/**
 * A throwaway repository holding the plain base (one commit, BASE_DATE) and, for a variant, a second commit
 * (VARIANT_DATE) writing its files: gitlinks are staged with `git update-index --cacheinfo 160000,...`, since
 * a submodule has no work-tree content `git add` would keep. Same commit ids on every machine.
 * @throws Error when git fails.
 */
export async function makeBaseRepo(variant?: BaseVariant): Promise<TempRepo> {
  const repo = await makeTempRepo(baseFiles(), { date: BASE_DATE, message: 'base' });
  if (variant === undefined) return repo;
  try {
    const files: Record<string, FileSpec | null> = {};
    const gitlinks: [string, string][] = [];
    for (const [path, spec] of Object.entries(variant.files)) {
      if (spec === null) files[path] = null;
      else if ('gitlink' in spec) gitlinks.push([path, spec.gitlink]);
      else if ('symlink' in spec) files[path] = { symlink: spec.symlink };
      else {
        const content = 'text' in spec ? spec.text : Buffer.from(spec.base64, 'base64');
        files[path] = spec.mode === '100755' ? { content, mode: 0o755 } : content;
      }
    }
    await repo.write(files);
    await repo.git('add', '-A');
    for (const [path, sha] of gitlinks) {
      await repo.git('update-index', '--add', '--cacheinfo', `160000,${sha},${path}`);
    }
    await repo.gitEnv(
      {
        GIT_AUTHOR_DATE: VARIANT_DATE,
        GIT_COMMITTER_DATE: VARIANT_DATE,
        GIT_AUTHOR_NAME: 'Test Author',
        GIT_AUTHOR_EMAIL: 'test.author@example.com',
        GIT_COMMITTER_NAME: 'Test Author',
        GIT_COMMITTER_EMAIL: 'test.author@example.com',
      },
      'commit',
      '--quiet',
      '--no-verify',
      '-m',
      'base variant',
    );
    return repo;
  } catch (e) {
    await repo.cleanup();
    throw e;
  }
}
