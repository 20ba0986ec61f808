/**
 * Facts about a change for `check` and the pull-request gate, from git itself, for the two inputs a user
 * has: a range of commits (`--base/--head`) or a patch (`--patch`). Everything the rails read comes from
 * here: per-file facts, the added lines, bytes added, exact copies, the whole files the policy's rules need
 * (contentNeeds) and the base tree's symbolic links.
 *
 * Range: the change is `base...head`, like a pull request's "Files changed" tab: what head changes since it
 * forked from base (`git merge-base base head`), not the difference between the two tips. The two trees are
 * compared with attributes and submodule settings neutralised (tree-facts.ts: nothing the change or the
 * checkout can set decides what is binary, hides a gitlink or rewrites content), with `-M` and no copy
 * detection: a copy is an added file counted whole, and exact copies are found by object id.
 *
 * Patch, with a repository (exact facts):
 * 1. `git apply --cached --check --numstat --summary -z` against a SCRATCH index holding HEAD (`git read-tree
 *    HEAD`; `--check` writes nothing), and `git apply -R --numstat -z` for the old names (parseApplyOutput in
 *    apply-output.ts). When the check fails, the patch is not judged from its text: `facts.unapplicable`
 *    carries git's reason (e.g. "affected file ... is beyond a symbolic link") and the facts are those of the
 *    patch read alone (the rails block it: change-unapplicable).
 * 2. Modes git does not print (a file whose mode does not change) come from HEAD's tree (`git ls-tree -r`,
 *    which also gives the base's symbolic links and the object ids exact copies are found by).
 * 3. The added lines are read once from the patch text (patch-lines.ts), checked against git's counts.
 * 4. Only the files that must be applied to be known are applied, to the scratch index with `git apply
 *    --cached --include=...` (blobs go to a scratch object directory), and compared with HEAD with the
 *    neutral settings: files the patch writes as binary (a binary patch is not taken at its word: a text file
 *    written as `GIT binary patch`, as `*.ts -diff` makes git write it, is judged as text), copies declared by
 *    the patch (`copy from`: counted whole), the whole files contentNeeds lists that the patch does not create,
 *    and captured files (the policy file).
 *
 * Patch, without a repository (or outside one): git's own reading of the patch alone (steps 1 and 3 without a
 * check), the modes git does not print taken from the `index <old>..<new> <mode>` line of the file's git header
 * (headerModes): a traditional diff (`diff -u`) can only describe regular files (100644); a git section
 * without an index line (a 100% rename or copy) is taken as a regular file too, and the notes say so. Whole
 * files are known only for files the patch creates.
 *
 * Bad input: a patch larger than MAX_PATCH_BYTES is refused before git runs; a patch git cannot read gives
 * a PatchError quoting git; an empty patch gives no files (the rails block it as change-empty); bytes that
 * are not UTF-8 are passed to git as bytes: content that is not UTF-8 leaves the added lines unread (the
 * content rules then block), and a PATH that is not UTF-8 is a FactsError (the rails judge paths as text).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AddedLine, ChangeFacts, FileChange, RailsPolicy } from '../rails/types.js';
import { contentNeeds } from '../rails/needs.js';
import {
  hasRenameOrCopy,
  headerModes,
  parseApplyOutput,
  REGULAR,
  withHeaderModes,
  type ApplyRecord,
  type PatchReading,
} from './apply-output.js';
import { FactsError, PatchError, RevisionError } from './errors.js';
import { gitBytes, GitError, gitSays, isUtf8, LOSSY_UTF8, scratchDir, type ScratchDir } from './exec.js';
import { createdText, readAddedContent, type PatchSection } from './patch-lines.js';
import {
  decodeNames,
  diffTrees,
  enrichFacts,
  listTree,
  MAX_PATCH_BYTES,
  NEUTRAL_CONFIG,
  openNeutral,
  readObjects,
  treeChange,
  treeOf,
  type FileOids,
  type TreeDiff,
  type NeutralGit,
  type TreeListing,
} from './tree-facts.js';

export { FactsError, PatchError, RevisionError, type FactsErrorKind } from './errors.js';
export {
  headerModes,
  parseApplyOutput,
  renameText,
  type ApplyRecord,
  type HeaderModes,
} from './apply-output.js';
export {
  MAX_CONTENT_BYTES,
  MAX_COPY_SOURCES,
  MAX_PATCH_BYTES,
  MIN_COPY_BYTES,
  MIN_COPY_LINES,
} from './tree-facts.js';

/** A file whose content the caller wants before and after the change (e.g. the policy file). */
export interface CaptureRequest {
  /** Repository-relative POSIX path. */
  path: string;
  /**
   * Its content before the change when the caller knows it and git cannot (a patch checked without a
   * repository): a string, or null when it does not exist. Ignored when the facts come from a repository.
   */
  before?: string | null;
}

