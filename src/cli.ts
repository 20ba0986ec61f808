/**
 * The CLI adapter (`self-evolution`): parses flags with commander, builds Options, calls runOnce(), prints
 * the result. Exit codes: 0 the run finished (success or skipped) / the command worked, 1 the run failed (a lost
 * run lock included) or the database is unreachable, 2 bad usage or bad config, 130 / 143 the run was cancelled
 * by SIGINT (Ctrl-C) / SIGTERM and cleaned up. `check` has its own: 0 allowed, 1 blocked, 2 no
 * verdict (bad usage, unreadable input, bad config). `rollback`: 0 every named self-change has its revert pull
 * request (opened, already open or merged, or already reverted), 1 otherwise, 2 bad usage. Human-readable progress goes to stderr; with
 * --json, stdout carries exactly one JSON object.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { basename, resolve, join } from 'node:path';
import { userInfo } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  CHECK_DEFAULTS,
  DEFAULT_CONFIG_PATH,
  parseRepository,
  TOOL_VERSION,
  UsageError,
  type Options,
} from './options.js';
import { realSleep, systemClock, systemRandom, type Clock, type Random, type Sleep } from './deps.js';
import { userError } from './errors.js';
import { createRunLogger } from './report/logger.js';
import { maskSecrets, secretsOf } from './secrets.js';
import type { RunReport } from './report/types.js';
import type { Db } from './store/db.js';
import type { CheckInput } from './check.js';
import type { SignalSource } from './sandbox/interrupts.js';
// Everything else is imported by the command that uses it (dynamic import() at its entry), so `--help` loads
// commander and nothing more, and `check` never loads the database, GitHub or LLM clients (it must stay fast).

/** Where the CLI writes and what it reads; injected by tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Where `check --patch -` reads the patch from (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
  clock?: Clock;
  random?: Random;
  sleep?: Sleep;
  /** Where `run` listens for SIGINT and SIGTERM while it runs (default process; tests pass an EventEmitter). */
  signals?: SignalSource;
}

/** Options every command takes, so all of them find the same database. */
interface CommonFlags {
  repo?: string;
  databaseUrl?: string;
  databaseUrlFile?: string;
  repository?: string;
}

/** What `db status` says of a PGlite directory an earlier version made. */
const PGLITE_NOTE =
  'engine: PGlite, made by an earlier version (slower, and one self-evolution process at a time); it stays in use ' +
  'while it is the only embedded database here: move it aside (mv .self-evolution/db .self-evolution/db.pglite) to ' +
  'start the faster embedded Postgres server, which begins with an empty history';

/** The directory (inside the target checkout) where the CLI keeps its embedded database and artifacts. */
export const STATE_DIR = '.self-evolution';

/**
 * Runs the CLI with `argv` (as process.argv: node, script, args...) and returns the exit code.
 * Never throws and never calls process.exit.
 */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  // The database URL a command resolved (from a flag, a file or the environment), masked in its errors.
  const secrets: string[] = [];
  const program = buildProgram(io, secrets);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return exitCodeFor(err, io, secrets);
  }
}

function exitCodeFor(err: unknown, io: CliIo, found: readonly string[]): number {
  if (err instanceof ExitSignal) return err.code;
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
      return 0;
    return 2;
  }
  const secrets = [
    ...found,
    ...secretsOf({
      databaseUrl: io.env.DATABASE_URL,
      githubToken: io.env.GITHUB_TOKEN || io.env.GH_TOKEN,
    }),
  ];
  const { message, exitCode } = userError(err, secrets, 'run');
  io.stderr(`error: ${message}\n`);
  return exitCode;
}

/** Thrown inside an action to end the CLI with a given exit code. */
class ExitSignal extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/**
 * The commander program of the CLI.
 * @param secrets receives the secrets a command finds while it runs (the database URL it resolved), so
 *   main() masks them in the error it prints
 */
