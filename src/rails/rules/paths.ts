/**
 * Path rules: allowed and blocked globs, and path safety:
 * paths that could escape the repository, reach git's own files, or mean different things on different
 * systems are blocked, whatever the globs say. Every touched path is checked: both sides of renames and
 * copies, deleted files too, and each at the file it really names through the base's symbolic
 * links (common.ts TouchedPath.via): blocked globs also judge the other names a file has through links;
 * allowed globs and path safety judge the path and its target. Pure.
 */
import { compileGlobs } from '../glob.js';
import type { Finding, Rule } from '../rule.js';
import { codePointName, findHidden, hasNonAscii, lookalike } from '../unicode.js';
import { list, namedPaths, printable, show, writtenPaths, type TouchedPath } from './common.js';

/** The setting shown for rules no setting can turn off. */
const ALWAYS = '(none: always on)';

/** One finding per touched path for which `problem` returns a text; the message is `<label>: <text>`. */
function perPath(paths: readonly TouchedPath[], problem: (t: TouchedPath) => string | undefined): Finding[] {
  const findings: Finding[] = [];
  for (const t of paths) {
    const text = problem(t);
    if (text !== undefined) findings.push({ path: t.path, message: `${t.label}: ${text}` });
  }
  return findings;
}

/**
 * For path safety: each named path and the file it names through links (the name judged is `info.path`);
 * not the aliases (names of the base the change does not write) nor unresolved entries (path-traversal's).
 */
function safetyPaths(paths: readonly TouchedPath[]): readonly TouchedPath[] {
  return paths.some((t) => t.via !== undefined)
    ? paths.filter((t) => t.via === undefined || t.via === 'target')
    : paths;
}

/** Segments of a path split on `/` and `\` (either may be a separator somewhere), without a leading root. */
function segmentsOf(path: string): string[] {
  return path.replace(/^[/\\]+/, '').split(/[/\\]/);
}

/** blocked globs win; case-insensitive, a glob without `/` at any depth. */
export const pathBlocked: Rule = {
  id: 'path-blocked',
  summary:
    'A changed path (either side of a rename, deletions too) or the source a copy reads matches a blocked glob, also under the names it has through the base\'s symbolic links; case-insensitive, also on the folded confusable skeleton of a non-ASCII path, and a glob without "/" matches the file name at any depth. Blocked wins over allowed.',
  setting: 'safetyRails.blockedPaths',
  severity: 'block',
  check: (input) => {
    const blocked = compileGlobs(input.policy.blockedPaths, 'catch', 'safetyRails.blockedPaths');
    return perPath(namedPaths(input), (t) => {
      const glob = blocked.firstGlob(t.info);
      return glob === undefined
        ? undefined
        : `matches safetyRails.blockedPaths glob ${show(glob)}; blocked paths are never changed, even when an allowedPaths glob matches (remove the glob to allow it)`;
    });
  },
};

/** a path no allowed glob matches is blocked. */
export const pathNotAllowed: Rule = {
  id: 'path-not-allowed',
  summary:
    "A changed path (either side of a rename, deletions too), or the file it names through the base's symbolic links, that no allowed glob matches (case-sensitive, anchored at the repository root). The source of a copy is read, not changed: it need not be allowed.",
  setting: 'safetyRails.allowedPaths',
  severity: 'block',
  check: (input) => {
    const allowed = compileGlobs(input.policy.allowedPaths, 'allow', 'safetyRails.allowedPaths');
    const text = `no safetyRails.allowedPaths glob matches it (allowed: ${list(allowed.globs)})`;
    return perPath(writtenPaths(input), (t) => (allowed.matches(t.info) ? undefined : text));
  },
};

/** A path starting with `/` or `\`, or a Windows drive (`C:`): it names a file outside the repository. */
export const pathAbsolute: Rule = {
  id: 'path-absolute',
  summary: 'An absolute path: starting with "/" or "\\", or a Windows drive such as "C:".',
  setting: ALWAYS,
  severity: 'block',
  check: (input) =>
    perPath(safetyPaths(namedPaths(input)), (t) =>
      /^(?:[/\\]|[A-Za-z]:)/.test(t.info.path)
        ? 'is absolute; changed paths must be relative to the repository root (no setting allows this)'
        : undefined,
    ),
};

/** A `..` segment (the path may leave the repository), or a `.` or empty segment (it is not canonical). */
export const pathTraversal: Rule = {
  id: 'path-traversal',
  summary:
    'A ".." segment (the path may leave the repository); also a "." or empty segment and the empty path (not the canonical form git writes); also a path the base\'s symbolic links lead outside the repository or round in a loop.',
  setting: ALWAYS,
  severity: 'block',
  check: (input) =>
    perPath(
      namedPaths(input).filter((t) => t.via !== 'alias'),
      (t) => {
        if (t.via === 'unresolved') {
          return 'cannot be resolved: the symbolic links of the base go round in a loop (no setting allows this)';
        }
        if (t.info.plain) return undefined; // plain paths have no empty, "." or ".." segment
        if (t.info.path === '') return 'is empty; every changed file needs a path (no setting allows this)';
        const segments = segmentsOf(t.info.path);
        if (segments.includes('..')) {
          return 'has a ".." segment, which can reach outside the repository (no setting allows this)';
        }
        if (segments.includes('.') || segments.includes('')) {
          return 'has a "." or empty segment; paths must be in the canonical form git writes (no setting allows this)';
        }
        return undefined;
      },
    ),
};

