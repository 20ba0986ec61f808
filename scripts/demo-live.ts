/**
 * The live part of `npm run demo` (after scripts/demo.sh's dry run): one live run of the real CLI against a
 * LOCAL stand-in for GitHub. Nothing leaves the machine.
 *
 * - "GitHub" is the OpenAPI-validated fake of the tests (__tests__/helpers/github-fake.ts) on 127.0.0.1 and a
 *   random port, serving the repository `demo/agent` from a fresh local bare repository made from the demo
 *   checkout: its `main` is pushed there and it becomes the checkout's `origin`, so the CLI pushes its branch
 *   there with plain git (as it would with the user's credentials to github.com).
 * - The demo's config gets `"dryRunMode": false`, committed first (a live run refuses an uncommitted config).
 * - The real CLI (`bin/self-evolution.js run --live`) runs as a child process with a dummy GITHUB_TOKEN and
 *   GITHUB_API_URL set to the fake: its own GitHub client asks the fake for the activity gate (workflow runs,
 *   deployments), the reflection (failed runs, request issues, earlier pull requests) and the pull request.
 * - Prints the pull request the fake now holds (URL, branch, labels, body), the requests the CLI made, and the
 *   `status` table of every run in the demo's database.
 *
 * Exits 1 unless the run did exactly what the demo's config must do: one draft pull request, for "Fix typos in
 * the docs", its branch in the bare repository changing docs/ only; "Make the system prompt friendlier" held
 * back by pullRequest.maxPerRun (1 by default); the workflow change blocked; both activity gates passed on the
 * fake's answers; and every request matched GitHub's OpenAPI description. So CI proves live mode end to end.
 *
 * Usage: tsx scripts/demo-live.ts <demo checkout>   (needs the devDependencies: `npm install`)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, realpath, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGitHubFake, type GitHubFake } from '../__tests__/helpers/github-fake.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'self-evolution.js');
const CONFIG_PATH = '.github/self-evolution-config.json';
/** The repository the fake serves (the fake answers for it; github.com is never contacted). */
const OWNER = 'demo';
const REPO = 'agent';
/** A dummy token: the fake wants an Authorization header on writes and never checks or stores it. */
const DUMMY_TOKEN = 'dummy-token-for-the-local-fake';

/** What the run must do with the demo's three proposals (see the module docs). */
const EXPECTED = {
  opened: 'Fix typos in the docs',
  heldBack: 'Make the system prompt friendlier',
  blocked: 'Deploy on every push to speed up releases',
  /** The files the opened pull request changes. */
  files: ['docs/guide.md'],
};

interface Result {
  code: number;
  stdout: string;
}

/**
 * Runs a command without blocking the event loop (the fake answers from this process); its stderr goes to
 * ours, its stdout is returned unless `show`, which passes it through too.
 */
function run(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; show?: boolean } = {},
): Promise<Result> {
  return new Promise((done, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', opts.show ? 'inherit' : 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => done({ code: code ?? 1, stdout }));
  });
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await run('git', ['-c', 'user.name=demo', '-c', 'user.email=demo@example.invalid', ...args], {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
  });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed (exit ${r.code})`);
  return r.stdout.trim();
}

function banner(lines: string[]): void {
  const width = Math.max(...lines.map((l) => l.length));
  const rule = '#'.repeat(width + 4);
  console.log([rule, ...lines.map((l) => `# ${l.padEnd(width)} #`), rule].join('\n'));
}

/** The fields of the CLI's --json report the demo reads. */
interface JsonReport {
  status?: string;
  summary?: string;
  gates?: Record<string, { gate: string; outcome: string; reason: string }[]>;
  proposals?: {
    title: string;
    verdict: string;
    pullRequest: {
      state: string;
      number: number | null;
      url: string | null;
      branch: string;
      reason: string | null;
    } | null;
  }[];
}

