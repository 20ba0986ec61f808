/**
 * Helpers shared by the rules: the paths a change touches (computed once per evaluation), size statistics,
 * and how values and paths are shown in messages. Pure.
 */
import { pathInfo, type PathInfo } from '../glob.js';
import type { RuleInput } from '../rule.js';
import type { ChangeStats, ChangeUnderReview, FileChange } from '../types.js';

/**
 * A path a change touches: each file's path, and for renames and copies its old path too (both sides are
 * checked). `label` names it in messages (a rename's source says where it went, unprintable characters are
 * escaped); `info` is the path split once for glob matching; `file` is the FileChange it comes from.
 */
export interface TouchedPath {
  readonly path: string;
  readonly label: string;
  readonly info: PathInfo;
  readonly file: FileChange;
  /** True for the old side of a rename or copy. */
  readonly old: boolean;
}

/** The files of a change, or [] when `change.facts.files` is not a list (odd input never throws here). */
export function filesOf(change: ChangeUnderReview): readonly FileChange[] {
  const files: unknown = (change as Partial<ChangeUnderReview> | null | undefined)?.facts?.files;
  return Array.isArray(files) ? (files as FileChange[]) : [];
}

/** Characters shown escaped in messages: C0/C1 controls, bidi and line/paragraph separators, lone surrogates. */
const UNPRINTABLE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with unprintable characters escaped as `\u{XXXX}`, so messages are one clean line. */
export function printable(text: string): string {
  if (!/[^\x20-\x7e]/.test(text)) return text;
  return text.replace(
    UNPRINTABLE,
    (c) => `\\u{${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}}`,
  );
}

const TOUCHED = new WeakMap<object, readonly TouchedPath[]>();
const READ = new WeakMap<object, readonly TouchedPath[]>();
const NAMED = new WeakMap<object, readonly TouchedPath[]>();

/** The change of `input` (a RuleInput or a bare change) and whether results may be cached on it. */
function changeOf(input: RuleInput | ChangeUnderReview): { change: ChangeUnderReview; cacheable: boolean } {
  const isInput = typeof input === 'object' && input !== null && 'change' in input && 'policy' in input;
  return isInput
    ? { change: (input as RuleInput).change, cacheable: true }
    : { change: input as ChangeUnderReview, cacheable: false };
}

/**
 * Every path `change` CHANGES, in file order: each file's path and, for a rename, its old path too (a rename
 * deletes the old path), each once (input that lists one path in two entries, which git never does, gets it
 * twice). The source of a copy is read, not changed: it is not here but in {@link readPaths} (issue #7: a copy
 * of `LICENSE` into docs/ does not touch `LICENSE`).
 * Computed once per RuleInput (evaluate passes the same input object to every rule); given a bare change,
 * computed afresh.
 * Throws TypeError when a file has no string path, or an old path that is not a string (the engine turns it
 * into a `rule-error`, which blocks).
 */
export function touchedPaths(input: RuleInput | ChangeUnderReview): readonly TouchedPath[] {
  const { change, cacheable } = changeOf(input);
  const cached = cacheable ? TOUCHED.get(input) : undefined;
  if (cached !== undefined) return cached;
  const files = filesOf(change);
  // git lists each path once; only renames can repeat one (their old side), so the set that keeps each path
  // once is only needed then. (Odd input listing a path twice gets it reported twice.)
  const seen = files.some((f) => f?.oldPath !== undefined && f.oldPath !== f.path)
    ? new Set<string>()
    : undefined;
  const out: TouchedPath[] = [];
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    if (typeof file?.path !== 'string') {
      throw new TypeError(`file ${i + 1} of the change has no path (got ${show(file?.path)})`);
    }
    if (seen === undefined || !seen.has(file.path)) {
      seen?.add(file.path);
      out.push({ path: file.path, label: printable(file.path), info: pathInfo(file.path), file, old: false });
    }
    const oldPath: unknown = file.oldPath;
    if (oldPath !== undefined && oldPath !== file.path) {
      if (typeof oldPath !== 'string') {
        throw new TypeError(
          `file ${printable(file.path)} has an old path that is not a string: ${show(oldPath)}`,
        );
      }
      if (file.status !== 'copied' && !seen!.has(oldPath)) {
        seen!.add(oldPath);
        out.push({
          path: oldPath,
          label: `${printable(oldPath)} (renamed to ${printable(file.path)})`,
          info: pathInfo(oldPath),
          file,
          old: true,
        });
      }
    }
  }
  if (cacheable) TOUCHED.set(input, out);
  return out;
}

