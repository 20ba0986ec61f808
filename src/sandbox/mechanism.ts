/**
 * The sandbox every command of the repository runs in: command proposers (agent CLIs), the
 * repository checks of the reflection and, in live mode, the verify commands. Two mechanisms build the same
 * isolation out of Linux namespaces:
 *
 * - `bwrap` (bubblewrap, the Debian/Ubuntu package `bubblewrap`; https://github.com/containers/bubblewrap):
 *   preferred where present;
 * - `unshare` (util-linux) with a setup script run as the new namespaces' first process: `mount --rbind /`
 *   into a scratch root, every mount there remounted read-only, `pivot_root` into it, capabilities dropped
 *   with `setpriv` (util-linux).
 *
 * Either way the command gets: its own PID namespace with a fresh `/proc` (no ancestor's environment or
 * command line is readable), IPC and UTS namespaces, a mount namespace in which the whole file system is
 * read-only except the writable paths of its {@link SandboxSpec}, `/tmp` (and `/dev/shm`) empty and private,
 * the hidden paths replaced by empty directories (or `/dev/null` for files), optionally no network (a network
 * namespace with loopback only), no capabilities and `no_new_privs` (a setuid program gains nothing). When its
 * first process ends (or is killed on a timeout or cancel) the kernel kills every other process of the
 * namespace: nothing it started outlives it.
 */
