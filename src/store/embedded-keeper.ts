/**
 * The idle keeper of an embedded Postgres server (embedded-server.ts), run as its own detached process:
 * `node embedded-keeper.js <dir> <idleMs>`. One per directory (its lock file `keeper.pid`). Every quarter of the
 * idle time (at least 0.2 s, at most 30 s) it counts the server's client connections (and every second it checks
 * that the server still runs); once none has been seen for
 * `idleMs`, it takes `start.lock`, counts again and stops the server "smart" (a client that connected in between
 * keeps its session to the end; a newcomer waits for the lock and starts the server again). It exits when the
 * server is gone, whoever stopped it.
 */
import { pathToFileURL } from 'node:url';

import { countClients, readRunningServer, serverLayout, shutdownServer } from './embedded-server.js';
import { tryLockFile } from './lockfile.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Watches the server of `dir` and stops it after `idleMs` without clients.
 * @returns when the server is gone or another keeper watches it
 */
export async function keep(dir: string, idleMs: number): Promise<void> {
  const layout = serverLayout(dir);
  const mine = tryLockFile(layout.keeperPidFile, 'the idle keeper of the embedded Postgres server');
  if ('heldBy' in mine) return;
  try {
    const poll = Math.min(30_000, Math.max(200, Math.round(idleMs / 4)));
    const tick = Math.min(poll, 1000);
    let lastBusy = Date.now();
    let lastCount = 0;
    for (;;) {
      await sleep(tick);
      const running = readRunningServer(layout.dir);
      if (running === null) return;
      if (Date.now() - lastCount < poll) continue;
      lastCount = Date.now();
      const clients = await countClients(layout.dir, running).catch(() => 1);
      if (clients > 0) {
        lastBusy = Date.now();
        continue;
      }
      if (Date.now() - lastBusy < idleMs) continue;
      const lock = tryLockFile(layout.startLock, 'the stop of the embedded Postgres server');
      if ('heldBy' in lock) continue; // someone starts or stops it right now
      try {
        const again = readRunningServer(layout.dir);
        if (again === null) return;
        if ((await countClients(layout.dir, again).catch(() => 1)) > 0) {
          lastBusy = Date.now();
          continue;
        }
        await shutdownServer(again, 'smart');
        return;
      } finally {
        lock.release();
      }
    }
  } finally {
    mine.release();
  }
}

const [dir, idle] = process.argv.slice(2);
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain && dir !== undefined && idle !== undefined) {
  keep(dir, Number(idle)).then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
