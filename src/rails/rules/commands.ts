/**
 * Forbidden commands (git push/merge/rebase/commit --amend/
 * checkout main|master, systemctl, docker-compose up/restart, service restarts, ufw, iptables; also
 * curl or wget piped to a shell, sudo, chmod 777, rm -rf of a root or home path). Pure.
 *
 * `command-forbidden` checks the added lines of files matching policy.commandPaths (scripts, workflows,
 * Dockerfiles, Makefiles, git hooks; package.json: EVERY added line, not only those inside "scripts", which
 * is simpler and safer) against policy.forbiddenCommands. Each line is tried twice: as written, and
 * normalised against trivial evasion ({@link normalizeCommandLine}: quotes and backslashes removed, `$IFS`
 * read as a space; the patterns themselves accept any run of spaces and tabs). Lines continued with a
 * trailing backslash are joined with the following added lines first (the violation is reported on the
 * first). Every forbidden command a line holds is reported. Patterns are compiled once per policy list
 * (cached), case-insensitively; for the default commands a keyword search (`git`, `sudo`, `curl`, ...) lets
 * the lines that mention none of them skip the patterns.
 *
 * The default patterns (DEFAULT_FORBIDDEN_COMMANDS) are written to run in time linear in the line: every
 * repetition is bounded or unambiguous, and the one "anywhere in the line" pattern (curl-pipe-shell) is
 * anchored at `^`. A 1 MB line is checked in well under a second. A custom pattern that backtracks badly is
 * the policy's problem.
 */
import { commandUnits, loadYaml, logicalLines, type CommandUnit } from '../command-text.js';
import { EXEC_PREFILTER, findExecCalls, type ExecCall } from '../exec-calls.js';
import {
  codeLanguage,
  commandFlavour,
  extensionOf,
  isProse,
  shebangInterpreter,
  shebangLanguage,
  type CodeLanguage,
  type CommandFlavour,
} from '../file-kind.js';
import { commandFiles, type CommandFileInfo } from '../needs.js';
import type { Finding, Rule, RuleInput } from '../rule.js';
import {
  analyzeArgv,
  analyzeShell,
  loadShellParser,
  type InlineLanguage,
  type InlineResult,
  type Lines,
  type ShellAnalysis,
  type ShellParser,
} from '../shell.js';
import type { AddedLine, ForbiddenCommand } from '../types.js';
import { printable, show } from './common.js';

/**
 * `git [options] ` before a subcommand: `git`, then up to 12 options, each starting with `-` and optionally
 * followed by ONE argument that does not (`-C dir`, `-c key=value`, `--git-dir x`, `--no-pager`). Unambiguous
 * (an argument never starts with `-`), so it cannot backtrack exponentially.
 */
const GIT = String.raw`\bgit(?:\.exe)?(?:\s+-\S+(?:\s+(?!-)\S+)?){0,12}\s+`;
/** The end of a command word: not followed by a word character or `-` (`merge` but not `merge-base`). */
const END = String.raw`(?![\w-])`;
/**
 * A shell, as the target of a pipe or a substitution: sh, bash, zsh, dash, ksh, csh, tcsh, fish, ash, mksh,
 * maybe with a directory (`/bin/bash`; at most 256 characters, so a long run of `|x|x|...` stays linear).
 */
const SHELL = String.raw`(?:\S{0,256}/)?(?:ba|z|da|k|c|tc|fi|a|mk)?sh${END}`;
/** Prefixes that run the next word: `sudo -E`, `env X=1`, `command`, `exec`, `nohup`, `time`, `doas`. */
const RUNNER = String.raw`(?:(?:sudo|doas|env|command|exec|nohup|time)(?:\s+-\S+){0,6}(?:\s+\w+=\S*){0,6}\s+){0,3}`;
/** Paths `rm` must never be given: /, /*, ~, ~/, ~/*, $HOME, ${HOME}, ${HOME:?}, top-level system directories. */
const RM_TARGET = String.raw`(?:/\*?|~/?\*?|\$\{?HOME(?::[^}\s]{0,10})?\}?/?\*?|/(?:bin|boot|dev|etc|home|lib|lib64|opt|root|sbin|srv|sys|usr|var)/?\*?)(?=$|[\s;&|)])`;
/**
 * Targets `rm` must never be given RECURSIVELY: the working directory or its parent (`.`, `./`, `..`, `*`,
 * `./*`, `.*`). (`"$VAR"/` with VAR unknown is read by the shell parser, which knows whether VAR was set: it
 * gives the canonical `rm -r /`; src/rails/shell.ts.)
 */
const RM_RECURSIVE_TARGET = String.raw`(?:\.{1,2}/?\*?|\.?/\*|\*)(?=$|[\s;&|)])`;
/** Interpreters other than shells that read their program from stdin when given no script (or `-`). */
const INTERP = String.raw`(?:\S{0,256}/)?(?:python[\d.]*|pypy[\d.]*|node(?:js)?|perl|ruby|php|deno|bun)(?:\s+-\S*){0,8}\s*(?=$|[;&|)}#])`;

