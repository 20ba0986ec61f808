/**
 * The rails' view of the config, and the engine's fixed defaults.
 *
 * policyFromConfig() copies the settings evaluate() reads out of config.safetyRails, config.wildcardFeature and
 * config.prTemplateConfig into a plain, deeply frozen RailsPolicy, so the rails depend on a small data object,
 * not on the config file's shape (other tools can build a RailsPolicy themselves).
 *
 * The constants below are the rails' defaults. Some are config defaults (src/config/schema.ts
 * imports them: test paths, dependency paths, change-type paths, file kinds); the others are NOT configurable
 * in this version (policy file path, self-protected paths, forbidden commands, command paths, secret paths,
 * entropy thresholds, the risk rubric, protected branches, wildcards per day): they are constants here, read
 * from the policy by the rules, and documented in docs/rails.md.
 */
import { escape } from 'minimatch';
import { TEXT_EXTENSIONS } from './file-kind.js';
import { DEFAULT_FORBIDDEN_COMMANDS } from './rules/commands.js';
import type { RailsPolicy, RiskRubric } from './types.js';

/** Freezes `value` and everything reachable from it (plain data only). Returns it. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The config file the loop reads by default (`.github/self-evolution-config.json`). */
export const DEFAULT_POLICY_PATH = '.github/self-evolution-config.json';

/** One self-protected glob and why it is protected (shown in messages and in docs/rails.md). */
export interface ProtectedPath {
  readonly glob: string;
  readonly why: string;
}

/**
 * Self-protected paths of EVERY repository, besides the policy file itself (only a
 * human changes the machinery and its policy): what decides how changes are reviewed and what a
 * workflow runs. Only a human override lets a change touch them. Matched like every list that catches
 * something (case-insensitive, a glob without `/` at any depth, non-ASCII paths also on their folded
 * confusable skeleton), at every name a file has through the base's symbolic links.
 *
 * The rule (docs/rails.md "Self-protection"): the loop may not change the machinery that judges, reviews or
 * runs it. In every repository that is the policy file, everything GitHub reads from `.github/` (workflows,
 * local actions, CODEOWNERS, templates, settings), the metadata of any action (`action.yml`/`action.yaml`,
 * root or local: it names the code a step runs), CODEOWNERS and the pull request template wherever GitHub
 * reads them (root, `docs/`, `.github/`), committed build output (`dist/`: what a JavaScript action runs)
 * and the rails' own code. In the repository that hosts Self-Evolution itself, the files the running action
 * and the CLI are built from come on top ({@link SELF_HOSTED_PROTECTED}).
 */
export const SELF_PROTECTED: readonly ProtectedPath[] = deepFreeze([
  {
    glob: '.github/**',
    why: 'GitHub reads workflows, local actions, CODEOWNERS, templates and repository settings from .github/',
  },
  {
    glob: '**/action.yml',
    why: "an action's metadata (the root one of an action repository, or a local action): the code a workflow step runs",
  },
  {
    glob: '**/action.yaml',
    why: "an action's metadata (the root one of an action repository, or a local action): the code a workflow step runs",
  },
  {
    glob: '**/CODEOWNERS',
    why: 'who must review a change (GitHub reads it from the root, docs/ and .github/)',
  },
  {
    glob: '**/PULL_REQUEST_TEMPLATE/**',
    why: 'pull request templates and their review checklist (GitHub reads them from the root, docs/ and .github/)',
  },
  {
    glob: '**/pull_request_template.*',
    why: 'the pull request template and its review checklist (GitHub reads it from the root, docs/ and .github/)',
  },
  {
    glob: 'dist/**',
    why: 'committed build output: what a JavaScript action runs (rebuild it, never edit it)',
  },
  { glob: 'src/rails/**', why: "the rails' own code" },
]);