/** Content of a captured file: a string, null when the file does not exist, undefined when unknown. */
export interface CapturedFile {
  path: string;
  before: string | null | undefined;
  after: string | null | undefined;
}

/** How the facts were gathered (see the module comment). */
export type FactsSource = 'range' | 'patch-applied' | 'patch-only';

/** Facts about a change and the patch text its added lines were read from. */
export interface GatheredFacts {
  /**
   * Everything the rails read: per-file facts from git, `addedLines` (absent when they could not be read:
   * the content rules then block), bytes, copies, whole files (with a policy), the base's symbolic links
   * (with a repository) and `unapplicable` (a patch git cannot apply to HEAD).
   */
  facts: ChangeFacts;
  /** The patch text (UTF-8; bytes that are not UTF-8 replaced by U+FFFD). '' when too large to read. */
  patch: string;
  /**
   * False when the patch text is not a faithful reading of the added content (not valid UTF-8, or larger
   * than MAX_PATCH_BYTES): `facts.addedLines` is then unset.
   */
  contentReadable: boolean;
  /** Why `facts.addedLines` is unset, when it is. */
  linesError?: string;
  source: FactsSource;
  /** Things the user should know about how the facts were read, one sentence each. */
  notes: string[];
  /** The files asked for with `capture`, in the same order. */
  captured: CapturedFile[];
}

/** Facts of a range of commits, with the commits resolved. */
export interface RangeFacts extends GatheredFacts {
  /** Full commit ids of base, head and their merge base (the diff is mergeBase..head). */
  base: string;
  head: string;
  mergeBase: string;
}

/** The commits of a range, resolved (see {@link resolveRange}). */
export interface ResolvedRange {
  /** Top of the work tree. */
  root: string;
  base: string;
  head: string;
  mergeBase: string;
}

/** Options of factsFromRange. */
export interface RangeOptions {
  capture?: readonly CaptureRequest[];
  /** The policy the change is judged by: decides which whole files are read (contentNeeds). */
  policy?: RailsPolicy;
  /** The commits, when the caller resolved them already (resolveRange). */
  resolved?: ResolvedRange;
  /** The repository, already opened by the caller (openNeutral; the caller closes it). */
  neutral?: NeutralGit;
}

/** Options of factsFromPatch. */
export interface PatchOptions {
  /** A git checkout the patch is meant for; facts are then exact, and a patch that does not apply is marked. */
  repoDir?: string;
  capture?: readonly CaptureRequest[];
  /** The policy the change is judged by: decides which whole files are read (contentNeeds). */
  policy?: RailsPolicy;
  /**
   * The repository, already opened by the caller (openNeutral; the caller closes it): saves opening it
   * again. Takes the place of `repoDir`.
   */
  neutral?: NeutralGit;
}

// ---- range -------------------------------------------------------------------------------------------

/**
 * The full commit id of `rev` in the repository at `repoDir`.
 * @throws RevisionError naming `rev` (and `flag`, e.g. "--base") when it is not a commit there.
 */
async function resolveCommit(repoDir: string, rev: string, flag: string): Promise<string> {
  if (rev === '' || rev.startsWith('-') || /[\0\n]/.test(rev)) {
    throw new RevisionError(
      'bad-revision',
      `${flag} ${JSON.stringify(rev)} is not a revision: give a commit id, branch or tag (it must not start with "-")`,
    );
  }
  try {
    const out = await gitBytes(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd: repoDir });
    return out.toString('utf8').trim();
  } catch (e) {
    throw new RevisionError(
      'bad-revision',
      `${flag} ${JSON.stringify(rev)} is not a commit of the repository at ${repoDir}; fetch it first (on GitHub Actions: actions/checkout with fetch-depth: 0)`,
      { cause: e },
    );
  }
}

