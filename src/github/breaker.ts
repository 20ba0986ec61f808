/**
 * The GitHub side of the circuit breaker, through the one client (src/github/client.ts):
 * - who applied the stop label: the open issues (and pull requests) labelled `self-evolution:stop`, for each the
 *   latest `labeled` event of that label (`GET .../issues/{n}/events`) and its actor's permission on the
 *   repository (`GET .../collaborators/{login}/permission`); the gate decides what counts (gates/breaker.ts);
 * - whether a stop issue is closed, and by whom (`GET .../issues/{n}`, `closed_by`);
 * - the one issue that says the loop stopped itself (`self-evolution:breaker`): opened, or updated and
 *   commented on when one is already open.
 * Errors are thrown as Octokit gives them (RequestError with `status`), except a 404 of the permission call,
 * which means "not a collaborator" (permission 'none').
 */
import type { GitHubClient } from './client.js';
import { permissionOf } from './access.js';
import { httpStatusOf } from './errors.js';
import type { RepoRef } from './pulls.js';
import { listOpenIssuesWithLabel, readPages, type BoundedRead } from './reads.js';

/** The label a person with write access puts on an open issue to stop the loop. */
export const STOP_LABEL = 'self-evolution:stop';

/** The label of the issue the breaker opens when it trips. */
export const BREAKER_LABEL = 'self-evolution:breaker';

/** Pages of 100 read at most: open stop-labelled issues, and the events of one issue. */
export const BREAKER_MAX_PAGES = 10;

/** owner/name of the repository a call is about. */
export type BreakerRepo = RepoRef;

/** An open issue or pull request carrying the stop label, and who applied it. */
export interface StopLabelApplication {
  /** Issue (or pull request) number. */
  number: number;
  /** Its web page. */
  url: string;
  title: string;
  /** True for a pull request (the issues endpoint lists them too). */
  pullRequest: boolean;
  /** Login of the actor of the latest `labeled` event of the stop label; null when no event names one. */
  labeledBy: string | null;
  /** When that event happened (ISO 8601), or null. */
  labeledAt: string | null;
  /**
   * `permission` of `labeledBy` on the repository, as GitHub reports it: admin, write (maintain maps to
   * write), read (triage maps to read) or none (also for a login that is not a collaborator: 404); null when
   * there is no login.
   */
  permission: string | null;
  /** `role_name` (admin, maintain, write, triage, read or a custom role), or null. */
  roleName: string | null;
}

/** The state of one issue, and who closed it. */
export interface IssueClosure {
  number: number;
  url: string;
  state: 'open' | 'closed';
  /** Labels on it now (names). */
  labels: string[];
  /** Login in `closed_by`; null while open or when GitHub does not say. */
  closedBy: string | null;
  /** Permission of `closedBy` (as StopLabelApplication.permission); null without a login. */
  permission: string | null;
  roleName: string | null;
}

/** The breaker's issue after an upsert. */
export interface BreakerIssueRef {
  number: number;
  url: string;
  /** True when it was opened now; false when an open one was updated. */
  created: boolean;
}

/** What the breaker writes: the issue's title and body, and the comment added when it already exists. */
export interface BreakerIssueText {
  title: string;
  body: string;
  /** Added to an issue that was already open (a further trip). */
  comment: string;
}

/** What the breaker needs from GitHub (implemented by createBreakerGitHub; tests may pass their own). */
export interface BreakerGitHub {
  /**
   * Open issues and pull requests labelled STOP_LABEL, oldest first, each with who applied the label.
   * @throws RequestError as it comes; Error when more than BREAKER_MAX_PAGES pages of issues or of one issue's
   *   events exist (the label could not be attributed: the caller fails closed)
   */
  stopLabels(r: BreakerRepo): Promise<StopLabelApplication[]>;
  /**
   * Issue `number`'s state, labels and who closed it.
   * @throws RequestError as it comes
   */
  issueClosure(r: BreakerRepo, number: number): Promise<IssueClosure>;
  /**
   * Opens the breaker's issue (label BREAKER_LABEL, created when missing), or, when an issue with that label
   * is open, replaces its title and body and adds `comment`.
   * @throws RequestError as it comes (403 when the token may not write issues)
   */
  upsertBreakerIssue(r: BreakerRepo, text: BreakerIssueText): Promise<BreakerIssueRef>;
}

/** One issue event as the breaker reads it (the fields of the `labeled` event it uses). */
export interface IssueEventSummary {
  event: string;
  /** The label of a labeled/unlabeled event. */
  label: string | null;
  /** Login of the actor; null for a deleted user. */
  actor: string | null;
  createdAt: string;
}

/**
 * The events of an issue or pull request, oldest first: `GET /repos/{owner}/{repo}/issues/{n}/events?per_page=100`,
 * at most `maxPages` pages (`more` when a further one exists).
 * @throws RequestError as it comes
 */
export async function listIssueEvents(
  gh: GitHubClient,
  read: BoundedRead & { issueNumber: number },
): Promise<{ items: IssueEventSummary[]; more: boolean }> {
  const page = await readPages(
    gh.paginate.iterator(gh.rest.issues.listEvents, {
      owner: read.owner,
      repo: read.repo,
      issue_number: read.issueNumber,
      per_page: 100,
    }),
    read.maxPages,
  );
  return {
    more: page.more,
    items: page.items.map((raw) => {
      const e = raw as {
        event?: string;
        label?: { name?: string } | null;
        actor?: { login?: string } | null;
        created_at?: string;
      };
      return {
        event: e.event ?? '',
        label: typeof e.label?.name === 'string' ? e.label.name : null,
        actor: typeof e.actor?.login === 'string' ? e.actor.login : null,
        createdAt: e.created_at ?? '',
      };
    }),
  };
}

