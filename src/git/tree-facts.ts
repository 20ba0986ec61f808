/**
 * Facts of a change between two trees, read so that nothing the change (or the checkout it sits in) can set
 * alters them, and the extra facts the rails ask for: bytes added, exact copies, whole files, the base tree's
 * symbolic links. Used for a range (`check --base/--head`), for staged changes (the proposers' scratch
 * worktrees) and for the files of a patch that must be applied to be read (src/git/facts.ts).
 *
 * What git would otherwise take from the change or the checkout, and how it is kept out (git 2.39, which has
 * no `--attr-source`; see the gitattributes, git-config and git-diff manuals):
 * - Attributes (`-diff`, `binary`, `diff=`, `filter=`, `text`, `eol`, `working-tree-encoding`): git reads
 *   `.gitattributes` from the work tree, then from the index, plus `$GIT_DIR/info/attributes`,
 *   `core.attributesFile` and the system file. Every command here runs in an EMPTY scratch work tree
 *   (GIT_WORK_TREE, and the current directory, since git looks up attributes relative to it) with an EMPTY
 *   scratch index (GIT_INDEX_FILE naming a file that does not exist), `core.attributesFile=/dev/null` and
 *   GIT_ATTR_NOSYSTEM=1. Only `$GIT_DIR/info/attributes` remains: a change cannot write it. Diffs compare
 *   trees, never the work tree, so no filter, `eol` or encoding conversion runs, and `--no-ext-diff
 *   --no-textconv` keep diff drivers out: the content judged is the content stored. A file is binary when git
 *   finds a NUL byte in its first 8,000 bytes (git's own test), whatever attributes say.
 * - Submodules: `--ignore-submodules=none` on every diff (it overrides `submodule.<name>.ignore` from
 *   `.gitmodules` or the config, and `diff.ignoreSubmodules`), plus `-c diff.ignoreSubmodules=none`; a
 *   gitlink is always a file of the change (mode 160000), shown as `--submodule=short` whatever `diff.submodule`
 *   says.
 * - Configuration that changes what a diff reports: `core.bigFileThreshold` (files above it count as binary)
 *   is set back to git's default of 512 MiB; prefixes, external diff, colour and relative paths are fixed
 *   by options.
 *
 * Objects git writes here (trees of a staged index, blobs of a patch applied to a scratch index) go to a
 * scratch object directory that reads the repository's objects as an alternate: nothing is left behind.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { contentNeeds } from '../rails/needs.js';
import type { AddedLine, ChangeFacts, FileChange, FileChangeStatus, RailsPolicy } from '../rails/types.js';
import { FactsError } from './errors.js';
import { ObjectReader, type ObjectInfo } from './object-reader.js';
import {
  bytesEnv,
  gitBytes,
  isUtf8,
  LOSSY_UTF8,
  OutputTooLarge,
  scratchDir,
  STRICT_UTF8,
  type ScratchDir,
} from './exec.js';
import { readAddedContent, type PatchSection } from './patch-lines.js';

/** Largest patch text read for its added lines: 100 MiB (bytes). */
export const MAX_PATCH_BYTES = 100 * 1024 * 1024;

/**
 * Largest file whose whole text is read for the rails (ChangeFacts.contents / contentsBefore): 1 MiB
 * (bytes). A larger file, or one that is not UTF-8, is left out: the rules that needed it block
 * (content-unread).
 */
export const MAX_CONTENT_BYTES = 1024 * 1024;

/**
 * Exact copies (FileChange.copyOf): a new file counts as a copy of base files only when it has at least
 * MIN_COPY_LINES lines and MIN_COPY_BYTES bytes (binary files: the bytes alone). Tiny files (an empty
 * `__init__.py`, a one-line stub) are identical to many files by chance, and naming them as copies would only
 * make noise. At most MAX_COPY_SOURCES base paths are named per file (in tree order).
 */
export const MIN_COPY_LINES = 2;
/** See {@link MIN_COPY_LINES}: 16 bytes. */
export const MIN_COPY_BYTES = 16;
/** See {@link MIN_COPY_LINES}: 10 paths. */
export const MAX_COPY_SOURCES = 10;

/** Longest symbolic-link target read from the base tree: 4,096 bytes (PATH_MAX on Linux). */
const MAX_LINK_TARGET_BYTES = 4096;

/** Modes of regular files (the only ones a copy is looked for among). */
const REGULAR_MODES = new Set(['100644', '100755', '100664']);