/** The top of the work tree containing `dir`, or null when it is not in one. */
async function workTreeRoot(dir: string): Promise<string | null> {
  try {
    const out = await gitBytes(['rev-parse', '--show-toplevel'], { cwd: dir });
    const root = out.toString('utf8').replace(/\n$/, '');
    return root === '' ? null : root;
  } catch {
    return null;
  }
}

/**
 * Resolves `base` and `head` to commits of the repository at `repoDir`, and their merge base (the range's
 * real base, from which the config of a range check is read).
 * @throws FactsError 'not-a-repository' when repoDir is not a git work tree; RevisionError 'bad-revision'
 *   naming the revision when it is not a commit there (e.g. a shallow clone without the base commit),
 *   'no-merge-base' when the two have no common ancestor.
 */
export async function resolveRange(repoDir: string, base: string, head: string): Promise<ResolvedRange> {
  const root = await workTreeRoot(repoDir);
  if (root === null) {
    throw new FactsError(
      'not-a-repository',
      `not a git repository: ${repoDir} (--base/--head need a git checkout; pass --repo DIR)`,
    );
  }
  const baseSha = await resolveCommit(root, base, '--base');
  const headSha = await resolveCommit(root, head, '--head');
  try {
    const mergeBase = (await gitBytes(['merge-base', baseSha, headSha], { cwd: root }))
      .toString('utf8')
      .trim();
    return { root, base: baseSha, head: headSha, mergeBase };
  } catch (e) {
    throw new RevisionError(
      'no-merge-base',
      `--base ${JSON.stringify(base)} and --head ${JSON.stringify(head)} have no common ancestor in ${root} (unrelated histories, or a shallow clone: fetch the full history, e.g. actions/checkout with fetch-depth: 0)`,
      { cause: e },
    );
  }
}

/**
 * Content of `spec` (`rev:path`, or `:path` in the index `index`) as stored (no filter), or null when it
 * does not exist.
 */
async function showAt(ng: NeutralGit, spec: string, index?: string): Promise<string | null> {
  try {
    return LOSSY_UTF8.decode(await ng.run(['cat-file', 'blob', spec], index ? { index } : {}));
  } catch (e) {
    if (e instanceof GitError) return null;
    throw e;
  }
}

/**
 * Facts about what `head` changes since it forked from `base` (`base...head`, as a pull request shows it),
 * compared tree to tree with the neutral settings of tree-facts.ts (see the module comment), with the added
 * lines, bytes, exact copies, the base's symbolic links and, with `opts.policy`, the whole files the rails
 * need. A patch text over MAX_PATCH_BYTES is not read: `patch` is '' and `contentReadable` false.
 * @param repoDir a git work tree (any directory inside it)
 * @param base, head revisions (commit ids, branches, tags) that must be commits of the repository
 * @throws as resolveRange; FactsError 'path-encoding' for a path that is not UTF-8.
 */
export async function factsFromRange(
  repoDir: string,
  base: string,
  head: string,
  opts: RangeOptions = {},
): Promise<RangeFacts> {
  const resolved = opts.resolved ?? (await resolveRange(repoDir, base, head));
  const ng = opts.neutral ?? (await openNeutral(resolved.root));
  if (ng === null) {
    throw new FactsError('not-a-repository', `not a git repository: ${resolved.root}`);
  }
  try {
    const change = await treeChange(ng, resolved.mergeBase, resolved.head, {
      policy: opts.policy,
      what: `git diff ${base}...${head}`,
      capture: (opts.capture ?? []).map((c) => c.path),
    });
    const captured: CapturedFile[] = change.captured;
    return {
      facts: change.facts,
      patch: change.patch,
      contentReadable: change.linesError === undefined,
      ...(change.linesError !== undefined ? { linesError: change.linesError } : {}),
      source: 'range',
      notes: change.notes,
      captured,
      base: resolved.base,
      head: resolved.head,
      mergeBase: resolved.mergeBase,
    };
  } finally {
    if (opts.neutral === undefined) await ng.close();
  }
}

