/**
 * One long-lived `git cat-file --batch-command` process (git 2.36 or later) that answers every object
 * question of a facts gathering: `info <oid>` (type and size, no content read) and `contents <oid>`. Started
 * early, it costs one process start off the critical path instead of one per question; a process start is
 * the dominant cost of a small check (node forks its whole heap to start one).
 *
 * Output is read as git's batch format: `<oid> <type> <size>\n` (then, for `contents`, the object's bytes and
 * a `\n`), or `<oid> missing\n`. Without `--buffer`, git flushes after every object, so answers arrive as soon
 * as they are ready. Objects are read as stored: no filter, textconv or conversion runs.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { GIT_DEFAULT_TIMEOUT_MS, GitError } from './exec.js';

/** Type and size (bytes) of an object, or null when the repository does not have it. */
export type ObjectInfo = { type: string; size: number } | null;

interface Pending {
  kind: 'info' | 'contents';
  header?: { type: string; size: number };
  resolve: (value: ObjectInfo | Buffer | null) => void;
  reject: (e: unknown) => void;
}

/** Reads objects of a repository through one `git cat-file --batch-command` process. */
export class ObjectReader {
  private child: ChildProcessWithoutNullStreams | undefined;
  private chunks: Buffer[] = [];
  private length = 0;
  private readonly queue: Pending[] = [];
  private failure: unknown;
  private stderr = '';

  /**
   * @param args git's arguments before `cat-file` (e.g. `-c` settings), run in `cwd` with `env` (the whole
   *   environment of the process).
   */
  constructor(
    private readonly args: readonly string[],
    private readonly cwd: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Starts the process now (it is otherwise started by the first question). */
  start(): void {
    if (this.child !== undefined || this.failure !== undefined) return;
    const child = spawn('git', [...this.args, 'cat-file', '--batch-command'], {
      cwd: this.cwd,
      env: this.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.child = child;
    const timer = setTimeout(() => child.kill('SIGTERM'), GIT_DEFAULT_TIMEOUT_MS);
    timer.unref();
    child.stdout.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.length += chunk.length;
      this.drain();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 16 * 1024) this.stderr += chunk.toString('utf8');
    });
    child.stdin.on('error', () => {});
    const fail = (detail: string | undefined, exitCode: number | null, signal: string | null) => {
      clearTimeout(timer);
      this.failure ??= new GitError({
        args: ['cat-file', '--batch-command'],
        cwd: this.cwd,
        exitCode,
        signal,
        timedOut: false,
        stderr: this.stderr,
        detail,
      });
      for (const p of this.queue.splice(0)) p.reject(this.failure);
    };
    child.on('error', (e: NodeJS.ErrnoException) => fail(`${e.code ?? 'error'}: ${e.message}`, null, null));
    child.on('close', (code, signal) => {
      if (this.queue.length > 0) fail('exited before answering', code, signal);
      else clearTimeout(timer);
      this.failure ??= new Error('git cat-file --batch-command was closed');
    });
  }

  /** Types and sizes of `oids` (each once). @throws GitError when the process fails. */
  async info(oids: readonly string[]): Promise<Map<string, ObjectInfo>> {
    return (await this.ask('info', oids)) as Map<string, ObjectInfo>;
  }

  /** Contents of `oids` (each once); missing objects are left out. @throws GitError when the process fails. */
  async contents(oids: readonly string[]): Promise<Map<string, Buffer>> {
    const all = (await this.ask('contents', oids)) as Map<string, Buffer | null>;
    const out = new Map<string, Buffer>();
    for (const [oid, b] of all) if (b !== null) out.set(oid, b);
    return out;
  }

  /** Ends the process (it exits when its input ends). Idempotent. */
  close(): void {
    if (this.child !== undefined && !this.child.stdin.writableEnded) this.child.stdin.end();
  }

  private async ask(kind: 'info' | 'contents', oids: readonly string[]): Promise<Map<string, unknown>> {
    const unique = [...new Set(oids)].filter((o) => /^[0-9a-f]{4,64}$/.test(o));
    const result = new Map<string, unknown>();
    if (unique.length === 0) return result;
    this.start();
    if (this.failure !== undefined) throw this.failure;
    const answers = unique.map((oid) =>
      new Promise<ObjectInfo | Buffer | null>((resolve, reject) => {
        this.queue.push({ kind, resolve, reject });
      }).then((v) => result.set(oid, v)),
    );
    this.child!.stdin.write(unique.map((oid) => `${kind} ${oid}\n`).join(''));
    await Promise.all(answers);
    return result;
  }

  /** Removes and returns the first `n` bytes of what was read. */
  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.length);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.length -= n;
    return out;
  }

  /** Index of the first newline in what was read, or -1. */
  private newline(): number {
    let offset = 0;
    for (const c of this.chunks) {
      const i = c.indexOf(10);
      if (i >= 0) return offset + i;
      offset += c.length;
    }
    return -1;
  }

  /** Answers the questions at the head of the queue with what has been read. */
  private drain(): void {
    while (this.queue.length > 0) {
      const p = this.queue[0]!;
      if (p.header === undefined) {
        const nl = this.newline();
        if (nl < 0) return;
        const line = this.take(nl + 1).toString('utf8', 0, nl);
        const m = /^\S+ (?:(missing|ambiguous)|(\S+) (\d+))$/.exec(line);
        if (!m) {
          const e = new Error(`unexpected git cat-file output ${JSON.stringify(line.slice(0, 80))}`);
          this.failure = e;
          for (const q of this.queue.splice(0)) q.reject(e);
          this.child?.kill('SIGTERM');
          return;
        }
        if (m[1] !== undefined) {
          this.queue.shift();
          p.resolve(null);
          continue;
        }
        const header = { type: m[2]!, size: Number(m[3]) };
        if (p.kind === 'info') {
          this.queue.shift();
          p.resolve(header);
          continue;
        }
        p.header = header;
      }
      if (this.length < p.header.size + 1) return;
      const content = this.take(p.header.size + 1).subarray(0, p.header.size);
      this.queue.shift();
      p.resolve(content);
    }
  }
}