/**
 * Self-protected paths added in the repository that HOSTS Self-Evolution (there the rails
 * can be switched off by editing the check, the facts, the config schema, the bundle or the build): the files
 * the running action (action.yml -> dist/index.js, built by `npm run build` from src/) and the CLI
 * (bin/self-evolution.js) are built from, as far as they decide verdicts, record them or act on them.
 * `policyFromConfig(config, { hostsSelfEvolution: true })` adds them; the caller decides from the BASE commit
 * (`check` does when the base's root package.json is named `self-evolution`), so a change cannot opt out.
 * Kept out of other repositories, where `src/index.ts`, `package.json` or `scripts/` are ordinary files.
 */
export const SELF_HOSTED_PROTECTED: readonly ProtectedPath[] = deepFreeze([
  { glob: 'bin/**', why: "the CLI's entry point" },
  {
    glob: 'package.json',
    why: 'its scripts build and run the action, its dependencies are bundled into dist/',
  },
  { glob: 'package-lock.json', why: 'the exact dependencies bundled into dist/' },
  { glob: 'tsconfig*.json', why: 'how the sources compile into the bundle' },
  { glob: 'scripts/**', why: 'build and generator scripts (gen:sql inlines the migrations into the bundle)' },
  { glob: 'sql/**', why: 'migrations, inlined into the bundle' },
  { glob: 'jest.config.*', why: 'which tests CI runs before a change can merge' },
  { glob: 'eslint.config.*', why: 'the lint rule that keeps src/rails/ pure' },
  { glob: 'src/check.ts', why: 'the check pipeline: config, facts, context, verdict' },
  { glob: 'src/git/**', why: 'the facts the rails judge by' },
  { glob: 'src/config/**', why: 'the config schema, its defaults and its loading' },
  { glob: 'src/run.ts', why: 'the pipeline that calls the rails before anything acts' },
  { glob: 'src/act/**', why: 'what acts: branches, pull requests, the PR gate' },
  { glob: 'src/gates/**', why: 'feature flag, cooldown, circuit breaker' },
  { glob: 'src/github/**', why: 'the one GitHub client: token, rate limits, redaction of API errors' },
  {
    glob: 'src/sandbox/**',
    why: 'the sandbox, scrubbed environment, command policy and time limits of the commands a run starts',
  },
  { glob: 'src/propose/command.ts', why: 'how an agent command is run, sealed and read back' },
  { glob: 'src/secrets.ts', why: 'what counts as a secret of a run, and its masking' },
  { glob: 'src/store/**', why: 'the audit trail: runs, proposals, verdicts' },
  { glob: 'src/action.ts', why: 'the action adapter: inputs, the gate mode' },
  { glob: 'src/index.ts', why: 'the entry point of the bundle' },
  { glob: 'src/cli.ts', why: 'the CLI adapter: flags such as --allow-policy-edits' },
  { glob: 'src/options.ts', why: 'the options object every adapter builds' },
]);

/** The globs of {@link SELF_PROTECTED} (every repository; the policy file comes on top). */
export const DEFAULT_SELF_PROTECTED_PATHS: readonly string[] = deepFreeze(SELF_PROTECTED.map((e) => e.glob));

/** The globs of {@link SELF_HOSTED_PROTECTED} (the repository hosting Self-Evolution). */
export const SELF_HOSTED_PROTECTED_PATHS: readonly string[] = deepFreeze(
  SELF_HOSTED_PROTECTED.map((e) => e.glob),
);

/** Why `glob` is self-protected, from the two lists above; undefined for a glob neither lists. */
export function protectedBecause(glob: string): string | undefined {
  return (
    SELF_PROTECTED.find((e) => e.glob === glob)?.why ??
    SELF_HOSTED_PROTECTED.find((e) => e.glob === glob)?.why
  );
}

/**
 * Test files (changing one needs a human's approval): `__tests__` directories, `*.test.*` and
 * `*.spec.*` files, top-level `test/`, `tests/` and `spec/`, Python `test_*.py` and Go `*_test.go`.
 * Config: safetyRails.testPaths.
 */
export const DEFAULT_TEST_PATHS: readonly string[] = deepFreeze([
  '**/__tests__/**',
  '**/*.test.*',
  '**/*.spec.*',
  'test/**',
  'tests/**',
  '**/test_*.py',
  '**/*_test.go',
  'spec/**',
]);

