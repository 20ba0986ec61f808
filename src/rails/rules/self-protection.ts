/**
 * Self-protection (editing the upgrade machinery or its policy requires an explicit human override, e.g.
 * `check --allow-policy-edits`). Pure.
 *
 * - `self-protected-path`: a change touching the policy file or another self-protected path (policy.ts
 *   SELF_PROTECTED: .github/**, action metadata, CODEOWNERS, pull request templates, dist/**, the rails' code;
 *   in the repository hosting Self-Evolution also SELF_HOSTED_PROTECTED) is blocked unless
 *   context.humanOverride is exactly `true` (then it is kept as a `warn`, so the record shows the override was
 *   used). Every name a file has through the base's symbolic links counts (a policy file that is a
 *   link to `src/policy.json` is changed by editing `src/policy.json`).
 * - `policy-loosened`: a change to the policy file that loosens any rail is blocked EVEN WITH the override: a
 *   loop must never widen its own limits; a human edits the policy directly. Driven by two tables:
 *   RAILS_POLICY_LOOSENING (one entry per RailsPolicy field, with the direction that loosens it) over the
 *   policies built from the config before and after, and CONFIG_LOOSENING (one entry per config setting that
 *   does not feed the policy, e.g. dryRunMode) over the configs themselves. A changed config setting neither
 *   table knows counts as loosening (when in doubt the engine blocks); a test walks the config schema itself
 *   and fails on a setting neither table classifies. Values are compared whole (never through the
 *   shortened text messages show), lists as sets (order and duplicates do not matter; lists that catch
 *   something case-insensitively, as they match).
 * - `policy-invalid`: the policy file after the change is not valid JSON or not a valid config.
 */
import { ConfigSchema, type Config } from '../../config/schema.js';
import { compileGlobs } from '../glob.js';
import { policyFromConfig, protectedBecause } from '../policy.js';
import type { Finding, Rule, RuleInput } from '../rule.js';
import type { ChangeUnderReview, ForbiddenCommand, RailsPolicy, RiskRubric } from '../types.js';
import { sameName } from '../unicode.js';
import { printable, show, touchedPaths, type TouchedPath } from './common.js';

/**
 * Which way a setting loosens, and the config key shown in messages:
 * - `higher` / `lower`: a higher (lower) number loosens;
 * - `true` / `false`: becoming exactly true (false) loosens (`false` also covers `requireReviewers` going from
 *   a reviewer list to false);
 * - `added` / `removed`: a list that gains (loses) an entry loosens (compared as sets of whole values: strings
 *   as they are, other values as canonical JSON; with `caseless`, strings compared lower-cased, for lists that
 *   catch case-insensitively; with `by`, objects compared by those fields alone, e.g. a check by its command
 *   and its sandbox network);
 * - `changed`: any change loosens;
 * - `neutral`: never loosens (cosmetic or scheduling settings);
 * - `fields`: an object whose fields each have their own direction;
 * - `added-per-key`: a record of lists (changeTypePaths) that gains an entry under any key;
 * - `commands`: forbidden commands, loosened when one is removed or its pattern changes (by id);
 * - `rubric`: the risk rubric, loosened when defaultRisk or executableRisk is lower, or its path entries or size
 *   steps change at all (the first matching entry wins, so any edit can lower some path's risk);
 * - `proposers`: the config's proposers, loosened when one that is not a `file` proposer is added or changed
 *   (a new command or endpoint would run on every scheduled run);
 * - `reviewers`: safetyRails.requireReviewers (true: a human review; a list: these reviewers), loosened by
 *   any change but from false, to an equal list or to a list that only adds reviewers (logins compared
 *   case-insensitively, as GitHub does): false, [], a reviewer removed or swapped, a list replaced by true.
 */
export type Direction =
  | {
      kind: 'higher' | 'lower' | 'true' | 'false' | 'changed' | 'neutral';
      setting: string;
      why?: string;
    }
  | {
      kind: 'added' | 'removed';
      setting: string;
      why?: string;
      caseless?: boolean;
      by?: readonly string[];
    }
  | { kind: 'fields'; fields: Readonly<Record<string, Direction>> }
  | { kind: 'added-per-key' | 'commands' | 'rubric' | 'proposers' | 'reviewers'; setting: string };

const NOT_CONFIGURABLE = '(not configurable)';

