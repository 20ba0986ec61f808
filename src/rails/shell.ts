/**
 * Reading shell with a real parser: `mvdan-sh`, the GopherJS build of mvdan.cc/sh/v3 (the
 * parser behind shfmt; synchronous, pure JavaScript, a full typed syntax tree). Chosen over `sh-syntax` (the
 * WebAssembly build) because that one's JSON tree drops command nodes. Pure: no I/O; the parser module is
 * loaded on first use (`loadShellParser`, ~0.2-0.5 s), so changes without shell never pay for it.
 *
 * `analyzeShell(text)` walks the tree of a script and returns, for every command it runs, a CANONICAL text
 * (words with quotes, escapes, ANSI-C quoting `$'\x63url'` and `$IFS` resolved by the parser, runners such as
 * sudo/env/nohup/xargs kept and also stripped, git's global options dropped) that the forbidden-command
 * patterns are matched against, with the lines it spans. It also reports what it cannot know: a command whose
 * name is built at run time (`$X$Y`, `${!x}`, `$(...)`, arithmetic), `eval` or `sh -c` of a value built at run
 * time, a pipe into an interpreter from a source it cannot read. Semantics read from the tree:
 * - pipelines (`|` and `|&`, stages that are subshells or blocks) from a downloader (curl, wget, ...) into an
 *   interpreter that reads its program from stdin (sh/bash/..., python, node, perl, ruby, php with `-`, `-c`
 *   or no script argument) give the canonical `curl ... | sh`; so do `bash < <(curl ...)`, `bash <(curl ...)`,
 *   `sh -c "$(curl ...)"`, `source <(curl ...)` and a file downloaded then run (`curl -o f ...; sh f`);
 * - `echo <literal> | base64 -d | sh` (and xxd -r -p, rev, cat, tee between): the literal is decoded and read
 *   as a script; heredocs and here-strings into an interpreter are read as its program;
 * - `bash -c "..."`, `eval "..."`, `env -S "..."`, `find -exec`, `xargs`, `watch`: the inner command is read
 *   recursively (at most MAX_DEPTH levels; deeper counts as dynamic);
 * - `python -c`, `node -e`, `perl -e`, `ruby -e`, `php -r`, awk programs: handed to the `inlineCode` hook (the
 *   caller reads their process-running calls, src/rails/exec-calls.ts);
 * - `rm` with a recursive flag of `.`, `./`, `..`, `*`, `./*` or `"$DIR"/` gives the canonical `rm -r <target>`
 *   the default `rm-rf-root` pattern catches;
 * - variables assigned a static value in the same text (`X=cu; Y=rl; $X$Y`) are substituted (a variable
 *   assigned two different values, or a value built at run time, stays unknown).
 * Sources: the POSIX Shell Command Language (quoting, field splitting, here-documents) and the Bash manual
 * (ANSI-C quoting `$'...'`, `|&`, process substitution); each tool's manual page for its options.
 */
import type { ShParser, ShSyntax } from 'mvdan-sh';

/**
 * Lines (1-based) of the analysed text something comes from, computed on first read: most commands never
 * need theirs (only those that match a pattern or cannot be known are reported).
 */
export interface Lines {
  readonly line: number;
  readonly endLine: number;
}

/** A canonical command text and the lines of the analysed text it comes from. */
export interface ShellCommandText extends Lines {
  readonly text: string;
}

/** Something the analysis cannot know statically (for human approval), and where. */
export interface ShellDynamic extends Lines {
  readonly reason: string;
}

/** What `analyzeShell` found. `error` is set (and nothing else found) when the text is not valid shell. */
export interface ShellAnalysis {
  commands: ShellCommandText[];
  dynamic: ShellDynamic[];
  error?: string;
}

/** Languages of inline programs handed to the `inlineCode` hook. */
export type InlineLanguage = 'python' | 'js' | 'perl' | 'ruby' | 'php' | 'other';

/** The result of reading an inline program (its lines are not used: the whole command's lines are). */
export interface InlineResult {
  commands: string[];
  dynamic: string[];
}

/** Options of `analyzeShell`. */
export interface ShellOptions {
  /** Reads an inline program (`python -c CODE`): its commands and what it cannot know. */
  inlineCode?: (language: InlineLanguage, code: string, depth: number) => InlineResult;
  /** Recursion depth already used (by `sh -c` inside `sh -c` ...). */
  depth?: number;
  /** Variables known from outside (an enclosing script). */
  vars?: ReadonlyMap<string, string>;
}

/** At most this many levels of `sh -c` / `eval` / decoded literals are read; deeper is dynamic. */
export const MAX_DEPTH = 4;
/** Texts longer than this are not parsed (the regex list still reads them). */
export const MAX_PARSE_CHARS = 256 * 1024;

// ---- the syntax tree as plain objects ---------------------------------------------------------------------

/**
 * A node of the syntax tree as a plain object: `type` ('CallExpr', 'Stmt', ...), the Go fields of the node
 * (mvdan.cc/sh/v3/syntax) with nodes and slices converted, nil as null, strings decoded from UTF-8, and its
 * lines (read lazily: the parser computes an end position by walking the node).
 */
export interface PNode {
  readonly type: string;
  line(): number;
  endLine(): number;
  [field: string]: unknown;
}

/** A GopherJS object of the parser's internal tree (a Go struct, slice or pointer). */
interface GoObject {
  constructor?: { string?: unknown; nil?: unknown };
  $array?: unknown[];
  $offset?: number;
  $length?: number;
  Pos?: () => { lineCol: number };
  End?: () => { lineCol: number };
  [field: string]: unknown;
}

/** Column bits of a packed position (mvdan.cc/sh/v3/syntax Pos: line << 14 | column). */
const COL_BITS = 14;
const UTF8_LENIENT = new TextDecoder('utf-8');

/** A Go string (GopherJS keeps its bytes as code units) as the text it encodes. */
function goString(s: string): string {
  if (!/[\u0080-\u00ff]/.test(s)) return s; // bytes 0x80-0xff: UTF-8 sequences to decode
  return UTF8_LENIENT.decode(Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff));
}

/**
 * Converts the parser's internal tree (reading GopherJS objects directly: the wrapped API costs ~0.1 ms per
 * node and per position) into plain nodes. Iterative (a long pipeline nests deeply). Throws on a shape it
 * does not know, which the caller treats as text the parser could not read.
 */
function toPlain(root: GoObject): PNode {
  const pending: [GoObject, PNode][] = [];
  const convert = (o: GoObject, kind: Kind): PNode => {
    const node = new Node(kind.type, o) as unknown as PNode;
    pending.push([o, node]);
    return node;
  };
  const value = (v: unknown): unknown => {
    if (typeof v === 'string') return goString(v);
    if (typeof v !== 'object' || v === null) return v;
    const o = v as GoObject;
    const ctor = o.constructor as object | undefined;
    if (ctor === undefined || ctor === Object) return null; // a nil interface
    if ((ctor as { nil?: unknown }).nil === o) return null; // a nil pointer or slice
    if (Array.isArray(o.$array)) {
      const out: unknown[] = [];
      const offset = o.$offset ?? 0;
      for (let i = 0; i < (o.$length ?? 0); i++) out.push(value(o.$array[offset + i]));
      return out;
    }
    const kind = kindOf(o);
    return kind === undefined ? undefined : convert(o, kind);
  };
  const top = kindOf(root);
  if (top === undefined) throw new Error('not a syntax tree');
  const result = convert(root, top);
  while (pending.length > 0) {
    const [o, node] = pending.pop()!;
    const kind = kindOf(o)!;
    let dropped: Set<string> | undefined;
    for (const key of kind.keys) {
      const v = value(o[key]);
      if (v !== undefined) (node as Record<string, unknown>)[key] = v;
      else if (!kind.settled) (dropped ??= new Set()).add(key); // a position: never a node
    }
    if (!kind.settled) {
      if (dropped !== undefined) kind.keys = kind.keys.filter((k) => !dropped.has(k));
      kind.settled = true;
    }
  }
  return result;
}