function buildProgram(io: CliIo, secrets: string[]): Command {
  const program = new Command('self-evolution')
    .description('A gated, audited self-improvement loop for a git repository (dry run by default).')
    .version(TOOL_VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  const common = (cmd: Command): Command =>
    cmd
      .option('--repo <dir>', 'the target git checkout', io.cwd)
      .option(
        '--database-url <url>',
        'Postgres URL (default: $DATABASE_URL, else the embedded database in <repo>/.self-evolution/pg: see `self-evolution db`); a password given here is visible in the process list: prefer $DATABASE_URL or --database-url-file',
      )
      .option(
        '--database-url-file <file>',
        'read the Postgres URL from this file (its first non-empty line), keeping the password out of the process list',
      )
      .option('--repository <owner/name>', 'repository identity (default: from the origin remote)')
      .exitOverride()
      .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  common(program.command('run'))
    .description(
      'run the pipeline once: gates, jitter, lock, reflection, proposers, rails; record and report',
    )
    .option('--config <file>', 'config file, relative to --repo', DEFAULT_CONFIG_PATH)
    .option('--dry-run', 'do not act: preview the pull requests (the default)', true)
    .option(
      '--live',
      'verify and publish allowed proposals as draft pull requests (also needs "dryRunMode": false in the config, GITHUB_TOKEN or GH_TOKEN for the API, and a remote your git can push to)',
    )
    .option('--force', 'run even if it already ran today or a failed run is in cooldown', false)
    .addOption(new Option('--jitter-minutes <n>', 'maximum random delay, minutes').argParser(wholeNumber))
    .option('--no-jitter', 'start at once')
    .option('--request <text>', 'a human request: the goal of this run')
    .option('--json', 'print the result as one JSON object on stdout', false)
    .action(async (flags: CommonFlags & RunFlags) => {
      const { runOnce, renderRunText, openDatabase, handleInterrupts, exitCodeOf, CANCEL_GRACE_MS } =
        await loadRunModules();
      // From here until the run returned, SIGINT/SIGTERM cancel the run instead of killing the process; a
      // second signal does not cut its cleanup short (bounded by CANCEL_GRACE_MS).
      const interrupts = handleInterrupts({
        ...(io.signals ? { source: io.signals } : {}),
        onSignal: (signal, first) =>
          io.stderr(
            first
              ? `${signal}: cancelling the run (cleaning up within ${CANCEL_GRACE_MS / 1000} s)\n`
              : `${signal}: already cancelling; the cleanup finishes within ${CANCEL_GRACE_MS / 1000} s\n`,
          ),
      });
      let report: RunReport;
      try {
        const options = await buildOptions(flags, io, secrets);
        const clock = io.clock ?? systemClock;
        const logger = createRunLogger({
          secrets: secretsOf(options),
          clock,
          sink: (level, message) => io.stderr(`${level === 'info' ? '' : `${level}: `}${message}\n`),
        });
        report = await runOnce(options, {
          clock,
          random: io.random ?? systemRandom,
          sleep: io.sleep ?? realSleep,
          logger,
          openDb: openDatabase,
          signal: interrupts.signal,
        });
      } finally {
        interrupts.dispose();
      }
      io.stderr(renderRunText(report) + '\n');
      if (flags.json) io.stdout(JSON.stringify(toJson(report)) + '\n');
      if (report.status === 'failed') throw new ExitSignal(1);
      if (report.status === 'cancelled') throw new ExitSignal(exitCodeOf(interrupts.received ?? 'SIGINT'));
    });

  common(program.command('status'))
    .description('the last runs with status, reason, proposal counts and pull requests')
    .option('--limit <n>', 'how many runs', positiveInt, 10)
    .option('--all', 'runs of every repository in the database', false)
    .option(
      '--metrics',
      'instead of the runs: the metrics of the last 7, 30 and 90 days (proposals made, allowed, verified, published, merged, closed, reverted; rates, mean times, runs, breaker trips) and the rules that block most',
      false,
    )
    .option('--json', 'print JSON', false)
    .action(async (flags: CommonFlags & { limit: number; all: boolean; metrics: boolean; json: boolean }) => {
      if (flags.metrics) {
        const { readMetricsReport, renderMetrics } = await loadMetricsModules();
        await withDb(flags, io, secrets, async (db, options) => {
          const report = await readMetricsReport(
            db,
            flags.all ? { all: true } : { repository: options.repository },
          );
          if (flags.json) io.stdout(JSON.stringify(report) + '\n');
          else io.stdout(renderMetrics(report) + '\n');
        });
        return;
      }
      const { listRecentRuns, pullRequestsOfRuns, renderStatusTable } = await loadStatusModules();
      await withDb(flags, io, secrets, async (db, options) => {
        const listed = await listRecentRuns(db, {
          repository: flags.all ? undefined : options.repository,
          limit: flags.limit,
        });
        const prs = await pullRequestsOfRuns(
          db,
          listed.map((r) => r.id),
        );
        const runs = listed.map((r) => ({ ...r, pullRequests: prs.get(r.id) ?? [] }));
        if (flags.json) io.stdout(JSON.stringify(runs) + '\n');
        else io.stdout(renderStatusTable(runs) + '\n');
      });
    });

  common(program.command('report'))
    .description(
      'write the HTML dashboard, one self-contained file: runs by day, the funnel from proposal to merge, the rules that block most, open pull requests, the circuit breaker, every run with its gates, proposals and pull requests',
    )
    .option('--out <file>', `where to write it (default: <repo>/${STATE_DIR}/report.html)`)
    .option('--all', 'every repository in the database (not with --repository)', false)
    .option(
      '--days <n>',
      `the window of the calendar and the run list, days (1 to ${REPORT_MAX_DAYS})`,
      reportDays,
      90,
    )
    .action(async (flags: CommonFlags & { out?: string; all: boolean; days: number }) => {
      if (flags.all && flags.repository !== undefined) {
        throw new UsageError('give either --repository owner/name or --all, not both');
      }
      const { writeDashboard } = await loadReportModules();
      await withDb(flags, io, secrets, async (db, options) => {
        const out =
          flags.out !== undefined
            ? resolve(io.cwd, flags.out)
            : join(options.repoDir, STATE_DIR, 'report.html');
        const data = await writeDashboard(
          db,
          flags.all ? { all: true, days: flags.days } : { repository: options.repository, days: flags.days },
          out,
        );
        io.stderr(
          `dashboard of ${flags.all ? `${data.repositories.length} repositories` : options.repository}: ${data.runsTotal} run(s) in ${flags.days} days\n`,
        );
        io.stdout(`${out}\n`);
      });
    });

  common(program.command('prune'))
    .description(
      'delete old runs with their reflections, proposals, pull-request actions and reverts, in batches of short transactions that never wait for a run in progress; kept: runs still running, and runs with a pull request or a revert not in a final state (planned, pushed or submitted: it may still be open) until it is',
    )
    .requiredOption(
      '--older-than <duration>',
      `delete runs that started longer ago than this: a whole number of hours, days or weeks (36h, 400d, 52w); at least ${PRUNE_MIN_HOURS}h (1d)`,
      retentionAge,
    )
    .option(
      '--all',
      'every repository in the database (default: this repository; not with --repository)',
      false,
    )
    .option('--dry-run', 'count what would be deleted, per table; delete nothing', false)
    .option(
      '--batch-size <n>',
      `runs per batch, each batch its own transaction (1 to ${PRUNE_MAX_BATCH_SIZE})`,
      pruneBatchSize,
      500,
    )
    .option('--json', 'print the result as one JSON object on stdout', false)
    .action(async (flags: CommonFlags & PruneFlags) => {
      if (flags.all && flags.repository !== undefined) {
        throw new UsageError('give either --repository owner/name or --all, not both');
      }
      const { pruneRuns, renderPrune } = await loadPruneModules();
      await withDb(flags, io, secrets, async (db, options) => {
        const result = await pruneRuns(db, {
          olderThanMs: flags.olderThan.ms,
          ...(flags.all ? {} : { repository: options.repository }),
          batchSize: flags.batchSize,
          dryRun: flags.dryRun,
          onBatch: (b) =>
            io.stderr(
              `batch ${b.batch}: ${b.counts.runs} run(s) deleted` +
                (b.runIds.length > 0 ? ` (ids ${b.runIds[0]}..${b.runIds.at(-1)})` : '') +
                ` in ${b.ms} ms\n`,
            ),
        });
        if (flags.json) {
          io.stdout(JSON.stringify({ olderThan: flags.olderThan.text, ...result }) + '\n');
        } else io.stdout(renderPrune(result, flags.olderThan.text) + '\n');
      });
    });

  common(program.command('rollback'))
    .description(
      'open a revert pull request for a merged self-change (--action ID or --pr N) or for every merged self-change of a run (--run ID); a human merges it, never the tool',
    )
    .option('--config <file>', 'config file, relative to --repo', DEFAULT_CONFIG_PATH)
    .addOption(new Option('--action <id>', 'the self_evolution_actions id').argParser(positiveInt))
    .addOption(new Option('--pr <n>', "the self-change's pull request number").argParser(positiveInt))
    .addOption(new Option('--run <id>', 'every merged self-change of this run').argParser(positiveInt))
    .option('--reason <text>', 'why (recorded, and in the pull request)')
    .option('--json', 'print the result as one JSON object on stdout', false)
    .action(async (flags: CommonFlags & RollbackFlags) => {
      const given = [flags.action, flags.pr, flags.run].filter((v) => v !== undefined).length;
      if (given !== 1) throw new UsageError('give exactly one of --action ID, --pr N or --run ID');
      const { rollbackOnRequest, openDatabase, parseEnvOverrides } = await loadRollbackModules();
      const base = await commonOptions(flags, io, secrets);
      const actor = io.env.GITHUB_ACTOR || safeUser();
      const options: Options = {
        ...base,
        configPath: flags.config,
        githubToken: io.env.GITHUB_TOKEN || io.env.GH_TOKEN || undefined,
        githubApiUrl: io.env.GITHUB_API_URL ?? 'https://api.github.com',
        dryRun: false,
        pushWithToken: false,
        force: false,
        jitter: { enabled: false },
        trigger: 'cli',
        uploadArtifacts: false,
        envOverrides: parseEnvOverrides(io.env),
        env: io.env,
        actor,
      };
      const clock = io.clock ?? systemClock;
      const logger = createRunLogger({
        secrets: secretsOf(options),
        clock,
        sink: (level, message) => io.stderr(`${level === 'info' ? '' : `${level}: `}${message}\n`),
      });
      const report = await rollbackOnRequest(
        options,
        {
          target:
            flags.action !== undefined
              ? { actionId: flags.action }
              : flags.pr !== undefined
                ? { prNumber: flags.pr }
                : { runId: flags.run! },
          ...(flags.reason !== undefined ? { reason: flags.reason } : {}),
          requestedBy: actor,
          checkPermission: false,
        },
        { clock, logger, openDb: openDatabase },
      );
      for (const r of report.reverts) {
        io.stderr(
          `action #${r.actionId} (${r.revertedSha.slice(0, 7)}): ${r.state}${r.number !== undefined ? ` #${r.number}${r.url ? ` ${r.url}` : ''}` : ''}: ${r.reason}\n`,
        );
      }
      io.stderr(`${report.summary}\n`);
      if (flags.json) io.stdout(JSON.stringify(report) + '\n');
      if (report.status !== 'success') throw new ExitSignal(1);
    });

  common(program.command('migrate'))
    .description('apply database migrations (runs also do this automatically)')
    .action(async (flags: CommonFlags) => {
      await withDb(
        flags,
        io,
        secrets,
        async (db) => {
          const { migrate } = await loadDbModules();
          const { applied } = await migrate(db);
          io.stdout(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is up to date\n');
        },
        false,
      );
    });

  const flag = program
    .command('flag')
    .description(
      'feature flags: self_evolution_enabled (absent means off) or self_evolution_enabled:owner/name for one repository',
    );
  common(flag.command('get'))
    .argument('<name>', 'flag name, e.g. self_evolution_enabled')
    .action(async (name: string, flags: CommonFlags) => {
      const { getFlag } = await loadFlags();
      await withDb(flags, io, secrets, async (db) => {
        const value = await getFlag(db, name);
        io.stdout(`${name}=${value === null ? '(absent: off)' : String(value)}\n`);
      });
    });
  common(flag.command('set'))
    .argument('<name>', 'flag name, e.g. self_evolution_enabled or self_evolution_enabled:owner/name')
    .argument('<value>', 'true or false', parseBool)
    .action(async (name: string, value: boolean, flags: CommonFlags) => {
      const { setFlag } = await loadFlags();
      await withDb(flags, io, secrets, async (db) => {
        await setFlag(db, name, value, {
          setBy: 'cli',
          user: safeUser(),
          at: (io.clock ?? systemClock).now().toISOString(),
        });
        io.stdout(`${name}=${value}\n`);
      });
    });

  const database = program
    .command('db')
    .description(
      'the embedded database (used when no DATABASE_URL is given): a Postgres server in <repo>/.self-evolution/pg, started on demand and stopped after SELF_EVOLUTION_DB_IDLE_MINUTES (default 10) without clients',
    );
  common(database.command('status'))
    .description('where the embedded database is, whether its server runs, its port and connections')
    .option('--json', 'print JSON', false)
    .action(async (flags: CommonFlags & { json: boolean }) => {
      const options = await commonOptions(flags, io, secrets);
      const { isPgliteDirectory } = await import('./store/embedded-dir.js');
      const { embeddedServerStatus, idleMsFromEnv } = await import('./store/embedded-server.js');
      if (isPgliteDirectory(options.embeddedDbDir)) {
        if (flags.json) io.stdout(JSON.stringify({ dir: options.embeddedDbDir, engine: 'pglite' }) + '\n');
        else io.stdout(`embedded database: ${options.embeddedDbDir}\n${PGLITE_NOTE}\n`);
        return;
      }
      const state = await embeddedServerStatus(options.embeddedDbDir);
      if (flags.json) {
        io.stdout(JSON.stringify({ engine: 'postgres', ...state }) + '\n');
        return;
      }
      const idle = idleMsFromEnv(io.env) / 60_000;
      const lines = [`embedded database: ${state.dir}`];
      if (state.running !== null) {
        lines.push(
          `server: running, pid ${state.running.pid}, 127.0.0.1:${state.running.port}, ` +
            `${state.clients ?? '?'} other client connection(s)`,
          state.keeperPid !== undefined
            ? `idle keeper: pid ${state.keeperPid} (stops the server after ${idle} min without clients)`
            : 'idle keeper: none (the server runs until `self-evolution db stop`)',
        );
      } else {
        lines.push(
          state.initialised ? 'server: stopped (the next command starts it)' : 'server: not created yet',
        );
      }
      if (options.databaseUrl !== undefined && options.databaseUrl.trim() !== '') {
        lines.push('note: a database URL is given, so commands here use that server, not this one');
      }
      io.stdout(lines.join('\n') + '\n');
    });
  common(database.command('stop'))
    .description(
      'stop the embedded Postgres server (refused while a run or another command is connected, unless --force)',
    )
    .option('--force', 'stop at once, ending open connections (a run in progress then fails)', false)
    .action(async (flags: CommonFlags & { force: boolean }) => {
      const options = await commonOptions(flags, io, secrets);
      const { isPgliteDirectory } = await import('./store/embedded-dir.js');
      if (isPgliteDirectory(options.embeddedDbDir)) {
        io.stdout(
          `${options.embeddedDbDir} is a PGlite database: no server to stop (it runs inside each command)\n`,
        );
        return;
      }
      const { stopEmbeddedServer } = await import('./store/embedded-server.js');
      const result = await stopEmbeddedServer(options.embeddedDbDir, { force: flags.force });
      if (result.refusedClients !== undefined) {
        io.stderr(
          `not stopped: ${result.refusedClients} client connection(s) are open (a run in progress?); wait, or use --force\n`,
        );
        throw new ExitSignal(1);
      }
      io.stdout(
        result.stopped !== null
          ? `stopped the embedded Postgres server (pid ${result.stopped.pid}) of ${options.embeddedDbDir}\n`
          : `the embedded Postgres server of ${options.embeddedDbDir} was not running\n`,
      );
    });

  program
    .command('check')
    .description(
      'judge one change (a patch, or the commits base...head) with the safety rails; exit 0 allowed, 1 blocked, 2 bad usage or unreadable input',
    )
    .option('--patch <file>', 'the patch to check; "-" reads it from stdin')
    .option(
      '--base <ref>',
      'base commit: the change is base...head (what head adds since it forked from base)',
    )
    .option('--head <ref>', 'head commit (with --base)')
    .option('--repo <dir>', 'the git checkout (default: the current directory, when it is one)')
    .option(
      '--config <file>',
      'config file, relative to the repository root (default .github/self-evolution-config.json, else the defaults); a range check reads it from the base commit',
    )
    .option(
      '--type <type>',
      'change type: capability, prompt, persona, cleanup or wildcard',
      CHECK_DEFAULTS.type,
    )
    .addOption(
      new Option(
        '--risk <n>',
        'stated risk 0-5 (default 0: the rails judge by max(stated, computed))',
      ).argParser(riskNumber),
    )
    .option('--branch <name>', 'the branch the change goes to, checked by the branch rules')
    .option(
      '--allow-policy-edits',
      'a human allows changes to self-protected files (never policy loosening)',
      false,
    )
    .option('--wildcard-of <type>', 'for --type wildcard: what kind of change it is, e.g. prompt')
    .addOption(
      new Option('--wildcards-today <n>', 'wildcard changes already allowed today (default 0)').argParser(
        wholeNumber,
      ),
    )
    .option('--default-branch <name>', "the repository's default branch (default: from origin/HEAD)")
    .addOption(
      new Option('--format <format>', 'output format').choices(['text', 'json', 'sarif']).default('text'),
    )
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (flags: CheckFlags) => {
      throw new ExitSignal(await runCheck(flags, io));
    });
  return program;
}

/** Flags of `check`. */
interface CheckFlags {
  patch?: string;
  base?: string;
  head?: string;
  repo?: string;
  config?: string;
  type: string;
  risk?: number;
  branch?: string;
  allowPolicyEdits: boolean;
  wildcardOf?: string;
  wildcardsToday?: number;
  defaultBranch?: string;
  format: 'text' | 'json' | 'sarif';
}

/** What `run` imports, loaded once (see {@link loadOnce}). */
const loadRunModules = loadOnce(async () => {
  const { runOnce } = await import('./run.js');
  const { renderRunText } = await import('./report/summary.js');
  const { openDatabase } = await import('./store/open.js');
  const { handleInterrupts, exitCodeOf, CANCEL_GRACE_MS } = await import('./sandbox/interrupts.js');
  return { runOnce, renderRunText, openDatabase, handleInterrupts, exitCodeOf, CANCEL_GRACE_MS };
});

/** What `status` imports besides the database, loaded once. */
const loadStatusModules = loadOnce(async () => {
  const { listRecentRuns } = await import('./store/runs.js');
  const { pullRequestsOfRuns } = await import('./store/actions.js');
  const { renderStatusTable } = await import('./report/status.js');
  return { listRecentRuns, pullRequestsOfRuns, renderStatusTable };
});

/** What `status --metrics` imports besides the database, loaded once. */
const loadMetricsModules = loadOnce(async () => {
  const { readMetricsReport } = await import('./store/metrics.js');
  const { renderMetrics } = await import('./report/metrics.js');
  return { readMetricsReport, renderMetrics };
});

/** What `report` imports besides the database, loaded once. */
const loadReportModules = loadOnce(async () => {
  const { writeDashboard } = await import('./report/dashboard-artifact.js');
  return { writeDashboard };
});

/** What `prune` imports besides the database, loaded once. */
const loadPruneModules = loadOnce(async () => {
  const { pruneRuns } = await import('./store/prune.js');
  const { renderPrune } = await import('./report/prune.js');
  return { pruneRuns, renderPrune };
});

/** What `rollback` imports, loaded once. */
const loadRollbackModules = loadOnce(async () => {
  const { rollbackOnRequest } = await import('./rollback.js');
  const { openDatabase } = await import('./store/open.js');
  const { parseEnvOverrides } = await import('./config/overrides.js');
  return { rollbackOnRequest, openDatabase, parseEnvOverrides };
});

/** The database and its migrations, loaded once. */
const loadDbModules = loadOnce(async () => {
  const { openDatabase } = await import('./store/open.js');
  const { migrate } = await import('./store/migrate.js');
  return { openDatabase, migrate };
});

/** What `check` imports, loaded once (see {@link loadOnce}). */
const loadCheckModules = loadOnce(async () => {
  const { checkChange } = await import('./check.js');
  // import(), not loadGit(): a loader must not wait for the queue it is part of.
  const { isGitRepository } = await import('./git/git.js');
  const { MAX_PATCH_BYTES, PatchError } = await import('./git/facts.js');
  const verdicts = await import('./report/verdict.js');
  return { checkChange, isGitRepository, MAX_PATCH_BYTES, PatchError, verdicts };
});

/** The CLI's imports in flight, one after the other (see {@link loadOnce}). */
let importQueue: Promise<unknown> = Promise.resolve();

/**
 * `load` run at most once (every caller awaits the same promise) and only after every load started before it
 * has settled: no two `import()`s of the CLI are ever in flight side by side. Concurrent imports of modules
 * that share dependencies race in jest's ESM loader ("request for ... is not in cache"), and tests run CLI
 * commands concurrently in one process.
 */
function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => {
    if (promise === undefined) {
      promise = importQueue.then(load, load);
      importQueue = promise.catch(() => undefined);
    }
    return promise;
  };
}

