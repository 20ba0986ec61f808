/**
 * What a file IS, from its name, its first line and its mode, before where it lives (issue #7 classes 5 and
 * 12): the programming language of source code (whose process-running calls the command rule reads), whether
 * a file is text (prose, data, templates) or code, its `#!` interpreter, and how a command file is read
 * (shell, Makefile, Dockerfile, YAML, JSON, ...). Pure: no I/O.
 *
 * Sources: the interpreter-line (`#!`) convention as execve(2) describes it (`#!interpreter [optional-arg]`,
 * with `/usr/bin/env [-S] name` to search PATH); file names and extensions as the tools document them (GNU
 * make reads `GNUmakefile`, `makefile`, `Makefile`; Docker/Podman read `Dockerfile`/`Containerfile`; just reads
 * `justfile`/`Justfile`/`*.just`; Rake reads `Rakefile`/`*.rake`; Vagrant `Vagrantfile`; Earthly `Earthfile`).
 */

/** A language whose process-running calls src/rails/exec-calls.ts knows. */
export type CodeLanguage =
  'js' | 'python' | 'ruby' | 'go' | 'rust' | 'php' | 'perl' | 'jvm' | 'dotnet' | 'shell' | 'other';

/**
 * How a command file's text is read into commands (src/rails/command-text.ts):
 * - `shell`: a shell script, parsed whole;
 * - `make`: recipe lines (after a tab, or indented in a justfile) are shell, `$(shell ...)` too;
 * - `docker`: RUN, CMD and ENTRYPOINT (shell or JSON exec form, heredocs), Dockerfile line continuations;
 * - `yaml`: every string value (CI `run:`/`script:`, Taskfile `cmds:`, hooks' `run:`/`entry:`), via `yaml`;
 * - `json`: every string value (package.json `scripts`, composer scripts, deno tasks, devcontainer commands);
 * - `procfile`: `name: command` lines;
 * - `code`: source code run on a developer's or CI's machine (conftest.py, setup.py, Rakefile, gulpfile...):
 *   its process-running calls are read like any source file's, and the regex list applies to every line;
 * - `other`: PowerShell, batch files, tox.ini...: the regex list only, on logical lines.
 */
export type CommandFlavour = 'shell' | 'make' | 'docker' | 'yaml' | 'json' | 'procfile' | 'code' | 'other';

/** The base name of a path (after the last `/`). */
export function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/**
 * The extension of a path's base name, lower-cased, without the dot: `src/a.Test.TS` -> `ts`; '' when the name
 * has none (`Makefile`, `.envrc`: a leading dot does not start an extension).
 */