/**
 * How each RailsPolicy field loosens ("a higher cap or risk level, an added allowed glob, a
 * removed blocked glob"). Typed against `keyof RailsPolicy`, so a new policy field does not compile until it is
 * classified here; a test compares the keys with a real policy's too.
 */
export const RAILS_POLICY_LOOSENING = Object.freeze({
  allowedPaths: { kind: 'added', setting: 'safetyRails.allowedPaths' },
  blockedPaths: { kind: 'removed', setting: 'safetyRails.blockedPaths', caseless: true },
  maxFilesChanged: { kind: 'higher', setting: 'safetyRails.diffCaps.maxFilesChanged' },
  maxLinesOfCode: { kind: 'higher', setting: 'safetyRails.diffCaps.maxLinesOfCode' },
  maxBytesChanged: { kind: 'higher', setting: 'safetyRails.diffCaps.maxBytesChanged' },
  maxLineLength: { kind: 'higher', setting: 'safetyRails.diffCaps.maxLineLength' },
  allowedChangeTypes: { kind: 'added', setting: 'safetyRails.allowedChangeTypes' },
  maxRiskLevel: { kind: 'higher', setting: 'safetyRails.maxRiskLevel' },
  wildcard: {
    kind: 'fields',
    fields: {
      enabled: { kind: 'true', setting: 'wildcardFeature.enabled' },
      maxRiskLevel: { kind: 'higher', setting: 'wildcardFeature.maxRiskLevel' },
      allowedTypes: { kind: 'added', setting: 'wildcardFeature.allowedTypes' },
      perDay: { kind: 'higher', setting: `wildcards per day ${NOT_CONFIGURABLE}` },
    },
  },
  changeTypePaths: { kind: 'added-per-key', setting: 'wildcardFeature.changeTypePaths' },
  fileKinds: {
    kind: 'fields',
    fields: {
      allowSymlinks: { kind: 'true', setting: 'safetyRails.fileKinds.allowSymlinks' },
      allowSubmodules: { kind: 'true', setting: 'safetyRails.fileKinds.allowSubmodules' },
      allowBinary: { kind: 'true', setting: 'safetyRails.fileKinds.allowBinary' },
      allowExecutable: { kind: 'true', setting: 'safetyRails.fileKinds.allowExecutable' },
      allowGitAttributes: { kind: 'true', setting: 'safetyRails.fileKinds.allowGitAttributes' },
      allowMinified: { kind: 'true', setting: 'safetyRails.fileKinds.allowMinified' },
    },
  },
  testPaths: { kind: 'removed', setting: 'safetyRails.testPaths', caseless: true },
  dependencyPaths: { kind: 'removed', setting: 'safetyRails.dependencyPaths', caseless: true },
  allowDependencyChanges: { kind: 'true', setting: 'safetyRails.allowDependencyChanges' },
  secretPaths: { kind: 'removed', setting: `secret paths ${NOT_CONFIGURABLE}`, caseless: true },
  notSecretPaths: { kind: 'added', setting: `not-secret paths ${NOT_CONFIGURABLE}` },
  envTemplatePaths: { kind: 'added', setting: `env template paths ${NOT_CONFIGURABLE}` },
  secretEntropy: {
    kind: 'fields',
    fields: {
      minLength: { kind: 'higher', setting: `secret entropy minLength ${NOT_CONFIGURABLE}` },
      minBitsPerChar: { kind: 'higher', setting: `secret entropy minBitsPerChar ${NOT_CONFIGURABLE}` },
    },
  },
  commandPaths: { kind: 'removed', setting: `command paths ${NOT_CONFIGURABLE}`, caseless: true },
  forbiddenCommands: { kind: 'commands', setting: `forbidden commands ${NOT_CONFIGURABLE}` },
  policyPath: {
    kind: 'changed',
    setting: 'the policy file path',
    why: 'self-protection would guard another file',
  },
  selfProtectedPaths: {
    kind: 'removed',
    setting: `self-protected paths ${NOT_CONFIGURABLE}`,
    caseless: true,
  },
  riskRubric: { kind: 'rubric', setting: `risk rubric ${NOT_CONFIGURABLE}` },
  branchPrefix: {
    kind: 'changed',
    setting: 'prTemplateConfig.branchPrefix',
    why: 'the branches the loop may push to change',
  },
  protectedBranches: {
    kind: 'removed',
    setting: `protected branches ${NOT_CONFIGURABLE}`,
    caseless: true,
  },
} satisfies Record<keyof RailsPolicy, Direction>);