import { execFile } from 'node:child_process';
import { constants, statSync } from 'node:fs';
import { access, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { scratchPrefix } from '../git/exec.js';

/** A way to build the sandbox. */
export type SandboxMechanism = 'bwrap' | 'unshare';

/** The config's choice: a mechanism, the first that works ('auto'), or no sandbox at all ('none'). */
export type SandboxMode = 'auto' | SandboxMechanism | 'none';

/** A mechanism found working on this machine, with the absolute path of its program. */
export interface SandboxTool {
  mechanism: SandboxMechanism;
  /** Absolute path of `bwrap` or `unshare`. */
  program: string;
  /**
   * Absolute path of util-linux `setpriv` (unshare only): the sandbox is started through
   * `setpriv --pdeathsig SIGKILL`, so it dies with the run's process even when that is killed outright
   * (bwrap's own `--die-with-parent` does the same).
   */
  setpriv?: string;
}

/**
 * What one sandboxed command may see and touch. Every path is absolute and, for the caller's own good, real
 * (symbolic links resolved): a mount follows links, a rule about a path does not.
 */
export interface SandboxSpec {
  tool: SandboxTool;
  /** Directory the command starts in (one of `writable`, usually the scratch work tree). */
  cwd: string;
  /** Paths mounted read-write at the same place; everything else is read-only. */
  writable: readonly string[];
  /**
   * Paths shown read-only at the same place even when they lie under a hidden path or under `/tmp` (e.g. the
   * object directory of the target repository, which the scratch repository borrows objects from).
   */
  readOnly: readonly string[];
  /** Paths replaced by an empty directory (a file: by /dev/null), e.g. the target checkout. Missing ones are skipped. */
  hidden: readonly string[];
  /** false: a network namespace of its own (loopback only). */
  network: boolean;
}

/** The command line that runs `/bin/sh -c <command>` in the sandbox of `spec`. */
export interface SandboxedCommand {
  file: string;
  args: string[];
}

/**
 * Parts of /proc a command must not write even as root (uid 0 passes the file-mode checks of sysctls and
 * /proc/sysrq-trigger without any capability): Docker's default read-only paths ("ReadonlyPaths" of the moby
 * OCI defaults).
 */
export const PROC_READ_ONLY: readonly string[] = Object.freeze([
  '/proc/sys',
  '/proc/sysrq-trigger',
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
]);

/** What is at `p` (links followed): a directory, something else, or nothing. */
function kindOf(p: string): 'dir' | 'file' | 'missing' {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

/**
 * The bubblewrap arguments of `spec` (bubblewrap(1)): processes in the order given, so hidden paths come
 * after the read-only root and before the paths shown again inside them.
 */
function bwrapArgs(spec: SandboxSpec, command: string): string[] {
  const args = [
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(spec.network ? [] : ['--unshare-net']),
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    // The kernel's knobs stay read-only even for a command that runs as root (Docker's default read-only paths).
    ...PROC_READ_ONLY.flatMap((p) => ['--ro-bind-try', p, p]),
    '--tmpfs',
    '/tmp',
  ];
  for (const p of spec.hidden) {
    // Under /tmp it is gone already (a fresh tmpfs); elsewhere an empty tmpfs (or /dev/null) covers it.
    if (p === '/tmp' || p.startsWith('/tmp/')) continue;
    const kind = kindOf(p);
    if (kind === 'dir') args.push('--tmpfs', p);
    else if (kind === 'file') args.push('--ro-bind', '/dev/null', p);
  }
  for (const p of spec.readOnly) args.push('--ro-bind-try', p, p);
  for (const p of spec.writable) args.push('--bind', p, p);
  args.push('--chdir', spec.cwd, '/bin/sh', '-c', command);
  return args;
}

/**
 * The setup script of the `unshare` mechanism, run by `/bin/sh` as PID 1 of the new namespaces with
 * arguments: new root (an empty directory), start directory, network ("on"/"none"), the absolute path of
 * setpriv, the command, then
 * `hide:PATH`, `ro:PATH` and `rw:PATH` entries. Fails (exit 125, nothing run) when a mount fails.
 */
export const UNSHARE_SETUP_SCRIPT = `set -eu
R=$1; CWD=$2; NET=$3; SETPRIV=$4; CMD=$5; shift 5
# mount, pivot_root and ip live in sbin, which a user's PATH may lack; the command gets its PATH back.
SE_PATH=$PATH; PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
fail() { echo "self-evolution sandbox (unshare): $*" >&2; exit 125; }
mount --make-rprivate / || fail "cannot make mounts private"
mount --rbind / "$R" || fail "cannot bind / to $R"
SYS_RW=
MOUNTS=$(awk -v r="$R" '$5==r || index($5, r "/")==1 {print $5}' /proc/self/mountinfo | sort -r)
for m in $MOUNTS; do
  case $m in *\\\\*) fail "mount point with an escaped name: $m";; esac
  mount -o remount,bind,ro "$m" 2>/dev/null && continue
  case $m in
    "$R/sys"|"$R/sys/"*) SYS_RW=1 ;;
    "$R/proc"|"$R/proc/"*|"$R/dev"|"$R/dev/"*) ;;
    *) fail "cannot make $m read-only" ;;
  esac
done
# What cannot be made read-only in /sys is not shown at all.
if [ -n "$SYS_RW" ]; then mount -t tmpfs -o size=16k,mode=0555,ro se-sys "$R/sys" || fail "cannot hide /sys"; fi
# A /dev of its own, as bubblewrap's --dev: the harmless nodes only, no disk, loop or kmsg device.
mount -t tmpfs -o mode=0755,nosuid,noexec se-dev "$R/dev" || fail "cannot mount /dev"
for n in null zero full random urandom tty; do
  touch "$R/dev/$n" && mount --bind "/dev/$n" "$R/dev/$n" || fail "cannot bind /dev/$n"
done
mkdir "$R/dev/shm" "$R/dev/pts"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 se-pts "$R/dev/pts" 2>/dev/null || :
ln -s pts/ptmx "$R/dev/ptmx"; ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t tmpfs -o mode=1777,nosuid,nodev se-tmp "$R/tmp" || fail "cannot mount /tmp"
mount -t tmpfs -o mode=1777,nosuid,nodev se-shm "$R/dev/shm" || fail "cannot mount /dev/shm"
for spec in "$@"; do
  kind=\${spec%%:*}; p=\${spec#*:}
  case $kind in
    hide)
      if [ ! -e "$R$p" ] && [ ! -L "$R$p" ]; then :
      elif [ -d "$R$p" ] && [ ! -L "$R$p" ]; then mount -t tmpfs -o size=64k,mode=0755,nosuid,nodev se-hidden "$R$p" || fail "cannot hide $p"
      else mount --bind /dev/null "$R$p" || fail "cannot hide $p"; fi ;;
    ro) if [ -e "$p" ]; then mkdir -p "$R$p" && mount --bind "$p" "$R$p" && mount -o remount,bind,ro "$R$p" || fail "cannot show $p read-only"; fi ;;
    rw) mkdir -p "$R$p" && mount --bind "$p" "$R$p" || fail "cannot bind $p" ;;
  esac
done
mount -t proc -o nosuid,nodev,noexec proc "$R/proc" || fail "cannot mount /proc"
# The kernel's knobs stay read-only even for a command that runs as root (Docker's default read-only paths).
for k in sys sysrq-trigger bus fs irq; do
  if [ -e "$R/proc/$k" ]; then
    mount --bind "$R/proc/$k" "$R/proc/$k" && mount -o remount,bind,ro "$R/proc/$k" || fail "cannot make /proc/$k read-only"
  fi
done
mkdir "$R/tmp/.se-old-root"
cd "$R"
pivot_root . tmp/.se-old-root || fail "pivot_root failed"
umount -l /tmp/.se-old-root || fail "cannot detach the old root"
rmdir /tmp/.se-old-root
if [ "$NET" = none ] && command -v ip >/dev/null 2>&1; then ip link set lo up 2>/dev/null || :; fi
cd "$CWD" || fail "cannot enter $CWD"
SETSID=$(command -v setsid) || fail "setsid (util-linux) is not installed"
PATH=$SE_PATH
# A session of its own (as bubblewrap's --new-session): kill 0 reaches no process outside.
exec "$SETSID" "$SETPRIV" --no-new-privs --inh-caps=-all --bounding-set=-all /bin/sh -c "$CMD"
`;

/** Arguments of unshare(1) for `spec`; `newRoot` is an empty directory the script mounts the root on. */
function unshareArgs(spec: SandboxSpec, command: string, newRoot: string): string[] {
  const user = process.getuid?.() === 0 ? [] : ['--user', '--map-root-user'];
  return [
    ...user,
    '--pid',
    '--fork',
    '--kill-child=SIGKILL',
    '--mount',
    '--uts',
    '--ipc',
    ...(spec.network ? [] : ['--net']),
    '/bin/sh',
    '-c',
    UNSHARE_SETUP_SCRIPT,
    'self-evolution-sandbox',
    newRoot,
    spec.cwd,
    spec.network ? 'on' : 'none',
    spec.tool.setpriv ?? 'setpriv',
    command,
    ...spec.hidden.map((p) => `hide:${p}`),
    ...spec.readOnly.map((p) => `ro:${p}`),
    ...spec.writable.map((p) => `rw:${p}`),
  ];
}

/**
 * The program and arguments that run `/bin/sh -c <command>` in the sandbox of `spec`. For `unshare`,
 * `newRoot` must be an empty directory outside every writable path (the caller makes and removes it).
 * @throws Error when a path of `spec` is not absolute or holds "..", a newline or a NUL character.
 */
export function sandboxedCommand(spec: SandboxSpec, command: string, newRoot?: string): SandboxedCommand {
  checkPaths(spec);
  if (spec.tool.mechanism === 'bwrap') return { file: spec.tool.program, args: bwrapArgs(spec, command) };
  if (newRoot === undefined) throw new Error('the unshare sandbox needs an empty directory for its root');
  const args = unshareArgs(spec, command, newRoot);
  if (spec.tool.setpriv === undefined) return { file: spec.tool.program, args };
  return { file: spec.tool.setpriv, args: ['--pdeathsig', 'SIGKILL', '--', spec.tool.program, ...args] };
}

/** @throws Error naming the first path of `spec` that is not absolute or holds a newline. */
function checkPaths(spec: SandboxSpec): void {
  for (const p of [spec.cwd, ...spec.writable, ...spec.readOnly, ...spec.hidden]) {
    if (!p.startsWith('/') || /[\n\r\0]/.test(p) || p.split('/').includes('..')) {
      throw new Error(
        `sandbox path ${JSON.stringify(p)} must be absolute, without "..", newlines or NUL characters`,
      );
    }
  }
}

/** Absolute path of `name` on PATH (executable), or undefined. */
async function which(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs `file args` and resolves with its exit code and last stderr line (never rejects). */
function tryRun(file: string, args: string[]): Promise<{ ok: boolean; why: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: 15_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      (err, _o, e) => {
        const line =
          String(e)
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => l !== '')
            .pop() ?? '';
        resolve({ ok: err === null, why: line || (err ? err.message : '') });
      },
    );
  });
}

