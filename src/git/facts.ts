/**
 * Facts about a change for `check` and the pull-request gate, from git itself, for the two inputs a user
 * has: a range of commits (`--base/--head`) or a patch (`--patch`).
 *
 * Range: `git diff --raw --numstat -z -M -C --find-copies-harder --no-abbrev <merge-base> <head>` (parsed by
 * parseRawNumstatZ; copies are detected so a copy's source is checked too) and the patch text from
 * `git diff --binary -M`. Like a pull request's "Files changed" tab, the range is
 * `base...head`: the change head makes since it forked from base (`git merge-base base head`), not the
 * difference between the two tips.
 *
 * Patch, in this order of preference:
 * 1. With a repository whose HEAD the patch applies to: the patch is applied to a TEMPORARY INDEX
 *    (`GIT_INDEX_FILE=<tmp> git read-tree HEAD`, `git apply --cached`), and the facts are those of
 *    `git diff --cached --raw --numstat -z -M -C --find-copies-harder HEAD` against it: exact old and new
 *    modes, the same facts a range gives. No checkout and no worktree are needed (cheaper than a scratch
 *    worktree on a large repository); the only trace left is unreferenced blobs in the object store, which
 *    `git gc` prunes. The patch text returned is git's own diff of the result, so the added lines the
 *    content rules read are exactly what would land.
 * 2. Otherwise (no repository, no commit, or the patch does not apply to HEAD): git's own reading of the
 *    patch, without applying it, in an empty directory outside any repository:
 *    - `git apply --numstat --summary -z` gives, per file in patch order, `ADDED\tDELETED\tNAME\0` (`-\t-\t`
 *      for binary files; NAME is the new name, or the old name of a deletion; never quoted), followed by
 *      the --summary lines, which ignore -z: newline-terminated, names unquoted (so a name may contain
 *      " => " or a line break): ` create mode 100644 NAME`, ` delete mode 100644 NAME` (` create NAME` /
 *      ` delete NAME` for traditional diffs), ` rename|copy OLD => NEW (SCORE%)` with a common leading
 *      directory written `dir/{old => new}`, ` rewrite NAME (SCORE%)`, each of the last three optionally
 *      followed by ` mode change OLD => NEW`, and ` mode change OLD => NEW NAME` for a mode change alone. A
 *      plain modification prints no summary line.
 *    - `git apply -R --numstat -z` gives the OLD names (NUL-terminated, unambiguous), in reverse order with
 *      the counts swapped: with both names known, every summary line is matched against the exact text git
 *      prints for them (see parseApplyOutput), never split on " => " or on line breaks.
 *    - What git's output does not say is the mode of a file whose mode did not change (a modified or renamed
 *      symlink or submodule). That comes from the `index <old>..<new> <mode>` line of the file's git header
 *      (headerModes): the only thing read from the patch text here. A traditional diff (`diff -u`) can only
 *      describe regular files (100644); a git section without an index line (a 100% rename or copy) is
 *      taken as a regular file too, and the result's notes say so.
 *
 * Bad input: a patch larger than MAX_PATCH_BYTES is refused before git runs; a patch git cannot read gives
 * a PatchError quoting git; an empty patch gives no files (the rails block it as change-empty); bytes that
 * are not UTF-8 are passed to git as bytes: content that is not UTF-8 makes `contentReadable` false (the
 * caller then leaves the added lines unread, so the content rules block), and a PATH that is not UTF-8 is
 * a FactsError (the rails judge paths as text). CRLF line endings are git's business: a patch whose lines
 * all end in CRLF is read by git like any other.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ChangeFacts, FileChange, FileChangeStatus } from '../rails/types.js';
import { GIT_DEFAULT_TIMEOUT_MS, GIT_MAX_BUFFER_BYTES, GitError, parseRawNumstatZ } from './git.js';

/** Largest patch `check` accepts: 100 MiB (bytes). Larger patches are refused before git runs. */
export const MAX_PATCH_BYTES = 100 * 1024 * 1024;

/** Mode of a regular file, as git prints it. */
const REGULAR = '100644';
/** Mode git prints for "no file" (the old side of a creation, the new side of a deletion). */
const NONE = '000000';

/** What went wrong while gathering facts. */
export type FactsErrorKind =
  | 'patch-unreadable'
  | 'patch-too-large'
  | 'path-encoding'
  | 'bad-revision'
  | 'no-merge-base'
  | 'not-a-repository'
  | 'git-output';