/**
 * Config settings (dotted paths) that feed the RailsPolicy: compared through RAILS_POLICY_LOOSENING, so the
 * config-level comparison skips them. A setting here or in CONFIG_LOOSENING is "classified".
 */
export const RAILS_CONFIG_SETTINGS: readonly string[] = Object.freeze([
  'safetyRails.diffCaps.maxLinesOfCode',
  'safetyRails.diffCaps.maxFilesChanged',
  'safetyRails.diffCaps.maxBytesChanged',
  'safetyRails.diffCaps.maxLineLength',
  'safetyRails.allowedPaths',
  'safetyRails.blockedPaths',
  'safetyRails.allowedChangeTypes',
  'safetyRails.maxRiskLevel',
  'safetyRails.fileKinds.allowSymlinks',
  'safetyRails.fileKinds.allowSubmodules',
  'safetyRails.fileKinds.allowBinary',
  'safetyRails.fileKinds.allowExecutable',
  'safetyRails.fileKinds.allowGitAttributes',
  'safetyRails.fileKinds.allowMinified',
  'safetyRails.testPaths',
  'safetyRails.dependencyPaths',
  'safetyRails.allowDependencyChanges',
  'wildcardFeature.enabled',
  'wildcardFeature.maxRiskLevel',
  'wildcardFeature.allowedTypes',
  'wildcardFeature.changeTypePaths',
  'prTemplateConfig.branchPrefix',
]);

/**
 * How each config setting that does NOT feed the RailsPolicy loosens (enabling live mode loosens; telemetry:
 * everything is recorded by default). Keys are dotted config paths.
 */