// ---- patch ---------------------------------------------------------------------------------------------

/** The added lines of a patch and where they were read from, or why they were not. */
interface PatchLines {
  addedLines?: AddedLine[];
  sections?: (PatchSection | undefined)[];
  linesError?: string;
}

/** Reads the added lines of `files` from `text` (see readAddedContent); never throws. */
function readLines(files: readonly FileChange[], text: string, utf8: boolean): PatchLines {
  if (!utf8)
    return { linesError: 'the patch is not valid UTF-8 text: its added lines cannot be read faithfully' };
  try {
    return readAddedContent(files, text);
  } catch (e) {
    return {
      linesError: `the added lines could not be read (${e instanceof Error ? e.message : String(e)})`,
    };
  }
}

/** The text of each file the patch creates whole (an added text file), by index; undefined for the others. */
function createdTexts(files: readonly FileChange[], lines: PatchLines): (string | undefined)[] {
  return files.map((f, k) => {
    const s = lines.sections?.[k];
    return lines.addedLines !== undefined && s !== undefined && f.status === 'added' && !f.binary && s.created
      ? createdText(s)
      : undefined;
  });
}

/**
 * Facts about a patch (a unified diff as `git diff`, `git format-patch` or `diff -u` write it), from git;
 * see the module comment for the two ways. An empty patch (no bytes, or only whitespace) gives no files.
 * @param patch the patch; a Buffer is passed to git byte for byte (use it for patches that may not be UTF-8)
 * @throws PatchError 'patch-too-large' above MAX_PATCH_BYTES (before git runs), 'patch-unreadable' quoting
 *   git when git cannot read it; FactsError 'path-encoding' for a path that is not UTF-8, 'git-output' when
 *   git's output cannot be matched unambiguously (e.g. mixed git and traditional diff sections).
 */
export async function factsFromPatch(
  patch: string | Buffer,
  opts: PatchOptions = {},
): Promise<GatheredFacts> {
  const bytes = typeof patch === 'string' ? Buffer.from(patch, 'utf8') : patch;
  if (bytes.length > MAX_PATCH_BYTES) {
    throw new PatchError(
      'patch-too-large',
      `the patch is ${bytes.length} bytes, more than the ${MAX_PATCH_BYTES} bytes (100 MiB) check accepts; split the change into smaller ones`,
    );
  }
  const text = LOSSY_UTF8.decode(bytes);
  const utf8 = isUtf8(bytes);
  if (text.trim() === '') {
    return {
      facts: { files: [], addedLines: [] },
      patch: '',
      contentReadable: true,
      source: 'patch-only',
      notes: ['the patch is empty'],
      captured: (opts.capture ?? []).map((c) => ({ path: c.path, before: c.before, after: c.before })),
    };
  }
  const notes: string[] = [];
  if (opts.neutral !== undefined) return patchInRepository(opts.neutral, bytes, text, utf8, opts);
  if (opts.repoDir !== undefined) {
    const ng = await openNeutral(opts.repoDir);
    if (ng !== null) {
      try {
        return await patchInRepository(ng, bytes, text, utf8, opts);
      } finally {
        await ng.close();
      }
    }
    notes.push(`${opts.repoDir} is not a git repository: facts read from the patch alone`);
  }
  const scratch = await scratchDir();
  try {
    const patchFile = join(scratch.dir, 'change.patch');
    await writeFile(patchFile, bytes);
    const run = (args: string[]): Promise<Buffer> =>
      gitBytes([...NEUTRAL_CONFIG, ...args], {
        cwd: scratch.dir,
        env: { ...scratch.env, GIT_ATTR_NOSYSTEM: '1' },
      });
    const { files, assumed } = await readPatchAlone(run, patchFile, text);
    return await patchOnly(files, text, utf8, opts, [...notes, ...assumedModeNotes(assumed)], async () =>
      captureFromPatch(opts.capture ?? [], files, patchFile, scratch),
    );
  } finally {
    await scratch.remove();
  }
}

