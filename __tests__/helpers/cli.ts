/** Spawns the CLI as a separate process (from source, through tsx), as a user would run it. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));

/** What one CLI process did. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `self-evolution <args>` with `env` added to a copy of process.env minus DATABASE_URL and tokens. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  cwd?: string,
): Promise<CliResult> {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.NODE_OPTIONS;
  delete base.GITHUB_TOKEN;
  delete base.GH_TOKEN;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
      env: { ...base, ...env },
      cwd: cwd ?? process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