export const CONFIG_LOOSENING: Readonly<Record<string, Direction>> = Object.freeze({
  $schema: { kind: 'neutral', setting: '$schema' },
  version: { kind: 'neutral', setting: 'version' },
  enabled: { kind: 'true', setting: 'enabled', why: 'switching the loop on' },
  dryRunMode: { kind: 'false', setting: 'dryRunMode', why: 'enabling live mode: branches and pull requests' },
  'scheduleConfig.cronSchedule': { kind: 'neutral', setting: 'scheduleConfig.cronSchedule' },
  'scheduleConfig.jitterMinutes': { kind: 'neutral', setting: 'scheduleConfig.jitterMinutes' },
  'scheduleConfig.skipDuringDeployments': {
    kind: 'false',
    setting: 'scheduleConfig.skipDuringDeployments',
    why: 'running during deployments',
  },
  'safetyRails.diffCaps.requireGreenCI': {
    kind: 'false',
    setting: 'safetyRails.diffCaps.requireGreenCI',
    why: 'pull requests without green checks',
  },
  'safetyRails.requireReviewers': { kind: 'reviewers', setting: 'safetyRails.requireReviewers' },
  'wildcardFeature.description': { kind: 'neutral', setting: 'wildcardFeature.description' },
  'telemetry.logRetentionDays': {
    kind: 'lower',
    setting: 'telemetry.logRetentionDays',
    why: 'a shorter audit trail',
  },
  'telemetry.storeReflections': {
    kind: 'false',
    setting: 'telemetry.storeReflections',
    why: 'not recording',
  },
  'telemetry.storeProposals': { kind: 'false', setting: 'telemetry.storeProposals', why: 'not recording' },
  'telemetry.storeActions': { kind: 'false', setting: 'telemetry.storeActions', why: 'not recording' },
  'telemetry.attachArtifacts': { kind: 'false', setting: 'telemetry.attachArtifacts', why: 'not recording' },
  'prTemplateConfig.autoLabels': { kind: 'neutral', setting: 'prTemplateConfig.autoLabels' },
  'prTemplateConfig.autoRequestReviewers': {
    kind: 'neutral',
    setting: 'prTemplateConfig.autoRequestReviewers',
  },
  'prTemplateConfig.requireChecklist': {
    kind: 'false',
    setting: 'prTemplateConfig.requireChecklist',
    why: 'pull requests without the review checklist',
  },
  'rollbackConfig.autoRevertOnFailure': {
    kind: 'false',
    setting: 'rollbackConfig.autoRevertOnFailure',
    why: 'failed changes are no longer reverted',
  },
  'rollbackConfig.maxFailuresBeforeDisable': {
    kind: 'higher',
    setting: 'rollbackConfig.maxFailuresBeforeDisable',
    why: 'more failures before the loop is switched off',
  },
  'rollbackConfig.cooldownHours': {
    kind: 'lower',
    setting: 'rollbackConfig.cooldownHours',
    why: 'a shorter pause after a failure',
  },
  'reflection.checks': {
    kind: 'added',
    setting: 'reflection.checks',
    why: 'a new command (or one with network in its sandbox) that would run on every run',
    by: ['command', 'network'],
  },
  'database.connectRetrySeconds': { kind: 'neutral', setting: 'database.connectRetrySeconds' },
  'database.lock': {
    kind: 'changed',
    setting: 'database.lock',
    why: 'how runs exclude each other changes (an advisory lock behind a transaction-mode pooler excludes nothing)',
  },
  'database.leaseSeconds': {
    kind: 'higher',
    setting: 'database.leaseSeconds',
    why: "a crashed run's lease holds the repository longer",
  },
  'reflection.windowDays': { kind: 'neutral', setting: 'reflection.windowDays' },
  'reflection.githubWindowDays': { kind: 'neutral', setting: 'reflection.githubWindowDays' },
  'reflection.maxGoals': { kind: 'neutral', setting: 'reflection.maxGoals' },
  'limits.maxProposalsPerRun': {
    kind: 'higher',
    setting: 'limits.maxProposalsPerRun',
    why: 'more proposals per run',
  },
  'limits.proposeBudgetSeconds': {
    kind: 'higher',
    setting: 'limits.proposeBudgetSeconds',
    why: 'more time for the proposers',
  },
  'limits.tokenBudgetPerRun': {
    kind: 'higher',
    setting: 'limits.tokenBudgetPerRun',
    why: 'more tokens spent per run',
  },
  proposers: { kind: 'proposers', setting: 'proposers' },
  liveChangeTypes: {
    kind: 'changed',
    setting: 'liveChangeTypes',
    why: 'other change types published as pull requests',
  },
  'verify.commands': {
    kind: 'changed',
    setting: 'verify.commands',
    why: 'different commands verify a change before it is published',
  },
  'verify.optional': {
    kind: 'true',
    setting: 'verify.optional',
    why: 'unverified changes of risk 2 or more published',
  },
  'pullRequest.draft': { kind: 'false', setting: 'pullRequest.draft', why: 'pull requests ready for review' },
  'pullRequest.maxPerRun': {
    kind: 'higher',
    setting: 'pullRequest.maxPerRun',
    why: 'more pull requests per run',
  },
  'pullRequest.maxPerDay': {
    kind: 'higher',
    setting: 'pullRequest.maxPerDay',
    why: 'more pull requests per day',
  },
  'pullRequest.maxOpen': {
    kind: 'higher',
    setting: 'pullRequest.maxOpen',
    why: 'more pull requests open at once',
  },
  'pullRequest.ciWorkflow': {
    kind: 'changed',
    setting: 'pullRequest.ciWorkflow',
    why: 'a different workflow started on the pull request branch',
  },
  'pullRequest.expireDays': {
    kind: 'higher',
    setting: 'pullRequest.expireDays',
    why: 'drafts stay open longer',
  },
  'pullRequest.commitSigning': { kind: 'neutral', setting: 'pullRequest.commitSigning' },
  'autoRevert.mode': {
    kind: 'changed',
    setting: 'autoRevert.mode',
    why: 'broken self-changes reverted differently (or not at all)',
  },
  'autoRevert.windowHours': {
    kind: 'lower',
    setting: 'autoRevert.windowHours',
    why: 'merged self-changes watched for less time',
  },
  'autoRevert.confirmMinutes': { kind: 'neutral', setting: 'autoRevert.confirmMinutes' },
  'breaker.revertWindowDays': {
    kind: 'lower',
    setting: 'breaker.revertWindowDays',
    why: 'a revert stops the loop for a shorter time',
  },
  'breaker.maxConsecutiveRejected': {
    kind: 'higher',
    setting: 'breaker.maxConsecutiveRejected',
    why: 'more rejected pull requests before the loop stops',
  },
  'pullRequest.commitAuthor.name': { kind: 'neutral', setting: 'pullRequest.commitAuthor.name' },
  'pullRequest.commitAuthor.email': { kind: 'neutral', setting: 'pullRequest.commitAuthor.email' },
  sandbox: {
    kind: 'changed',
    setting: 'sandbox',
    why: "a different sandbox for the repository's commands (none, network on, fewer hidden paths)",
  },
} satisfies Record<string, Direction>);