/** A plain node: its type, its internal object (for lines), its fields (set by toPlain). */
class Node {
  private start = 0;
  private end = 0;
  constructor(
    readonly type: string,
    private readonly go: GoObject,
  ) {}
  line(): number {
    if (this.start === 0) this.start = this.go.Pos!().lineCol >>> COL_BITS || 1;
    return this.start;
  }
  endLine(): number {
    if (this.end === 0) this.end = Math.max(this.go.End!().lineCol >>> COL_BITS || 1, this.line());
    return this.end;
  }
}

/** A node type of the parser: its name and the keys of its fields (read once per type). */
interface Kind {
  type: string;
  /** Field keys (positions dropped after the first node of the kind). */
  keys: readonly string[];
  settled?: boolean;
}
const KINDS = new WeakMap<object, Kind | null>();

/** The kind of a syntax node object, or undefined for anything else (positions, comments, other values). */
function kindOf(o: GoObject): Kind | undefined {
  const ctor = o.constructor as object | undefined;
  if (ctor === undefined) return undefined;
  let kind = KINDS.get(ctor);
  if (kind === undefined) {
    const name = String((ctor as { string?: unknown }).string ?? '');
    kind = /^\*?syntax\.(?!Pos$|Comment$)/.test(name)
      ? { type: name.replace(/^\*?syntax\./, ''), keys: Object.keys(o).filter((k) => !k.startsWith('$')) }
      : null;
    KINDS.set(ctor, kind);
  }
  return kind ?? undefined;
}

/** The child nodes of `n`, in field order (Go field order follows the source: X before Y, Cmd before Redirs). */
function childrenOf(n: PNode): PNode[] {
  const out: PNode[] = [];
  for (const key of Object.keys(n)) {
    if (key === 'type' || key === 'go' || key === 'start' || key === 'end') continue;
    const v = n[key];
    if (Array.isArray(v)) {
      for (const x of v) if (x instanceof Node) out.push(x as unknown as PNode);
    } else if (v instanceof Node) out.push(v as unknown as PNode);
  }
  return out;
}

/**
 * Calls `visit` for `root` and every node below it, depth first in source order; `visit` returning false
 * skips a node's children. Iterative.
 */
export function walk(root: PNode, visit: (n: PNode) => boolean): void {
  const stack: PNode[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (!visit(n)) continue;
    const kids = childrenOf(n);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
}

/** Parses `text` into plain nodes. Throws the parser's error message (a string) when it is not valid shell. */
export function parseShell(p: ShellParser, text: string): PNode {
  let file: unknown;
  try {
    file = p.parser.Parse(text, '');
  } catch (err) {
    const e = err as { Error?: () => string };
    throw new Error(typeof e?.Error === 'function' ? e.Error() : String(err), { cause: err });
  }
  const internal = (file as { __internal_object__?: GoObject }).__internal_object__;
  if (internal === undefined) throw new Error('this build of mvdan-sh does not expose its syntax tree');
  return toPlain(internal);
}

// ---- the parser, loaded once on first use ----------------------------------------------------------------

/** The loaded parser and the operator codes of this build (read from probes, not hard-coded). */
export interface ShellParser {
  syntax: ShSyntax;
  parser: ShParser;
  ops: { pipe: number; pipeAll: number; hdoc: number; dashHdoc: number; hereString: number; stdin: number };
}

let loading: Promise<ShellParser> | undefined;
let loaded: ShellParser | undefined;

/** Operator code of the first BinaryCmd or Redirect in `src`. */
function probe(p: ShellParser, src: string, kind: 'BinaryCmd' | 'Redirect'): number {
  let op = -1;
  walk(parseShell(p, src), (n) => {
    if (op < 0 && n.type === kind) op = Number(n.Op);
    return true;
  });
  return op;
}

/**
 * Loads mvdan-sh once (dynamic import: the module weighs 1.5 MB) and probes its operator codes. Rejects only
 * if the package is missing (the caller then falls back to the regex list and says so).
 */
export function loadShellParser(): Promise<ShellParser> {
  if (loaded !== undefined) return Promise.resolve(loaded);
  loading ??= import('mvdan-sh').then((mod) => {
    const m = mod as unknown as { default?: { syntax: ShSyntax }; syntax?: ShSyntax };
    const syntax = (m.default?.syntax ?? m.syntax)!;
    const parser = syntax.NewParser();
    const p: ShellParser = {
      syntax,
      parser,
      ops: { pipe: -1, pipeAll: -1, hdoc: -1, dashHdoc: -1, hereString: -1, stdin: -1 },
    };
    p.ops = {
      pipe: probe(p, 'a | b', 'BinaryCmd'),
      pipeAll: probe(p, 'a |& b', 'BinaryCmd'),
      hdoc: probe(p, 'a <<E\nx\nE\n', 'Redirect'),
      dashHdoc: probe(p, 'a <<-E\nx\nE\n', 'Redirect'),
      hereString: probe(p, 'a <<< x', 'Redirect'),
      stdin: probe(p, 'a < x', 'Redirect'),
    };
    loaded = p;
    return loaded;
  });
  return loading;
}

/** The parser if already loaded (synchronous callers), else undefined. */
export function shellParserIfLoaded(): ShellParser | undefined {
  return loaded;
}

// ---- words ---------------------------------------------------------------------------------------------

/** One field of a command line after expansion: its text, and whether part of it is only known at run time. */
export interface Field {
  text: string;
  dynamic: boolean;
  /** Set when the field holds a command or process substitution whose commands download (curl, wget...). */
  downloads?: boolean;
  /** Set when the field is a substitution `$(...)`, `<(...)` or backquotes (its output or a pipe to it). */
  subst?: boolean;
}

/** Bash ANSI-C quoting `$'...'`: the escapes of the Bash manual ("ANSI-C Quoting"). Linear. */
export function decodeAnsiC(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\' || i + 1 >= raw.length) {
      out += c;
      continue;
    }
    const n = raw[++i]!;
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      e: '\x1b',
      E: '\x1b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      "'": "'",
      '"': '"',
      '?': '?',
    };
    if (Object.hasOwn(simple, n)) {
      out += simple[n];
    } else if (n >= '0' && n <= '7') {
      const m = /^[0-7]{1,3}/.exec(raw.slice(i))![0];
      out += String.fromCharCode(parseInt(m, 8) & 0xff);
      i += m.length - 1;
    } else if (n === 'x' || n === 'u' || n === 'U') {
      const max = n === 'x' ? 2 : n === 'u' ? 4 : 8;
      const m = new RegExp(`^[0-9a-fA-F]{1,${max}}`).exec(raw.slice(i + 1));
      if (m === null) {
        out += `\\${n}`;
      } else {
        const code = parseInt(m[0], 16);
        out += code <= 0x10ffff ? String.fromCodePoint(code) : '';
        i += m[0].length;
      }
    } else if (n === 'c' && i + 1 < raw.length) {
      out += String.fromCharCode(raw.charCodeAt(++i) & 0x1f);
    } else {
      out += `\\${n}`;
    }
  }
  return out;
}

