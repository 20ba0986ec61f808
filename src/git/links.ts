/**
 * What the check needs to know about a base tree besides the change, read with
 * git: its symbolic links, a file's content read through them, and whether the tree is Self-Evolution's own
 * repository. Read-only; never touches the work tree or the index.
 */
import { runGit } from './git.js';

/** Git's mode of a symbolic link. */
const LINK_MODE = '120000';

/**
 * The symbolic links of the tree of `rev` (a commit or tree): link path -> target as stored, from
 * `git ls-tree -r -z --full-tree` and one `git cat-file --batch` for their blobs. {} when there are none.
 * A target that is not valid UTF-8 is read with U+FFFD in place of the bad bytes.
 * @throws GitError when git fails (e.g. `rev` is not a commit of the repository at `root`).
 */
export async function listSymlinks(root: string, rev: string): Promise<Record<string, string>> {
  const { stdout } = await runGit(['ls-tree', '-r', '-z', '--full-tree', rev], { cwd: root });
  const links: { path: string; sha: string }[] = [];
  for (const entry of stdout.split('\0')) {
    if (!entry.startsWith(`${LINK_MODE} `)) continue;
    const tab = entry.indexOf('\t');
    const [, , sha] = entry.slice(0, tab).split(' ');
    if (tab > 0 && sha !== undefined) links.push({ path: entry.slice(tab + 1), sha });
  }
  const out: Record<string, string> = {};
  if (links.length === 0) return out;
  const batch = await runGit(['cat-file', '--batch'], {
    cwd: root,
    input: links.map((l) => `${l.sha}\n`).join(''),
  });
  // "<sha> blob <size>\n<content>\n" per link; sizes are bytes, the output was decoded as UTF-8. A target
  // that is not UTF-8 would make the byte counts unreliable: then each is read on its own.
  const text = batch.stdout;
  if (text.includes('\ufffd')) {
    for (const link of links) {
      out[link.path] = (await runGit(['cat-file', 'blob', link.sha], { cwd: root })).stdout;
    }
    return out;
  }
  let at = 0;
  for (const link of links) {
    const eol = text.indexOf('\n', at);
    if (eol < 0) break;
    const size = Number(text.slice(at, eol).split(' ')[2]);
    if (!Number.isSafeInteger(size) || size < 0) break;
    const end = byteEnd(text, eol + 1, size);
    out[link.path] = text.slice(eol + 1, end);
    at = end + 1;
  }
  return out;
}

/**
 * The contents of `paths` in the tree of `rev`, symbolic links inside the repository followed, in one `git
 * cat-file --batch --follow-symlinks` process; each decoded as UTF-8, null when it does not exist, is not a
 * file, or its links dangle, loop or leave the repository.
 * @throws GitError when git itself fails (not for a missing path).
 */
export async function readManyThroughLinks(
  root: string,
  rev: string,
  paths: readonly string[],
): Promise<(string | null)[]> {
  const asked = paths.filter((p) => !p.includes('\n'));
  if (asked.length === 0) return paths.map(() => null);
  const { stdout } = await runGit(['cat-file', '--batch', '--follow-symlinks'], {
    cwd: root,
    input: asked.map((p) => `${rev}:${p}\n`).join(''),
  });
  // "<sha> blob <size>\n<content>\n", or "<what> ...\n" (missing) or "<what> <size>\n<text>\n" (dangling,
  // loop, symlink, notdir); sizes are bytes, the output was decoded as UTF-8: content with U+FFFD (bytes
  // that are not UTF-8) makes them unreliable, and then each path is read on its own.
  const found = new Map<string, string | null>();
  if (stdout.includes('\ufffd') && asked.length > 1) {
    for (const p of asked) found.set(p, (await readManyThroughLinks(root, rev, [p]))[0] ?? null);
    return paths.map((p) => found.get(p) ?? null);
  }
  let at = 0;
  for (const path of asked) {
    const eol = stdout.indexOf('\n', at);
    if (eol < 0) break;
    const header = stdout.slice(at, eol).split(' ');
    const sizeField = header[0] === 'missing' ? undefined : header[header.length - 1];
    const size = sizeField === undefined ? 0 : Number(sizeField);
    if (header[0] === 'missing' || !Number.isSafeInteger(size)) {
      found.set(path, null);
      at = eol + 1;
      continue;
    }
    const end = byteEnd(stdout, eol + 1, size);
    found.set(path, header[1] === 'blob' ? stdout.slice(eol + 1, end) : null);
    at = end + 1;
  }
  return paths.map((p) => found.get(p) ?? null);
}

/** The index in `text` after `size` bytes of UTF-8 starting at `from`. */
function byteEnd(text: string, from: number, size: number): number {
  let end = from;
  for (let bytes = 0; bytes < size && end < text.length; end++) {
    const code = text.codePointAt(end)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (code >= 0x10000) end++;
  }
  return end;
}

/** The content of `path` in the tree of `rev`, links followed (see readManyThroughLinks). */
export async function readThroughLinks(root: string, rev: string, path: string): Promise<string | null> {
  return (await readManyThroughLinks(root, rev, [path]))[0] ?? null;
}

/**
 * True when `manifest` (the text of a repository's root package.json) names Self-Evolution's own package,
 * `self-evolution`. False for null, text that is not JSON, or another name.
 */
export function isSelfEvolutionManifest(manifest: string | null | undefined): boolean {
  if (typeof manifest !== 'string') return false;
  try {
    return (JSON.parse(manifest) as { name?: unknown } | null)?.name === 'self-evolution';
  } catch {
    return false;
  }
}

/**
 * True when the tree of `rev` is Self-Evolution's own repository: its root package.json is named
 * `self-evolution`. Read from the BASE of a change, so a change cannot opt out.
 * @throws GitError when git itself fails.
 */
export async function hostsSelfEvolution(root: string, rev: string): Promise<boolean> {
  return isSelfEvolutionManifest(await readThroughLinks(root, rev, 'package.json'));
}
