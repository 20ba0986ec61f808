/**
 * Writing the HTML dashboard (report/dashboard.ts) to a file: for the CLI's `report` command, and into a run's
 * artifacts on Actions, where it is uploaded with them.
 *
 * On Actions the run uploads its own artifacts (run.ts saveArtifacts, after the run record is closed); the
 * adapter wraps the uploader it injects ({@link dashboardArtifact}) so the dashboard is written into the same
 * directory and added to the same artifact just before the upload, and the run's stages stay untouched. A
 * dashboard that cannot be read or written is a warning, never a failed upload or run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../deps.js';
import { oneLine } from '../secrets.js';
import type { Db, Queryable } from '../store/db.js';
import { readDashboard, type DashboardData, type DashboardScope } from '../store/dashboard.js';
import type { ArtifactUploader } from './artifacts.js';
import { DASHBOARD_FILE, renderDashboard, renderDashboardMarkdown } from './dashboard.js';

/** The window of the dashboard a run uploads, days. */
export const RUN_DASHBOARD_DAYS = 90;

/**
 * Reads the dashboard's data for `scope`, renders it and writes it to `path` (its directory created if missing).
 * @returns the data it was rendered from
 * @throws the read's or the file system's error
 */
export async function writeDashboard(
  db: Queryable,
  scope: DashboardScope,
  path: string,
): Promise<DashboardData> {
  const data = await readDashboard(db, scope);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, renderDashboard(data), 'utf8');
  return data;
}

/** The dashboard of a run's artifacts: the uploader wrapper and what it wrote. */
export interface DashboardArtifact {
  /**
   * `inner`, after writing DASHBOARD_FILE for the repository into the artifact's root directory and adding it to
   * the files uploaded. When the dashboard cannot be read or written, a warning is logged and `inner` uploads
   * the files it was given.
   */
  wrap(inner: ArtifactUploader): ArtifactUploader;
  /** The data of the dashboard written last, or null when none was (no upload, or it failed). */
  data(): DashboardData | null;
  /** The key figures for the job summary (report/dashboard.ts renderDashboardMarkdown); '' without data. */
  summaryMarkdown(): string;
}

/**
 * The dashboard of `repository` among a run's artifacts (see the module docs).
 * @param input.openDb opens the database the run uses (a connection of its own, closed after the read)
 * @param input.secrets masked in the warning
 */
export function dashboardArtifact(input: {
  repository: string;
  openDb: () => Promise<Db>;
  logger: Pick<Logger, 'info' | 'warn'>;
  secrets: readonly string[];
  days?: number;
}): DashboardArtifact {
  let written: { data: DashboardData; artifact: string | null } | null = null;
  return {
    wrap: (inner) => async (upload) => {
      const path = join(upload.rootDirectory, DASHBOARD_FILE);
      let files = upload.files;
      let now: { data: DashboardData; artifact: string | null } | null = null;
      try {
        const db = await input.openDb();
        try {
          const scope = { repository: input.repository, days: input.days ?? RUN_DASHBOARD_DAYS };
          now = { data: await writeDashboard(db, scope, path), artifact: null };
        } finally {
          await db.close().catch(() => undefined);
        }
        if (!files.includes(path)) files = [...files, path];
        written = now;
        input.logger.info(`dashboard written: ${path}`);
      } catch (err) {
        input.logger.warn(`the dashboard was not written: ${oneLine(err, input.secrets)}`);
      }
      const result = await inner({ ...upload, files });
      if (now !== null) now.artifact = upload.name;
      return result;
    },
    data: () => written?.data ?? null,
    summaryMarkdown: () =>
      written ? renderDashboardMarkdown(written.data, written.artifact ?? undefined) : '',
  };
}