/** An unquoted literal's text after quote removal: `\x` is `x`, a backslash-newline disappears. */
function unquotedLit(raw: string): string {
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\(\n|[\s\S])/g, (_, c: string) => (c === '\n' ? '' : c));
}

/** A literal inside double quotes: only `\$`, `` \` ``, `\"`, `\\` and backslash-newline are escapes. */
function doubleQuotedLit(raw: string): string {
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\([$`"\\\n])/g, (_, c: string) => (c === '\n' ? '' : c));
}

// ---- command tables (each tool's documented options) ---------------------------------------------------

/** Commands that download from the network (their output piped to an interpreter runs it). */
const DOWNLOADERS = new Set([
  'curl',
  'wget',
  'wget2',
  'fetch',
  'aria2c',
  'http',
  'https',
  'xh',
  'xhs',
  'lwp-request',
  'lwp-download',
  'get',
]);

/** POSIX-like shells (their `-c` string is a script; with `-s`, `-` or no script they read stdin). */
const SHELLS = /^(?:ba|da|z|k|mk|a|pdk|posh|yash|c|tc|fi)?sh$/;

/** Interpreters other than shells: language, options that take an argument, the option(s) that give code. */
const INTERPRETERS: readonly {
  name: RegExp;
  language: InlineLanguage;
  code: readonly string[];
  withArg: readonly string[];
  /** Options after which the rest is not a script from stdin (`python -m mod`). */
  stop?: readonly string[];
}[] = [
  {
    name: /^(?:python|pypy)[\d.]*$/,
    language: 'python',
    code: ['-c'],
    withArg: ['-W', '-X', '-Q'],
    stop: ['-m'],
  },
  {
    name: /^(?:node|nodejs)$/,
    language: 'js',
    code: ['-e', '--eval', '-p', '--print'],
    withArg: ['-r', '--require', '--import', '--loader', '--experimental-loader', '--input-type', '-C'],
  },
  { name: /^bun$/, language: 'js', code: ['-e', '--eval', '-p', '--print'], withArg: ['-r', '--preload'] },
  { name: /^perl[\d.]*$/, language: 'perl', code: ['-e', '-E'], withArg: ['-I', '-M', '-m'] },
  { name: /^ruby[\d.]*$/, language: 'ruby', code: ['-e'], withArg: ['-r', '-I', '-C', '-E'] },
  { name: /^php[\d.]*$/, language: 'php', code: ['-r'], withArg: ['-c', '-d', '-z'], stop: ['-f', '-S'] },
  { name: /^(?:pwsh|powershell)(?:\.exe)?$/i, language: 'other', code: ['-c', '-command'], withArg: [] },
];

/** Files that are a process's stdin. */
const STDIN_FILES = new Set(['-', '/dev/stdin', '/dev/fd/0', '/proc/self/fd/0']);

/**
 * Prefixes that run the next word as a command, with their options that take an argument (sudo's manual,
 * env(1), nice(1), timeout(1), stdbuf(1), xargs(1), ...). `positional` words are skipped before the command
 * (timeout's duration).
 */
const RUNNERS: Readonly<Record<string, { withArg: readonly string[]; positional?: number }>> = {
  sudo: { withArg: ['-u', '-g', '-h', '-p', '-C', '-D', '-r', '-t', '-U', '-T', '-R', '--user', '--group'] },
  doas: { withArg: ['-u', '-C'] },
  pkexec: { withArg: ['--user'] },
  env: { withArg: ['-u', '--unset', '-C', '--chdir'] },
  command: { withArg: [] },
  builtin: { withArg: [] },
  exec: { withArg: ['-a'] },
  nohup: { withArg: [] },
  setsid: { withArg: [] },
  unbuffer: { withArg: [] },
  stdbuf: { withArg: ['-i', '-o', '-e'] },
  nice: { withArg: ['-n', '--adjustment'] },
  ionice: { withArg: ['-c', '-n', '-p', '--class', '--classdata'] },
  chrt: { withArg: [] },
  taskset: { withArg: [], positional: 1 },
  time: { withArg: ['-f', '-o', '--format', '--output'] },
  timeout: { withArg: ['-s', '-k', '--signal', '--kill-after'], positional: 1 },
  flock: { withArg: ['-w', '-E', '--timeout', '--conflict-exit-code'], positional: 1 },
  xargs: {
    withArg: ['-I', '-i', '-n', '-P', '-L', '-l', '-s', '-d', '-E', '-e', '-a', '--arg-file', '--delimiter'],
  },
  busybox: { withArg: [] },
  caffeinate: { withArg: ['-t', '-w'] },
  chronic: { withArg: [] },
  'run-one': { withArg: [] },
};

/** git's global options (git(1) "OPTIONS") that take a separate argument. */
const GIT_GLOBAL_WITH_ARG = new Set([
  '-c',
  '-C',
  '--git-dir',
  '--work-tree',
  '--namespace',
  '--super-prefix',
  '--config-env',
  '--exec-path',
  '--list-cmds',
  '--attr-source',
]);

/** Base name of a command word (`/usr/bin/git` -> `git`, `git.exe` -> `git`), lower-cased. */
export function commandName(word: string): string {
  const i = word.lastIndexOf('/');
  const name = (i < 0 ? word : word.slice(i + 1)).toLowerCase();
  return name.endsWith('.exe') ? name.slice(0, -4) : name;
}

/** The index of the first word of `args` after `start` that is not an option (or an option's argument). */
function firstOperand(args: readonly Field[], start: number, withArg: readonly string[]): number {
  let i = start;
  while (i < args.length) {
    const w = args[i]!.text;
    if (w === '--') return i + 1;
    if (!w.startsWith('-') || w === '-') return i;
    if (withArg.includes(w)) i += 2;
    else i++;
  }
  return i;
}

/** `text` shown for a canonical line: fields joined by one space. */
function joinFields(fields: readonly Field[]): string {
  return fields.map((f) => f.text).join(' ');
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as UTF-8 text, or undefined when they are not valid UTF-8 (or hold control bytes other than whitespace). */
function utf8(bytes: Uint8Array): string | undefined {
  try {
    const text = UTF8.decode(bytes);
    // eslint-disable-next-line no-control-regex -- binary output is not a script
    return /[\u0000-\u0008\u000e-\u001f]/.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * Standard or URL-safe base64 (RFC 4648) of at least 4 characters, whitespace allowed: the UTF-8 text it
 * encodes, else undefined.
 */
export function decodeBase64Text(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length < 4 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) return undefined;
  const std = compact.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  if (std.length % 4 === 1) return undefined;
  let binary: string;
  try {
    binary = atob(std + '='.repeat((4 - (std.length % 4)) % 4));
  } catch {
    return undefined;
  }
  return utf8(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/** Hex (xxd -p style) to UTF-8 text, or undefined. */
function decodeHexText(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length < 2 || compact.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(compact)) return undefined;
  const bytes = new Uint8Array(compact.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(compact.slice(2 * i, 2 * i + 2), 16);
  return utf8(bytes);
}

// ---- the analysis ----------------------------------------------------------------------------------------

/** Lines a node spans, in the analysed text (a node's are read lazily). */
type Span = Lines;

/** The lines of a node, read when first asked for. */
class NodeLines implements Lines {
  constructor(private readonly node: PNode) {}
  get line(): number {
    return this.node.line();
  }
  get endLine(): number {
    return this.node.endLine();
  }
}

/** A command text or a reason, at lines read lazily. */
class Found implements ShellCommandText, ShellDynamic {
  constructor(
    readonly text: string,
    readonly reason: string,
    private readonly span: Span,
  ) {}
  get line(): number {
    return this.span.line;
  }
  get endLine(): number {
    return this.span.endLine;
  }
}

/** What a pipeline stage (or a redirected command) does with its stdin. */
type StageKind =
  | { kind: 'download'; fields: Field[] }
  | { kind: 'literal'; text: string }
  | { kind: 'decode'; how: 'base64' | 'hex' | 'rev' | 'pass' }
  | { kind: 'interpreter'; language: InlineLanguage | 'shell' }
  | { kind: 'dynamic' }
  | { kind: 'other' };

class Analyzer {
  readonly commands: ShellCommandText[] = [];
  readonly dynamic: ShellDynamic[] = [];
  private readonly vars = new Map<string, string | null>();
  private readonly downloaded = new Set<string>();
  private readonly donePipes = new Set<PNode>();

  constructor(
    private readonly p: ShellParser,
    private readonly options: ShellOptions,
    private readonly depth: number,
    /** When set, every result is reported at this span (a recursively read string). */
    private readonly at: Span | undefined,
  ) {
    for (const [k, v] of options.vars ?? []) this.vars.set(k, v);
  }

  private type(n: unknown): string {
    return n === null || n === undefined ? '' : (n as PNode).type;
  }

  private span(n: PNode): Span {
    if (this.at !== undefined) return this.at;
    return new NodeLines(n);
  }

  addCommand(text: string, span: Span): void {
    if (text.trim() !== '') this.commands.push(new Found(text, '', span));
  }

  addDynamic(reason: string, span: Span): void {
    this.dynamic.push(new Found('', reason, span));
  }

  /** Parses and walks `text`. Returns the parser's message (and records nothing) when it is not valid shell. */
  run(text: string): string | undefined {
    let file: PNode;
    try {
      file = parseShell(this.p, text);
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    this.collectAssignments(file);
    walk(file, (n) => {
      const t = n.type;
      if (t === 'Stmt') this.stmt(n);
      else if (t === 'BinaryCmd') this.binary(n);
      return true;
    });
    return undefined;
  }

  // -- variables

  private collectAssignments(file: PNode): void {
    walk(file, (n) => {
      if (n.type !== 'Assign') return true;
      const name = (n.Name as PNode | null)?.Value;
      if (typeof name !== 'string') return true;
      const value = n.Value as PNode | null;
      let resolved: string | null = null;
      if (value != null && n.Array == null && n.Append !== true) {
        const fields = this.word(value, false);
        if (fields.length <= 1 && !fields.some((f) => f.dynamic)) resolved = fields[0]?.text ?? '';
      } else if (value == null && n.Array == null && n.Naked === true) {
        return true; // `export X`: no new value
      }
      const known = this.vars.get(name);
      if (known === undefined && !this.vars.has(name)) this.vars.set(name, resolved);
      else if (known !== resolved) this.vars.set(name, null); // two values: unknown
      return true;
    });
  }

  // -- words

  /**
   * The fields of a word after expansion (POSIX 2.6): quote removal, parameter expansion of known variables,
   * field splitting of unquoted expansions on default IFS whitespace (`$IFS` itself splits). Substitutions
   * and unknown parameters are dynamic; their text is shown as written (`$X`, `$(...)`).
   */
  word(w: PNode, split = true, heredoc = false): Field[] {
    const fields: Field[] = [];
    let cur: Field | undefined;
    const field = (): Field => {
      if (cur === undefined) {
        cur = { text: '', dynamic: false };
        fields.push(cur);
      }
      return cur;
    };
    const append = (text: string, dynamic: boolean, extra?: Partial<Field>): void => {
      const f = field();
      f.text += text;
      if (dynamic) f.dynamic = true;
      if (extra?.downloads === true) f.downloads = true;
      if (extra?.subst === true) f.subst = true;
    };
    const parts = (w.Parts as PNode[] | undefined) ?? [];
    const visit = (part: PNode, quoted: boolean): void => {
      const t = this.type(part);
      switch (t) {
        case 'Lit':
          append(quoted ? doubleQuotedLit(String(part.Value)) : unquotedLit(String(part.Value)), false);
          return;
        case 'SglQuoted':
          append(part.Dollar === true ? decodeAnsiC(String(part.Value)) : String(part.Value), false);
          return;
        case 'DblQuoted':
          field(); // "" is an (empty) field
          for (const p of (part.Parts as PNode[] | undefined) ?? []) visit(p, true);
          return;
        case 'ParamExp': {
          const value = this.param(part);
          if (value.known && !quoted && split && /[ \t\n]/.test(value.text)) {
            value.text.split(/[ \t\n]+/).forEach((piece, i) => {
              if (i > 0) cur = undefined;
              if (piece !== '') append(piece, false);
            });
          } else if (value.known) {
            append(value.text, false);
          } else if (value.ifs === true && !quoted && split) {
            cur = undefined;
          } else {
            append(value.text, true);
          }
          return;
        }
        case 'CmdSubst':
        case 'ProcSubst': {
          const stmts = (part.Stmts as PNode[] | undefined) ?? [];
          // $(echo git), `printf %s git`, $(echo Z2l0 | base64 -d): output known without running anything
          const known = t === 'CmdSubst' ? this.staticOutput(stmts) : undefined;
          if (known !== undefined) {
            const text = known.replace(/\n+$/, '');
            if (!quoted && split && /[ \t\n]/.test(text)) {
              text.split(/[ \t\n]+/).forEach((piece, i) => {
                if (i > 0) cur = undefined;
                if (piece !== '') append(piece, false);
              });
            } else append(text, false);
            return;
          }
          const downloads = stmts.some((s) => this.stmtDownloads(s));
          const open = t === 'ProcSubst' ? '<(' : '$(';
          append(`${open}${downloads ? 'curl' : '...'})`, true, { downloads, subst: true });
          return;
        }
        case 'ArithmExp':
          append('$((...))', true);
          return;
        case 'ExtGlob':
          append(String((part.Pattern as PNode | null)?.Value ?? ''), false);
          return;
        default:
          append(String(part.Value ?? ''), false);
      }
    };
    for (const part of parts) visit(part, heredoc);
    return fields;
  }

  /**
   * The output of a command substitution when it is known without running anything: one statement that is
   * `echo`/`printf` of literals, alone or piped through decoders (`base64 -d`, `xxd -r -p`, `rev`, `cat`).
   * Undefined otherwise.
   */
  private staticOutput(stmts: readonly PNode[]): string | undefined {
    if (stmts.length !== 1) return undefined;
    const stages: PNode[] = [];
    const flatten = (x: PNode): boolean => {
      const cmd = x.Cmd as PNode | null;
      if (cmd == null || ((x.Redirs as PNode[] | null) ?? []).length > 0) return false;
      if (cmd.type === 'BinaryCmd' && Number(cmd.Op) === this.p.ops.pipe) {
        return flatten(cmd.X as PNode) && flatten(cmd.Y as PNode);
      }
      if (cmd.type !== 'CallExpr' || ((cmd.Assigns as PNode[] | null) ?? []).length > 0) return false;
      stages.push(cmd);
      return true;
    };
    if (!flatten(stmts[0]!)) return undefined;
    const kinds = stages.map((c) => this.stageKind(this.stripRunners(this.argvOf(c))));
    const source = kinds[0];
    if (source?.kind !== 'literal') return undefined;
    let text: string | undefined = source.text;
    for (const k of kinds.slice(1)) {
      if (k.kind !== 'decode' || text === undefined) return undefined;
      if (k.how === 'base64') text = decodeBase64Text(text);
      else if (k.how === 'hex') text = decodeHexText(text);
      else if (k.how === 'rev') text = [...text].reverse().join('');
    }
    return text;
  }

  /** The text of a here-document: as written with a quoted delimiter, expanded otherwise. */
  heredocText(w: PNode): { text: string; downloads: boolean } {
    const parts = (w.Parts as PNode[] | undefined) ?? [];
    if (parts.length === 1 && this.type(parts[0]) === 'Lit')
      return { text: String(parts[0]!.Value), downloads: false };
    const fields = this.word(w, false, true);
    return { text: fields.map((f) => f.text).join(''), downloads: fields.some((f) => f.downloads === true) };
  }

  /** A parameter expansion: its value if statically known, else how it is shown. */
  private param(pe: PNode): { known: boolean; text: string; ifs?: boolean } {
    const name = String((pe.Param as PNode | null)?.Value ?? '');
    const plain =
      pe.Excl !== true &&
      pe.Length !== true &&
      pe.Width !== true &&
      pe.Index == null &&
      pe.Slice == null &&
      pe.Repl == null &&
      pe.Exp == null;
    const shown =
      pe.Short === true
        ? `$${name}`
        : `\${${pe.Excl === true ? '!' : ''}${name}${pe.Exp != null ? ':...' : ''}}`;
    if (plain && name === 'IFS' && !this.vars.has('IFS')) return { known: false, text: ' ', ifs: true };
    if (plain && this.vars.has(name)) {
      const v = this.vars.get(name);
      if (typeof v === 'string') return { known: true, text: v };
    }
    return { known: false, text: shown };
  }

  // -- statements

  private stmtDownloads(stmt: PNode): boolean {
    let found = false;
    walk(stmt, (n) => {
      if (found) return false;
      if (this.type(n) === 'CallExpr') {
        const argv = this.argvOf(n);
        const real = this.stripRunners(argv);
        if (real !== undefined && real.length > 0 && DOWNLOADERS.has(commandName(real[0]!.text)))
          found = true;
      }
      return true;
    });
    return found;
  }

  private argvOf(call: PNode): Field[] {
    const out: Field[] = [];
    for (const w of (call.Args as PNode[] | undefined) ?? []) out.push(...this.word(w));
    return out;
  }

  /**
   * argv without its runner prefixes (sudo, env, nohup, timeout 5, xargs -n1, ...), or undefined when the
   * command does not run anything (`command -v x`). `env -S "a b"` splits its string.
   */
  stripRunners(argv: Field[]): Field[] | undefined {
    let args = argv;
    for (let guard = 0; guard < 8 && args.length > 0; guard++) {
      const first = args[0]!;
      if (first.dynamic) return args;
      const name = commandName(first.text);
      const runner = Object.hasOwn(RUNNERS, name) ? RUNNERS[name] : undefined;
      if (runner === undefined) return args;
      let i = 1;
      if (name === 'command' && args.some((a, k) => k > 0 && (a.text === '-v' || a.text === '-V'))) {
        return undefined;
      }
      while (i < args.length) {
        const w = args[i]!.text;
        if (w === '--') {
          i++;
          break;
        }
        if (name === 'env' && /^[A-Za-z_]\w*=/.test(w)) {
          i++;
          continue;
        }
        if (name === 'env' && (w === '-S' || w === '--split-string' || w.startsWith('--split-string='))) {
          const str = w.startsWith('--split-string=') ? w.slice(15) : (args[i + 1]?.text ?? '');
          const rest = args.slice(w.startsWith('--split-string=') ? i + 1 : i + 2);
          const split = str
            .split(/[ \t\n]+/)
            .filter(Boolean)
            .map((text): Field => ({ text, dynamic: args[i + 1]?.dynamic ?? false }));
          args = [...split, ...rest];
          i = -1;
          break;
        }
        if (!w.startsWith('-') || w === '-') break;
        if (name === 'nice' && /^-\d+$/.test(w)) i++;
        else if (runner.withArg.includes(w)) i += 2;
        else i++;
      }
      if (i < 0) continue;
      i += runner.positional ?? 0;
      args = args.slice(i);
    }
    return args;
  }

  private stmt(stmt: PNode): void {
    const cmd = stmt.Cmd as PNode | null;
    const redirs = (stmt.Redirs as PNode[] | undefined) ?? [];
    if (cmd != null && this.type(cmd) === 'CallExpr') this.call(cmd, stmt, redirs);
  }

  /** Heredocs, here-strings and `< <(curl ...)` feeding an interpreter. */
  private redirectsInto(stmt: PNode, interp: StageKind, redirs: PNode[]): void {
    if (interp.kind !== 'interpreter') return;
    const span = this.span(stmt);
    for (const r of redirs) {
      const op = Number(r.Op);
      if (op === this.p.ops.hdoc || op === this.p.ops.dashHdoc) {
        const body = r.Hdoc as PNode | null;
        if (body == null) continue;
        const { text, downloads } = this.heredocText(body);
        if (downloads) this.addCommand('curl | sh', span);
        this.program(interp.language, text, span);
      } else if (op === this.p.ops.hereString) {
        const fields = r.Word == null ? [] : this.word(r.Word as PNode, false);
        if (fields.some((f) => f.downloads)) this.addCommand('curl | sh', span);
        else if (fields.some((f) => f.dynamic)) {
          this.addDynamic('a here-string only known at run time is run by an interpreter', span);
        } else this.program(interp.language, fields.map((f) => f.text).join(''), span);
      } else if (op === this.p.ops.stdin) {
        const fields = r.Word == null ? [] : this.word(r.Word as PNode);
        const file = fields[0];
        if (file === undefined) continue;
        if (file.downloads === true) this.addCommand('curl | sh', span);
        else if (file.subst === true || file.dynamic) {
          this.addDynamic(
            'an interpreter reads its program from a file or substitution only known at run time',
            span,
          );
        } else if (this.downloaded.has(commandName(file.text))) {
          this.addCommand(`curl -o ${file.text} && sh < ${file.text} # curl | sh`, span);
        }
      }
    }
  }

  /** Reads `text` as the program of `language` (recursively for shell), reporting at `span`. */
  program(language: InlineLanguage | 'shell', text: string, span: Span): void {
    if (text.trim() === '') return;
    if (this.depth + 1 > MAX_DEPTH) {
      this.addDynamic(`commands nested more than ${MAX_DEPTH} levels deep are not read`, span);
      return;
    }
    if (language === 'shell') {
      const inner = new Analyzer(this.p, this.options, this.depth + 1, span);
      for (const [k, v] of this.vars) if (typeof v === 'string') inner.vars.set(k, v);
      const error = text.length > MAX_PARSE_CHARS ? 'too long' : inner.run(text);
      if (error !== undefined) {
        // Not shell: the regex list reads it as one line.
        this.addCommand(text, span);
        return;
      }
      this.commands.push(...inner.commands);
      this.dynamic.push(...inner.dynamic);
      return;
    }
    this.addCommand(text, span);
    const hook = this.options.inlineCode;
    if (hook === undefined) return;
    const r = hook(language, text, this.depth + 1);
    for (const c of r.commands) this.addCommand(c, span);
    for (const d of r.dynamic) this.addDynamic(d, span);
  }

  /** What the command `argv` (runners stripped) does with its stdin, as a pipeline stage. */
  stageKind(argv: Field[] | undefined): StageKind {
    if (argv === undefined || argv.length === 0) return { kind: 'other' };
    const first = argv[0]!;
    if (first.dynamic) return { kind: 'dynamic' };
    const name = commandName(first.text);
    if (DOWNLOADERS.has(name)) return { kind: 'download', fields: argv };
    if (name === 'echo' || name === 'printf') {
      let i = 1;
      while (name === 'echo' && i < argv.length && /^-[neE]+$/.test(argv[i]!.text)) i++;
      const rest = argv.slice(i);
      if (rest.some((f) => f.dynamic)) return { kind: 'other' };
      const text = rest.map((f) => f.text).join(' ');
      return {
        kind: 'literal',
        text: name === 'printf' ? text.replace(/\\n/g, '\n').replace(/%%/g, '%') : text,
      };
    }
    const flags = argv.slice(1).map((f) => f.text);
    if (name === 'base64' && flags.some((f) => /^-[a-zA-Z]*[dD]|^--decode$/.test(f))) {
      return { kind: 'decode', how: 'base64' };
    }
    if (name === 'openssl' && flags.includes('base64') && flags.includes('-d'))
      return { kind: 'decode', how: 'base64' };
    if (name === 'xxd' && flags.some((f) => /^-[a-z]*r/.test(f))) return { kind: 'decode', how: 'hex' };
    if (name === 'rev') return { kind: 'decode', how: 'rev' };
    if ((name === 'cat' || name === 'tee') && flags.every((f) => f.startsWith('-') || name === 'tee')) {
      return { kind: 'decode', how: 'pass' };
    }
    const interp = this.interpreter(argv);
    if (interp !== undefined && interp.stdin) return { kind: 'interpreter', language: interp.language };
    return { kind: 'other' };
  }

  /**
   * What an interpreter command does: its language, the code it is given (`-c CODE`) and whether it reads
   * its program from stdin. Undefined when argv[0] is not an interpreter.
   */
  interpreter(
    argv: Field[],
  ): { language: InlineLanguage | 'shell'; code?: Field; stdin: boolean; script?: Field } | undefined {
    const name = commandName(argv[0]!.text);
    if (SHELLS.test(name)) {
      let i = 1;
      let codeFlag = false;
      let stdinFlag = false;
      while (i < argv.length) {
        const w = argv[i]!.text;
        if (w === '--' || w === '-') {
          if (w === '--') i++;
          break;
        }
        if (/^[-+]o$/.test(w) || w === '-O' || w === '+O' || w === '--rcfile' || w === '--init-file') {
          i += 2;
          continue;
        }
        if (!/^[-+]/.test(w)) break;
        if (/^-[a-zA-Z]*c/.test(w)) codeFlag = true;
        if (/^-[a-zA-Z]*s/.test(w)) stdinFlag = true;
        i++;
      }
      const operand = argv[i];
      if (codeFlag) return { language: 'shell', code: operand, stdin: operand === undefined };
      const stdin = stdinFlag || operand === undefined || STDIN_FILES.has(operand.text);
      return { language: 'shell', stdin, ...(operand === undefined ? {} : { script: operand }) };
    }
    if (name === 'awk' || name === 'gawk' || name === 'mawk' || name === 'nawk') {
      const k = firstOperand(argv, 1, ['-F', '-v', '-f']);
      if (argv.slice(1, k).some((a) => a.text === '-f')) return undefined;
      return argv[k] === undefined ? undefined : { language: 'perl', code: argv[k], stdin: false };
    }
    if (name === 'deno' || name === 'bun') {
      const sub = argv[1]?.text;
      if (name === 'deno' && sub === 'eval') return { language: 'js', code: argv[2], stdin: false };
      if (sub === 'run' || sub === 'x' || sub === 'install') {
        const k = firstOperand(argv, 2, []);
        const target = argv[k];
        if (target !== undefined && /^https?:\/\//i.test(target.text)) {
          return { language: 'js', stdin: false, script: target };
        }
        return { language: 'js', stdin: target !== undefined && STDIN_FILES.has(target.text) };
      }
    }
    for (const it of INTERPRETERS) {
      if (!it.name.test(name)) continue;
      let i = 1;
      while (i < argv.length) {
        const w = argv[i]!.text;
        const lw = w.toLowerCase();
        if (w === '--') {
          i++;
          break;
        }
        if (w === '-') break;
        const eq = lw.indexOf('=');
        const opt = eq > 0 ? lw.slice(0, eq) : lw;
        // -c CODE, --eval=CODE, a cluster ending in the code flag (perl -ne CODE), attached (python -cCODE)
        const cluster = /^-[a-zA-Z]+$/.test(w) && !it.withArg.includes(w);
        const short = it.code.filter((c) => c.length === 2);
        if (it.code.includes(opt) || (cluster && short.some((c) => w.endsWith(c[1]!)))) {
          const code = eq > 0 ? { text: w.slice(eq + 1), dynamic: argv[i]!.dynamic } : argv[i + 1];
          return { language: it.language, stdin: false, ...(code === undefined ? {} : { code }) };
        }
        const attached = short.find((c) => w.startsWith(c) && w.length > 2);
        if (attached !== undefined && !it.withArg.some((a) => w.startsWith(a))) {
          const code = { text: w.slice(2), dynamic: argv[i]!.dynamic };
          return { language: it.language, stdin: false, code };
        }
        if (it.stop?.includes(opt)) return { language: it.language, stdin: false };
        if (!w.startsWith('-')) break;
        if (it.withArg.includes(w)) i += 2;
        else i++;
      }
      const operand = argv[i];
      const stdin = operand === undefined || STDIN_FILES.has(operand.text);
      return { language: it.language, stdin, ...(operand === undefined ? {} : { script: operand }) };
    }
    return undefined;
  }

  /** A simple command: its canonical texts, what it runs inside, and what cannot be known. */
  private call(call: PNode, stmt: PNode, redirs: PNode[]): void {
    const span = this.span(stmt.Cmd === call ? stmt : call);
    const argv = this.argvOf(call);
    if (argv.length === 0) return;
    this.judgeArgv(argv, span);
    const real = this.stripRunners(argv);
    const kind = this.stageKind(real);
    if (redirs.length > 0) this.redirectsInto(stmt, kind, redirs);
    // curl ... > file, curl -o file, wget -O file, curl -O URL / wget URL (saved under the URL's name)
    if (kind.kind === 'download') {
      for (const r of redirs) {
        const w = r.Word as PNode | null;
        if (w != null && r.Hdoc == null && Number(r.Op) !== this.p.ops.stdin) {
          for (const f of this.word(w)) this.downloaded.add(commandName(f.text));
        }
      }
      this.noteDownloads(kind.fields);
    }
  }

  /**
   * Remembers the files a download writes: `-o F` / `--output F` (curl), `-O F` / `--output-document F` (wget),
   * and the URL's base name for `curl -O` / `--remote-name` and for wget and the others (which save by name).
   */
  private noteDownloads(fields: Field[]): void {
    const name = commandName(fields[0]!.text);
    const byName =
      name !== 'curl' || fields.some((f) => /^-[a-zA-Z]*O[a-zA-Z]*$|^--remote-name(?:-all)?$/.test(f.text));
    let named = false;
    for (let i = 1; i < fields.length; i++) {
      const w = fields[i]!.text;
      const output =
        name === 'curl' ? /^-[a-zA-Z]*o$|^--output$/ : /^-O$|^--output-document$|^-o$|^--output$/;
      if (output.test(w) && fields[i + 1] !== undefined) {
        this.downloaded.add(commandName(fields[i + 1]!.text));
        named = true;
        i++;
      } else if (/^--output=|^--output-document=/.test(w)) {
        this.downloaded.add(commandName(w.slice(w.indexOf('=') + 1)));
        named = true;
      }
    }
    if (!byName || named) return;
    for (const f of fields.slice(1)) {
      if (!/^(?:https?|ftp):\/\//i.test(f.text)) continue;
      const base = commandName(f.text.replace(/[?#].*$/, '').replace(/^[a-z]+:\/\/[^/]*\/?/i, ''));
      if (base !== '') this.downloaded.add(base);
    }
  }

  /**
   * Judges one command line given as fields (from the tree, or argv from source code): canonical texts for
   * the pattern list, and recursion into what it runs.
   */
  judgeArgv(argv: Field[], span: Span): void {
    this.addCommand(joinFields(argv), span);
    const real = this.stripRunners(argv);
    if (real === undefined || real.length === 0) return;
    if (real !== argv) this.addCommand(joinFields(real), span);
    const first = real[0]!;
    if (first.dynamic) {
      const how = first.downloads ? 'the output of a download' : first.text;
      if (first.downloads) this.addCommand('curl | sh', span);
      this.addDynamic(`the command name is only known at run time (${how})`, span);
      return;
    }
    const name = commandName(first.text);
    // a file downloaded earlier in this text, run now
    if (this.downloaded.has(name) && name !== '')
      this.addCommand(`curl -o ${name} && sh ${name} # curl | sh`, span);
    if (name === 'git') this.git(real, span);
    else if (name === 'eval') this.evalArgs(real.slice(1), span);
    else if (name === 'source' || name === '.') this.source(real, span);
    else if (name === 'rm') this.rm(real, span);
    else if (name === 'find') this.findExec(real, span);
    else if (name === 'watch') this.watch(real, span);
    else if (name === 'alias') this.aliases(real.slice(1), span);
    else if (name === 'trap' && real[1] !== undefined) this.commandString(real[1], 'trap', span);
    else if ((name === 'su' || name === 'runuser' || name === 'sg' || name === 'script') && real.length > 2) {
      const k = real.findIndex((f, i) => i > 0 && (f.text === '-c' || f.text === '--command'));
      if (k > 0 && real[k + 1] !== undefined) this.commandString(real[k + 1]!, name, span);
    }
    const interp = this.interpreter(real);
    if (interp !== undefined) this.interpreterArgs(interp, span);
  }

  private git(argv: Field[], span: Span): void {
    const kept: Field[] = [argv[0]!];
    let i = 1;
    while (i < argv.length) {
      const w = argv[i]!.text;
      if (!w.startsWith('-')) break;
      const eq = w.indexOf('=');
      const opt = eq > 0 ? w.slice(0, eq) : w;
      if (GIT_GLOBAL_WITH_ARG.has(opt) && eq < 0) {
        if (w === '-c' && /^alias\./i.test(argv[i + 1]?.text ?? '')) kept.push(argv[i]!, argv[i + 1]!);
        i += 2;
      } else {
        i++;
      }
    }
    const sub = argv[i];
    if (sub === undefined) return;
    if (sub.dynamic) this.addDynamic(`the git subcommand is only known at run time (${sub.text})`, span);
    this.addCommand(joinFields([...kept, ...argv.slice(i)]), span);
  }

  /** `alias name='value'`: the value runs wherever the alias is used; it is read as a script. */
  private aliases(args: Field[], span: Span): void {
    for (const a of args) {
      const eq = a.text.indexOf('=');
      if (eq > 0) this.commandString({ ...a, text: a.text.slice(eq + 1) }, 'alias', span);
    }
  }

  /** A word that is a command line run later (`trap 'cmd' EXIT`, `su -c 'cmd'`, an alias's value). */
  private commandString(f: Field, what: string, span: Span): void {
    if (f.downloads === true) this.addCommand('sh -c "$(curl)" # curl | sh', span);
    else if (f.dynamic)
      this.addDynamic(`${what} of a command only known at run time (${f.text.slice(0, 80)})`, span);
    else this.program('shell', f.text, span);
  }

  private evalArgs(args: Field[], span: Span): void {
    if (args.length === 0) return;
    if (args.some((a) => a.downloads)) this.addCommand('sh -c "$(curl)" # curl | sh', span);
    if (args.some((a) => a.dynamic)) {
      this.addDynamic(`eval of a value only known at run time (${joinFields(args).slice(0, 80)})`, span);
      return;
    }
    this.program('shell', joinFields(args), span);
  }

  private source(argv: Field[], span: Span): void {
    const target = argv[1];
    if (target === undefined) return;
    if (target.downloads) this.addCommand('source <(curl ...) # curl | sh', span);
    else if (target.subst) this.addDynamic('source of a process substitution', span);
    else if (STDIN_FILES.has(target.text)) this.addDynamic('source of stdin', span);
    else if (this.downloaded.has(commandName(target.text))) {
      this.addCommand(`curl -o ${target.text} && source ${target.text} # curl | sh`, span);
    }
  }

  private rm(argv: Field[], span: Span): void {
    let recursive = false;
    const targets: Field[] = [];
    let options = true;
    for (const f of argv.slice(1)) {
      if (options && f.text === '--') options = false;
      else if (options && f.text.startsWith('-') && f.text !== '-') {
        if (/^-[a-zA-Z]*[rR]/.test(f.text) || f.text === '--recursive') recursive = true;
      } else {
        targets.push(f);
      }
    }
    if (!recursive) return;
    for (const t of targets) {
      const x = t.text;
      const dot = /^(?:\.{1,2}\/?\*?|\.?\/\*|\*|\.\*)$/.test(x);
      const emptyVar = t.dynamic && /^\$\{?[A-Za-z_]\w*\}?\/\*?$/.test(x);
      if (dot) this.addCommand(`rm -r ${x}`, span);
      // "$DIR"/ with DIR unknown here: the root when DIR is empty or unset
      else if (emptyVar) this.addCommand(`rm -r / # ${x} with ${x.replace(/\/.*$/, '')} empty`, span);
    }
  }

  private findExec(argv: Field[], span: Span): void {
    for (let i = 1; i < argv.length; i++) {
      if (!/^-(?:exec|execdir|ok|okdir)$/.test(argv[i]!.text)) continue;
      let j = i + 1;
      while (j < argv.length && argv[j]!.text !== ';' && argv[j]!.text !== '+') j++;
      const inner = argv.slice(i + 1, j);
      if (inner.length > 0) this.judgeArgv(inner, span);
      i = j;
    }
  }

  private watch(argv: Field[], span: Span): void {
    const k = firstOperand(argv, 1, ['-n', '--interval', '-d', '--differences']);
    const rest = argv.slice(k);
    if (rest.length === 0) return;
    if (rest.some((f) => f.dynamic)) this.addDynamic('watch of a command only known at run time', span);
    else this.program('shell', joinFields(rest), span);
  }

  private interpreterArgs(interp: NonNullable<ReturnType<Analyzer['interpreter']>>, span: Span): void {
    if (interp.language === 'js' && interp.script !== undefined && /^https?:\/\//i.test(interp.script.text)) {
      this.addCommand(`curl ${interp.script.text} | sh`, span);
    }
    if (interp.script?.downloads === true) this.addCommand(`sh <(curl) # curl | sh`, span);
    else if (interp.script?.subst === true) {
      this.addDynamic('an interpreter runs a program from a process substitution', span);
    }
    if (interp.script !== undefined && this.downloaded.has(commandName(interp.script.text))) {
      this.addCommand(`curl -o ${interp.script.text} && sh ${interp.script.text} # curl | sh`, span);
    }
    const code = interp.code;
    if (code === undefined) return;
    if (code.downloads === true) {
      this.addCommand('sh -c "$(curl)" # curl | sh', span);
      return;
    }
    if (code.dynamic) {
      this.addDynamic(`an interpreter runs code only known at run time (${code.text.slice(0, 80)})`, span);
      return;
    }
    this.program(interp.language, code.text, span);
  }

  // -- pipelines

  private binary(n: PNode): void {
    const op = Number(n.Op);
    if ((op !== this.p.ops.pipe && op !== this.p.ops.pipeAll) || this.donePipes.has(n)) return;
    const stages: PNode[] = [];
    const flatten = (x: PNode): void => {
      const cmd = x.Cmd as PNode | null;
      if (
        cmd != null &&
        this.type(cmd) === 'BinaryCmd' &&
        (Number(cmd.Op) === this.p.ops.pipe || Number(cmd.Op) === this.p.ops.pipeAll)
      ) {
        this.donePipes.add(cmd);
        flatten(cmd.X as PNode);
        flatten(cmd.Y as PNode);
      } else {
        stages.push(x);
      }
    };
    this.donePipes.add(n);
    flatten(n.X as PNode);
    flatten(n.Y as PNode);
    const span = this.span(n);
    const kinds = stages.map((s) => this.stageOf(s));
    for (let k = 1; k < kinds.length; k++) {
      const kind = kinds[k]!;
      const upstream = kinds.slice(0, k);
      const download = upstream.find((u) => u.kind === 'download');
      if (download !== undefined && (kind.kind === 'interpreter' || kind.kind === 'dynamic')) {
        const fields = download.kind === 'download' ? download.fields : [];
        this.addCommand(`curl ${joinFields(fields.slice(1))} | sh`, span);
        continue;
      }
      if (kind.kind !== 'interpreter') continue;
      // echo <literal> | [decoders] | interpreter: read the literal as the program
      const source = upstream[0]!;
      const between = upstream.slice(1);
      if (source.kind === 'literal' && between.every((b) => b.kind === 'decode')) {
        let text: string | undefined = source.text;
        for (const b of between) {
          if (text === undefined || b.kind !== 'decode') break;
          if (b.how === 'base64') text = decodeBase64Text(text);
          else if (b.how === 'hex') text = decodeHexText(text);
          else if (b.how === 'rev') text = [...text].reverse().join('');
        }
        if (text !== undefined) {
          this.program(kind.language, text, span);
          continue;
        }
      }
      this.addDynamic('a pipe into an interpreter runs a program no parser can see', span);
    }
  }

  /** The kind of a pipeline stage; a subshell or block is an interpreter if a command in it is one. */
  private stageOf(stmt: PNode): StageKind {
    const cmd = stmt.Cmd as PNode | null;
    if (cmd == null) return { kind: 'other' };
    const t = this.type(cmd);
    if (t === 'CallExpr') {
      const real = this.stripRunners(this.argvOf(cmd));
      // `cat <<EOF ... EOF | sh`: the here-document is the literal piped on
      const redirs = (stmt.Redirs as PNode[] | null) ?? [];
      const hdoc = redirs.find(
        (r) => Number(r.Op) === this.p.ops.hdoc || Number(r.Op) === this.p.ops.dashHdoc,
      );
      if (
        hdoc != null &&
        hdoc.Hdoc != null &&
        real !== undefined &&
        real.length === 1 &&
        commandName(real[0]!.text) === 'cat'
      ) {
        const { text, downloads } = this.heredocText(hdoc.Hdoc as PNode);
        return downloads ? { kind: 'download', fields: real } : { kind: 'literal', text };
      }
      return this.stageKind(real);
    }
    if (t === 'Subshell' || t === 'Block') {
      const inner = ((cmd.Stmts as PNode[] | undefined) ?? []).map((s) => this.stageOf(s));
      return (
        inner.find((k) => k.kind === 'interpreter') ??
        inner.find((k) => k.kind === 'dynamic') ??
        inner.find((k) => k.kind === 'download') ?? { kind: 'other' }
      );
    }
    return { kind: 'other' };
  }
}

/**
 * Analyses `text` as a shell script with a loaded parser (see the module docs). Never throws: a text that is
 * not valid shell (or longer than MAX_PARSE_CHARS) gives `error` and nothing else, so the caller falls back to
 * the regex list. Lines in the result are 1-based lines of `text`.
 */
export function analyzeShell(p: ShellParser, text: string, options: ShellOptions = {}): ShellAnalysis {
  if (text.length > MAX_PARSE_CHARS) {
    return { commands: [], dynamic: [], error: `longer than ${MAX_PARSE_CHARS} characters` };
  }
  const a = new Analyzer(p, options, options.depth ?? 0, undefined);
  let error: string | undefined;
  try {
    error = a.run(text);
  } catch (err) {
    error = `the parser failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (error !== undefined) return { commands: [], dynamic: [], error };
  return { commands: a.commands, dynamic: a.dynamic };
}

/**
 * Analyses a command given as an argument vector (from source code: `spawn("git", ["push"])`), `null` for an
 * argument only known at run time. Runners, interpreters' `-c` code, `eval` and the rest are read as in a
 * script. Lines in the result are all 1.
 */
export function analyzeArgv(
  p: ShellParser,
  argv: readonly (string | null)[],
  options: ShellOptions = {},
): ShellAnalysis {
  const a = new Analyzer(p, options, options.depth ?? 0, { line: 1, endLine: 1 });
  const fields = argv.map((t): Field =>
    t === null ? { text: '$ARG', dynamic: true } : { text: t, dynamic: false },
  );
  if (fields.length > 0) a.judgeArgv(fields, { line: 1, endLine: 1 });
  return { commands: a.commands, dynamic: a.dynamic };
}
