/**
 * The scratch workspace of one sandboxed command: a directory under os.tmpdir() (`self-evolution-sandbox-<pid>-*`,
 * see git/exec.ts scratchPrefix) holding
 *
 * - `work/`: the work tree at the base commit, a git repository of its own (`git init`; objects borrowed from
 *   the target repository through `objects/info/alternates`, so nothing is copied and the target's
 *   `.git/config` (which may hold a checkout's credentials) is never in reach);
 * - `home/` and `tmp/`: the command's private HOME and TMPDIR;
 * - `in/` (read-only in the sandbox): inputs such as the prompt; `out/`: files the command may write back;
 * - `root/`: the empty directory the `unshare` mechanism mounts its root on.
 *
 * The command may do anything to `work/.git` (commit, rewrite config, add hooks). So before the run reads the
 * result with git outside the sandbox, {@link Workspace.seal} moves that `.git` aside and makes a fresh one
 * at the base commit: no setting, hook or filter the command wrote can run outside its sandbox.
 */
import { lstat, mkdir, mkdtemp, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { runGit, scratchPrefix } from '../git/exec.js';
import type { SandboxSpec, SandboxTool } from './mechanism.js';

/** Identity of commits made in the scratch repository (its own config; the command's HOME is private). */
export const SCRATCH_GIT_IDENTITY = { name: 'self-evolution agent', email: 'agent@self-evolution.invalid' };

/** A scratch workspace (see the module docs). */
export interface Workspace {
  /** Real path of the workspace directory. */
  root: string;
  /** The work tree (cwd of the command), at `baseSha`. */
  work: string;
  home: string;
  tmp: string;
  /** Inputs, read-only inside the sandbox. */
  input: string;
  /** Outputs the command may write. */
  output: string;
  /** The empty directory of the unshare mechanism's root. */
  newRoot: string;
  /** The commit the work tree was made at. */
  baseSha: string;
  /** The target repository's object directories (its own and its alternates), shown read-only. */
  objectDirs: string[];
  /**
   * The sandbox of a command run in `work` with `tool`: writable `work`, `home`, `tmp`, `output`; read-only
   * `input`, the object directories and `readOnly`; `hidden` invisible.
   */
  spec(
    tool: SandboxTool,
    opts: { network: boolean; hidden: readonly string[]; readOnly?: readonly string[] },
  ): SandboxSpec;
  /**
   * Moves whatever the command left at `work/.git` aside and makes a fresh repository there whose HEAD is
   * `baseSha` and whose index is the base commit's tree (nothing staged). Run it after the command ended
   * and before any git command in `work`.
   * @throws GitError when git fails.
   */
  seal(): Promise<void>;
  /** Removes the workspace; never throws. */
  remove(): Promise<void>;
}

/** Object directories of the repository at `repoDir`: its own and those its alternates file names. */
async function objectDirsOf(repoDir: string): Promise<string[]> {
  const own = (
    await runGit(['rev-parse', '--path-format=absolute', '--git-path', 'objects'], { cwd: repoDir })
  ).stdout.trim();
  const dirs = [await realpath(own)];
  const text = await readFile(join(own, 'info', 'alternates'), 'utf8').catch(() => '');
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const p = isAbsolute(line) ? line : resolve(own, line);
    const real = await realpath(p).catch(() => undefined);
    if (real !== undefined && !dirs.includes(real)) dirs.push(real);
  }
  return dirs;
}

/** Makes `dir` a fresh repository borrowing objects from `objectDirs`, HEAD detached at `baseSha`. */
async function initRepository(dir: string, objectDirs: readonly string[], baseSha: string): Promise<void> {
  await runGit(['-c', 'init.defaultBranch=main', 'init', '--quiet'], { cwd: dir });
  await writeFile(join(dir, '.git', 'objects', 'info', 'alternates'), objectDirs.join('\n') + '\n');
  await runGit(['config', 'user.name', SCRATCH_GIT_IDENTITY.name], { cwd: dir });
  await runGit(['config', 'user.email', SCRATCH_GIT_IDENTITY.email], { cwd: dir });
  await runGit(['update-ref', '--no-deref', 'HEAD', baseSha], { cwd: dir });
}

/**
 * Makes a workspace for a command on `repoDir` at `baseSha` (see the module docs): the work tree is checked
 * out with `git read-tree -u`, hooks off. The caller must call `remove()` (in a finally).
 * @throws GitError when `repoDir` is not a repository or `baseSha` not one of its commits.
 */