/** A login's permission and role on the repository, as the breaker records them (access.ts permissionOf). */
async function collaboratorPermission(
  gh: GitHubClient,
  r: BreakerRepo,
  login: string,
): Promise<{ permission: string; roleName: string }> {
  const { permission, role } = await permissionOf(gh, r, login);
  return { permission, roleName: role };
}

const sameLabel = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** The breaker's GitHub calls over `gh` (see BreakerGitHub); permissions are looked up once per login per call. */
export function createBreakerGitHub(gh: GitHubClient): BreakerGitHub {
  return {
    async stopLabels(r) {
      const listed = await listOpenIssuesWithLabel(gh, {
        ...r,
        label: STOP_LABEL,
        maxPages: BREAKER_MAX_PAGES,
      });
      if (listed.more) {
        throw new Error(
          `more than ${BREAKER_MAX_PAGES * 100} open issues are labelled ${STOP_LABEL}; not all were read`,
        );
      }
      const permissions = new Map<string, { permission: string; roleName: string }>();
      const out: StopLabelApplication[] = [];
      for (const raw of listed.items) {
        const issue = raw as { number: number; html_url: string; title: string; pull_request?: unknown };
        const events = await listIssueEvents(gh, {
          ...r,
          issueNumber: issue.number,
          maxPages: BREAKER_MAX_PAGES,
        });
        if (events.more) {
          throw new Error(
            `issue #${issue.number} has more than ${BREAKER_MAX_PAGES * 100} events; who applied ${STOP_LABEL} was not read`,
          );
        }
        const labeled = events.items
          .filter((e) => e.event === 'labeled' && e.label !== null && sameLabel(e.label, STOP_LABEL))
          .at(-1);
        const login = labeled?.actor ?? null;
        let perm: { permission: string; roleName: string } | null = null;
        if (login !== null) {
          perm = permissions.get(login) ?? (await collaboratorPermission(gh, r, login));
          permissions.set(login, perm);
        }
        out.push({
          number: issue.number,
          url: issue.html_url,
          title: issue.title,
          pullRequest: issue.pull_request !== undefined && issue.pull_request !== null,
          labeledBy: login,
          labeledAt: labeled?.createdAt ?? null,
          permission: perm?.permission ?? null,
          roleName: perm?.roleName ?? null,
        });
      }
      return out;
    },

    async issueClosure(r, number) {
      const { data } = await gh.rest.issues.get({ owner: r.owner, repo: r.repo, issue_number: number });
      const closedBy = data.state === 'closed' ? (data.closed_by?.login ?? null) : null;
      const perm = closedBy === null ? null : await collaboratorPermission(gh, r, closedBy);
      return {
        number: data.number,
        url: data.html_url,
        state: data.state === 'closed' ? 'closed' : 'open',
        labels: data.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean),
        closedBy,
        permission: perm?.permission ?? null,
        roleName: perm?.roleName ?? null,
      };
    },

    async upsertBreakerIssue(r, text) {
      const open = await readPages(
        gh.paginate.iterator(gh.rest.issues.listForRepo, {
          owner: r.owner,
          repo: r.repo,
          labels: BREAKER_LABEL,
          state: 'open',
          sort: 'created',
          direction: 'asc',
          per_page: 100,
        }),
        1,
      );
      const existing = open.items.find((i) => !(i as { pull_request?: unknown }).pull_request);
      if (existing) {
        await gh.rest.issues.update({
          owner: r.owner,
          repo: r.repo,
          issue_number: existing.number,
          title: text.title,
          body: text.body,
        });
        await gh.rest.issues.createComment({
          owner: r.owner,
          repo: r.repo,
          issue_number: existing.number,
          body: text.comment,
        });
        return { number: existing.number, url: existing.html_url, created: false };
      }
      await ensureLabel(gh, r, BREAKER_LABEL);
      const { data } = await gh.rest.issues.create({
        owner: r.owner,
        repo: r.repo,
        title: text.title,
        body: text.body,
        labels: [BREAKER_LABEL],
      });
      return { number: data.number, url: data.html_url, created: true };
    },
  };
}

/**
 * Makes sure label `name` exists: `GET .../labels/{name}`, created (red, "Added by Self-Evolution") on 404;
 * a 422 of the creation (another run created it in between) is fine.
 * @throws RequestError for any other failure
 */
async function ensureLabel(gh: GitHubClient, r: BreakerRepo, name: string): Promise<void> {
  try {
    await gh.rest.issues.getLabel({ owner: r.owner, repo: r.repo, name });
  } catch (error) {
    if (httpStatusOf(error) !== 404) throw error;
    try {
      await gh.rest.issues.createLabel({
        owner: r.owner,
        repo: r.repo,
        name,
        color: 'b60205',
        description: 'Added by Self-Evolution',
      });
    } catch (created) {
      if (httpStatusOf(created) !== 422) throw created;
    }
  }
}
