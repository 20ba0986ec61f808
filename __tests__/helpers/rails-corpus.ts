/**
 * The rails corpus under __fixtures__/rails/: a small agent repository (`base/`), hostile and benign patches
 * against it, and `corpus.json` saying what `self-evolution check` must answer for each. Shared by the corpus
 * test, the generator (__fixtures__/rails/generate.ts) and the benchmark.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileSpec } from './git-repo.js';

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
  'diff-max-files',
  'diff-max-lines',
  'change-empty',
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
  'content-unread',
  'command-forbidden',
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
}

/** The parsed corpus.json. */
export interface Corpus {
  entries: CorpusEntry[];
}

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