// ---- comparing -------------------------------------------------------------------------------------------

/** `value` as JSON with object keys sorted at every depth, so equal data always gives equal text. */
function canonical(value: unknown): string {
  const seen = new Set<unknown>();
  const sort = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) throw new TypeError('a value refers to itself');
    seen.add(v);
    const out: unknown = Array.isArray(v)
      ? v.map(sort)
      : Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
        );
    seen.delete(v);
    return out;
  };
  return JSON.stringify(sort(value)) ?? String(value);
}

/**
 * The entries of a list as whole keys: strings as they are (lower-cased when `caseless`), other values as
 * canonical JSON (never shortened: a check command compared by its first 117 characters once hid a change).
 * A value that is not a list gives [].
 */
function keysOf(value: unknown, caseless = false, by?: readonly string[]): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((v) => {
    if (typeof v === 'string') return caseless ? v.toLowerCase() : v;
    if (by !== undefined && v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      return canonical(Object.fromEntries(by.filter((f) => f in o).map((f) => [f, o[f]])));
    }
    return canonical(v);
  });
}

/** Plain-data equality (canonical JSON: key order does not matter), for `changed`. */
function same(a: unknown, b: unknown): boolean {
  try {
    return canonical(a) === canonical(b);
  } catch {
    return false;
  }
}

/** GitHub logins of a reviewer list, lower-cased; undefined for a value that is not a list of strings. */
function logins(value: unknown): Set<string> | undefined {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return undefined;
  return new Set(value.map((v: string) => v.toLowerCase()));
}

/** Does requireReviewers loosen from `before` to `after` (see Direction `reviewers`)? */
function reviewersLoosened(before: unknown, after: unknown): boolean {
  if (before === false || same(before, after)) return false;
  const b = logins(before);
  const a = logins(after);
  if (b !== undefined && a !== undefined) {
    for (const login of b) if (!a.has(login)) return true;
    return false;
  }
  return true;
}

