/**
 * The command policy of the runner (seed 001 "Forbidden Commands"): a shell command the runner is about to
 * execute (a proposer's command, a reflection check) is checked against the SAME forbidden-command list the
 * rails apply to added lines of scripts (rails/rules/commands.ts, DEFAULT_FORBIDDEN_COMMANDS through the
 * policy), with the same normalisation against trivial evasion. A forbidden command is not run.
 *
 * This is a check of the command line as configured, not a sandbox: a permitted program (an agent CLI, a
 * script) can still run anything itself. The rails judge what it changed; the run detects writes to the
 * target checkout (src/git/snapshot.ts).
 */
import {
  DEFAULT_FORBIDDEN_COMMANDS,
  compileForbiddenCommands,
  normalizeCommandLine,
} from '../rails/rules/commands.js';
import type { ForbiddenCommand } from '../rails/types.js';

/** A forbidden command found in a command line. */
export interface ForbiddenHit {
  /** Id of the forbidden command, e.g. 'git-push'. */
  id: string;
  description: string;
}

/** Most physical lines joined at trailing backslashes into one logical line. */
const MAX_JOINED = 64;

/**
 * The forbidden commands `command` holds, in list order, each once. The command is split into logical lines
 * (a trailing unescaped backslash joins the next line, as the shell does); each line is tried as written and
 * normalised (normalizeCommandLine: quotes and backslashes removed, `$IFS` read as a space) against every
 * pattern of `forbidden` (case-insensitive). An invalid pattern is reported as a hit (fail closed).
 */
export function forbiddenCommandsIn(
  command: string,
  forbidden: readonly ForbiddenCommand[] = DEFAULT_FORBIDDEN_COMMANDS,
): ForbiddenHit[] {
  const compiled = compileForbiddenCommands(forbidden);
  const lines: string[] = [];
  let current: string | undefined;
  let joined = 0;
  for (const raw of command.split(/\r?\n/)) {
    if (current !== undefined && joined < MAX_JOINED) {
      current = `${current} ${raw}`;
      joined++;
    } else {
      if (current !== undefined) lines.push(current);
      current = raw;
      joined = 1;
    }
    const m = /(\\+)[ \t]*$/.exec(current);
    if (m && m[1]!.length % 2 === 1) {
      current = current.replace(/\\[ \t]*$/, '');
    } else {
      lines.push(current);
      current = undefined;
    }
  }
  if (current !== undefined) lines.push(current);

  const hits = new Map<string, ForbiddenHit>();
  for (const c of compiled.commands) {
    const id = String(c.command?.id);
    if (c.regex === undefined) {
      hits.set(id, {
        id,
        description: `invalid pattern (${c.error ?? 'unknown error'}); refused to be safe`,
      });
      continue;
    }
    for (const line of lines) {
      if (c.regex.test(line) || c.regex.test(normalizeCommandLine(line))) {
        hits.set(id, { id, description: String(c.command.description) });
        break;
      }
    }
  }
  return [...hits.values()];
}

/** One line naming the forbidden commands found, e.g. `forbidden by the command policy: git-push (git push ...)`. */
export function describeForbidden(hits: readonly ForbiddenHit[]): string {
  return `forbidden by the command policy: ${hits.map((h) => `${h.id} (${h.description})`).join('; ')}`;
}