/** Facts of a patch read alone (no base to read anything else from): files, added lines, bytes, created files. */
async function patchOnly(
  files: FileChange[],
  text: string,
  utf8: boolean,
  opts: PatchOptions,
  notes: string[],
  capture: () => Promise<CapturedFile[]>,
  extra: Partial<ChangeFacts> = {},
  repository?: { ng: NeutralGit; base: TreeListing },
): Promise<GatheredFacts> {
  const lines = readLines(files, text, utf8);
  const enriched = await enrichFacts({
    ng: repository?.ng ?? null,
    files,
    oids: files.map(() => ({})),
    knownAfter: createdTexts(files, lines),
    sections: lines.sections,
    addedLines: lines.addedLines,
    base: repository?.base,
    policy: opts.policy,
  });
  return {
    facts: { ...enriched.facts, ...extra },
    patch: text,
    contentReadable: utf8,
    ...(lines.linesError !== undefined ? { linesError: lines.linesError } : {}),
    source: 'patch-only',
    notes: [
      ...notes,
      ...(lines.linesError !== undefined && utf8 ? [lines.linesError] : []),
      ...(utf8 ? [] : ['the patch is not valid UTF-8 text: its added lines cannot be read faithfully']),
      ...enriched.notes,
    ],
    captured: await capture(),
  };
}

/** A note naming the files whose mode the patch alone does not give (taken as regular files), or none. */
function assumedModeNotes(assumed: readonly string[]): string[] {
  if (assumed.length === 0) return [];
  const shown =
    assumed.slice(0, 5).join(', ') + (assumed.length > 5 ? ` and ${assumed.length - 5} more` : '');
  return [
    `the patch does not give the mode of ${shown} (no index line); taken as regular files (100644): check with --repo where the patch applies for exact modes`,
  ];
}

/**
 * git's reading of a patch without applying it: `git apply --numstat --summary -z` and `git apply -R --numstat
 * -z` (run by `run`), matched by parseApplyOutput, with modes git does not print taken from the git headers.
 * @throws PatchError 'patch-unreadable' quoting git when git cannot read the patch.
 */
async function readPatchAlone(
  run: (args: string[]) => Promise<Buffer>,
  patchFile: string,
  text: string,
): Promise<PatchReading> {
  const records = await readRecords(run, patchFile);
  return withHeaderModes(records, headerModes(text));
}

/** git apply's records of the patch (forward and reverse run side by side). @throws PatchError as readPatchAlone. */
async function readRecords(
  run: (args: string[]) => Promise<Buffer>,
  patchFile: string,
): Promise<ApplyRecord[]> {
  let forward: Buffer;
  let reverse: Buffer;
  try {
    [forward, reverse] = await Promise.all([
      run(['apply', '--numstat', '--summary', '-z', patchFile]),
      run(['apply', '-R', '--numstat', '-z', patchFile]),
    ]);
  } catch (e) {
    if (e instanceof GitError) {
      throw new PatchError('patch-unreadable', `git cannot read the patch: ${gitSays(e)}`, { cause: e });
    }
    throw e;
  }
  return parseApplyOutput(decodeNames(forward, 'the patch'), decodeNames(reverse, 'the patch'));
}

/** `path` escaped for `git apply --include` (wildmatch: `*`, `?`, `[` and `\` are special). */
function includeOption(path: string): string {
  return `--include=${path.replace(/[*?[\]\\]/g, '\\$&')}`;
}

/** Files of an applicable patch with the modes git did not print taken from the base tree (HEAD). */
function withBaseModes(records: readonly ApplyRecord[], base: TreeListing): FileChange[] {
  return records.map((r) => {
    const known = base.entries.get(r.oldPath)?.mode ?? REGULAR;
    const file: FileChange = {
      path: r.path,
      status: r.status,
      oldMode: r.oldMode ?? known,
      newMode: r.newMode ?? known,
      binary: r.binary,
      linesAdded: r.linesAdded,
      linesDeleted: r.linesDeleted,
    };
    if (r.status === 'renamed' || r.status === 'copied') file.oldPath = r.oldPath;
    return file;
  });
}

/** Largest copy read whole to count its lines: MAX_PATCH_BYTES. */
const MAX_COPY_BYTES = MAX_PATCH_BYTES;