/** The loosenings `direction` sees between `before` and `after`, each as one sentence. */
function loosenings(direction: Direction, before: unknown, after: unknown): string[] {
  switch (direction.kind) {
    case 'neutral':
      return [];
    case 'higher':
    case 'lower': {
      const looser =
        typeof before === 'number' && typeof after === 'number'
          ? direction.kind === 'higher'
            ? after > before
            : after < before
          : !same(before, after);
      if (!looser) return [];
      const verb = direction.kind === 'higher' ? 'raised' : 'lowered';
      return [`${direction.setting} ${verb} from ${show(before)} to ${show(after)}${why(direction)}`];
    }
    case 'true':
    case 'false': {
      const target = direction.kind === 'true';
      if (after !== target || before === target) return [];
      return [`${direction.setting} ${show(before)} -> ${show(after)}${why(direction)}`];
    }
    case 'added':
    case 'removed': {
      const b = keysOf(before, direction.caseless, direction.by);
      const a = keysOf(after, direction.caseless, direction.by);
      const [from, to] = direction.kind === 'added' ? [b, a] : [a, b];
      const had = new Set(from);
      const values = (direction.kind === 'added' ? after : before) as unknown[];
      const out: string[] = [];
      const reported = new Set<string>();
      to.forEach((key, i) => {
        if (had.has(key) || reported.has(key)) return;
        reported.add(key);
        out.push(
          `${direction.setting} ${direction.kind === 'added' ? 'gains' : 'loses'} ${show(values[i])}${why(direction)}`,
        );
      });
      return out;
    }
    case 'changed':
      return same(before, after)
        ? []
        : [`${direction.setting} changed from ${show(before)} to ${show(after)}${why(direction)}`];
    case 'fields': {
      const b = (before ?? {}) as Record<string, unknown>;
      const a = (after ?? {}) as Record<string, unknown>;
      return Object.entries(direction.fields).flatMap(([k, d]) => loosenings(d, b[k], a[k]));
    }
    case 'added-per-key': {
      const b = (before ?? {}) as Record<string, unknown>;
      const a = (after ?? {}) as Record<string, unknown>;
      return Object.keys(a).flatMap((k) =>
        loosenings({ kind: 'added', setting: `${direction.setting}.${k}` }, b[k], a[k]),
      );
    }
    case 'commands': {
      const b = (Array.isArray(before) ? before : []) as ForbiddenCommand[];
      const a = new Map(((Array.isArray(after) ? after : []) as ForbiddenCommand[]).map((c) => [c?.id, c]));
      return b.flatMap((c) => {
        const now = a.get(c?.id);
        if (now === undefined) return [`${direction.setting} loses ${show(c?.id)}`];
        return now.pattern === c.pattern
          ? []
          : [`${direction.setting}: the pattern of ${show(c.id)} changes`];
      });
    }
    case 'rubric': {
      const b = (before ?? {}) as Partial<RiskRubric>;
      const a = (after ?? {}) as Partial<RiskRubric>;
      const out = [
        ...loosenings(
          { kind: 'lower', setting: `${direction.setting} defaultRisk` },
          b.defaultRisk,
          a.defaultRisk,
        ),
        ...loosenings(
          { kind: 'lower', setting: `${direction.setting} executableRisk` },
          b.executableRisk,
          a.executableRisk,
        ),
      ];
      if (!same(b.paths, a.paths))
        out.push(`${direction.setting}: its path entries change (the first match wins)`);
      if (!same(b.size, a.size)) out.push(`${direction.setting}: its size steps change`);
      // Any other field (e.g. textExtensions: more text kinds score lower) counts whenever it changes: a
      // field added to the rubric later is covered without a new case here.
      const known = new Set(['paths', 'size', 'defaultRisk', 'executableRisk']);
      const others = new Set([...Object.keys(b), ...Object.keys(a)].filter((k) => !known.has(k)));
      for (const k of [...others].sort()) {
        const field = k as keyof RiskRubric;
        if (!same(b[field], a[field])) out.push(`${direction.setting}: its ${k} change`);
      }
      return out;
    }
    case 'proposers': {
      const b = new Set(keysOf(before));
      return (Array.isArray(after) ? after : []).flatMap((p: unknown) => {
        const kind = (p as { kind?: unknown } | null)?.kind;
        if (kind === 'file' || b.has(canonical(p))) return [];
        const name =
          (p as { name?: unknown; command?: unknown }).name ?? (p as { command?: unknown }).command;
        return [
          `${direction.setting}: adds or changes the ${show(kind)} proposer ${show(name ?? '(unnamed)')}, which would run on every scheduled run`,
        ];
      });
    }
    case 'reviewers':
      return reviewersLoosened(before, after)
        ? [
            `${direction.setting} ${show(before)} -> ${show(after)} (a required reviewer removed or replaced, or review no longer required)`,
          ]
        : [];
  }
}

function why(direction: { why?: string }): string {
  return direction.why ? ` (${direction.why})` : '';
}

/** The loosenings between two RailsPolicies, field by field (RAILS_POLICY_LOOSENING). */
export function policyLoosenings(before: RailsPolicy, after: RailsPolicy): string[] {
  const table = RAILS_POLICY_LOOSENING as Readonly<Record<string, Direction>>;
  return Object.entries(table).flatMap(([field, d]) =>
    loosenings(
      d,
      (before as unknown as Record<string, unknown>)[field],
      (after as unknown as Record<string, unknown>)[field],
    ),
  );
}

/** Is `v` a plain object (not an array, not null)? */
function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Every leaf setting of a config as dotted paths: classified settings (in RAILS_CONFIG_SETTINGS or
 * CONFIG_LOOSENING) are leaves whatever their value; other objects are walked into.
 */
export function configLeaves(config: unknown, prefix = ''): string[] {
  if (!isObject(config)) return prefix === '' ? [] : [prefix];
  const out: string[] = [];
  for (const [k, v] of Object.entries(config)) {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    if (RAILS_CONFIG_SETTINGS.includes(path) || path in CONFIG_LOOSENING || !isObject(v)) out.push(path);
    else out.push(...configLeaves(v, path));
  }
  return out;
}

/** The value at a dotted path. */
function at(config: unknown, path: string): unknown {
  let v: unknown = config;
  for (const k of path.split('.')) v = isObject(v) ? v[k] : undefined;
  return v;
}

