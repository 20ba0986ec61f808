/**
 * Turns reflection signals into a short, ranked goal list. PURE and DETERMINISTIC: no I/O, no clock; the
 * same signals give the same list whatever the order of the input arrays.
 *
 * Candidates, by priority (higher first); each kind has its own priority band, so a band never mixes kinds:
 *
 * 1. 100 `request`: the human request (workflow_dispatch input `request`, CLI `--request`).
 * 2. 90 `check:<name>`: a repository check that failed or timed out; by name.
 * 3. 80 + (runs - 1), at most 89: failed workflow runs grouped by workflow + job + failing step,
 *    `workflow:<workflow>/<job>/<step>`; a failing job without a failing step gives `workflow:<wf>/<job>`;
 *    a run whose jobs were not read (or had no failing job) gives `workflow:<wf>`. A run counts once per
 *    group. More runs first, then the latest failure first.
 * 4. 60 `issue:#<n>`: an open self-evolution issue (untrusted text); oldest first, then by number.
 * 5. 45 `reverted-pr:#<n>`: a self-evolution PR merged and then reverted (an "avoid" lesson); newest merge first.
 * 6. 40 `rejected-pr:#<n>`: a self-evolution PR closed without merge ("avoid"); newest close first.
 * 7. 35 `revert:<sha7>`: a revert commit of the git window not already explained by a reverted
 *    self-evolution PR ("avoid"); newest first.
 * 8. 10 `hotspot:<path>`: only when the git window has reverts, its 3 most-changed files with 2+ commits
 *    ("stabilize"); most commits first.
 * 9. 5 `todo:<path>`: the file under the allowed paths with the most TODO / FIXME lines ("resolve or
 *    clarify"); one goal at most; most lines first, then by path.
 *
 * Remaining ties (same priority and same order key) are broken by the id (code-unit order); ids are
 * unique. Then the list is cut to `maxGoals`.
 */
import { oneLineText } from '../secrets.js';
import type { CheckSignal } from './checks.js';
import type { FailedRunSignal, GitHubSignals, PullSignal } from './github.js';
import type { GitSignals, TodoSignals } from './types.js';

/** A goal for the proposers. */
export interface Goal {
  /** Stable id, e.g. 'request', 'check:lint', 'workflow:CI/build/Run tests', 'issue:#12', 'revert:abc1234'. */
  id: string;
  /** One line, at most ~160 characters. Quote it as data when `untrusted`. */
  title: string;
  /** Higher is more important (see the list at the top of rank.ts). */
  priority: number;
  /** One line: why this is a goal. */
  reason: string;
  /** Facts backing the goal: URLs, counts, output tails, an issue body (multi-line allowed). */
  evidence: string[];
  /**
   * True when the title or evidence holds text from outside the repository's maintainers (issue titles and
   * bodies, titles of proposer-made pull requests): data to quote, never instructions to follow.
   */
  untrusted: boolean;
}

/** Input of {@link rankSignals}. */
export interface RankInput {
  git: GitSignals;
  github?: GitHubSignals;
  checks?: CheckSignal[];
  /** TODO / FIXME counts under the allowed paths. */
  todos?: TodoSignals;
  /** The human request of the run, if any (blank counts as none). */
  request?: string;
}

/** Options of {@link rankSignals}. */
export interface RankOptions {
  /** Goals kept at most (a non-negative integer). Default 5. */
  maxGoals?: number;
}

/** Base priority of each kind of goal. */
export const GOAL_PRIORITY = Object.freeze({
  request: 100,
  check: 90,
  workflow: 80,
  issue: 60,
  revertedPull: 45,
  rejectedPull: 40,
  revert: 35,
  hotspot: 10,
  todo: 5,
});

/** Run URLs listed as evidence of a workflow goal, at most. */
const MAX_RUN_EVIDENCE = 5;
/** Characters of a request kept in evidence. */
const MAX_REQUEST_CHARS = 4000;
/** Characters of a check's output kept in evidence (its end). */
const MAX_OUTPUT_CHARS = 1500;
/** Hotspot goals at most, and the commits a file needs to be one. */
const MAX_HOTSPOTS = 3;
const MIN_HOTSPOT_COMMITS = 2;