/**
 * Does this segment name git's own directory on some file system, or look like it? `.git` in any case; with
 * trailing dots or spaces or an NTFS stream (`.git.`, `.git::$INDEX_ALLOCATION`, Windows strips them); the
 * NTFS 8.3 short name `git~1`; and, for a segment with non-ASCII characters, its look-alike key (unicode.ts:
 * case folding and UTS #39 skeletons): that drops the code points HFS+ ignores (git's is_hfs_dotgit: `.g\u200cit` is `.git` on
 * macOS, all of them default ignorables), upper-cases `ı` as Windows does (`.gıt` is `.GIT`) and maps
 * look-alikes (`.gіt` with a Cyrillic і).
 */
function isGitDir(segment: string): boolean {
  let name = segment.toLowerCase();
  if (hasNonAscii(name)) name = lookalike(name);
  const colon = name.indexOf(':');
  if (colon >= 0) name = name.slice(0, colon);
  name = name.replace(/[. ]+$/, '');
  return name === '.git' || name === 'git~1';
}

/** Any `.git` component: git's own files (hooks, config) are never a change. */
export const pathGitInternal: Rule = {
  id: 'path-git-internal',
  summary:
    'A ".git" component in any case, also as Windows or macOS would read it (".git.", ".git::$INDEX_ALLOCATION", "git~1", ".g\\u200cit"): git\'s own files, hooks and config.',
  setting: ALWAYS,
  severity: 'block',
  check: (input) =>
    perPath(safetyPaths(namedPaths(input)), (t) => {
      if (t.info.plain && !/git/i.test(t.info.path)) return undefined; // ".g\u200cit" is not plain
      const segment = segmentsOf(t.info.path).find(isGitDir);
      return segment === undefined
        ? undefined
        : `has the component ${show(segment)}, which is (or a file system reads as) ".git", git's own directory (no setting allows this)`;
    }),
};

/**
 * A character that does not show as itself (unicode.ts HIDDEN_CHARACTER: controls, format characters such as
 * zero-width spaces and bidi controls, separators, spaces other than U+0020, default ignorables such as
 * variation selectors): the path may not look like what it is (`src/to\u200Bol.ts` renders as
 * `src/tool.ts`).
 */
export const pathControlChar: Rule = {
  id: 'path-control-char',
  summary:
    'A character that does not show as itself in a path: a control character (C0, DEL, C1), a format character (Unicode Cf: zero-width spaces and joiners, bidirectional controls as in Trojan Source, soft hyphen, BOM, tags), a line or paragraph separator, a space other than U+0020, or any other default-ignorable code point (variation selectors, Hangul fillers).',
  setting: ALWAYS,
  severity: 'block',
  check: (input) =>
    perPath(safetyPaths(namedPaths(input)), (t) => {
      if (t.info.plain) return undefined; // plain paths are printable ASCII
      const found = findHidden(t.info.path);
      if (found === undefined) return undefined;
      return `has the invisible, control or formatting character ${codePointName(found.char)} at position ${found.index + 1}; a path must show what it is (no setting allows this)`;
    }),
};

/** A backslash: a separator on Windows, part of the name elsewhere; the same path means two things. */
export const pathBackslash: Rule = {
  id: 'path-backslash',
  summary: 'A backslash in a path: a separator on Windows, a name character elsewhere.',
  setting: ALWAYS,
  severity: 'block',
  check: (input) =>
    perPath(safetyPaths(namedPaths(input)), (t) =>
      t.info.path.includes('\\')
        ? 'has a backslash, a separator on Windows but part of the name elsewhere (no setting allows this)'
        : undefined,
    ),
};

/** A lone surrogate (not Unicode text at all). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A path that is not in Unicode NFC: macOS and other systems would write another name. */
export const pathNotNfc: Rule = {
  id: 'path-not-nfc',
  summary:
    'A path that differs from its Unicode NFC form (two spellings of one name); also one that is not valid Unicode (a lone surrogate, or U+FFFD from undecodable bytes).',
  setting: ALWAYS,
  severity: 'block',
  check: (input) =>
    perPath(safetyPaths(namedPaths(input)), (t) => {
      const name = t.info.path;
      if (!hasNonAscii(name)) return undefined;
      if (LONE_SURROGATE.test(name) || name.includes('\ufffd')) {
        return 'is not valid Unicode (a lone surrogate, or U+FFFD where git saw bytes that are not UTF-8) (no setting allows this)';
      }
      const nfc = name.normalize('NFC');
      return nfc === name
        ? undefined
        : `is not in Unicode NFC form (NFC: ${printable(nfc)}); some systems would write another name (no setting allows this)`;
    }),
};

/** A segment ending in `.` or ` `: Windows drops them, so two paths name one file. */
export const pathTrailingDotSpace: Rule = {
  id: 'path-trailing-dot-space',
  summary:
    'A path segment ending in "." or " " (Windows drops them, so two paths name one file); the segments "." and ".." are path-traversal\'s.',
  setting: ALWAYS,
  severity: 'block',
  check: (input) =>
    perPath(safetyPaths(namedPaths(input)), (t) => {
      if (!/[. ](?:[/\\]|$)/.test(t.info.path)) return undefined;
      const segment = segmentsOf(t.info.path).find(
        (s) => s !== '.' && s !== '..' && (s.endsWith('.') || s.endsWith(' ')),
      );
      return segment === undefined
        ? undefined
        : `has the segment ${show(segment)} ending in a dot or space, which Windows drops (no setting allows this)`;
    }),
};

/** The path rules, in evaluation order. */
export const PATH_RULES: readonly Rule[] = Object.freeze([
  pathBlocked,
  pathNotAllowed,
  pathAbsolute,
  pathTraversal,
  pathGitInternal,
  pathControlChar,
  pathBackslash,
  pathNotNfc,
  pathTrailingDotSpace,
]);
