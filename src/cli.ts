/**
 * The CLI adapter (`self-evolution`): parses flags with commander, builds Options, calls runOnce(), prints
 * the result. Exit codes: 0 the run finished (success or skipped) / the command worked, 1 the run failed or
 * the database is unreachable, 2 bad usage or bad config. Human-readable progress goes to stderr; with
 * --json, stdout carries exactly one JSON object.
 */
import { basename, resolve, join } from 'node:path';
import { userInfo } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG_PATH, UsageError, type Options } from './options.js';
import { realSleep, systemClock, systemRandom, type Clock, type Random, type Sleep } from './deps.js';
import { ConfigError } from './config/load.js';
import { parseEnvOverrides } from './config/overrides.js';
import { runOnce, oneLine } from './run.js';
import { createRunLogger, maskSecrets, secretsOf } from './report/logger.js';
import { renderRunText } from './report/summary.js';
import { renderStatusTable } from './report/status.js';
import type { RunReport } from './report/types.js';
import { isGitRepository, originUrl, repoRoot, repositoryFromRemote } from './git/git.js';
import { openDatabase } from './store/open.js';
import type { Db } from './store/db.js';
import { migrate } from './store/migrate.js';
import { listRecentRuns } from './store/runs.js';
import { getFlag, setFlag } from './store/flags.js';

/** Where the CLI writes and what it reads; injected by tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  clock?: Clock;
  random?: Random;
  sleep?: Sleep;
}

/** Options every command takes, so all of them find the same database. */
interface CommonFlags {
  repo?: string;
  databaseUrl?: string;
  repository?: string;
}

/** The directory (inside the target checkout) where the CLI keeps its embedded database and artifacts. */
export const STATE_DIR = '.self-evolution';

/**
 * Runs the CLI with `argv` (as process.argv: node, script, args...) and returns the exit code.
 * Never throws and never calls process.exit.
 */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return exitCodeFor(err, io);
  }
}

function exitCodeFor(err: unknown, io: CliIo): number {
  if (err instanceof ExitSignal) return err.code;
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
      return 0;
    return 2;
  }
  const secrets = secretsOf({
    databaseUrl: io.env.DATABASE_URL,
    githubToken: io.env.GITHUB_TOKEN || io.env.GH_TOKEN,
  });
  if (err instanceof ConfigError || err instanceof UsageError) {
    io.stderr(`error: ${maskSecrets(err.message, secrets)}\n`);
    return 2;
  }
  io.stderr(`error: ${oneLine(err, secrets)}\n`);
  return 1;
}

/** Thrown inside an action to end the CLI with a given exit code. */
class ExitSignal extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function buildProgram(io: CliIo): Command {
  const program = new Command('self-evolution')
    .description('A gated, audited self-improvement loop for a git repository (dry run by default).')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  const common = (cmd: Command): Command =>
    cmd
      .option('--repo <dir>', 'the target git checkout', io.cwd)
      .option(
        '--database-url <url>',
        'Postgres URL (default: $DATABASE_URL, else the embedded database in <repo>/.self-evolution/db)',
      )
      .option('--repository <owner/name>', 'repository identity (default: from the origin remote)')
      .exitOverride()
      .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  common(program.command('run'))
    .description(
      'run the pipeline once: gates, jitter, lock, reflection, proposers, rails; record and report',
    )
    .option('--config <file>', 'config file, relative to --repo', DEFAULT_CONFIG_PATH)
    .option('--dry-run', 'do not act (the default; live mode is not available yet)', true)
    .option('--live', 'act on allowed proposals (not available yet)')
    .option('--force', 'run even if it already ran today or a failed run is in cooldown', false)
    .addOption(new Option('--jitter-minutes <n>', 'maximum random delay, minutes').argParser(nonNegativeInt))
    .option('--no-jitter', 'start at once')
    .option('--request <text>', 'a human request: the goal of this run')
    .option('--json', 'print the result as one JSON object on stdout', false)
    .action(async (flags: CommonFlags & RunFlags) => {
      if (flags.live) throw new UsageError('--live is not available yet: this version only makes dry runs');
      const options = await buildOptions(flags, io);
      const clock = io.clock ?? systemClock;
      const logger = createRunLogger({
        secrets: secretsOf(options),
        clock,
        sink: (level, message) => io.stderr(`${level === 'info' ? '' : `${level}: `}${message}\n`),
      });
      const report = await runOnce(options, {
        clock,
        random: io.random ?? systemRandom,
        sleep: io.sleep ?? realSleep,
        logger,
        openDb: openDatabase,
      });
      io.stderr(renderRunText(report) + '\n');
      if (flags.json) io.stdout(JSON.stringify(toJson(report)) + '\n');
      if (report.status === 'failed') throw new ExitSignal(1);
    });

  common(program.command('status'))
    .description('the last runs with status, reason and proposal counts')
    .option('--limit <n>', 'how many runs', positiveInt, 10)
    .option('--all', 'runs of every repository in the database', false)
    .option('--json', 'print JSON', false)
    .action(async (flags: CommonFlags & { limit: number; all: boolean; json: boolean }) => {
      await withDb(flags, io, async (db, options) => {
        const runs = await listRecentRuns(db, {
          repository: flags.all ? undefined : options.repository,
          limit: flags.limit,
        });
        if (flags.json) io.stdout(JSON.stringify(runs) + '\n');
        else io.stdout(renderStatusTable(runs) + '\n');
      });
    });