/** What is wrong with the run, judged from its report, the fake's state and the bare repository. */
async function problemsOf(
  code: number,
  report: JsonReport,
  fake: GitHubFake,
  bare: string,
): Promise<string[]> {
  const problems: string[] = [];
  if (code !== 0) problems.push(`the live run exited ${code}`);
  if (report.status !== 'success')
    problems.push(`the run's status is ${report.status ?? '(no report)'}, not success`);
  for (const [when, gates] of Object.entries(report.gates ?? {})) {
    const activity = gates.find((g) => g.gate === 'activity');
    if (activity?.outcome !== 'pass') {
      problems.push(
        `activity gate (${when}): ${activity?.outcome ?? 'missing'}, not pass on the fake's answers`,
      );
    }
  }
  const proposal = (title: string) => (report.proposals ?? []).find((p) => p.title === title);
  const opened = (report.proposals ?? []).filter((p) => p.pullRequest?.state === 'opened');
  if (opened.length !== 1 || opened[0].title !== EXPECTED.opened) {
    problems.push(
      `expected exactly one pull request opened, for "${EXPECTED.opened}"; the report lists ${JSON.stringify(opened.map((p) => p.title))}`,
    );
  }
  const held = proposal(EXPECTED.heldBack);
  if (held?.verdict !== 'allowed' || !/maxPerRun/.test(held.pullRequest?.reason ?? '')) {
    problems.push(`"${EXPECTED.heldBack}" should be allowed and held back by pullRequest.maxPerRun`);
  }
  if (proposal(EXPECTED.blocked)?.verdict !== 'blocked')
    problems.push(`"${EXPECTED.blocked}" should be blocked`);

  if (fake.pulls.length !== 1) {
    problems.push(`the fake holds ${fake.pulls.length} pull request(s), expected exactly 1`);
  }
  const [pull] = fake.pulls;
  const reported = opened[0]?.pullRequest;
  if (pull && reported) {
    if (pull.number !== reported.number || pull.head !== reported.branch) {
      problems.push(
        `the fake's #${pull.number} (${pull.head}) is not the reported #${reported.number} (${reported.branch})`,
      );
    }
    if (!pull.title.includes(EXPECTED.opened))
      problems.push(`pull request #${pull.number} is titled "${pull.title}"`);
    if (!pull.draft || pull.state !== 'open' || pull.base !== 'main') {
      problems.push(`pull request #${pull.number} should be an open draft against main`);
    }
    const diff = await run('git', [
      '--git-dir',
      bare,
      'diff',
      '--name-only',
      `main...refs/heads/${pull.head}`,
    ]);
    const files = diff.stdout.split('\n').filter(Boolean);
    if (diff.code !== 0 || JSON.stringify(files) !== JSON.stringify(EXPECTED.files)) {
      problems.push(
        `branch ${pull.head} in the bare repository should change ${EXPECTED.files.join(', ')}; it changes ${JSON.stringify(files)}`,
      );
    }
  }
  // The activity gate's and the reflection's reads reached the fake and were answered.
  for (const op of [
    'actions/list-workflow-runs-for-repo',
    'repos/list-deployments',
    'issues/list-for-repo',
  ]) {
    if (!fake.requests.some((r) => r.operationId === op && r.status === 200)) {
      problems.push(`no ${op} request answered 200: the run did not read GitHub through the fake`);
    }
  }
  if (fake.violations.length) {
    problems.push(
      `requests or answers that do not match GitHub's OpenAPI description:\n  - ${fake.violations.join('\n  - ')}`,
    );
  }
  return problems;
}

