/** The `prune` command's text: what was deleted (or would be) per table, the batches, and the old runs kept. */
import type { PruneCounts, PruneResult } from '../store/prune.js';

/** The rows of the table: a label and the count it shows, in the order they are printed. */
const ROWS: readonly [label: string, key: keyof PruneCounts][] = [
  ['self_evolution_runs', 'runs'],
  ['self_evolution_reflections', 'reflections'],
  ['self_evolution_proposals', 'proposals'],
  ['self_evolution_actions', 'actions'],
  ['self_evolution_rollbacks', 'rollbacks'],
  ['self_evolution_rollbacks unlinked (run_id cleared)', 'rollbacksUnlinked'],
  ['self_evolution_breaker_trips unlinked (run_id cleared)', 'breakerTripsUnlinked'],
];

/**
 * The result of pruneRuns as text (several lines, no trailing newline).
 * @param olderThan the age as the user wrote it, e.g. '400d'
 */
export function renderPrune(result: PruneResult, olderThan: string): string {
  const scope = result.repository ?? 'every repository';
  const cutoff = result.cutoff
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');
  const heading = result.dryRun ? 'would delete' : 'deleted';
  const width = Math.max(...ROWS.map(([label]) => label.length));
  const lines = [
    `${result.dryRun ? 'dry run: nothing deleted; ' : ''}runs of ${scope} started before ${cutoff} (older than ${olderThan})`,
    `${'table'.padEnd(width)}  ${heading}`,
    ...ROWS.map(
      ([label, key]) => `${label.padEnd(width)}  ${String(result.deleted[key]).padStart(heading.length)}`,
    ),
  ];
  if (!result.dryRun) {
    lines.push(`${result.batches} batch(es) of at most ${result.batchSize} runs, each its own transaction`);
  }
  const { unfinished, inFlight, locked } = result.kept;
  lines.push(
    `kept: ${unfinished} still running, ${inFlight} with a pull request or revert not in a final state` +
      (result.dryRun ? '' : `, ${locked} locked by another transaction (the next prune deletes them)`),
  );
  return lines.join('\n');
}
