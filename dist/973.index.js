export const id = 973;
export const ids = [973];
export const modules = {

/***/ 34973:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  rollbackOnRequest: () => (/* binding */ rollbackOnRequest)
});

// UNUSED EXPORTS: targetText

// EXTERNAL MODULE: ./src/deps.ts
var src_deps = __webpack_require__(99030);
// EXTERNAL MODULE: ./src/options.ts
var src_options = __webpack_require__(99692);
// EXTERNAL MODULE: ./src/secrets.ts
var src_secrets = __webpack_require__(44175);
// EXTERNAL MODULE: ./src/config/effective.ts
var effective = __webpack_require__(16812);
// EXTERNAL MODULE: ./src/github/errors.ts
var errors = __webpack_require__(58605);
;// CONCATENATED MODULE: ./src/github/access.ts

/**
 * The permission of `login` on the repository: `GET /repos/{owner}/{repo}/collaborators/{login}/permission`.
 * A 404 (not a collaborator, or no such user) is `none`.
 * @throws RequestError for any other failure
 */
async function permissionOf(gh, r, login) {
    try {
        const { data } = await gh.rest.repos.getCollaboratorPermissionLevel({
            owner: r.owner,
            repo: r.repo,
            username: login,
        });
        const permission = ['admin', 'write', 'read'].find((p) => p === data.permission) ?? 'none';
        const role = data.role_name ?? permission;
        return { permission, role };
    }
    catch (e) {
        if ((0,errors/* httpStatusOf */.s_)(e) === 404)
            return { permission: 'none', role: 'none' };
        throw e;
    }
}
/** Whether a permission may write to the repository (admin, maintain and write may). */
function canWrite(p) {
    return p.permission === 'admin' || p.permission === 'write';
}

// EXTERNAL MODULE: ./src/github/client.ts + 1 modules
var client = __webpack_require__(99809);
// EXTERNAL MODULE: ./src/store/migrate.ts + 1 modules
var migrate = __webpack_require__(8211);
// EXTERNAL MODULE: ./src/store/lock.ts
var store_lock = __webpack_require__(62013);
// EXTERNAL MODULE: ./src/store/rollbacks.ts
var rollbacks = __webpack_require__(68157);
// EXTERNAL MODULE: ./src/store/run-guard.ts
var run_guard = __webpack_require__(55353);
// EXTERNAL MODULE: ./src/act/revert.ts + 3 modules
var revert = __webpack_require__(5206);
// EXTERNAL MODULE: ./src/live.ts + 1 modules
var live = __webpack_require__(77646);
;// CONCATENATED MODULE: ./src/rollback.ts













/** Words for a target, e.g. "pull request #12". */
function targetText(target) {
    if ('actionId' in target)
        return `action #${target.actionId}`;
    if ('prNumber' in target)
        return `pull request #${target.prNumber}`;
    return `run #${target.runId}`;
}
/** The states of a revert that leave nothing to do. */
const DONE = new Set([
    'opened',
    'existing',
    'merged',
    'already-reverted',
]);
/**
 * Opens the revert pull request of each merged self-change the request names (see the module docs). Never
 * throws for a refused or failed request (status and error say why).
 * @throws UsageError when the repository is not owner/name or there is no token (exit 2); ConfigError for a bad
 *   config file
 */