/**
 * Dependency manifests and lockfiles at any depth (blocked unless
 * safetyRails.allowDependencyChanges). npm/pnpm/yarn/bun, Python (pip, pipenv, poetry, uv, PEP 621), Go, Rust,
 * Ruby, PHP, .NET, Java (Maven, Gradle), Swift, Dart, Elixir, Deno. Config: safetyRails.dependencyPaths.
 */
export const DEFAULT_DEPENDENCY_PATHS: readonly string[] = deepFreeze([
  '**/package.json',
  '**/package-lock.json',
  '**/npm-shrinkwrap.json',
  '**/pnpm-lock.yaml',
  '**/pnpm-workspace.yaml',
  '**/yarn.lock',
  '**/bun.lock',
  '**/bun.lockb',
  '**/requirements*.txt',
  '**/requirements/*.txt',
  '**/constraints*.txt',
  '**/Pipfile',
  '**/Pipfile.lock',
  '**/poetry.lock',
  '**/pyproject.toml',
  '**/uv.lock',
  '**/setup.py',
  '**/setup.cfg',
  '**/go.mod',
  '**/go.sum',
  '**/go.work',
  '**/go.work.sum',
  '**/Cargo.toml',
  '**/Cargo.lock',
  '**/Gemfile',
  '**/Gemfile.lock',
  '**/*.gemspec',
  '**/composer.json',
  '**/composer.lock',
  '**/*.csproj',
  '**/*.fsproj',
  '**/*.vbproj',
  '**/packages.config',
  '**/packages.lock.json',
  '**/Directory.Packages.props',
  '**/pom.xml',
  '**/build.gradle',
  '**/build.gradle.kts',
  '**/gradle.lockfile',
  '**/Package.swift',
  '**/Package.resolved',
  '**/pubspec.yaml',
  '**/pubspec.lock',
  '**/mix.exs',
  '**/mix.lock',
  '**/deno.json',
  '**/deno.jsonc',
  '**/deno.lock',
]);

/**
 * What each change type may touch (only persona or prompt changes). A wildcard
 * change of kind `wildcardOf` may only touch paths matching `changeTypePaths[wildcardOf]`. Config:
 * wildcardFeature.changeTypePaths (replaces this default as a whole).
 */
export const DEFAULT_CHANGE_TYPE_PATHS: Readonly<Record<string, readonly string[]>> = deepFreeze({
  prompt: ['**/prompts/**'],
  persona: ['**/persona/**'],
});

/**
 * File kinds (symlinks, submodules, binary and executable files, `.gitattributes` files and minified lines): all blocked by default.
 * Config: safetyRails.fileKinds.
 */
export const DEFAULT_FILE_KINDS: Readonly<RailsPolicy['fileKinds']> = deepFreeze({
  allowSymlinks: false,
  allowSubmodules: false,
  allowBinary: false,
  allowExecutable: false,
  allowGitAttributes: false,
  allowMinified: false,
});

/**
 * Size that lines do not measure: at most 256 KiB (262,144 bytes) of added content per
 * change, and no added line longer than 1,000 characters (longer ones are minified or generated content).
 * Config: safetyRails.diffCaps.maxBytesChanged and maxLineLength.
 */
export const DEFAULT_SIZE_LIMITS = deepFreeze({ maxBytesChanged: 256 * 1024, maxLineLength: 1000 });

/**
 * Files named like secrets: blocked even when empty, unless a `DEFAULT_NOT_SECRET_PATHS`
 * glob says the file is code, or a `DEFAULT_ENV_TEMPLATE_PATHS` glob says it is an env template (judged by
 * its values instead). Matched case-insensitively, at any depth. Not configurable. Besides keys and
 * certificates: dotenv files, `credentials` files (AWS's shared credentials file `~/.aws/credentials`, gcloud's
 * and others), git's credential store `.git-credentials` (git-credential-store), PostgreSQL's password file
 * `.pgpass`, Apache's `.htpasswd`, Docker's client config `.dockercfg` / `.docker/config.json` (registry
 * auths), npm's `.npmrc`, PyPI's `.pypirc`, `.netrc`, PuTTY keys `*.ppk`, Java keystores `*.jks`, Kerberos
 * `*.keytab`, KeePass `*.kdbx`.
 */
