/**
 * Known holes of the sandbox (issue #8) when the run itself runs as root, as on this machine, in container
 * jobs and on some self-hosted runners. A sandboxed command then keeps uid 0 (no user namespace; its
 * capabilities are dropped), and what the kernel lets uid 0 do without capabilities is open unless a mount
 * forbids it:
 *
 * - /proc/sys (both mechanisms): sysctls check only the file mode for uid 0, and the fresh /proc is mounted
 *   read-write without covering /proc/sys. So kernel.core_pattern can be written, and a pipe pattern there
 *   ("|/path/to/a/script/of/the/agent") makes the kernel run the agent's program as root outside every
 *   namespace on the next crash of any process: a way out of the sandbox.
 * - the host's /dev (unshare only; bwrap mounts a minimal /dev of its own): the mount is read-only, but
 *   device nodes still open, so block devices (here /dev/loop*; elsewhere the disks: raw writes past every
 *   mount), /dev/kmsg and the terminals of other root sessions can be opened for writing.
 *
 * The probes only OPEN the files for writing; nothing is written. As root the tests that show a hole are
 * `it.failing` (they pass while the hole is there and fail once it is closed: then make them `it`); as any
 * other user the kernel denies all of it and they are plain tests. SE_SANDBOX_STRICT=1 runs them all as plain
 * tests, to see the holes as failures.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import { headSha } from '../src/git/git.js';
import { runCommand } from '../src/sandbox/runner.js';
import { createWorkspace, type Workspace } from '../src/sandbox/workspace.js';
import type { SandboxMechanism, SandboxTool } from '../src/sandbox/mechanism.js';
import type { TempRepo } from './helpers/git-repo.js';
import { eachMechanism, makeTargetRepo, sandboxTools } from './sandbox.helpers.js';

const TOOLS = await sandboxTools();
const ROOT = process.getuid?.() === 0;

/** `it.failing` where a hole is known (as root, on the listed mechanisms), else `it`. */
const knownHole = (mechanism: SandboxMechanism, on: readonly SandboxMechanism[]) =>
  ROOT && on.includes(mechanism) && process.env.SE_SANDBOX_STRICT !== '1' ? it.failing : it;

let repo: TempRepo;
let ws: Workspace;

beforeAll(async () => {
  repo = await makeTargetRepo({ 'README.md': 'hello\n' });
  ws = await createWorkspace(repo.dir, await headSha(repo.dir));
});
afterAll(async () => {
  await ws?.remove();
  await repo?.cleanup();
  if (ws) await rm(ws.root, { recursive: true, force: true });
});

/** The stdout of `command` in the sandbox of `tool` (the workspace's spec, network none). */
async function inSandbox(tool: SandboxTool, command: string): Promise<string> {
  const r = await runCommand(command, {
    cwd: ws.work,
    timeoutMs: 30_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: ws.home, TMPDIR: ws.tmp },
    sandbox: { spec: ws.spec(tool, { network: false, hidden: [repo.dir] }), newRoot: ws.newRoot },
  });
  expect(r.stderrTail).not.toContain('self-evolution sandbox');
  expect(r.exitCode).toBe(0);
  return r.stdoutTail;
}

/** Prints "open PATH" for each of the paths (shell words) it can open for writing. */
const openForWriting = (paths: string): string =>
  `for f in ${paths}; do if [ -e "$f" ] && ( exec 3>>"$f" ) 2>/dev/null; then echo "open $f"; fi; done; echo probed`;

eachMechanism(TOOLS, (mechanism, tool) => {
  knownHole(mechanism, ['bwrap', 'unshare'])(
    'sysctls cannot be written (kernel.core_pattern, vm.drop_caches): /proc/sys is read-only',
    async () => {
      const out = await inSandbox(
        tool,
        openForWriting('/proc/sys/kernel/core_pattern /proc/sys/vm/drop_caches'),
      );
      expect(out).toBe('probed\n');
    },
  );

  knownHole(mechanism, ['unshare'])(
    "no block device of the host's, nor /dev/kmsg, can be opened for writing",
    async () => {
      // Only block devices and /dev/kmsg are probed: opening some other devices has effects (a watchdog
      // starts counting). Only device nodes count: bwrap's own /dev is a tmpfs where ">>" makes a plain file.
      const out = await inSandbox(
        tool,
        [
          'for f in /dev/*; do',
          '  if [ -b "$f" ] || { [ "$f" = /dev/kmsg ] && [ -c "$f" ]; }; then',
          '    if ( exec 3>>"$f" ) 2>/dev/null; then echo "open $f"; fi',
          '  fi',
          'done',
          'echo probed',
        ].join('\n'),
      );
      expect(out).toBe('probed\n');
    },
  );

  it('the probe can see a hole: a file of its own work tree opens for writing', async () => {
    expect(await inSandbox(tool, `: > mine; ${openForWriting('./mine')}`)).toBe('open ./mine\nprobed\n');
  });
});
