/**
 * Runs the command proposer in a process of its own, a stand-in for the action's node process: the sandbox
 * tests start it with canaries in its environment and on its command line, so an agent that walks up its
 * process tree (/proc/$PPID/environ, ...) has an ancestor holding secrets, as the action's process holds
 * INPUT_* and the runner's tokens.
 *
 * Usage: node --import tsx propose-child.ts JOB_FILE [more arguments, ignored]
 * JOB_FILE (JSON): { repoDir, baseSha, command, mechanism: "bwrap" | "unshare" | "none" }.
 * The proposer gets this process's environment (deps.env = process.env) and, unless mechanism is "none", the
 * sandbox planned for it (planSandbox). Prints the ProposerResult as JSON on stdout; exit 0.
 */
import { readFileSync } from 'node:fs';
import { CommandProposerSchema } from '../../src/config/schema.js';
import { createCommandProposer } from '../../src/propose/command.js';
import { planSandbox } from '../../src/sandbox/plan.js';

interface Job {
  repoDir: string;
  baseSha: string;
  command: string;
  mechanism: 'bwrap' | 'unshare' | 'none';
}

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Job;
const decision = await planSandbox(
  { mode: job.mechanism, network: 'on', hidePaths: [] },
  { repoDir: job.repoDir, env: process.env },
);
if (!decision.ok) {
  console.error(decision.message);
  process.exit(2);
}
const proposer = createCommandProposer(
  CommandProposerSchema.parse({ kind: 'command', name: 'child', command: job.command }),
  { env: process.env, ...(decision.plan.tool ? { sandbox: decision.plan } : {}) },
);
const quiet = (): void => undefined;
const result = await proposer.propose({
  repoDir: job.repoDir,
  baseSha: job.baseSha,
  reflection: {
    insights: '',
    signals: { git: { recentCommits: [], reverts: [], mostChangedFiles: [], windowDays: 30 }, goals: [] },
  },
  logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
});
process.stdout.write(JSON.stringify(result));