export const DEFAULT_SECRET_PATHS: readonly string[] = deepFreeze([
  '**/.env',
  '**/.env.*',
  '**/*.pem',
  '**/*.key',
  '**/id_rsa*',
  '**/id_ed25519*',
  '**/id_dsa*',
  '**/id_ecdsa*',
  '**/credentials',
  '**/credentials.*',
  '**/.credentials',
  '**/.git-credentials',
  '**/.pgpass',
  '**/.htpasswd',
  '**/.dockercfg',
  '**/.docker/config.json',
  '**/*.p12',
  '**/*.pfx',
  '**/*.ppk',
  '**/*.jks',
  '**/*.keystore',
  '**/*.keytab',
  '**/*.kdbx',
  '**/.npmrc',
  '**/.pypirc',
  '**/.netrc',
]);

/**
 * Extensions of source code (`src/credentials.ts` is code about credentials, not a secret
 * store). Shell scripts are not among them: a `credentials.sh` usually exports the secrets themselves.
 */
const CODE_EXTENSIONS =
  '{ts,tsx,mts,cts,js,jsx,mjs,cjs,py,pyi,go,rb,java,kt,kts,scala,groovy,cs,fs,vb,php,rs,swift,m,mm,c,h,cc,cpp,cxx,hpp,dart,ex,exs,erl,clj,cljs,lua,pl,pm,r,jl,zig,nim,vue,svelte,elm,hs,ml}';

/**
 * Paths a `DEFAULT_SECRET_PATHS` glob catches that are source code, not secret stores: `credentials.<code
 * extension>` and `credentials.<anything>.<code extension>` (`credentials.ts`, `credentials.test.ts`,
 * `credentials.d.ts`). Their content is still scanned like any other file's. Case-insensitive, any depth.
 */
export const DEFAULT_NOT_SECRET_PATHS: readonly string[] = deepFreeze([
  `**/credentials.${CODE_EXTENSIONS}`,
  `**/credentials.*.${CODE_EXTENSIONS}`,
]);

/**
 * Env templates: `.env.example`, `.env.sample`, `.env.template`, `.env.dist`, also after
 * another suffix (`.env.local.example`). Not blocked for their name: `secret-file` reads their values and
 * blocks the file only when one looks like a secret (a known format, a secret-like name with a real-looking
 * value, or a high-entropy value). `.env`, `.env.local`, `.env.production` and every other `.env.*` stay
 * blocked whatever they hold. Case-insensitive, any depth.
 */
export const DEFAULT_ENV_TEMPLATE_PATHS: readonly string[] = deepFreeze([
  '**/.env.{example,sample,template,dist}',
  '**/.env.*.{example,sample,template,dist}',
]);

/**
 * High-entropy assignment detection: a value of at least `minLength` characters with at
 * least `minBitsPerChar` bits of Shannon entropy per character. Not configurable.
 */
export const DEFAULT_SECRET_ENTROPY: Readonly<RailsPolicy['secretEntropy']> = deepFreeze({
  minLength: 20,
  minBitsPerChar: 3.5,
});

/**
 * Command files: what runs on a developer's or CI's machine. Their changed
 * logical lines (and their whole text when a file newly becomes one) are checked for forbidden commands.
 * Shell and PowerShell scripts and batch files; CI and task files (GitHub workflows and local actions, GitLab,
 * CircleCI, Azure, Bitbucket, Travis, AppVeyor, Drone, Buildkite, Cloud Build, Jenkins, Taskfile, lefthook,
 * pre-commit, husky and other git hooks); containers (Dockerfile, Containerfile, Earthfile); make and its kin
 * (Makefile, makefile, GNUmakefile, *.mk, justfile, *.just, Rakefile, *.rake, Procfile); manifests with
 * scripts (package.json, composer.json, deno.json, devcontainer.json, .vscode/tasks.json); Python and JS
 * files that tools run by name (conftest.py, setup.py, noxfile.py, fabfile.py, dodo.py, gulpfile, Gruntfile,
 * Jakefile), Vagrantfile, direnv's .envrc, tox.ini. Besides these, a file with a `#!` first line or an
 * executable mode is a command file whatever its name, and source code's process-running calls are read in
 * every file. Not configurable.
 */