/**
 * A patch checked against HEAD of the repository `ng` opened (steps 1-4 of the module comment).
 * @throws PatchError when git cannot read the patch; FactsError as factsFromPatch.
 */
async function patchInRepository(
  ng: NeutralGit,
  bytes: Buffer,
  text: string,
  utf8: boolean,
  opts: PatchOptions,
): Promise<GatheredFacts> {
  const patchFile = join(ng.scratch.dir, 'change.patch');
  await writeFile(patchFile, bytes);
  const run = (args: string[]): Promise<Buffer> => ng.run(args);
  const head = ng.head;
  if (head === undefined) {
    const { files, assumed } = await readPatchAlone(run, patchFile, text);
    const reason = `the repository at ${ng.root} has no commit yet (HEAD does not resolve): there is nothing to apply the patch to`;
    return patchOnly(
      files,
      text,
      utf8,
      opts,
      [reason, ...assumedModeNotes(assumed)],
      async () => (opts.capture ?? []).map((c) => ({ path: c.path, before: undefined, after: undefined })),
      { unapplicable: reason },
    );
  }
  const index = join(ng.scratch.dir, 'apply-index');
  ng.objects.start();
  const [checked, base] = await Promise.allSettled([
    ng
      .run(['read-tree', head], { index })
      .then(() =>
        ng.run(['apply', '--cached', '--check', '--numstat', '--summary', '-z', patchFile], { index }),
      ),
    listTree(ng, head),
  ]);
  if (base.status === 'rejected') throw base.reason;
  let forward: string | undefined;
  let reverse: PromiseSettledResult<Buffer | undefined> = { status: 'fulfilled', value: undefined };
  if (checked.status === 'fulfilled') {
    forward = decodeNames(checked.value, 'the patch');
    // Old names differ from new ones only for renames and copies: only then is the reverse run needed.
    if (hasRenameOrCopy(forward)) {
      reverse = await ng.run(['apply', '-R', '--numstat', '-z', patchFile]).then(
        (value) => ({ status: 'fulfilled' as const, value }),
        (reason: unknown) => ({ status: 'rejected' as const, reason }),
      );
    }
  }
  if (checked.status === 'rejected' || reverse.status === 'rejected') {
    const failure =
      checked.status === 'rejected' ? checked.reason : (reverse as PromiseRejectedResult).reason;
    if (!(failure instanceof GitError)) throw failure;
    // Not applicable, or not a patch at all: git's reading of the patch alone tells which.
    const { files, assumed } = await readPatchAlone(run, patchFile, text);
    const reason = gitSays(failure).replace(/^error: /, '');
    return patchOnly(
      files,
      text,
      utf8,
      opts,
      [
        `the patch does not apply to HEAD of ${ng.root} (${reason}): it is judged unapplicable`,
        ...assumedModeNotes(assumed),
      ],
      async () => {
        const out: CapturedFile[] = [];
        for (const c of opts.capture ?? []) {
          const before = await showAt(ng, `${head}:${c.path}`);
          out.push({ path: c.path, before, after: undefined });
        }
        return out;
      },
      { unapplicable: reason },
      { ng, base: base.value },
    );
  }
  const records = parseApplyOutput(
    forward!,
    reverse.value === undefined ? undefined : decodeNames(reverse.value, 'the patch'),
  );
  const listing = base.value;
  const files = withBaseModes(records, listing);
  const lines = readLines(files, text, utf8);
  const notes: string[] = [];
  if (lines.linesError !== undefined) notes.push(lines.linesError);
  const oids: FileOids[] = files.map((f) => {
    const old = f.status === 'added' ? undefined : listing.entries.get(f.oldPath ?? f.path)?.oid;
    return old === undefined ? {} : { old };
  });
  const knownAfter = createdTexts(files, lines);
  let addedLines = lines.addedLines;
  const sections = lines.sections ? [...lines.sections] : undefined;

  // Step 4: the files that must be applied to be known.
  const needs = opts.policy
    ? contentNeeds({ files, ...(addedLines ? { addedLines } : {}) }, opts.policy)
    : { after: [], before: [] };
  const needed = new Set(needs.after);
  const subset = new Set<string>();
  files.forEach((f, k) => {
    if (f.status === 'deleted') return;
    if (f.binary || f.status === 'copied') subset.add(f.path);
    else if (knownAfter[k] === undefined && needed.has(f.path)) subset.add(f.path);
  });
  const capture = opts.capture ?? [];
  for (const c of capture) {
    if (files.some((f) => f.path === c.path && f.status !== 'deleted')) subset.add(c.path);
  }
  const sub = subset.size > 0 ? await applySubset(ng, head, index, patchFile, subset) : undefined;
  if (sub === null) {
    // The files could not be applied on their own: what they hold stays unread (the rails then block).
    notes.push(
      `the patch's binary files, copies or whole files could not be read once applied: they are left unread`,
    );
    if (files.some((f) => f.status === 'copied' || f.binary)) addedLines = undefined;
  }
  if (sub) {
    const subLines = sub.contentReadable ? readLines(sub.files, sub.patch, true) : {};
    const subIndex = new Map<string, number>();
    sub.files.forEach((f, i) => {
      if (f.status !== 'deleted') subIndex.set(f.path, i);
    });
    const copies: number[] = [];
    /** Lines read from the applied files (files the patch wrote as binary, copies counted whole). */
    const extra: AddedLine[] = [];
    /** Files whose lines from the patch text are replaced by `extra` (copies). */
    const replaced = new Set<string>();
    let unreadable = false;
    files.forEach((f, k) => {
      if (!subset.has(f.path) || f.status === 'deleted') return;
      const i = subIndex.get(f.path);
      if (i === undefined) return;
      const exact = sub.files[i]!;
      oids[k] = { ...oids[k], ...(sub.oids[i]!.new ? { new: sub.oids[i]!.new } : {}) };
      if (f.status === 'copied') {
        copies.push(k);
      } else if (f.binary && !exact.binary) {
        // Written as a binary patch, but text as stored: judge it as text.
        f.binary = false;
        f.linesAdded = exact.linesAdded;
        f.linesDeleted = exact.linesDeleted;
        const s = subLines.sections?.[i];
        if (sections !== undefined) sections[k] = s;
        if (subLines.addedLines === undefined || s === undefined) {
          if (exact.linesAdded > 0) {
            unreadable = true;
            notes.push(
              `the added lines of ${JSON.stringify(f.path)} (written as a binary patch) could not be read`,
            );
          }
        } else {
          for (const l of s.lines) extra.push({ ...l, path: f.path });
        }
        notes.push(
          `${JSON.stringify(f.path)} is written as a binary patch but its content is text: it is judged as text`,
        );
      }
    });
    if (copies.length > 0) {
      // A copy counts every line of the new file, as a reviewer sees it.
      const blobs = await readObjects(
        ng,
        copies.map((k) => oids[k]!.new).filter((o): o is string => o !== undefined),
      );
      for (const k of copies) {
        const f = files[k]!;
        const oid = oids[k]!.new;
        const content = oid === undefined ? undefined : blobs.get(oid);
        const exact = sub.files[subIndex.get(f.path)!]!;
        f.linesDeleted = 0;
        replaced.add(f.path);
        if (content === undefined || content.length > MAX_COPY_BYTES) {
          unreadable = true;
          notes.push(
            `the copy ${JSON.stringify(f.path)} could not be read whole: its lines are not counted faithfully`,
          );
          continue;
        }
        f.binary = exact.binary;
        if (f.binary || !isUtf8(content)) {
          f.linesAdded = 0;
          if (!f.binary) {
            unreadable = true;
            notes.push(`the copy ${JSON.stringify(f.path)} is not UTF-8 text: its lines cannot be read`);
          }
          if (sections !== undefined) sections[k] = undefined;
          continue;
        }
        const copyText = LOSSY_UTF8.decode(content);
        const whole = wholeSection(copyText, f.path);
        f.linesAdded = whole.lines.length;
        knownAfter[k] = copyText;
        if (sections !== undefined) sections[k] = whole;
        for (const l of whole.lines) extra.push(l);
      }
    }
    if (unreadable) addedLines = undefined;
    else if (addedLines !== undefined && (extra.length > 0 || replaced.size > 0)) {
      addedLines = (replaced.size > 0 ? addedLines.filter((l) => !replaced.has(l.path)) : addedLines).concat(
        extra,
      );
    }
  }
  const enriched = await enrichFacts({
    ng,
    files,
    oids,
    knownAfter,
    sections,
    addedLines,
    base: listing,
    policy: opts.policy,
    capture: capture.map((c) => c.path),
  });
  const captured: CapturedFile[] = enriched.captured;
  return {
    facts: enriched.facts,
    patch: text,
    contentReadable: utf8,
    ...(addedLines === undefined ? { linesError: lines.linesError ?? notes[notes.length - 1] } : {}),
    source: 'patch-applied',
    notes: [...notes, ...enriched.notes],
    captured,
  };
}