/**
 * The loosenings between two validated configs: those of their RailsPolicies (built with policyFromConfig and
 * `policyPath`), then those of the config settings that do not feed the policy (CONFIG_LOOSENING); a changed
 * setting neither table classifies counts as a loosening.
 */
export function configLoosenings(before: Config, after: Config, policyPath: string): string[] {
  const out = policyLoosenings(
    policyFromConfig(before, { policyPath }),
    policyFromConfig(after, { policyPath }),
  );
  const leaves = [...new Set([...configLeaves(before), ...configLeaves(after)])];
  for (const leaf of leaves) {
    if (RAILS_CONFIG_SETTINGS.includes(leaf)) continue;
    const direction = (CONFIG_LOOSENING as Record<string, Direction | undefined>)[leaf];
    const b = at(before, leaf);
    const a = at(after, leaf);
    if (direction !== undefined) out.push(...loosenings(direction, b, a));
    else if (!same(b, a))
      out.push(`${leaf} changed, a setting the loosening table does not classify (treated as loosening)`);
  }
  return out;
}

// ---- the rules -------------------------------------------------------------------------------------------

/**
 * True when `name` names the policy file: equal to `policyPath` case-insensitively (case-insensitive file
 * systems treat them alike), or with the same folded confusable skeleton (unicode.ts sameName).
 */
function isPolicyPath(name: string, policyPath: string): boolean {
  return policyPath !== '' && sameName(name, policyPath);
}

/** The human override counts only when it is exactly `true` (the public API is meant for untyped callers). */
function overrideOf(input: RuleInput): boolean {
  return input.context?.humanOverride === true;
}

/** only a human changes the machinery and its policy. */
export const selfProtectedPath: Rule = {
  id: 'self-protected-path',
  summary:
    "A changed path (either side of a rename), under any name it has through the base's symbolic links, is self-protected: the policy file, .github/**, any action.yml/action.yaml, CODEOWNERS, pull request templates, dist/**, the rails' code, and in the repository hosting Self-Evolution the files its action is built from. Blocked unless the human override is set (then reported as a warning).",
  setting: '(none: the human override, e.g. check --allow-policy-edits)',
  severity: 'block',
  check: (input) => {
    const globs = compileGlobs(input.policy.selfProtectedPaths, 'catch', 'selfProtectedPaths');
    const policyPath = typeof input.policy.policyPath === 'string' ? input.policy.policyPath : '';
    const override = overrideOf(input);
    const findings: Finding[] = [];
    for (const t of touchedPaths(input)) {
      const isPolicy = isPolicyPath(t.info.path, policyPath);
      const glob = globs.firstGlob(t.info) ?? (isPolicy ? policyPath : undefined);
      if (glob === undefined) continue;
      const because = isPolicy ? 'the policy file' : protectedBecause(glob);
      const what = `is self-protected (glob ${show(glob)}${because === undefined ? '' : `: ${because}`})`;
      findings.push(
        override
          ? {
              path: t.path,
              severity: 'warn',
              message: `${t.label}: ${what}; changed under the human override`,
            }
          : {
              path: t.path,
              message: `${t.label}: ${what}; only a human may change it: set the human override (e.g. check --allow-policy-edits) for a change a human has reviewed`,
            },
      );
    }
    return findings;
  },
};

/** The policy file's side of the change. */
interface PolicyFate {
  /** Some touched path names the policy file (itself, or through the base's links). */
  touched: boolean;
  /** The change deletes it or renames it away. */
  gone: boolean;
  /** The first touched path that names it: reported with its label. */
  entry?: TouchedPath;
}

/** Whether (and how) the change touches the policy file, under any name (see TouchedPath). */
function policyFileFate(paths: readonly TouchedPath[], policyPath: string): PolicyFate {
  const fate: PolicyFate = { touched: false, gone: false };
  for (const t of paths) {
    if (!isPolicyPath(t.info.path, policyPath)) continue;
    fate.touched = true;
    fate.entry ??= t;
    if (t.file.status === 'deleted' || (t.old && t.file.status === 'renamed')) fate.gone = true;
  }
  return fate;
}

/**
 * True when `change` touches the policy file `policyPath` (repository-relative) under any name: the path
 * itself in another case or spelling that looks alike, either side of a rename, or a file the policy file
 * names through the base's symbolic links (change.facts.baseSymlinks). For callers that must then give the
 * policy file's contents before and after (RailsContext.policyChange). Throws like touchedPaths.
 */
