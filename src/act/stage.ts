/** The act stage of a run: what happens to the allowed proposals. */
import type { Logger } from '../deps.js';
import type { ProposalReport } from '../records.js';

/**
 * Stage: act on the allowed proposals (verdict 'allowed'). Dry run only for now: nothing is applied, pushed or
 * opened; the number that would be opened as pull requests is logged.
 */
export async function actOn(
  proposals: readonly Pick<ProposalReport, 'verdict'>[],
  logger: Logger,
): Promise<void> {
  const allowed = proposals.filter((p) => p.verdict === 'allowed').length;
  logger.info(
    `dry run: ${allowed} allowed proposal(s) would be opened as pull requests; nothing was changed`,
  );
}
