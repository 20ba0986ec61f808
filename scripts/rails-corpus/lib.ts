/**
 * The shared part of the rails corpus generator (scripts/gen-rails-corpus.ts): the shape of a case, the
 * deterministic helpers cases are written with (fixed-seed tokens, edits of base files, moves, header
 * retargeting) and the fake-but-realistic secrets. Cases live in the files beside this one: round1.ts (issue
 * #3) and one file per bypass class of rails round 2 (issue #7), r2-NN-*.ts.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileSpec, TempRepo } from '../../__tests__/helpers/git-repo.js';
import { BASE_DIR, type CorpusExpectation } from '../../__tests__/helpers/rails-corpus.js';

/** One case of the corpus. */
export interface Case {
  /** Hostile: `<rule-id>--<case>`; benign: `<case>`. */
  name: string;
  kind: 'hostile' | 'benign';
  expect: CorpusExpectation;
  /** Rule ids that must appear; default for a hostile case: the rule id its name starts with. */
  rules?: string[];
  args?: string[];
  note: string;
  /** Changes the scratch repository (its work tree and index); everything is staged afterwards. */
  change?: (repo: TempRepo) => Promise<void>;
  /** The patch text itself, instead of a diff (empty input, text that is no patch). */
  raw?: string | Buffer;
  /** The change stages what it means itself (a gitlink has no work-tree content `git add -A` would keep). */
  staged?: boolean;
  /** Detect copies too (`-C --find-copies-harder`). */
  copies?: boolean;
  /** Edits the patch git wrote (for paths git refuses to write). */
  edit?: (patch: string) => string;
  /** No patch file: the entry checks two commits, named in its args. */
  noFile?: boolean;
  /**
   * The base repository variant the patch is made against and checked in (corpus.json `bases`; default: the
   * plain base). Set by the class files of round 2 for cases that need a base with a submodule, a link...
   */
  base?: string;
  /** The bypass class of issue #7 the case belongs to (`r2-01` ... `r2-13`); set by the class files. */
  class?: string;
}

// ---- deterministic helpers --------------------------------------------------------------------------------

/** A pseudo-random generator (mulberry32) with a fixed seed per token, so the corpus never changes. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const DIGITS = '0123456789';
export const BASE64 = `${ALNUM}+/`;

/** `length` characters of `alphabet`, pseudo-random from `seed`. */
export function token(seed: number, length: number, alphabet = ALNUM): string {
  const next = prng(seed);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(next() * alphabet.length)];
  return out;
}

/** Text of a base file. */
export function base(path: string): string {
  return readFileSync(join(BASE_DIR, path), 'utf8');
}

/** `n` lines `<prefix> <i>`, each ending in a newline. */
export function lines(n: number, prefix: string): string {
  let out = '';
  for (let i = 1; i <= n; i++) out += `${prefix} ${i}: this line explains one more detail of the agent.\n`;
  return out;
}

/** A change that writes `files` (null deletes). */
export function write(files: Record<string, FileSpec | null>): (repo: TempRepo) => Promise<void> {
  return (repo) => repo.write(files);
}

/** A change that replaces `from` by `to` in base file `path` (which must contain it). */
export function replace(path: string, from: string, to: string): (repo: TempRepo) => Promise<void> {
  const text = base(path);
  if (!text.includes(from)) throw new Error(`${path} does not contain ${JSON.stringify(from)}`);
  return write({ [path]: text.replace(from, to) });
}

/** A change that appends `text` to base file `path`. */
export function append(path: string, text: string): (repo: TempRepo) => Promise<void> {
  return write({ [path]: base(path) + text });
}

/** Several changes, in order. */
export function all(...changes: ((repo: TempRepo) => Promise<void>)[]): (repo: TempRepo) => Promise<void> {
  return async (repo) => {
    for (const change of changes) await change(repo);
  };
}

/** `git mv from to`. */
export function move(from: string, to: string): (repo: TempRepo) => Promise<void> {
  return async (repo) => {
    mkdirSync(join(repo.dir, to, '..'), { recursive: true });
    await repo.git('mv', from, to);
  };
}

/** Renames placeholder path `from` to `to` everywhere in a patch's headers (git refuses to write `to`). */
export function retarget(from: string, to: string): (patch: string) => string {
  return (patch) => {
    if (!patch.includes(`b/${from}`) && !patch.includes(`rename to ${from}`)) {
      throw new Error(`placeholder ${from} not in patch`);
    }
    return patch
      .split(`a/${from}`)
      .join(`a/${to}`)
      .split(`b/${from}`)
      .join(`b/${to}`)
      .split(`rename to ${from}`)
      .join(`rename to ${to}`)
      .split(`rename from ${from}`)
      .join(`rename from ${to}`);
  };
}

/** The base policy file, and a change that edits it as text. */
export const POLICY = '.github/self-evolution-config.json';
export const policyEdit = (from: string, to: string): ((repo: TempRepo) => Promise<void>) =>
  replace(POLICY, from, to);

/** A one-line doc fix every flag-only case reuses: the change itself is harmless. */
export const DOC_FIX = replace('docs/guide.md', 'says so.', 'says so plainly.');
/** A one-line prompt tweak. */
export const PROMPT_TWEAK = replace('prompts/system.md', 'at most five sentences', 'at most four sentences');

// ---- realistic-looking secrets (never real: fixed-seed random characters) ---------------------------------

export const GHP = `ghp_${token(1, 36)}`;
export const GITHUB_PAT = `github_pat_${token(2, 22)}_${token(3, 59)}`;
export const AWS_KEY_ID = `AKIA${token(4, 16, UPPER_DIGITS)}`;
export const AWS_SECRET = token(5, 40, BASE64);
export const SLACK = `xoxb-${token(6, 12, DIGITS)}-${token(7, 13, DIGITS)}-${token(8, 24)}`;
export const NPM = `npm_${token(9, 36)}`;
export const OPENAI = `sk-${token(10, 20)}T3BlbkFJ${token(11, 20)}`;
export const HIGH_ENTROPY = token(12, 40, `${ALNUM}-_`);
export const HIGH_ENTROPY_2 = token(13, 32);
export const DB_PASSWORD = token(14, 18);
export const PRIVATE_KEY = [
  '-----BEGIN RSA PRIVATE KEY-----',
  ...Array.from({ length: 12 }, (_, i) =>
    i === 0 ? `MIIEowIBAAKCAQEA${token(20, 48, BASE64)}` : token(20 + i, 64, BASE64),
  ),
  `${token(40, 40, BASE64)}==`,
  '-----END RSA PRIVATE KEY-----',
].join('\n');

// ---- the cases --------------------------------------------------------------------------------------------

/** A case without its kind, expectation optional. */
export type CaseInput = Omit<Case, 'kind' | 'expect'> & { expect?: CorpusExpectation };
/** A hostile case: blocked unless it says otherwise. */
export const H = (c: CaseInput): Case => ({ ...c, kind: 'hostile', expect: c.expect ?? 'blocked' });
/** A benign case: allowed. */
export const B = (c: CaseInput): Case => ({ ...c, kind: 'benign', expect: c.expect ?? 'allowed' });

export const WILDCARD_OFF = '.github/rails-variants/wildcard-off.json';
export const RISK_3 = '.github/rails-variants/risk-3.json';
