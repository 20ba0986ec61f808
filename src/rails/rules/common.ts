/**
 * Helpers shared by the rules: the paths a change touches (computed once per evaluation), size statistics,
 * and how values and paths are shown in messages. Pure.
 */
import { pathInfo, type PathInfo } from '../glob.js';
import { aliasesOf, describeHops, indexLinks, resolvePath, type LinkIndex } from '../links.js';
import type { RuleInput } from '../rule.js';
import type { ChangeStats, ChangeUnderReview, FileChange } from '../types.js';
import { HIDDEN_CHARACTER } from '../unicode.js';

/**
 * A path a change touches: each file's path, and for renames and copies its old path too (both sides are
 * checked). `label` names it in messages (a rename's source says where it went, unprintable characters are
 * escaped); `info` is the name judged, split once for glob matching (the path itself, or, with `via`, a name
 * it has through the base's symbolic links); `file` is the FileChange it comes from.
 *
 * When the facts list the base tree's symbolic links (ChangeFacts.baseSymlinks), each path is followed by
 * the other names of the same file, as entries with the same `path` and `file`:
 * - `via: 'target'`: the file the path really names (links in its directories followed; the last component
 *   too, unless the change is about a link itself), `info.path` a repository path, or `../...` or an absolute
 *   path when the links lead outside the repository (path-traversal and path-absolute then block);
 * - `via: 'alias'`: another name of that file: a link of the base that resolves to it or to a directory above
 *   it, e.g. the policy file `.github/self-evolution-config.json` when the base has it as a link to
 *   `src/policy.json` and the change edits `src/policy.json`. Lists that catch something judge aliases; lists
 *   that permit something (allowedPaths, changeTypePaths) do not: see {@link writtenPaths};
 * - `via: 'unresolved'`: the links go round in a loop (`info` is the path itself; path-traversal blocks).
 */
export interface TouchedPath {
  readonly path: string;
  readonly label: string;
  readonly info: PathInfo;
  readonly file: FileChange;
  /** True for the old side of a rename or copy. */
  readonly old: boolean;
  /** How `info.path` relates to `path` when it is another name of it (see above); absent: it is `path`. */
  readonly via?: 'target' | 'alias' | 'unresolved';
}

/** The files of a change, or [] when `change.facts.files` is not a list (odd input never throws here). */
export function filesOf(change: ChangeUnderReview): readonly FileChange[] {
  const files: unknown = (change as Partial<ChangeUnderReview> | null | undefined)?.facts?.files;
  return Array.isArray(files) ? (files as FileChange[]) : [];
}

/**
 * Characters shown escaped in messages: lone surrogates, and every character that does not show as itself
 * (unicode.ts HIDDEN_CHARACTER: controls, format and bidi characters, separators, spaces other than U+0020,
 * default ignorables such as zero-width spaces and variation selectors).
 */
const UNPRINTABLE = new RegExp(
  `[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]|${HIDDEN_CHARACTER.source}`,
  'gu',
);

