/**
 * The check pipeline shared by `self-evolution check` and the action's `mode: gate`: one change (a patch, or
 * the commits base...head) judged by the rails under the repository's policy.
 *
 *   config (file, or the defaults) ─► policy ─► facts from git (+ added lines) ─► context ─► evaluate ─► result
 *
 * A gate must not be easier to pass by omitting flags: the stated risk defaults to 0 but the rails judge by
 * max(stated, computed), and the change type defaults to `capability` (the broadest ordinary type, with no
 * wildcard allowances). In a range check the config is read from the BASE commit, never from the work tree
 * or head: a pull request cannot loosen the rules it is judged by. No environment overrides apply.
 *
 * The policy file may be a symbolic link: it is read, and its before/after captured,
 * through the links of the base tree, and the rails see the base's links (facts.baseSymlinks) to judge a
 * change to the link's target as a change to the policy file. When the base is Self-Evolution's own
 * repository (its package.json is named `self-evolution`), the files the action is built from are
 * self-protected too.
 */
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigError, loadConfig, parseConfig, parseConfigText, type LoadedConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import {
  factsFromPatch,
  factsFromRange,
  resolveRange,
  type CaptureRequest,
  type FactsSource,
  type GatheredFacts,
  type ResolvedRange,
} from './git/facts.js';
import { runGit } from './git/git.js';
import { isSelfEvolutionManifest, readManyThroughLinks, readThroughLinks } from './git/links.js';
import { openNeutral, type NeutralGit } from './git/tree-facts.js';
import { CHECK_DEFAULTS, UsageError } from './options.js';
import {
  DEFAULT_POLICY_PATH,
  evaluate,
  policyFromConfig,
  resolvePath,
  touchesPolicyFile,
} from './rails/index.js';
import type { ChangeFacts, ChangeUnderReview, RailsContext, RailsPolicy, Verdict } from './rails/types.js';

export { CHECK_DEFAULTS } from './options.js';

/** What to check, and how. Give either `patch` or both `base` and `head`. */
export interface CheckInput {
  /**
   * A git checkout (any directory inside it). Required with base/head. With a patch: facts are exact when
   * the patch applies to its HEAD; without one the patch is read on its own.
   */
  repoDir?: string;
  /**
   * Config file, absolute or relative to the repository root (to the current directory without a
   * repository). Absent: `.github/self-evolution-config.json`, and the defaults when that file does not
   * exist (a given file that does not exist is an error). In a range check a path inside the repository is
   * read from the base commit.
   */
  configPath?: string;
  /** The patch (a Buffer is passed to git byte for byte). */
  patch?: string | Buffer;
  /** Base and head revisions: the change is base...head (what head adds since it forked from base). */
  base?: string;
  head?: string;
  /** Change type (default `capability`); unknown types are blocked by the rails, not rejected here. */
  type?: string;
  /** Stated risk (default 0); the rails judge by max(stated, computed) and block values outside 0..5. */
  risk?: number;
  /** Branch the change is pushed to; checked by the branch rules when given. */
  targetBranch?: string;
  /** Explicit human override of self-protection (never lifts `policy-loosened`). Default false. */
  humanOverride?: boolean;
  /** Wildcard changes already allowed today (default 0). */
  wildcardsToday?: number;
  /** For a wildcard change: which kind it is (e.g. `prompt`); without it a wildcard change is blocked. */
  wildcardOf?: string;
  /** The repository's default branch; default: from `refs/remotes/origin/HEAD` when it exists. */
  defaultBranch?: string;
}

/** Where the policy came from. */
export interface PolicySource {
  /** `file` (the config file), `defaults` (no config file: the built-in defaults). */
  source: 'file' | 'defaults';
  /** Where the file was read: the work tree / disk, or the base commit of a range. */
  from: 'disk' | 'base-commit' | 'defaults';
  /** The config file (absolute path), also when it did not exist. */
  configPath: string;
  /** The policy file as the rails protect it, relative to the repository root. */
  policyPath: string;
  /**
   * The file the policy file names through the base's symbolic links, when it is a link (e.g.
   * `src/policy.json`); absent when it is not one.
   */
  policyTarget?: string;
  /** True when the base is Self-Evolution's own repository: its build files are self-protected too. */
  hostsSelfEvolution?: boolean;
}