/** `-c` settings every command here runs with (see the module docs). */
export const NEUTRAL_CONFIG: readonly string[] = Object.freeze([
  '-c',
  'core.attributesFile=/dev/null',
  '-c',
  'diff.ignoreSubmodules=none',
  '-c',
  'core.bigFileThreshold=512m',
  '-c',
  'diff.noprefix=false',
  '-c',
  'diff.mnemonicPrefix=false',
  '-c',
  'diff.suppressBlankEmpty=false',
  '-c',
  'apply.ignoreWhitespace=no',
  '-c',
  'apply.whitespace=nowarn',
  '-c',
  'core.autocrlf=false',
  '-c',
  'core.safecrlf=false',
]);

/** Options of every diff here: output independent of the user's diff configuration and of submodule settings. */
export const NEUTRAL_DIFF_OPTIONS: readonly string[] = Object.freeze([
  '--no-ext-diff',
  '--no-textconv',
  '--no-color',
  '--no-relative',
  '--submodule=short',
  '--ignore-submodules=none',
]);

// ---- the neutral context --------------------------------------------------------------------------------

/** A repository opened for attribute- and submodule-neutral git calls (see the module docs). */
export interface NeutralGit {
  /** Top of the work tree. */
  root: string;
  /** Absolute git directory (of the worktree, for a linked worktree). */
  gitDir: string;
  /** The repository's object format: object ids are SHA-1 (40 hex digits) or SHA-256 (64). */
  objectFormat: 'sha1' | 'sha256';
  /** The commit HEAD names, or undefined when it names none (a repository without a commit yet). */
  head: string | undefined;
  /** The scratch directory (empty work tree `wt/`, object directory `objects/`, index files). */
  scratch: ScratchDir;
  /**
   * Runs git with the neutral settings: `git <NEUTRAL_CONFIG> <args>` in the empty work tree. `index`: the
   * index file to use (default: an empty one; 'repository' for the repository's own index).
   * @throws GitError when git fails; OutputTooLarge over `maxBytes`.
   */
  run(
    args: string[],
    opts?: { input?: Buffer | string; maxBytes?: number; index?: string | 'repository' },
  ): Promise<Buffer>;
  /** The repository's objects, read through one `git cat-file --batch-command` process (started by `start()`). */
  objects: ObjectReader;
  /** Ends the object reader and removes the scratch directory. */
  close(): Promise<void>;
}

/**
 * Opens the repository containing `dir` for neutral git calls, or returns null when `dir` is not inside a
 * git work tree. The caller must call `close()` (in a finally).
 */
export async function openNeutral(dir: string): Promise<NeutralGit | null> {
  const args = [
    'rev-parse',
    '--show-toplevel',
    '--absolute-git-dir',
    '--path-format=absolute',
    '--git-path',
    'objects',
    '--show-object-format',
  ];
  let out: string[];
  try {
    // HEAD too, in the same call; a repository without a commit fails it, and is asked again without.
    out = (await gitBytes([...args, 'HEAD^{commit}'], { cwd: dir })).toString('utf8').split('\n');
  } catch {
    try {
      out = (await gitBytes(args, { cwd: dir })).toString('utf8').split('\n');
    } catch {
      return null;
    }
  }
  const [root, gitDir, objects, format, head] = out;
  if (!root || !gitDir || !objects) return null;
  const scratch = await scratchDir();
  const wt = join(scratch.dir, 'wt');
  const scratchObjects = join(scratch.dir, 'objects');
  await mkdir(wt);
  await mkdir(scratchObjects);
  const baseEnv: Record<string, string> = {
    GIT_DIR: gitDir,
    GIT_WORK_TREE: wt,
    GIT_OBJECT_DIRECTORY: scratchObjects,
    GIT_ALTERNATE_OBJECT_DIRECTORIES: objects,
    GIT_ATTR_NOSYSTEM: '1',
    GIT_LITERAL_PATHSPECS: '1',
  };
  const emptyIndex = join(scratch.dir, 'empty-index');
  const objectsReader = new ObjectReader(
    ['-c', 'core.quotepath=false', ...NEUTRAL_CONFIG],
    wt,
    bytesEnv({ ...baseEnv, GIT_INDEX_FILE: emptyIndex }),
  );
  return {
    root,
    gitDir,
    objectFormat: format === 'sha256' ? 'sha256' : 'sha1',
    head: head !== undefined && /^[0-9a-f]{40,64}$/.test(head) ? head : undefined,
    scratch,
    run: (args, opts = {}) => {
      const env = { ...baseEnv };
      if (opts.index !== 'repository') env.GIT_INDEX_FILE = opts.index ?? emptyIndex;
      return gitBytes([...NEUTRAL_CONFIG, ...args], {
        cwd: wt,
        env,
        input: opts.input,
        maxBytes: opts.maxBytes,
      });
    },
    objects: objectsReader,
    close: async () => {
      objectsReader.close();
      await scratch.remove();
    },
  };
}