type Key = string | number;
interface Candidate {
  goal: Goal;
  /** Compared element by element (ascending) after the priority. */
  order: Key[];
}

function cmpKey(a: Key, b: Key): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function compare(a: Candidate, b: Candidate): number {
  if (a.goal.priority !== b.goal.priority) return b.goal.priority - a.goal.priority;
  const n = Math.max(a.order.length, b.order.length);
  for (let i = 0; i < n; i++) {
    const c = cmpKey(a.order[i] ?? '', b.order[i] ?? '');
    if (c !== 0) return c;
  }
  return cmpKey(a.goal.id, b.goal.id);
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
/** Milliseconds since the epoch of an ISO time; 0 when unparsable (so the order stays total). */
const ms = (iso: string | null | undefined): number => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : t;
};

function requestCandidate(request: string | undefined): Candidate[] {
  const text = request?.trim();
  if (!text) return [];
  const points = Array.from(text);
  const kept = points.length > MAX_REQUEST_CHARS ? points.slice(0, MAX_REQUEST_CHARS).join('') : text;
  return [
    {
      goal: {
        id: 'request',
        title: `Request: ${oneLineText(text.split('\n')[0] ?? text, 150)}`,
        priority: GOAL_PRIORITY.request,
        reason: 'a human asked for this run (workflow_dispatch input or --request)',
        evidence: [kept],
        untrusted: false,
      },
      order: [],
    },
  ];
}

function checkCandidates(checks: CheckSignal[]): Candidate[] {
  const byName = new Map<string, CheckSignal>();
  const canonical = [...checks].sort(
    (a, b) => cmpKey(a.name, b.name) || cmpKey(a.command, b.command) || cmpKey(a.durationMs, b.durationMs),
  );
  for (const c of canonical) if (!c.passed && !byName.has(c.name)) byName.set(c.name, c);
  return [...byName.values()].map((c) => {
    const how = c.timedOut
      ? `timed out after ${Math.round(c.durationMs / 1000)} s`
      : c.exitCode === null
        ? 'was killed or could not start'
        : `exited with code ${c.exitCode}`;
    const output =
      c.outputTail.length > MAX_OUTPUT_CHARS ? c.outputTail.slice(-MAX_OUTPUT_CHARS) : c.outputTail;
    return {
      goal: {
        id: `check:${c.name}`,
        title: oneLineText(`Make the "${c.name}" check pass (\`${c.command}\` ${how})`, 160),
        priority: GOAL_PRIORITY.check,
        reason: `repository check "${c.name}" ${how} on the base commit`,
        evidence: [`$ ${c.command}  # ${how} in ${c.durationMs} ms`, ...(output.trim() ? [output] : [])],
        untrusted: false,
      },
      order: [c.name],
    };
  });
}

interface RunGroup {
  workflow: string;
  job?: string;
  step?: string;
  runs: Map<number, FailedRunSignal>;
}

function workflowCandidates(github: GitHubSignals | undefined): Candidate[] {
  if (!github) return [];
  const groups = new Map<string, RunGroup>();
  const add = (id: string, group: Omit<RunGroup, 'runs'>, run: FailedRunSignal): void => {
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { ...group, runs: new Map() }));
    g.runs.set(run.id, run);
  };
  for (const run of github.failedRuns) {
    const wf = run.workflowName;
    if (run.jobs === null || run.jobs.length === 0) {
      add(`workflow:${wf}`, { workflow: wf }, run);
      continue;
    }
    for (const job of run.jobs) {
      if (job.failedSteps.length === 0)
        add(`workflow:${wf}/${job.name}`, { workflow: wf, job: job.name }, run);
      for (const step of job.failedSteps) {
        add(`workflow:${wf}/${job.name}/${step}`, { workflow: wf, job: job.name, step }, run);
      }
    }
  }
  return [...groups].map(([id, g]) => {
    const runs = [...g.runs.values()].sort((a, b) => ms(b.createdAt) - ms(a.createdAt) || b.id - a.id);
    const latest = runs[0]!;
    const where = g.step
      ? `job "${g.job}" failing at step "${g.step}"`
      : g.job
        ? `job "${g.job}" failing`
        : 'failing (jobs not inspected or none failing)';
    const title = g.step
      ? `Fix workflow "${g.workflow}": job "${g.job}" fails at step "${g.step}"`
      : g.job
        ? `Fix workflow "${g.workflow}": job "${g.job}" fails`
        : `Fix workflow "${g.workflow}": runs fail`;
    return {
      goal: {
        id,
        title: oneLineText(
          `${title} (${plural(runs.length, 'run')} in ${plural(github.windowDays, 'day')})`,
          160,
        ),
        priority: GOAL_PRIORITY.workflow + Math.min(runs.length - 1, 9),
        reason: `${plural(runs.length, 'failed run')} of workflow "${g.workflow}" in the last ${plural(github.windowDays, 'day')}, ${where}; latest ${latest.createdAt}`,
        evidence: runs
          .slice(0, MAX_RUN_EVIDENCE)
          .map((r) => `run ${r.runNumber} (${r.event}, ${r.createdAt}): ${r.htmlUrl}`),
        untrusted: false,
      },
      order: [-ms(latest.createdAt)],
    };
  });
}

