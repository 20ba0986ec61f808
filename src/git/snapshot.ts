/**
 * Fingerprints of a checkout, taken before and after a proposer's command, so a command that wrote into the
 * TARGET checkout instead of its scratch worktree (through an absolute path, `$(git rev-parse
 * --git-common-dir)/..`, a symlink...) is detected.
 *
 * What is compared: every path `git status` reports (tracked changes and untracked files, not ignored ones)
 * with a hash of its contents, HEAD, every ref (branches, tags, stash), the repository's `config`,
 * `info/attributes` and the files of its `hooks/` directory. This is detection, not a sandbox: writes elsewhere on the machine
 * (`../x` next to the worktree, `$HOME`), to ignored files or to other parts of `.git` are not seen.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runGit } from './git.js';

/** A checkout's fingerprints: key (e.g. `file:docs/a.md`, `ref:refs/heads/main`, `git:config`) -> value. */
export type CheckoutSnapshot = ReadonlyMap<string, string>;

const hash = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex').slice(0, 16);

/** A fingerprint of the file system entry at `abs`: its kind and a hash of its contents (or target). */
async function fingerprint(abs: string): Promise<string> {
  try {
    const st = await lstat(abs);
    if (st.isSymbolicLink()) return `link:${hash(await readlink(abs))}`;
    if (st.isFile()) return `file:${st.mode.toString(8)}:${hash(await readFile(abs))}`;
    if (st.isDirectory()) return 'dir';
    return 'other';
  } catch {
    return 'absent';
  }
}

/**
 * Takes the fingerprints of the checkout at `repoDir` (see the module comment).
 * @throws GitError when `repoDir` is not a git checkout.
 */
export async function snapshotCheckout(repoDir: string): Promise<CheckoutSnapshot> {
  const out = new Map<string, string>();
  const { stdout: status } = await runGit(
    ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--ignore-submodules=none'],
    { cwd: repoDir },
  );
  const records = status.split('\0');
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record.length < 4) continue;
    const xy = record.slice(0, 2);
    const path = record.slice(3);
    out.set(`file:${path}`, `${xy} ${await fingerprint(join(repoDir, path))}`);
    // A rename or copy is followed by its source path.
    if (xy[0] === 'R' || xy[0] === 'C') i++;
  }

  const head = await runGit(['rev-parse', '--verify', '--quiet', 'HEAD'], { cwd: repoDir }).catch(() => ({
    stdout: '',
  }));
  const symbolic = await runGit(['symbolic-ref', '--quiet', 'HEAD'], { cwd: repoDir }).catch(() => ({
    stdout: '',
  }));
  out.set('head', `${symbolic.stdout.trim()} ${head.stdout.trim()}`);

  const { stdout: refs } = await runGit(['for-each-ref', '--format=%(refname)%00%(objectname)'], {
    cwd: repoDir,
  });
  for (const line of refs.split('\n')) {
    const [name, sha] = line.split('\0');
    if (name) out.set(`ref:${name}`, sha ?? '');
  }

  const { stdout: common } = await runGit(['rev-parse', '--git-common-dir'], { cwd: repoDir });
  const gitDir = resolve(repoDir, common.trim());
  out.set('git:config', await fingerprint(join(gitDir, 'config')));
  // info/attributes is the one attributes file the facts gatherer cannot keep out (git 2.39 has no
  // --attr-source): a command that writes it could make its own files look binary.
  out.set('git:info/attributes', await fingerprint(join(gitDir, 'info', 'attributes')));
  const hooks = await readdir(join(gitDir, 'hooks')).catch(() => [] as string[]);
  for (const name of hooks.sort())
    out.set(`git:hooks/${name}`, await fingerprint(join(gitDir, 'hooks', name)));
  return out;
}

/** How a path's `git status` entry changed: created, deleted, changed or reverted (back to the commit). */
function fileChange(before: string | undefined, after: string | undefined): string {
  const xy = (v: string): string => v.slice(0, 2);
  if (before === undefined) {
    if (after!.startsWith('??')) return 'created';
    return xy(after!).includes('D') ? 'deleted' : 'changed';
  }
  if (after === undefined) return before.startsWith('??') ? 'deleted' : 'reverted';
  return xy(after).includes('D') ? 'deleted' : 'changed';
}

/**
 * What differs between two snapshots, as short descriptions sorted by key, e.g.
 * `ESCAPED.md (created)`, `docs/a.md (changed)`, `refs/heads/main (moved)`, `.git/config (changed)`.
 */
export function snapshotChanges(before: CheckoutSnapshot, after: CheckoutSnapshot): string[] {
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const out: string[] = [];
  for (const key of keys) {
    const a = before.get(key);
    const b = after.get(key);
    if (a === b) continue;
    const [kind, ...rest] = key.split(':');
    const name = rest.join(':');
    const what = a === undefined ? 'appeared' : b === undefined ? 'disappeared' : 'changed';
    if (kind === 'file') out.push(`${name} (${fileChange(a, b)})`);
    else if (kind === 'ref')
      out.push(`${name} (${a === undefined ? 'created' : b === undefined ? 'deleted' : 'moved'})`);
    else if (kind === 'git') out.push(`.git/${name} (${what})`);
    else out.push(`HEAD (moved)`);
  }
  return out;
}
