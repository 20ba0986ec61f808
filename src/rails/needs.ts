/**
 * What the rails need to read besides a change's per-file facts and added lines, so the caller (the facts
 * gatherer in src/git/facts.ts, which does the I/O) can fetch exactly that and no more. Pure.
 *
 * Content rules judge some files as a whole, not by their added lines alone:
 * - a command file (policy.commandPaths) is judged by its resulting logical lines: a continuation or a YAML
 *   block scalar can join an added line with unchanged lines around it;
 * - a file that newly becomes a command file is judged whole: renamed or copied (into a command path, or
 *   anywhere: its new name decides what it is), made executable, or given a `#!` shebang in its first line;
 * - a `.gitmodules` file is compared before and after (a new or changed `url`, `ignore`, `update`, `branch`).
 *
 * A path listed here that the caller does not provide counts as unread, and the rules that needed it block
 * (`content-unread`): when in doubt the engine blocks.
 */
import { compileGlobs } from './glob.js';
import type { ChangeFacts, RailsPolicy } from './types.js';

/** What the rails ask the caller to read. Paths are repository-relative, POSIX separators. */
export interface ContentNeeds {
  /** Files whose whole text AFTER the change the rails need (ChangeFacts.contents), by new path. */
  after: string[];
  /** Files whose whole text BEFORE the change the rails need (ChangeFacts.contentsBefore), by old path. */
  before: string[];
}

/** Modes of files that have text content a rule can read: regular and executable files. */
const TEXT_MODES = new Set(['100644', '100755', '100664']);

/** The name `.gitmodules` at any depth (only the root one is read by git, but any is judged). */
function isGitmodules(path: string): boolean {
  return path === '.gitmodules' || path.endsWith('/.gitmodules');
}

/**
 * The files whose whole text the rails need for `facts` under `policy` (see the module docs). Deterministic:
 * paths in change order, each once. Never throws on odd input (files without a string path are skipped).
 */
export function contentNeeds(facts: ChangeFacts, policy: RailsPolicy): ContentNeeds {
  const files = Array.isArray(facts?.files) ? facts.files : [];
  const commandPaths = compileGlobs(policy.commandPaths, 'catch', 'commandPaths');
  const shebang = new Set<string>();
  for (const l of Array.isArray(facts?.addedLines) ? facts.addedLines : []) {
    if (l?.line === 1 && typeof l.text === 'string' && l.text.startsWith('#!')) shebang.add(l.path);
  }
  const after: string[] = [];
  const before: string[] = [];
  const seenAfter = new Set<string>();
  const seenBefore = new Set<string>();
  for (const f of files) {
    if (typeof f?.path !== 'string') continue;
    if (f.status !== 'deleted' && !f.binary && TEXT_MODES.has(f.newMode) && !seenAfter.has(f.path)) {
      const becomesExecutable = f.newMode === '100755' && f.oldMode !== '100755';
      if (
        commandPaths.matches(f.path) ||
        becomesExecutable ||
        f.status === 'renamed' ||
        f.status === 'copied' ||
        shebang.has(f.path) ||
        isGitmodules(f.path)
      ) {
        seenAfter.add(f.path);
        after.push(f.path);
      }
    }
    const old = f.oldPath ?? f.path;
    if (f.status !== 'added' && isGitmodules(old) && !seenBefore.has(old)) {
      seenBefore.add(old);
      before.push(old);
    }
  }
  return { after, before };
}
