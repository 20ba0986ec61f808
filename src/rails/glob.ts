/**
 * Glob matching for the rails: minimatch semantics, compiled once per glob list and fast on large changes.
 *
 * Every glob list of a policy (allowed, blocked, test, dependency, secret, command, self-protected paths, the
 * risk rubric) is compiled ONCE and cached in a WeakMap keyed by the list itself (the array object), so a
 * policy evaluated many times, or a 100k-file change, never builds a Minimatch per path or per rule.
 *
 * Matching is minimatch's (https://github.com/isaacs/minimatch), with two option sets (GlobMode):
 * - `allow`: `dot: true` (so `*` and `**` see dot files), Linux semantics on every platform (git paths always
 *   use `/`). Case-sensitive and anchored at the repository root. For lists that PERMIT something
 *   (safetyRails.allowedPaths, wildcardFeature.changeTypePaths): they should match as little as written.
 * - `catch`: `allow` plus `nocase` (`.ENV` is caught by `.env*`: case-insensitive file systems treat them
 *   alike) and `matchBase` (a glob without `/` matches the file name at any depth, as in .gitignore). For lists
 *   that CATCH something (blocked paths, tests, dependencies, secrets, commands, self-protection, the risk
 *   rubric): they should match more, never less. A path with a non-ASCII character is also matched by its
 *   look-alike key (unicode.ts: full case folding and UTS #39's confusable skeleton) against the globs'
 *   keys, so `.g\u0131thub/x` (dotless i, `.GITHUB` on Windows) and `.gіthub/x` (Cyrillic і) are caught by
 *   `.github/**`. A glob matches when it matches the path or its key matches the path's key.
 *
 * Speed: a "plain" path (printable ASCII without `\`, no empty, `.` or `..` segment, no leading or trailing
 * `/`: what git prints for ordinary files) is split into segments once, and each glob alternative (braces
 * expanded) made only of literal segments, `*` segments and `**` is matched segment by segment on that split.
 * Everything else (other paths, globs with `?`, `[...]`, extglobs) goes through the compiled Minimatch
 * object. `__tests__/rails.glob.test.ts` checks with generated paths and globs that both give minimatch's
 * answer.
 *
 * Pure: no I/O, no clock. The cache only remembers compiled forms of lists it was given.
 */
import { Minimatch, braceExpand, type MinimatchOptions } from 'minimatch';
import { hasNonAscii, lookalike, skeletonGlob } from './unicode.js';

/** `allow`: exact, case-sensitive, anchored. `catch`: also case-insensitive and base-name matching. */
export type GlobMode = 'allow' | 'catch';

/** minimatch options of each mode (see the module docs). */
export const GLOB_OPTIONS: Readonly<Record<GlobMode, Readonly<MinimatchOptions>>> = Object.freeze({
  allow: Object.freeze({ dot: true, platform: 'linux' }),
  catch: Object.freeze({ dot: true, platform: 'linux', nocase: true, matchBase: true }),
});

/** A glob list that cannot be compiled: not a list, an empty or non-string glob, a negation, a comment. */
export class GlobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlobError';
  }
}

/**
 * A path split once for matching against many globs. `plain` paths (see the module docs) are matched on
 * `segments` / `lowerSegments`; others only through minimatch.
 */
export interface PathInfo {
  readonly path: string;
  readonly plain: boolean;
  /** `path` split on `/` (empty for paths that are not plain). */
  readonly segments: readonly string[];
  /** `segments` lower-cased (ASCII only, so the same length), for case-insensitive globs. */
  readonly lowerSegments: readonly string[];
  /**
   * For a path with a non-ASCII character: its look-alike key (unicode.ts), split for matching. Catch lists
   * also match it against their globs' keys.
   */
  readonly lookalike?: PathInfo;
}

const EMPTY: readonly string[] = Object.freeze([]);
/** Printable ASCII except `\`. */
const PLAIN_CHARS = /^[\x20-\x5b\x5d-\x7e]+$/;
/** An empty, `.` or `..` segment (also a leading or trailing `/`). */
const ODD_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/;
const UPPER = /[A-Z]/;