export const DEFAULT_COMMAND_PATHS: readonly string[] = deepFreeze([
  '**/*.sh',
  '**/*.bash',
  '**/*.zsh',
  '**/*.ksh',
  '**/*.fish',
  '**/*.ps1',
  '**/*.psm1',
  '**/*.bat',
  '**/*.cmd',
  '.github/workflows/**',
  '.github/actions/**',
  '**/action.yml',
  '**/action.yaml',
  '**/.gitlab-ci.yml',
  '**/.gitlab-ci/**',
  '.circleci/**',
  '**/azure-pipelines.yml',
  '**/bitbucket-pipelines.yml',
  '**/.travis.yml',
  '**/appveyor.yml',
  '**/.drone.yml',
  '.buildkite/**',
  '**/cloudbuild.yaml',
  '**/Jenkinsfile',
  '**/Taskfile.yml',
  '**/Taskfile.yaml',
  '**/lefthook.yml',
  '**/lefthook-local.yml',
  '**/.lefthook.yml',
  '**/.pre-commit-config.yaml',
  '**/.pre-commit-hooks.yaml',
  '.husky/**',
  '**/.githooks/**',
  '**/.git-hooks/**',
  '**/Dockerfile*',
  '**/*.dockerfile',
  '**/Containerfile*',
  '**/*.containerfile',
  '**/Earthfile',
  '**/Makefile',
  '**/GNUmakefile',
  '**/*.mk',
  '**/*.make',
  '**/justfile',
  '**/.justfile',
  '**/*.just',
  '**/Rakefile',
  '**/*.rake',
  '**/Procfile',
  '**/package.json',
  '**/composer.json',
  '**/deno.json',
  '**/deno.jsonc',
  '**/.devcontainer/**',
  '**/.devcontainer.json',
  '**/.vscode/tasks.json',
  '**/conftest.py',
  '**/setup.py',
  '**/noxfile.py',
  '**/fabfile.py',
  '**/dodo.py',
  '**/gulpfile.*',
  '**/Gruntfile.*',
  '**/Jakefile*',
  '**/Vagrantfile',
  '**/.envrc',
  '**/tox.ini',
]);

/**
 * Forbidden commands: written and tested
 * with their rule in src/rails/rules/commands.ts, re-exported here with the other defaults. Not configurable.
 */
export { DEFAULT_FORBIDDEN_COMMANDS };

/**
 * The risk rubric (risk computed from what is touched, on the scale 0-5;
 * 13). What a file IS decides before where it is: a file that is (or becomes) executable, or starts with a
 * `#!` line naming a shell, gets at least `executableRisk` 4; the low-risk entries (prompts 1, documentation
 * 0) are `textOnly`: they apply only to text kinds (TEXT_EXTENSIONS of rails/file-kind.ts: Markdown, plain
 * text, reStructuredText, AsciiDoc, YAML/JSON/TOML data, prompt templates; or no extension) without a `#!`
 * line or an executable mode, so `prompts/loader.js` is source code (2), not a prompt (1).
 * Then each touched path (both sides of a rename) gets the risk of the FIRST applicable entry whose glob
 * matches (catch mode: case-insensitive, a glob without `/` matches the name at any depth), else `defaultRisk`
 * 2 (source code). The order matters:
 * 1. 4: scripts and executables by name, `bin/`, direnv's `.envrc`, migrations and SQL (they run with
 *    privileges);
 * 2. 3: CI, tests, dependency manifests and lockfiles, build files and files tools run by name (conftest.py,
 *    noxfile.py, Vagrantfile, justfile, gulpfile, hook managers' configs) (they decide what is checked, run
 *    and shipped);
 * 3. 1: prompts, persona and agent instruction files, text kinds only (low risk; before docs so a
 *    prompt in Markdown is 1, after 1-2 so a script or a test under prompts/ is not);
 * 4. 0: documentation text (Markdown, reStructuredText, AsciiDoc, plain text), text kinds only. Not all of
 *    `docs/**`: a docs directory also holds code (Sphinx conf.py, site generators);
 * 5. 4: authentication code: a directory or file name with `auth` that is not a word about authors (author,
 *    authors, authored, authoring, authorship: the `require` pattern `auth(?!or(?!i[sz]|it))`, so authorize,
 *    authorise and authority still count), `login`, `oauth`, `authn`, `authz`, `sso`, `saml`, `oidc`, `jwt`;
 *    after docs so a page about OAuth stays 0;
 * 6. 3: configuration by extension (JSON, YAML, TOML, INI, `*.config.*`, tsconfig, dotfiles).
 * The change's computed risk is its highest file risk plus 1 from 200 added + deleted lines, capped at 5. Not
 * configurable in this version.
 */
