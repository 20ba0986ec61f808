/**
 * The HTML dashboard: store/dashboard.ts DashboardData in, ONE self-contained HTML file
 * out. Pure: no I/O, no clock (every time comes from the data), no script.
 *
 * The charts are server-rendered: the calendar of runs is inline SVG (a square per UTC day, coloured by the day's
 * outcome, its counts and skip reasons in a tooltip), the funnel and the blocking rules are bars of HTML whose
 * width is the share; the rest are tables. The file loads nothing: its Content-Security-Policy allows no script,
 * no request and only its own inline style, and its only links lead to pull requests and workflow runs (a URL
 * of any other shape is shown as text). Every value is escaped (titles, reasons and errors are untrusted text).
 * Colours follow the reader's light or dark scheme (prefers-color-scheme).
 *
 * Each figure carries `data-metric="<name>"` and its raw value in `data-value` (a number, or empty for none), so
 * tests and scripts read the page as data:
 *   runs.total, runs.<status>                 runs of the window by status (success, skipped, failed, cancelled,
 *                                             reverted, running)
 *   funnel.<7|30|90>.<stage>                  proposed, allowed, verified, published, merged, reverted
 *   acceptance.<w>, regression.<w>, verify-pass.<w>   rates 0..1
 *   hours-to-merge.<w>, hours-to-revert.<w>, closed-unmerged.<w>, runs-past-gates.<w>, tokens-per-run.<w>,
 *   minutes-per-run.<w>, breaker-trips.<w>
 *   blocking.<rule id>                        proposals the rule blocked in the widest window (90 days)
 *   open-prs, open-prs.oldest-days            pull requests open now; the oldest one's age, days
 *   breaker.tripped                           repositories whose breaker is tripped (not reset)
 *   breaker.trips                             trips in the window
 *   breaker.state (with data-repository)      'tripped' or 'ok' (data-value 1 or 0)
 * With several repositories the window figures are their sums (rates recomputed from the sums, mean times left
 * out); one repository's are the metrics views' own.
 */
import type {
  BreakerState,
  CalendarDay,
  DashboardData,
  DashboardProposal,
  DashboardPullRequest,
  DashboardRun,
} from '../store/dashboard.js';
import type { MetricsReportWindow, MetricsWindow } from '../store/metrics.js';
import { formatHours, formatRate } from './metrics.js';

/** The dashboard's file name among a run's artifacts and in the CLI's state directory. */
export const DASHBOARD_FILE = 'dashboard.html';

/** The outcomes the calendar colours, most telling first (a day shows the first one it has). */
export const CALENDAR_OUTCOMES = [
  'failed',
  'cancelled',
  'reverted',
  'success',
  'running',
  'skipped',
] as const;

/** An outcome of the calendar. */
export type CalendarOutcome = (typeof CALENDAR_OUTCOMES)[number];

/** The figures of one window over every repository shown (see the module docs). */
export type WindowTotals = Omit<MetricsReportWindow, 'blockingRules'>;

/** The stages of the funnel, in order: label and figure. */
export const FUNNEL_STAGES = [
  ['proposed', 'proposalsMade'],
  ['allowed', 'proposalsAllowed'],
  ['verified', 'proposalsVerified'],
  ['published', 'published'],
  ['merged', 'merged'],
  ['reverted', 'reverted'],
] as const satisfies readonly (readonly [string, keyof WindowTotals])[];

/** Escapes text for HTML content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * `url` when it is a link the dashboard may hold: http(s), no credentials, and the path of a pull request
 * (`/<owner>/<name>/pull/<n>`) or of a workflow run (`/<owner>/<name>/actions/runs/<id>...`); null otherwise.
 */