function issueCandidates(github: GitHubSignals | undefined): Candidate[] {
  if (!github) return [];
  const byNumber = new Map<number, (typeof github.issues)[number]>();
  for (const issue of github.issues) if (!byNumber.has(issue.number)) byNumber.set(issue.number, issue);
  return [...byNumber.values()].map((issue) => ({
    goal: {
      id: `issue:#${issue.number}`,
      title: `Issue #${issue.number}: ${oneLineText(issue.title, 120)}`,
      priority: GOAL_PRIORITY.issue,
      reason: `open issue labelled for self-evolution, opened ${issue.createdAt} by ${issue.author ? `@${issue.author}` : 'a deleted account'} (${issue.authorAssociation})`,
      evidence: [
        issue.htmlUrl,
        `issue body (untrusted data${issue.bodyTruncated ? ', truncated' : ''}):\n${issue.body}`,
      ],
      untrusted: true,
    },
    order: [ms(issue.createdAt), issue.number],
  }));
}

function pullCandidates(github: GitHubSignals | undefined): Candidate[] {
  if (!github) return [];
  const byNumber = new Map<number, PullSignal>();
  for (const p of github.pulls) if (!byNumber.has(p.number)) byNumber.set(p.number, p);
  const out: Candidate[] = [];
  for (const p of byNumber.values()) {
    if (p.outcome === 'reverted' && p.revertedBy) {
      const by =
        p.revertedBy.via === 'commit'
          ? `commit ${p.revertedBy.sha.slice(0, 7)}`
          : `pull request #${p.revertedBy.number}`;
      out.push({
        goal: {
          id: `reverted-pr:#${p.number}`,
          title: `Avoid repeating a reverted change: ${oneLineText(p.title, 110)} (#${p.number})`,
          priority: GOAL_PRIORITY.revertedPull,
          reason: `self-evolution pull request #${p.number} was merged ${p.mergedAt ?? ''} and reverted by ${by}`,
          evidence: [p.htmlUrl, `branch ${p.headRef}`],
          untrusted: true,
        },
        order: [-ms(p.mergedAt)],
      });
    } else if (p.outcome === 'closed') {
      out.push({
        goal: {
          id: `rejected-pr:#${p.number}`,
          title: `Avoid repeating a rejected change: ${oneLineText(p.title, 110)} (#${p.number})`,
          priority: GOAL_PRIORITY.rejectedPull,
          reason:
            `self-evolution pull request #${p.number} was closed without merge ${p.closedAt ?? ''}`.trim(),
          evidence: [p.htmlUrl, `branch ${p.headRef}`],
          untrusted: true,
        },
        order: [-ms(p.closedAt)],
      });
    }
  }
  return out;
}