export const DEFAULT_RISK_RUBRIC: RiskRubric = deepFreeze({
  paths: [
    ...[
      '**/*.sh',
      '**/*.bash',
      '**/*.zsh',
      '**/*.ksh',
      '**/*.fish',
      '**/*.ps1',
      '**/*.psm1',
      '**/*.bat',
      '**/*.cmd',
      '**/*.exe',
      '**/*.dll',
      '**/*.so',
      '**/*.dylib',
      'bin/**',
      'scripts/**',
      '.husky/**',
      '**/.git-hooks/**',
      '**/.githooks/**',
      '**/.envrc',
    ].map((glob) => ({ glob, risk: 4, label: 'script or executable' })),
    ...['**/migrations/**', '**/migration/**', 'sql/**', '**/*.sql'].map((glob) => ({
      glob,
      risk: 4,
      label: 'database migration or SQL',
    })),
    ...[
      '.github/**',
      '**/.gitlab-ci.yml',
      '.circleci/**',
      '**/Jenkinsfile',
      '**/azure-pipelines.yml',
      '.buildkite/**',
      '**/bitbucket-pipelines.yml',
      '**/.travis.yml',
      '**/appveyor.yml',
      '**/.drone.yml',
      '**/cloudbuild.yaml',
      '**/action.yml',
      '**/action.yaml',
    ].map((glob) => ({ glob, risk: 3, label: 'CI' })),
    ...DEFAULT_TEST_PATHS.map((glob) => ({ glob, risk: 3, label: 'test' })),
    ...DEFAULT_DEPENDENCY_PATHS.map((glob) => ({ glob, risk: 3, label: 'dependency manifest or lockfile' })),
    ...[
      '**/Dockerfile*',
      '**/*.dockerfile',
      '**/Containerfile*',
      '**/*.containerfile',
      '**/Earthfile',
      '**/docker-compose*.yml',
      '**/docker-compose*.yaml',
      '**/compose.yml',
      '**/compose.yaml',
      '**/Makefile',
      '**/GNUmakefile',
      '**/*.mk',
      '**/*.make',
      '**/CMakeLists.txt',
      '**/*.cmake',
      '**/Rakefile',
      '**/*.rake',
      '**/Justfile',
      '**/.justfile',
      '**/*.just',
      '**/Taskfile.yml',
      '**/Taskfile.yaml',
      '**/Procfile',
      '**/conftest.py',
      '**/noxfile.py',
      '**/fabfile.py',
      '**/dodo.py',
      '**/gulpfile.*',
      '**/Gruntfile.*',
      '**/Jakefile*',
      '**/Vagrantfile',
      '**/tox.ini',
      '**/lefthook.yml',
      '**/lefthook-local.yml',
      '**/.lefthook.yml',
      '**/.pre-commit-config.yaml',
      '**/.pre-commit-hooks.yaml',
      '**/.devcontainer/**',
      '**/.devcontainer.json',
      '**/.vscode/tasks.json',
      '**/.gitmodules',
      '**/.gitattributes',
    ].map((glob) => ({ glob, risk: 3, label: 'build or container' })),
    ...[
      '**/prompts/**',
      '**/persona/**',
      '**/*.prompt.md',
      '**/AGENTS.md',
      '**/CLAUDE.md',
      '**/GEMINI.md',
      '**/.cursorrules',
    ].map((glob) => ({ glob, risk: 1, label: 'prompt or persona', textOnly: true })),
    ...[
      '**/*.md',
      '**/*.mdx',
      '**/*.markdown',
      '**/*.rst',
      '**/*.adoc',
      '**/*.txt',
      '**/AUTHORS',
      '**/LICENSE',
      '**/LICENCE',
      '**/NOTICE',
      '**/COPYING',
      '**/CHANGELOG',
    ].map((glob) => ({
      glob,
      risk: 0,
      label: 'documentation',
      textOnly: true,
    })),
    ...['**/*auth*/**', '**/*auth*'].map((glob) => ({
      glob,
      risk: 4,
      label: 'authentication',
      require: 'auth(?!or(?!i[sz]|it))',
    })),
    ...[
      '**/login/**',
      '**/login',
      '**/login.*',
      '**/login[-_]*',
      '**/*[-_]login',
      '**/*[-_]login.*',
      '**/*[-_]login[-_]*',
      '**/signin/**',
      '**/signin.*',
      '**/sso/**',
      '**/sso.*',
      '**/saml/**',
      '**/*saml*.*',
      '**/oidc/**',
      '**/*oidc*.*',
      '**/*jwt*',
    ].map((glob) => ({ glob, risk: 4, label: 'authentication' })),
    ...[
      '**/*.config.*',
      '**/tsconfig*.json',
      '**/*.json',
      '**/*.jsonc',
      '**/*.json5',
      '**/*.yml',
      '**/*.yaml',
      '**/*.toml',
      '**/*.ini',
      '**/*.cfg',
      '**/*.conf',
      '**/*.properties',
      '**/*.xml',
      '**/.*rc',
      '**/.*rc.*',
      '**/.editorconfig',
      '**/.gitignore',
      '**/.dockerignore',
      '**/.npmignore',
      '**/.env*',
    ].map((glob) => ({ glob, risk: 3, label: 'configuration' })),
  ],
  defaultRisk: 2,
  executableRisk: 4,
  textExtensions: TEXT_EXTENSIONS,
  size: [{ minLines: 200, add: 1 }],
});