  common(program.command('migrate'))
    .description('apply database migrations (runs also do this automatically)')
    .action(async (flags: CommonFlags) => {
      await withDb(
        flags,
        io,
        async (db) => {
          const { applied } = await migrate(db);
          io.stdout(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
        },
        false,
      );
    });

  const flag = program.command('flag').description('feature flags (seed 004: self_evolution_enabled)');
  common(flag.command('get'))
    .argument('<name>', 'flag name, e.g. self_evolution_enabled')
    .action(async (name: string, flags: CommonFlags) => {
      await withDb(flags, io, async (db) => {
        const value = await getFlag(db, name);
        io.stdout(`${name}=${value === null ? '(absent: off)' : String(value)}\n`);
      });
    });
  common(flag.command('set'))
    .argument('<name>', 'flag name, e.g. self_evolution_enabled or self_evolution_enabled:owner/name')
    .argument('<value>', 'true or false', parseBool)
    .action(async (name: string, value: boolean, flags: CommonFlags) => {
      await withDb(flags, io, async (db) => {
        await setFlag(db, name, value, {
          setBy: 'cli',
          user: safeUser(),
          at: (io.clock ?? systemClock).now().toISOString(),
        });
        io.stdout(`${name}=${value}\n`);
      });
    });
  return program;
}

interface RunFlags {
  config: string;
  dryRun: boolean;
  live?: boolean;
  force: boolean;
  jitterMinutes?: number;
  jitter: boolean;
  request?: string;
  json: boolean;
}

/** The run's fields of the --json object. */
function toJson(r: RunReport): Record<string, unknown> {
  return {
    runId: r.runId,
    status: r.status,
    skipReason: r.skipReason,
    repository: r.repository,
    runDate: r.runDate,
    dryRun: r.dryRun,
    forced: r.forced,
    summary: r.summary,
    error: r.error,
    artifactsDir: r.artifactsDir,
    gates: r.gates,
    proposals: r.proposals.map((p) => ({
      id: p.id,
      title: p.title,
      type: p.type,
      riskLevel: p.riskLevel,
      filesChanged: p.filesChanged,
      linesChanged: p.linesChanged,
      verdict: p.verdict,
      blockedReasons: p.blockedReasons,
    })),
  };
}

/** Builds the run Options from flags and the environment. */
async function buildOptions(flags: CommonFlags & RunFlags, io: CliIo): Promise<Options> {
  const base = await commonOptions(flags, io);
  return {
    ...base,
    configPath: flags.config,
    githubToken: io.env.GITHUB_TOKEN || io.env.GH_TOKEN || undefined,
    githubApiUrl: io.env.GITHUB_API_URL ?? 'https://api.github.com',
    dryRun: true,
    force: flags.force,
    jitter: { enabled: flags.jitter, maxMinutes: flags.jitterMinutes },
    trigger: 'cli',
    uploadArtifacts: false,
    envOverrides: parseEnvOverrides(io.env),
    request: flags.request,
  };
}

async function commonOptions(
  flags: CommonFlags,
  io: CliIo,
): Promise<Pick<Options, 'repoDir' | 'repository' | 'databaseUrl' | 'embeddedDbDir' | 'artifactsRoot'>> {
  const dir = resolve(io.cwd, flags.repo ?? io.cwd);
  if (!(await isGitRepository(dir))) {
    throw new UsageError(`not a git repository: ${dir} (pass --repo with the path of a git checkout)`);
  }
  const repoDir = await repoRoot(dir);
  const remote = await originUrl(repoDir);
  const repository =
    flags.repository ?? (remote ? repositoryFromRemote(remote) : null) ?? `local/${basename(repoDir)}`;
  if (!/^[^/\s]+\/[^/\s]+$/.test(repository)) {
    throw new UsageError(`--repository must be owner/name, got "${repository}"`);
  }
  return {
    repoDir,
    repository,
    databaseUrl: flags.databaseUrl ?? (io.env.DATABASE_URL || undefined),
    embeddedDbDir: join(repoDir, STATE_DIR, 'db'),
    artifactsRoot: join(repoDir, STATE_DIR, 'artifacts'),
  };
}

/** Opens the database named by the flags (migrating it unless told not to), runs fn, closes it. */
async function withDb(
  flags: CommonFlags,
  io: CliIo,
  fn: (db: Db, options: Awaited<ReturnType<typeof commonOptions>>) => Promise<void>,
  autoMigrate = true,
): Promise<void> {
  const options = await commonOptions(flags, io);
  const db = await openDatabase({ databaseUrl: options.databaseUrl, embeddedDir: options.embeddedDbDir });
  try {
    if (autoMigrate) await migrate(db);
    await fn(db, options);
  } finally {
    await db.close();
  }
}

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value))
    throw new InvalidArgumentError(`expected a whole number of minutes >= 0, got "${value}"`);
  return Number(value);
}

function positiveInt(value: string): number {
  if (!/^[1-9]\d*$/.test(value))
    throw new InvalidArgumentError(`expected a whole number >= 1, got "${value}"`);
  return Number(value);
}

function parseBool(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError(`expected true or false, got "${value}"`);
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function defaultIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
  };
}