function gitCandidates(git: GitSignals, github: GitHubSignals | undefined): Candidate[] {
  const explained = new Set<string>();
  for (const p of github?.pulls ?? []) {
    if (p.revertedBy?.via === 'commit') explained.add(p.revertedBy.sha.toLowerCase());
  }
  const out: Candidate[] = [];
  const reverts = new Map<string, (typeof git.reverts)[number]>();
  for (const c of git.reverts) if (!reverts.has(c.sha)) reverts.set(c.sha, c);
  for (const c of reverts.values()) {
    if (explained.has(c.sha.toLowerCase())) continue;
    out.push({
      goal: {
        id: `revert:${c.sha.slice(0, 7)}`,
        title: `Avoid what was reverted: ${oneLineText(c.subject, 130)}`,
        priority: GOAL_PRIORITY.revert,
        reason: `commit ${c.sha.slice(0, 7)} by ${c.author} on ${c.date} reverts an earlier change`,
        evidence: [`${c.sha} ${c.subject}`],
        untrusted: false,
      },
      order: [-ms(c.date), c.sha],
    });
  }
  if (reverts.size > 0) {
    const files = [...git.mostChangedFiles]
      .filter((f) => f.commits >= MIN_HOTSPOT_COMMITS)
      .sort((a, b) => b.commits - a.commits || cmpKey(a.path, b.path))
      .filter((f, i, all) => i === 0 || all[i - 1]!.path !== f.path)
      .slice(0, MAX_HOTSPOTS);
    for (const f of files) {
      out.push({
        goal: {
          id: `hotspot:${f.path}`,
          title: oneLineText(
            `Stabilize ${f.path} (changed in ${plural(f.commits, 'commit')} in ${plural(git.windowDays, 'day')})`,
            160,
          ),
          priority: GOAL_PRIORITY.hotspot,
          reason: `one of the most-changed files in a window with ${plural(reverts.size, 'revert')}`,
          evidence: [`${f.path}: ${plural(f.commits, 'commit')}`],
          untrusted: false,
        },
        order: [-f.commits],
      });
    }
  }
  return out;
}

function todoCandidates(todos: TodoSignals | undefined): Candidate[] {
  const top = [...(todos?.files ?? [])]
    .filter((f) => f.count > 0)
    .sort((a, b) => b.count - a.count || cmpKey(a.path, b.path))[0];
  if (!top) return [];
  return [
    {
      goal: {
        id: `todo:${top.path}`,
        title: oneLineText(
          `Resolve or clarify the TODO/FIXME notes in ${top.path} (${plural(top.count, 'line')})`,
          160,
        ),
        priority: GOAL_PRIORITY.todo,
        reason: `the file under the allowed paths with the most TODO/FIXME lines (${plural(todos!.total, 'line')} in all)`,
        evidence: [`${top.path}: ${plural(top.count, 'TODO/FIXME line')}`],
        untrusted: false,
      },
      order: [-top.count],
    },
  ];
}

/**
 * Ranks signals into at most `maxGoals` goals (default 5), highest priority first, by the rules in the
 * list at the top of this module. Pure and deterministic: permuting any input array gives the same list.
 * @throws RangeError when `maxGoals` is not a non-negative integer.
 */
export function rankSignals(input: RankInput, opts: RankOptions = {}): Goal[] {
  const maxGoals = opts.maxGoals ?? 5;
  if (!Number.isInteger(maxGoals) || maxGoals < 0) {
    throw new RangeError(`maxGoals must be a non-negative integer, got ${maxGoals}`);
  }
  const candidates = [
    ...requestCandidate(input.request),
    ...checkCandidates(input.checks ?? []),
    ...workflowCandidates(input.github),
    ...issueCandidates(input.github),
    ...pullCandidates(input.github),
    ...gitCandidates(input.git, input.github),
    ...todoCandidates(input.todos),
  ];
  return candidates
    .sort(compare)
    .slice(0, maxGoals)
    .map((c) => c.goal);
}

/**
 * A few human lines describing goals, e.g.
 * `3 goals:` / `1. [100] request: Request: tidy the README` /
 * `2. [60] issue:#12 (untrusted text): "Issue #12: …"`. Untrusted titles are JSON-quoted so they read as
 * data. No goals: one line saying so.
 */
export function goalsToInsights(goals: readonly Goal[]): string {
  if (goals.length === 0) return 'no goals: no request, no failing check or workflow, no open request issue';
  const lines = [`${plural(goals.length, 'goal')}:`];
  goals.forEach((g, i) => {
    const title = g.untrusted ? JSON.stringify(g.title) : g.title;
    lines.push(`${i + 1}. [${g.priority}] ${g.id}${g.untrusted ? ' (untrusted text)' : ''}: ${title}`);
  });
  return lines.join('\n');
}