/** Branches never targeted: always protected, whatever the policy says. */
export const PROTECTED_BRANCHES: readonly string[] = deepFreeze(['main', 'master', 'production', 'deploy']);

/** Wildcard changes allowed per repository per UTC day ("one small, reversible change per day"). */
export const WILDCARD_PER_DAY = 1;

/**
 * The settings of the config file policyFromConfig reads (config/schema.ts: safetyRails, wildcardFeature,
 * prTemplateConfig), as a structural type of the rails' own, so this module imports nothing from config/: the
 * validated config (the zod schema's output) is one, and other tools can build one without the schema.
 */
export interface PolicyConfig {
  readonly safetyRails: {
    readonly diffCaps: {
      readonly maxLinesOfCode: number;
      readonly maxFilesChanged: number;
      readonly maxBytesChanged: number;
      readonly maxLineLength: number;
    };
    readonly allowedPaths: readonly string[];
    readonly blockedPaths: readonly string[];
    readonly allowedChangeTypes: readonly string[];
    readonly maxRiskLevel: number;
    readonly fileKinds: Readonly<RailsPolicy['fileKinds']>;
    readonly testPaths: readonly string[];
    readonly dependencyPaths: readonly string[];
    readonly allowDependencyChanges: boolean;
  };
  readonly wildcardFeature: {
    readonly enabled: boolean;
    readonly maxRiskLevel: number;
    readonly allowedTypes: readonly string[];
    /** Globs per change type; a type without an entry has none. */
    readonly changeTypePaths: { readonly [type: string]: readonly string[] | undefined };
  };
  readonly prTemplateConfig: { readonly branchPrefix: string };
}