/**
 * The default forbidden commands, as data: id, JavaScript
 * RegExp source (matched case-insensitively against each added line of a command path, as written and
 * normalised), description. rails/policy.ts puts this list into every policy.
 */
export const DEFAULT_FORBIDDEN_COMMANDS: readonly ForbiddenCommand[] = Object.freeze(
  [
    {
      id: 'git-push',
      pattern: `${GIT}(?:push|send-pack|http-push)${END}`,
      description:
        'git push (or send-pack, http-push), with any options before it (the loop never pushes by hand)',
    },
    {
      id: 'git-alias',
      pattern: String.raw`\bgit\b[^;&|\n]{0,200}?\s-c\s*alias\.|${GIT}config(?:\s+-\S+){0,4}\s+alias\.`,
      description:
        'a git alias defined in a script (git -c alias.x=..., git config alias.x): it could hide any subcommand',
    },
    {
      id: 'gh-pr-merge',
      pattern: String.raw`\bgh(?:\s+-\S+(?:\s+(?!-)\S+)?){0,6}\s+pr\s+merge${END}`,
      description: 'gh pr merge (the loop never merges; a human does)',
    },
    {
      id: 'git-merge',
      pattern: `${GIT}merge${END}`,
      description: 'git merge (the loop never merges; git merge-base and merge-file are fine)',
    },
    {
      id: 'git-rebase',
      pattern: `${GIT}rebase${END}`,
      description: 'git rebase (the loop never rewrites history)',
    },
    {
      id: 'git-pull',
      pattern: `${GIT}pull${END}`,
      description: 'git pull, a fetch and a merge or rebase (the loop never merges)',
    },
    {
      id: 'git-commit-amend',
      pattern: String.raw`${GIT}commit\b[^;&|\n]{0,500}?\s--am(?:e(?:n(?:d)?)?)?${END}`,
      description: 'git commit --amend, or an abbreviation such as --am (the loop never rewrites history)',
    },
    {
      id: 'git-checkout-protected',
      pattern: String.raw`${GIT}(?:checkout|switch)(?:\s+-\S+){0,6}\s+(?:[^\s/]+/)?(?:main|master|production|deploy)(?![\w./-])`,
      description: 'git checkout or switch to main, master, production or deploy (protected branches)',
    },
    {
      id: 'sudo',
      pattern: String.raw`(?<![\w.-])(?:sudo|doas|pkexec)${END}|(?<![\w./-])su\s+(?:-[clm]?|--login|--command|root)${END}`,
      description: 'sudo, doas, pkexec or su (no privilege escalation), also as /usr/bin/sudo',
    },
    {
      id: 'curl-pipe-shell',
      pattern: String.raw`^(?:(?=[\s\S]*?\b(?:curl|wget)\b)[\s\S]*\|&?\s*(?:[({]\s*)?${RUNNER}(?:${SHELL}|${INTERP})|(?=[\s\S]*?\b(?:iwr|irm|invoke-webrequest|invoke-restmethod|curl|wget)\b)[\s\S]*\|\s*(?:iex|invoke-expression)\b|[\s\S]*?\b(?:iex|invoke-expression)\b[^\n]{0,200}?\b(?:iwr|irm|invoke-webrequest|invoke-restmethod|downloadstring)\b)`,
      description:
        'curl or wget in a line that pipes into a shell or an interpreter reading its program from stdin (python, node, perl, ruby, php), also through sudo or env; PowerShell iwr | iex (running code straight from the network)',
    },
    {
      id: 'curl-run-shell',
      pattern: String.raw`(?:\b(?:ba|z|da|k|fi)?sh|\bsource|\beval|(?:^|[\s;&|(])\.)(?:\s+-\S+){0,6}\s*(?:<\(|\$\(|\x60)\s*${RUNNER}(?:\S{0,256}/)?(?:curl|wget)\b`,
      description:
        'a shell, source or eval running what curl or wget downloads: bash <(curl ...), sh -c "$(curl ...)" (running code straight from the network)',
    },
    {
      id: 'chmod-777',
      pattern: String.raw`\bchmod(?:\s+-\S+){0,6}\s+(?:[ugoa]*[-+=][rwxXst]*,){0,4}(?:[0-7]?[0-7]{2}[2367]|[ugo]*[ao][ugoa]*[+=][rwxXst]*w[rwxXst]*)(?![\w])`,
      description: 'chmod 777, 0777, -R 777, a+rwx, o+w or another world-writable mode',
    },
    {
      id: 'rm-rf-root',
      pattern: String.raw`\brm(?:\s+[^\s;&|]+){0,12}?\s+(?:--\s+)?${RM_TARGET}|\brm(?:\s+-[^\s;&|]*){0,8}?\s+(?:-[^\s;&|-]*r[^\s;&|]*|--recursive)(?:\s+[^\s;&|]+){0,12}?\s+(?:--\s+)?${RM_RECURSIVE_TARGET}`,
      description:
        'rm of /, /*, ~, $HOME or a top-level system directory, whatever the flags; rm -r of ., .., *, ./* or "$VAR"/ (destroying files wholesale)',
    },
    {
      id: 'docker-compose-up',
      pattern: String.raw`\bdocker(?:-compose|\s+compose)(?:\s+-\S+(?:\s+(?!-)\S+)?){0,8}\s+(?:up|restart|start|stop|down|kill|create|scale)${END}`,
      description:
        'docker-compose / docker compose up, restart, start, stop, down, kill, create or scale (deployment)',
    },
    {
      id: 'systemctl',
      pattern: String.raw`(?<![\w.-])systemctl${END}`,
      description: 'systemctl (deployment)',
    },
    {
      id: 'service-restart',
      pattern: String.raw`(?<![\w.-])service\s+[\w@.-]+\s+(?:start|stop|restart|reload|force-reload|try-restart)${END}|/etc/init\.d/\S+\s+(?:start|stop|restart|reload)${END}|(?<![\w.-])(?:rc-service|initctl)\s`,
      description:
        'service <name> restart, /etc/init.d/<name> restart, rc-service, initctl (service restarts)',
    },
    { id: 'ufw', pattern: String.raw`(?<![\w.-])ufw${END}`, description: 'ufw (firewall)' },
    {
      id: 'iptables',
      pattern: String.raw`(?<![\w.-])(?:ip6?tables(?:-(?:restore|save|legacy|nft))?|firewall-cmd)${END}|(?<![\w.-])nft\s+(?:add|delete|flush|insert|replace|-f)${END}`,
      description: 'iptables, ip6tables, nft or firewall-cmd (network changes)',
    },
  ].map((c) => Object.freeze(c)),
);

