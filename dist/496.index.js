export const id = 496;
export const ids = [496];
export const modules = {

/***/ 4496:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   publishBundle: () => (/* binding */ publishBundle)
/* harmony export */ });
/* unused harmony export PublishRefused */
/* harmony import */ var _deps_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(72421);
/* harmony import */ var _options_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(88381);
/* harmony import */ var _secrets_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(27194);
/* harmony import */ var _config_load_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(61036);
/* harmony import */ var _config_effective_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(87343);
/* harmony import */ var _rails_policy_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(32339);
/* harmony import */ var _git_checkout_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(58106);
/* harmony import */ var _git_publish_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(21191);
/* harmony import */ var _git_git_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(10308);
/* harmony import */ var _github_client_js__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(43154);
/* harmony import */ var _store_migrate_js__WEBPACK_IMPORTED_MODULE_10__ = __webpack_require__(53018);
/* harmony import */ var _store_lock_js__WEBPACK_IMPORTED_MODULE_11__ = __webpack_require__(35074);
/* harmony import */ var _store_pg_js__WEBPACK_IMPORTED_MODULE_12__ = __webpack_require__(72151);
/* harmony import */ var _store_proposals_js__WEBPACK_IMPORTED_MODULE_13__ = __webpack_require__(65610);
/* harmony import */ var _store_runs_js__WEBPACK_IMPORTED_MODULE_14__ = __webpack_require__(45551);
/* harmony import */ var _store_run_guard_js__WEBPACK_IMPORTED_MODULE_15__ = __webpack_require__(19744);
/* harmony import */ var _act_bundle_js__WEBPACK_IMPORTED_MODULE_16__ = __webpack_require__(60346);
/* harmony import */ var _act_stage_js__WEBPACK_IMPORTED_MODULE_17__ = __webpack_require__(54470);
/* harmony import */ var _act_revert_js__WEBPACK_IMPORTED_MODULE_18__ = __webpack_require__(98871);
/* harmony import */ var _report_summary_js__WEBPACK_IMPORTED_MODULE_19__ = __webpack_require__(57994);
/* harmony import */ var _live_js__WEBPACK_IMPORTED_MODULE_20__ = __webpack_require__(97421);
/* harmony import */ var _live_stages_js__WEBPACK_IMPORTED_MODULE_21__ = __webpack_require__(70939);






















/** A bundle that must not be published; the message says why. */
class PublishRefused extends Error {
    name = 'PublishRefused';
}
/**
 * Publishes the changes of the proposal bundle in `options.bundleDir` (see the module docs). Never throws for
 * a refused or failed publication (status 'failed' with the reason).
 * @throws UsageError for missing options (no bundle directory, no token, not owner/name): exit 2
 */