/**
 * Splits `path` for matching; never throws (a non-string is not plain and matches nothing). A path with a
 * non-ASCII character also gets its look-alike key (PathInfo.lookalike), computed here once.
 */
export function pathInfo(path: string): PathInfo {
  if (typeof path !== 'string' || !PLAIN_CHARS.test(path)) {
    if (typeof path === 'string' && hasNonAscii(path)) {
      return {
        path,
        plain: false,
        segments: EMPTY,
        lowerSegments: EMPTY,
        lookalike: splitPath(lookalike(path)),
      };
    }
    return { path, plain: false, segments: EMPTY, lowerSegments: EMPTY };
  }
  return splitPath(path);
}

/** The PathInfo of `path` without keys (for a printable ASCII path, or a key itself). */
function splitPath(path: string): PathInfo {
  if (!PLAIN_CHARS.test(path)) return { path, plain: false, segments: EMPTY, lowerSegments: EMPTY };
  if (ODD_SEGMENT.test(path)) return { path, plain: false, segments: EMPTY, lowerSegments: EMPTY };
  const segments = path.split('/');
  return {
    path,
    plain: true,
    segments,
    lowerSegments: UPPER.test(path) ? path.toLowerCase().split('/') : segments,
  };
}

/** One segment of a fast pattern: a literal, a `*` pattern (its literal pieces), or `**`. */
type Segment = { kind: 'literal'; text: string } | { kind: 'star'; pieces: string[] } | { kind: 'globstar' };

/**
 * A brace alternative as runs of segments between `**`: `head` before the first `**`, `mids` between `**`s,
 * `tail` after the last one; `globstars` 0 means a fixed-length pattern (all in `head`). `trailing`: the
 * pattern ends with `**`, which minimatch requires to match at least one segment (`docs/**` does not match
 * `docs`); any other `**` may match none (`**\/a` matches `a`).
 */
interface FastPattern {
  head: Segment[];
  mids: Segment[][];
  tail: Segment[];
  globstars: number;
  trailing: boolean;
  minSegments: number;
}

/** One compiled glob: its Minimatch object (always), and its fast alternatives when it has them. */
interface CompiledGlob {
  glob: string;
  minimatch: Minimatch;
  fast: FastPattern[] | undefined;
}

/** Characters that make a glob segment need minimatch: `?`, classes, extglobs, escapes, leftover braces. */
const NOT_FAST = /[?[\]()!+@\\{}]/;
/** More brace alternatives than this and the glob is matched by minimatch alone. */
const MAX_FAST_ALTERNATIVES = 64;

/** The fast form of one brace alternative, or undefined when it needs minimatch. */
function fastPattern(alternative: string, mode: GlobMode): FastPattern | undefined {
  if (alternative === '' || NOT_FAST.test(alternative) || !/^[\x20-\x7e]+$/.test(alternative))
    return undefined;
  const text = mode === 'catch' ? alternative.toLowerCase() : alternative;
  let parts = text.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  if (mode === 'catch' && parts.length === 1 && parts[0] !== '**') parts = ['**', parts[0]!];
  const segments: Segment[] = [];
  for (const part of parts) {
    if (part === '**') {
      if (segments.at(-1)?.kind === 'globstar') return undefined;
      segments.push({ kind: 'globstar' });
    } else if (part.includes('**')) {
      return undefined;
    } else if (part.includes('*')) {
      segments.push({ kind: 'star', pieces: part.split('*') });
    } else {
      segments.push({ kind: 'literal', text: part });
    }
  }
  const runs: Segment[][] = [[]];
  for (const s of segments) {
    if (s.kind === 'globstar') runs.push([]);
    else runs.at(-1)!.push(s);
  }
  const globstars = runs.length - 1;
  const head = runs[0]!;
  const tail = globstars > 0 ? runs.at(-1)! : [];
  const mids = globstars > 1 ? runs.slice(1, -1) : [];
  const trailing = segments.at(-1)?.kind === 'globstar';
  const minSegments = segments.filter((s) => s.kind !== 'globstar').length + (trailing ? 1 : 0);
  return { head, mids, tail, globstars, trailing, minSegments };
}

