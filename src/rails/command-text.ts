/**
 * Command files read into their RESULTING LOGICAL LINES: what the shell, make, Docker, a CI
 * runner or npm will actually run, with the lines of the file each piece comes from. Pure.
 *
 * A file (or, when its whole text is not known, a run of consecutive added lines) is cut into units:
 * - `logical`: physical lines joined at line continuations (a trailing unescaped `\` for shell, make and
 *   Dockerfiles; a trailing backquote for PowerShell; `^` for batch files). The regex list reads these;
 * - `shell`: text to parse as shell. A shell script is one unit (parsed whole, so heredocs, functions and
 *   multi-line pipelines keep their structure; the parser reports lines); Makefile recipe lines (after the tab,
 *   `@`/`-`/`+` dropped, `$$` read as `$`, make variables replaced: GNU make manual, "Variables Used by
 *   Implicit Rules" for $(MAKE), $(CC), $(RM) ...) and `$(shell ...)`; Dockerfile RUN, CMD and ENTRYPOINT in
 *   shell form (flags such as `--mount=` dropped; heredocs `RUN <<EOF` read as the script; Dockerfile
 *   reference, "RUN" and "Here-Documents"); every string value of a YAML file (folded `>` and literal `|`
 *   scalars resolved by the `yaml` parser; GitHub expressions `${{ ... }}` read as an unknown parameter) and
 *   of a JSON file (escapes such as `\u0063` decoded by `jsonc-parser`); Procfile commands;
 * - `argv`: Dockerfile exec form `RUN ["sh", "-c", "..."]` (a JSON array);
 * - `code`: the file's text in a programming language (conftest.py, setup.py, Rakefile): its process-running
 *   calls are read (src/rails/exec-calls.ts).
 * `commands: true` marks values that are commands by their place (a YAML `run:`/`script:`/`cmds:` value, a
 * package.json script, a recipe line): only there does a command built at run time need approval.
 */
import { parseTree, type Node as JsonNode } from 'jsonc-parser';
import type { Scalar } from 'yaml';

/** The `yaml` package, loaded on first need (~0.1 s: a change without YAML command files never pays it). */
type YamlModule = typeof import('yaml');
let YAML: YamlModule | undefined;

/**
 * Loads the YAML parser (`yaml`) once. YAML command files are read by it when it is loaded; before, their
 * added lines are read one by one (yamlLineUnits). Call before commandUnits() for a YAML file.
 */
export async function loadYaml(): Promise<void> {
  YAML ??= await import('yaml');
}
import type { CodeLanguage, CommandFlavour } from './file-kind.js';

/** One piece of a command file to judge, with the 1-based lines of the file it spans. */
export interface CommandUnit {
  line: number;
  endLine: number;
  /** What the unit is read as (see the module docs). */
  kind: 'logical' | 'shell' | 'argv' | 'code';
  /** The text (for `argv`: the JSON array as written). */
  text: string;
  argv?: string[];
  language?: CodeLanguage;
  /** For `shell` units parsed whole: parser line n is file line `line + n - 1` (else all of it is at line..endLine). */
  aligned?: boolean;
  /** The unit is a command by its place (see the module docs). */
  commands: boolean;
}

/** At most this many physical lines are joined into one logical line. */
export const MAX_JOINED_LINES = 256;
/** At most this many characters are joined into one logical line. */
export const MAX_JOINED_CHARS = 256 * 1024;

/** Ends with an odd number of `ch` (an unescaped continuation), maybe followed by spaces. */
function continues(text: string, ch: string): boolean {
  let i = text.length - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r')) i--;
  let n = 0;
  while (i >= 0 && text[i] === ch) {
    n++;
    i--;
  }
  return ch === '\\' ? n % 2 === 1 : n >= 1;
}

/** The continuation character of a flavour and file name (PowerShell: backquote; batch: caret). */
function continuationOf(flavour: CommandFlavour, path: string): string {
  if (/\.(?:ps1|psm1)$/i.test(path)) return '`';
  if (/\.(?:bat|cmd)$/i.test(path)) return '^';
  return flavour === 'yaml' || flavour === 'json' ? '' : '\\';
}

/** A shell line that goes on on the next line without a backslash: it ends with `|`, `||` or `&&`. */
const OPEN_OPERATOR = /(?:\|\|?|&&)[ \t]*$/;