/** Size and origin of the facts a verdict was made from. */
export interface FactsSummary {
  /** `range`, `patch-applied` (applied to HEAD of the repository) or `patch-only` (read on its own). */
  source: FactsSource;
  files: number;
  linesAdded: number;
  linesDeleted: number;
  binaryFiles: number;
  /** False when the added lines could not be read (the content rules then block as content-unread). */
  addedLinesRead: boolean;
  /** git's reason when the patch does not apply to HEAD of the repository (the rails then block). */
  unapplicable?: string;
  /** Resolved commits of a range check. */
  base?: string;
  head?: string;
  mergeBase?: string;
}

/** The outcome of one check. */
export interface CheckResult {
  verdict: Verdict;
  facts: FactsSummary;
  policy: PolicySource;
  /** Things the user should know (defaults used, how facts were read), one sentence each. */
  notes: string[];
}

/** Parsed JSON of a policy file's text, or null when absent, unknown or not valid JSON. */
function parsePolicyJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return null;
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return null;
  }
}

/** `path` relative to `root` with `/` separators, or undefined when it is outside `root`. */
function inside(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}

/** The default branch named by refs/remotes/origin/HEAD (`origin/main` -> `main`), or undefined. */
export async function defaultBranchOf(repoDir: string): Promise<string | undefined> {
  try {
    const { stdout } = await runGit(['symbolic-ref', '--quiet', 'refs/remotes/origin/HEAD'], {
      cwd: repoDir,
    });
    const ref = stdout.trim();
    return ref.startsWith('refs/remotes/origin/') ? ref.slice('refs/remotes/origin/'.length) : undefined;
  } catch {
    return undefined;
  }
}

/** Validates the shape of the input. @throws UsageError naming the bad value and what is right. */
function validate(input: CheckInput): void {
  const range = input.base !== undefined || input.head !== undefined;
  if (input.patch !== undefined && range) {
    throw new UsageError(
      'give either a patch (--patch FILE) or two commits (--base REF --head REF), not both',
    );
  }
  if (input.patch === undefined && !range) {
    throw new UsageError(
      'nothing to check: give a patch (--patch FILE, or --patch - for stdin) or --base REF --head REF',
    );
  }
  if (range && (input.base === undefined || input.head === undefined)) {
    throw new UsageError(
      `--base and --head go together: got only ${input.base === undefined ? '--head' : '--base'}`,
    );
  }
  if (range && input.repoDir === undefined) {
    throw new UsageError('--base/--head need a git repository: pass --repo DIR');
  }
  if (input.risk !== undefined && (typeof input.risk !== 'number' || !Number.isFinite(input.risk))) {
    throw new UsageError(`risk must be a number (0-5), got ${JSON.stringify(input.risk)}`);
  }
  const w = input.wildcardsToday;
  if (w !== undefined && !(Number.isSafeInteger(w) && w >= 0)) {
    throw new UsageError(`wildcards-today must be a whole number >= 0, got ${JSON.stringify(w)}`);
  }
}

/**
 * Loads the config: in a range check a file inside the repository is read from the base commit; otherwise
 * from disk. A missing default file gives the defaults (with a note); a missing given file is an error.
 * @throws ConfigError for a given file that does not exist, or a file that is not a valid config.
 */
async function loadCheckConfig(
  configAbs: string,
  explicit: boolean,
  root: string | undefined,
  baseSha: string | undefined,
  notes: string[],
  baseText?: string | null,
): Promise<{ config: Config; loaded?: LoadedConfig; from: PolicySource['from']; text?: string }> {
  const rel = root !== undefined ? inside(root, configAbs) : undefined;
  if (baseSha !== undefined && root !== undefined && rel !== undefined) {
    // through the base's symbolic links: a policy file may be a link
    const read = baseText !== undefined ? baseText : await readThroughLinks(root, baseSha, rel);
    const text = read ?? undefined;
    if (text !== undefined) {
      const loaded = parseConfigText(text, `${rel} (at base ${baseSha.slice(0, 12)})`);
      return { config: loaded.config, loaded, from: 'base-commit', text };
    }
    if (explicit) {
      throw new ConfigError(
        `config file ${rel} does not exist at the base commit ${baseSha.slice(0, 12)}; a range check reads the config from the base commit`,
        { kind: 'not-found', source: rel },
      );
    }
    notes.push(`no config file ${rel} at the base commit: using the default policy`);
    return { config: parseConfig({}, '(defaults)'), from: 'defaults' };
  }
  try {
    const loaded = await loadConfig(configAbs);
    const text = await readFile(configAbs, 'utf8').catch(() => undefined);
    return { config: loaded.config, loaded, from: 'disk', text };
  } catch (e) {
    if (!explicit && e instanceof ConfigError && e.kind === 'not-found') {
      notes.push(`no config file at ${configAbs}: using the default policy`);
      return { config: parseConfig({}, '(defaults)'), from: 'defaults' };
    }
    throw e;
  }
}