/** Does segment `s` (a plain path segment) match pattern segment `p` (not a globstar)? */
function segmentMatches(p: Segment, s: string): boolean {
  if (p.kind === 'literal') return p.text === s;
  if (p.kind !== 'star') return false;
  const pieces = p.pieces;
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
  let at = first.length;
  const end = s.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    if (piece === '') continue;
    const found = s.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

/** Do the segments `run` match `s` starting at `from`? */
function runMatchesAt(run: readonly Segment[], s: readonly string[], from: number): boolean {
  for (let i = 0; i < run.length; i++) if (!segmentMatches(run[i]!, s[from + i]!)) return false;
  return true;
}

/**
 * Matches a fast pattern against plain segments. Runs between `**` are placed leftmost-first, which is exact:
 * a `**` between two runs absorbs whatever lies between them.
 */
function fastMatches(p: FastPattern, s: readonly string[]): boolean {
  const n = s.length;
  if (p.globstars === 0) return n === p.head.length && runMatchesAt(p.head, s, 0);
  if (n < p.minSegments) return false;
  if (!runMatchesAt(p.head, s, 0) || !runMatchesAt(p.tail, s, n - p.tail.length)) return false;
  let at = p.head.length;
  const end = n - p.tail.length - (p.trailing ? 1 : 0);
  for (const mid of p.mids) {
    let placed = false;
    for (; at + mid.length <= end; at++) {
      if (runMatchesAt(mid, s, at)) {
        placed = true;
        at += mid.length;
        break;
      }
    }
    if (!placed) return false;
  }
  return true;
}

/** A compiled glob list: which of its globs (first, in list order) matches a path. */
export interface GlobSet {
  /** The globs, as given (a copy). */
  readonly globs: readonly string[];
  readonly mode: GlobMode;
  /** Index of the first glob that matches `path`, or -1. Never throws. */
  firstMatch(path: string | PathInfo): number;
  /** The first glob that matches `path`, or undefined. */
  firstGlob(path: string | PathInfo): string | undefined;
  /** True when some glob matches `path`. */
  matches(path: string | PathInfo): boolean;
}

/** Compiles one glob, or throws GlobError saying what is wrong with it and in which setting. */
function compileGlob(glob: unknown, mode: GlobMode, setting: string): CompiledGlob {
  if (typeof glob !== 'string' || glob === '') {
    throw new GlobError(
      `${setting}: a glob must be a non-empty string, got ${JSON.stringify(glob) ?? String(glob)}`,
    );
  }
  const shown = JSON.stringify(glob.length > 200 ? `${glob.slice(0, 197)}...` : glob);
  if (glob.startsWith('!') || glob.startsWith('#')) {
    throw new GlobError(
      `${setting}: glob ${shown} starts with "${glob[0]}" (a minimatch ${glob[0] === '!' ? 'negation' : 'comment'}), which is not supported; list the paths you mean`,
    );
  }
  const options = GLOB_OPTIONS[mode];
  let minimatch: Minimatch;
  try {
    minimatch = new Minimatch(glob, options);
  } catch (err) {
    throw new GlobError(
      `${setting}: glob ${shown} is not a valid minimatch pattern: ${(err as Error).message}`,
    );
  }
  if (minimatch.set.length === 0) {
    throw new GlobError(`${setting}: glob ${shown} compiles to no pattern and would match nothing`);
  }
  let fast: FastPattern[] | undefined;
  const alternatives = braceExpand(glob, options);
  if (alternatives.length <= MAX_FAST_ALTERNATIVES) {
    fast = [];
    for (const alternative of alternatives) {
      const pattern = fastPattern(alternative, mode);
      if (pattern === undefined) {
        fast = undefined;
        break;
      }
      fast.push(pattern);
    }
  }
  return { glob, minimatch, fast };
}

/** Does compiled glob `c` match `info`? Never throws (a throwing minimatch counts as a match: caution). */
function globMatches(c: CompiledGlob, info: PathInfo, mode: GlobMode): boolean {
  if (info.plain && c.fast !== undefined) {
    const segments = mode === 'catch' ? info.lowerSegments : info.segments;
    for (const p of c.fast) if (fastMatches(p, segments)) return true;
    return false;
  }
  if (typeof info.path !== 'string') return false;
  try {
    return c.minimatch.match(info.path);
  } catch {
    return mode === 'catch';
  }
}

/**
 * Where to look for the globs that may match a plain path, so a path is tested against a few candidates, not
 * every glob: by base name (`**\/package.json`), by the base name's extension from its last dot (`**\/*.md`,
 * `**\/requirements*.txt`), by first segment (`docs/**`, `.github/workflows/**`, literal paths), by any
 * segment (`**\/prompts/**`). A glob is indexed only when EVERY brace alternative of it has a key that every
 * path it matches must produce; the others are `generic` and always tested. Each list is in glob order.
 */
interface GlobIndex {
  base: Map<string, number[]>;
  ext: Map<string, number[]>;
  first: Map<string, number[]>;
  segment: Map<string, number[]>;
  generic: number[];
}

/** The index key of one fast alternative, or undefined when it has none (see GlobIndex). */
function indexKey(p: FastPattern): { map: 'base' | 'ext' | 'first' | 'segment'; key: string } | undefined {
  const head = p.head[0];
  if (head?.kind === 'literal') return { map: 'first', key: head.text };
  if (p.globstars === 0) return undefined;
  const last = p.tail.at(-1);
  if (last?.kind === 'literal') return { map: 'base', key: last.text };
  if (last?.kind === 'star') {
    const piece = last.pieces.at(-1)!;
    const dot = piece.lastIndexOf('.');
    if (dot >= 0) return { map: 'ext', key: piece.slice(dot) };
  }
  const mid = p.mids[0]?.[0];
  if (p.head.length === 0 && mid?.kind === 'literal') return { map: 'segment', key: mid.text };
  return undefined;
}

function addTo(map: Map<string, number[]>, key: string, i: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [i]);
  else if (list.at(-1) !== i) list.push(i);
}