/** The outcome of probing one mechanism. */
export interface ProbeResult {
  mechanism: SandboxMechanism;
  /** The tool, when a trial command ran in its sandbox. */
  tool?: SandboxTool;
  /** Why it does not work (program missing, namespaces refused: the program's own message). */
  why?: string;
}

/**
 * Tries `mechanism` for real: a trial command (`/bin/sh -c 'test -w .'`) in a sandbox with a scratch
 * writable directory, a hidden path and no network. Never rejects.
 */
export async function probeMechanism(mechanism: SandboxMechanism): Promise<ProbeResult> {
  const program = await which(mechanism);
  if (program === undefined) return { mechanism, why: `${mechanism} is not installed (not found on PATH)` };
  let setpriv: string | undefined;
  if (mechanism === 'unshare') {
    setpriv = await which('setpriv');
    if (setpriv === undefined) return { mechanism, why: 'setpriv (util-linux) is not installed' };
  }
  const dir = await realpath(await mkdtemp(scratchPrefix('probe')));
  try {
    const work = join(dir, 'work');
    const root = join(dir, 'root');
    await mkdir(work);
    await mkdir(root);
    const tool: SandboxTool = { mechanism, program, ...(setpriv ? { setpriv } : {}) };
    const spec: SandboxSpec = { tool, cwd: work, writable: [work], readOnly: [], hidden: [], network: false };
    const cmd = sandboxedCommand(spec, 'test -w . && test -d /proc/1 && test ! -e /proc/2147483647', root);
    const r = await tryRun(cmd.file, cmd.args);
    return r.ok ? { mechanism, tool } : { mechanism, why: r.why || `${mechanism} failed` };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** The sandbox a run uses, or why it has none. */
export type SandboxChoice =
  { mode: 'none' } | { mode: SandboxMechanism; tool: SandboxTool } | { mode: 'unavailable'; message: string };

/** Probe results by mechanism, kept for the life of the process (a machine does not change mid-run). */
const probes = new Map<SandboxMechanism, Promise<ProbeResult>>();

/** {@link probeMechanism}, once per process. */
function probeOnce(mechanism: SandboxMechanism): Promise<ProbeResult> {
  let p = probes.get(mechanism);
  if (p === undefined) {
    p = probeMechanism(mechanism);
    probes.set(mechanism, p);
  }
  return p;
}

/**
 * Chooses the sandbox for `mode`: 'none' as asked; a named mechanism when its trial works; 'auto' the first of
 * bwrap, unshare that works. Otherwise 'unavailable' with a message saying why each failed and how to fix it
 * (install bubblewrap, allow unprivileged user namespaces, or set `sandbox: "none"`). Never rejects.
 */
export async function chooseSandbox(mode: SandboxMode): Promise<SandboxChoice> {
  if (mode === 'none') return { mode: 'none' };
  const order: SandboxMechanism[] = mode === 'auto' ? ['bwrap', 'unshare'] : [mode];
  const reasons: string[] = [];
  for (const m of order) {
    const r = await probeOnce(m);
    if (r.tool) return { mode: m, tool: r.tool };
    reasons.push(`${m}: ${r.why}`);
  }
  return {
    mode: 'unavailable',
    message:
      `cannot run the repository's commands in a sandbox (${reasons.join('; ')}). ` +
      'Install bubblewrap (Debian/Ubuntu: sudo apt-get install -y bubblewrap) or make unprivileged user ' +
      'namespaces available to unshare (util-linux); or, to run agent commands and checks without isolation, ' +
      'set "sandbox": "none" in the config (recorded on the run and shown in the job summary)',
  };
}

/** Forgets the probe results (tests). */
export function resetSandboxProbes(): void {
  probes.clear();
}