/**
 * Every path a change READS without changing it: the source of each copy (`oldPath` of a `copied` file) and
 * the base paths an added file's content was found identical to (`copyOf`), in file order, each once. Only
 * rules for which reading is enough judge these: blocked paths and secret files (copying their content
 * elsewhere stays blocked) and path safety (a path that could name something outside the repository is never
 * read either); allowed paths, self-protection, tests, dependencies and risk do not.
 * Throws TypeError for an old path or a copyOf entry that is not a string (a `rule-error`, which blocks).
 */
export function readPaths(input: RuleInput | ChangeUnderReview): readonly TouchedPath[] {
  const { change, cacheable } = changeOf(input);
  const cached = cacheable ? READ.get(input) : undefined;
  if (cached !== undefined) return cached;
  const seen = new Set<string>();
  const out: TouchedPath[] = [];
  const add = (path: unknown, file: FileChange, how: string): void => {
    if (typeof path !== 'string') {
      throw new TypeError(
        `file ${printable(String(file.path))} names a copy source that is not a string: ${show(path)}`,
      );
    }
    if (seen.has(path)) return;
    seen.add(path);
    out.push({
      path,
      label: `${printable(path)} (${how} ${printable(file.path)})`,
      info: pathInfo(path),
      file,
      old: true,
    });
  };
  for (const file of filesOf(change)) {
    if (typeof file?.path !== 'string') continue; // touchedPaths reports it
    if (file.status === 'copied' && file.oldPath !== undefined && file.oldPath !== file.path) {
      add(file.oldPath, file, 'copied to');
    }
    const copyOf: unknown = file.copyOf;
    if (Array.isArray(copyOf)) for (const p of copyOf) add(p, file, 'same content as');
  }
  if (cacheable) READ.set(input, out);
  return out;
}

/** {@link touchedPaths} then {@link readPaths}: every path a change names, for rules that judge both. */
export function namedPaths(input: RuleInput | ChangeUnderReview): readonly TouchedPath[] {
  const { cacheable } = changeOf(input);
  const cached = cacheable ? NAMED.get(input) : undefined;
  if (cached !== undefined) return cached;
  const read = readPaths(input);
  const out = read.length === 0 ? touchedPaths(input) : [...touchedPaths(input), ...read];
  if (cacheable) NAMED.set(input, out);
  return out;
}

/** True when `n` is a usable line count: a safe integer >= 0. */
export function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Lines a file adds plus deletes, counting a bad count (not a whole number >= 0) as 0. */
export function linesOf(file: FileChange): number {
  return (
    (isCount(file?.linesAdded) ? file.linesAdded : 0) + (isCount(file?.linesDeleted) ? file.linesDeleted : 0)
  );
}

/**
 * Size statistics of a change: files changed (binary included; a rename is one file), added and deleted lines
 * as git counted them (a count that is not a whole number >= 0 adds 0; `diff-max-lines` reports it) and binary
 * files. Never throws: odd input gives zeros.
 */
export function changeStats(change: ChangeUnderReview): ChangeStats {
  const files = filesOf(change);
  let linesAdded = 0;
  let linesDeleted = 0;
  let binaryFiles = 0;
  for (const f of files) {
    if (isCount(f?.linesAdded)) linesAdded += f.linesAdded;
    if (isCount(f?.linesDeleted)) linesDeleted += f.linesDeleted;
    if (f?.binary === true) binaryFiles++;
  }
  return { filesChanged: files.length, linesAdded, linesDeleted, binaryFiles };
}

/** `a, b, c` (at most `max`, then "and N more"), or `(none)`. Strings are shown as they are. */
export function list(values: readonly string[], max = 6): string {
  if (!Array.isArray(values) || values.length === 0) return '(none)';
  const shown = values
    .slice(0, max)
    .map((v) => printable(String(v)))
    .join(', ');
  return values.length > max ? `${shown} and ${values.length - max} more` : shown;
}

/** A value as written, for messages: numbers as they are, everything else as (short) JSON or String(). */
export function show(value: unknown): string {
  if (typeof value === 'number') return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return printable(text.length > 120 ? `${text.slice(0, 117)}...` : text);
}