/** Small modules several commands import, loaded once each. */
const loadGit = loadOnce(() => import('./git/git.js'));
const loadFlags = loadOnce(() => import('./store/flags.js'));
const loadOverrides = loadOnce(() => import('./config/overrides.js'));

/**
 * Runs `check` and returns its exit code: 0 allowed, 1 blocked, 2 when there is no verdict (bad usage, a
 * patch or commit git cannot read, a bad config, or any other error). The verdict goes to stdout in the
 * chosen format; notes and errors go to stderr.
 */
async function runCheck(flags: CheckFlags, io: CliIo): Promise<number> {
  const secrets = secretsOf({ githubToken: io.env.GITHUB_TOKEN || io.env.GH_TOKEN });
  try {
    if (flags.patch !== undefined && (flags.base !== undefined || flags.head !== undefined)) {
      throw new UsageError('give either --patch FILE or --base REF --head REF, not both');
    }
    const { checkChange, isGitRepository, verdicts } = await loadCheckModules();
    let repoDir: string | undefined;
    if (flags.repo !== undefined) repoDir = resolve(io.cwd, flags.repo);
    else if (await isGitRepository(io.cwd)) repoDir = io.cwd;
    const input: CheckInput = {
      repoDir,
      // Relative to the repository root (as `run --config`), or to the current directory without one.
      configPath:
        flags.config === undefined
          ? undefined
          : repoDir === undefined
            ? resolve(io.cwd, flags.config)
            : flags.config,
      base: flags.base,
      head: flags.head,
      type: flags.type,
      risk: flags.risk,
      targetBranch: flags.branch,
      humanOverride: flags.allowPolicyEdits,
      wildcardsToday: flags.wildcardsToday,
      wildcardOf: flags.wildcardOf,
      defaultBranch: flags.defaultBranch,
    };
    if (flags.patch !== undefined) input.patch = await readPatchInput(flags.patch, io);
    const result = await checkChange(input);
    for (const note of result.notes) io.stderr(`note: ${maskSecrets(note, secrets)}\n`);
    if (flags.format === 'json') io.stdout(verdicts.renderVerdictJson(result.verdict));
    else if (flags.format === 'sarif')
      io.stdout(verdicts.renderVerdictSarif(result.verdict, { defaultUri: result.policy.policyPath }));
    else io.stdout(verdicts.renderVerdictText(result.verdict));
    return result.verdict.allowed ? 0 : 1;
  } catch (err) {
    io.stderr(`error: ${userError(err, secrets, 'check').message}\n`);
    return 2;
  }
}

