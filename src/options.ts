/**
 * The one typed Options object both adapters (action.ts, cli.ts) build and hand to runOnce(). Nothing deeper
 * than the adapters reads process.env or @actions/core inputs.
 */

/** What started the run. */
export type Trigger = 'schedule' | 'workflow_dispatch' | 'workflow_call' | 'cli' | 'other';

/**
 * Environment overrides of config limits: SELF_EVOLUTION_MAX_FILES, SELF_EVOLUTION_MAX_LOC and
 * SELF_EVOLUTION_TIMEOUT. Applied over
 * the config and recorded on the run.
 */
export interface EnvOverrides {
  /** Replaces safetyRails.diffCaps.maxFilesChanged (files). */
  maxFilesChanged?: number;
  /** Replaces safetyRails.diffCaps.maxLinesOfCode (lines). */
  maxLinesOfCode?: number;
  /** Replaces every command proposer's timeoutSeconds (s). */
  commandTimeoutSeconds?: number;
}

/** Everything one run needs from the outside, already parsed and validated by an adapter. */
export interface Options {
  /** Absolute path of the target git checkout. */
  repoDir: string;
  /** Repository identity, 'owner/name' (or 'local/<dir>' for a checkout without a GitHub remote). */
  repository: string;
  /** Config file path, absolute or relative to repoDir. Default '.github/self-evolution-config.json'. */
  configPath: string;
  /** Postgres URL (secret). Absent: the embedded database in `embeddedDbDir` (store/open.ts openDatabase). */
  databaseUrl?: string;
  /** The file `databaseUrl` was read from (CLI --database-url-file), hidden from sandboxed commands. */
  databaseUrlFile?: string;
  /**
   * Directory of the embedded database, used when databaseUrl is absent: the embedded Postgres server's, or a PGlite
   * directory an earlier version made (the CLI picks it: store/embedded-dir.ts embeddedDatabaseDir).
   */
  embeddedDbDir: string;
  /**
   * GitHub token (secret) for the REST API: the activity gate, reflection and, in live mode, the pull requests
   * when there is no `prToken`.
   */
  githubToken?: string;
  /**
   * Live mode: the token (secret) that pushes the branch and opens the pull request, e.g. an installation token
   * of a GitHub App or a fine-grained PAT (action input `pr-token`), so the pull request starts its
   * `pull_request` workflows (GitHub does not start them for pull requests opened with GITHUB_TOKEN).
   */
  prToken?: string;
  /**
   * Live mode: push with the token (action: `prToken`, else `githubToken`) as an HTTP header in git's
   * environment. False (CLI): git pushes with the user's own credentials, to any remote the user's git can push to.
   */
  pushWithToken?: boolean;
  /**
   * Live mode: 'direct' (default) pushes and opens the pull requests in this run; 'bundle' (action `mode:
   * propose`, the two-job setup) verifies the changes and writes them to a proposal bundle in `bundleDir` for
   * a publish job that has the write token.
   */
  publishMode?: 'direct' | 'bundle';
  /** Where the proposal bundle is written (publishMode 'bundle') or read (the publish job). */
  bundleDir?: string;
  /** GitHub REST API base URL, e.g. https://api.github.com. */
  githubApiUrl: string;
  /** Requested dry run. The run is live only when this is false AND config.dryRunMode is false. */
  dryRun: boolean;
  /** Bypass "already ran today" and the failure cooldown (not the flag, enabled or activity gates). */
  force: boolean;
  /** Jitter: when `enabled` is false no delay; `maxMinutes` overrides config.scheduleConfig.jitterMinutes. */
  jitter: { enabled: boolean; maxMinutes?: number };
  trigger: Trigger;
  /** This workflow run's id on Actions, excluded from the activity gate. */
  currentWorkflowRunId?: number;
  /** URL of this workflow run on Actions (recorded as logs_url). */
  logsUrl?: string;
  /** Where artifacts are written: a directory under which `<run-id>-<database-id>/` is created. */
  artifactsRoot: string;
  /** Upload artifacts with @actions/artifact (on Actions). */
  uploadArtifacts: boolean;
  envOverrides: EnvOverrides;
  /** A human request for this run (workflow_dispatch input `request`, CLI --request). */
  request?: string;
  /**
   * The environment proposers' commands and reflection checks start from (scrubbed of secrets before they
   * run; see sandbox/runner.ts scrubEnv), and where an openai proposer reads its `apiKeyEnv`. The values of
   * secret-looking variables in it are masked in everything the run writes. Adapters pass their
   * environment; absent: process.env.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Who started the run, recorded on it: GITHUB_ACTOR, else (CLI) the local user. */
  actor?: string;
}

/**
 * Self-Evolution's version, recorded on every run. Kept equal to package.json's `version` by a test
 * (__tests__/run.audit.test.ts), so the ncc bundle and the CLI build carry it without reading package.json.
 */
export const TOOL_VERSION = '0.1.0';

/** Default config path inside the target repository. */
export const DEFAULT_CONFIG_PATH = '.github/self-evolution-config.json';

/**
 * Bad usage or bad input that the user must fix (unknown option value, not a git repository, live mode
 * requested). Adapters exit with code 2 for it and print only its message.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A GitHub repository's owner and name. */
export interface RepositoryRef {
  owner: string;
  repo: string;
}

const REPOSITORY_OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,38})$/;
const REPOSITORY_NAME = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * The one reading of a repository's identity 'owner/name': its parts, or undefined when `text` is not in that
 * form. An owner is 1-39 letters, digits, '-' or '_' (GitHub Enterprise logins may have '_') starting with a
 * letter or digit; a name 1-100 letters, digits, '.', '_' or '-', not '.' or '..'. 'local/<dir>' (a checkout
 * without a GitHub remote) is in the form too; {@link githubRepository} leaves it out.
 */
export function repositoryParts(text: string): RepositoryRef | undefined {
  const parts = text.split('/');
  if (parts.length !== 2) return undefined;
  const [owner, repo] = parts as [string, string];
  if (!REPOSITORY_OWNER.test(owner) || !REPOSITORY_NAME.test(repo) || repo === '.' || repo === '..') {
    return undefined;
  }
  return { owner, repo };
}

/** The parts of a repository on GitHub: as {@link repositoryParts}, but undefined for 'local/<dir>'. */
export function githubRepository(text: string): RepositoryRef | undefined {
  const parts = repositoryParts(text);
  return parts && parts.owner !== 'local' ? parts : undefined;
}

/**
 * 'owner/name' as its parts (see {@link repositoryParts}).
 * @param what names the value in the message, e.g. `--repository`
 * @param hint a sentence for the message, e.g. how to pass the value
 * @throws UsageError naming `what` and the value when `text` is not owner/name
 */
export function parseRepository(text: string, what = 'the repository', hint?: string): RepositoryRef {
  const parts = repositoryParts(text);
  if (!parts) {
    throw new UsageError(`${what} must be owner/name, got "${text}"${hint ? ` (${hint})` : ''}`);
  }
  return parts;
}

/**
 * Defaults of `check` and the gate (src/check.ts): the stated risk (0: the computed risk decides), the change
 * type (`capability`, the broadest ordinary type, with no wildcard allowances) and the wildcards already used
 * today. Here, not in check.ts, so the CLI can show them in `--help` without loading the check pipeline.
 */
export const CHECK_DEFAULTS = Object.freeze({ type: 'capability', risk: 0, wildcardsToday: 0 });
