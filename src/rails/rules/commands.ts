/**
 * Forbidden commands (issue #3 rule 8; seed 001 "Forbidden Commands": git push/merge/rebase/commit --amend/
 * checkout main|master, systemctl, docker-compose up/restart, service restarts, ufw, iptables; issue #3 adds
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
import { compileGlobs } from '../glob.js';
import type { Finding, Rule, RuleInput } from '../rule.js';
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
 * The default forbidden commands (seed 001 "Forbidden Commands" and issue #3 rule 8), as data: id, JavaScript
 * RegExp source (matched case-insensitively against each added line of a command path, as written and
 * normalised), description. rails/policy.ts puts this list into every policy.
 */
export const DEFAULT_FORBIDDEN_COMMANDS: readonly ForbiddenCommand[] = Object.freeze(
  [
    {
      id: 'git-push',
      pattern: `${GIT}(?:push|send-pack|http-push)${END}`,
      description:
        'git push (or send-pack, http-push), with any options before it (seed 001: the loop never pushes by hand)',
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
      description: 'gh pr merge (seed 001: the loop never merges; a human does)',
    },
    {
      id: 'git-merge',
      pattern: `${GIT}merge${END}`,
      description: 'git merge (seed 001; git merge-base and merge-file are fine)',
    },
    { id: 'git-rebase', pattern: `${GIT}rebase${END}`, description: 'git rebase (seed 001)' },
    {
      id: 'git-pull',
      pattern: `${GIT}pull${END}`,
      description: 'git pull, a fetch and a merge or rebase (seed 001)',
    },
    {
      id: 'git-commit-amend',
      pattern: String.raw`${GIT}commit\b[^;&|\n]{0,500}?\s--am(?:e(?:n(?:d)?)?)?${END}`,
      description: 'git commit --amend, or an abbreviation such as --am (seed 001)',
    },
    {
      id: 'git-checkout-protected',
      pattern: String.raw`${GIT}(?:checkout|switch)(?:\s+-\S+){0,6}\s+(?:[^\s/]+/)?(?:main|master|production|deploy)(?![\w./-])`,
      description:
        'git checkout or switch to main, master, production or deploy (seed 001: protected branches)',
    },
    {
      id: 'sudo',
      pattern: String.raw`(?<![\w.-])(?:sudo|doas|pkexec)${END}|(?<![\w./-])su\s+(?:-[clm]?|--login|--command|root)${END}`,
      description: 'sudo, doas, pkexec or su (issue #3: no privilege escalation), also as /usr/bin/sudo',
    },
    {
      id: 'curl-pipe-shell',
      pattern: String.raw`^(?=[\s\S]*?\b(?:curl|wget)\b)[\s\S]*\|\s*${RUNNER}${SHELL}`,
      description: 'curl or wget in a line that pipes into a shell, also through sudo or env (issue #3)',
    },
    {
      id: 'curl-run-shell',
      pattern: String.raw`(?:\b(?:ba|z|da|k|fi)?sh|\bsource|\beval|(?:^|[\s;&|(])\.)(?:\s+-\S+){0,6}\s*(?:<\(|\$\(|\x60)\s*${RUNNER}(?:\S{0,256}/)?(?:curl|wget)\b`,
      description:
        'a shell, source or eval running what curl or wget downloads: bash <(curl ...), sh -c "$(curl ...)" (issue #3)',
    },
    {
      id: 'chmod-777',
      pattern: String.raw`\bchmod(?:\s+-\S+){0,6}\s+(?:[ugoa]*[-+=][rwxXst]*,){0,4}(?:[0-7]?[0-7]{2}[2367]|[ugo]*[ao][ugoa]*[+=][rwxXst]*w[rwxXst]*)(?![\w])`,
      description: 'chmod 777, 0777, -R 777, a+rwx, o+w or another world-writable mode (issue #3)',
    },
    {
      id: 'rm-rf-root',
      pattern: String.raw`\brm(?:\s+[^\s;&|]+){0,12}?\s+(?:--\s+)?${RM_TARGET}`,
      description:
        'rm of /, /*, ~, $HOME or a top-level system directory, whatever the flags (issue #3: rm -rf)',
    },
    {
      id: 'docker-compose-up',
      pattern: String.raw`\bdocker(?:-compose|\s+compose)(?:\s+-\S+(?:\s+(?!-)\S+)?){0,8}\s+(?:up|restart|start|stop|down|kill|create|scale)${END}`,
      description:
        'docker-compose / docker compose up, restart, start, stop, down, kill, create or scale (seed 001: deployment)',
    },
    {
      id: 'systemctl',
      pattern: String.raw`(?<![\w.-])systemctl${END}`,
      description: 'systemctl (seed 001: deployment)',
    },
    {
      id: 'service-restart',
      pattern: String.raw`(?<![\w.-])service\s+[\w@.-]+\s+(?:start|stop|restart|reload|force-reload|try-restart)${END}|/etc/init\.d/\S+\s+(?:start|stop|restart|reload)${END}|(?<![\w.-])(?:rc-service|initctl)\s`,
      description:
        'service <name> restart, /etc/init.d/<name> restart, rc-service, initctl (seed 001: service restarts)',
    },
    { id: 'ufw', pattern: String.raw`(?<![\w.-])ufw${END}`, description: 'ufw (seed 001: firewall)' },
    {
      id: 'iptables',
      pattern: String.raw`(?<![\w.-])(?:ip6?tables(?:-(?:restore|save|legacy|nft))?|firewall-cmd)${END}|(?<![\w.-])nft\s+(?:add|delete|flush|insert|replace|-f)${END}`,
      description: 'iptables, ip6tables, nft or firewall-cmd (seed 001: network changes)',
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
  'curl-pipe-shell': 'curl|wget',
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

/** At most this many physical lines are joined into one logical line (backslash continuations). */
const MAX_JOINED_LINES = 64;
/** At most this many characters are joined into one logical line. */
const MAX_JOINED_CHARS = 64 * 1024;

/** A logical line: physical added lines joined at trailing backslashes, reported at the first. */
interface LogicalLine {
  path: string;
  line: number;
  text: string;
}

/** Ends with an unescaped backslash (an odd number of them), maybe followed by spaces. */
function continues(text: string): boolean {
  const m = /(\\+)[ \t]*$/.exec(text);
  return m !== null && m[1]!.length % 2 === 1;
}

/**
 * Joins consecutive added lines of one file (line numbers n, n+1, ...) where a line ends with a continuation
 * backslash; the backslash is replaced by a space. Bounded (MAX_JOINED_LINES, MAX_JOINED_CHARS), linear.
 */
function logicalLines(lines: readonly AddedLine[]): LogicalLine[] {
  const out: LogicalLine[] = [];
  let current: LogicalLine | undefined;
  let joined = 0;
  let lastLine = 0;
  for (const l of lines) {
    const canJoin =
      current !== undefined &&
      current.path === l.path &&
      l.line === lastLine + 1 &&
      joined < MAX_JOINED_LINES &&
      current.text.length + l.text.length <= MAX_JOINED_CHARS;
    if (canJoin && continues(current!.text)) {
      current!.text = `${current!.text.replace(/\\[ \t]*$/, ' ')}${l.text}`;
      joined++;
    } else {
      current = { path: l.path, line: l.line, text: l.text };
      out.push(current);
      joined = 1;
    }
    lastLine = l.line;
  }
  return out;
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

/** The added lines of files that match policy.commandPaths, in their order. */
function commandFileLines(input: RuleInput): AddedLine[] {
  const lines: unknown = input.change?.facts?.addedLines;
  if (!Array.isArray(lines)) return [];
  const paths = compileGlobs(input.policy.commandPaths, 'catch', 'commandPaths');
  const isCommandPath = new Map<string, boolean>();
  const out: AddedLine[] = [];
  let lastPath: string | undefined;
  let yes = false;
  for (const l of lines as AddedLine[]) {
    if (typeof l?.path !== 'string' || typeof l.text !== 'string') continue;
    if (l.path !== lastPath) {
      // Lines come grouped by file: one look-up per run of lines, not per line.
      lastPath = l.path;
      let known = isCommandPath.get(l.path);
      if (known === undefined) {
        known = paths.matches(l.path);
        isCommandPath.set(l.path, known);
      }
      yes = known;
    }
    if (yes) out.push(l);
  }
  return out;
}

/** seed 001 "Forbidden Commands" and issue #3 rule 8. */
export const commandForbidden: Rule = {
  id: 'command-forbidden',
  summary:
    'An added line of a script, workflow, Dockerfile, Makefile, git hook or package.json runs a forbidden command: git push/merge/rebase/pull/commit --amend/checkout of a protected branch, sudo, curl or wget into a shell, chmod 777, rm -rf of a root or home path, docker compose up/restart, systemctl, service restarts, ufw, iptables. Quotes, backslashes, $IFS, extra spaces and line continuations do not hide one.',
  setting: '(none: commandPaths and forbiddenCommands of the policy, not configurable)',
  severity: 'block',
  check: (input) => {
    const findings: Finding[] = [];
    const compiled = compileForbiddenCommands(input.policy.forbiddenCommands);
    for (const c of compiled.commands) {
      if (c.error !== undefined) {
        findings.push({
          message: `forbidden command ${show(c.command?.id)} has an invalid pattern (${printable(c.error)}); lines cannot be checked against it`,
        });
      }
    }
    const lines = commandFileLines(input);
    if (lines.length === 0) return findings;
    for (const logical of logicalLines(lines)) {
      for (const hit of forbiddenIn(logical.text, compiled)) {
        findings.push({
          path: logical.path,
          line: logical.line,
          message: `${printable(logical.path)}:${logical.line}: forbidden command (${printable(String(hit.command.id))}: ${printable(String(hit.command.description))}) in an added line`,
        });
      }
    }
    return findings;
  },
};

/** The forbidden-command rules, in evaluation order. */
export const COMMAND_RULES: readonly Rule[] = Object.freeze([commandForbidden]);
