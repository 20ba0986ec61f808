/**
 * Paths through the symbolic links of the base tree: what file a path really names, and
 * which other names a file has. Pure: the links come from the caller (ChangeFacts.baseSymlinks, read by
 * the facts gatherer from git).
 *
 * Resolution follows POSIX pathname resolution (POSIX.1-2017 section 4.13 "Pathname Resolution"; Linux
 * path_resolution(7)) inside the repository: components left to right; a component that is a link is replaced
 * by its target, read relative to the link's directory (an absolute target, or `..` above the root, leaves
 * the repository); `.` and empty components are dropped; at most {@link MAX_LINK_HOPS} links are followed
 * (Linux's limit of 40, after which it reports ELOOP).
 */

/** Most links followed in one resolution (Linux path_resolution(7): 40, then ELOOP). */
export const MAX_LINK_HOPS = 40;

/** Looks up a path in the base tree: its link target when it is a symbolic link, else undefined. */
export type LinkLookup = (path: string) => string | undefined;

/** One link followed while resolving: its path and its target as stored. */
export interface LinkHop {
  link: string;
  target: string;
}

/**
 * What resolving a path gave:
 * - `inside`: `path` is the repository-relative path it names (no `.`, `..` or empty components);
 * - `outside`: the links lead out of the repository; `path` shows where (`../x`, or an absolute target);
 * - `loop`: more than MAX_LINK_HOPS links (a cycle); `path` is where resolution stopped.
 * `hops` lists the links followed, in order (empty when none was).
 */
export interface Resolution {
  kind: 'inside' | 'outside' | 'loop';
  path: string;
  hops: LinkHop[];
}

/**
 * Resolves `path` (repository-relative, `/` separators) through the links `lookup` knows. Links in the
 * directories of the path are always followed; the last component only when `followFinal` (a change to a
 * link itself, e.g. retargeting it, is not a change to its target). Never throws; linear in the length of
 * the path and the targets followed.
 */
export function resolvePath(path: string, lookup: LinkLookup, followFinal: boolean): Resolution {
  const hops: LinkHop[] = [];
  // components still to read, last one first (so pop() gives the next)
  const pending = path.split('/').reverse();
  const out: string[] = [];
  while (pending.length > 0) {
    const c = pending.pop()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) {
        return { kind: 'outside', path: ['..', ...pending.reverse()].join('/'), hops };
      }
      out.pop();
      continue;
    }
    out.push(c);
    const last = pending.every((p) => p === '' || p === '.');
    if (last && !followFinal) break;
    const target = lookup(out.join('/'));
    if (target === undefined) continue;
    const link = out.join('/');
    hops.push({ link, target });
    if (hops.length > MAX_LINK_HOPS) {
      return { kind: 'loop', path: [...out, ...pending.reverse()].join('/'), hops };
    }
    out.pop();
    if (target.startsWith('/')) {
      return { kind: 'outside', path: [target, ...pending.reverse()].join('/'), hops };
    }
    const parts = target.split('/');
    for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]!);
  }
  return { kind: 'inside', path: out.join('/'), hops };
}

/** `link -> target, ...` of the hops, for messages (at most 3 shown). */
export function describeHops(hops: readonly LinkHop[], show: (s: string) => string): string {
  const shown = hops.slice(0, 3).map((h) => `${show(h.link)} -> ${show(h.target)}`);
  return hops.length > 3 ? `${shown.join(', ')} and ${hops.length - 3} more` : shown.join(', ');
}

/**
 * The links of a base tree, ready for lookups both ways: `lookup` (link path -> target) and, for the reverse,
 * the links by the path they resolve to (fully, links in their target followed too).
 */
export interface LinkIndex {
  readonly lookup: LinkLookup;
  /** Link paths by the repository path they resolve to (only links that resolve inside the repository). */
  readonly byTarget: ReadonlyMap<string, readonly string[]>;
}

/**
 * Indexes `links` (link path -> target as stored), leaving out the paths in `removed` (links the change
 * deletes, renames away or turns into something else: they no longer lead anywhere after it). Entries whose
 * target is not a string are ignored. Linear in the number of links (times their depth).
 */
export function indexLinks(
  links: Readonly<Record<string, unknown>>,
  removed: ReadonlySet<string>,
): LinkIndex {
  const map = new Map<string, string>();
  for (const [path, target] of Object.entries(links)) {
    if (typeof target === 'string' && !removed.has(path)) map.set(path, target);
  }
  const lookup: LinkLookup = (p) => map.get(p);
  const byTarget = new Map<string, string[]>();
  for (const link of map.keys()) {
    const r = resolvePath(link, lookup, true);
    if (r.kind !== 'inside' || r.path === '' || r.path === link) continue;
    const list = byTarget.get(r.path);
    if (list === undefined) byTarget.set(r.path, [link]);
    else list.push(link);
  }
  return { lookup, byTarget };
}

/** Most other names {@link aliasesOf} returns for one path (a base with link farms could have very many). */
export const MAX_ALIASES = 64;

/** Another name of a file: `name`, through `link` (a link whose target is the file or a directory above it). */
export interface Alias {
  name: string;
  link: string;
}

/**
 * The other names `path` (a resolved, repository-relative path) has through the links of `index`: for each
 * link resolving to `path` or a directory above it, the link's path with the rest appended; then the names
 * of those names, breadth first, up to MAX_ALIASES. In discovery order, each once, `path` itself excluded.
 */
export function aliasesOf(path: string, index: LinkIndex): Alias[] {
  if (index.byTarget.size === 0) return [];
  const seen = new Set<string>([path]);
  const out: Alias[] = [];
  const queue = [path];
  for (let q = 0; q < queue.length && out.length < MAX_ALIASES; q++) {
    const name = queue[q]!;
    for (let cut = name.length; cut > 0; cut = name.lastIndexOf('/', cut - 1)) {
      const links = index.byTarget.get(name.slice(0, cut));
      if (links !== undefined) {
        for (const link of links) {
          const alias = link + name.slice(cut);
          if (seen.has(alias)) continue;
          seen.add(alias);
          out.push({ name: alias, link });
          queue.push(alias);
          if (out.length >= MAX_ALIASES) return out;
        }
      }
    }
  }
  return out;
}