export function extensionOf(path: string): string {
  const name = baseName(path);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** Source code extensions by language (the usual extensions each language's own tools use). */
const CODE_EXTENSIONS: Readonly<Record<string, CodeLanguage>> = Object.freeze({
  js: 'js',
  mjs: 'js',
  cjs: 'js',
  jsx: 'js',
  ts: 'js',
  mts: 'js',
  cts: 'js',
  tsx: 'js',
  vue: 'js',
  svelte: 'js',
  astro: 'js',
  py: 'python',
  pyw: 'python',
  pyi: 'python',
  rb: 'ruby',
  rake: 'ruby',
  gemspec: 'ruby',
  ru: 'ruby',
  go: 'go',
  rs: 'rust',
  php: 'php',
  phtml: 'php',
  pl: 'perl',
  pm: 'perl',
  java: 'jvm',
  kt: 'jvm',
  kts: 'jvm',
  groovy: 'jvm',
  gradle: 'jvm',
  scala: 'jvm',
  cs: 'dotnet',
  fs: 'dotnet',
  vb: 'dotnet',
  sh: 'shell',
  bash: 'shell',
  zsh: 'shell',
  ksh: 'shell',
  dash: 'shell',
  ash: 'shell',
  fish: 'shell',
  ps1: 'other',
  psm1: 'other',
  bat: 'other',
  cmd: 'other',
  lua: 'other',
  r: 'other',
  jl: 'other',
  swift: 'other',
  c: 'other',
  h: 'other',
  cc: 'other',
  cpp: 'other',
  hpp: 'other',
  m: 'other',
  dart: 'other',
  ex: 'other',
  exs: 'other',
  erl: 'other',
  hs: 'other',
  clj: 'other',
  nim: 'other',
  zig: 'other',
  tcl: 'other',
  awk: 'other',
  sql: 'other',
  wasm: 'other',
});

/** Extension-less file names that are source code of a language (build files that are programs). */
const CODE_NAMES: Readonly<Record<string, CodeLanguage>> = Object.freeze({
  rakefile: 'ruby',
  gemfile: 'ruby',
  vagrantfile: 'ruby',
  guardfile: 'ruby',
  capfile: 'ruby',
  fastfile: 'ruby',
  appfile: 'ruby',
  dangerfile: 'ruby',
  brewfile: 'ruby',
  podfile: 'ruby',
  berksfile: 'ruby',
  jenkinsfile: 'jvm',
});

/**
 * Text kinds: prose, data and templates. A file with one of these extensions (or none, without a `#!` line
 * and not executable) is text; everything else is treated as code by the risk rubric's text-only entries.
 */
export const TEXT_EXTENSIONS: readonly string[] = Object.freeze([
  // prose
  'md',
  'mdx',
  'markdown',
  'txt',
  'text',
  'rst',
  'adoc',
  'asciidoc',
  'org',
  'prompt',
  // data
  'json',
  'jsonc',
  'json5',
  'yaml',
  'yml',
  'toml',
  'csv',
  'tsv',
  'xml',
  // templates rendered into text (not executed)
  'j2',
  'jinja',
  'jinja2',
  'hbs',
  'mustache',
  'tmpl',
  'tpl',
  'liquid',
]);

/** Prose: documentation and prompts (source code is not looked for in them). */
const PROSE_EXTENSIONS = new Set(['md', 'mdx', 'markdown', 'txt', 'text', 'rst', 'adoc', 'asciidoc', 'org']);

/**
 * The language of a source file by its extension or name (`Rakefile` is Ruby), or undefined for text and
 * unknown kinds. Shebang files without an extension: see {@link shebangLanguage}.
 */
export function codeLanguage(path: string): CodeLanguage | undefined {
  const ext = extensionOf(path);
  if (ext !== '') return Object.hasOwn(CODE_EXTENSIONS, ext) ? CODE_EXTENSIONS[ext] : undefined;
  const name = baseName(path).toLowerCase();
  return Object.hasOwn(CODE_NAMES, name) ? CODE_NAMES[name] : undefined;
}

/** True for prose (Markdown, plain text, reStructuredText, AsciiDoc, Org): documentation, not code. */
export function isProse(path: string): boolean {
  return PROSE_EXTENSIONS.has(extensionOf(path));
}

/** True when `ext` (lower-case, no dot) is one of `textExtensions`, or when the name has no extension. */
export function hasTextExtension(path: string, textExtensions: readonly string[] = TEXT_EXTENSIONS): boolean {
  const ext = extensionOf(path);
  return ext === '' || textExtensions.includes(ext);
}

/**
 * The interpreter a `#!` first line names, as a lower-case base name without version digits' noise:
 * `#!/bin/bash -e` -> `bash`, `#!/usr/bin/env -S node --x` -> `node`, `#! /usr/bin/python3.12` -> `python3.12`.
 * Undefined when `firstLine` is not a `#!` line (or names nothing). Linear.
 */
export function shebangInterpreter(firstLine: string | undefined): string | undefined {
  if (typeof firstLine !== 'string' || !firstLine.startsWith('#!')) return undefined;
  const words = firstLine.slice(2).trim().split(/\s+/).filter(Boolean);
  let i = 0;
  if (words.length > 0 && baseName(words[0]!) === 'env') {
    i = 1;
    // env options (-S splits the rest; -i, -u NAME, NAME=VALUE)
    while (i < words.length) {
      const w = words[i]!;
      if (w === '-u' || w === '--unset' || w === '-C' || w === '--chdir') i += 2;
      else if (w.startsWith('-') || /^\w+=/.test(w)) i++;
      else break;
    }
  }
  const word = words[i];
  if (word === undefined) return undefined;
  const name = baseName(word).toLowerCase();
  return name === '' ? undefined : name;
}

/** Shells whose scripts are POSIX-like (parsed as shell): sh, bash, dash, zsh, ksh, mksh, ash, busybox. */
const SHELL_INTERPRETERS = /^(?:ba|da|z|k|mk|a|pdk|posh|yash)?sh$|^busybox$/;

/** The language of a file by its `#!` interpreter (python3 -> python), or undefined. */
export function shebangLanguage(interpreter: string | undefined): CodeLanguage | undefined {
  if (interpreter === undefined) return undefined;
  if (SHELL_INTERPRETERS.test(interpreter)) return 'shell';
  if (/^(?:node|nodejs|deno|bun|tsx|ts-node|zx)$/.test(interpreter)) return 'js';
  if (/^(?:python|pypy)[\d.]*$/.test(interpreter)) return 'python';
  if (/^ruby[\d.]*$/.test(interpreter)) return 'ruby';
  if (/^perl[\d.]*$/.test(interpreter)) return 'perl';
  if (/^php[\d.]*$/.test(interpreter)) return 'php';
  return 'other';
}

/** True when a `#!` interpreter is a POSIX-like shell (the file is a shell script). */
export function isShellInterpreter(interpreter: string | undefined): boolean {
  return interpreter !== undefined && SHELL_INTERPRETERS.test(interpreter);
}

/**
 * Command paths by name (the default DEFAULT_COMMAND_PATHS of rails/policy.ts lists these globs; this table
 * says how each is read). Order matters: the first match decides the flavour.
 */
const FLAVOURS: readonly [RegExp, CommandFlavour][] = [
  [/^(?:gnu)?makefile$|\.mk$|\.make$/i, 'make'],
  [/^justfile$|^\.justfile$|\.just$/i, 'make'],
  [/^(?:docker|container)file(?:\..*)?$|\.(?:docker|container)file$|^earthfile$/i, 'docker'],
  [/\.ya?ml$/i, 'yaml'],
  [/\.json5?$|\.jsonc$/i, 'json'],
  [/^procfile(?:\..*)?$/i, 'procfile'],
  [/\.(?:sh|bash|zsh|ksh|dash|ash)$|^\.envrc$|^\.env\.sh$/i, 'shell'],
  [/\.(?:ps1|psm1|bat|cmd|fish|ini|cfg|toml)$/i, 'other'],
];

/**
 * How the command file at `path` is read (see CommandFlavour), given its `#!` interpreter if known. A file
 * with a shell `#!` line is a shell script whatever its name (git hooks, `bin/tool`); source code by language
 * is `code`; anything else (an extension-less hook without `#!`) is read as shell, the strictest reading.
 */
export function commandFlavour(path: string, interpreter?: string): CommandFlavour {
  const name = baseName(path);
  for (const [re, flavour] of FLAVOURS) if (re.test(name)) return flavour;
  if (isShellInterpreter(interpreter)) return 'shell';
  const lang = codeLanguage(path) ?? shebangLanguage(interpreter);
  if (lang === 'shell') return 'shell';
  if (lang !== undefined) return lang === 'other' ? 'other' : 'code';
  return extensionOf(path) === '' ? 'shell' : 'other';
}
