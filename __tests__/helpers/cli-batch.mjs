/**
 * Runs many `self-evolution` command lines through the CLI's main(argv), in this one small node process: the
 * build of src/ that global-setup.ts makes (its bin at process.env.SE_TEST_CLI_BIN, its lib/cli.js beside).
 * Used by tests that run hundreds of command lines (the rails corpus): run in a jest worker instead, each of the
 * git processes a command starts would cost a fork() of the whole worker (several hundred MB; a spawn of
 * /bin/true measured 10.7 ms from a worker of 372 MB against 1.6 ms from a bare node).
 *
 * Input (JSON on stdin):
 *   { concurrency: number, repos: { [slot: number]: { [key: string]: string } },
 *     jobs: [{ name: string, repo: string, args: string[] }] }
 * At most `concurrency` command lines run at a time; slot i (0-based) runs one at a time, so each slot may have
 * repositories of its own: every "{repo}" in a job's args becomes repos[slot][job.repo].
 * Output (JSON on stdout): { [name]: { code: number, stdout: string, stderr: string } }.
 * Exits 2 with a message on stderr when SE_TEST_CLI_BIN is unset or the input is not as above.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const bin = process.env.SE_TEST_CLI_BIN;
if (!bin) {
  process.stderr.write(
    'cli-batch: SE_TEST_CLI_BIN is unset (jest global-setup builds the CLI and sets it)\n',
  );
  process.exit(2);
}
const { main } = await import(pathToFileURL(join(dirname(bin), '..', 'lib', 'cli.js')).href);

const input = JSON.parse(readFileSync(0, 'utf8'));
if (!Array.isArray(input.jobs) || !(input.concurrency >= 1) || typeof input.repos !== 'object') {
  process.stderr.write('cli-batch: stdin must be { concurrency >= 1, repos: {...}, jobs: [...] }\n');
  process.exit(2);
}

const results = {};
let next = 0;
await Promise.all(
  Array.from({ length: input.concurrency }, async (_, slot) => {
    while (next < input.jobs.length) {
      const job = input.jobs[next++];
      const dir = input.repos[slot]?.[job.repo];
      if (dir === undefined) throw new Error(`cli-batch: no repository ${job.repo} for slot ${slot}`);
      let stdout = '';
      let stderr = '';
      const code = await main(
        ['node', 'self-evolution', ...job.args.map((a) => a.replaceAll('{repo}', dir))],
        { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, cwd: process.cwd() },
      );
      results[job.name] = { code, stdout, stderr };
    }
  }),
);
process.stdout.write(JSON.stringify(results));