/**
 * `line` normalised against trivial shell evasion before matching: `${IFS}` / `$IFS` read as a space, quotes
 * and backslashes removed (`g'i't`, `"git" push`, `\git`, `git\ push`). Whitespace is left alone: the
 * patterns match any run of spaces and tabs with `\s+`. Linear.
 */
export function normalizeCommandLine(line: string): string {
  const spaced = line.includes('IFS') ? line.replace(/\$\{IFS\}|\$IFS\b/g, ' ') : line;
  return spaced.replace(/["'\\]/g, '');
}

/**
 * For each default command, a literal every text its pattern matches contains (case-insensitively): a cheap
 * native search that lets most lines skip the patterns. Used only for a command whose id AND pattern are the
 * default's (a custom pattern is always tried).
 */
const DEFAULT_KEYWORDS: Readonly<Record<string, string>> = Object.freeze({
  'git-push': 'git',
  'git-alias': 'git',
  'gh-pr-merge': String.raw`gh\s`,
  'git-merge': 'git',
  'git-rebase': 'git',
  'git-pull': 'git',
  'git-commit-amend': 'git',
  'git-checkout-protected': 'git',
  sudo: String.raw`sudo|doas|pkexec|su\s`,
  'curl-pipe-shell': 'curl|wget|iwr|irm|invoke-|downloadstring',
  'curl-run-shell': 'curl|wget',
  'chmod-777': 'chmod',
  'rm-rf-root': String.raw`rm\s`,
  'docker-compose-up': 'docker',
  systemctl: 'systemctl',
  'service-restart': 'service|init',
  ufw: 'ufw',
  iptables: 'tables|firewall-cmd|nft',
});

/** A forbidden command compiled once; `error` when its pattern is not a valid RegExp. */
export interface CompiledCommand {
  command: ForbiddenCommand;
  regex?: RegExp;
  error?: string;
  /** True when the command is a default one, covered by the list's `quick` prefilter. */
  quick: boolean;
}

/** A compiled list: its commands, and one keyword search covering every default command of it. */
export interface CompiledCommands {
  commands: readonly CompiledCommand[];
  /** Matches every text some `quick` command's pattern can match (undefined when none is quick). */
  quick?: RegExp;
  /** True when every command with a valid pattern is quick (a line the prefilter rejects needs no pattern). */
  allQuick: boolean;
}

const COMPILED = new WeakMap<object, { snapshot: ForbiddenCommand[]; compiled: CompiledCommands }>();

/**
 * The forbidden commands of a policy compiled once per list object (flag `i`; cached in a WeakMap, compiled
 * again when the list changed in place), with a keyword prefilter for the default commands. Never throws: an
 * invalid pattern is kept with its error.
 */
export function compileForbiddenCommands(list: readonly ForbiddenCommand[]): CompiledCommands {
  const commands = Array.isArray(list) ? list : [];
  const cached = COMPILED.get(commands);
  if (
    cached !== undefined &&
    cached.snapshot.length === commands.length &&
    cached.snapshot.every((c, i) => c === commands[i])
  ) {
    return cached.compiled;
  }
  const keywords = new Set<string>();
  const compiledCommands = commands.map((command): CompiledCommand => {
    const id = String(command?.id);
    const known = DEFAULT_FORBIDDEN_COMMANDS.find((d) => d.id === id && d.pattern === command?.pattern);
    const keyword = known !== undefined ? DEFAULT_KEYWORDS[id] : undefined;
    try {
      const regex = new RegExp(String(command?.pattern), 'i');
      if (keyword !== undefined) keywords.add(keyword);
      return { command, regex, quick: keyword !== undefined };
    } catch (err) {
      return { command, error: err instanceof Error ? err.message : String(err), quick: false };
    }
  });
  const compiled: CompiledCommands = {
    commands: compiledCommands,
    allQuick: compiledCommands.every((c) => c.quick || c.regex === undefined),
  };
  if (keywords.size > 0) compiled.quick = new RegExp([...keywords].join('|'), 'i');
  COMPILED.set(commands, { snapshot: [...commands], compiled });
  return compiled;
}

/** Characters normalizeCommandLine changes: quotes, backslashes, `$IFS`. */
const NEEDS_NORMALIZING = /["'\\]|\$\{?IFS/;

/**
 * Every compiled command matching `text` as written or normalised, in list order. The keyword prefilter
 * runs on the normalised text only: removing quotes and backslashes never breaks a keyword (none contains
 * one), so a keyword in the text as written is in the normalised text too.
 */
function forbiddenIn(text: string, compiled: CompiledCommands): CompiledCommand[] {
  const normalized = NEEDS_NORMALIZING.test(text) ? normalizeCommandLine(text) : text;
  const quickHit = compiled.quick === undefined || compiled.quick.test(normalized);
  if (!quickHit && compiled.allQuick) return [];
  const texts = normalized === text ? [text] : [text, normalized];
  const hits: CompiledCommand[] = [];
  for (const c of compiled.commands) {
    if (c.regex === undefined || (c.quick && !quickHit)) continue;
    if (texts.some((t) => c.regex!.test(t))) hits.push(c);
  }
  return hits;
}

// ---- reading command files and source code -------------------------------------------------------------

/**
 * A command text to match against the list, with the lines of its file it comes from (read lazily: only the
 * items that match a pattern need theirs).
 */
interface Item extends Lines {
  readonly text: string;
  /** How it was found, for the message (`execSync(...)`...). */
  readonly via?: string;
}

/** Something no parser can know, with its lines. */
interface DynamicItem extends Lines {
  readonly reason: string;
}

/** Lines of a parsed text mapped to the file: whole (`aligned`, text line n is file line base + n - 1) or a span. */
class FileLines implements Lines {
  constructor(
    private readonly inner: Lines,
    private readonly base: number,
    private readonly end: number,
    private readonly aligned: boolean,
  ) {}
  get line(): number {
    return this.aligned ? this.base + this.inner.line - 1 : this.base;
  }
  get endLine(): number {
    return this.aligned ? this.base + this.inner.endLine - 1 : this.end;
  }
}

/** An item whose lines are read through `lines`. */
function item(text: string, lines: Lines, via?: string): Item {
  return {
    text,
    get line() {
      return lines.line;
    },
    get endLine() {
      return lines.endLine;
    },
    ...(via === undefined ? {} : { via }),
  };
}

function dynamicItem(reason: string, lines: Lines): DynamicItem {
  return {
    reason,
    get line() {
      return lines.line;
    },
    get endLine() {
      return lines.endLine;
    },
  };
}

/** What the command rules found in a change (computed once per evaluation, shared by both rules). */
interface CommandAnalysis {
  forbidden: Finding[];
  dynamic: Finding[];
}

/**
 * A shell text worth the parser: it has something the regex list cannot see through or that the parser
 * reads (a pipe, a redirection or heredoc, a backquote or `$(...)`, `${...}`, ANSI-C quoting, a backslash),
 * names a program the analysis looks into (interpreters, runners, downloaders, git, rm, eval...), or starts
 * a command with a word that is not plain (`$X$Y`, `"$TOOL"`, `g'i't`). Lines of plain words with plain
 * variables in arguments (`echo "step $i"`, `cp "$f" dist/`, `for x in a b; do ...`) are left to the list.
 */
const NEEDS_PARSER =
  /[|<`\\]|\$[('{]|\b(?:eval|source|exec|env|xargs|find|trap|alias|watch|sh|bash|dash|zsh|ksh|mksh|ash|fish|busybox|python[\d.]*|pypy[\d.]*|node|nodejs|perl|ruby|php|deno|bun|awk|gawk|mawk|pwsh|git|gh|curl|wget|wget2|fetch|aria2c|http|https|xh|base64|xxd|rev|rm|chmod|sudo|su|doas|pkexec|runuser|sg|script|command|builtin|nohup|timeout|nice|setsid|stdbuf|systemctl|service|docker|docker-compose|ufw|iptables|ip6tables|nft|firewall-cmd|initctl|rc-service)\b|(?:^|[;&|(){}]|\b(?:then|do|else|elif|in)\b)[ \t]*(?:[A-Za-z_]\w*=[^\s;&|]*[ \t]+)*(?:[^\s;&|(){}]*[$"'\\]|\.[ \t])/m;

/** Lines of `lines` (sorted numbers) in [from, to]: the first one, or undefined. */
function firstIn(sorted: readonly number[], from: number, to: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  const n = sorted[lo];
  return n !== undefined && n <= to ? n : undefined;
}

/** Runs of consecutive added lines: text and first line. */
function runsOf(lines: readonly AddedLine[]): { first: number; text: string }[] {
  const runs: { first: number; texts: string[] }[] = [];
  let last = -2;
  for (const l of lines) {
    if (l.line !== last + 1 || runs.length === 0) runs.push({ first: l.line, texts: [] });
    runs[runs.length - 1]!.texts.push(l.text);
    last = l.line;
  }
  return runs.map((r) => ({ first: r.first, text: r.texts.join('\n') }));
}

/** Reads the commands of one file into items (see analyzeChange). */
class FileReader {
  readonly items: Item[] = [];
  readonly dynamic: DynamicItem[] = [];

  constructor(
    private readonly parser: ShellParser | undefined,
    /** Units whose span holds none of these lines are skipped. */
    private readonly keep: (line: number, endLine: number) => boolean,
    /** Analyses by text, shared by the files of one change (the same line is parsed once). */
    private readonly cache: Map<string, ShellAnalysis> = new Map(),
  ) {}

  /** analyzeShell, cached by depth and text. */
  private analyze(text: string, depth = 0): ShellAnalysis {
    const key = `${depth}\u0000${text}`;
    let r = this.cache.get(key);
    if (r === undefined) {
      r = analyzeShell(this.parser!, text, { inlineCode: this.inline, depth });
      if (this.cache.size < MAX_CACHED) this.cache.set(key, r);
    }
    return r;
  }

  /** Inline programs (python -c, node -e, ...): their process-running calls, as command texts. */
  private readonly inline = (language: InlineLanguage, code: string, depth: number): InlineResult => {
    const lang: CodeLanguage | 'any' = language === 'other' ? 'any' : language;
    const out: InlineResult = { commands: [code], dynamic: [] };
    for (const call of findExecCalls(code, lang)) {
      if (call.dynamic !== undefined) out.dynamic.push(`${call.dynamic} in inline ${language} code`);
      const r = this.runCall(call, depth);
      out.commands.push(...r.commands.map((c) => c.text));
      out.dynamic.push(...r.dynamic.map((d) => d.reason));
    }
    return out;
  };

  private runCall(call: ExecCall, depth: number): ShellAnalysis {
    if (this.parser === undefined) {
      const text = call.shell ?? (call.argv ?? []).map((a) => a ?? '$ARG').join(' ');
      return { commands: [{ text, line: 1, endLine: 1 }], dynamic: [] };
    }
    if (call.argv !== undefined)
      return analyzeArgv(this.parser, call.argv, { inlineCode: this.inline, depth });
    if (call.shell !== undefined) {
      const r = this.analyze(call.shell, depth);
      if (r.error === undefined) return r;
      return { commands: [{ text: call.shell, line: 1, endLine: 1 }], dynamic: [] };
    }
    return { commands: [], dynamic: [] };
  }

  /** Items of a shell text at [line, endLine]; `aligned`: the text's line n is file line `line + n - 1`. */
  shell(
    text: string,
    line: number,
    endLine: number,
    aligned: boolean,
    commands: boolean,
    via?: string,
  ): void {
    // The list reads the text's logical lines (a multi-line value is several commands, not one line); a text
    // parsed whole (a script) has its logical lines read as units of their own.
    const span = { line, endLine };
    if (!text.includes('\n')) this.items.push(item(text, span, via));
    else if (!aligned) {
      for (const l of logicalLines(text.split('\n'), 1, '\\')) this.items.push(item(l.text, span, via));
    }
    if (this.parser === undefined || !NEEDS_PARSER.test(text)) return;
    const lineCount = aligned ? endLine - line + 1 : 1;
    const r: ShellAnalysis =
      lineCount > MAX_WHOLE_PARSE_LINES
        ? { commands: [], dynamic: [], error: 'too long to parse whole' }
        : this.analyze(text);
    if (r.error !== undefined) {
      if (aligned && text.includes('\n')) {
        // not valid shell as a whole (a fragment, another shell's syntax): each logical line on its own
        for (const l of logicalLines(text.split('\n'), line, '\\', false, true)) {
          if (this.keep(l.line, l.endLine)) this.shell(l.text, l.line, l.endLine, false, commands, via);
        }
      }
      return;
    }
    for (const c of r.commands) this.items.push(item(c.text, new FileLines(c, line, endLine, aligned), via));
    if (!commands) return;
    for (const d of r.dynamic)
      this.dynamic.push(dynamicItem(d.reason, new FileLines(d, line, endLine, aligned)));
  }

  /** Items of source code: its process-running calls. `first` is the file line of the text's line 1. */
  code(text: string, first: number, language: CodeLanguage | 'any'): void {
    this.calls(findExecCalls(text, language), first);
  }

  /**
   * Items of process-running calls found in a text whose line 1 is file line `first` (or, given `span`, all
   * at that span: a YAML value whose lines do not map one to one).
   */
  calls(calls: readonly ExecCall[], first: number, at?: Lines): void {
    for (const call of calls) {
      const line = at?.line ?? first + call.line - 1;
      const endLine = at?.endLine ?? first + call.endLine - 1;
      if (!this.keep(line, endLine)) continue;
      const via = `${call.api}(...)`;
      const span = { line, endLine };
      if (call.dynamic !== undefined) {
        this.dynamic.push(dynamicItem(`${call.dynamic} runs a command only known at run time`, span));
        continue;
      }
      const r = this.runCall(call, 0);
      const shown = call.shell ?? (call.argv ?? []).map((a) => a ?? '$ARG').join(' ');
      this.items.push(item(shown, span, via));
      for (const c of r.commands) this.items.push(item(c.text, span, via));
      for (const d of r.dynamic) this.dynamic.push(dynamicItem(`${d.reason} (in ${via})`, span));
    }
  }

  argv(argv: string[], line: number, endLine: number): void {
    const span = { line, endLine };
    this.items.push(item(argv.join(' '), span));
    if (this.parser === undefined) return;
    const r = analyzeArgv(this.parser, argv, { inlineCode: this.inline });
    for (const c of r.commands) this.items.push(item(c.text, span));
    for (const d of r.dynamic) this.dynamic.push(dynamicItem(d.reason, span));
  }

  unit(u: CommandUnit): void {
    if (!this.keep(u.line, u.endLine)) return;
    if (u.kind === 'logical') this.items.push(item(u.text, u));
    else if (u.kind === 'shell') this.shell(u.text, u.line, u.endLine, u.aligned === true, u.commands);
    else if (u.kind === 'argv') this.argv(u.argv ?? [], u.line, u.endLine);
    else if (u.aligned === true) this.code(u.text, u.line, u.language ?? 'any');
    else this.calls(findExecCalls(u.text, u.language ?? 'any'), u.line, u);
  }
}

/**
 * `text` (a whole command file, YAML or JSON included) may hold a command the parser must read: a looser
 * test than NEEDS_PARSER, which each command text passes before it is parsed. Decides whether to load it.
 */
function mayNeedParser(text: string): boolean {
  return /[$`|<\\'"]/.test(text) || NEEDS_PARSER.test(text);
}

const ANALYSES = new WeakMap<object, Promise<CommandAnalysis>>();

/**
 * A script of more lines than this is parsed one logical line at a time (a line ending in `\`, `|`, `||` or
 * `&&` joined with the next), each only if it needs the parser: bounded work on very large scripts.
 */
export const MAX_WHOLE_PARSE_LINES = 2000;
/** At most this many parsed texts are kept per change. */
const MAX_CACHED = 50_000;

/** Extension-less names of prose (a README is no script, whatever its first line). */
const PROSE_NAMES =
  /(?:^|\/)(?:readme|license|licence|authors|contributors|notice|copying|changelog|changes|history|codeowners|contributing|security|maintainers|version)$/i;

/** The analysis of a change, computed once per RuleInput (both command rules read it). */
function analysisOf(input: RuleInput): Promise<CommandAnalysis> {
  let a = ANALYSES.get(input);
  if (a === undefined) {
    a = analyzeChange(input);
    ANALYSES.set(input, a);
  }
  return a;
}

/** Where a finding is: "an added line", "the logical line 3-5 this change edits", "a file renamed here". */
function where(
  item: { line: number; endLine: number; via?: string },
  at: number,
  whole: string | undefined,
  added: boolean,
): string {
  const via = item.via === undefined ? '' : ` run by ${item.via}`;
  if (!added && whole !== undefined)
    return `a file ${whole === 'added' ? 'added' : whole} that is now a command file (line ${item.line})${via}`;
  if (item.line === item.endLine && item.line === at) return `an added line${via}`;
  return `the logical line ${item.line}-${item.endLine}, which this change edits${via}`;
}

/** The analysis (see the module docs of commandForbidden). */
async function analyzeChange(input: RuleInput): Promise<CommandAnalysis> {
  const facts = input.change?.facts;
  const out: CommandAnalysis = { forbidden: [], dynamic: [] };
  if (facts === undefined || facts === null || !Array.isArray(facts.addedLines)) return out;
  const compiled = compileForbiddenCommands(input.policy.forbiddenCommands);
  const contents = facts.contents ?? {};
  const infos = commandFiles(facts, input.policy);

  // What each file is and what to read; the parser is loaded only when some text needs it.
  const plans: {
    info: CommandFileInfo;
    flavour?: CommandFlavour;
    language?: CodeLanguage;
    text?: string;
    partial: boolean;
    /** The file may not be a command file at all: what cannot be known is not reported. */
    unsure?: boolean;
    /** Source code: its process-running calls, by chunk (the whole text, or runs of added lines). */
    calls?: { first: number; calls: ExecCall[] }[];
  }[] = [];
  let needParser = false;
  for (const info of infos) {
    const path = info.file.path;
    const given = Object.hasOwn(contents, path) ? contents[path] : undefined;
    const text =
      typeof given === 'string'
        ? given
        : info.file.status === 'added'
          ? info.lines.map((l) => l.text).join('\n')
          : undefined;
    if (info.mustRead && typeof given !== 'string') {
      out.forbidden.push({
        path,
        message: `${printable(path)}: its whole text after the change was not given (facts.contents), so commands that join its unchanged lines, or that it runs once it is a command file, cannot be judged; the caller must read it (when in doubt the engine blocks)`,
      });
    }
    const interpreter = shebangInterpreter(info.shebang);
    const language = codeLanguage(path) ?? shebangLanguage(interpreter);
    if (info.commandFile) {
      const flavour = commandFlavour(path, interpreter);
      plans.push({
        info,
        flavour,
        ...(language === undefined ? {} : { language }),
        ...(text === undefined ? {} : { text }),
        partial: text === undefined,
      });
    } else if (extensionOf(path) === '' && !PROSE_NAMES.test(path) && text === undefined && info.needsText) {
      // no extension and its first line unknown: maybe a script; its added lines are read as shell (forbidden
      // commands only: a command built at run time needs a file known to be one)
      plans.push({ info, flavour: 'shell', unsure: true, partial: true });
    } else if (language !== undefined && language !== 'other' && !isProse(path)) {
      // source code: its process-running calls, found without the parser (which only their strings need)
      const filter = EXEC_PREFILTER[language];
      const chunks = text !== undefined ? [{ first: 1, text }] : runsOf(info.lines);
      const calls = chunks.map((c) => ({
        first: c.first,
        calls: filter.test(c.text) ? findExecCalls(c.text, language) : [],
      }));
      if (!calls.some((c) => c.calls.length > 0)) continue;
      plans.push({ info, language, calls, partial: text === undefined });
      if (!needParser) needParser = calls.some((c) => c.calls.some((call) => call.dynamic === undefined));
      continue;
    } else continue;
    if (!needParser) needParser = mayNeedParser(text ?? info.lines.map((l) => l.text).join('\n'));
  }
  if (plans.length === 0) return out;
  if (plans.some((p) => p.flavour === 'yaml')) await loadYaml();
  let parser: ShellParser | undefined;
  if (needParser) {
    try {
      parser = await loadShellParser();
    } catch (err) {
      out.forbidden.push({
        message: `the shell parser (mvdan-sh) could not be loaded (${printable(err instanceof Error ? err.message : String(err))}); commands were checked against the list only, which cannot see through variables, ANSI-C quoting or pipes into interpreters (when in doubt the engine blocks)`,
      });
    }
  }

  const cache = new Map<string, ShellAnalysis>();
  for (const plan of plans) {
    const { info } = plan;
    const path = info.file.path;
    const added = info.lines.map((l) => l.line);
    const whole = info.whole;
    const keep =
      whole !== undefined ? () => true : (from: number, to: number) => firstIn(added, from, to) !== undefined;
    const reader = new FileReader(parser, keep, cache);
    if (plan.flavour !== undefined) {
      if (plan.text !== undefined) {
        for (const u of commandUnits(plan.flavour, path, plan.text, {
          ...(plan.language === undefined ? {} : { language: plan.language }),
        }))
          reader.unit(u);
      } else {
        for (const run of runsOf(info.lines)) {
          for (const u of commandUnits(plan.flavour, path, run.text, {
            first: run.first,
            partial: true,
            ...(plan.language === undefined ? {} : { language: plan.language }),
          })) {
            reader.unit(u);
          }
        }
      }
    } else {
      for (const chunk of plan.calls ?? []) reader.calls(chunk.calls, chunk.first);
    }

    // Report: each command once per (line, id), at the first added line of its span (or its first line when
    // the whole file is judged).
    const reported = new Set<string>();
    for (const item of reader.items) {
      const hits = forbiddenIn(item.text, compiled);
      if (hits.length === 0) continue;
      const first = firstIn(added, item.line, item.endLine);
      if (first === undefined && whole === undefined) continue;
      const at = first ?? item.line;
      for (const hit of hits) {
        const key = `${at}\u0000${String(hit.command.id)}`;
        if (reported.has(key)) continue;
        reported.add(key);
        out.forbidden.push({
          path,
          line: at,
          message: `${printable(path)}:${at}: forbidden command (${printable(String(hit.command.id))}: ${printable(String(hit.command.description))}) in ${where(item, at, whole, first !== undefined)}`,
        });
      }
    }
    const dyn = new Set<string>();
    for (const d of plan.unsure === true ? [] : reader.dynamic) {
      const first = firstIn(added, d.line, d.endLine);
      if (first === undefined && whole === undefined) continue;
      const at = first ?? d.line;
      const key = `${at}\u0000${d.reason}`;
      if (dyn.has(key)) continue;
      dyn.add(key);
      out.dynamic.push({
        path,
        line: at,
        message: `${printable(path)}:${at}: ${printable(d.reason)}; no parser can tell what it runs, so a human must approve it`,
      });
    }
  }
  return out;
}

/**
 * The forbidden commands a shell command line runs (for callers outside the rails: the runner vets a
 * proposer's command and the reflection checks with it, src/sandbox/command-policy.ts): its logical lines as
 * written and normalised, and every command the shell parser finds in it (see src/rails/shell.ts), against
 * `list`. Also what it cannot know (a command built at run time). Invalid patterns come back in `invalid`.
 * Never rejects; without the parser (package missing) the list alone is applied.
 */
export async function forbiddenInCommandLine(
  text: string,
  list: readonly ForbiddenCommand[],
): Promise<{ hits: CompiledCommand[]; dynamic: string[]; invalid: CompiledCommand[] }> {
  const compiled = compileForbiddenCommands(list);
  let parser: ShellParser | undefined;
  if (mayNeedParser(text)) parser = await loadShellParser().catch(() => undefined);
  const reader = new FileReader(parser, () => true);
  for (const u of commandUnits('shell', 'command.sh', text)) reader.unit(u);
  const hits = new Set<CompiledCommand>();
  for (const item of reader.items) for (const hit of forbiddenIn(item.text, compiled)) hits.add(hit);
  return {
    hits: compiled.commands.filter((c) => hits.has(c)),
    dynamic: [...new Set(reader.dynamic.map((d) => d.reason))],
    invalid: compiled.commands.filter((c) => c.regex === undefined),
  };
}

/** Forbidden commands in command files, read as logical lines and through a shell parser. */
export const commandForbidden: Rule = {
  id: 'command-forbidden',
  summary:
    'A command file (script, workflow, Dockerfile, Makefile, git hook, package.json, a file with a #! line or made executable, ...) or a process-running call in source code (execSync, os.system, subprocess, exec.Command, ...) runs a forbidden command: git push/merge/rebase/pull/commit --amend/checkout of a protected branch, sudo, curl or wget into a shell or interpreter, chmod 777, rm -rf of a root, home or working directory, docker compose up/restart, systemctl, service restarts, ufw, iptables. Judged on the resulting logical lines (continuations, YAML block scalars, heredocs), the whole file when it newly becomes a command file, and the commands a shell parser finds (quotes, escapes, ANSI-C quoting, $IFS, variables, git global options, pipes into interpreters, sh -c, eval, base64 literals). Also blocks when a whole text it needs was not given.',
  setting: '(none: commandPaths and forbiddenCommands of the policy, not configurable)',
  severity: 'block',
  check: async (input) => {
    const findings: Finding[] = [];
    const compiled = compileForbiddenCommands(input.policy.forbiddenCommands);
    for (const c of compiled.commands) {
      if (c.error !== undefined) {
        findings.push({
          message: `forbidden command ${show(c.command?.id)} has an invalid pattern (${printable(c.error)}); lines cannot be checked against it`,
        });
      }
    }
    findings.push(...(await analysisOf(input)).forbidden);
    return findings;
  },
};

/** a command built at run time is not allowed silently. */
export const commandDynamic: Rule = {
  id: 'command-dynamic',
  summary:
    'A command line no parser can know, in a changed line of a command file or a process-running call: a command name built at run time ($X$Y, ${!x}, $(...)), eval, sh -c or an interpreter given a value built at run time, a pipe into an interpreter from a source it cannot read, execSync(cmd) of a variable, a git subcommand only known at run time. Needs a human approval.',
  setting: '(none: commandPaths of the policy, not configurable)',
  severity: 'approval',
  check: async (input) => (await analysisOf(input)).dynamic,
};

/** The forbidden-command rules, in evaluation order. */
export const COMMAND_RULES: readonly Rule[] = Object.freeze([commandForbidden, commandDynamic]);
