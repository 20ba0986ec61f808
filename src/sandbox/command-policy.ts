/**
 * The command policy of the runner: a shell command the runner is about to
 * execute (a proposer's command, a reflection check) is checked against the SAME forbidden-command list the
 * rails apply to added lines of scripts (rails/rules/commands.ts, DEFAULT_FORBIDDEN_COMMANDS through the
 * policy), with the same normalisation against trivial evasion. A forbidden command is not run.
 *
 * This is a check of the command line as configured, not a sandbox: a permitted program (an agent CLI, a
 * script) can still run anything itself. The rails judge what it changed; the run detects writes to the
 * target checkout (src/git/snapshot.ts).
 */
import { DEFAULT_FORBIDDEN_COMMANDS, forbiddenInCommandLine } from '../rails/rules/commands.js';
import type { ForbiddenCommand } from '../rails/types.js';

/** A forbidden command found in a command line. */
export interface ForbiddenHit {
  /** Id of the forbidden command, e.g. 'git-push'. */
  id: string;
  description: string;
}

/**
 * The forbidden commands `command` holds, in list order, each once: the same judgement the rails apply to a
 * line of a script (rails/rules/commands.ts forbiddenInCommandLine): logical lines (trailing backslashes join
 * lines, as the shell does) tried as written and normalised (quotes and backslashes removed, `$IFS` read as a
 * space), and every command a shell parser finds in it (variables, ANSI-C quoting, git global options, pipes
 * into interpreters, `sh -c`, `eval`, base64 literals...), against every pattern of `forbidden`
 * (case-insensitive). An invalid pattern is reported as a hit (fail closed). Never rejects.
 */
export async function forbiddenCommandsIn(
  command: string,
  forbidden: readonly ForbiddenCommand[] = DEFAULT_FORBIDDEN_COMMANDS,
): Promise<ForbiddenHit[]> {
  const { hits, invalid } = await forbiddenInCommandLine(command, forbidden);
  const out = new Map<string, ForbiddenHit>();
  for (const c of [...invalid, ...hits]) {
    const id = String(c.command?.id);
    if (out.has(id)) continue;
    out.set(
      id,
      c.regex === undefined
        ? { id, description: `invalid pattern (${c.error ?? 'unknown error'}); refused to be safe` }
        : { id, description: String(c.command.description) },
    );
  }
  return [...out.values()];
}

/** One line naming the forbidden commands found, e.g. `forbidden by the command policy: git-push (git push ...)`. */
export function describeForbidden(hits: readonly ForbiddenHit[]): string {
  return `forbidden by the command policy: ${hits.map((h) => `${h.id} (${h.description})`).join('; ')}`;
}
