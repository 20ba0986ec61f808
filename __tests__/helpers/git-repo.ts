/**
 * Throwaway git repositories for tests, under os.tmpdir(). The identity and settings live in the
 * repository's own config (never the global one); commits can carry chosen dates.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Content of a file to write: text or bytes; `{ symlink: target }` makes a symbolic link;
 * `{ content, mode: 0o755 }` sets the mode; null (in commit()) deletes the path.
 */
export type FileSpec =
  string | Uint8Array | { symlink: string } | { content: string | Uint8Array; mode: number };

/** Options of a commit made by the helper. */
export interface CommitOptions {
  /** Commit message (default 'commit'). */
  message?: string;
  /** Author and committer date (ISO 8601 or a Date); default now. */
  date?: string | Date;
  /** Author name (default 'Test Author'); the email is derived. */
  author?: string;
}

/** A temporary repository. */
export interface TempRepo {
  /** Real absolute path of the work tree. */
  dir: string;
  /** Runs git in `dir` and returns stdout without its final newline. Rejects with git's stderr on failure. */
  git(...args: string[]): Promise<string>;
  /** Like git(), with extra environment variables (e.g. GIT_AUTHOR_DATE). */
  gitEnv(env: Record<string, string>, ...args: string[]): Promise<string>;
  /** Writes files (null deletes) without staging them. */
  write(files: Record<string, FileSpec | null>): Promise<void>;
  /** Writes files (null deletes), stages everything (`git add -A`) and commits; returns the new commit id. */
  commit(files: Record<string, FileSpec | null>, opts?: CommitOptions): Promise<string>;
  /** Removes the repository directory. */
  cleanup(): Promise<void>;
}

/** Options of makeTempRepo. */
export interface MakeTempRepoOptions extends CommitOptions {
  /** Branch name (default 'main'). */
  branch?: string;
  /** When true, no initial commit is made (an empty repository; `files` are written but not committed). */
  empty?: boolean;
}

/**
 * Runs `file` with `args` in `cwd` (git's settings for tests in the environment); resolves with stdout without its
 * final newline. Rejects with stderr, `what` naming the command, on failure.
 */
function execIn(
  cwd: string,
  file: string,
  args: string[],
  env: Record<string, string>,
  what: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${what} failed in ${cwd}: ${stderr || error.message}`));
        else resolve(stdout.replace(/\n$/, ''));
      },
    );
  });
}

function run(cwd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return execIn(cwd, 'git', ['-c', 'core.quotepath=false', ...args], env, `git ${args.join(' ')}`);
}

/**
 * Runs `script` with `sh -c` in `cwd`, its arguments as $1, $2...; see execIn. A repository's creation and a
 * commit run as one script: a test worker is a large process, and every process it starts itself costs a fork()
 * of all its memory (several ms); the git commands the shell starts cost a fork of the shell.
 */
function runScript(
  cwd: string,
  script: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  return execIn(cwd, 'sh', ['-c', script, 'sh', ...args], env, script);
}

/** Creates the repository (branch "$1") with the helper's identity and settings in its own config. */
const INIT_SCRIPT =
  'git init --quiet -b "$1" && git config user.name "Test Author" && ' +
  'git config user.email test.author@example.com && git config commit.gpgsign false && ' +
  'git config tag.gpgsign false && git config core.autocrlf false';

/** Stages everything and commits with message "$2" ($1 is INIT_SCRIPT's branch); prints the commit id. */
const COMMIT_SCRIPT =
  'git add -A && git commit --quiet --allow-empty --no-verify -m "$2" && git rev-parse HEAD';

/**
 * Creates a git repository in a fresh directory under os.tmpdir(), writes `files` (paths relative, POSIX
 * separators) and commits them as the initial commit (unless `opts.empty`).
 */
export async function makeTempRepo(
  files: Record<string, FileSpec> = {},
  opts: MakeTempRepoOptions = {},
): Promise<TempRepo> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'se-test-repo-')));
  const git = (...args: string[]): Promise<string> => run(dir, args);
  const gitEnv = (env: Record<string, string>, ...args: string[]): Promise<string> => run(dir, args, env);

  const write = async (spec: Record<string, FileSpec | null>): Promise<void> => {
    for (const [path, content] of Object.entries(spec)) {
      const abs = join(dir, path);
      await rm(abs, { recursive: true, force: true });
      if (content === null) continue;
      await mkdir(dirname(abs), { recursive: true });
      if (typeof content === 'string' || content instanceof Uint8Array) {
        await writeFile(abs, content);
      } else if ('symlink' in content) {
        await symlink(content.symlink, abs);
      } else {
        await writeFile(abs, content.content);
        await chmod(abs, content.mode);
      }
    }
  };

  // One `sh` for the commit (and, with `init`, the repository's creation before it): see runScript.
  const commit = async (
    spec: Record<string, FileSpec | null>,
    copts: CommitOptions = {},
    init?: string,
  ): Promise<string> => {
    await write(spec);
    const date = copts.date === undefined ? undefined : new Date(copts.date).toISOString();
    const author = copts.author ?? 'Test Author';
    const env: Record<string, string> = {
      GIT_AUTHOR_NAME: author,
      GIT_AUTHOR_EMAIL: `${author.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@example.com`,
      GIT_COMMITTER_NAME: author,
      GIT_COMMITTER_EMAIL: `${author.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@example.com`,
      ...(date ? { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } : {}),
    };
    const script = init === undefined ? COMMIT_SCRIPT : `${INIT_SCRIPT} && ${COMMIT_SCRIPT}`;
    return runScript(dir, script, [init ?? '', copts.message ?? 'commit'], env);
  };

  try {
    const branch = opts.branch ?? 'main';
    if (opts.empty) {
      await runScript(dir, INIT_SCRIPT, [branch]);
      await write(files);
    } else {
      await commit(files, { message: 'initial commit', ...opts }, branch);
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  return {
    dir,
    git,
    gitEnv,
    write,
    commit,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