/**
 * The bytes of the patch named by --patch: a file (relative to the current directory), or stdin for "-".
 * @throws UsageError when the file does not exist or is not a file; PatchError when it is larger than
 *   MAX_PATCH_BYTES (checked before reading it).
 */
async function readPatchInput(source: string, io: CliIo): Promise<Buffer> {
  const { MAX_PATCH_BYTES, PatchError } = await loadCheckModules();
  const tooLarge = (size: string) =>
    new PatchError(
      'patch-too-large',
      `the patch ${source === '-' ? 'on stdin' : source} is ${size}, more than the ${MAX_PATCH_BYTES} bytes (100 MiB) check accepts; split the change into smaller ones`,
    );
  if (source === '-') {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of io.stdin ?? process.stdin) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
      total += bytes.length;
      if (total > MAX_PATCH_BYTES) throw tooLarge(`over ${MAX_PATCH_BYTES} bytes`);
      chunks.push(bytes);
    }
    return Buffer.concat(chunks);
  }
  const path = resolve(io.cwd, source);
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new UsageError(`patch file not found: ${path} (--patch takes a file, or "-" for stdin)`);
  }
  if (!info.isFile()) throw new UsageError(`--patch ${path} is not a file`);
  if (info.size > MAX_PATCH_BYTES) throw tooLarge(`${info.size} bytes`);
  return readFile(path);
}