/** git's object id of a blob holding `content` (UTF-8), in the repository's object format. */
export function blobId(content: string | Buffer, format: 'sha1' | 'sha256'): string {
  const hash = createHash(format === 'sha256' ? 'sha256' : 'sha1');
  if (typeof content === 'string') {
    hash.update(`blob ${Buffer.byteLength(content, 'utf8')}\0`).update(content, 'utf8');
  } else {
    hash.update(`blob ${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

// ---- reading git's output -------------------------------------------------------------------------------

/**
 * git's machine output (names included) as text.
 * @throws FactsError 'path-encoding' when a name is not valid UTF-8 (the rails judge paths as text).
 */
export function decodeNames(bytes: Buffer, what: string): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    const sample = LOSSY_UTF8.decode(bytes)
      .split('\0')
      .find((t) => t.includes('\uFFFD'));
    throw new FactsError(
      'path-encoding',
      `${what} names a file whose path is not valid UTF-8 (${JSON.stringify(sample ?? '?')}, invalid bytes shown as \uFFFD): the rails judge paths as UTF-8 text, so such a change cannot be checked; rename the file`,
    );
  }
}

const STATUS_BY_LETTER: Record<string, FileChangeStatus> = {
  A: 'added',
  M: 'modified',
  D: 'deleted',
  R: 'renamed',
  C: 'copied',
  T: 'type-changed',
};

/** Object ids of one file before and after, as `git diff --raw --no-abbrev` prints them (all zeros: none). */
export interface FileOids {
  old?: string;
  new?: string;
}

/** Facts of `git diff --raw --numstat -z` with the object ids of each file. */
export interface RawFacts {
  files: FileChange[];
  /** Same index as `files`. */
  oids: FileOids[];
}

/** An object id that is not all zeros, else undefined. */
function realOid(oid: string): string | undefined {
  return /^0+$/.test(oid) ? undefined : oid;
}

/**
 * Parses the output of `git diff --raw --numstat -z --no-abbrev` (raw records first, then numstat records,
 * all fields NUL-terminated) into facts and the object ids of each file.
 * @throws Error naming the offending record when the output is not in that format.
 */
export function parseRawNumstatOids(output: string): RawFacts {
  const tokens = output.split('\0');
  if (tokens[tokens.length - 1] === '') tokens.pop();
  let i = 0;
  const next = (what: string): string => {
    const t = tokens[i++];
    if (t === undefined) throw new Error(`unexpected end of git diff -z output: expected ${what}`);
    return t;
  };

  const raw: {
    status: FileChangeStatus;
    oldMode: string;
    newMode: string;
    path: string;
    oldPath?: string;
    oids: FileOids;
  }[] = [];
  while (i < tokens.length && tokens[i]!.startsWith(':')) {
    const meta = next('a raw record');
    const m = /^:(\d{6}) (\d{6}) ([0-9a-f]+)\.*? ([0-9a-f]+)\.*? ([A-Z])(\d*)$/.exec(meta);
    if (!m) throw new Error(`unexpected git diff --raw record ${JSON.stringify(meta)}`);
    const letter = m[5]!;
    const status = STATUS_BY_LETTER[letter];
    if (!status) {
      throw new Error(`git diff reported status ${letter} (e.g. U = unmerged) for a file; resolve it first`);
    }
    const oids: FileOids = {};
    const o = realOid(m[3]!);
    const n = realOid(m[4]!);
    if (o !== undefined) oids.old = o;
    if (n !== undefined) oids.new = n;
    if (status === 'renamed' || status === 'copied') {
      const oldPath = next(`the source path of ${meta}`);
      const path = next(`the destination path of ${meta}`);
      raw.push({ status, oldMode: m[1]!, newMode: m[2]!, path, oldPath, oids });
    } else {
      raw.push({ status, oldMode: m[1]!, newMode: m[2]!, path: next(`the path of ${meta}`), oids });
    }
  }

  const counts: { added: string; deleted: string; path: string; oldPath?: string }[] = [];
  while (i < tokens.length) {
    const record = next('a numstat record');
    const m = /^(\d+|-)\t(\d+|-)\t([\s\S]*)$/.exec(record);
    if (!m) throw new Error(`unexpected git diff --numstat record ${JSON.stringify(record)}`);
    if (m[3] === '') {
      const oldPath = next('the source path of a rename in --numstat');
      const path = next('the destination path of a rename in --numstat');
      counts.push({ added: m[1]!, deleted: m[2]!, path, oldPath });
    } else {
      counts.push({ added: m[1]!, deleted: m[2]!, path: m[3]! });
    }
  }

  if (counts.length !== raw.length) {
    throw new Error(`git diff printed ${raw.length} --raw records but ${counts.length} --numstat records`);
  }
  const files: FileChange[] = raw.map((r, k) => {
    const c = counts[k]!;
    if (c.path !== r.path || (c.oldPath ?? r.oldPath) !== r.oldPath) {
      throw new Error(
        `git diff --raw and --numstat disagree at record ${k + 1}: ${JSON.stringify(r.path)} vs ${JSON.stringify(c.path)}`,
      );
    }
    const binary = c.added === '-' || c.deleted === '-';
    const file: FileChange = {
      path: r.path,
      status: r.status,
      oldMode: r.oldMode,
      newMode: r.newMode,
      binary,
      linesAdded: binary ? 0 : Number(c.added),
      linesDeleted: binary ? 0 : Number(c.deleted),
    };
    if (r.oldPath !== undefined) file.oldPath = r.oldPath;
    return file;
  });
  return { files, oids: raw.map((r) => r.oids) };
}

/**
 * Parses the output of `git diff --raw --numstat -z` into facts (see {@link parseRawNumstatOids}).
 * @throws Error naming the offending record when the output is not in that format.
 */
export function parseRawNumstatZ(output: string): ChangeFacts {
  return { files: parseRawNumstatOids(output).files };
}

// ---- trees and objects ----------------------------------------------------------------------------------

/** One entry of a tree listing. */
export interface TreeEntry {
  mode: string;
  oid: string;
}

/** Every file of a tree (`git ls-tree -r`), by path, and its symbolic links. */
export interface TreeListing {
  entries: ReadonlyMap<string, TreeEntry>;
  /** Paths of mode 120000, in tree order. */
  symlinks: readonly string[];
}

/** The empty listing (no tree). */
export const EMPTY_LISTING: TreeListing = Object.freeze({ entries: new Map(), symlinks: [] });

/**
 * Every file of `treeish` (`git ls-tree -r -z --full-tree`): trees are read, no blob is (a partial clone
 * fetches nothing). Paths that are not UTF-8 are kept with U+FFFD (they match no path of a change).
 * @throws GitError when `treeish` is not a tree-ish of the repository.
 */
export async function listTree(ng: NeutralGit, treeish: string): Promise<TreeListing> {
  const out = LOSSY_UTF8.decode(await ng.run(['ls-tree', '-r', '-z', '--full-tree', treeish, '--']));
  const entries = new Map<string, TreeEntry>();
  const symlinks: string[] = [];
  let pos = 0;
  while (pos < out.length) {
    const end = out.indexOf('\0', pos);
    const record = out.slice(pos, end < 0 ? out.length : end);
    pos = end < 0 ? out.length : end + 1;
    // "<mode> SP <type> SP <object> TAB <path>"
    const tab = record.indexOf('\t');
    const sp1 = record.indexOf(' ');
    const sp2 = record.indexOf(' ', sp1 + 1);
    if (tab < 0 || sp1 < 0 || sp2 < 0 || sp2 > tab) continue;
    const mode = record.slice(0, sp1);
    const path = record.slice(tab + 1);
    entries.set(path, { mode, oid: record.slice(sp2 + 1, tab) });
    if (mode === '120000') symlinks.push(path);
  }
  return { entries, symlinks };
}

/** Types and sizes of objects, by id (`info`: no content is read). @throws GitError when git fails. */
export function objectInfo(ng: NeutralGit, oids: readonly string[]): Promise<Map<string, ObjectInfo>> {
  return ng.objects.info(oids);
}

/**
 * Contents of objects, by id, as stored (no filter or conversion). Missing objects are left out.
 * @throws GitError when git fails.
 */
export function readObjects(ng: NeutralGit, oids: readonly string[]): Promise<Map<string, Buffer>> {
  return ng.objects.contents(oids);
}

// ---- the diff of two trees ------------------------------------------------------------------------------

/** Facts and patch text of the diff of two trees. */
export interface TreeDiff extends RawFacts {
  /** The patch text (UTF-8; invalid bytes as U+FFFD); '' when over MAX_PATCH_BYTES. */
  patch: string;
  /** False when the patch text is not a faithful reading of the added content (not UTF-8, or too large). */
  contentReadable: boolean;
  notes: string[];
}

/** Options of {@link diffTrees}. */
export interface DiffTreesOptions {
  /** Write binary files as `GIT binary patch` data (a patch `git apply` accepts); default: "Binary files differ". */
  binaryPatch?: boolean;
  /** Restrict the diff to these paths (literal pathspecs). */
  paths?: readonly string[];
  /** What the change is, for messages (e.g. "git diff base...head"). */
  what: string;
  /** Largest patch text read (bytes; default MAX_PATCH_BYTES): over it, `patch` is '' and unreadable. */
  maxPatchBytes?: number;
}

/**
 * The facts of `from..to` (two tree-ish object ids) with renames (`-M`, never copy detection: a copy is an
 * added file, counted whole, and exact copies are found by object id instead, see {@link enrichFacts}),
 * and the patch text: `git diff --raw --numstat -z --no-abbrev -M` and `git diff -M [--binary]`, both with
 * the neutral settings, run side by side.
 * @throws GitError when git fails; FactsError 'path-encoding' for a path that is not UTF-8; Error when git's
 *   output is not in the expected format.
 */
export async function diffTrees(
  ng: NeutralGit,
  from: string,
  to: string,
  opts: DiffTreesOptions,
): Promise<TreeDiff> {
  const pathspec = ['--', ...(opts.paths ?? [])];
  const [raw, patchResult] = await Promise.all([
    ng.run([
      'diff',
      '-M',
      '--raw',
      '--numstat',
      '-z',
      '--no-abbrev',
      ...NEUTRAL_DIFF_OPTIONS,
      from,
      to,
      ...pathspec,
    ]),
    ng
      .run(
        [
          'diff',
          '-M',
          ...(opts.binaryPatch ? ['--binary'] : []),
          '--src-prefix=a/',
          '--dst-prefix=b/',
          ...NEUTRAL_DIFF_OPTIONS,
          from,
          to,
          ...pathspec,
        ],
        { maxBytes: opts.maxPatchBytes ?? MAX_PATCH_BYTES },
      )
      .then(
        (bytes) => ({ bytes }),
        (e: unknown) => {
          if (e instanceof OutputTooLarge) return { bytes: undefined };
          throw e;
        },
      ),
  ]);
  const facts = parseRawNumstatOids(decodeNames(raw, opts.what));
  const notes: string[] = [];
  let patch = '';
  let contentReadable = true;
  if (patchResult.bytes === undefined) {
    contentReadable = false;
    notes.push(
      `the diff is larger than ${opts.maxPatchBytes ?? MAX_PATCH_BYTES} bytes: its added lines were not read`,
    );
  } else {
    patch = LOSSY_UTF8.decode(patchResult.bytes);
    if (!isUtf8(patchResult.bytes)) {
      contentReadable = false;
      notes.push('the diff is not valid UTF-8 text: its added lines cannot be read faithfully');
    }
  }
  return { ...facts, patch, contentReadable, notes };
}

/** The tree object id of `rev` (a commit or tree). @throws GitError when it is none. */
export async function treeOf(ng: NeutralGit, rev: string): Promise<string> {
  return (await ng.run(['rev-parse', '--verify', '--quiet', `${rev}^{tree}`])).toString('utf8').trim();
}

// ---- enrichment -----------------------------------------------------------------------------------------

/** What {@link enrichFacts} works from. */
export interface EnrichInput {
  /** The repository; null for a patch read without one (then nothing is read from git). */
  ng: NeutralGit | null;
  /** git's facts of the change (not modified: copies are returned). */
  files: readonly FileChange[];
  /** Object ids of each file (same index), as far as known. */
  oids: readonly FileOids[];
  /**
   * The text of each file after the change when it is known without git (same index): a file a patch
   * creates, whose every line the patch holds. Used when the new object id is not known.
   */
  knownAfter?: readonly (string | undefined)[];
  /** The patch sections each file's added lines were read from (same index), when they were read. */
  sections?: readonly (PatchSection | undefined)[];
  /** The added lines, when they were read (absent: unread, the content rules block). */
  addedLines?: AddedLine[];
  /**
   * The base tree (what the change applies to); undefined when unknown (a patch without a repository: no
   * copy, no symbolic link and no file before the change is known).
   */
  base: TreeListing | undefined;
  /** The policy: decides which whole files the rails need (contentNeeds). Absent: none are read. */
  policy?: RailsPolicy;
  /**
   * Paths whose content before and after the caller wants (e.g. the policy file), read in the same batch.
   * Needs a base: without one, both are undefined.
   */
  capture?: readonly string[];
}

/** A captured file: its text before and after the change, null when absent, undefined when unknown. */
export interface CapturedText {
  path: string;
  before: string | null | undefined;
  after: string | null | undefined;
}

/** Facts with everything the rails asked for, the captured files and notes for the user. */
export interface Enriched {
  facts: ChangeFacts;
  captured: CapturedText[];
  notes: string[];
}

/**
 * Completes git's facts with what the rails need besides (each from git's objects or the patch, never the
 * work tree):
 * - `bytesAdded` per file: the bytes of its added lines with their line endings (from the patch section),
 *   for a binary file the size of its new blob (`git cat-file --batch-check`), 0 for a deletion;
 * - `copyOf` for an added or copied regular file whose new blob id equals that of a regular file of the base
 *   tree (found by object id: no base blob is read), not for the empty blob nor files under MIN_COPY_LINES /
 *   MIN_COPY_BYTES, at most MAX_COPY_SOURCES paths;
 * - `contents` / `contentsBefore` / `absentBefore` for the files `contentNeeds(facts, policy)` lists, each up
 *   to MAX_CONTENT_BYTES and valid UTF-8 (else left out: the rails block as content-unread);
 * - `baseSymlinks`: every symbolic link of the base tree with its target.
 * @throws GitError when git fails.
 */
export async function enrichFacts(input: EnrichInput): Promise<Enriched> {
  const { ng } = input;
  const base = input.base ?? EMPTY_LISTING;
  const format = ng?.objectFormat ?? 'sha1';
  const notes: string[] = [];
  const files = input.files.map((f) => ({ ...f }));
  const emptyBlob = blobId('', format);
  const facts: ChangeFacts = { files };
  if (input.addedLines !== undefined) facts.addedLines = input.addedLines;
  const needs = input.policy ? contentNeeds(facts, input.policy) : { after: [], before: [] };

  const afterIndex = new Map<string, number>();
  files.forEach((f, k) => {
    if (f.status !== 'deleted' && !afterIndex.has(f.path)) afterIndex.set(f.path, k);
  });
  const oldOidOf = (path: string): string | undefined => {
    for (let k = 0; k < files.length; k++) {
      const f = files[k]!;
      if (f.status !== 'added' && (f.oldPath ?? f.path) === path && input.oids[k]?.old)
        return input.oids[k]!.old;
    }
    return base.entries.get(path)?.oid;
  };
  const afterOids = needs.after.map((p) => {
    const k = afterIndex.get(p);
    return k === undefined || input.knownAfter?.[k] !== undefined ? undefined : input.oids[k]?.new;
  });
  const beforeOids = needs.before.map(oldOidOf);
  const linkOids = base.symlinks.map((p) => base.entries.get(p)!.oid);
  const binaryOids = files.flatMap((f, k) => {
    const oid = input.oids[k]?.new;
    return f.binary && f.status !== 'deleted' && oid !== undefined ? [oid] : [];
  });
  // Captured files: before from the base, after from the change (a file it writes, deletes, or leaves).
  const captureOids = (input.base === undefined ? [] : (input.capture ?? [])).map((p) => {
    const before = base.entries.get(p)?.oid;
    const k = afterIndex.get(p);
    if (k !== undefined) {
      const known = input.knownAfter?.[k];
      return { before, after: known !== undefined ? { text: known } : { oid: input.oids[k]?.new } };
    }
    const gone = files.some((f) => (f.oldPath ?? f.path) === p && f.status !== 'copied');
    return { before, after: gone ? { text: null } : { unchanged: true as const } };
  });
  const captureWanted = captureOids.flatMap((c) => [c.before, 'oid' in c.after ? c.after.oid : undefined]);
  const wanted = [...afterOids, ...beforeOids].filter((o): o is string => o !== undefined);
  const info = ng ? await objectInfo(ng, [...binaryOids, ...wanted]) : new Map<string, ObjectInfo>();
  const small = wanted.filter((o) => {
    const i = info.get(o);
    return i != null && i.type === 'blob' && i.size <= MAX_CONTENT_BYTES;
  });
  const extra = [...captureWanted, ...linkOids].filter((o): o is string => o !== undefined);
  const blobs = ng ? await readObjects(ng, [...small, ...extra]) : new Map<string, Buffer>();

  // Bytes added.
  files.forEach((f, k) => {
    if (f.status === 'deleted') {
      f.bytesAdded = 0;
      return;
    }
    const section = input.sections?.[k];
    if (f.binary) {
      const oid = input.oids[k]?.new;
      const size = oid !== undefined ? info.get(oid)?.size : section?.binaryLiteralSize;
      if (size !== undefined) f.bytesAdded = size;
    } else if (section !== undefined) {
      f.bytesAdded = section.bytesAdded;
    } else if (input.addedLines !== undefined && f.linesAdded === 0) {
      f.bytesAdded = 0;
    }
  });

  // Exact copies, by object id.
  const candidates: { f: FileChange; oid: string }[] = [];
  files.forEach((f, k) => {
    if (f.status !== 'added' && f.status !== 'copied') return;
    if (!REGULAR_MODES.has(f.newMode) || (f.bytesAdded ?? 0) < MIN_COPY_BYTES) return;
    if (!f.binary && f.linesAdded < MIN_COPY_LINES) return;
    const known = input.knownAfter?.[k];
    const oid = input.oids[k]?.new ?? (known !== undefined ? blobId(known, format) : undefined);
    if (oid !== undefined && oid !== emptyBlob) candidates.push({ f, oid });
  });
  if (candidates.length > 0 && input.base !== undefined) {
    const wantedOids = new Set(candidates.map((c) => c.oid));
    const byOid = new Map<string, string[]>();
    for (const [path, e] of base.entries) {
      if (!wantedOids.has(e.oid) || !REGULAR_MODES.has(e.mode)) continue;
      const list = byOid.get(e.oid) ?? [];
      if (list.length < MAX_COPY_SOURCES + 1) list.push(path);
      byOid.set(e.oid, list);
    }
    for (const { f, oid } of candidates) {
      const sources = byOid
        .get(oid)
        ?.filter((p) => p !== f.path)
        .slice(0, MAX_COPY_SOURCES);
      if (sources !== undefined && sources.length > 0) f.copyOf = sources;
    }
  }

  // Whole files.
  const text = (oid: string | undefined): string | undefined => {
    const bytes = oid === undefined ? undefined : blobs.get(oid);
    return bytes !== undefined && isUtf8(bytes) ? STRICT_UTF8.decode(bytes) : undefined;
  };
  if (needs.after.length > 0 || needs.before.length > 0) {
    const contents: Record<string, string> = {};
    needs.after.forEach((p, i) => {
      const k = afterIndex.get(p);
      const known = k === undefined ? undefined : input.knownAfter?.[k];
      const t =
        known !== undefined
          ? Buffer.byteLength(known, 'utf8') <= MAX_CONTENT_BYTES
            ? known
            : undefined
          : text(afterOids[i]);
      if (t !== undefined) contents[p] = t;
    });
    const contentsBefore: Record<string, string> = {};
    const absentBefore: string[] = [];
    needs.before.forEach((p, i) => {
      const oid = beforeOids[i];
      if (oid === undefined) {
        // Absent in a known base; unknown (unread) without one.
        if (input.base !== undefined) absentBefore.push(p);
        return;
      }
      const t = text(oid);
      if (t !== undefined) contentsBefore[p] = t;
    });
    const unread = [
      ...needs.after.filter((p) => contents[p] === undefined),
      ...needs.before.filter((p) => contentsBefore[p] === undefined && !absentBefore.includes(p)),
    ];
    if (unread.length > 0) {
      notes.push(
        `${unread.length} whole file(s) the rails need could not be read (larger than ${MAX_CONTENT_BYTES} bytes, not UTF-8, or not available), so the rules that need them block: ${unread.slice(0, 3).join(', ')}${unread.length > 3 ? ', ...' : ''}`,
      );
    }
    facts.contents = contents;
    facts.contentsBefore = contentsBefore;
    facts.absentBefore = absentBefore;
  }

  const captured: CapturedText[] = (input.capture ?? []).map((path, i) => {
    const c = captureOids[i];
    if (c === undefined) return { path, before: undefined, after: undefined };
    const read = (oid: string): string | undefined => {
      const bytes = blobs.get(oid);
      return bytes === undefined ? undefined : LOSSY_UTF8.decode(bytes);
    };
    // No object before: absent from the base; no object after: unknown (e.g. a gitlink).
    const before = c.before === undefined ? null : read(c.before);
    let after: string | null | undefined;
    if ('unchanged' in c.after) after = before;
    else if ('text' in c.after) after = c.after.text;
    else after = c.after.oid === undefined ? undefined : read(c.after.oid);
    return { path, before, after };
  });

  // The base tree's symbolic links (unknown without a base).
  if (input.base !== undefined) {
    const links: Record<string, string> = {};
    for (const p of base.symlinks) {
      const bytes = blobs.get(base.entries.get(p)!.oid);
      if (bytes !== undefined) links[p] = LOSSY_UTF8.decode(bytes.subarray(0, MAX_LINK_TARGET_BYTES));
    }
    facts.baseSymlinks = links;
  }
  return { facts, captured, notes };
}

// ---- a change as the diff of two trees ----------------------------------------------------------------

/** Facts of a change between two trees, with its added lines and everything the rails asked for. */
export interface TreeChange {
  facts: ChangeFacts;
  /** The patch text the added lines were read from ('' when over MAX_PATCH_BYTES). */
  patch: string;
  /** Why the added lines were not read, when they were not (then `facts.addedLines` is unset). */
  linesError?: string;
  /** The files asked for with `capture`, before (at `from`) and after (at `to`). */
  captured: CapturedText[];
  notes: string[];
}

/**
 * The change `from..to` (tree-ish ids of the repository) read with the neutral settings: git's facts
 * ({@link diffTrees}), the added lines read from git's patch (checked against git's counts), then
 * {@link enrichFacts} against the listing of `from`.
 * @throws GitError when git fails; FactsError 'path-encoding' for a path that is not UTF-8.
 */
export async function treeChange(
  ng: NeutralGit,
  from: string,
  to: string,
  opts: { binaryPatch?: boolean; policy?: RailsPolicy; what: string; capture?: readonly string[] },
): Promise<TreeChange> {
  ng.objects.start();
  const [diff, base] = await Promise.all([
    diffTrees(ng, from, to, { binaryPatch: opts.binaryPatch, what: opts.what }),
    listTree(ng, from),
  ]);
  const notes = [...diff.notes];
  let addedLines: AddedLine[] | undefined;
  let sections: (PatchSection | undefined)[] | undefined;
  let linesError: string | undefined;
  if (diff.contentReadable) {
    try {
      ({ addedLines, sections } = readAddedContent(diff.files, diff.patch));
    } catch (e) {
      linesError = e instanceof Error ? e.message : String(e);
      notes.push(`the added lines could not be read (${linesError})`);
    }
  } else {
    linesError = notes[notes.length - 1];
  }
  const enriched = await enrichFacts({
    ng,
    files: diff.files,
    oids: diff.oids,
    sections,
    addedLines,
    base,
    policy: opts.policy,
    capture: opts.capture,
  });
  return {
    facts: enriched.facts,
    patch: diff.patch,
    ...(linesError !== undefined ? { linesError } : {}),
    captured: enriched.captured,
    notes: [...notes, ...enriched.notes],
  };
}

/**
 * The STAGED changes of the worktree at `worktreeDir` against `base` (default HEAD), as {@link treeChange}:
 * the index is written as a tree (`git write-tree`, into the scratch object directory) and compared with
 * `base`'s tree, so neither the work tree's nor the index's `.gitattributes` and `.gitmodules` are read.
 * The patch has binary files as `GIT binary patch` data (it is what a proposal carries to `git apply`).
 * @throws GitError when git fails (e.g. `base` is not a commit, unmerged entries in the index); Error when
 *   `worktreeDir` is not in a git work tree.
 */
export async function stagedChange(
  worktreeDir: string,
  base = 'HEAD',
  policy?: RailsPolicy,
): Promise<TreeChange> {
  const ng = await openNeutral(worktreeDir);
  if (ng === null) throw new Error(`not a git work tree: ${worktreeDir}`);
  try {
    const tree = (await ng.run(['write-tree'], { index: 'repository' })).toString('utf8').trim();
    const baseTree = await treeOf(ng, base);
    return await treeChange(ng, baseTree, tree, {
      binaryPatch: true,
      policy,
      what: `the staged changes in ${worktreeDir}`,
    });
  } finally {
    await ng.close();
  }
}
