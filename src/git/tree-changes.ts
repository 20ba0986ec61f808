/**
 * What a commit changed against another, file by file, as git itself says it (`git diff-tree -r -z
 * --no-renames --raw`), with the modes and blob ids on both sides; a blob's bytes; a commit's tree id. Used to
 * build the same change through GitHub's Git Database API (act/branch.ts, `pullRequest.commitSigning: "api"`),
 * where what is created must be exactly what git committed locally.
 */
import { gitBytes, isUtf8, STRICT_UTF8 } from './exec.js';

/** A file's mode in a tree: regular, executable, symbolic link, or a submodule (gitlink). */
export type TreeMode = '100644' | '100755' | '120000' | '160000';

/**
 * One path that differs between two trees. `status`: A added, M modified (content, mode or both), D deleted,
 * T type changed (e.g. a regular file became a symbolic link). The mode and blob id of a side the path is not
 * on are null.
 */
export interface TreeChange {
  status: 'A' | 'M' | 'D' | 'T';
  /** Repository-relative path (UTF-8, `/` separators). */
  path: string;
  oldMode: TreeMode | null;
  newMode: TreeMode | null;
  /** Full object ids (40 hex digits), or null on the side the path is not on. */
  oldSha: string | null;
  newSha: string | null;
}

/** A path git reports that the Git Database API cannot carry (not UTF-8), or a record this module cannot read. */
export class TreeChangeError extends Error {
  override readonly name = 'TreeChangeError';
}

const ZERO = /^0+$/;
const MODES: ReadonlySet<string> = new Set(['100644', '100755', '120000', '160000']);

function modeOf(raw: string, path: string): TreeMode | null {
  if (ZERO.test(raw)) return null;
  if (!MODES.has(raw))
    throw new TreeChangeError(`git reports mode ${raw} for ${path}, which is not a file mode`);
  return raw as TreeMode;
}

/**
 * Parses `git diff-tree -r -z --no-renames --raw --no-abbrev` output: records `:<old mode> <new mode> <old id>
 * <new id> <status>` NUL `<path>` NUL, in git's (path) order.
 * @throws TreeChangeError for a malformed record, an unexpected status (renames and copies are off), or a path
 *   that is not UTF-8
 */
export function parseTreeChanges(out: Buffer): TreeChange[] {
  const fields: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < out.length; i++) {
    if (out[i] === 0) {
      fields.push(out.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < out.length) fields.push(out.subarray(start));
  const changes: TreeChange[] = [];
  for (let k = 0; k < fields.length; k += 2) {
    const meta = fields[k]!.toString('latin1');
    if (meta === '') continue;
    const m = /^:(\d{6}) (\d{6}) ([0-9a-f]{40,64}) ([0-9a-f]{40,64}) ([AMDT])$/.exec(meta);
    const pathBytes = fields[k + 1];
    if (!m || pathBytes === undefined)
      throw new TreeChangeError(`unexpected git diff-tree record ${JSON.stringify(meta)}`);
    if (!isUtf8(pathBytes)) {
      throw new TreeChangeError(
        `path ${JSON.stringify(pathBytes.toString('latin1'))} is not UTF-8; the GitHub API cannot name it`,
      );
    }
    const path = STRICT_UTF8.decode(pathBytes);
    const [, oldMode, newMode, oldSha, newSha, status] = m;
    changes.push({
      status: status as TreeChange['status'],
      path,
      oldMode: modeOf(oldMode!, path),
      newMode: modeOf(newMode!, path),
      oldSha: ZERO.test(oldSha!) ? null : oldSha!,
      newSha: ZERO.test(newSha!) ? null : newSha!,
    });
  }
  return changes;
}

/**
 * The files that differ between commits (or trees) `base` and `head`, recursively, renames not detected (a
 * rename is a deletion and an addition), submodules always compared, in path order.
 * @throws GitError when either object does not exist or git fails; TreeChangeError (see {@link parseTreeChanges})
 */
export async function treeChanges(repoDir: string, base: string, head: string): Promise<TreeChange[]> {
  const out = await gitBytes(
    [
      '-c',
      'diff.ignoreSubmodules=none',
      'diff-tree',
      '-r',
      '-z',
      '--raw',
      '--no-abbrev',
      '--no-renames',
      '--ignore-submodules=none',
      base,
      head,
      '--',
    ],
    { cwd: repoDir },
  );
  return parseTreeChanges(out);
}

/**
 * The bytes of blob `sha` (`git cat-file blob <sha>`), as stored: no filter or line-ending conversion.
 * @throws GitError when the object is missing or not a blob
 */
export function readBlob(repoDir: string, sha: string): Promise<Buffer> {
  return gitBytes(['cat-file', 'blob', sha], { cwd: repoDir });
}

/**
 * The tree id of commit `commit` (`git rev-parse --verify <commit>^{tree}`), 40 hex digits.
 * @throws GitError when the commit does not exist; TreeChangeError for output that is not an object id
 */
export async function treeOf(repoDir: string, commit: string): Promise<string> {
  const out = await gitBytes(['rev-parse', '--verify', `${commit}^{tree}`], { cwd: repoDir });
  const tree = out.toString('utf8').trim();
  if (!/^[0-9a-f]{40,64}$/.test(tree))
    throw new TreeChangeError(`git rev-parse printed ${JSON.stringify(tree)} for the tree of ${commit}`);
  return tree;
}

/**
 * The message of commit `commit` exactly as stored (`git cat-file commit`: everything after the headers' blank
 * line, trailers and final newline included), decoded as UTF-8.
 * @throws GitError when the object is missing or not a commit
 */
export async function commitMessageOf(repoDir: string, commit: string): Promise<string> {
  const raw = await gitBytes(['cat-file', 'commit', commit], { cwd: repoDir });
  const end = raw.indexOf('\n\n');
  return end < 0 ? '' : raw.subarray(end + 2).toString('utf8');
}