/** Builds the GlobIndex of compiled globs. */
function buildIndex(compiled: readonly CompiledGlob[]): GlobIndex {
  const index: GlobIndex = {
    base: new Map(),
    ext: new Map(),
    first: new Map(),
    segment: new Map(),
    generic: [],
  };
  compiled.forEach((c, i) => {
    const keys = c.fast?.map(indexKey);
    if (keys === undefined || keys.length === 0 || keys.some((k) => k === undefined)) {
      index.generic.push(i);
      return;
    }
    for (const k of keys) addTo(index[k!.map], k!.key, i);
  });
  return index;
}

/**
 * The lowest index below `best` in `candidates` (ascending) whose glob matches `info`, else `best`. A plain
 * function, not a closure: it runs for every path and rule on large changes.
 */
function firstOf(
  candidates: readonly number[] | undefined,
  best: number,
  compiled: readonly CompiledGlob[],
  info: PathInfo,
  mode: GlobMode,
): number {
  if (candidates === undefined) return best;
  for (let k = 0; k < candidates.length; k++) {
    const i = candidates[k]!;
    if (i >= best) return best;
    if (globMatches(compiled[i]!, info, mode)) return i;
  }
  return best;
}

/** Index of the first glob of `compiled` matching `info`, or -1, using `index` for plain paths. */
function firstMatchIn(
  compiled: readonly CompiledGlob[],
  index: GlobIndex,
  info: PathInfo,
  mode: GlobMode,
): number {
  if (!info.plain) {
    for (let i = 0; i < compiled.length; i++) if (globMatches(compiled[i]!, info, mode)) return i;
    return -1;
  }
  const segments = mode === 'catch' ? info.lowerSegments : info.segments;
  const base = segments[segments.length - 1]!;
  let best = compiled.length;
  if (index.base.size > 0) best = firstOf(index.base.get(base), best, compiled, info, mode);
  if (index.ext.size > 0) {
    const dot = base.lastIndexOf('.');
    if (dot >= 0) best = firstOf(index.ext.get(base.slice(dot)), best, compiled, info, mode);
  }
  if (index.first.size > 0) best = firstOf(index.first.get(segments[0]!), best, compiled, info, mode);
  if (index.segment.size > 0) {
    for (let k = 0; k < segments.length; k++) {
      best = firstOf(index.segment.get(segments[k]!), best, compiled, info, mode);
    }
  }
  best = firstOf(index.generic, best, compiled, info, mode);
  return best === compiled.length ? -1 : best;
}

