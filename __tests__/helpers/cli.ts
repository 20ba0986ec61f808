/**
 * Spawns the CLI as a separate process, as a user would run it: the bin/self-evolution.js of the build of src/
 * that global-setup.ts makes once per test run (process.env.SE_TEST_CLI_BIN); outside jest's global setup,
 * the sources through tsx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ENTRY = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));
/** tsx's loader by its URL, so the CLI starts from any working directory (`--import tsx` resolves from it). */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** node's arguments before the CLI's own: the built bin, or tsx and the sources' entry. */
function cliEntry(): string[] {
  const bin = process.env.SE_TEST_CLI_BIN;
  return bin ? [bin] : ['--import', TSX, ENTRY];
}

/** The environment a CLI process of the tests starts from: a copy of process.env minus DATABASE_URL, NODE_OPTIONS and tokens. */
export function cliBaseEnv(): NodeJS.ProcessEnv {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.NODE_OPTIONS;
  delete base.GITHUB_TOKEN;
  delete base.GH_TOKEN;
  return base;
}

/** What one CLI process did. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A CLI process started by {@link startCli}: the child (its pid) and what it will have done. */
export interface StartedCli {
  child: ChildProcess;
  /** Settles when the process has exited and its output is closed. */
  result: Promise<CliResult>;
}

/**
 * Starts `self-evolution <args>` with `env` added to a copy of process.env minus DATABASE_URL, NODE_OPTIONS
 * and tokens, and returns at once (after the exec: the child's /proc/PID/cmdline is already its own).
 */
export function startCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd?: string,
): StartedCli {
  const child = spawn(process.execPath, [...cliEntry(), ...args], {
    env: { ...cliBaseEnv(), ...env },
    cwd: cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, result };
}

/** Runs `self-evolution <args>` (see {@link startCli} for the environment) and waits for it to end. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd?: string,
): Promise<CliResult> {
  return startCli(args, env, cwd).result;
}