async function main(): Promise<number> {
  const demo = process.argv[2];
  if (!demo) {
    console.error('usage: tsx scripts/demo-live.ts <demo checkout>');
    return 2;
  }
  const dir = await realpath(demo);

  // 1. "dryRunMode": false, committed; then the bare "origin" with that main.
  const configFile = join(dir, CONFIG_PATH);
  const config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  config.dryRunMode = false;
  await writeFile(configFile, JSON.stringify(config, null, 2) + '\n');
  await git(dir, 'commit', '-q', '-m', 'Live mode: dryRunMode false', '--', CONFIG_PATH);
  const bare = await realpath(await mkdtemp(join(tmpdir(), 'self-evolution-demo-origin.')));
  await git(bare, 'init', '-q', '--bare', '-b', 'main');
  await git(dir, 'remote', 'add', 'origin', bare);
  await git(dir, 'push', '-q', 'origin', 'main');

  // 2. The fake GitHub API, serving demo/agent from the bare repository.
  const fake = await createGitHubFake({
    repositories: [{ owner: OWNER, repo: REPO, bareDir: bare, defaultBranch: 'main' }],
  });
  try {
    console.log('');
    banner([
      'LIVE MODE AGAINST A LOCAL FAKE: nothing here talks to GitHub, nothing leaves this machine.',
      `"GitHub's API" is a LOCAL FAKE at ${fake.url}: the OpenAPI-validated fake of the tests`,
      `(__tests__/helpers/github-fake.ts), serving the made-up repository ${OWNER}/${REPO}.`,
      `"The remote" is a local bare repository: ${bare}`,
      'The token is a dummy; the branch is pushed to that directory with plain git.',
    ]);
    console.log(
      `== ${CONFIG_PATH}: "dryRunMode": false, committed (a live run refuses an uncommitted config)`,
    );
    console.log(`== origin = ${bare} (main pushed)`);
    // No --force: the dry runs above were of local/<directory>, this is the first run of demo/agent today.
    const args = [
      'run',
      '--repo',
      dir,
      '--repository',
      `${OWNER}/${REPO}`,
      '--live',
      '--no-jitter',
      '--json',
    ];
    console.log(`== GITHUB_TOKEN=<dummy> GITHUB_API_URL=${fake.url} self-evolution ${args.join(' ')}`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GITHUB_TOKEN: DUMMY_TOKEN,
      GITHUB_API_URL: fake.url,
      GIT_TERMINAL_PROMPT: '0',
    };
    const started = Date.now();
    const result = await run(process.execPath, [CLI, ...args], { env });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    let report: JsonReport = {};
    try {
      report = JSON.parse(result.stdout) as JsonReport;
    } catch {
      // judged below: no report
    }
    console.log(
      `== the live run took ${seconds} s (exit ${result.code}): ${report.summary ?? '(no JSON report)'}`,
    );

    // 3. What it opened, as the fake holds it.
    for (const p of fake.pulls) {
      console.log(
        `\n== the pull request the run opened (held by the LOCAL FAKE, not on GitHub): #${p.number}`,
      );
      console.log(
        `   url:    https://github.com/${p.owner}/${p.repo}/pull/${p.number}  (the fake's html_url: no such page exists)`,
      );
      console.log(`   api:    ${fake.url}/repos/${p.owner}/${p.repo}/pulls/${p.number}`);
      console.log(`   title:  ${p.title}`);
      console.log(
        `   draft:  ${p.draft ? 'yes' : 'no'}; ${p.head} -> ${p.base}; labels: ${p.labels.join(', ') || '(none)'}`,
      );
      console.log(`   body:`);
      console.log((p.body ?? '(empty)').replace(/^/gm, '   | '));
    }
    const operations = new Map<string, number>();
    for (const r of fake.requests) {
      const key = `${r.method} ${r.operationId ?? r.path} -> ${r.status}`;
      operations.set(key, (operations.get(key) ?? 0) + 1);
    }
    console.log(`\n== the CLI's ${fake.requests.length} requests to the fake (operation -> status, count)`);
    for (const [key, n] of operations) console.log(`   ${key}${n > 1 ? `  x${n}` : ''}`);

    console.log(`\n== self-evolution status --repo ${dir} --all`);
    const status = await run(process.execPath, [CLI, 'status', '--repo', dir, '--all'], { env, show: true });

    const problems = await problemsOf(result.code, report, fake, bare);
    if (status.code !== 0) problems.push(`status exited ${status.code}`);
    if (problems.length) {
      console.error(`\ndemo: the live run did not do what the demo expects:\n- ${problems.join('\n- ')}`);
      return 1;
    }
    console.log(
      `\n== live run OK: 1 draft pull request opened in the LOCAL FAKE (its branch in ${bare}); ` +
        `"${EXPECTED.heldBack}" held back by pullRequest.maxPerRun (1)`,
    );
    return 0;
  } finally {
    await fake.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