/**
 * Runs one check: loads the config (or the defaults), builds the policy, gathers the facts from git and the
 * added lines from the patch text, builds the context (the policy file before/after when the change touches
 * it, the default branch, the wildcard count, the override) and evaluates.
 * @throws UsageError for bad input shapes (patch and range together, neither, a range without a
 *   repository, a non-numeric risk); ConfigError for a bad or missing given config; FactsError (PatchError,
 *   RevisionError) when git cannot read the patch or resolve the commits, or the patch exceeds the cap.
 */
export async function checkChange(input: CheckInput): Promise<CheckResult> {
  validate(input);
  const notes: string[] = [];

  // The repository is opened once (one git call) for everything the check asks git.
  let neutral: NeutralGit | undefined;
  if (input.repoDir !== undefined) {
    const dir = resolve(input.repoDir);
    neutral = (await openNeutral(dir)) ?? undefined;
    if (neutral === undefined) {
      throw new UsageError(`not a git repository: ${dir} (pass --repo with the path of a git checkout)`);
    }
  }
  try {
    return await checkIn(input, neutral, notes);
  } finally {
    await neutral?.close();
  }
}

/** The check of `input` in the repository `neutral` (if any): see checkChange. */
async function checkIn(
  input: CheckInput,
  neutral: NeutralGit | undefined,
  notes: string[],
): Promise<CheckResult> {
  const root = neutral?.root;
  const baseDir = root ?? process.cwd();
  const explicit = input.configPath !== undefined;
  const configAbs = resolve(baseDir, input.configPath ?? DEFAULT_POLICY_PATH);
  const policyPath = inside(baseDir, configAbs) ?? DEFAULT_POLICY_PATH;

  // Asked now, answered while the facts are gathered.
  const defaultBranchLater =
    input.defaultBranch === undefined && root !== undefined
      ? defaultBranchOf(root)
      : Promise.resolve(undefined);
  // A range's config is read at its resolved base commit: resolve first, then the policy, then the facts
  // (which whole files the facts hold depends on the policy).
  let gathered: GatheredFacts;
  let range: ResolvedRange | undefined;
  let configResult: Awaited<ReturnType<typeof loadCheckConfig>>;
  let policy: RailsPolicy;
  let policyTarget = policyPath;
  let hosts = false;
  if (input.patch === undefined) {
    range = await resolveRange(root!, input.base!, input.head!);
    // the config and the package.json of the base commit, read through its links, in one git call
    const rel = inside(root!, configAbs);
    const [configText, manifest] = await readManyThroughLinks(root!, range.base, [rel ?? '', 'package.json']);
    configResult = await loadCheckConfig(configAbs, explicit, root, range.base, notes, configText);
    hosts = isSelfEvolutionManifest(manifest);
    policy = policyFromConfig(configResult.config, { policyPath, hostsSelfEvolution: hosts });
    gathered = await factsFromRange(root!, input.base!, input.head!, {
      capture: [{ path: policyPath }],
      policy,
      resolved: range,
      neutral,
    });
    policyTarget = followLinks(policyPath, gathered.facts.baseSymlinks);
  } else {
    configResult = await loadCheckConfig(configAbs, explicit, root, undefined, notes);
    if (root !== undefined) {
      // A patch is checked against the checkout, whose config is read from disk: so are the link the
      // policy file may be and the package.json (no git call).
      policyTarget = await realTarget(root, configAbs, policyPath);
      hosts = isSelfEvolutionManifest(await readFile(join(root, 'package.json'), 'utf8').catch(() => null));
    }
    policy = policyFromConfig(configResult.config, { policyPath, hostsSelfEvolution: hosts });
    const capture: CaptureRequest[] = [
      // Without a repository the config file on disk is the policy file's "before".
      root === undefined && inside(baseDir, configAbs) !== undefined
        ? { path: policyPath, before: configResult.text ?? null }
        : { path: policyPath },
    ];
    if (policyTarget !== policyPath) capture.push({ path: policyTarget });
    gathered = await factsFromPatch(input.patch, { repoDir: root, capture, policy, neutral });
  }
  notes.push(...gathered.notes);
  if (policyTarget !== policyPath) {
    notes.push(`the policy file ${policyPath} is a symbolic link to ${policyTarget}: both are protected`);
  }
  if (hosts) {
    notes.push(
      "this is Self-Evolution's own repository: the files its action is built from are self-protected too",
    );
  }

  const facts: ChangeFacts = gathered.facts;
  const addedLinesRead = facts.addedLines !== undefined;

  const change: ChangeUnderReview = {
    type: input.type ?? CHECK_DEFAULTS.type,
    riskLevel: input.risk ?? CHECK_DEFAULTS.risk,
    facts,
  };
  if (input.targetBranch !== undefined) change.targetBranch = input.targetBranch;
  if (input.wildcardOf !== undefined) change.wildcardOf = input.wildcardOf;

  const context: RailsContext = {
    wildcardsToday: input.wildcardsToday ?? CHECK_DEFAULTS.wildcardsToday,
    humanOverride: input.humanOverride ?? false,
  };
  const defaultBranch = input.defaultBranch ?? (await defaultBranchLater);
  if (defaultBranch !== undefined) context.defaultBranch = defaultBranch;
  if (touchesPolicyFile(change, policyPath)) {
    const captured = await policyContents(gathered, policyPath, policyTarget, facts, root, range);
    context.policyChange = {
      path: policyPath,
      before: parsePolicyJson(captured.before),
      after: parsePolicyJson(captured.after),
    };
  }

  const verdict = await evaluate(change, policy, context);
  return {
    verdict,
    facts: {
      source: gathered.source,
      files: verdict.stats.filesChanged,
      linesAdded: verdict.stats.linesAdded,
      linesDeleted: verdict.stats.linesDeleted,
      binaryFiles: verdict.stats.binaryFiles,
      addedLinesRead,
      ...(facts.unapplicable !== undefined ? { unapplicable: facts.unapplicable } : {}),
      ...(range ? { base: range.base, head: range.head, mergeBase: range.mergeBase } : {}),
    },
    policy: {
      source: configResult.from === 'defaults' ? 'defaults' : 'file',
      from: configResult.from,
      configPath: configAbs,
      policyPath,
      ...(policyTarget !== policyPath ? { policyTarget } : {}),
      hostsSelfEvolution: hosts,
    },
    notes,
  };
}

