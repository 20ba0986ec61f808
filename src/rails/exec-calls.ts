/**
 * Process-running calls in source code: string literals passed to the APIs that run
 * programs, in the common languages, so the command rule can judge them like shell lines. Pure; linear in the
 * text (each call's arguments are read within MAX_CALL_CHARS).
 *
 * The APIs, from each language's documentation:
 * - Node.js `child_process` (exec, execSync, execFile, execFileSync, spawn, spawnSync, fork), Bun (`Bun.spawn`,
 *   `Bun.spawnSync`, `Bun.$\`...\``), Deno (`new Deno.Command`, `Deno.run`), execa (`execa`, `execaSync`,
 *   `execaCommand`, `$`), zx (`` $`...` ``), shelljs (`shell.exec`);
 * - Python `os.system`, `os.popen`, `os.exec*`, `os.spawn*`, `os.posix_spawn*`, `subprocess.run/call/
 *   check_call/check_output/Popen/getoutput/getstatusoutput`, `asyncio.create_subprocess_shell/exec`,
 *   `pty.spawn`, `commands.getoutput`; nox's `session.run`, invoke's and Fabric's `c.run` / `c.sudo`;
 * - Ruby backquotes and `%x(...)`, `system`, `exec`, `spawn`, `IO.popen`, `Open3.*`, `Process.spawn`, Rake's `sh`;
 * - Perl backquotes and `qx(...)`, `system`, `exec`;
 * - PHP `shell_exec`, `exec`, `system`, `passthru`, `popen`, `proc_open`, backquotes;
 * - Go `exec.Command`, `exec.CommandContext`, `syscall.Exec`; Rust `Command::new(...)` with `.arg(...)` and
 *   `.args([...])`; Java `Runtime.getRuntime().exec`, `new ProcessBuilder`; Groovy/Jenkins `sh`, `bat`;
 *   .NET `Process.Start`.
 * What a call runs is either a shell command line (one string) or an argument vector (a list); a part that is
 * not a literal (a variable, an interpolation) is unknown (`null`, or `$ARG` inside a string). Identifiers
 * assigned ONE literal value in the same text (`const cmd = "git push"`) are substituted. String escapes are
 * decoded as the language does (`\x67`, `\u0067`, `\u{67}`, octal, `\U0001F600`); adjacent literals joined by
 * `+`, `.` or juxtaposition are concatenated.
 */
import type { CodeLanguage } from './file-kind.js';

/** One process-running call found in a text. */
export interface ExecCall {
  /** The API as written, e.g. `execSync`, `os.system`, `exec.Command`. */
  api: string;
  /** 1-based lines of the text the call spans. */
  line: number;
  endLine: number;
  /** A shell command line the call runs (a string form), `$ARG` where a part is unknown. */
  shell?: string;
  /** The argument vector the call runs (a list form); `null` for an unknown argument. */
  argv?: (string | null)[];
  /** Set when what the call runs is not known at all (its command is a variable, an expression). */
  dynamic?: string;
}

/** Most characters of one call's arguments read (a longer call is read up to here). */
export const MAX_CALL_CHARS = 8192;

/** How a call's arguments give the command. */
type Form =
  /** First argument: a shell string (or a list: argv). */
  | 'shell'
  /** First argument: a program (string) then its arguments (strings or lists); one string alone: shell. */
  | 'auto'
  /** Like auto, skipping the first argument (Go's context, Python's exec file, spawn mode). */
  | 'auto-skip1'
  | 'auto-skip2'
  /** A template literal right after the name: `` $`git push` ``. */
  | 'template'
  /** A backquoted or %x()/qx() command: the literal is a shell line. */
  | 'backquote'
  /** Rust: Command::new("git").arg("push").args([...]). */
  | 'rust'
  /** All string literals of the call, in order, are argv (Deno.Command, ProcessBuilder). */
  | 'literals'
  /** .NET Process.Start(file, arguments): file + ' ' + arguments as a shell line. */
  | 'dotnet';

interface Api {
  re: RegExp;
  form: Form;
  /**
   * A bare name other code uses too (`exec(`, `spawn(`, `fork(`): only a call when the text shows it comes
   * from a process API (an import or require of child_process, execa, zx...).
   */
  needs?: RegExp;
}