/**
 * The files `paths` of the patch applied alone to the scratch index holding HEAD (`git apply --cached
 * --include`; blobs go to the scratch object directory), compared with HEAD under the neutral settings; null
 * when git cannot apply them on their own.
 * @throws GitError when git fails otherwise.
 */
async function applySubset(
  ng: NeutralGit,
  head: string,
  index: string,
  patchFile: string,
  paths: ReadonlySet<string>,
): Promise<TreeDiff | null> {
  try {
    await ng.run(['apply', '--cached', ...[...paths].map(includeOption), patchFile], { index });
  } catch (e) {
    if (e instanceof GitError) return null;
    throw e;
  }
  const tree = (await ng.run(['write-tree'], { index })).toString('utf8').trim();
  return diffTrees(ng, await treeOf(ng, head), tree, { what: 'the patch applied to HEAD' });
}

/** A section holding every line of `text` as added (a copy, counted whole), for the file `path`. */
function wholeSection(text: string, path: string): PatchSection {
  const raw = text.split('\n');
  const noNewlineAtEnd = raw[raw.length - 1] !== '';
  if (!noNewlineAtEnd) raw.pop();
  const crlf: number[] = [];
  return {
    name: path,
    lines: raw.map((t, i) => {
      if (!t.endsWith('\r')) return { path, line: i + 1, text: t };
      crlf.push(i);
      return { path, line: i + 1, text: t.slice(0, -1) };
    }),
    crlf,
    bytesAdded: Buffer.byteLength(text, 'utf8'),
    noNewlineAtEnd,
    hunks: 1,
    created: true,
    binary: false,
  };
}