/** Compiled globs with their index. */
interface CompiledList {
  compiled: readonly CompiledGlob[];
  index: GlobIndex;
}

/**
 * A catch list as look-alike keys (unicode.ts skeletonGlob), index for index: a glob that is its own key (up
 * to case) reuses its compiled form. Never throws: a key minimatch refuses is replaced by `**` (it then
 * catches every key: when in doubt, catch).
 */
function skeletonList(list: CompiledList, setting: string): CompiledList {
  const compiled = list.compiled.map((c) => {
    const glob = skeletonGlob(c.glob);
    if (glob === c.glob.toLowerCase()) return c;
    try {
      return compileGlob(glob, 'catch', setting);
    } catch {
      return compileGlob('**', 'catch', setting);
    }
  });
  return { compiled, index: buildIndex(compiled) };
}

/** Builds a GlobSet (uncached). */
function buildGlobSet(globs: readonly string[], mode: GlobMode, setting: string): GlobSet {
  const copy = Object.freeze([...globs]);
  const compiled = copy.map((g) => compileGlob(g, mode, setting));
  const index = buildIndex(compiled);
  let keyed: CompiledList | undefined;
  const firstMatch = (path: string | PathInfo): number => {
    const info = typeof path === 'string' ? pathInfo(path) : path;
    const i = firstMatchIn(compiled, index, info, mode);
    if (mode !== 'catch' || info?.lookalike === undefined || i === 0) return i;
    keyed ??= skeletonList({ compiled, index }, setting);
    const j = firstMatchIn(keyed.compiled, keyed.index, info.lookalike, mode);
    return j >= 0 && (i < 0 || j < i) ? j : i;
  };
  return Object.freeze({
    globs: copy,
    mode,
    firstMatch,
    firstGlob: (path: string | PathInfo) => {
      const i = firstMatch(path);
      return i < 0 ? undefined : copy[i];
    },
    matches: (path: string | PathInfo) => firstMatch(path) >= 0,
  });
}

/** Cached compiled forms of one list: the globs as compiled (to detect a list changed in place), per mode. */
interface CacheEntry {
  snapshot: readonly string[];
  sets: Partial<Record<GlobMode, GlobSet>>;
}

const CACHE = new WeakMap<object, CacheEntry>();

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The compiled GlobSet of `globs` in `mode`, compiled once per list object and mode (WeakMap-cached; a list
 * changed in place since is compiled again). `key` is the cache identity (default: the list itself; the risk
 * rubric passes its entries array). `setting` names the list in errors, e.g. 'safetyRails.blockedPaths'.
 * Throws GlobError when `globs` is not a list of valid globs (see compileGlob); the engine turns that into a
 * `rule-error` violation, which blocks.
 */
export function compileGlobs(
  globs: readonly string[],
  mode: GlobMode,
  setting = 'glob list',
  key: object = globs,
): GlobSet {
  if (!Array.isArray(globs)) {
    throw new GlobError(`${setting}: expected a list of globs, got ${typeof globs}`);
  }
  let entry = CACHE.get(key);
  if (entry === undefined || !sameStrings(entry.snapshot, globs)) {
    entry = { snapshot: [...globs], sets: {} };
    CACHE.set(key, entry);
  }
  let set = entry.sets[mode];
  if (set === undefined) {
    set = buildGlobSet(globs, mode, setting);
    entry.sets[mode] = set;
  }
  return set;
}
