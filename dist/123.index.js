export const id = 123;
export const ids = [123];
export const modules = {

/***/ 3123:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   rollbackOnRequest: () => (/* binding */ rollbackOnRequest)
/* harmony export */ });
/* unused harmony export targetText */
/* harmony import */ var _deps_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(72421);
/* harmony import */ var _options_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(88381);
/* harmony import */ var _secrets_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(27194);
/* harmony import */ var _config_effective_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(87343);
/* harmony import */ var _github_access_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(38261);
/* harmony import */ var _github_client_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(43154);
/* harmony import */ var _github_errors_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(73116);
/* harmony import */ var _store_migrate_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(53018);
/* harmony import */ var _store_lock_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(35074);
/* harmony import */ var _store_pg_js__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(72151);
/* harmony import */ var _store_rollbacks_js__WEBPACK_IMPORTED_MODULE_13__ = __webpack_require__(35232);
/* harmony import */ var _store_run_guard_js__WEBPACK_IMPORTED_MODULE_10__ = __webpack_require__(19744);
/* harmony import */ var _act_revert_js__WEBPACK_IMPORTED_MODULE_11__ = __webpack_require__(98871);
/* harmony import */ var _live_js__WEBPACK_IMPORTED_MODULE_12__ = __webpack_require__(97421);














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
    const secrets = [...new Set([...(0,_secrets_js__WEBPACK_IMPORTED_MODULE_2__/* .secretsOf */ .Fj)(options), ...(0,_secrets_js__WEBPACK_IMPORTED_MODULE_2__/* .secretEnvValues */ .yp)(env)])];
    deps.logger.addSecrets?.(secrets);
    const what = targetText(request.target);
    const report = {
        status: 'failed',
        repository: options.repository,
        summary: '',
        error: null,
        reverts: [],
    };
    const repo = (0,_live_js__WEBPACK_IMPORTED_MODULE_12__/* .repoRefOf */ .pZ)(options.repository);
    const token = options.prToken ?? options.githubToken;
    if (!token && !deps.github) {
        throw new _options_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb('a rollback opens a pull request through the GitHub API and needs a token: set GITHUB_TOKEN or GH_TOKEN (CLI), or the action input github-token / pr-token');
    }
    const config = await (0,_config_effective_js__WEBPACK_IMPORTED_MODULE_3__/* .loadEffectiveConfig */ ._)(options);
    const github = deps.github ?? (0,_github_client_js__WEBPACK_IMPORTED_MODULE_5__/* .createGitHubClient */ .LX)({ token: token, baseUrl: options.githubApiUrl, logger: deps.logger });
    const guard = (0,_store_run_guard_js__WEBPACK_IMPORTED_MODULE_10__/* .createRunGuard */ .HW)(deps.signal ? { signal: deps.signal } : {});
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
        db = await deps.openDb({
            databaseUrl: options.databaseUrl,
            embeddedDir: options.embeddedDbDir,
            connectRetry: (0,_store_pg_js__WEBPACK_IMPORTED_MODULE_9__/* .connectRetryFor */ .G)(config.database.connectRetrySeconds, 'the database', (0,_store_pg_js__WEBPACK_IMPORTED_MODULE_9__/* .waiting */ .eg)(deps), guard.signal),
        });
        await (0,_store_migrate_js__WEBPACK_IMPORTED_MODULE_7__/* .migrate */ ._)(db);
        lock = await (0,_store_lock_js__WEBPACK_IMPORTED_MODULE_8__/* .tryAcquireRunLock */ .QD)(db, options.repository, (0,_store_lock_js__WEBPACK_IMPORTED_MODULE_8__/* .runLockOptionsOf */ .i)(config.database, options.currentWorkflowRunId));
        if (!lock)
            return fail('failed', 'another self-evolution run of this repository holds the run lock; try again later');
        guard.watch(lock);
        const changes = await (0,_store_rollbacks_js__WEBPACK_IMPORTED_MODULE_13__/* .mergedSelfChangesOf */ .XP)(db, options.repository, request.target);
        const reason = request.reason?.trim() ?? '';
        if (request.checkPermission) {
            let permission;
            try {
                permission = await (0,_github_access_js__WEBPACK_IMPORTED_MODULE_4__/* .permissionOf */ .F)(github, repo, request.requestedBy);
            }
            catch (e) {
                return fail('failed', `could not read the permission of ${request.requestedBy}: ${(0,_github_errors_js__WEBPACK_IMPORTED_MODULE_6__/* .describeGitHubError */ .dZ)(e)}`);
            }
            if (!(0,_github_access_js__WEBPACK_IMPORTED_MODULE_4__/* .canWrite */ ._)(permission)) {
                const error = `refused: ${request.requestedBy} has ${permission.role} permission`;
                for (const change of changes) {
                    const row = await (0,_store_rollbacks_js__WEBPACK_IMPORTED_MODULE_13__/* .recordRollback */ .Ij)(db, {
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
            const named = await (0,_store_rollbacks_js__WEBPACK_IMPORTED_MODULE_13__/* .actionsNamedBy */ .Y9)(db, options.repository, request.target);
            return fail('failed', named.length === 0
                ? `${what} is not a self-change of ${options.repository}`
                : `${what} has no merged self-change (${named.map((a) => `action #${a.id} is ${a.status}`).join(', ')}): nothing to revert`);
        }
        const defaultBranch = await (0,_live_js__WEBPACK_IMPORTED_MODULE_12__/* .defaultBranchFor */ .hC)(github, repo);
        const token = options.pushWithToken ? (options.prToken ?? options.githubToken) : undefined;
        for (const change of changes) {
            report.reverts.push(await (0,_act_revert_js__WEBPACK_IMPORTED_MODULE_11__/* .openRevert */ .Tu)({
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
        if (err instanceof _options_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb)
            throw err;
        return fail('failed', err instanceof _deps_js__WEBPACK_IMPORTED_MODULE_0__/* .RunInterrupted */ .QB ? err.message : (0,_secrets_js__WEBPACK_IMPORTED_MODULE_2__/* .oneLine */ .TN)(err, secrets));
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
