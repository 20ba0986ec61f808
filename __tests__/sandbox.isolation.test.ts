/**
 * What the sandbox (issue #8) changes and what it must not, on both mechanisms, through the real command
 * proposer:
 *
 * - an honest agent (an edit; an edit that commits) proposes the same change with the sandbox as without;
 * - network: "none" cannot reach a TCP server of the test on 127.0.0.1, "on" can (and a command's own setting
 *   wins over the run's); without a sandbox it is always on (the control).
 *
 * The checks and timeouts are in sandbox.checks.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CommandProposerSchema, type CommandProposerConfig } from '../src/config/schema.js';
import { headSha } from '../src/git/git.js';
import { createCommandProposer, type CommandProvenance } from '../src/propose/command.js';
import type { Proposal, ProposerResult } from '../src/propose/types.js';
import { chooseSandbox, type SandboxMechanism } from '../src/sandbox/mechanism.js';
import { planSandbox } from '../src/sandbox/plan.js';
import type { SandboxPlan } from '../src/sandbox/runner.js';
import type { TempRepo } from './helpers/git-repo.js';
import {
  eachMechanism,
  fixture,
  makeCanaries,
  makeTargetRepo,
  proposerContext,
  randomHex,
  sandboxTools,
  startListener,
  type Canaries,
  type Listener,
} from './sandbox.helpers.js';
import { visibleFixtures } from './helpers/fixtures.js';

const TOOLS = await sandboxTools();
const AGENTS = visibleFixtures('agents');

let repo: TempRepo;
let base: string;
let home: string;
let canaries: Canaries;
let listener: Listener;
const marks: string[] = [];

beforeAll(async () => {
  canaries = makeCanaries();
  repo = await makeTargetRepo({
    'docs/guide.md': '# Guide\n\nteh weather, teh forecast\n',
    'README.md': 'hello\n',
  });
  await repo.git(
    'config',
    'http.https://github.com/.extraheader',
    `AUTHORIZATION: basic ${canaries.checkout}`,
  );
  base = await headSha(repo.dir);
  home = await mkdtemp(join(repo.dir, '..', 'se-sbx-home-'));
  listener = await startListener();
});
afterAll(async () => {
  await listener?.close();
  if (home) await rm(home, { recursive: true, force: true });
  await repo?.cleanup();
});

/** A fresh marker for the command lines of what an agent starts. */
function freshMark(): string {
  const mark = `semark${randomHex(6)}`;
  marks.push(mark);
  return mark;
}

/** The environment given to proposers and checks: canaries with secret names, and what agents are told. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    LANG: 'C',
    ...canaries.env,
    SE_TARGET: repo.dir,
    SE_PORT: String(listener.port),
    ...extra,
  };
}

/** The run's sandbox for `mechanism` (planSandbox, the real chooseSandbox) with the given default network. */
async function planFor(mechanism: SandboxMechanism, network: 'on' | 'none'): Promise<SandboxPlan> {
  const decision = await planSandbox(
    { mode: mechanism, network, hidePaths: [] },
    { repoDir: repo.dir, env: env() },
    chooseSandbox,
  );
  if (!decision.ok) throw new Error(decision.message);
  return decision.plan;
}

/** Runs `command` through the command proposer, in the sandbox `plan` when given. */
function propose(
  command: string,
  plan: SandboxPlan | undefined,
  cfg: Partial<CommandProposerConfig> = {},
  extraEnv: Record<string, string> = {},
): Promise<ProposerResult> {
  return createCommandProposer(
    CommandProposerSchema.parse({ kind: 'command', name: 'agent', command, ...cfg }),
    { env: env(extraEnv), ...(plan ? { sandbox: plan } : {}) },
  ).propose(proposerContext(repo.dir, base));
}

/** The provenance of the first proposal or failure. */
function provenanceOf(r: ProposerResult): CommandProvenance {
  return (r.proposals[0]?.provenance ?? r.failures[0]!.provenance) as CommandProvenance;
}

/** The result of `command` without a sandbox, run once per command for both mechanisms. */
const bareResults = new Map<string, Promise<ProposerResult>>();
function bareResult(command: string): Promise<ProposerResult> {
  let r = bareResults.get(command);
  if (r === undefined) {
    r = propose(command, undefined);
    bareResults.set(command, r);
  }
  return r;
}

/** What must not depend on the sandbox: the change and its metadata, and what the agent printed. */
function essence(r: ProposerResult): Record<string, unknown> {
  expect(r.failures.map((f) => f.error)).toEqual([]);
  expect(r.proposals).toHaveLength(1);
  const p: Proposal = r.proposals[0]!;
  const prov = p.provenance as CommandProvenance;
  return {
    title: p.title,
    description: p.description,
    type: p.type,
    riskLevel: p.riskLevel,
    effort: p.effort,
    patch: p.patch,
    facts: p.facts,
    baseSha: p.baseSha,
    stdoutTail: prov.stdoutTail,
    stderrTail: prov.stderrTail,
    proposalJson: prov.proposalJson,
  };
}

eachMechanism(TOOLS, (mechanism) => {
  it.each([
    ['an edit', `sh '${join(AGENTS, 'well-behaved.sh')}'`],
    ['an edit that commits', fixture('honest-commit.sh')],
  ])('an honest agent (%s) proposes the same change with the sandbox as without', async (_what, command) => {
    const plan = await planFor(mechanism, 'on');
    const bare = await bareResult(command);
    const boxed = await propose(command, plan);
    expect(essence(boxed)).toEqual(essence(bare));
    expect(provenanceOf(bare).sandbox).toBe('none');
    expect(provenanceOf(boxed)).toMatchObject({ sandbox: mechanism, network: 'on' });
  });

  it('network "none" cannot reach a server on 127.0.0.1 outside the sandbox, "on" can', async () => {
    const outcome = async (plan: SandboxPlan, cfg: Partial<CommandProposerConfig> = {}) => {
      const mark = freshMark();
      const heard = listener.received.length;
      const r = await propose(fixture('net-connect.sh'), plan, cfg, { SE_MARK: mark });
      const prov = provenanceOf(r);
      // Give the server a moment to see the connection close.
      await new Promise((res) => setTimeout(res, 100));
      const got = listener.received.slice(heard).some((t) => t.includes(`hello ${mark}`));
      return { printed: (prov.stdoutTail ?? '').trim(), network: prov.network, got };
    };
    const on = await planFor(mechanism, 'on');
    const none = await planFor(mechanism, 'none');
    expect(await outcome(on)).toEqual({ printed: 'connected', network: 'on', got: true });
    expect(await outcome(none)).toEqual({ printed: 'no connection', network: 'none', got: false });
    // A command proposer's own setting wins over the run's default.
    expect(await outcome(on, { network: 'none' })).toEqual({
      printed: 'no connection',
      network: 'none',
      got: false,
    });
    expect(await outcome(none, { network: 'on' })).toEqual({
      printed: 'connected',
      network: 'on',
      got: true,
    });
  });
});

describe('without a sandbox (controls)', () => {
  it('network is always on', async () => {
    const mark = freshMark();
    const r = await propose(fixture('net-connect.sh'), undefined, { network: 'none' }, { SE_MARK: mark });
    expect(provenanceOf(r)).toMatchObject({ network: 'on', stdoutTail: 'connected\n' });
  });
});