export function touchesPolicyFile(change: ChangeUnderReview, policyPath: string): boolean {
  return policyFileFate(touchedPaths(change), policyPath).touched;
}

/** The config after the change, or the problem with it (policy-invalid). */
function parseAfter(after: unknown): { config: Config } | { problem: string } {
  if (after === null || after === undefined) {
    return { problem: 'is not valid JSON (or could not be read)' };
  }
  const parsed = ConfigSchema.safeParse(after);
  if (parsed.success) return { config: parsed.data };
  const issues = parsed.error.issues.map(
    (i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${printable(i.message)}`,
  );
  const shown = issues.slice(0, 8).join('; ');
  const more = issues.length > 8 ? `; and ${issues.length - 8} more` : '';
  return { problem: `is not a valid config: ${shown}${more}` };
}

/** The config before the change; defaults when the file was absent or invalid (what a run would have used). */
function parseBefore(before: unknown): Config {
  const parsed = ConfigSchema.safeParse(before ?? {});
  return parsed.success ? parsed.data : ConfigSchema.parse({});
}

/** The policy file's path: context.policyChange.path when given, else policy.policyPath. */
function policyPathOf(input: RuleInput): string {
  const change = input.context?.policyChange;
  if (change !== undefined && typeof change.path === 'string') return change.path;
  return typeof input.policy.policyPath === 'string' ? input.policy.policyPath : '';
}

/** a change that loosens any rail is blocked even with the human override. */
export const policyLoosened: Rule = {
  id: 'policy-loosened',
  summary:
    "A change to the policy file (under any name it has through the base's symbolic links) that loosens a rail: a higher cap or risk level, an added allowed glob, change type or wildcard type, a removed blocked, test or dependency glob, a file kind or dependency changes allowed, the wildcard enabled, live mode, the loop enabled, green CI no longer required, a required reviewer removed or replaced, telemetry off, a new check command or command proposer; or it deletes the file, or touches it without its before/after contents given. Values are compared whole. Blocked even with the human override.",
  setting: '(none: never, not even with the human override)',
  severity: 'block',
  check: (input) => {
    const policyPath = policyPathOf(input);
    const fate = policyFileFate(touchedPaths(input), policyPath);
    const path = fate.entry?.path ?? policyPath;
    const shown = fate.entry?.label ?? printable(policyPath);
    const change = input.context?.policyChange;
    const tail =
      'loosening a rail is never allowed through the loop, even with the human override; a human edits the policy directly';
    if (change === undefined) {
      if (!fate.touched) return [];
      return [
        {
          path,
          message: `${shown}: the change touches the policy file but its contents before and after were not given (context.policyChange), so a loosening cannot be ruled out; ${tail}`,
        },
      ];
    }
    if (fate.gone) {
      return [{ path, message: `${shown}: the policy file is deleted (or renamed away); ${tail}` }];
    }
    const after = parseAfter(change.after);
    if ('problem' in after) return []; // policy-invalid reports it
    let found: string[];
    try {
      found = configLoosenings(parseBefore(change.before), after.config, input.policy.policyPath);
    } catch (err) {
      found = [
        `the policies before and after could not be compared (${printable(err instanceof Error ? err.message : String(err))})`,
      ];
    }
    return found.map((what) => ({ path, message: `${shown}: ${what}; ${tail}` }));
  },
};

/** Bad input: a policy file the loop could not load after the change. */
export const policyInvalid: Rule = {
  id: 'policy-invalid',
  summary:
    'The policy file after the change is not valid JSON or not a valid config (the message lists each issue by its key path).',
  setting: '(none: always on)',
  severity: 'block',
  check: (input) => {
    const change = input.context?.policyChange;
    if (change === undefined) return [];
    const policyPath = policyPathOf(input);
    const fate = policyFileFate(touchedPaths(input), policyPath);
    if (fate.gone) return [];
    const after = parseAfter(change.after);
    if (!('problem' in after)) return [];
    return [
      {
        path: fate.entry?.path ?? policyPath,
        message: `${fate.entry?.label ?? printable(policyPath)}: the policy file after the change ${after.problem}; the loop could not load it`,
      },
    ];
  },
};

/** The self-protection rules, in evaluation order. */
export const SELF_PROTECTION_RULES: readonly Rule[] = Object.freeze([
  selfProtectedPath,
  policyLoosened,
  policyInvalid,
]);