async function rollbackOnRequest(options, request, deps) {
    const env = options.env ?? process.env;
    const secrets = [...new Set([...(0,src_secrets/* secretsOf */.Fj)(options), ...(0,src_secrets/* secretEnvValues */.yp)(env)])];
    deps.logger.addSecrets?.(secrets);
    const what = targetText(request.target);
    const report = {
        status: 'failed',
        repository: options.repository,
        summary: '',
        error: null,
        reverts: [],
    };
    const repo = (0,live/* repoRefOf */.pZ)(options.repository);
    const token = options.prToken ?? options.githubToken;
    if (!token && !deps.github) {
        throw new src_options/* UsageError */.eb('a rollback opens a pull request through the GitHub API and needs a token: set GITHUB_TOKEN or GH_TOKEN (CLI), or the action input github-token / pr-token');
    }
    const config = await (0,effective/* loadEffectiveConfig */._)(options);
    const github = deps.github ?? (0,client/* createGitHubClient */.LX)({ token: token, baseUrl: options.githubApiUrl, logger: deps.logger });
    const guard = (0,run_guard/* createRunGuard */.HW)(deps.signal ? { signal: deps.signal } : {});
    let db = null;
    let lock = null;
    const fail = (status, error) => {
        report.status = status;
        report.error = error;
        report.summary =
            status === 'refused' ? `rollback of ${what}: ${error}` : `rollback of ${what} failed: ${error}`;
        deps.logger.error(report.summary);
        return report;
    };
    try {
        db = await deps.openDb({ databaseUrl: options.databaseUrl, embeddedDir: options.embeddedDbDir });
        await (0,migrate/* migrate */._)(db);
        lock = await (0,store_lock/* tryAcquireRunLock */.QD)(db, options.repository);
        if (!lock)
            return fail('failed', 'another self-evolution run of this repository holds the run lock; try again later');
        guard.watch(lock);
        const changes = await (0,rollbacks/* mergedSelfChangesOf */.XP)(db, options.repository, request.target);
        const reason = request.reason?.trim() ?? '';
        if (request.checkPermission) {
            let permission;
            try {
                permission = await permissionOf(github, repo, request.requestedBy);
            }
            catch (e) {
                return fail('failed', `could not read the permission of ${request.requestedBy}: ${(0,errors/* describeGitHubError */.dZ)(e)}`);
            }
            if (!canWrite(permission)) {
                const error = `refused: ${request.requestedBy} has ${permission.role} permission`;
                for (const change of changes) {
                    const row = await (0,rollbacks/* recordRollback */.Ij)(db, {
                        actionId: change.actionId,
                        repository: options.repository,
                        runId: null,
                        trigger: 'manual',
                        mode: 'pr',
                        status: 'failed',
                        reason: reason || `requested by ${request.requestedBy}`,
                        evidence: { request: { target: request.target, by: request.requestedBy, reason } },
                        revertedSha: change.mergeCommitSha,
                        revertBranch: null,
                        requestedBy: request.requestedBy,
                        error,
                    });
                    report.reverts.push({
                        actionId: change.actionId,
                        pullRequest: change.prNumber,
                        revertedSha: change.mergeCommitSha,
                        trigger: 'manual',
                        mode: 'pr',
                        state: 'refused',
                        reason: error,
                        rollbackId: row.rollback.id,
                    });
                }
                return fail('refused', `${error} (admin, maintain or write may ask for a rollback)`);
            }
        }
        if (changes.length === 0) {
            const named = await (0,rollbacks/* actionsNamedBy */.Y9)(db, options.repository, request.target);
            return fail('failed', named.length === 0
                ? `${what} is not a self-change of ${options.repository}`
                : `${what} has no merged self-change (${named.map((a) => `action #${a.id} is ${a.status}`).join(', ')}): nothing to revert`);
        }
        const defaultBranch = await (0,live/* defaultBranchFor */.hC)(github, repo);
        const token = options.pushWithToken ? (options.prToken ?? options.githubToken) : undefined;
        for (const change of changes) {
            report.reverts.push(await (0,revert/* openRevert */.Tu)({
                db,
                github,
                repo,
                repository: options.repository,
                remote: { repoDir: options.repoDir, ...(token ? { token } : {}) },
                defaultBranch,
                branchPrefix: config.prTemplateConfig.branchPrefix,
                commitSigning: config.pullRequest.commitSigning,
                runId: null,
                identity: { ...config.pullRequest.commitAuthor, date: deps.clock.now() },
                logsUrl: options.logsUrl ?? null,
                guard,
                logger: deps.logger,
                secrets,
            }, {
                change,
                trigger: 'manual',
                mode: 'pr',
                reason: reason || `requested by ${request.requestedBy}`,
                evidence: { request: { target: request.target, by: request.requestedBy, reason } },
                requestedBy: request.requestedBy,
            }));
        }
        const left = report.reverts.filter((r) => !DONE.has(r.state));
        const line = report.reverts
            .map((r) => `action #${r.actionId}: ${r.state}${r.number !== undefined ? ` #${r.number}` : ''}`)
            .join(', ');
        if (left.length > 0)
            return fail('failed', `${line}; ${left.map((r) => r.reason).join('; ')}`);
        report.status = 'success';
        report.summary = `rollback of ${what}: ${line}`;
        deps.logger.info(report.summary);
        return report;
    }
    catch (err) {
        if (err instanceof src_options/* UsageError */.eb)
            throw err;
        return fail('failed', err instanceof src_deps/* RunInterrupted */.QB ? err.message : (0,src_secrets/* oneLine */.TN)(err, secrets));
    }
    finally {
        guard.dispose();
        if (lock)
            await lock.release().catch(() => undefined);
        if (db)
            await db.close().catch(() => undefined);
    }
}


/***/ })

};