export async function createWorkspace(repoDir: string, baseSha: string): Promise<Workspace> {
  const root = await realpath(await mkdtemp(scratchPrefix('sandbox')));
  const sub = (name: string) => join(root, name);
  const ws = {
    root,
    work: sub('work'),
    home: sub('home'),
    tmp: sub('tmp'),
    input: sub('in'),
    output: sub('out'),
    newRoot: sub('root'),
  };
  let sealed = 0;
  const remove = (): Promise<void> => rm(root, { recursive: true, force: true }).catch(() => {});
  try {
    // A clear error for a base that is not a commit, before anything points at it.
    await runGit(['rev-parse', '--verify', '--end-of-options', `${baseSha}^{commit}`], { cwd: repoDir });
    for (const d of [ws.work, ws.home, ws.tmp, ws.input, ws.output, ws.newRoot]) await mkdir(d);
    const objectDirs = await objectDirsOf(repoDir);
    await initRepository(ws.work, objectDirs, baseSha);
    await runGit(['-c', 'core.hooksPath=/dev/null', 'read-tree', '--reset', '-u', baseSha], { cwd: ws.work });
    return {
      ...ws,
      baseSha,
      objectDirs,
      spec: (tool, opts) => ({
        tool,
        cwd: ws.work,
        writable: [ws.work, ws.home, ws.tmp, ws.output],
        readOnly: [ws.input, ...objectDirs, ...(opts.readOnly ?? [])],
        hidden: [...opts.hidden],
        network: opts.network,
      }),
      seal: async () => {
        const gitPath = join(ws.work, '.git');
        const present = await lstat(gitPath).then(
          () => true,
          () => false,
        );
        if (present) await rename(gitPath, join(root, `agent-git-${++sealed}`));
        await initRepository(ws.work, objectDirs, baseSha);
        await runGit(['read-tree', baseSha], { cwd: ws.work });
      },
      remove,
    };
  } catch (e) {
    await remove();
    throw e;
  }
}

/**
 * Credential files of the user's real home directory that a sandboxed command never sees (its own HOME is
 * private, but the real one is on the read-only file system): registry, cloud and SSH credentials that tools
 * such as `docker login`, `npm login`, `aws configure`, `gh auth login` or git's credential store write there.
 */
export const HOME_CREDENTIAL_PATHS: readonly string[] = Object.freeze([
  '.ssh',
  '.gnupg',
  '.docker',
  '.npmrc',
  '.yarnrc',
  '.yarnrc.yml',
  '.pypirc',
  '.netrc',
  '.git-credentials',
  '.config/git/credentials',
  '.config/gh',
  '.config/gcloud',
  '.config/hub',
  '.aws',
  '.azure',
  '.kube',
  '.terraform.d',
  '.cargo/credentials',
  '.cargo/credentials.toml',
  '.gem/credentials',
  '.m2/settings.xml',
]);

/** Where the run's own state lives, for {@link hiddenPathsFor}. */
export interface RunPlaces {
  /** The target checkout. */
  repoDir: string;
  /** Where artifacts are written. */
  artifactsRoot?: string;
  /** The embedded database's directory, when one is used. */
  embeddedDbDir?: string;
  /** A file the database URL was read from (--database-url-file). */
  databaseUrlFile?: string;
  /** The run's environment (RUNNER_TEMP, HOME). */
  env: Readonly<Record<string, string | undefined>>;
  /** The config's `sandbox.hidePaths` (absolute, or `~/...` under the real home). */
  extra?: readonly string[];
}

/**
 * Absolute real paths a sandboxed command must not see: the target checkout and its repository (for a linked
 * worktree, the main repository's git directory, which lies elsewhere), the artifacts and embedded
 * database directories, the database URL file, the runner's temporary directory (`RUNNER_TEMP`: GitHub
 * Actions writes step scripts, with the secrets a workflow put into them, and the event payload there),
 * {@link HOME_CREDENTIAL_PATHS} under the real home, and `extra`. Paths that do not exist are kept as given
 * (the sandbox skips them).
 */
export async function hiddenPathsFor(places: RunPlaces): Promise<string[]> {
  const home = places.env.HOME || homedir();
  // A linked worktree's repository (config, maybe with a checkout's token) lies outside the checkout.
  const commonDir = await runGit(['rev-parse', '--path-format=absolute', '--git-common-dir'], {
    cwd: places.repoDir,
  }).then(
    (r) => r.stdout.trim(),
    () => undefined,
  );
  const expand = (p: string): string => (p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p);
  const raw = [
    places.repoDir,
    commonDir,
    places.artifactsRoot,
    places.embeddedDbDir,
    places.databaseUrlFile,
    places.env.RUNNER_TEMP,
    ...HOME_CREDENTIAL_PATHS.map((p) => join(home, p)),
    ...(places.extra ?? []).map(expand),
  ];
  const out: string[] = [];
  for (const p of raw) {
    if (p === undefined || p === '') continue;
    const abs = resolve(p);
    const real = await realpath(abs).catch(() => abs);
    for (const q of [abs, real]) if (!out.includes(q)) out.push(q);
  }
  return out;
}
