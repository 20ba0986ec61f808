/**
 * Gate: do not run while the repository is busy (skip when an active CI
 * workflow is running or a deployment is in progress; config `scheduleConfig.skipDuringDeployments`).
 * A GitHub API failure is an 'error', so the run is skipped rather than run blind.
 */
import type { ActiveDeployment, ActiveWorkflowRun, ActivitySource } from '../github/activity.js';
import { describeGitHubError, httpStatusOf } from '../github/errors.js';
import { repositoryParts } from '../options.js';
import type { GateResult } from './types.js';

/** Options of `checkActivity`. */
export interface ActivityCheckOptions {
  /** This workflow run's id on Actions; it is not "other activity". */
  currentRunId?: number;
  /** config.scheduleConfig.skipDuringDeployments; false turns the gate into 'not-checked'. */
  skipDuringDeployments: boolean;
}

/** How many runs and deployments a skip reason names before "and N more" (details list them all). */
const NAMED_IN_REASON = 5;

/**
 * Checks for other activity in `repository`. In order:
 * - `skipDuringDeployments` false -> 'not-checked' "not checked: scheduleConfig.skipDuringDeployments is false";
 * - repository not 'owner/name' -> 'not-checked' naming it; 'local/<dir>' (a checkout without a GitHub
 *   remote, see Options.repository) -> 'not-checked' too;
 * - no source (no token) -> 'not-checked' "not checked: no GitHub token";
 * - active workflow runs other than `currentRunId`, or active deployments -> 'skip' naming them
 *   (workflow name + run id, environment + deployment id);
 * - an API failure -> 'error' "GitHub API error: <status> <message>" (tokens redacted);
 * - otherwise 'pass'.
 * Never throws.
 */
export async function checkActivity(
  source: ActivitySource | undefined,
  repository: string,
  opts: ActivityCheckOptions,
): Promise<GateResult> {
  if (!opts.skipDuringDeployments) {
    return notChecked('scheduleConfig.skipDuringDeployments is false');
  }
  const parsed = repositoryParts(repository);
  if (!parsed) return notChecked(`repository "${repository}" is not in owner/name form`);
  if (parsed.owner === 'local')
    return notChecked(`${repository} is a local checkout without a GitHub remote`);
  if (!source) return notChecked('no GitHub token');

  let runs: ActiveWorkflowRun[];
  let deployments: ActiveDeployment[];
  try {
    runs = await source.listActiveWorkflowRuns(parsed.owner, parsed.repo);
    deployments = await source.listActiveDeployments(parsed.owner, parsed.repo);
  } catch (error) {
    return {
      gate: 'activity',
      outcome: 'error',
      reason: describeGitHubError(error),
      details: { status: httpStatusOf(error) ?? null },
    };
  }

  const otherRuns = runs.filter((r) => r.id !== opts.currentRunId);
  const details = {
    workflowRuns: otherRuns,
    deployments,
    ...(opts.currentRunId !== undefined ? { currentRunId: opts.currentRunId } : {}),
  };
  if (otherRuns.length === 0 && deployments.length === 0) {
    return {
      gate: 'activity',
      outcome: 'pass',
      reason: `no other workflow run or deployment active in ${repository}`,
      details,
    };
  }

  const items = [
    ...otherRuns.map((r) => `workflow "${r.name}" run ${r.id} (${r.status})`),
    ...deployments.map((d) => `deployment ${d.id} to "${d.environment}" (${d.state})`),
  ];
  const named = items.slice(0, NAMED_IN_REASON).join(', ');
  const more = items.length > NAMED_IN_REASON ? ` and ${items.length - NAMED_IN_REASON} more` : '';
  return { gate: 'activity', outcome: 'skip', reason: `active in ${repository}: ${named}${more}`, details };
}

function notChecked(why: string): GateResult {
  return { gate: 'activity', outcome: 'not-checked', reason: `not checked: ${why}` };
}