/**
 * The repository path the config file `configAbs` (repository path `policyPath`) really is, its symbolic
 * links followed on disk; `policyPath` when it is no link, does not exist, or leads outside `root`.
 */
async function realTarget(root: string, configAbs: string, policyPath: string): Promise<string> {
  try {
    return inside(await realpath(root), await realpath(configAbs)) ?? policyPath;
  } catch {
    return policyPath;
  }
}

/**
 * Where `path` leads through `links` (the base's symbolic links, the last component followed too); `path`
 * itself when it is no link, or its links leave the repository or loop (the rails judge those).
 */
function followLinks(path: string, links: Readonly<Record<string, string>> | undefined): string {
  if (links === undefined) return path;
  const r = resolvePath(path, (p) => (Object.hasOwn(links, p) ? links[p] : undefined), true);
  return r.kind === 'inside' && r.path !== '' ? r.path : path;
}

/**
 * The policy file's text before and after the change, read through the base's symbolic links (
 * class 7): a change to the link's target is a change to the policy. Before: the target's content in the
 * base. After: in a range, the head's content through the head's links; for a patch, the target's content
 * after it, unless the change replaces the link itself (then whatever the policy path holds after it).
 */
async function policyContents(
  gathered: GatheredFacts,
  policyPath: string,
  policyTarget: string,
  facts: ChangeFacts,
  root: string | undefined,
  range: { head: string; mergeBase: string } | undefined,
): Promise<{ before: string | null | undefined; after: string | null | undefined }> {
  const own = gathered.captured.find((c) => c.path === policyPath);
  if (policyTarget === policyPath) return { before: own?.before, after: own?.after };
  if (range !== undefined && root !== undefined) {
    return {
      before: await readThroughLinks(root, range.mergeBase, policyPath),
      after: await readThroughLinks(root, range.head, policyPath),
    };
  }
  const target = gathered.captured.find((c) => c.path === policyTarget);
  const linkChanged = facts.files.some((f) => f.path === policyPath || f.oldPath === policyPath);
  return { before: target?.before, after: linkChanged ? own?.after : target?.after };
}