async function publishBundle(options, deps) {
    const env = options.env ?? process.env;
    const secrets = [...new Set([...(0,_secrets_js__WEBPACK_IMPORTED_MODULE_2__/* .secretsOf */ .Fj)(options), ...(0,_secrets_js__WEBPACK_IMPORTED_MODULE_2__/* .secretEnvValues */ .yp)(env)])];
    deps.logger.addSecrets?.(secrets);
    const startedAt = deps.clock.now();
    const report = {
        status: 'failed',
        repository: options.repository,
        runId: null,
        summary: '',
        error: null,
        pullRequests: [],
        limitsReached: [],
        reconciled: [],
        reverts: [],
    };
    if (!options.bundleDir)
        throw new _options_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb('mode publish needs the proposal bundle: input bundle-path');
    const repo = (0,_live_js__WEBPACK_IMPORTED_MODULE_20__/* .repoRefOf */ .pZ)(options.repository);
    const token = options.prToken ?? options.githubToken;
    if (!token && !deps.pullRequestClient) {
        throw new _options_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb('mode publish opens pull requests and needs a token: input pr-token or github-token');
    }
    let db = null;
    let lock = null;
    const guard = (0,_store_run_guard_js__WEBPACK_IMPORTED_MODULE_15__/* .createRunGuard */ .HW)(deps.signal ? { signal: deps.signal } : {});
    try {
        const { bundle, items } = await (0,_act_bundle_js__WEBPACK_IMPORTED_MODULE_16__/* .readBundle */ .Bo)(options.bundleDir).catch((e) => {
            throw e instanceof _act_bundle_js__WEBPACK_IMPORTED_MODULE_16__/* .BundleError */ .rJ ? new PublishRefused(e.message) : e;
        });
        report.runId = bundle.runId;
        if (bundle.repository !== options.repository) {
            throw new PublishRefused(`the bundle is for ${bundle.repository}, this job publishes to ${options.repository}`);
        }
        await (0,_git_checkout_js__WEBPACK_IMPORTED_MODULE_6__/* .checkRepository */ .n_)(options.repoDir);
        await (0,_git_git_js__WEBPACK_IMPORTED_MODULE_8__/* .runGit */ .EO)(['cat-file', '-e', `${bundle.baseSha}^{commit}`], { cwd: options.repoDir }).catch(() => {
            throw new PublishRefused(`the bundle's base commit ${bundle.baseSha.slice(0, 8)} is not in this checkout (actions/checkout with fetch-depth: 0, or enough history)`);
        });
        // The policy, from the base commit itself: the bundle must name the same blob.
        const policyPath = (0,_config_effective_js__WEBPACK_IMPORTED_MODULE_4__/* .policyPathOf */ .p)(options);
        if (bundle.policy.path !== policyPath) {
            throw new PublishRefused(`the bundle's policy is ${bundle.policy.path}, this job's is ${policyPath}`);
        }
        const blob = await (0,_git_git_js__WEBPACK_IMPORTED_MODULE_8__/* .runGit */ .EO)(['rev-parse', '--verify', '--quiet', `${bundle.baseSha}:${policyPath}`], {
            cwd: options.repoDir,
        }).then((o) => o.stdout.trim(), () => null);
        if (blob !== bundle.policy.blobSha) {
            throw new PublishRefused(`the policy ${policyPath} at the base commit is ${blob ?? 'absent'}, the bundle says ${bundle.policy.blobSha ?? 'absent'}: the bundle was altered or made from another policy`);
        }
        const text = await (0,_git_publish_js__WEBPACK_IMPORTED_MODULE_7__/* .fileAtCommit */ .fw)(options.repoDir, bundle.baseSha, policyPath);
        const config = (0,_config_load_js__WEBPACK_IMPORTED_MODULE_3__/* .parseConfigText */ .Bu)(text ?? '{}', `${policyPath} at ${bundle.baseSha.slice(0, 8)}`).config;
        if (config.dryRunMode) {
            throw new PublishRefused(`the config at the base commit says "dryRunMode": true: nothing is published`);
        }
        db = await deps.openDb({
            databaseUrl: options.databaseUrl,
            embeddedDir: options.embeddedDbDir,
            connectRetry: (0,_store_pg_js__WEBPACK_IMPORTED_MODULE_12__/* .connectRetryFor */ .G)(config.database.connectRetrySeconds, 'the database', (0,_store_pg_js__WEBPACK_IMPORTED_MODULE_12__/* .waiting */ .eg)(deps), guard.signal),
        });
        await (0,_store_migrate_js__WEBPACK_IMPORTED_MODULE_10__/* .migrate */ ._)(db);
        lock = await (0,_store_lock_js__WEBPACK_IMPORTED_MODULE_11__/* .tryAcquireRunLock */ .QD)(db, options.repository, (0,_store_lock_js__WEBPACK_IMPORTED_MODULE_11__/* .runLockOptionsOf */ .i)(config.database, options.currentWorkflowRunId));
        if (!lock)
            throw new PublishRefused('another self-evolution run of this repository holds the run lock; run the publish job again later');
        guard.watch(lock);
        const run = await (0,_store_runs_js__WEBPACK_IMPORTED_MODULE_14__/* .getRun */ .Mh)(db, bundle.runId);
        if (!run || run.repository !== options.repository) {
            throw new PublishRefused(`run #${bundle.runId} of the bundle is not a recorded run of ${options.repository}`);
        }
        const recorded = new Map((await (0,_store_proposals_js__WEBPACK_IMPORTED_MODULE_13__/* .listProposals */ .wV)(db, bundle.runId)).map((p) => [p.id, p]));
        const github = deps.pullRequestClient ??
            (0,_github_client_js__WEBPACK_IMPORTED_MODULE_9__/* .createGitHubClient */ .LX)({ token: token, baseUrl: options.githubApiUrl, logger: deps.logger });
        const defaultBranch = await (0,_live_js__WEBPACK_IMPORTED_MODULE_20__/* .defaultBranchFor */ .hC)(github, repo);
        const pushing = { ...options, pushWithToken: options.pushWithToken ?? true };
        const live = (0,_live_js__WEBPACK_IMPORTED_MODULE_20__/* .liveActOf */ .Gi)({
            options: pushing,
            db,
            github,
            repo,
            defaultBranch,
            identityDate: new Date(`${bundle.runDate}T00:00:00Z`),
            ciText: (0,_live_js__WEBPACK_IMPORTED_MODULE_20__/* .ciTextFor */ .lu)(config, (0,_live_js__WEBPACK_IMPORTED_MODULE_20__/* .tokenKindOf */ .jX)(pushing)),
        });
        const policy = (0,_rails_policy_js__WEBPACK_IMPORTED_MODULE_5__/* .policyFromConfig */ .nP)(config, { policyPath });
        const evidence = new Map();
        const actItems = [];
        for (const item of items) {
            const row = recorded.get(item.proposalId);
            const mismatch = !row
                ? 'it has no recorded proposal in that run'
                : row.verdict !== 'allowed'
                    ? `its recorded proposal was ${row.verdict}`
                    : row.patchSha256 !== item.patchSha256
                        ? `its patch differs from the recorded proposal's (sha256 ${row.patchSha256 ?? 'none'})`
                        : null;
            if (mismatch) {
                report.pullRequests.push({
                    proposalId: item.proposalId,
                    state: 'not-published',
                    branch: '',
                    title: item.title,
                    body: '',
                    labels: [],
                    reviewers: [],
                    draft: config.pullRequest.draft,
                    reason: `refused: ${mismatch}`,
                });
                deps.logger.warn(`proposal #${item.proposalId}: refused: ${mismatch}`);
                continue;
            }
            evidence.set(item.proposalId, item.verify);
            actItems.push({ report: reportOf(item), patch: item.patch, baseSha: bundle.baseSha });
        }
        const callbacks = await (0,_live_js__WEBPACK_IMPORTED_MODULE_20__/* .actCallbacks */ .Td)({
            repoDir: options.repoDir,
            config,
            policy,
            runId: bundle.runId,
            runDate: bundle.runDate,
            insights: bundle.insights,
            logsUrl: bundle.logsUrl ?? null,
            artifactName: null,
            baseSha: bundle.baseSha,
            baseBranch: defaultBranch,
            ciText: (0,_live_js__WEBPACK_IMPORTED_MODULE_20__/* .ciTextFor */ .lu)(config, (0,_live_js__WEBPACK_IMPORTED_MODULE_20__/* .tokenKindOf */ .jX)(pushing)),
            env,
            secrets,
            guard,
            onCommand: () => undefined,
            logger: deps.logger,
        });
        const result = await (0,_act_stage_js__WEBPACK_IMPORTED_MODULE_17__/* .actOnProposals */ .T)({
            dryRun: false,
            items: actItems,
            config,
            runId: bundle.runId,
            runDate: bundle.runDate,
            repository: options.repository,
            guard,
            logger: deps.logger,
            secrets,
            clock: deps.clock,
            render: callbacks.render,
            // The propose job's evidence, valid on its base only: no code of the repository runs here.
            verify: async (item, baseSha) => baseSha === bundle.baseSha
                ? evidence.get(item.report.id)
                : {
                    status: 'failed',
                    commands: evidence.get(item.report.id).commands,
                    reason: `the default branch moved to ${baseSha.slice(0, 8)} since the change was verified on ${bundle.baseSha.slice(0, 8)}; the next run proposes it again`,
                },
            live,
            db,
        });
        for (const item of actItems) {
            report.pullRequests.push({ proposalId: item.report.id, ...item.report.pullRequest });
        }
        report.pullRequests.sort((a, b) => items.findIndex((i) => i.proposalId === a.proposalId) -
            items.findIndex((i) => i.proposalId === b.proposalId));
        report.limitsReached = result.limitsReached;
        // Still under the run lock: the earlier pull requests, then the merged self-changes (live-stages.ts).
        const job = {
            options: pushing,
            config,
            policy,
            dryRun: false,
            job: 'publish',
            env,
            secrets,
            github,
            startedAt,
            runDate: bundle.runDate,
            report: { baseSha: bundle.baseSha, config: null },
            guard,
            limitsReached: [],
            commands: [],
            deps: { clock: deps.clock, logger: deps.logger, pullRequestClient: github },
        };
        await (0,_live_stages_js__WEBPACK_IMPORTED_MODULE_21__/* .reconcile */ .Lq)(job, db, bundle.runId);
        report.reconciled = job.report.reconciled ?? [];
        await (0,_live_stages_js__WEBPACK_IMPORTED_MODULE_21__/* .health */ .vK)(job, db, bundle.runId);
        report.reverts = job.report.reverts ?? [];
        report.status = 'success';
        const reconciled = (0,_report_summary_js__WEBPACK_IMPORTED_MODULE_19__/* .reconcileLine */ .R2)(report);
        report.summary =
            `publish: ${items.length} change(s) in the bundle of run #${bundle.runId}, ${result.opened} pull request(s) opened` +
                (reconciled ? `; ${reconciled}` : '') +
                (0,_act_revert_js__WEBPACK_IMPORTED_MODULE_18__/* .revertsSummary */ .kT)(report.reverts);
        deps.logger.info(report.summary);
    }
    catch (err) {
        if (err instanceof _options_js__WEBPACK_IMPORTED_MODULE_1__/* .UsageError */ .eb)
            throw err;
        report.status = 'failed';
        report.error = err instanceof _deps_js__WEBPACK_IMPORTED_MODULE_0__/* .RunInterrupted */ .QB ? err.message : (0,_secrets_js__WEBPACK_IMPORTED_MODULE_2__/* .oneLine */ .TN)(err, secrets);
        report.summary = `publish ${err instanceof PublishRefused ? 'refused' : 'failed'}: ${report.error}`;
        deps.logger.error(report.summary);
    }
    finally {
        guard.dispose();
        if (lock)
            await lock.release().catch(() => undefined);
        if (db)
            await db.close().catch(() => undefined);
    }
    return report;
}
/** A bundle item as the act stage's report (the first job's report, with the checked fields from the bundle). */
function reportOf(item) {
    const first = item.report;
    return {
        ...first,
        id: item.proposalId,
        title: item.title,
        description: item.description,
        type: item.type,
        riskLevel: item.riskLevel,
        computedRisk: item.computedRisk,
        status: 'evaluated',
        verdict: 'allowed',
        blockedReasons: [],
        violations: Array.isArray(first.violations) ? first.violations : [],
        pullRequest: undefined,
        verify: item.verify,
    };
}


/***/ })

};