export function safeLink(url: string | null, kind: 'pull' | 'run'): string | null {
  if (url === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
  if (parsed.username !== '' || parsed.password !== '') return null;
  const path =
    kind === 'pull' ? /^\/[^/]+\/[^/]+\/pull\/\d+\/?$/ : /^\/[^/]+\/[^/]+\/actions\/runs\/\d+(\/[\w/-]*)?$/;
  return path.test(parsed.pathname) ? parsed.href : null;
}

/** The calendar outcome of a day: the first of CALENDAR_OUTCOMES it has ('planned' counts as running). */
export function dayOutcome(counts: CalendarDay['counts']): CalendarOutcome | null {
  const has = (s: keyof CalendarDay['counts']): boolean => (counts[s] ?? 0) > 0;
  for (const outcome of CALENDAR_OUTCOMES) {
    if (outcome === 'running' ? has('running') || has('planned') : has(outcome)) return outcome;
  }
  return null;
}

/**
 * Each window's figures over every repository of the report: one repository's as they are; several summed,
 * the rates recomputed from the sums and the means (hours, tokens, minutes) left null. Windows 7, 30, 90.
 */
export function windowTotals(data: Pick<DashboardData, 'metrics'>): WindowTotals[] {
  const { windows, repositories } = data.metrics;
  return windows.map((windowDays) => {
    const rows = repositories.flatMap((r) => r.windows.filter((w) => w.windowDays === windowDays));
    if (rows.length === 1) {
      const { blockingRules: _rules, ...figures } = rows[0]!;
      return figures;
    }
    const sum = (k: keyof WindowTotals): number => rows.reduce((a, w) => a + (w[k] as number), 0);
    const rate = (n: number, d: number): number | null => (d > 0 ? n / d : null);
    const t = {
      windowDays: windowDays as MetricsWindow,
      proposalsMade: sum('proposalsMade'),
      proposalsAllowed: sum('proposalsAllowed'),
      proposalsVerified: sum('proposalsVerified'),
      verifyFailed: sum('verifyFailed'),
      published: sum('published'),
      merged: sum('merged'),
      closedUnmerged: sum('closedUnmerged'),
      reverted: sum('reverted'),
      revertedAuto: sum('revertedAuto'),
      revertedManual: sum('revertedManual'),
      runs: sum('runs'),
      breakerTrips: sum('breakerTrips'),
    };
    return {
      ...t,
      acceptanceRate: rate(t.merged, t.published),
      regressionRate: rate(t.reverted, t.merged),
      verifyPassRate: rate(t.proposalsVerified, t.proposalsVerified + t.verifyFailed),
      meanHoursToMerge: null,
      meanHoursToRevert: null,
      tokensPerRun: null,
      minutesPerRun: null,
    };
  });
}

/**
 * The rules that blocked in the widest window, summed over the repositories, most proposals first (then rule
 * id); each with its proposals blocked in every window (`counts`, windows ascending).
 */
export function blockingTotals(
  data: Pick<DashboardData, 'metrics'>,
): { ruleId: string; proposals: number; violations: number; counts: number[] }[] {
  const { windows, repositories } = data.metrics;
  const widest = windows.at(-1);
  const totals = new Map<string, { proposals: number; violations: number; counts: number[] }>();
  for (const repo of repositories) {
    for (const w of repo.windows) {
      const i = windows.indexOf(w.windowDays);
      for (const rule of w.blockingRules) {
        const t = totals.get(rule.ruleId) ?? { proposals: 0, violations: 0, counts: windows.map(() => 0) };
        t.counts[i]! += rule.proposals;
        if (w.windowDays === widest) {
          t.proposals += rule.proposals;
          t.violations += rule.violations;
        }
        totals.set(rule.ruleId, t);
      }
    }
  }
  return [...totals.entries()]
    .map(([ruleId, t]) => ({ ruleId, ...t }))
    .filter((t) => t.proposals > 0)
    .sort(
      (a, b) => b.proposals - a.proposals || b.violations - a.violations || (a.ruleId < b.ruleId ? -1 : 1),
    );
}

/** Runs of the window by calendar outcome ('planned' counted as running), and their total. */
export function runCounts(calendar: readonly CalendarDay[]): Record<CalendarOutcome | 'total', number> {
  const counts: Record<CalendarOutcome | 'total', number> = {
    total: 0,
    failed: 0,
    cancelled: 0,
    reverted: 0,
    success: 0,
    running: 0,
    skipped: 0,
  };
  for (const day of calendar) {
    for (const [status, n] of Object.entries(day.counts)) {
      const key = status === 'planned' ? 'running' : (status as CalendarOutcome);
      if (key in counts) counts[key] += n ?? 0;
      counts.total += n ?? 0;
    }
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------------------------
// Small pieces

/** 'YYYY-MM-DD HH:MM UTC'. */
function when(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A figure: its text, named and valued for readers of the page as data. */
function fig(name: string, value: number | null, text: string, attrs = ''): string {
  return `<span data-metric="${escapeHtml(name)}" data-value="${value === null ? '' : String(value)}"${attrs}>${escapeHtml(text)}</span>`;
}

/** Text cut to `max` characters (with an ellipsis), escaped. */
function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return escapeHtml(flat.length > max ? `${flat.slice(0, max - 1)}…` : flat);
}

/** A link to a pull request or workflow run when the URL is one (safeLink), else the label as text. */
function link(url: string | null, kind: 'pull' | 'run', label: string): string {
  const href = safeLink(url, kind);
  return href === null
    ? escapeHtml(label)
    : `<a href="${escapeHtml(href)}" rel="noreferrer noopener" target="_blank">${escapeHtml(label)}</a>`;
}

/** A coloured badge for a status word. */
function badge(word: string, tone = word): string {
  return `<span class="badge t-${escapeHtml(tone.replace(/[^a-z_-]/g, ''))}">${escapeHtml(word)}</span>`;
}

/** A bar of `value` out of `max`, in a track. */
function bar(value: number, max: number, tone = 'bar'): string {
  const pct = max > 0 ? Math.max(0, Math.min(100, (value / max) * 100)) : 0;
  return `<span class="track"><span class="fill t-${tone}" style="width:${pct.toFixed(1)}%"></span></span>`;
}

/** Days, one decimal below ten ('3.5 d', '12 d'). */
function ageText(days: number): string {
  return days < 10 ? `${(Math.round(days * 10) / 10).toFixed(1)} d` : `${Math.round(days)} d`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

// ---------------------------------------------------------------------------------------------------------------
// Sections

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The UTC days from `since` to `until`, inclusive. */
function daysOf(since: string, until: string): Date[] {
  const out: Date[] = [];
  const end = Date.parse(`${until}T00:00:00Z`);
  for (let t = Date.parse(`${since}T00:00:00Z`); t <= end; t += 86_400_000) out.push(new Date(t));
  return out;
}

/** One repository's calendar: weeks as columns, Monday to Sunday as rows, a square per day. */
function calendarSvg(
  repository: string,
  days: readonly Date[],
  byDay: Map<string, CalendarDay>,
  large: boolean,
): string {
  const cell = large ? 17 : 12;
  const step = cell + (large ? 4 : 3);
  const left = 30;
  const top = 16;
  const first = ((days[0]?.getUTCDay() ?? 1) + 6) % 7;
  const cols = Math.ceil((days.length + first) / 7);
  const width = left + cols * step;
  const height = top + 7 * step;
  const parts: string[] = [];
  for (const [row, name] of WEEKDAYS.entries()) {
    if (row % 2 === 0) {
      parts.push(`<text x="0" y="${top + row * step + cell - 3}" class="axis">${name}</text>`);
    }
  }
  let lastMonth = -1;
  for (const [i, date] of days.entries()) {
    const col = Math.floor((i + first) / 7);
    const row = (i + first) % 7;
    const iso = date.toISOString().slice(0, 10);
    if (date.getUTCMonth() !== lastMonth && (row === 0 || i === 0)) {
      lastMonth = date.getUTCMonth();
      parts.push(`<text x="${left + col * step}" y="11" class="axis">${MONTHS[lastMonth]!}</text>`);
    }
    const day = byDay.get(iso);
    const outcome = day ? dayOutcome(day.counts) : null;
    const counts = day
      ? Object.entries(day.counts)
          .map(([s, n]) => `${n ?? 0} ${s}`)
          .join(', ')
      : 'no run';
    const reasons = day?.skipReasons.length
      ? `\nskipped: ${day.skipReasons.map((r) => `${r.reason.replace(/\s+/g, ' ').slice(0, 160)} (${r.runs})`).join('; ')}`
      : '';
    parts.push(
      `<rect x="${left + col * step}" y="${top + row * step}" width="${cell}" height="${cell}" rx="3" ` +
        `class="c-${outcome ?? 'none'}" data-day="${iso}" data-outcome="${outcome ?? 'none'}">` +
        `<title>${escapeHtml(`${iso} ${WEEKDAYS[row]!}: ${counts}${reasons}`)}</title></rect>`,
    );
  }
  return (
    `<svg class="calendar" role="img" aria-label="${escapeHtml(`runs of ${repository} by day`)}" ` +
    `data-repository="${escapeHtml(repository)}" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`
  );
}

function calendarSection(data: DashboardData): string {
  const days = daysOf(data.since, data.until);
  const counts = runCounts(data.calendar);
  const legend = CALENDAR_OUTCOMES.filter((o) => (o !== 'running' && o !== 'reverted') || counts[o] > 0)
    .map(
      (o) =>
        `<span class="key"><i class="sw c-${o}"></i>${escapeHtml(o)} ${fig(`runs.${o}`, counts[o], String(counts[o]))}</span>`,
    )
    .join('');
  const calendars = data.repositories
    .map((repository) => {
      const byDay = new Map(data.calendar.filter((d) => d.repository === repository).map((d) => [d.day, d]));
      const title = data.repositories.length > 1 ? `<h3>${escapeHtml(repository)}</h3>` : '';
      return `<figure class="cal">${title}${calendarSvg(repository, days, byDay, data.repositories.length === 1)}</figure>`;
    })
    .join('');
  const reasons = new Map<string, number>();
  for (const day of data.calendar) {
    for (const r of day.skipReasons) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + r.runs);
  }
  const top = [...reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  const maxReason = top[0]?.[1] ?? 0;
  const skipTable = top.length
    ? `<table class="bars"><caption>Why runs were skipped</caption><tbody>${top
        .map(
          ([reason, n]) =>
            `<tr><td class="label">${clip(reason, 120)}</td><td class="barcell">${bar(n, maxReason, 'skipped')}</td><td class="num">${n}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted">No run was skipped in this window.</p>';
  return `<section id="calendar"><h2>Runs by day <small>${escapeHtml(`${data.since} to ${data.until}, UTC`)} · ${fig('runs.total', counts.total, plural(counts.total, 'run'))}</small></h2>
<div class="legend">${legend}<span class="key"><i class="sw c-none"></i>no run</span></div>
<div class="cal-row"><div class="cals">${calendars}</div><div class="skips">${skipTable}</div></div></section>`;
}

/** The funnel of each window, then the figures table beside `aside` (the blocking rules). */
function funnelSection(totals: readonly WindowTotals[], many: boolean, aside: string): string {
  const funnels = totals
    .map((w) => {
      const max = Math.max(...FUNNEL_STAGES.map(([, k]) => w[k] as number));
      const rows = FUNNEL_STAGES.map(
        ([label, key]) =>
          `<tr><td class="label">${label}</td><td class="barcell">${bar(w[key] as number, max, label)}</td>` +
          `<td class="num">${fig(`funnel.${w.windowDays}.${label}`, w[key] as number, String(w[key]))}</td></tr>`,
      ).join('');
      return `<table class="bars funnel"><caption>${w.windowDays} days</caption><tbody>${rows}</tbody></table>`;
    })
    .join('');
  const row = (
    label: string,
    name: string | null,
    value: (w: WindowTotals) => number | null,
    text: (v: number | null) => string,
  ) =>
    `<tr><th scope="row">${escapeHtml(label)}</th>${totals
      .map((w) => {
        const v = value(w);
        return `<td class="num">${name === null ? escapeHtml(text(v)) : fig(`${name}.${w.windowDays}`, v, text(v))}</td>`;
      })
      .join('')}</tr>`;
  const count = (v: number | null): string => (v === null ? '-' : String(v));
  const mean = (digits: number) => (v: number | null) =>
    v === null ? '-' : String(Math.round(v * 10 ** digits) / 10 ** digits);
  const table = `<table class="figures"><thead><tr><th></th>${totals.map((w) => `<th scope="col">${w.windowDays} d</th>`).join('')}</tr></thead><tbody>
${row('acceptance (merged / published)', null, (w) => w.acceptanceRate, formatRate)}
${row('regression (reverted / merged)', 'regression', (w) => w.regressionRate, formatRate)}
${row('verify pass rate', 'verify-pass', (w) => w.verifyPassRate, formatRate)}
${row('closed unmerged', 'closed-unmerged', (w) => w.closedUnmerged, count)}
${row('mean time to merge', 'hours-to-merge', (w) => w.meanHoursToMerge, formatHours)}
${row('mean time to revert', 'hours-to-revert', (w) => w.meanHoursToRevert, formatHours)}
${row('runs past the gates', 'runs-past-gates', (w) => w.runs, count)}
${row('tokens per run', 'tokens-per-run', (w) => w.tokensPerRun, mean(0))}
${row('minutes per run', 'minutes-per-run', (w) => w.minutesPerRun, mean(1))}
${row('breaker trips', 'breaker-trips', (w) => w.breakerTrips, count)}
</tbody></table>`;
  return `<section id="funnel"><h2>From proposal to merge <small>proposals made in the window and what became of them</small></h2>
<div class="funnels">${funnels}</div></section>
<div class="pair"><section id="figures"><h2>Figures <small>by window</small></h2>${table}${many ? '<p class="muted small">Summed over the repositories; mean times, tokens and minutes are per repository (<code>self-evolution status --metrics --all</code>).</p>' : ''}</section>${aside}</div>`;
}

function blockingSection(data: DashboardData): string {
  const rules = blockingTotals(data).slice(0, 10);
  const windows = data.metrics.windows;
  if (rules.length === 0) {
    return `<section id="rules"><h2>Rules that block most</h2><p class="muted">No proposal was blocked in ${windows.at(-1) ?? 90} days.</p></section>`;
  }
  const max = rules[0]!.proposals;
  const rows = rules
    .map(
      (r) =>
        `<tr><td class="label"><code>${escapeHtml(r.ruleId)}</code></td><td class="barcell">${bar(r.proposals, max, 'failed')}</td>` +
        r.counts
          .slice(0, -1)
          .map((n) => `<td class="num muted">${n}</td>`)
          .join('') +
        `<td class="num"><strong>${fig(`blocking.${r.ruleId}`, r.proposals, String(r.proposals))}</strong></td></tr>`,
    )
    .join('');
  const head = `<thead><tr><th class="label">rule</th><th></th>${windows
    .map((w) => `<th class="num">${w} d</th>`)
    .join('')}</tr></thead>`;
  return `<section id="rules"><h2>Rules that block most <small>proposals blocked</small></h2><table class="bars rules">${head}<tbody>${rows}</tbody></table></section>`;
}

function openPrSection(data: DashboardData): string {
  const prs = data.openPullRequests;
  const many = data.repositories.length > 1;
  if (prs.length === 0)
    return `<section id="open-prs"><h2>Open pull requests</h2><p class="muted">None open.</p></section>`;
  const rows = prs
    .map(
      (p) =>
        `<tr>${many ? `<td>${escapeHtml(p.repository)}</td>` : ''}<td>${link(p.url, 'pull', p.number === null ? 'no number' : `#${p.number}`)}</td>` +
        `<td>${clip(p.title, 140)}</td><td>${escapeHtml(when(p.createdAt))}</td>` +
        `<td class="num">${fig('open-pr.age-days', p.ageDays, ageText(p.ageDays), ` data-action="${p.actionId}"`)}</td></tr>`,
    )
    .join('');
  return `<section id="open-prs"><h2>Open pull requests</h2><table class="list"><thead><tr>${many ? '<th>repository</th>' : ''}<th>PR</th><th>title</th><th>opened</th><th class="num">age</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

function flagText(b: BreakerState): string {
  if (b.flag === null) return 'feature flag not set (off)';
  return `${b.flag.key} ${b.flag.value ? 'on' : 'off'} since ${when(b.flag.updatedAt)}`;
}

function breakerSection(data: DashboardData): string {
  const states = data.breaker
    .map((b) => {
      const trip = b.openTrip
        ? `<p class="trip">${badge(b.openTrip.cause, 'failed')} tripped ${escapeHtml(when(b.openTrip.trippedAt))}: ${clip(b.openTrip.reason, 300)}</p>`
        : '';
      return `<div class="breaker">
<h3>${escapeHtml(b.repository)} ${fig('breaker.state', b.state === 'tripped' ? 1 : 0, b.state, ` data-repository="${escapeHtml(b.repository)}" class="badge t-${b.state === 'tripped' ? 'failed' : 'success'}"`)}</h3>
<p class="muted">loop ${b.loopOn ? 'on' : 'off'}: ${escapeHtml(flagText(b))}</p>${trip}</div>`;
    })
    .join('');
  const trips = data.breaker
    .flatMap((b) => b.trips)
    .sort((a, b) => b.trippedAt.getTime() - a.trippedAt.getTime());
  const many = data.repositories.length > 1;
  const history = trips.length
    ? `<table class="list"><caption>Trips</caption><thead><tr>${many ? '<th>repository</th>' : ''}<th>tripped</th><th>cause</th><th>reason</th><th>reset</th></tr></thead><tbody>${trips
        .map(
          (t) =>
            `<tr>${many ? `<td>${escapeHtml(t.repository)}</td>` : ''}<td>${escapeHtml(when(t.trippedAt))}</td><td>${badge(t.cause, 'failed')}</td>` +
            `<td>${clip(t.reason, 300)}</td><td>${t.resetAt ? escapeHtml(`${when(t.resetAt)}${t.resetBy ? ` by ${t.resetBy}` : ''}`) : '<strong>not reset</strong>'}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : `<p class="muted">No trip in ${data.days} days.</p>`;
  return `<section id="breaker"><h2>Circuit breaker</h2><div class="breakers">${states}</div>${history}</section>`;
}

function repositoriesSection(data: DashboardData): string {
  if (data.repositories.length < 2) return '';
  const rows = data.repositories
    .map((repository) => {
      const w = data.metrics.repositories.find((r) => r.repository === repository)?.windows.at(-1);
      const runs = runCounts(data.calendar.filter((d) => d.repository === repository));
      const b = data.breaker.find((x) => x.repository === repository);
      const open = data.openPullRequests.filter((p) => p.repository === repository).length;
      const n = (v: number | undefined): string => (v === undefined ? '-' : String(v));
      return (
        `<tr><th scope="row">${escapeHtml(repository)}</th><td class="num">${runs.total}</td><td class="num">${runs.failed}</td>` +
        `<td class="num">${n(w?.proposalsMade)}</td><td class="num">${n(w?.published)}</td><td class="num">${n(w?.merged)}</td>` +
        `<td class="num">${n(w?.reverted)}</td><td class="num">${escapeHtml(formatRate(w?.acceptanceRate ?? null))}</td>` +
        `<td class="num">${open}</td><td>${b ? badge(b.state, b.state === 'tripped' ? 'failed' : 'success') : ''} ${b?.loopOn ? 'on' : 'off'}</td></tr>`
      );
    })
    .join('');
  const widest = data.metrics.windows.at(-1) ?? 90;
  return (
    `<section id="repositories"><h2>Repositories</h2><table class="list"><thead><tr><th>repository</th><th class="num">runs (${data.days} d)</th><th class="num">failed</th>` +
    `<th class="num">proposed (${widest} d)</th><th class="num">published</th><th class="num">merged</th><th class="num">reverted</th><th class="num">acceptance</th><th class="num">open PRs</th><th>breaker / loop</th></tr></thead><tbody>${rows}</tbody></table></section>`
  );
}

function pullRequestCell(pr: DashboardPullRequest): string {
  const label = pr.number === null ? `${pr.status.replace('_', ' ')} (no PR)` : `#${pr.number}`;
  const parts = [`${link(pr.url, 'pull', label)} ${badge(pr.status.replace('_', ' '), pr.status)}`];
  if (pr.revert) {
    const r = pr.revert;
    const revertLabel = r.prNumber === null ? 'revert' : `revert #${r.prNumber}`;
    parts.push(
      `<span class="muted">${link(r.prUrl, 'pull', revertLabel)} ${escapeHtml(`${r.status}, ${r.trigger}`)}</span>`,
    );
  }
  if (pr.closeReason) parts.push(`<q class="reason">${clip(pr.closeReason, 300)}</q>`);
  return parts.join('<br>');
}

function proposalRow(p: DashboardProposal): string {
  const rules = p.blockingRules.map((r) => `<code>${escapeHtml(r)}</code>`).join(' ');
  const reasons = p.blockedReasons.length
    ? `<div class="muted small">${p.blockedReasons
        .slice(0, 3)
        .map((r) => clip(r, 160))
        .join(
          '<br>',
        )}${p.blockedReasons.length > 3 ? `<br>and ${p.blockedReasons.length - 3} more` : ''}</div>`
    : '';
  const verdict =
    p.status === 'failed'
      ? badge('proposer failed', 'failed')
      : badge(p.verdict, p.verdict === 'allowed' ? 'success' : 'failed');
  return (
    `<tr><td><span class="title">${clip(p.title, 200)}</span><div class="muted small">${escapeHtml(`${p.type} · ${p.proposer}`)}</div></td>` +
    `<td>${verdict}${rules ? ` ${rules}` : ''}${reasons}</td>` +
    `<td>${p.verify === null ? '<span class="muted">-</span>' : badge(p.verify, p.verify === 'passed' ? 'success' : p.verify === 'failed' ? 'failed' : 'skipped')}</td>` +
    `<td class="num">${p.computedRisk !== null && p.computedRisk !== p.riskLevel ? `${p.riskLevel} → ${p.computedRisk}` : p.riskLevel}</td>` +
    `<td class="num"><span class="add">+${p.linesAdded}</span> <span class="del">−${p.linesDeleted}</span></td>` +
    `<td>${p.pullRequests.length ? p.pullRequests.map(pullRequestCell).join('<hr>') : '<span class="muted">-</span>'}</td></tr>`
  );
}

function runDetails(run: DashboardRun, many: boolean): string {
  const allowed = run.proposals.filter((p) => p.verdict === 'allowed').length;
  const prs = run.proposals.flatMap((p) => p.pullRequests);
  const outcome = run.status === 'planned' ? 'running' : run.status;
  const head = [
    `<span class="date">${escapeHtml(run.runDate)}</span>`,
    `<span class="id">#${run.id}</span>`,
    many ? `<span class="repo">${escapeHtml(run.repository)}</span>` : '',
    badge(run.stale ? 'failed (stale)' : run.status, outcome),
    `<span class="muted">${escapeHtml(`${run.trigger}${run.forced ? ', forced' : ''}${run.dryRun ? ', dry run' : ', live'}`)}</span>`,
    run.proposals.length
      ? `<span>${escapeHtml(`${plural(run.proposals.length, 'proposal')}, ${allowed} allowed`)}</span>`
      : '',
    prs.length
      ? `<span>${prs.map((pr) => link(pr.url, 'pull', pr.number === null ? pr.status.replace('_', ' ') : `#${pr.number}`)).join(' ')}</span>`
      : '',
    run.skipReason ? `<span class="muted reason">${clip(run.skipReason, 120)}</span>` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const gates = run.gates.length
    ? `<ul class="gates">${run.gates
        .map(
          (g) =>
            `<li title="${escapeHtml(g.reason)}">${badge(`${g.gate}: ${g.outcome}`, g.outcome === 'pass' ? 'success' : g.outcome === 'skip' ? 'skipped' : g.outcome === 'error' ? 'failed' : 'none')}</li>`,
        )
        .join('')}</ul>`
    : '<p class="muted small">No gate recorded.</p>';
  const text = run.error ?? run.summary;
  const notes = [
    text ? `<p>${clip(text, 500)}</p>` : '',
    run.logsUrl && safeLink(run.logsUrl, 'run') ? `<p>${link(run.logsUrl, 'run', 'workflow run')}</p>` : '',
    `<p class="muted small">${escapeHtml(`started ${when(run.startedAt)}${run.finishedAt ? `, finished ${when(run.finishedAt)}` : ''}`)}</p>`,
  ].join('');
  const proposals = run.proposals.length
    ? `<table class="list proposals"><thead><tr><th>proposal</th><th>verdict</th><th>verify</th><th class="num">risk</th><th class="num">lines</th><th>pull request</th></tr></thead><tbody>${run.proposals
        .map(proposalRow)
        .join('')}</tbody></table>`
    : '';
  return `<details class="run" data-run="${run.id}"><summary>${head}</summary><div class="body">${gates}${notes}${proposals}</div></details>`;
}

function runsSection(data: DashboardData): string {
  const many = data.repositories.length > 1;
  const shown = data.runs.length;
  const note =
    shown < data.runsTotal
      ? `<p class="muted">The newest ${shown} of ${data.runsTotal} runs of the window.</p>`
      : '';
  const list = shown
    ? data.runs.map((r) => runDetails(r, many)).join('\n')
    : '<p class="muted">No run in this window.</p>';
  return `<section id="runs"><h2>Every run <small>newest first; open one for its gates, proposals, verdicts and pull requests</small></h2>${note}${list}</section>`;
}

function tiles(data: DashboardData, totals: readonly WindowTotals[]): string {
  const wide = totals.at(-1);
  const small = (
    name: string,
    value: (w: WindowTotals) => number | null,
    text: (v: number | null) => string,
  ): string =>
    totals
      .slice(0, -1)
      .map((w) => `${w.windowDays} d ${fig(`${name}.${w.windowDays}`, value(w), text(value(w)))}`)
      .join(' · ');
  const count = (v: number | null): string => String(v ?? 0);
  const tripped = data.breaker.filter((b) => b.state === 'tripped').length;
  const trips = data.breaker.reduce(
    (n, b) =>
      n +
      b.trips.filter((t) => t.trippedAt.getTime() >= data.generatedAt.getTime() - data.days * 86_400_000)
        .length,
    0,
  );
  const oldest = data.openPullRequests.reduce<number | null>(
    (m, p) => (m === null || p.ageDays > m ? p.ageDays : m),
    null,
  );
  const wd = wide?.windowDays ?? 90;
  const breakerText = tripped ? 'tripped' : 'ok';
  const loop =
    data.repositories.length === 1 && data.breaker[0]
      ? `loop ${data.breaker[0].loopOn ? 'on' : 'off'}`
      : `${tripped ? `${tripped} of ${data.repositories.length} repositories · ` : ''}${data.breaker.filter((b) => b.loopOn).length} of ${data.repositories.length} loops on`;
  return `<section class="tiles">
<div class="tile"><div class="k">acceptance · ${wd} d</div><div class="v">${fig(`acceptance.${wd}`, wide?.acceptanceRate ?? null, formatRate(wide?.acceptanceRate ?? null))}</div><div class="s">${small('acceptance', (w) => w.acceptanceRate, formatRate)}</div></div>
<div class="tile"><div class="k">merged · ${wd} d</div><div class="v">${fig(`merged.${wd}`, wide?.merged ?? 0, count(wide?.merged ?? 0))}</div><div class="s">${small('merged', (w) => w.merged, count)}</div></div>
<div class="tile"><div class="k">reverted · ${wd} d</div><div class="v">${fig(`reverted.${wd}`, wide?.reverted ?? 0, count(wide?.reverted ?? 0))}</div><div class="s">${small('reverted', (w) => w.reverted, count)}</div></div>
<div class="tile"><div class="k">open pull requests</div><div class="v">${fig('open-prs', data.openPullRequests.length, String(data.openPullRequests.length))}</div><div class="s">${oldest === null ? 'none waiting' : `oldest ${fig('open-prs.oldest-days', oldest, ageText(oldest))}`}</div></div>
<div class="tile ${tripped ? 'bad' : 'good'}"><div class="k">circuit breaker</div><div class="v">${fig('breaker.tripped', tripped, breakerText)}</div><div class="s">${escapeHtml(loop)} · ${fig('breaker.trips', trips, plural(trips, 'trip'))} in ${data.days} d</div></div>
</section>`;
}

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--card:#f6f8fa;--border:#d1d9e0;--track:#eaeef2;
--none:#ebedf0;--success:#1a7f37;--skipped:#d4a72c;--failed:#cf222e;--cancelled:#8c959f;--reverted:#8250df;--running:#0969da;--bar:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--card:#151b23;--border:#3d444d;--track:#262c36;
--none:#21262d;--success:#3fb950;--skipped:#d29922;--failed:#f85149;--cancelled:#6e7681;--reverted:#a371f7;--running:#4493f8;--bar:#4493f8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
main{max-width:1280px;margin:0 auto;padding:20px 24px 48px}
header h1{font-size:22px;margin:0 0 4px}header p{margin:0;color:var(--muted)}
h2{font-size:17px;margin:28px 0 10px}h2 small,h3 small{font-weight:400;color:var(--muted);font-size:13px;margin-left:6px}
h3{font-size:14px;margin:0 0 6px}
a{color:var(--running)}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.muted{color:var(--muted)}.small{font-size:12px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px;margin-top:18px}
.tile{background:var(--card);border:1px solid var(--border);border-radius:10px;padding:12px 14px}
.tile .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.tile .v{font-size:30px;font-weight:650;margin:2px 0}.tile .s{color:var(--muted);font-size:12px}
.tile.bad{border-color:var(--failed)}.tile.bad .v{color:var(--failed)}.tile.good .v{color:var(--success)}
section{margin-top:8px}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:4px 0 10px;color:var(--muted)}
.key{display:inline-flex;align-items:center;gap:5px}.sw{display:inline-block;width:12px;height:12px;border-radius:3px}
.cal-row{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}.cals{display:flex;flex-wrap:wrap;gap:18px}
.cal{margin:0}.calendar{max-width:100%;height:auto}.skips{flex:1;min-width:320px}
.axis{fill:var(--muted);font-size:10px}
.c-none{fill:var(--none);background:var(--none)}.c-success{fill:var(--success);background:var(--success)}
.c-skipped{fill:var(--skipped);background:var(--skipped)}.c-failed{fill:var(--failed);background:var(--failed)}
.c-cancelled{fill:var(--cancelled);background:var(--cancelled)}.c-reverted{fill:var(--reverted);background:var(--reverted)}
.c-running{fill:var(--running);background:var(--running)}
rect:hover{stroke:var(--fg);stroke-width:1.5}
table{border-collapse:collapse}caption{text-align:left;font-weight:600;padding-bottom:6px}
.bars td{padding:3px 8px 3px 0;vertical-align:middle}.bars .label{white-space:nowrap;max-width:420px;overflow:hidden;text-overflow:ellipsis}
.barcell{width:100%;min-width:120px}.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.track{display:block;height:12px;background:var(--track);border-radius:6px;overflow:hidden}
.fill{display:block;height:100%;border-radius:6px;background:var(--bar)}
.t-proposed,.t-allowed,.t-verified,.t-published,.t-bar{background:var(--bar)}.t-merged{background:var(--success)}
.t-reverted{background:var(--reverted)}.t-skipped{background:var(--skipped)}.t-failed{background:var(--failed)}
.funnels{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:20px}
.funnel{width:100%}.rules{width:100%}.rules th{font-size:12px;color:var(--muted);text-align:left}.rules .num{padding-left:14px}.funnel .label{width:80px}
.pair{display:grid;grid-template-columns:minmax(420px,auto) 1fr;gap:36px;align-items:start}@media (max-width:900px){.pair{grid-template-columns:1fr}}
.figures{width:100%}.figures th,.figures td{padding:4px 12px;border-bottom:1px solid var(--border)}
.figures th[scope=row]{text-align:left;font-weight:400;color:var(--muted)}
.list{width:100%}.list th,.list td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--border);vertical-align:top}
.list th{font-size:12px;color:var(--muted);font-weight:600}.list th.num,.list td.num{text-align:right}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;line-height:19px;color:#fff;background:var(--cancelled);white-space:nowrap}
.badge.t-success,.badge.t-merged{background:var(--success)}.badge.t-failed,.badge.t-closed,.badge.t-rejected{background:var(--failed)}
.badge.t-skipped,.badge.t-pushed,.badge.t-planned{background:var(--skipped);color:#1f2328}.badge.t-cancelled,.badge.t-none{background:var(--cancelled)}
.badge.t-reverted,.badge.t-rolled_back{background:var(--reverted)}.badge.t-running,.badge.t-submitted{background:var(--running)}
.breakers{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px;margin-bottom:12px}
.breaker{background:var(--card);border:1px solid var(--border);border-radius:10px;padding:10px 14px}.breaker p{margin:4px 0}
details.run{border-bottom:1px solid var(--border)}details.run summary{cursor:pointer;padding:7px 4px;display:flex;flex-wrap:wrap;gap:10px;align-items:center}
details.run summary::marker{color:var(--muted)}details.run[open] summary{background:var(--card)}
.run .date{font-variant-numeric:tabular-nums}.run .id{color:var(--muted)}.run .repo{font-weight:600}
.run .reason{max-width:520px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.run .body{padding:6px 8px 14px 22px}.gates{list-style:none;display:flex;flex-wrap:wrap;gap:6px;padding:0;margin:6px 0}
.add{color:var(--success)}.del{color:var(--failed)}q.reason{color:var(--muted);font-style:italic}
hr{border:0;border-top:1px dashed var(--border);margin:4px 0}
footer{margin-top:36px;color:var(--muted);font-size:12px}
`;

/**
 * The dashboard as one HTML document (see the module docs): key figures, the calendar of runs, the funnel and
 * figures of 7/30/90 days, the rules that block most, the open pull requests, the circuit breaker, the
 * repositories (when several) and every run with its gates, proposals, verdicts and pull requests.
 */
export function renderDashboard(data: DashboardData): string {
  const totals = windowTotals(data);
  const scope = data.repository === null ? `all repositories (${data.repositories.length})` : data.repository;
  const csp =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(`Self-Evolution · ${scope}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header><h1>Self-Evolution · ${escapeHtml(scope)}</h1>
<p>${escapeHtml(`The last ${data.days} days (${data.since} to ${data.until}, UTC) · generated ${when(data.generatedAt)}`)}</p></header>
${tiles(data, totals)}
${calendarSection(data)}
${funnelSection(totals, data.repositories.length > 1, blockingSection(data))}
${openPrSection(data)}
${breakerSection(data)}
${repositoriesSection(data)}
${runsSection(data)}
<footer>Self-Evolution dashboard · figures from the self_evolution_metrics and self_evolution_blocking_rules views (windows of 7, 30 and 90 days end at the time generated) · runs by their UTC day.</footer>
</main>
</body>
</html>
`;
}

/** Markdown-safe one-line text: no line breaks, pipes or angle brackets. */
function mdText(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/[|<>[\]`*_\\]/g, (c) => `&#${c.charCodeAt(0)};`)
    .slice(0, 300);
}

/**
 * The key figures for the job summary (Markdown): acceptance, merged and reverted over 7, 30 and 90 days, the
 * open pull requests and the breaker's state; `artifact` names where the dashboard file is.
 */
export function renderDashboardMarkdown(data: DashboardData, artifact?: string): string {
  const totals = windowTotals(data);
  const header = `| | ${totals.map((w) => `${w.windowDays} days`).join(' | ')} |`;
  const sep = `|---|${totals.map(() => '---:').join('|')}|`;
  const row = (label: string, cell: (w: WindowTotals) => string): string =>
    `| ${label} | ${totals.map(cell).join(' | ')} |`;
  const tripped = data.breaker.filter((b) => b.state === 'tripped');
  const breaker =
    tripped.length === 0
      ? `ok${data.breaker.length === 1 ? ` (loop ${data.breaker[0]!.loopOn ? 'on' : 'off'})` : ''}`
      : tripped
          .map(
            (b) =>
              `**tripped**${data.breaker.length > 1 ? ` ${mdText(b.repository)}` : ''} since ${when(b.openTrip!.trippedAt)} (${mdText(b.openTrip!.cause)}: ${mdText(b.openTrip!.reason)})`,
          )
          .join('; ');
  const oldest = data.openPullRequests.reduce((m, p) => Math.max(m, p.ageDays), 0);
  return [
    `### Self-Evolution figures: ${mdText(data.repository ?? 'all repositories')}`,
    '',
    header,
    sep,
    row(
      'acceptance (merged / published)',
      (w) => `${formatRate(w.acceptanceRate)}${w.published > 0 ? ` (${w.merged}/${w.published})` : ''}`,
    ),
    row('merged', (w) => String(w.merged)),
    row('reverted after merge', (w) => String(w.reverted)),
    '',
    `- circuit breaker: ${breaker}`,
    `- open pull requests: ${data.openPullRequests.length}${data.openPullRequests.length ? ` (oldest ${ageText(oldest)})` : ''}`,
    `- dashboard: \`${DASHBOARD_FILE}\`${artifact ? ` in the artifact \`${mdText(artifact)}\`` : ''}`,
    '',
  ].join('\n');
}