/** Options of policyFromConfig. */
export interface PolicyOptions {
  /**
   * The config file the run used, relative to the repository root (default DEFAULT_POLICY_PATH). It is
   * self-protected (rule 9) and compared before/after by `policy-loosened`.
   */
  policyPath?: string;
  /**
   * True when the repository is the one hosting Self-Evolution itself (decided by the caller from the BASE
   * commit, e.g. its root package.json is named `self-evolution`): the files the running action is built
   * from (SELF_HOSTED_PROTECTED_PATHS) are self-protected too. Default false.
   */
  hostsSelfEvolution?: boolean;
}

/** `path` as a literal minimatch glob (magic characters and braces escaped), for the self-protected list. */
function literalGlob(path: string): string {
  return escape(path, { magicalBraces: true });
}

/**
 * Builds the RailsPolicy of a validated config (after environment overrides), deeply frozen; arrays are
 * copies, so the policy cannot be changed through the config or the other way round. Defaults: the v0 config file
 * (maxFilesChanged 10, maxLinesOfCode 500, maxRiskLevel 2, wildcard off, wildcard maxRiskLevel 1, one wildcard
 * a day), the earlier self-upgrade rules (protected branches, forbidden commands, test paths) and the constants of this
 * module. `options.policyPath` (a leading `./` is dropped) heads the self-protected paths; with
 * `options.hostsSelfEvolution` the SELF_HOSTED_PROTECTED_PATHS follow the DEFAULT_SELF_PROTECTED_PATHS.
 */
export function policyFromConfig(config: PolicyConfig, options: PolicyOptions = {}): RailsPolicy {
  const rails = config.safetyRails;
  const wildcard = config.wildcardFeature;
  const policyPath = (options.policyPath ?? DEFAULT_POLICY_PATH).replace(/^(?:\.\/)+/, '');
  const changeTypePaths: Record<string, string[]> = {};
  for (const [type, globs] of Object.entries(wildcard.changeTypePaths)) {
    if (globs !== undefined) changeTypePaths[type] = [...globs];
  }
  return deepFreeze({
    allowedPaths: [...rails.allowedPaths],
    blockedPaths: [...rails.blockedPaths],
    maxFilesChanged: rails.diffCaps.maxFilesChanged,
    maxLinesOfCode: rails.diffCaps.maxLinesOfCode,
    maxBytesChanged: rails.diffCaps.maxBytesChanged,
    maxLineLength: rails.diffCaps.maxLineLength,
    allowedChangeTypes: [...rails.allowedChangeTypes],
    maxRiskLevel: rails.maxRiskLevel,
    wildcard: {
      enabled: wildcard.enabled,
      maxRiskLevel: wildcard.maxRiskLevel,
      allowedTypes: [...wildcard.allowedTypes],
      perDay: WILDCARD_PER_DAY,
    },
    changeTypePaths,
    fileKinds: { ...rails.fileKinds },
    testPaths: [...rails.testPaths],
    dependencyPaths: [...rails.dependencyPaths],
    allowDependencyChanges: rails.allowDependencyChanges,
    secretPaths: DEFAULT_SECRET_PATHS,
    notSecretPaths: DEFAULT_NOT_SECRET_PATHS,
    envTemplatePaths: DEFAULT_ENV_TEMPLATE_PATHS,
    secretEntropy: DEFAULT_SECRET_ENTROPY,
    commandPaths: DEFAULT_COMMAND_PATHS,
    forbiddenCommands: DEFAULT_FORBIDDEN_COMMANDS,
    policyPath,
    selfProtectedPaths: [
      literalGlob(policyPath),
      ...DEFAULT_SELF_PROTECTED_PATHS,
      ...(options.hostsSelfEvolution === true ? SELF_HOSTED_PROTECTED_PATHS : []),
    ],
    riskRubric: DEFAULT_RISK_RUBRIC,
    branchPrefix: config.prTemplateConfig.branchPrefix,
    protectedBranches: PROTECTED_BRANCHES,
  });
}
