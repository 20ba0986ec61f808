/**
 * The pull-request side of the gate (action input `mode: gate`): which pull request the event is about, and
 * what the gate does to it on GitHub (the `needs-human-approval` label). The GitHub client is injected, so
 * tests pass a client whose requests nock answers; nothing here reads inputs or the environment.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../options.js';

/** Events the gate runs on. */
export const GATE_EVENTS: readonly string[] = Object.freeze(['pull_request', 'pull_request_target']);

/** The label put on a pull request whose verdict requires a human's approval (test changes). */
export const NEEDS_APPROVAL_LABEL = 'needs-human-approval';

/** The pull request a gate judges, from the event payload. */
export interface PullRequestRef {
  /** Owner and name of the base repository (where the pull request lives and is labelled). */
  owner: string;
  repo: string;
  /** Pull request number. */
  number: number;
  /** Commit ids of the base branch tip and of the pull request head (`base.sha`, `head.sha`). */
  baseSha: string;
  headSha: string;
  /** Branch names, e.g. `main` and `dependabot/npm_and_yarn/x-1.2.3`. */
  baseRef: string;
  headRef: string;
  /** Login and account type (`User`, `Bot`, `Organization`) of the author. */
  author: string;
  authorType: string;
  /** The base repository's default branch, when the payload has it. */
  defaultBranch?: string;
  /** The pull request's web page. */
  htmlUrl?: string;
}

/**
 * Reads and parses the event payload file (GITHUB_EVENT_PATH).
 * @throws UsageError when the path is unset, the file cannot be read, or it is not JSON.
 */
export async function readEventPayload(path: string | undefined): Promise<unknown> {
  if (!path) {
    throw new UsageError(
      'GITHUB_EVENT_PATH is not set: mode gate reads the pull request from the event payload, so it runs only on GitHub Actions',
    );
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the event payload ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`the event payload ${path} is not JSON: ${(e as Error).message}`);
  }
}

/** `obj[key]` when `obj` is an object, else undefined. */
function field(obj: unknown, key: string): unknown {
  return obj !== null && typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined;
}

/**
 * The pull request of a `pull_request` or `pull_request_target` event payload.
 * @throws UsageError when the event is another one ("mode gate needs a pull_request event, got push"), or a
 *   field the gate needs is missing or malformed (the message names the field, e.g. `pull_request.base.sha`).
 */
export function pullRequestFromEvent(eventName: string | undefined, payload: unknown): PullRequestRef {
  if (!eventName || !GATE_EVENTS.includes(eventName)) {
    throw new UsageError(
      `mode gate needs a pull_request event, got ${eventName || '(no event)'}; run it on: pull_request (or pull_request_target)`,
    );
  }
  const pr = field(payload, 'pull_request');
  const text = (value: unknown, name: string, pattern?: RegExp): string => {
    if (typeof value !== 'string' || value === '' || (pattern && !pattern.test(value))) {
      throw new UsageError(
        `the ${eventName} event payload has no usable ${name} (found ${JSON.stringify(value) ?? 'nothing'})`,
      );
    }
    return value;
  };
  const sha = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
  const number = field(pr, 'number') ?? field(payload, 'number');
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1) {
    throw new UsageError(
      `the ${eventName} event payload has no usable pull_request.number (found ${JSON.stringify(number) ?? 'nothing'})`,
    );
  }
  const base = field(pr, 'base');
  const head = field(pr, 'head');
  const repository = field(payload, 'repository') ?? field(base, 'repo');
  const fullName = field(repository, 'full_name');
  const [ownerFromName, repoFromName] = typeof fullName === 'string' ? fullName.split('/') : [];
  const ref: PullRequestRef = {
    owner: text(field(field(repository, 'owner'), 'login') ?? ownerFromName, 'repository.owner.login'),
    repo: text(field(repository, 'name') ?? repoFromName, 'repository.name'),
    number,
    baseSha: text(field(base, 'sha'), 'pull_request.base.sha', sha),
    headSha: text(field(head, 'sha'), 'pull_request.head.sha', sha),
    baseRef: text(field(base, 'ref'), 'pull_request.base.ref'),
    headRef: text(field(head, 'ref'), 'pull_request.head.ref'),
    author: text(field(field(pr, 'user'), 'login'), 'pull_request.user.login'),
    authorType:
      typeof field(field(pr, 'user'), 'type') === 'string'
        ? (field(field(pr, 'user'), 'type') as string)
        : 'User',
  };
  const defaultBranch = field(repository, 'default_branch');
  if (typeof defaultBranch === 'string' && defaultBranch !== '') ref.defaultBranch = defaultBranch;
  const htmlUrl = field(pr, 'html_url');
  if (typeof htmlUrl === 'string' && htmlUrl !== '') ref.htmlUrl = htmlUrl;
  return ref;
}

/**
 * The part of an Octokit the gate uses: `POST /repos/{owner}/{repo}/issues/{issue_number}/labels`. The
 * client of github/client.ts (createGitHubClient) has it; tests may pass any object of this shape.
 */
export interface LabelClient {
  rest: {
    issues: {
      addLabels(params: {
        owner: string;
        repo: string;
        issue_number: number;
        labels: string[];
      }): Promise<unknown>;
    };
  };
}

/** What became of the label request. */
export type LabelOutcome = { ok: true } | { ok: false; status?: number; message: string };

/**
 * Adds `label` (default NEEDS_APPROVAL_LABEL) to the pull request (`POST /repos/{owner}/{repo}/issues/
 * {number}/labels`, body `{"labels": [label]}`; GitHub creates the label when the repository lacks it).
 * Never throws: a failure (no permission, network) is returned with the HTTP status and a message that
 * says which permission the workflow needs; the token never appears in it.
 */
export async function labelPullRequest(
  client: LabelClient,
  pr: Pick<PullRequestRef, 'owner' | 'repo' | 'number'>,
  label: string = NEEDS_APPROVAL_LABEL,
): Promise<LabelOutcome> {
  try {
    await client.rest.issues.addLabels({
      owner: pr.owner,
      repo: pr.repo,
      issue_number: pr.number,
      labels: [label],
    });
    return { ok: true };
  } catch (e) {
    const status = typeof field(e, 'status') === 'number' ? (field(e, 'status') as number) : undefined;
    const reason = (e instanceof Error ? e.message : String(e))
      .split('\n')[0]!
      .replace(/\b(gh[pousr]_|github_pat_)\w+/g, '***');
    const hint =
      status === 403 || status === 404
        ? '; the workflow token needs `permissions: pull-requests: write` (or issues: write), and a pull_request run from a fork only gets a read-only token (use pull_request_target)'
        : '';
    return {
      ok: false,
      ...(status !== undefined ? { status } : {}),
      message: `could not add the label "${label}" to ${pr.owner}/${pr.repo}#${pr.number}: ${status !== undefined ? `HTTP ${status}: ` : ''}${reason}${hint}`,
    };
  }
}
