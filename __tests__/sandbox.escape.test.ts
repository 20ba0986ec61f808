/**
 * Holes a sandbox must not have when the run itself runs as root (this machine, container jobs, some
 * self-hosted runners): a sandboxed command then keeps uid 0 (no user namespace; its capabilities are dropped),
 * and what the kernel lets uid 0 do without capabilities is open unless a mount forbids it. Both were found
 * open and are closed (src/sandbox/mechanism.ts):
 *
 * - /proc/sys: sysctls check only the file mode for uid 0, so kernel.core_pattern could be written, and a pipe
 *   pattern there ("|/path/to/a/script/of/the/agent") makes the kernel run the agent's program as root outside
 *   every namespace on the next crash. /proc/sys, /proc/sysrq-trigger, /proc/bus, /proc/fs and /proc/irq are
 *   now read-only on both mechanisms (PROC_READ_ONLY).
 * - the host's /dev (unshare): device nodes open on a read-only mount, so block devices (raw writes past every
 *   mount) and /dev/kmsg could be opened for writing. unshare now mounts a /dev of its own, as bwrap does.
 *
 * The probes only OPEN the files for writing; nothing is written. A last test shows the probe does see a
 * file it may write, so an empty answer means closed, not a broken probe.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import { headSha } from '../src/git/git.js';
import { runCommand } from '../src/sandbox/runner.js';
import { createWorkspace, type Workspace } from '../src/sandbox/workspace.js';
import type { SandboxTool } from '../src/sandbox/mechanism.js';
import type { TempRepo } from './helpers/git-repo.js';
import { eachMechanism, makeTargetRepo, sandboxTools } from './sandbox.helpers.js';

const TOOLS = await sandboxTools();

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
  it('sysctls cannot be written (kernel.core_pattern, vm.drop_caches): /proc/sys is read-only', async () => {
    const out = await inSandbox(
      tool,
      openForWriting(
        '/proc/sys/kernel/core_pattern /proc/sys/vm/drop_caches /proc/sysrq-trigger /proc/sys/kernel/modprobe',
      ),
    );
    expect(out).toBe('probed\n');
  });

  it("no block device of the host's, nor /dev/kmsg, can be opened for writing", async () => {
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
  });

  it('the probe can see a hole: a file of its own work tree opens for writing', async () => {
    expect(await inSandbox(tool, `: > mine; ${openForWriting('./mine')}`)).toBe('open ./mine\nprobed\n');
  });
});