/**
 * Physical lines joined at continuations. `first` is the file line of lines[0]. `skipComments`: comment
 * lines inside a continuation are dropped (Dockerfile). `operators`: a line ending in `|`, `||` or `&&` also
 * goes on (POSIX shell: the command is not complete).
 */
export function logicalLines(
  lines: readonly string[],
  first: number,
  ch: string,
  skipComments = false,
  operators = false,
): { line: number; endLine: number; text: string }[] {
  const out: { line: number; endLine: number; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    let text = lines[i]!;
    const start = i;
    let joined = 1;
    for (;;) {
      if (i + 1 >= lines.length || joined >= MAX_JOINED_LINES || text.length >= MAX_JOINED_CHARS) break;
      const backslash = ch !== '' && continues(text, ch);
      if (!backslash && !(operators && OPEN_OPERATOR.test(text))) break;
      i++;
      const next = lines[i]!;
      if (skipComments && /^\s*#/.test(next)) continue; // Dockerfile: comment lines inside a continuation
      text = backslash ? `${text.replace(/\s*$/, '').slice(0, -1)} ${next}` : `${text} ${next}`;
      joined++;
    }
    out.push({ line: first + start, endLine: first + i, text });
  }
  return out;
}

// ---- make ------------------------------------------------------------------------------------------------

/** Make variables that conventionally hold a program (GNU make manual, "Variables Used by Implicit Rules"). */
const MAKE_PROGRAMS: Readonly<Record<string, string>> = {
  MAKE: 'make',
  CC: 'cc',
  CXX: 'c++',
  CPP: 'cpp',
  AR: 'ar',
  AS: 'as',
  LD: 'ld',
  FC: 'f77',
  LEX: 'lex',
  YACC: 'yacc',
  RM: 'rm -f',
  INSTALL: 'install',
  MKDIR_P: 'mkdir -p',
  CP: 'cp',
  MV: 'mv',
  SHELL: 'sh',
  PYTHON: 'python3',
  NPM: 'npm',
  NODE: 'node',
  GO: 'go',
  CARGO: 'cargo',
  DOCKER: 'docker',
};

/**
 * A make recipe line as the shell sees it: leading `@`, `-`, `+` dropped, `$$` -> `$`, `$(VAR)`/`${VAR}` ->
 * the program of a conventional variable, else `$VAR` (unknown to the shell parser), automatic variables
 * (`$@`, `$<`, ...) -> `$ARG`; `$(shell cmd)` -> `$(cmd)`. Just's `{{expr}}` -> `$JUST`.
 */
export function makeToShell(line: string): string {
  let s = line.replace(/^[\t ]*[@+-]*[\t ]*/, '');
  s = s.replace(/\{\{[^}]{0,200}\}\}/g, '$JUST');
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    const n = s[i + 1];
    if (n === '$') {
      out += '$';
      i++;
    } else if (n === '(' || n === '{') {
      const close = n === '(' ? ')' : '}';
      let depth = 0;
      let j = i + 1;
      for (; j < s.length; j++) {
        if (s[j] === n) depth++;
        else if (s[j] === close && --depth === 0) break;
      }
      const inner = s.slice(i + 2, j);
      const shell = /^shell\s+([\s\S]*)$/.exec(inner);
      if (shell !== null) out += `$(${makeToShell(shell[1]!)})`;
      else if (Object.hasOwn(MAKE_PROGRAMS, inner)) out += MAKE_PROGRAMS[inner];
      else out += `$MAKEVAR_${inner.replace(/\W/g, '_').slice(0, 40)}`;
      i = j;
    } else if (n !== undefined && /[@<^*?%+|]/.test(n)) {
      out += '$ARG';
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

function makeUnits(lines: readonly string[], first: number, just: boolean, partial: boolean): CommandUnit[] {
  const units: CommandUnit[] = [];
  let inRecipe = partial;
  for (const l of logicalLines(lines, first, '\\')) {
    const text = l.text;
    const recipe = just ? /^[ \t]+\S/.test(text) && inRecipe : text.startsWith('\t');
    if (!just) inRecipe = recipe || (inRecipe && text.trim() === '');
    if (just) {
      if (/^\S[^#]*:(?!=)/.test(text)) inRecipe = true;
      else if (/^\S/.test(text)) inRecipe = false;
    }
    units.push({ ...l, kind: 'logical', commands: false });
    if (recipe) {
      const sh = makeToShell(text.replace(/\\\n/g, ' '));
      if (sh.trim() !== '' && !sh.trimStart().startsWith('#')) {
        units.push({ ...l, kind: 'shell', text: sh, commands: true });
      }
    } else if (/\$[({]shell\s/.test(text)) {
      for (const m of text.matchAll(/\$[({]shell\s+/g)) {
        const start = (m.index ?? 0) + m[0].length;
        let depth = 1;
        let j = start;
        for (; j < text.length && depth > 0; j++) {
          if (text[j] === '(' || text[j] === '{') depth++;
          else if (text[j] === ')' || text[j] === '}') depth--;
        }
        units.push({ ...l, kind: 'shell', text: makeToShell(text.slice(start, j - 1)), commands: true });
      }
    }
  }
  return units;
}

// ---- Dockerfile ------------------------------------------------------------------------------------------

/** Instructions whose argument is a command (Dockerfile reference; Earthfile's RUN is alike). */
const DOCKER_COMMANDS = /^\s*(?:ONBUILD\s+)?(?:HEALTHCHECK\s+(?:--\S+\s+)*)?(RUN|CMD|ENTRYPOINT|SHELL)\b\s*/i;

function dockerUnits(lines: readonly string[], first: number): CommandUnit[] {
  const units: CommandUnit[] = [];
  const escape = /^#\s*escape\s*=\s*`/i.test(lines[0] ?? '') ? '`' : '\\';
  const logical = logicalLines(lines, first, escape, true);
  for (let i = 0; i < logical.length; i++) {
    const l = logical[i]!;
    units.push({ ...l, kind: 'logical', commands: false });
    const m = DOCKER_COMMANDS.exec(l.text);
    if (m === null) continue;
    let rest = l.text.slice(m[0].length);
    while (/^--[\w-]+(?:=(?:"[^"]*"|\S*))?\s+/.test(rest))
      rest = rest.replace(/^--[\w-]+(?:=(?:"[^"]*"|\S*))?\s+/, '');
    if (rest.trimStart().startsWith('[')) {
      try {
        const argv: unknown = JSON.parse(rest);
        if (Array.isArray(argv) && argv.every((a) => typeof a === 'string')) {
          units.push({ ...l, kind: 'argv', text: rest, argv: argv as string[], commands: true });
          continue;
        }
      } catch {
        // not JSON: shell form
      }
    }
    // heredocs: RUN <<EOF / RUN cmd <<EOF ... EOF (the following physical lines up to the delimiter)
    const heredocs = [...rest.matchAll(/<<-?\s*(["']?)([A-Za-z_]\w*)\1/g)];
    if (heredocs.length > 0) {
      let endLine = l.endLine;
      const bodies: string[] = [];
      let j = i + 1;
      for (const h of heredocs) {
        const body: string[] = [];
        while (j < logical.length && logical[j]!.text.trim() !== h[2]) body.push(logical[j++]!.text);
        endLine = logical[Math.min(j, logical.length - 1)]!.endLine;
        bodies.push(body.join('\n'));
        j++;
      }
      const onlyHeredoc = /^\s*<<-?\s*(["']?)[A-Za-z_]\w*\1\s*$/.test(rest);
      const text = onlyHeredoc
        ? bodies[0]!
        : `${rest}\n${bodies.map((b, k) => `${b}\n${heredocs[k]![2]}`).join('\n')}`;
      units.push({ line: l.line, endLine, kind: 'shell', text, commands: true });
      for (let k = i + 1; k < j && k < logical.length; k++) {
        units.push({ ...logical[k]!, kind: 'logical', commands: false });
      }
      i = j - 1;
      continue;
    }
    units.push({ ...l, kind: 'shell', text: rest, commands: true });
  }
  return units;
}

// ---- YAML and JSON ---------------------------------------------------------------------------------------

/**
 * Keys whose values are commands in CI and task files: GitHub Actions `run`, GitLab `script`/`before_script`/
 * `after_script`, Travis `install`/`before_install`/`script`..., Taskfile `cmds`/`cmd`, lefthook `run`,
 * pre-commit `entry`, compose `command`/`entrypoint`, CircleCI `command`, Azure `script`/`bash`, Drone
 * `commands`.
 */
const COMMAND_KEYS = new Set([
  'run',
  'script',
  'scripts',
  'before_script',
  'after_script',
  'before_install',
  'install',
  'before_deploy',
  'after_success',
  'after_failure',
  'cmd',
  'cmds',
  'command',
  'commands',
  'entrypoint',
  'entry',
  'exec',
  'bash',
  'sh',
  'pwsh',
  'powershell',
  'shell_command',
  'tasks',
  'postcreatecommand',
  'poststartcommand',
  'postattachcommand',
  'oncreatecommand',
  'updatecontentcommand',
  'initializecommand',
]);

/** GitHub Actions expressions read as an unknown parameter (the shell parser sees `$GHA_EXPR`). */
function withoutExpressions(text: string): string {
  return text.includes('${{') ? text.replace(/\$\{\{[\s\S]{0,2000}?\}\}/g, '$GHA_EXPR') : text;
}

function yamlUnits(text: string, first: number): CommandUnit[] | undefined {
  if (YAML === undefined) return undefined;
  const { LineCounter, parseAllDocuments, visit, isPair, isScalar } = YAML;
  const lc = new LineCounter();
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: false });
  } catch {
    return undefined;
  }
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.some((d) => d.errors.length > 0)) return undefined;
  const units: CommandUnit[] = [];
  const line = (offset: number): number => lc.linePos(offset).line + first - 1;
  for (const doc of list) {
    const unitOf = (node: Scalar, at: [number, number], path: readonly unknown[]): void => {
      if (typeof node.value !== 'string' || node.value.trim() === '') return;
      const commands = path.some(
        (p) => isPair(p) && isScalar(p.key) && COMMAND_KEYS.has(String(p.key.value).toLowerCase()),
      );
      const span = { line: line(at[0]), endLine: line(Math.max(at[0], at[1] - 1)) };
      const text = withoutExpressions(node.value);
      // GitHub Actions: a step's `shell: python` (or node, pwsh, ...) runs `run:` in that language
      const language = stepLanguage(path, node);
      if (language === 'shell') units.push({ ...span, kind: 'shell', text, commands });
      else if (language === 'other') units.push({ ...span, kind: 'logical', text, commands });
      else units.push({ ...span, kind: 'code', text, language, commands });
    };
    visit(doc, {
      Scalar(key, node, path) {
        if (key === 'key' || node.range == null) return;
        unitOf(node, [node.range[0], node.range[1]], path);
      },
      Alias(_key, node, path) {
        // an alias runs its anchor's value here: judge that value at the alias's line
        let target: unknown;
        try {
          target = node.resolve(doc);
        } catch {
          return;
        }
        if (isScalar(target) && node.range != null) unitOf(target, [node.range[0], node.range[1]], path);
      },
    });
  }
  return units;
}

/**
 * The language a YAML `run:` value is run in: the `shell:` of its step (GitHub Actions: bash, sh, pwsh,
 * powershell, cmd, python, node, or a custom `command {0}`), else shell.
 */
function stepLanguage(path: readonly unknown[], node: Scalar): CodeLanguage | 'shell' {
  if (YAML === undefined) return 'shell';
  const { isMap, isPair, isScalar } = YAML;
  const pair = path[path.length - 1];
  const map = path[path.length - 2];
  if (!isPair(pair) || pair.value !== node || !isScalar(pair.key) || String(pair.key.value) !== 'run') {
    return 'shell';
  }
  if (!isMap(map)) return 'shell';
  const shell: unknown = map.get('shell');
  if (typeof shell !== 'string') return 'shell';
  const program = (shell.trim().split(/\s+/)[0] ?? '').replace(/^.*\//, '').toLowerCase();
  if (/^(?:python|pypy)[\d.]*$/.test(program)) return 'python';
  if (/^(?:node|nodejs|deno|bun)$/.test(program)) return 'js';
  if (/^perl[\d.]*$/.test(program)) return 'perl';
  if (/^ruby[\d.]*$/.test(program)) return 'ruby';
  if (/^(?:pwsh|powershell|cmd)(?:\.exe)?$/.test(program)) return 'other';
  return 'shell';
}

/** Property keys of JSON command files whose string values are commands (package.json scripts, ...). */
function jsonUnits(text: string, first: number): CommandUnit[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const lineAt = (offset: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + first;
  };
  const root = parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
  const units: CommandUnit[] = [];
  if (root === undefined) return units;
  const walk = (node: JsonNode, commands: boolean): void => {
    if (node.type === 'string' && typeof node.value === 'string') {
      const isKey = node.parent?.type === 'property' && node.parent.children?.[0] === node;
      if (!isKey && node.value.trim() !== '') {
        units.push({
          line: lineAt(node.offset),
          endLine: lineAt(node.offset + node.length - 1),
          kind: 'shell',
          text: node.value,
          commands,
        });
      }
      return;
    }
    if (node.type === 'property') {
      const key = node.children?.[0]?.value;
      const under = commands || (typeof key === 'string' && COMMAND_KEYS.has(key.toLowerCase()));
      for (const c of node.children ?? []) walk(c, under);
      return;
    }
    for (const c of node.children ?? []) walk(c, commands);
  };
  walk(root, false);
  return units;
}

/** Added YAML lines read one by one (the file's whole text is not known): `key: value` and `- value`. */
function yamlLineUnits(lines: readonly string[], first: number): CommandUnit[] {
  const units: CommandUnit[] = [];
  lines.forEach((text, i) => {
    const line = first + i;
    units.push({ line, endLine: line, kind: 'logical', text, commands: false });
    const m = /^\s*(?:-\s+)?(?:([\w.-]+)\s*:\s+)?(\S.*)$/.exec(text);
    if (m === null) return;
    let value = m[2]!;
    try {
      const parsed: unknown = YAML?.parseAllDocuments(`v: ${value}`)[0]?.toJS?.();
      const v = (parsed as { v?: unknown } | undefined)?.v;
      if (typeof v === 'string') value = v;
    } catch {
      // keep the text as written
    }
    if (/^[|>][-+]?\d*$/.test(value.trim())) return;
    const commands = m[1] !== undefined && COMMAND_KEYS.has(m[1].toLowerCase());
    units.push({ line, endLine: line, kind: 'shell', text: withoutExpressions(value), commands });
  });
  return units;
}

/** Added JSON lines read one by one: each string literal, decoded by JSON.parse. */
function jsonLineUnits(lines: readonly string[], first: number): CommandUnit[] {
  const units: CommandUnit[] = [];
  lines.forEach((text, i) => {
    const line = first + i;
    units.push({ line, endLine: line, kind: 'logical', text, commands: false });
    const literals = [...text.matchAll(/"(?:[^"\\]|\\.)*"/g)];
    literals.forEach((m, k) => {
      const isKey = /^\s*:/.test(text.slice((m.index ?? 0) + m[0].length));
      if (isKey) return;
      let value: string;
      try {
        value = JSON.parse(m[0]) as string;
      } catch {
        return;
      }
      const key = k > 0 ? literals[k - 1]![0].slice(1, -1).toLowerCase() : '';
      units.push({ line, endLine: line, kind: 'shell', text: value, commands: COMMAND_KEYS.has(key) });
    });
  });
  return units;
}

// ---- entry points ----------------------------------------------------------------------------------------

/**
 * The units of a command file's text (whole, or a run of consecutive added lines when `partial`), with file
 * lines starting at `first`. `language` is the file's programming language (for `code` files).
 */
export function commandUnits(
  flavour: CommandFlavour,
  path: string,
  text: string,
  options: { first?: number; partial?: boolean; language?: CodeLanguage } = {},
): CommandUnit[] {
  const first = options.first ?? 1;
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const logical = (): CommandUnit[] =>
    logicalLines(lines, first, continuationOf(flavour, path), false, flavour === 'shell').map((l) => ({
      ...l,
      kind: 'logical' as const,
      commands: false,
    }));
  switch (flavour) {
    case 'shell':
      return [
        ...logical(),
        {
          line: first,
          endLine: first + lines.length - 1,
          kind: 'shell',
          text,
          aligned: true,
          commands: true,
        },
      ];
    case 'make':
      return makeUnits(lines, first, /just/i.test(path), options.partial === true);
    case 'docker':
      return dockerUnits(lines, first);
    case 'yaml': {
      const whole = options.partial === true ? undefined : yamlUnits(text, first);
      return whole !== undefined ? [...logical(), ...whole] : yamlLineUnits(lines, first);
    }
    case 'json':
      return options.partial === true
        ? jsonLineUnits(lines, first)
        : [...logical(), ...jsonUnits(text, first)];
    case 'procfile':
      return logical().flatMap((u) => {
        const m = /^\s*[\w.-]+\s*:\s*(.+)$/.exec(u.text);
        return m === null ? [u] : [u, { ...u, kind: 'shell' as const, text: m[1]!, commands: true }];
      });
    case 'code':
      return [
        ...logical(),
        {
          line: first,
          endLine: first + lines.length - 1,
          kind: 'code',
          text,
          aligned: true,
          commands: true,
          language: options.language ?? 'other',
        },
      ];
    default:
      return logical();
  }
}