/**
 * Captured files for a patch read without a repository: `before` from the caller; `after` by applying the
 * patch to that one file in a scratch directory (`git apply --include`, neutral settings), null when the
 * patch deletes or renames it away, undefined when it cannot be computed.
 */
async function captureFromPatch(
  capture: readonly CaptureRequest[],
  files: readonly FileChange[],
  patchFile: string,
  scratch: ScratchDir,
): Promise<CapturedFile[]> {
  const out: CapturedFile[] = [];
  for (const req of capture) {
    const before = req.before;
    const touching = files.filter((f) => f.path === req.path || f.oldPath === req.path);
    let after: string | null | undefined;
    if (touching.length === 0) after = before;
    else if (!files.some((f) => f.path === req.path && f.status !== 'deleted')) after = null;
    else after = await applyOneFile(patchFile, req.path, before, scratch);
    out.push({ path: req.path, before, after });
  }
  return out;
}

/** `path` after applying the patch to it alone (content `before`, null = absent); undefined on failure. */
async function applyOneFile(
  patchFile: string,
  path: string,
  before: string | null | undefined,
  scratch: ScratchDir,
): Promise<string | null | undefined> {
  if (before === undefined) return undefined;
  const dir = join(scratch.dir, `apply-${Math.random().toString(36).slice(2)}`);
  try {
    const target = join(dir, ...path.split('/'));
    await mkdir(dir);
    if (before !== null) {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, before);
    }
    await gitBytes([...NEUTRAL_CONFIG, 'apply', includeOption(path), patchFile], {
      cwd: dir,
      env: { ...scratch.env, GIT_ATTR_NOSYSTEM: '1' },
    });
    try {
      return await readFile(target, 'utf8');
    } catch {
      return null;
    }
  } catch {
    return undefined;
  }
}