/** Where a bare `exec(` / `spawn(` / `fork(` of JavaScript comes from. */
const JS_PROCESS_IMPORT =
  /child_process|['"](?:execa|zx|shelljs|cross-spawn|node-pty|@npmcli\/promise-spawn)['"]|\bBun\b|\bDeno\b/;

/** Escapes and quoting rules of a language's string literals. */
interface StringRules {
  /** Single quotes are raw except `\\` and `\'` (Ruby, PHP, Perl, Groovy, shell). */
  singleRaw: boolean;
  /** Backquotes: a JS template, a Go raw string, or a command (Ruby, Perl, PHP, shell). */
  backquote: 'template' | 'raw' | 'command' | 'none';
  /** Interpolation inside double quotes: `#{}` (Ruby), `$x`/`${}` (PHP, Perl, Groovy, Kotlin). */
  interpolation: 'none' | 'ruby' | 'dollar';
  /** Python prefixes and triple quotes. */
  python: boolean;
  /** Rust raw strings r"..." and r#"..."#. */
  rust: boolean;
  /** C# verbatim @"..." and interpolated $"...". */
  csharp: boolean;
}

const RULES_BY_LANG: Record<CodeLanguage | 'any', StringRules> = {
  js: {
    singleRaw: false,
    backquote: 'template',
    interpolation: 'none',
    python: false,
    rust: false,
    csharp: false,
  },
  python: {
    singleRaw: false,
    backquote: 'none',
    interpolation: 'none',
    python: true,
    rust: false,
    csharp: false,
  },
  ruby: {
    singleRaw: true,
    backquote: 'command',
    interpolation: 'ruby',
    python: false,
    rust: false,
    csharp: false,
  },
  perl: {
    singleRaw: true,
    backquote: 'command',
    interpolation: 'dollar',
    python: false,
    rust: false,
    csharp: false,
  },
  php: {
    singleRaw: true,
    backquote: 'command',
    interpolation: 'dollar',
    python: false,
    rust: false,
    csharp: false,
  },
  go: {
    singleRaw: false,
    backquote: 'raw',
    interpolation: 'none',
    python: false,
    rust: false,
    csharp: false,
  },
  rust: {
    singleRaw: false,
    backquote: 'none',
    interpolation: 'none',
    python: false,
    rust: true,
    csharp: false,
  },
  jvm: {
    singleRaw: true,
    backquote: 'none',
    interpolation: 'dollar',
    python: false,
    rust: false,
    csharp: false,
  },
  dotnet: {
    singleRaw: false,
    backquote: 'none',
    interpolation: 'none',
    python: false,
    rust: false,
    csharp: true,
  },
  shell: {
    singleRaw: true,
    backquote: 'command',
    interpolation: 'dollar',
    python: false,
    rust: false,
    csharp: false,
  },
  other: {
    singleRaw: false,
    backquote: 'none',
    interpolation: 'none',
    python: true,
    rust: false,
    csharp: false,
  },
  any: {
    singleRaw: false,
    backquote: 'template',
    interpolation: 'none',
    python: true,
    rust: false,
    csharp: false,
  },
};

const JS_APIS: Api[] = [
  // child_process (bare or on any receiver: cp.execSync, child_process.spawn); `.exec(` only on a
  // child_process-like receiver (RegExp.prototype.exec is not a process API)
  { re: /(?<![\w$])(?:execSync|execFileSync|spawnSync)\s*\(/g, form: 'auto' },
  {
    re: /(?<![\w$.])(?<!function\s{1,20})(?:exec|execFile|spawn|fork)\s*\(/g,
    form: 'auto',
    needs: JS_PROCESS_IMPORT,
  },
  {
    re: /(?<![\w$])(?:child_?process|childProcess|cp|proc|shell|shelljs|sh)\s*\.\s*(?:exec|execFile|spawn|fork)\s*\(/gi,
    form: 'auto',
  },
  {
    re: /(?<![\w$])(?:Bun\s*\.\s*spawn(?:Sync)?|execa(?:Sync|Node)?|execaCommand(?:Sync)?|Deno\s*\.\s*run)\s*\(/g,
    form: 'auto',
  },
  { re: /(?<![\w$])new\s+Deno\s*\.\s*Command\s*\(/g, form: 'literals' },
  { re: /(?<![\w$])(?:Bun\s*\.\s*)?\$(?:\.sync|\s*\([^)]{0,200}\))?\s*`/g, form: 'template' },
];
const PY_APIS: Api[] = [
  {
    re: /\b(?:os\s*\.\s*(?:system|popen)|subprocess\s*\.\s*(?:getoutput|getstatusoutput)|commands\s*\.\s*getoutput|asyncio\s*\.\s*create_subprocess_shell|create_subprocess_shell|pty\s*\.\s*spawn)\s*\(/g,
    form: 'shell',
  },
  {
    re: /\b(?:subprocess|sp)\s*\.\s*(?:run|call|check_call|check_output|Popen)\s*\(|(?<![\w.])(?:check_output|check_call|Popen)\s*\(/g,
    form: 'auto',
  },
  { re: /\b(?:asyncio\s*\.\s*)?create_subprocess_exec\s*\(/g, form: 'auto' },
  {
    re: /\bos\s*\.\s*exec(?:l|le|lp|lpe|v|ve|vp|vpe)\s*\(|\bos\s*\.\s*posix_spawnp?\s*\(/g,
    form: 'auto-skip1',
  },
  { re: /\bos\s*\.\s*spawn(?:l|le|lp|lpe|v|ve|vp|vpe)\s*\(/g, form: 'auto-skip2' },
  // nox sessions (noxfile.py), invoke/Fabric contexts (tasks.py, fabfile.py): session.run("git", "push"),
  // c.run("git push"), conn.sudo("...")
  { re: /\bsession\s*\.\s*run(?:_always|_install)?\s*\(/g, form: 'auto' },
  { re: /\b(?:c|ctx|context|conn|connection)\s*\.\s*(?:run|sudo|local)\s*\(/g, form: 'shell' },
];
const RUBY_APIS: Api[] = [
  { re: /(?<![\w.:])(?<!def\s{1,20})(?:system|exec|spawn)\b\s*\(?/g, form: 'auto' },
  // Rake's FileUtils#sh (Rakefiles): sh "cmd", sh("cmd"), sh "git", "push"
  { re: /(?<![\w.:$@])sh\b\s*\(?(?=\s*["'%])/g, form: 'auto' },
  {
    re: /\b(?:IO\s*\.\s*popen|Open3\s*\.\s*(?:capture2e?|capture3|popen2e?|popen3|pipeline\w*)|Process\s*\.\s*spawn|Kernel\s*\.\s*(?:system|exec|spawn))\s*\(?/g,
    form: 'auto',
  },
  { re: /%x\s*[([{<|!/]/g, form: 'backquote' },
];
const PERL_APIS: Api[] = [
  { re: /(?<![\w$@%&:>-])(?<!sub\s{1,20})(?:system|exec)\b\s*\(?/g, form: 'auto' },
  { re: /\bqx\s*[([{<|!/'"]/g, form: 'backquote' },
];
const PHP_APIS: Api[] = [
  {
    re: /(?<![\w$>:])(?<!function\s{1,20})(?:shell_exec|exec|system|passthru|popen|proc_open|pcntl_exec)\s*\(/g,
    form: 'auto',
  },
];
const GO_APIS: Api[] = [
  { re: /\bexec\s*\.\s*Command\s*\(/g, form: 'auto' },
  { re: /\bexec\s*\.\s*CommandContext\s*\(/g, form: 'auto-skip1' },
  { re: /\bsyscall\s*\.\s*Exec\s*\(/g, form: 'auto-skip1' },
];
const RUST_APIS: Api[] = [{ re: /\bCommand\s*::\s*new\s*\(/g, form: 'rust' }];
const JVM_APIS: Api[] = [
  { re: /\bgetRuntime\s*\(\s*\)\s*\.\s*exec\s*\(/g, form: 'auto' },
  { re: /\bnew\s+ProcessBuilder\s*\(/g, form: 'literals' },
  // Groovy / Jenkins pipeline steps: sh 'cmd', sh "cmd", sh(script: 'cmd'), bat, powershell
  { re: /(?<![\w.$])(?:sh|bat|powershell|pwsh)\s*(?:\(\s*(?:script\s*:\s*)?)?(?=['"])/g, form: 'shell' },
  { re: /(?<![\w$])"[^"\n]{1,500}"\s*\.\s*execute\s*\(/g, form: 'shell' },
];
const DOTNET_APIS: Api[] = [{ re: /\bProcess\s*\.\s*Start\s*\(/g, form: 'dotnet' }];

/** The APIs of each language; `any` (a file of unknown language) gets only the unambiguous, qualified ones. */
const APIS: Record<CodeLanguage | 'any', Api[]> = {
  js: JS_APIS,
  python: PY_APIS,
  ruby: RUBY_APIS,
  perl: PERL_APIS,
  php: PHP_APIS,
  go: GO_APIS,
  rust: RUST_APIS,
  jvm: JVM_APIS,
  dotnet: DOTNET_APIS,
  shell: [],
  other: [...PY_APIS.slice(0, 1), ...GO_APIS, ...RUST_APIS],
  any: [
    { re: /(?<![\w$])(?:execSync|execFileSync|spawnSync)\s*\(/g, form: 'auto' },
    {
      re: /(?<![\w$])(?:child_?process|childProcess)\s*\.\s*(?:exec|execFile|spawn|fork)\s*\(/g,
      form: 'auto',
    },
    ...PY_APIS,
    ...GO_APIS,
    ...RUST_APIS,
    { re: /(?<![\w$>:])(?:shell_exec|passthru)\s*\(/g, form: 'auto' },
    ...JVM_APIS.slice(0, 2),
    ...DOTNET_APIS,
  ],
};

/**
 * A cheap test for a line that may hold (or start) a process-running call of `language`: when no line of a
 * text passes it, findExecCalls finds nothing. One native regex per language, compiled once.
 */
export const EXEC_PREFILTER: Readonly<Record<CodeLanguage | 'any', RegExp>> = {
  js: /exec|spawn|fork|\$\s*[`(.]|Deno|Bun/,
  python: /system|popen|exec|spawn|subprocess|check_|Popen|getoutput|\.\s*(?:run|sudo|local)/,
  ruby: /system|exec|spawn|popen|Open3|`|%x|\bsh\b/,
  perl: /system|exec|`|qx/,
  php: /exec|system|passthru|popen|proc_open|`/,
  go: /exec\s*\.|syscall/,
  rust: /Command/,
  jvm: /exec|ProcessBuilder|\b(?:sh|bat|powershell|pwsh)\b/,
  dotnet: /Process/,
  shell: /(?!)/,
  other: /system|popen|subprocess|exec|Command/,
  any: /exec|spawn|system|popen|subprocess|Command|Process|passthru|getoutput/,
};

// ---- string literals -------------------------------------------------------------------------------------

/** Decodes the escapes of a (non-raw) string literal body, as the common languages do. Linear. */
export function decodeEscapes(body: string): string {
  if (!body.includes('\\')) return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\' || i + 1 >= body.length) {
      out += c;
      continue;
    }
    const n = body[++i]!;
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
      e: '\x1b',
      '\n': '',
    };
    if (Object.hasOwn(simple, n)) {
      out += simple[n];
    } else if (n === 'x') {
      const m = /^(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{1,2}))/.exec(body.slice(i + 1));
      if (m === null) out += 'x';
      else {
        out += String.fromCodePoint(parseInt(m[1] ?? m[2]!, 16));
        i += m[0].length;
      }
    } else if (n === 'u' || n === 'U') {
      const m = /^(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{4}))/.exec(body.slice(i + 1));
      const long = n === 'U' ? /^[0-9a-fA-F]{8}/.exec(body.slice(i + 1)) : null;
      if (long !== null) {
        const cp = parseInt(long[0], 16);
        out += cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
        i += 8;
      } else if (m !== null) {
        const cp = parseInt(m[1] ?? m[2]!, 16);
        out += cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
        i += m[0].length;
      } else out += n;
    } else if (n >= '0' && n <= '7') {
      const m = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out += String.fromCharCode(parseInt(m, 8) & 0xff);
      i += m.length - 1;
    } else {
      out += n;
    }
  }
  return out;
}

/** A literal value: text, and whether part of it is only known at run time (`$ARG` stands in for it). */
interface Value {
  text: string;
  dynamic: boolean;
}

/** Marker for an unknown part inside a string (a shell parameter, so a command name made of it is dynamic). */
const UNKNOWN = '$ARG';

/**
 * Reads the string literal starting at `i` of `text` (its opening quote or prefix), for `rules`. Returns the
 * value and the index after it, or undefined when no string literal starts there.
 */
function readString(text: string, i: number, rules: StringRules): { value: Value; end: number } | undefined {
  let j = i;
  let raw = false;
  let interpolated = false;
  let verbatim = false;
  if (rules.python) {
    const m = /^(?:[rRbBuUfF]{1,2})(?=['"])/.exec(text.slice(j, j + 3));
    if (m !== null) {
      raw = /r/i.test(m[0]);
      interpolated = /f/i.test(m[0]);
      j += m[0].length;
    }
  }
  if (rules.rust && text[j] === 'r' && (text[j + 1] === '"' || text[j + 1] === '#')) {
    const m = /^r(#*)"/.exec(text.slice(j, j + 40));
    if (m !== null) {
      const close = `"${m[1]}`;
      const start = j + m[0].length;
      const end = text.indexOf(close, start);
      if (end < 0) return undefined;
      return { value: { text: text.slice(start, end), dynamic: false }, end: end + close.length };
    }
  }
  if (rules.csharp && (text[j] === '@' || text[j] === '$')) {
    const m = /^[@$]{1,2}(?=")/.exec(text.slice(j, j + 3));
    if (m !== null) {
      verbatim = m[0].includes('@');
      interpolated = m[0].includes('$');
      j += m[0].length;
    }
  }
  const q = text[j];
  if (q !== '"' && q !== "'" && q !== '`') return undefined;
  if (q === '`' && rules.backquote === 'none') return undefined;
  // Python triple quotes
  if (rules.python && text.startsWith(q.repeat(3), j)) {
    const close = q.repeat(3);
    const end = text.indexOf(close, j + 3);
    if (end < 0) return undefined;
    const body = text.slice(j + 3, end);
    return {
      value: interpolate(raw ? body : decodeEscapes(body), interpolated ? 'brace' : 'none'),
      end: end + 3,
    };
  }
  const singleRaw = q === "'" && rules.singleRaw;
  const goRaw = q === '`' && rules.backquote === 'raw';
  let body = '';
  let k = j + 1;
  const limit = Math.min(text.length, j + MAX_CALL_CHARS);
  const parts: Value[] = [];
  let dynamic = false;
  for (; k < limit; k++) {
    const c = text[k]!;
    if (c === q) {
      if (verbatim && text[k + 1] === '"') {
        body += '"';
        k++;
        continue;
      }
      break;
    }
    if (
      c === '\n' &&
      q !== '`' &&
      !rules.python &&
      !verbatim &&
      !singleRaw &&
      body.endsWith('\\') === false
    ) {
      if (q !== '"' || rules.interpolation === 'none') return undefined; // unterminated on this line
    }
    if (c === '\\' && !goRaw && !verbatim) {
      if (singleRaw || raw) {
        const n = text[k + 1];
        if (n === q || n === '\\') {
          body += singleRaw ? n : `\\${n}`;
          k++;
          continue;
        }
        body += c;
        continue;
      }
      body += c + (text[k + 1] ?? '');
      k++;
      continue;
    }
    // interpolation: ${...} in JS templates, #{...} in Ruby, $x / ${...} / {$x} in PHP, Perl, Groovy
    const template = q === '`' && rules.backquote === 'template';
    const dollar = rules.interpolation === 'dollar' && q !== "'" && !singleRaw;
    const ruby = rules.interpolation === 'ruby' && q !== "'";
    if ((template && c === '$' && text[k + 1] === '{') || (ruby && c === '#' && text[k + 1] === '{')) {
      const close = matchBrace(text, k + 1, limit);
      parts.push({ text: decodeEscapes(body), dynamic: false }, { text: UNKNOWN, dynamic: true });
      body = '';
      dynamic = true;
      k = close;
      continue;
    }
    if (dollar && c === '$' && /[A-Za-z_{]/.test(text[k + 1] ?? '')) {
      const m = /^\$(?:\{[^}\n]{0,200}\}|[A-Za-z_]\w*(?:(?:->|\.)\w+|\[[^\]\n]{0,50}\])*)/.exec(
        text.slice(k, k + 300),
      );
      parts.push({ text: decodeEscapes(body), dynamic: false }, { text: UNKNOWN, dynamic: true });
      body = '';
      dynamic = true;
      k += (m?.[0].length ?? 1) - 1;
      continue;
    }
    if (interpolated && c === '{') {
      if (text[k + 1] === '{') {
        body += '{';
        k++;
        continue;
      }
      const close = matchBrace(text, k, limit);
      parts.push(
        { text: raw ? body : decodeEscapes(body), dynamic: false },
        { text: UNKNOWN, dynamic: true },
      );
      body = '';
      dynamic = true;
      k = close;
      continue;
    }
    body += c;
  }
  if (k >= limit) return undefined;
  const decode = (b: string): string => (singleRaw || goRaw || raw || verbatim ? b : decodeEscapes(b));
  parts.push({ text: decode(body), dynamic: false });
  return { value: { text: parts.map((p) => p.text).join(''), dynamic }, end: k + 1 };
}

/** Python f-string braces replaced by an unknown part. */
function interpolate(text: string, how: 'brace' | 'none'): Value {
  if (how === 'none' || !text.includes('{')) return { text, dynamic: false };
  let dynamic = false;
  const out = text.replace(/\{\{|\}\}|\{[^{}]*\}/g, (m) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    dynamic = true;
    return UNKNOWN;
  });
  return { text: out, dynamic };
}

/** Index of the `}` matching the `{` at `open` (strings inside ignored roughly), or `limit`. */
function matchBrace(text: string, open: number, limit: number): number {
  let depth = 0;
  for (let k = open; k < limit; k++) {
    const c = text[k];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return k;
  }
  return limit;
}

// ---- arguments -------------------------------------------------------------------------------------------

/** One argument of a call: a string, a list of strings, or something else (unknown). */
type Arg =
  | { kind: 'string'; value: Value }
  | { kind: 'list'; items: (Value | null)[] }
  | { kind: 'other'; text: string };

/** Constants of a text: identifier -> its one literal value (null when assigned several or non-literals). */
type Constants = Map<string, Arg | null>;

const OPEN: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

/**
 * Reads a comma-separated argument list starting after the opening delimiter at `open` (index of `(`), up to
 * its matching close. Returns the arguments and the index after the close.
 */
function readArgs(
  text: string,
  open: number,
  rules: StringRules,
  constants: Constants,
): { args: Arg[]; end: number } {
  const close = OPEN[text[open]!] ?? ')';
  const limit = Math.min(text.length, open + MAX_CALL_CHARS);
  const args: Arg[] = [];
  let k = open + 1;
  while (k < limit) {
    k = skipSpace(text, k, limit);
    if (text[k] === close) return { args, end: k + 1 };
    const r = readExpr(text, k, limit, rules, constants, close);
    args.push(r.arg);
    k = skipSpace(text, r.end, limit);
    if (text[k] === ',') k++;
    else if (text[k] === close) return { args, end: k + 1 };
    else if (r.end === k && k < limit) k++; // not progressing: skip a character
  }
  return { args, end: limit };
}

function skipSpace(text: string, k: number, limit: number): number {
  while (k < limit && /\s/.test(text[k]!)) k++;
  return k;
}

/**
 * One argument expression from `k`: adjacent string literals joined by `+`, `.`, `..` or juxtaposition; a
 * list `[...]` / `%w(...)` / `new String[]{...}` / `List.of(...)` / `&[...]` / `vec![...]` of literals; an
 * identifier with a known constant value; anything else up to the next top-level `,` or `close` is `other`.
 */
function readExpr(
  text: string,
  k: number,
  limit: number,
  rules: StringRules,
  constants: Constants,
  close: string,
): { arg: Arg; end: number } {
  const start = k;
  // lists
  const listOpen =
    /^(?:&|vec!\s*|new\s+String\s*\[\s*\]\s*|(?:List|Arrays|Set)\s*\.\s*(?:of|asList)\s*|%w\s*|array\s*|qw\s*)?([[({])/.exec(
      text.slice(k, k + 40),
    );
  if (listOpen !== null && (listOpen[0].length > 1 || text[k] === '[')) {
    const open = k + listOpen[0].length - 1;
    if (/%w|qw/.test(listOpen[0])) {
      const end = text.indexOf(OPEN[text[open]!] ?? ')', open + 1);
      if (end > 0) {
        const words = text
          .slice(open + 1, end)
          .trim()
          .split(/\s+/)
          .filter(Boolean);
        return {
          arg: { kind: 'list', items: words.map((w) => ({ text: w, dynamic: false })) },
          end: end + 1,
        };
      }
    }
    const inner = readArgs(text, open, rules, constants);
    const items: (Value | null)[] = [];
    for (const a of inner.args) {
      if (a.kind === 'string') items.push(a.value);
      else if (a.kind === 'list') items.push(...a.items);
      else if (/^\.\.\.|^\*/.test(a.text)) items.push(null);
      else items.push(null);
    }
    return { arg: { kind: 'list', items }, end: inner.end };
  }
  // strings, concatenated
  const pieces: Value[] = [];
  let j = k;
  for (;;) {
    j = skipSpace(text, j, limit);
    const s = readString(text, j, rules);
    if (s !== undefined) {
      pieces.push(s.value);
      j = s.end;
    } else {
      const id = /^\$?[A-Za-z_][\w]*(?:\s*\.\s*[A-Za-z_]\w*)*/.exec(text.slice(j, j + 200));
      const known = id !== null ? constants.get(id[0].replace(/\s+/g, '')) : undefined;
      if (
        id !== null &&
        pieces.length > 0 &&
        (known === undefined || known === null || known.kind !== 'string')
      ) {
        pieces.push({ text: UNKNOWN, dynamic: true });
        j += id[0].length;
      } else if (id !== null && known !== undefined && known !== null && known.kind === 'string') {
        pieces.push(known.value);
        j += id[0].length;
      } else if (id !== null && pieces.length === 0) {
        const after = skipSpace(text, j + id[0].length, limit);
        const nextCh = text[after];
        if (known !== undefined && known !== null && (nextCh === ',' || nextCh === close)) {
          return { arg: known, end: after };
        }
        break;
      } else break;
    }
    const op = /^\s*(?:\+|\.\.?|~)\s*|^\s+(?=["'])/.exec(text.slice(j, j + 20));
    if (op === null) break;
    const after = j + op[0].length;
    if (
      !/["'`$A-Za-z_]/.test(text[after] ?? '') ||
      (op[0].trim() === '.' && !/["'$]/.test(text[after] ?? ''))
    ) {
      break;
    }
    j = after;
  }
  if (pieces.length > 0) {
    let end = j;
    while (end < limit && (text[end] === ' ' || text[end] === '\t' || text[end] === '\r')) end++;
    if (text[end] !== '\n' || close === ')' || close === ']' || close === '}')
      end = skipSpace(text, j, limit);
    if (text[end] === ',' || text[end] === close || text[end] === ';' || text[end] === '\n' || end >= limit) {
      return {
        arg: {
          kind: 'string',
          value: { text: pieces.map((p) => p.text).join(''), dynamic: pieces.some((p) => p.dynamic) },
        },
        end,
      };
    }
    // a string followed by more expression (a method call, a keyword argument): still the string
    if (/^[.)\]}\s]/.test(text[end] ?? '')) {
      return {
        arg: {
          kind: 'string',
          value: { text: pieces.map((p) => p.text).join(''), dynamic: pieces.some((p) => p.dynamic) },
        },
        end: skipTo(text, end, limit, close),
      };
    }
  }
  // anything else up to the next top-level comma or the close
  const end = skipTo(text, start, limit, close);
  return { arg: { kind: 'other', text: text.slice(start, end).trim() }, end };
}

/** Index of the next top-level `,` or `close` from `k` (nested brackets and strings skipped). */
function skipTo(text: string, k: number, limit: number, close: string): number {
  let depth = 0;
  for (; k < limit; k++) {
    const c = text[k]!;
    if (c === '"' || c === "'" || c === '`') {
      const end = text.indexOf(c, k + 1);
      if (end < 0 || end >= limit) return limit;
      k = end;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) return k;
      depth--;
    } else if (c === ',' && depth === 0) return k;
    void close;
  }
  return limit;
}

/** Identifiers assigned exactly one literal (string or list) in `text`, per the usual assignment forms. */
function constantsOf(text: string, rules: StringRules): Constants {
  const out: Constants = new Map();
  const re =
    /(?:^|[\s;{(,])(?:(?:const|let|var|my|our|local|final|val|String|string|auto|static)\s+)*(\$?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)\s*(?::\s*[\w<>[\]|. ]{1,40})?\s*(?::=|=(?![=~>]))\s*(?=["'`[&%]|vec!|new\s+String|List\.|[rRbBfFuU]{1,2}["'])/g;
  for (const m of text.matchAll(re)) {
    const name = m[1]!;
    const start = (m.index ?? 0) + m[0].length;
    const r = readExpr(text, start, Math.min(text.length, start + MAX_CALL_CHARS), rules, new Map(), '\n');
    const value = r.arg.kind === 'other' ? null : r.arg;
    const prev = out.get(name);
    if (prev === undefined && !out.has(name)) out.set(name, value);
    else if (JSON.stringify(prev) !== JSON.stringify(value)) out.set(name, null);
  }
  return out;
}

// ---- calls -----------------------------------------------------------------------------------------------

/** Line number (1-based) of index `i`, with `starts` the indexes where lines start. */
function lineAt(starts: readonly number[], i: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function argText(a: Arg | undefined): string {
  if (a === undefined) return '';
  if (a.kind === 'string') return a.value.text;
  if (a.kind === 'list') return a.items.map((x) => x?.text ?? UNKNOWN).join(' ');
  return a.text;
}

/** The call a form and its arguments describe. */
function interpret(api: string, form: Form, args: Arg[]): Omit<ExecCall, 'line' | 'endLine' | 'api'> {
  const skip = form === 'auto-skip1' ? 1 : form === 'auto-skip2' ? 2 : 0;
  const rest = args.slice(skip);
  const first = rest[0];
  if (first === undefined) return {};
  if (form === 'dotnet') {
    if (first.kind !== 'string')
      return { dynamic: `${api} of ${first.kind === 'other' ? first.text.slice(0, 60) : 'a list'}` };
    const extra =
      rest[1]?.kind === 'string' ? ` ${rest[1].value.text}` : rest[1] !== undefined ? ` ${UNKNOWN}` : '';
    return { shell: `${first.value.text}${extra}` };
  }
  if (first.kind === 'other') return { dynamic: `${api}(${first.text.slice(0, 60)})` };
  if (first.kind === 'list')
    return {
      argv: first.items.map((v) =>
        v === null || v.dynamic ? (v?.text.startsWith(UNKNOWN) ? null : (v?.text ?? null)) : v.text,
      ),
    };
  if (form === 'shell') return { shell: first.value.text };
  // auto: one string alone (or followed only by options) is a shell line; else program + arguments
  const argv: (string | null)[] = [
    first.value.dynamic && first.value.text === UNKNOWN ? null : first.value.text,
  ];
  let more = false;
  for (const a of rest.slice(1)) {
    if (a.kind === 'string') {
      argv.push(a.value.text === UNKNOWN ? null : a.value.text);
      more = true;
    } else if (a.kind === 'list') {
      argv.push(...a.items.map((v) => (v === null ? null : v.text)));
      more = true;
    } else if (
      /^(?:shell\s*=|\{|env|opts|options|cwd|stdio|\*\*|check\s*=|capture_output|text\s*=|timeout)/.test(
        a.text,
      )
    ) {
      break; // options
    } else {
      argv.push(null);
      more = true;
    }
  }
  if (!more) return { shell: first.value.text };
  return { argv };
}

/**
 * The process-running calls of `text` in `language` (see the module docs), in order of appearance. Lines are
 * 1-based lines of `text`. Never throws on odd text; a call whose arguments cannot be read is skipped.
 */
export function findExecCalls(text: string, language: CodeLanguage | 'any'): ExecCall[] {
  const apis = APIS[language] ?? APIS.any;
  const rules = RULES_BY_LANG[language] ?? RULES_BY_LANG.any;
  if (apis.length === 0 && rules.backquote !== 'command') return [];
  if (!EXEC_PREFILTER[language].test(text)) return [];
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const constants = constantsOf(text, rules);
  const calls: (ExecCall & { at: number })[] = [];
  const seen = new Set<number>();
  for (const api of apis) {
    if (api.needs !== undefined && !api.needs.test(text)) continue;
    api.re.lastIndex = 0;
    for (const m of text.matchAll(api.re)) {
      const at = m.index ?? 0;
      if (seen.has(at)) continue;
      seen.add(at);
      const name = m[0]
        .replace(/^new\s+/, '')
        .replace(/\s+/g, '')
        .replace(/[(`[{<|!/'"]+$/, '');
      const after = at + m[0].length;
      let call: Omit<ExecCall, 'line' | 'endLine' | 'api'> | undefined;
      let end: number;
      if (api.form === 'template') {
        const s = readString(text, after - 1, RULES_BY_LANG.js);
        if (s === undefined) continue;
        call = { shell: s.value.text };
        end = s.end;
      } else if (api.form === 'backquote') {
        const open = text[after - 1]!;
        const closeCh = OPEN[open] ?? (open === '<' ? '>' : open);
        const close = text.indexOf(closeCh, after);
        if (close < 0 || close - after > MAX_CALL_CHARS) continue;
        call = { shell: text.slice(after, close) };
        end = close + 1;
      } else {
        const paren = text[after - 1] === '(' ? after - 1 : -1;
        let args: Arg[];
        if (paren >= 0) {
          const r = readArgs(text, paren, rules, constants);
          args = r.args;
          end = r.end;
          // a definition (`exec(cmd: string) {`, `def system(self):`), not a call
          if (
            /^[ \t]*(?::[^;{}=\n]{1,120})?[ \t]*(?:\{|=>)/.test(text.slice(end, end + 130)) &&
            args[0]?.kind === 'other'
          ) {
            continue;
          }
        } else {
          // paren-less call (Ruby, Perl, Groovy): arguments up to the end of the line
          const eol = text.indexOf('\n', after);
          const lineEnd = eol < 0 ? text.length : eol;
          const line = `(${text.slice(after, lineEnd)})`;
          const r = readArgs(line, 0, rules, constants);
          args = r.args;
          end = lineEnd;
          // a call only when its first argument is a literal, a list or one identifier (`system cmd`), not
          // prose (`# the system is down`)
          if (
            args.length === 0 ||
            (args[0]!.kind === 'other' && !/^[A-Za-z_$@][\w.$@]*$/.test(args[0]!.text))
          ) {
            continue;
          }
        }
        if (api.form === 'rust') {
          const chain = rustChain(text, end, rules, constants);
          end = chain.end;
          const program = args[0];
          const head = program?.kind === 'string' ? program.value.text : null;
          call =
            program?.kind === 'other'
              ? { dynamic: `Command::new(${program.text.slice(0, 60)})` }
              : { argv: [head, ...chain.argv] };
        } else if (api.form === 'literals') {
          const argv: (string | null)[] = [];
          const flat = (a: Arg): void => {
            if (a.kind === 'string')
              argv.push(a.value.dynamic && a.value.text === UNKNOWN ? null : a.value.text);
            else if (a.kind === 'list') argv.push(...a.items.map((v) => v?.text ?? null));
          };
          args.forEach(flat);
          // object arguments ({ args: [...] }): the literals inside
          for (const a of args)
            if (a.kind === 'other') for (const s of literalsIn(a.text, rules)) argv.push(s);
          call =
            args[0]?.kind === 'other' && !args[0].text.startsWith('{')
              ? { dynamic: `${name}(${args[0].text.slice(0, 60)})` }
              : { argv };
        } else {
          call = interpret(name, api.form, args);
        }
      }
      if (
        call === undefined ||
        (call.shell === undefined && call.argv === undefined && call.dynamic === undefined)
      )
        continue;
      calls.push({
        api: name,
        at,
        line: lineAt(starts, at),
        endLine: lineAt(starts, Math.max(at, end - 1)),
        ...call,
      });
    }
  }
  // command backquotes (Ruby, Perl, PHP, shell): `...`
  if (rules.backquote === 'command' && text.includes('`')) {
    const re = /`([^`\n]{1,4000})`/g;
    for (const m of text.matchAll(re)) {
      const at = m.index ?? 0;
      const body = m[1]!;
      const value = readString(m[0], 0, {
        ...rules,
        backquote: 'template',
        interpolation: rules.interpolation,
      });
      calls.push({
        api: '`...`',
        at,
        line: lineAt(starts, at),
        endLine: lineAt(starts, at + m[0].length - 1),
        shell: value?.value.text ?? body,
      });
    }
  }
  calls.sort((a, b) => a.at - b.at);
  return calls.map(({ at: _at, ...c }) => c);
}

/** Rust `.arg("x")` / `.args([...])` calls chained after Command::new(...). */
function rustChain(
  text: string,
  k: number,
  rules: StringRules,
  constants: Constants,
): { argv: (string | null)[]; end: number } {
  const argv: (string | null)[] = [];
  let end = k;
  for (let guard = 0; guard < 64; guard++) {
    const m = /^\s*\.\s*(arg|args|env|envs|current_dir|stdin|stdout|stderr|kill_on_drop|uid|gid)\s*\(/.exec(
      text.slice(end, end + 80),
    );
    if (m === null) break;
    const open = end + m[0].length - 1;
    const r = readArgs(text, open, rules, constants);
    if (m[1] === 'arg') {
      const a = r.args[0];
      argv.push(a?.kind === 'string' && !(a.value.dynamic && a.value.text === UNKNOWN) ? a.value.text : null);
    } else if (m[1] === 'args') {
      const a = r.args[0];
      if (a?.kind === 'list') argv.push(...a.items.map((v) => v?.text ?? null));
      else argv.push(null);
    }
    end = r.end;
  }
  return { argv, end };
}

/** The string literals inside `text` (an object argument), decoded. */
function literalsIn(text: string, rules: StringRules): string[] {
  const out: string[] = [];
  for (let k = 0; k < text.length; k++) {
    const c = text[k];
    if (c !== '"' && c !== "'" && c !== '`') continue;
    const s = readString(text, k, rules);
    if (s === undefined) continue;
    out.push(s.value.text);
    k = s.end - 1;
  }
  return out;
}

/** For tests and messages: what an argument looks like. */
export const __internal = { readString, readArgs, constantsOf, argText, RULES_BY_LANG };