/** --risk: any finite number (the rails block values that are not an integer 0..5). */
function riskNumber(value: string): number {
  if (!/^-?\d+(\.\d+)?$/.test(value.trim())) {
    throw new InvalidArgumentError(`expected a risk level 0-5, got "${value}"`);
  }
  return Number(value);
}

/** A whole number >= 0. */
function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number >= 0, got "${value}"`);
  return Number(value);
}

/** Flags of `rollback`: exactly one of action, pr, run. */
interface RollbackFlags {
  config: string;
  action?: number;
  pr?: number;
  run?: number;
  reason?: string;
  json: boolean;
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
    request: r.metrics.request ?? null,
    insights: r.insights,
    tokensUsed: r.metrics.tokensUsed ?? 0,
    limitsReached: r.metrics.limitsReached ?? [],
    baseSha: r.baseSha,
    toolVersion: r.toolVersion,
    actor: r.actor,
    config: r.config,
    worktreeDirty: r.worktreeDirty,
    liveRefusal: r.liveRefusal,
    reverts: r.reverts ?? [],
    proposals: r.proposals.map((p) => ({
      id: p.id,
      title: p.title,
      proposer: p.proposer,
      status: p.status,
      type: p.type,
      riskLevel: p.riskLevel,
      filesChanged: p.filesChanged,
      linesChanged: p.linesChanged,
      verdict: p.verdict,
      blockedReasons: p.blockedReasons,
      patchFile: p.patchFile,
      provenanceFile: p.provenanceFile ?? null,
      verify: p.verify
        ? { status: p.verify.status, reason: p.verify.reason ?? null, commands: p.verify.commands.length }
        : null,
      pullRequest: p.pullRequest
        ? {
            state: p.pullRequest.state,
            branch: p.pullRequest.branch,
            title: p.pullRequest.title,
            labels: p.pullRequest.labels,
            draft: p.pullRequest.draft,
            number: p.pullRequest.number ?? null,
            url: p.pullRequest.url ?? null,
            reason: p.pullRequest.reason ?? null,
          }
        : null,
    })),
  };
}

/** Builds the run Options from flags and the environment (see {@link commonOptions} for `secrets`). */
async function buildOptions(flags: CommonFlags & RunFlags, io: CliIo, secrets: string[]): Promise<Options> {
  const { parseEnvOverrides } = await loadOverrides();
  const base = await commonOptions(flags, io, secrets);
  return {
    ...base,
    configPath: flags.config,
    githubToken: io.env.GITHUB_TOKEN || io.env.GH_TOKEN || undefined,
    githubApiUrl: io.env.GITHUB_API_URL ?? 'https://api.github.com',
    dryRun: !flags.live,
    pushWithToken: false,
    force: flags.force,
    jitter: { enabled: flags.jitter, maxMinutes: flags.jitterMinutes },
    trigger: 'cli',
    uploadArtifacts: false,
    envOverrides: parseEnvOverrides(io.env),
    request: flags.request,
    env: io.env,
    actor: io.env.GITHUB_ACTOR || safeUser(),
  };
}

/**
 * The options every database command shares: the checkout, the repository identity and the database.
 * Resolves the database URL (see {@link resolveDatabaseUrl}) and adds it, with its password, to `secrets`.
 * @throws UsageError for a bad database flag, a directory that is not a git checkout or a bad --repository
 */
async function commonOptions(
  flags: CommonFlags,
  io: CliIo,
  secrets: string[],
): Promise<
  Pick<
    Options,
    'repoDir' | 'repository' | 'databaseUrl' | 'databaseUrlFile' | 'embeddedDbDir' | 'artifactsRoot'
  >
> {
  const databaseUrl = await resolveDatabaseUrl(flags, io);
  secrets.push(...secretsOf({ databaseUrl }));
  const { isGitRepository, originUrl, repoRoot, repositoryFromRemote } = await loadGit();
  const { embeddedDatabaseDir, isPgliteDirectory } = await import('./store/embedded-dir.js');
  const dir = resolve(io.cwd, flags.repo ?? io.cwd);
  if (!(await isGitRepository(dir))) {
    throw new UsageError(`not a git repository: ${dir} (pass --repo with the path of a git checkout)`);
  }
  const repoDir = await repoRoot(dir);
  const remote = await originUrl(repoDir);
  const given = flags.repository ?? (remote ? repositoryFromRemote(remote) : null);
  if (given !== null) {
    parseRepository(
      given,
      flags.repository !== undefined ? '--repository' : 'the repository of the origin remote',
      flags.repository !== undefined ? undefined : 'pass --repository owner/name',
    );
  }
  const repository = given ?? `local/${basename(repoDir)}`;
  const embeddedDbDir = embeddedDatabaseDir(join(repoDir, STATE_DIR));
  if ((databaseUrl === undefined || databaseUrl.trim() === '') && isPgliteDirectory(embeddedDbDir)) {
    io.stderr(
      `note: ${embeddedDbDir} is a PGlite database of an earlier version (slower, one process at a time); ` +
        'see `self-evolution db status`\n',
    );
  }
  return {
    repoDir,
    repository,
    databaseUrl,
    ...(flags.databaseUrlFile !== undefined
      ? { databaseUrlFile: resolve(io.cwd, flags.databaseUrlFile) }
      : {}),
    embeddedDbDir,
    artifactsRoot: join(repoDir, STATE_DIR, 'artifacts'),
  };
}

/** Opens the database named by the flags (migrating it unless told not to), runs fn, closes it. */
async function withDb(
  flags: CommonFlags,
  io: CliIo,
  secrets: string[],
  fn: (db: Db, options: Awaited<ReturnType<typeof commonOptions>>) => Promise<void>,
  autoMigrate = true,
): Promise<void> {
  const options = await commonOptions(flags, io, secrets);
  const { openDatabase, migrate } = await loadDbModules();
  const db = await openDatabase({ databaseUrl: options.databaseUrl, embeddedDir: options.embeddedDbDir });
  try {
    if (autoMigrate) await migrate(db);
    await fn(db, options);
  } finally {
    await db.close();
  }
}

/**
 * The database URL of a command: `--database-url-file` or `--database-url` (never both), else
 * $DATABASE_URL, else undefined (the embedded database). Prints one warning to stderr when the URL came
 * from `--database-url` and holds a password (never the URL or the password itself): the command line is
 * readable by other processes, the environment and a file are not.
 * @throws UsageError when both flags are given, or the file cannot be read or holds no URL
 */
async function resolveDatabaseUrl(flags: CommonFlags, io: CliIo): Promise<string | undefined> {
  if (flags.databaseUrlFile !== undefined) {
    if (flags.databaseUrl !== undefined) {
      throw new UsageError(
        'give either --database-url-file FILE or --database-url URL, not both (prefer the file or $DATABASE_URL)',
      );
    }
    return readDatabaseUrlFile(resolve(io.cwd, flags.databaseUrlFile));
  }
  if (flags.databaseUrl !== undefined) {
    if (urlHasPassword(flags.databaseUrl)) {
      io.stderr(
        'warning: the URL given with --database-url holds a password, and a command line is visible to every ' +
          'process of this user (on most systems of every user) in the process list (ps, /proc/PID/cmdline); ' +
          'pass the URL in DATABASE_URL or with --database-url-file FILE instead\n',
      );
    }
    return flags.databaseUrl;
  }
  return io.env.DATABASE_URL || undefined;
}

/** Most bytes --database-url-file reads: a URL is far shorter, and /dev/zero must not fill the memory. */
const MAX_DATABASE_URL_FILE_BYTES = 64 * 1024;

/**
 * The database URL held by the file at `path`: its first non-empty line, trimmed. A regular file, a pipe
 * (`<(command)`) or /dev/stdin. The content is a secret: no message repeats it.
 * @throws UsageError naming the file when it cannot be opened or read, is larger than 64 KiB, or holds no
 *   non-empty line
 */
async function readDatabaseUrlFile(path: string): Promise<string> {
  let text: string;
  try {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(MAX_DATABASE_URL_FILE_BYTES + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > MAX_DATABASE_URL_FILE_BYTES) {
        throw new UsageError(
          `--database-url-file ${path} is larger than 64 KiB: it must hold only the Postgres URL`,
        );
      }
      text = buffer.subarray(0, length).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read --database-url-file ${path}: ${fileErrorReason(err)}`);
  }
  const url = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .find((line) => line !== '');
  if (url === undefined) {
    throw new UsageError(
      `--database-url-file ${path} is empty: write the Postgres URL (postgres://user:password@host:5432/db) on its first line`,
    );
  }
  return url;
}

