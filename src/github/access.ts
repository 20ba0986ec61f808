/**
 * Who may do what on a repository, through the one client (src/github/client.ts): the permission of a
 * collaborator, for the rollback a person asks for in the action (act/rollback.ts).
 */
import type { GitHubClient } from './client.js';
import { httpStatusOf } from './errors.js';
import type { RepoRef } from './pulls.js';

/** A collaborator's permission as GitHub's `permission` field says it (maintain reads as write, triage as read). */
export type RepositoryPermission = 'admin' | 'write' | 'read' | 'none';

/** The permission and, when GitHub gives one, the finer role (e.g. 'maintain', 'triage'). */
export interface Permission {
  permission: RepositoryPermission;
  /** GitHub's `role_name` (admin, maintain, write, triage, read, or a custom role), or the permission. */
  role: string;
}

/**
 * The permission of `login` on the repository: `GET /repos/{owner}/{repo}/collaborators/{login}/permission`.
 * A 404 (not a collaborator, or no such user) is `none`.
 * @throws RequestError for any other failure
 */
export async function permissionOf(gh: GitHubClient, r: RepoRef, login: string): Promise<Permission> {
  try {
    const { data } = await gh.rest.repos.getCollaboratorPermissionLevel({
      owner: r.owner,
      repo: r.repo,
      username: login,
    });
    const permission = (['admin', 'write', 'read'] as const).find((p) => p === data.permission) ?? 'none';
    const role = (data as { role_name?: string }).role_name ?? permission;
    return { permission, role };
  } catch (e) {
    if (httpStatusOf(e) === 404) return { permission: 'none', role: 'none' };
    throw e;
  }
}

/** Whether a permission may write to the repository (admin, maintain and write may). */
export function canWrite(p: Permission): boolean {
  return p.permission === 'admin' || p.permission === 'write';
}