/** `text` with unprintable characters escaped as `\u{XXXX}`, so messages are one clean line. */
export function printable(text: string): string {
  if (!/[^\x20-\x7e]/.test(text)) return text;
  return text.replace(
    UNPRINTABLE,
    (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}}`,
  );
}

const TOUCHED = new WeakMap<object, readonly TouchedPath[]>();
const WRITTEN = new WeakMap<object, readonly TouchedPath[]>();
const READ = new WeakMap<object, readonly TouchedPath[]>();
const NAMED = new WeakMap<object, readonly TouchedPath[]>();
/** The link index of a facts object (null: no links), computed once per facts object. */
const LINKS = new WeakMap<object, LinkIndex | null>();

/** The change of `input` (a RuleInput or a bare change) and whether results may be cached on it. */
function changeOf(input: RuleInput | ChangeUnderReview): { change: ChangeUnderReview; cacheable: boolean } {
  const isInput = typeof input === 'object' && input !== null && 'change' in input && 'policy' in input;
  return isInput
    ? { change: (input as RuleInput).change, cacheable: true }
    : { change: input as ChangeUnderReview, cacheable: false };
}

/** Git's mode of a symbolic link. */
const LINK_MODE = '120000';

/**
 * The symbolic links of the change's base (ChangeFacts.baseSymlinks) that still lead somewhere after the
 * change (not deleted, renamed away or turned into another kind by it), indexed; undefined when there are
 * none. Throws TypeError when baseSymlinks is present but not an object (a `rule-error`, which blocks).
 */
export function baseLinks(change: ChangeUnderReview): LinkIndex | undefined {
  const facts: unknown = (change as Partial<ChangeUnderReview> | null | undefined)?.facts;
  if (facts === null || typeof facts !== 'object') return undefined;
  const cached = LINKS.get(facts);
  if (cached !== undefined) return cached ?? undefined;
  const links: unknown = (facts as { baseSymlinks?: unknown }).baseSymlinks;
  let index: LinkIndex | null = null;
  if (links !== undefined && links !== null) {
    if (typeof links !== 'object' || Array.isArray(links)) {
      throw new TypeError(`facts.baseSymlinks must map link paths to targets, got ${show(links)}`);
    }
    if (Object.keys(links).length > 0) {
      const removed = new Set<string>();
      for (const f of filesOf(change)) {
        if (f?.oldMode !== LINK_MODE) continue;
        if (f.status === 'deleted' || f.status === 'renamed' || f.newMode !== LINK_MODE) {
          removed.add(typeof f.oldPath === 'string' ? f.oldPath : f.path);
        }
      }
      index = indexLinks(links as Record<string, unknown>, removed);
    }
  }
  LINKS.set(facts, index);
  return index ?? undefined;
}

/**
 * Appends to `out` the other names of `entry` through `links` (see TouchedPath): its target, or the problem
 * resolving it, then the aliases of the file it names. `followFinal`: follow a link in the last component.
 */
function pushLinkNames(out: TouchedPath[], entry: TouchedPath, links: LinkIndex, followFinal: boolean): void {
  const r = resolvePath(entry.path, links.lookup, followFinal);
  const via = describeHops(r.hops, printable);
  if (r.kind === 'loop') {
    out.push({
      ...entry,
      label: `${entry.label} (its symbolic links go round in a loop: ${via})`,
      via: 'unresolved',
    });
    return;
  }
  let real = entry.path;
  if (r.hops.length > 0 && r.path !== entry.path) {
    const label =
      r.kind === 'outside'
        ? `${entry.label} (leads outside the repository, to ${printable(r.path)}, through the symbolic link ${via})`
        : `${entry.label} (really ${printable(r.path)}, through the symbolic link ${via})`;
    out.push({ ...entry, label, info: pathInfo(r.path), via: 'target' });
    if (r.kind === 'outside') return;
    real = r.path;
  }
  for (const alias of aliasesOf(real, links)) {
    const label =
      alias.name === alias.link
        ? `${printable(entry.path)} (the target of ${printable(alias.name)})`
        : `${printable(entry.path)} (also ${printable(alias.name)}, through the symbolic link ${printable(alias.link)})`;
    out.push({ ...entry, label, info: pathInfo(alias.name), via: 'alias' });
  }
}

/**
 * Every path `change` CHANGES, in file order: each file's path and, for a rename, its old path too (a rename
 * deletes the old path), each once (input that lists one path in two entries, which git never does, gets it
 * twice), each followed by its other names through the base's symbolic links (see TouchedPath). The source of
 * a copy is read, not changed: it is not here but in {@link readPaths} (a copy of `LICENSE` into
 * docs/ does not touch `LICENSE`).
 * Computed once per RuleInput (evaluate passes the same input object to every rule); given a bare change,
 * computed afresh.
 * Throws TypeError when a file has no string path, or an old path that is not a string, or baseSymlinks is not
 * an object (the engine turns it into a `rule-error`, which blocks).
 */
export function touchedPaths(input: RuleInput | ChangeUnderReview): readonly TouchedPath[] {
  const { change, cacheable } = changeOf(input);
  const cached = cacheable ? TOUCHED.get(input) : undefined;
  if (cached !== undefined) return cached;
  const files = filesOf(change);
  const links = baseLinks(change);
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
      const entry = {
        path: file.path,
        label: printable(file.path),
        info: pathInfo(file.path),
        file,
        old: false,
      };
      out.push(entry);
      if (links !== undefined) {
        pushLinkNames(out, entry, links, file.newMode !== LINK_MODE && file.oldMode !== LINK_MODE);
      }
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
        const entry = {
          path: oldPath,
          label: `${printable(oldPath)} (renamed to ${printable(file.path)})`,
          info: pathInfo(oldPath),
          file,
          old: true,
        };
        out.push(entry);
        if (links !== undefined) pushLinkNames(out, entry, links, file.oldMode !== LINK_MODE);
      }
    }
  }
  if (cacheable) TOUCHED.set(input, out);
  return out;
}

/**
 * {@link touchedPaths} without the aliases: the names under which the change really writes (each path and
 * the file it names through links). For lists that PERMIT something (allowedPaths, changeTypePaths): a file
 * that is also reachable under another name need not be allowed under that name.
 */
export function writtenPaths(input: RuleInput | ChangeUnderReview): readonly TouchedPath[] {
  const { cacheable } = changeOf(input);
  const cached = cacheable ? WRITTEN.get(input) : undefined;
  if (cached !== undefined) return cached;
  const all = touchedPaths(input);
  const out = all.some((t) => t.via === 'alias') ? all.filter((t) => t.via !== 'alias') : all;
  if (cacheable) WRITTEN.set(input, out);
  return out;
}

/**
 * Every path a change READS without changing it: the source of each copy (`oldPath` of a `copied` file) and
 * the base paths an added file's content was found identical to (`copyOf`), in file order, each once, each
 * followed by its other names through the base's links (a link's own content is its target text, so a
 * link in the last component is not followed). Only rules for which reading is enough judge these: blocked
 * paths and secret files (copying their content elsewhere stays blocked) and path safety (a path that could
 * name something outside the repository is never read either); allowed paths, self-protection, tests,
 * dependencies and risk do not.
 * Throws TypeError for an old path or a copyOf entry that is not a string (a `rule-error`, which blocks).
 */
export function readPaths(input: RuleInput | ChangeUnderReview): readonly TouchedPath[] {
  const { change, cacheable } = changeOf(input);
  const cached = cacheable ? READ.get(input) : undefined;
  if (cached !== undefined) return cached;
  const links = baseLinks(change);
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
    const entry = {
      path,
      label: `${printable(path)} (${how} ${printable(file.path)})`,
      info: pathInfo(path),
      file,
      old: true,
    };
    out.push(entry);
    if (links !== undefined) pushLinkNames(out, entry, links, false);
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

/**
 * A value as written, for messages: numbers as they are, everything else as (short) JSON or String(), cut at
 * `max` characters.
 */
export function show(value: unknown, max = 120): string {
  if (typeof value === 'number') return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return printable(text.length > max ? `${text.slice(0, max - 3)}...` : text);
}