/** Why a file could not be read, in words (from the error's code; the message would repeat the path). */
function fileErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const known: Record<string, string> = {
    ENOENT: 'no such file (ENOENT)',
    EACCES: 'permission denied (EACCES)',
    EPERM: 'permission denied (EPERM)',
    EISDIR: 'it is a directory (EISDIR)',
    ENOTDIR: 'a part of the path is not a directory (ENOTDIR)',
    ELOOP: 'too many symbolic links (ELOOP)',
  };
  if (code !== undefined) return known[code] ?? code;
  return err instanceof Error ? (err.message.split('\n')[0] ?? 'unknown error') : String(err);
}

/**
 * True when `url` holds a password: `scheme://user:password@host...` or a `password=` query parameter.
 * A value that is not a URL is judged by the same two patterns.
 */
function urlHasPassword(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.password !== '' || Boolean(parsed.searchParams.get('password'));
  } catch {
    // not a URL for WHATWG: the patterns below
  }
  return /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]*:[^@\s]+@/i.test(url) || /[?&]password=[^&]/i.test(url);
}

/** The longest --days of `report` (store/dashboard.ts DASHBOARD_MAX_DAYS; not imported: --help loads nothing). */
const REPORT_MAX_DAYS = 400;

/** The shortest --older-than of `prune`, hours (store/prune.ts PRUNE_MIN_AGE_MS; not imported: --help loads nothing). */
const PRUNE_MIN_HOURS = 24;