/**
 * Input the facts cannot be gathered from: the user must fix it (the CLI exits with code 2). `kind` says
 * which problem; the message names the bad value and what would work.
 */
export class FactsError extends Error {
  override readonly name: string = 'FactsError';
  readonly kind: FactsErrorKind;
  constructor(kind: FactsErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/** A patch that cannot be used: larger than MAX_PATCH_BYTES, or not readable by git (the message quotes git). */
export class PatchError extends FactsError {
  override readonly name = 'PatchError';
}

/** A revision that is not a commit of the repository, or two commits without a common ancestor. */
export class RevisionError extends FactsError {
  override readonly name = 'RevisionError';
}

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

/** Facts about a change and the patch text its added lines can be read from. */
export interface GatheredFacts {
  /** Per-file facts from git; `addedLines` is NOT set here (the caller attaches it from `patch`). */
  facts: ChangeFacts;
  /** The patch text (UTF-8; bytes that are not UTF-8 replaced by U+FFFD). '' when too large to read. */
  patch: string;
  /**
   * False when the patch text is not a faithful reading of the added content (not valid UTF-8, or larger
   * than MAX_PATCH_BYTES): the caller must then leave `addedLines` unset so the content rules block.
   */
  contentReadable: boolean;
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

/** Options of factsFromRange. */
export interface RangeOptions {
  capture?: readonly CaptureRequest[];
}

/** Options of factsFromPatch. */
export interface PatchOptions {
  /** A git checkout the patch is meant for; facts are then exact when the patch applies to its HEAD. */
  repoDir?: string;
  capture?: readonly CaptureRequest[];
}

// ---- running git on bytes ----------------------------------------------------------------------------

interface GitBytesOptions {
  cwd: string;
  /** Bytes written to stdin (closed at once when absent). */
  input?: Buffer;
  /** Extra environment (e.g. GIT_INDEX_FILE). */
  env?: Record<string, string>;
  /** Kill git and fail with `tooLarge` when stdout exceeds this many bytes (default GIT_MAX_BUFFER_BYTES). */
  maxBytes?: number;
}

/** stdout of git went over `maxBytes`. */
class OutputTooLarge extends Error {}

/**
 * Runs `git -c core.quotepath=false <args>` and returns stdout as bytes (runGit in git.ts decodes UTF-8 and
 * cannot set GIT_INDEX_FILE). Same environment rules as runGit: C locale, no prompts, no inherited
 * GIT_DIR/GIT_WORK_TREE/GIT_INDEX_FILE. @throws GitError on failure, OutputTooLarge over maxBytes.
 */
function gitBytes(args: string[], opts: GitBytesOptions): Promise<Buffer> {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  for (const name of [
    'GIT_DIR',
    'GIT_WORK_TREE',
    'GIT_INDEX_FILE',
    'GIT_COMMON_DIR',
    'GIT_PREFIX',
    'GIT_OBJECT_DIRECTORY',
    'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  ]) {
    delete env[name];
  }
  Object.assign(env, opts.env ?? {});
  const maxBytes = opts.maxBytes ?? GIT_MAX_BUFFER_BYTES;
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', ['-c', 'core.quotepath=false', ...args], {
      cwd: opts.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let tooLarge = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, GIT_DEFAULT_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > maxBytes) {
        tooLarge = true;
        child.kill('SIGTERM');
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new GitError({
          args,
          cwd: opts.cwd,
          exitCode: null,
          signal: null,
          timedOut: false,
          stderr,
          detail: `${err.code ?? 'error'}: ${err.message}`,
        }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (tooLarge) {
        reject(new OutputTooLarge(`git ${args[0]} printed more than ${maxBytes} bytes`));
      } else if (code === 0) {
        resolvePromise(Buffer.concat(out));
      } else {
        reject(
          new GitError({
            args,
            cwd: opts.cwd,
            exitCode: code,
            signal,
            timedOut,
            stderr,
            detail: timedOut ? `ran longer than ${GIT_DEFAULT_TIMEOUT_MS} ms` : undefined,
          }),
        );
      }
    });
    // git may exit before reading all of stdin (a bad patch): that EPIPE is not the error to report.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? undefined);
  });
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
const LOSSY_UTF8 = new TextDecoder('utf-8');

/** True when `bytes` are valid UTF-8. */
function isUtf8(bytes: Uint8Array): boolean {
  try {
    STRICT_UTF8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * git's machine output (names included) as text.
 * @throws FactsError 'path-encoding' when a name is not valid UTF-8 (the rails judge paths as text).
 */
function decodeNames(bytes: Buffer, what: string): string {
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

/**
 * Rename AND copy detection for the facts: a file copied from an existing one (even an unchanged one) is
 * reported as a copy with both names, so the rails check its source too (a blocked file copied into an
 * allowed directory is caught). Exact copies are found by hashing; inexact detection is skipped by git on
 * very large changes (diff.renameLimit).
 */
const FIND_RENAMES_AND_COPIES = ['-M', '-C', '--find-copies-harder'];

/** Options that make diff output independent of the user's diff configuration (as in git.ts). */
const STABLE_DIFF_OPTIONS = [
  '--no-ext-diff',
  '--no-textconv',
  '--no-color',
  '--no-relative',
  '--submodule=short',
];

/** The first line of git's stderr, for messages. */
function gitSays(err: unknown): string {
  if (err instanceof GitError) {
    const line = err.stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '');
    return line ?? err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** An empty directory outside any repository, removed by the returned function. */
async function scratchDir(): Promise<{
  dir: string;
  env: Record<string, string>;
  remove: () => Promise<void>;
}> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'self-evolution-facts-')));
  return {
    dir,
    // git must not find a repository above the scratch directory (it would filter paths by its prefix).
    env: { GIT_CEILING_DIRECTORIES: dirname(dir) },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
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

/** Content of `path` at commit `rev` (git show rev:path), or null when it does not exist there. */
async function showAt(
  repoDir: string,
  rev: string,
  path: string,
  env?: Record<string, string>,
): Promise<string | null> {
  try {
    const out = await gitBytes(['cat-file', 'blob', `${rev}:${path}`], { cwd: repoDir, env });
    return LOSSY_UTF8.decode(out);
  } catch (e) {
    if (e instanceof GitError) return null;
    throw e;
  }
}

/**
 * Facts about what `head` changes since it forked from `base` (`base...head`, as a pull request shows it):
 * the merge base is found with `git merge-base base head`, then `git diff --raw --numstat -z -M
 * --no-abbrev <merge-base> <head>` gives the per-file facts (parseRawNumstatZ) and `git diff --binary -M`
 * the patch text. A patch text over MAX_PATCH_BYTES is not read: `patch` is '' and `contentReadable` false.
 * @param repoDir a git work tree (any directory inside it)
 * @param base, head revisions (commit ids, branches, tags) that must be commits of the repository
 * @throws RevisionError 'bad-revision' naming the revision when it is not a commit there (e.g. a shallow
 *   clone without the base commit), 'no-merge-base' when the two have no common ancestor; FactsError
 *   'not-a-repository' when repoDir is not a git work tree, 'path-encoding' for a path that is not UTF-8.
 */
export async function factsFromRange(
  repoDir: string,
  base: string,
  head: string,
  opts: RangeOptions = {},
): Promise<RangeFacts> {
  const root = await workTreeRoot(repoDir);
  if (root === null) {
    throw new FactsError(
      'not-a-repository',
      `not a git repository: ${repoDir} (--base/--head need a git checkout; pass --repo DIR)`,
    );
  }
  const baseSha = await resolveCommit(root, base, '--base');
  const headSha = await resolveCommit(root, head, '--head');
  let mergeBase: string;
  try {
    mergeBase = (await gitBytes(['merge-base', baseSha, headSha], { cwd: root })).toString('utf8').trim();
  } catch (e) {
    throw new RevisionError(
      'no-merge-base',
      `--base ${JSON.stringify(base)} and --head ${JSON.stringify(head)} have no common ancestor in ${root} (unrelated histories, or a shallow clone: fetch the full history, e.g. actions/checkout with fetch-depth: 0)`,
      { cause: e },
    );
  }
  const raw = await gitBytes(
    [
      'diff',
      ...FIND_RENAMES_AND_COPIES,
      '--raw',
      '--numstat',
      '-z',
      '--no-abbrev',
      ...STABLE_DIFF_OPTIONS,
      mergeBase,
      headSha,
      '--',
    ],
    { cwd: root },
  );
  const facts = parseRawNumstatZ(decodeNames(raw, `git diff ${base}...${head}`));
  const notes: string[] = [];
  let patch = '';
  let contentReadable = true;
  try {
    const bytes = await gitBytes(
      [
        'diff',
        '--binary',
        '-M',
        '--src-prefix=a/',
        '--dst-prefix=b/',
        ...STABLE_DIFF_OPTIONS,
        mergeBase,
        headSha,
        '--',
      ],
      { cwd: root, maxBytes: MAX_PATCH_BYTES },
    );
    patch = LOSSY_UTF8.decode(bytes);
    if (!isUtf8(bytes)) {
      contentReadable = false;
      notes.push('the diff is not valid UTF-8 text: its added lines cannot be read faithfully');
    }
  } catch (e) {
    if (!(e instanceof OutputTooLarge)) throw e;
    contentReadable = false;
    notes.push(`the diff is larger than ${MAX_PATCH_BYTES} bytes: its added lines were not read`);
  }
  const captured: CapturedFile[] = [];
  for (const req of opts.capture ?? []) {
    captured.push({
      path: req.path,
      before: await showAt(root, mergeBase, req.path),
      after: await showAt(root, headSha, req.path),
    });
  }
  return {
    facts,
    patch,
    contentReadable,
    source: 'range',
    notes,
    captured,
    base: baseSha,
    head: headSha,
    mergeBase,
  };
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

// ---- patch ---------------------------------------------------------------------------------------------

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
  const notes: string[] = [];
  if (!utf8) notes.push('the patch is not valid UTF-8 text: its added lines cannot be read faithfully');
  if (text.trim() === '') {
    return {
      facts: { files: [] },
      patch: '',
      contentReadable: true,
      source: 'patch-only',
      notes: ['the patch is empty'],
      captured: (opts.capture ?? []).map((c) => ({ path: c.path, before: c.before, after: c.before })),
    };
  }

  const scratch = await scratchDir();
  try {
    const patchFile = join(scratch.dir, 'change.patch');
    await writeFile(patchFile, bytes);
    let root: string | undefined;
    if (opts.repoDir !== undefined) {
      root = (await workTreeRoot(opts.repoDir)) ?? undefined;
      if (root === undefined)
        notes.push(`${opts.repoDir} is not a git repository: facts read from the patch alone`);
    }
    let reason: string | undefined;
    if (root !== undefined) {
      const applied = await applyToTemporaryIndex(root, patchFile, scratch.dir, opts.capture ?? []);
      if (applied.ok) {
        return {
          facts: applied.facts,
          patch: applied.patch,
          contentReadable: applied.contentReadable,
          source: 'patch-applied',
          notes: [...applied.notes],
          captured: applied.captured,
        };
      }
      reason = applied.reason;
    }
    // git's own reading of the patch: also the judge of whether it is a patch at all.
    const { files, assumed } = await readPatchWithGit(bytes, text, scratch);
    if (root !== undefined) {
      notes.push(`the patch does not apply to HEAD of ${root} (${reason}): facts read from the patch alone`);
    }
    return {
      facts: { files },
      patch: text,
      contentReadable: utf8,
      source: 'patch-only',
      notes: [...notes, ...assumedModeNotes(assumed)],
      captured: await captureFromPatch(opts.capture ?? [], files, patchFile, root),
    };
  } finally {
    await scratch.remove();
  }
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

/** Files of a patch as git reads them, and the paths whose mode was assumed (see withHeaderModes). */
interface PatchReading {
  files: FileChange[];
  assumed: string[];
}

/**
 * git's reading of a patch without applying it: `git apply --numstat --summary -z` and `git apply -R
 * --numstat -z` in an empty scratch directory, matched by parseApplyOutput, with modes git does not print
 * taken from the git headers (headerModes).
 */
async function readPatchWithGit(
  bytes: Buffer,
  text: string,
  scratch: { dir: string; env: Record<string, string> },
): Promise<PatchReading> {
  let forward: Buffer;
  let reverse: Buffer;
  try {
    forward = await gitBytes(['apply', '--numstat', '--summary', '-z', '-'], {
      cwd: scratch.dir,
      env: scratch.env,
      input: bytes,
    });
    reverse = await gitBytes(['apply', '-R', '--numstat', '-z', '-'], {
      cwd: scratch.dir,
      env: scratch.env,
      input: bytes,
    });
  } catch (e) {
    if (e instanceof GitError) {
      throw new PatchError('patch-unreadable', `git cannot read the patch: ${gitSays(e)}`, { cause: e });
    }
    throw e;
  }
  const records = parseApplyOutput(decodeNames(forward, 'the patch'), decodeNames(reverse, 'the patch'));
  return withHeaderModes(records, headerModes(text));
}

/** What `git apply --numstat --summary -z` (+ `-R --numstat -z`) says about one file of a patch. */
export interface ApplyRecord {
  /** New path (for a deletion: the deleted path). */
  path: string;
  /** Old path (equal to `path` unless renamed or copied). */
  oldPath: string;
  status: Exclude<FileChangeStatus, 'type-changed'>;
  /** Modes git printed in the summary (create/delete/mode change); undefined when it printed none. */
  oldMode?: string;
  newMode?: string;
  binary: boolean;
  linesAdded: number;
  linesDeleted: number;
  /** Similarity (rename, copy) or dissimilarity (rewrite) in percent, when git printed one. */
  score?: number;
}

interface NumstatRecord {
  added: string;
  deleted: string;
  name: string;
}

/**
 * Reads `ADDED\tDELETED\tNAME\0` records from the start of `output`; returns them and where they end.
 * @throws FactsError 'git-output' on anything else.
 */
function readNumstatZ(output: string): { records: NumstatRecord[]; end: number } {
  const records: NumstatRecord[] = [];
  const head = /(\d+|-)\t(\d+|-)\t/y;
  let pos = 0;
  while (pos < output.length && output[pos] !== ' ') {
    head.lastIndex = pos;
    const m = head.exec(output);
    if (!m) throw outputError(`unexpected --numstat record ${JSON.stringify(output.slice(pos, pos + 60))}`);
    const nameStart = head.lastIndex;
    const nul = output.indexOf('\0', nameStart);
    if (nul < 0 || nul === nameStart) throw outputError('a --numstat record without a NUL-terminated name');
    records.push({ added: m[1]!, deleted: m[2]!, name: output.slice(nameStart, nul) });
    pos = nul + 1;
  }
  return { records, end: pos };
}

function outputError(detail: string): FactsError {
  return new FactsError('git-output', `cannot read git apply's output for the patch: ${detail}`);
}

/**
 * How `git apply --summary` writes a rename or copy of `oldPath` to `newPath`: leading directories both
 * share are written once, `dir/{old => new}`; otherwise `old => new` (git's show_rename_copy).
 */
export function renameText(oldPath: string, newPath: string): string {
  let at = 0;
  for (;;) {
    const so = oldPath.indexOf('/', at);
    const sn = newPath.indexOf('/', at);
    if (so < 0 || sn < 0 || so !== sn || oldPath.slice(at, so) !== newPath.slice(at, sn)) break;
    at = so + 1;
  }
  if (at === 0) return `${oldPath} => ${newPath}`;
  return `${oldPath.slice(0, at)}{${oldPath.slice(at)} => ${newPath.slice(at)}}`;
}

/**
 * Matches the output of `git apply --numstat --summary -z` (`forward`) and of `git apply -R --numstat -z`
 * (`reverse`) on the same patch into one record per file, in patch order. The reverse run lists the same
 * files in reverse order with the counts swapped and the OLD names, so both names of every file are known
 * and each summary line is compared with the exact text git prints for them.
 * @throws FactsError 'git-output' when the two runs disagree or a summary line is not what git prints.
 */
export function parseApplyOutput(forward: string, reverse: string): ApplyRecord[] {
  const fwd = readNumstatZ(forward);
  const rev = readNumstatZ(reverse);
  if (rev.end !== reverse.length) throw outputError('unexpected text after the reverse --numstat records');
  if (fwd.records.length !== rev.records.length) {
    throw outputError(`${fwd.records.length} files forward but ${rev.records.length} in reverse`);
  }
  const olds = [...rev.records].reverse();
  const summary = forward.slice(fwd.end);
  let s = 0;
  const mode = '([0-7]{6})';
  /** Matches `re` (sticky) at the current position; on success advances past it and returns the groups. */
  const take = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = s;
    const m = re.exec(summary);
    if (m) s = re.lastIndex;
    return m;
  };
  /** Takes exactly `text` at the current position. */
  const takeText = (text: string): boolean => {
    if (!summary.startsWith(text, s)) return false;
    s += text.length;
    return true;
  };
  const optionalModeChange = (): { oldMode: string; newMode: string } | undefined => {
    const m = take(new RegExp(` mode change ${mode} => ${mode}\\n`, 'y'));
    return m ? { oldMode: m[1]!, newMode: m[2]! } : undefined;
  };

  const out: ApplyRecord[] = [];
  fwd.records.forEach((r, k) => {
    const o = olds[k]!;
    const binary = r.added === '-' || r.deleted === '-';
    const reverseBinary = o.added === '-' || o.deleted === '-';
    if (binary !== reverseBinary || (!binary && (o.added !== r.deleted || o.deleted !== r.added))) {
      throw outputError(`the reverse reading of ${JSON.stringify(r.name)} does not mirror the forward one`);
    }
    const base = {
      path: r.name,
      oldPath: o.name,
      binary,
      linesAdded: binary ? 0 : Number(r.added),
      linesDeleted: binary ? 0 : Number(r.deleted),
    };
    out.push(summaryOf(base, o.name === r.name));
  });
  if (s !== summary.length) {
    throw outputError(`unexpected summary text ${JSON.stringify(summary.slice(s, s + 80))}`);
  }
  return out;

  /** The record of one file, taking its summary lines (if any) at the current position. */
  function summaryOf(base: Omit<ApplyRecord, 'status'>, same: boolean): ApplyRecord {
    const name = escapeRegExp(base.path);
    if (same) {
      let m = take(new RegExp(` (create|delete) mode ${mode} ${name}\\n`, 'y'));
      if (m) {
        return m[1] === 'create'
          ? { ...base, status: 'added', oldMode: NONE, newMode: m[2]! }
          : { ...base, status: 'deleted', oldMode: m[2]!, newMode: NONE };
      }
      // A traditional diff (--- /dev/null) states no mode: git creates a regular file.
      if (takeText(` create ${base.path}\n`))
        return { ...base, status: 'added', oldMode: NONE, newMode: REGULAR };
      if (takeText(` delete ${base.path}\n`))
        return { ...base, status: 'deleted', oldMode: REGULAR, newMode: NONE };
      m = take(new RegExp(` rewrite ${name} \\((\\d+)%\\)\\n`, 'y'));
      if (m) return { ...base, status: 'modified', score: Number(m[1]), ...optionalModeChange() };
      m = take(new RegExp(` mode change ${mode} => ${mode} ${name}\\n`, 'y'));
      if (m) return { ...base, status: 'modified', oldMode: m[1]!, newMode: m[2]! };
    }
    const m = take(
      new RegExp(` (rename|copy) ${escapeRegExp(renameText(base.oldPath, base.path))} \\((\\d+)%\\)\\n`, 'y'),
    );
    if (m) {
      return {
        ...base,
        status: m[1] === 'rename' ? 'renamed' : 'copied',
        score: Number(m[2]),
        ...optionalModeChange(),
      };
    }
    if (!same) {
      throw outputError(
        `${JSON.stringify(base.oldPath)} becomes ${JSON.stringify(base.path)} but git's summary has no rename or copy line for it`,
      );
    }
    return { ...base, status: 'modified' };
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What the git header of one file section of a patch says about modes. */
export interface HeaderModes {
  /** From `index <a>..<b> <mode>`: the mode of a file whose mode does not change. */
  indexMode?: string;
  oldMode?: string;
  newMode?: string;
  newFileMode?: string;
  deletedFileMode?: string;
}

/** Lines of git's extended header (after `diff --git`), as git's parser accepts them. */
const EXTENDED_HEADER =
  /^(old mode|new mode|deleted file mode|new file mode|copy from|copy to|rename from|rename to|rename old|rename new|similarity index|dissimilarity index|index) /;

/**
 * The modes stated in the git header of each `diff --git` section of a patch, in order. A `diff --git`
 * line cannot occur inside a hunk (hunk lines start with ' ', '+', '-' or '\'; base85 lines of binary
 * patches contain no space), so the sections are exactly those git reads. The header is the run of
 * extended header lines right after `diff --git`; a trailing CR is ignored, as git ignores it.
 */
export function headerModes(patch: string): HeaderModes[] {
  const sections: HeaderModes[] = [];
  let current: HeaderModes | undefined;
  for (const rawLine of patch.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.startsWith('diff --git ')) {
      current = {};
      sections.push(current);
      continue;
    }
    if (!current) continue;
    if (!EXTENDED_HEADER.test(line)) {
      current = undefined;
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^index [0-9a-f]+\.\.[0-9a-f]+ ([0-7]{6})$/.exec(line))) current.indexMode = m[1];
    else if ((m = /^old mode ([0-7]{6})$/.exec(line))) current.oldMode = m[1];
    else if ((m = /^new mode ([0-7]{6})$/.exec(line))) current.newMode = m[1];
    else if ((m = /^new file mode ([0-7]{6})$/.exec(line))) current.newFileMode = m[1];
    else if ((m = /^deleted file mode ([0-7]{6})$/.exec(line))) current.deletedFileMode = m[1];
  }
  return sections;
}

/**
 * FileChanges from git's records, with the modes git does not print taken from the headers (paired in
 * order; each pairing is checked against what git said about creation, deletion and mode changes).
 * @throws FactsError 'git-output' when the sections cannot be paired with git's records.
 */
function withHeaderModes(records: readonly ApplyRecord[], headers: readonly HeaderModes[]): PatchReading {
  if (headers.length !== 0 && headers.length !== records.length) {
    throw outputError(
      `git read ${records.length} file(s) but the patch has ${headers.length} "diff --git" section(s) (git and traditional diff sections mixed?); write the patch with git diff, or check it with --repo where it applies`,
    );
  }
  const assumed: string[] = [];
  const files = records.map((r, k): FileChange => {
    const h = headers[k];
    if (h) {
      const mismatch =
        (r.status === 'added') !== (h.newFileMode !== undefined) ||
        (r.status === 'deleted') !== (h.deletedFileMode !== undefined) ||
        (r.status === 'added' && r.newMode !== h.newFileMode) ||
        (r.status === 'deleted' && r.oldMode !== h.deletedFileMode) ||
        (r.oldMode !== undefined &&
          r.status !== 'added' &&
          r.status !== 'deleted' &&
          r.oldMode !== h.oldMode);
      if (mismatch) {
        throw outputError(
          `git's reading of ${JSON.stringify(r.path)} does not match section ${k + 1} of the patch`,
        );
      }
    }
    let oldMode = r.oldMode;
    let newMode = r.newMode;
    if (oldMode === undefined || newMode === undefined) {
      if (h === undefined) {
        // A traditional diff (no git header at all) can only describe regular files.
        oldMode = newMode = REGULAR;
      } else if (h.indexMode !== undefined) {
        oldMode = newMode = h.indexMode;
      } else {
        // A git section without an index line: a 100% rename or copy. Its mode is not in the patch.
        oldMode = newMode = REGULAR;
        assumed.push(r.path);
      }
    }
    const file: FileChange = {
      path: r.path,
      status: r.status,
      oldMode,
      newMode,
      binary: r.binary,
      linesAdded: r.linesAdded,
      linesDeleted: r.linesDeleted,
    };
    if (r.status === 'renamed' || r.status === 'copied') file.oldPath = r.oldPath;
    return file;
  });
  return { files, assumed };
}

/** Result of applying a patch to a temporary index of the repository's HEAD. */
type Applied =
  | {
      ok: true;
      facts: ChangeFacts;
      patch: string;
      contentReadable: boolean;
      notes: string[];
      captured: CapturedFile[];
    }
  | { ok: false; reason: string };

/**
 * Applies the patch to a temporary index holding HEAD (`git read-tree HEAD`, `git apply --cached`) and
 * reads the facts and the patch text of the result against HEAD. Never touches the real index or the work
 * tree. Returns `{ok: false, reason}` when HEAD does not resolve or the patch does not apply.
 */
async function applyToTemporaryIndex(
  root: string,
  patchFile: string,
  scratchDirPath: string,
  capture: readonly CaptureRequest[],
): Promise<Applied> {
  let head: string;
  let objects: string;
  try {
    head = (await gitBytes(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { cwd: root }))
      .toString('utf8')
      .trim();
    objects = (
      await gitBytes(['rev-parse', '--path-format=absolute', '--git-path', 'objects'], { cwd: root })
    )
      .toString('utf8')
      .trim();
  } catch {
    return { ok: false, reason: 'the repository has no commit yet' };
  }
  // The blobs `git apply --cached` writes go to a scratch object directory that reads the repository's own
  // objects as an alternate: checking a patch leaves nothing behind in the user's repository.
  const scratchObjects = join(scratchDirPath, 'objects');
  await mkdir(scratchObjects, { recursive: true });
  const env = {
    GIT_INDEX_FILE: join(scratchDirPath, 'index'),
    GIT_OBJECT_DIRECTORY: scratchObjects,
    GIT_ALTERNATE_OBJECT_DIRECTORIES: objects,
  };
  try {
    await gitBytes(['read-tree', head], { cwd: root, env });
    await gitBytes(['apply', '--cached', '--whitespace=nowarn', patchFile], { cwd: root, env });
  } catch (e) {
    return { ok: false, reason: `git: ${gitSays(e)}` };
  }
  const raw = await gitBytes(
    [
      'diff',
      '--cached',
      ...FIND_RENAMES_AND_COPIES,
      '--raw',
      '--numstat',
      '-z',
      '--no-abbrev',
      ...STABLE_DIFF_OPTIONS,
      head,
      '--',
    ],
    { cwd: root, env },
  );
  const facts = parseRawNumstatZ(decodeNames(raw, 'the patch'));
  const notes: string[] = [];
  let patch = '';
  let contentReadable = true;
  try {
    const bytes = await gitBytes(
      [
        'diff',
        '--cached',
        '--binary',
        '-M',
        '--src-prefix=a/',
        '--dst-prefix=b/',
        ...STABLE_DIFF_OPTIONS,
        head,
        '--',
      ],
      { cwd: root, env, maxBytes: MAX_PATCH_BYTES },
    );
    patch = LOSSY_UTF8.decode(bytes);
    if (!isUtf8(bytes)) {
      contentReadable = false;
      notes.push('the patch is not valid UTF-8 text: its added lines cannot be read faithfully');
    }
  } catch (e) {
    if (!(e instanceof OutputTooLarge)) throw e;
    contentReadable = false;
    notes.push(
      `the applied change is larger than ${MAX_PATCH_BYTES} bytes as a diff: its added lines were not read`,
    );
  }
  const captured: CapturedFile[] = [];
  for (const req of capture) {
    captured.push({
      path: req.path,
      before: await showAt(root, head, req.path),
      after: await showAt(root, '', req.path, env),
    });
  }
  return { ok: true, facts, patch, contentReadable, notes, captured };
}

/**
 * Captured files for a patch read without applying it: `before` from the caller, else from HEAD of `root`;
 * `after` by applying the patch to that one file in a scratch directory (`git apply --include`), null when
 * the patch deletes or renames it away, undefined when it cannot be computed.
 */
async function captureFromPatch(
  capture: readonly CaptureRequest[],
  files: readonly FileChange[],
  patchFile: string,
  root: string | undefined,
): Promise<CapturedFile[]> {
  const out: CapturedFile[] = [];
  for (const req of capture) {
    let before: string | null | undefined = req.before;
    if (before === undefined && root !== undefined) before = await showAt(root, 'HEAD', req.path);
    const touching = files.filter((f) => f.path === req.path || f.oldPath === req.path);
    let after: string | null | undefined;
    if (touching.length === 0) after = before;
    else if (!files.some((f) => f.path === req.path && f.status !== 'deleted')) after = null;
    else after = await applyOneFile(patchFile, req.path, before);
    out.push({ path: req.path, before, after });
  }
  return out;
}

/** `path` after applying the patch to it alone (content `before`, null = absent); undefined on failure. */
async function applyOneFile(
  patchFile: string,
  path: string,
  before: string | null | undefined,
): Promise<string | null | undefined> {
  if (before === undefined) return undefined;
  const scratch = await scratchDir();
  try {
    const target = join(scratch.dir, ...path.split('/'));
    if (before !== null) {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, before);
    }
    const include = path.replace(/[*?[\]\\]/g, '\\$&');
    await gitBytes(['apply', `--include=${include}`, '--whitespace=nowarn', patchFile], {
      cwd: scratch.dir,
      env: scratch.env,
    });
    try {
      return await readFile(target, 'utf8');
    } catch {
      return null;
    }
  } catch {
    return undefined;
  } finally {
    await scratch.remove();
  }
}