/** The longest --older-than of `prune`, hours (100 years: further back is no timestamp a run has). */
const PRUNE_MAX_HOURS = 36_500 * 24;

/** The largest --batch-size of `prune` (store/prune.ts PRUNE_MAX_BATCH_SIZE). */
const PRUNE_MAX_BATCH_SIZE = 10_000;

/** Hours in each unit --older-than accepts. */
const DURATION_HOURS: Readonly<Record<string, number>> = { h: 1, d: 24, w: 24 * 7 };

/** Flags of `prune`. */
interface PruneFlags {
  olderThan: { text: string; ms: number };
  all: boolean;
  dryRun: boolean;
  batchSize: number;
  json: boolean;
}

/**
 * --older-than of `prune`: a whole number followed by h (hours), d (days) or w (weeks), e.g. 400d, 52w, 36h.
 * @returns the value as written and in milliseconds
 * @throws InvalidArgumentError (exit 2) naming the value: another form, under PRUNE_MIN_HOURS or over PRUNE_MAX_HOURS
 */
function retentionAge(value: string): { text: string; ms: number } {
  const text = value.trim();
  const match = /^(\d+)([hdw])$/.exec(text);
  if (match === null) {
    throw new InvalidArgumentError(
      `expected a duration: a whole number and a unit, h (hours), d (days) or w (weeks), e.g. 400d, 52w or 36h; got "${value}"`,
    );
  }
  const hours = Number(match[1]) * DURATION_HOURS[match[2]!]!;
  if (hours < PRUNE_MIN_HOURS) {
    throw new InvalidArgumentError(
      `"${value}" is under the minimum of 1d (24h): the runs of the last day are what the gates and \`status\` read`,
    );
  }
  if (hours > PRUNE_MAX_HOURS) {
    throw new InvalidArgumentError(`"${value}" is over the maximum of 36500d (100 years)`);
  }
  return { text, ms: hours * 3_600_000 };
}

/** --batch-size of `prune`: a whole number from 1 to PRUNE_MAX_BATCH_SIZE. */
function pruneBatchSize(value: string): number {
  const n = positiveInt(value);
  if (n > PRUNE_MAX_BATCH_SIZE) {
    throw new InvalidArgumentError(`expected at most ${PRUNE_MAX_BATCH_SIZE} runs per batch, got ${n}`);
  }
  return n;
}

/** --days of `report`: a whole number from 1 to REPORT_MAX_DAYS. */
function reportDays(value: string): number {
  const days = positiveInt(value);
  if (days > REPORT_MAX_DAYS) {
    throw new InvalidArgumentError(`expected at most ${REPORT_MAX_DAYS} days, got ${days}`);
  }
  return days;
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
