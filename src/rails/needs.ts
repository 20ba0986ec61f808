/**
 * What the rails need to read besides a change's per-file facts and added lines, so the caller (the facts
 * gatherer in src/git/facts.ts, which does the I/O) can fetch exactly that and no more. Pure.
 *
 * Content rules judge some files as a whole, not by their added lines alone:
 * - a command file (policy.commandPaths, a `#!` first line, an executable mode) is judged by its resulting
 *   logical lines: a continuation or a YAML block scalar can join an added line with unchanged lines around it;
 * - a file that newly becomes a command file is judged whole: renamed or copied (into a command path, or
 *   anywhere: its new name decides what it is), made executable, or given a `#!` shebang in its first line;
 * - a file without an extension: its first line says whether it is a script (`#!`), hence a command file;
 * - source code whose added lines may hold (part of) a process-running call (`execSync(`, `os.system(`, a
 *   string literal naming a forbidden command's program): the call may span unchanged lines;
 * - a `.gitmodules` file is compared before and after (a new or changed `url`, `ignore`, `update`, `branch`).
 *
 * A path listed here that the caller does not provide counts as unread. `command-forbidden` blocks for the
 * files it cannot judge without their text (CommandFileInfo.mustRead: a command file that existed before, a
 * file judged whole, source code whose added lines hold a string naming a forbidden command's program); a file
 * asked for only to learn its first line, or source code whose calls all lie in its added lines, is judged by
 * its added lines instead: when in doubt the engine blocks, not when it can still tell.
 */
import { EXEC_PREFILTER } from './exec-calls.js';
import { codeLanguage, extensionOf, isProse, shebangInterpreter, shebangLanguage } from './file-kind.js';
import { compileGlobs } from './glob.js';
import type { AddedLine, ChangeFacts, FileChange, RailsPolicy } from './types.js';

/** What the rails ask the caller to read. Paths are repository-relative, POSIX separators. */
export interface ContentNeeds {
  /** Files whose whole text AFTER the change the rails need (ChangeFacts.contents), by new path. */
  after: string[];
  /** Files whose whole text BEFORE the change the rails need (ChangeFacts.contentsBefore), by old path. */
  before: string[];
}

/** Modes of files that have text content a rule can read: regular and executable files. */
const TEXT_MODES = new Set(['100644', '100755', '100664']);

/**
 * The programs of the default forbidden commands (rails/rules/commands.ts), as one keyword search: a string
 * literal holding one of them in source code may be (part of) a command a process-running call runs.
 */
const COMMAND_WORDS =
  /\b(?:git|gh|sudo|doas|pkexec|su|curl|wget|chmod|rm|docker(?:-compose)?|systemctl|service|ufw|ip6?tables|nft|firewall-cmd|sh|bash|eval)\b/;
/** A quote that may open a string literal. */
const QUOTE = /["'`]/;

/** The name `.gitmodules` at any depth (only the root one is read by git, but any is judged). */
function isGitmodules(path: string): boolean {
  return path === '.gitmodules' || path.endsWith('/.gitmodules');
}

const SHEBANGS = new WeakMap<object, ReadonlyMap<string, string>>();

/**
 * The `#!` first lines of the files of `facts`: from an added line 1, or else from the given whole text
 * (`contents`). Files whose first line is not a `#!` line are not in the map. Computed once per facts
 * object (the risk rubric and the command rules both ask). Linear in the added lines.
 */
export function shebangLines(facts: ChangeFacts | undefined): ReadonlyMap<string, string> {
  if (facts === null || typeof facts !== 'object') return new Map();
  const cached = SHEBANGS.get(facts);
  if (cached !== undefined) return cached;
  const out = new Map<string, string>();
  const added = new Set<string>();
  const lines: unknown = facts.addedLines;
  if (Array.isArray(lines)) {
    for (const l of lines as AddedLine[]) {
      if (l?.line !== 1 || typeof l.path !== 'string' || typeof l.text !== 'string') continue;
      added.add(l.path);
      if (l.text.startsWith('#!')) out.set(l.path, l.text.replace(/\r$/, ''));
    }
  }
  const contents: unknown = facts.contents;
  if (contents !== null && typeof contents === 'object') {
    for (const [path, text] of Object.entries(contents as Record<string, unknown>)) {
      if (typeof text !== 'string' || added.has(path) || !text.startsWith('#!')) continue;
      const nl = text.indexOf('\n');
      out.set(path, (nl < 0 ? text : text.slice(0, nl)).replace(/\r$/, ''));
    }
  }
  SHEBANGS.set(facts, out);
  return out;
}

/**
 * Added lines grouped by path (git lists a file's lines together; odd input is grouped all the same), only
 * for the paths in `only` when given.
 */
export function addedLinesByPath(facts: ChangeFacts, only?: ReadonlySet<string>): Map<string, AddedLine[]> {
  const out = new Map<string, AddedLine[]>();
  const lines: unknown = facts?.addedLines;
  if (!Array.isArray(lines)) return out;
  let lastPath: string | undefined;
  let bucket: AddedLine[] | undefined;
  for (const l of lines as AddedLine[]) {
    if (typeof l?.path !== 'string') continue;
    if (l.path !== lastPath) {
      lastPath = l.path;
      bucket = only === undefined || only.has(l.path) ? out.get(l.path) : undefined;
      if (bucket === undefined && (only === undefined || only.has(l.path))) {
        bucket = [];
        out.set(l.path, bucket);
      }
    }
    if (bucket !== undefined && typeof l.text === 'string' && typeof l.line === 'number') bucket.push(l);
  }
  return out;
}

/** Why a file's whole text is judged, or undefined when only what its added lines touch is. */
export type WholeReason = 'added' | 'renamed or copied here' | 'made executable' | 'given a #! line';

/** What the command rules know about one changed file before reading its text. */
export interface CommandFileInfo {
  file: FileChange;
  /** Added lines of the file, in order. */
  lines: readonly AddedLine[];
  /** True when the path matches policy.commandPaths, the file is executable, or it has a `#!` first line. */
  commandFile: boolean;
  /** True when the path matches policy.commandPaths. */
  commandPath: boolean;
  /** The `#!` first line, when an added line 1 or the given contents show one. */
  shebang?: string;
  /** Set when the file newly becomes a command file (or source code) and is judged whole. */
  whole?: WholeReason;
  /** True when the command rules ask for the file's whole text (see the module docs). */
  needsText: boolean;
  /**
   * True when the file cannot be judged without its whole text, so a missing one blocks: a command file that
   * existed before (its changed lines may join unchanged ones), a file judged whole, source code whose added
   * lines hold a string literal naming a forbidden command's program (the call may start on an unchanged
   * line). A file asked for only to learn its first line (no extension) is judged by its added lines instead.
   */
  mustRead: boolean;
}

/**
 * For each text file of `facts` that is not deleted: whether it is (or becomes) a command file, whether it is
 * judged whole, and whether its whole text is needed. `contents` (when given) lets a `#!` first line of an
 * unchanged line 1 count. Deterministic, in change order; never throws on odd input (files without a string
 * path are skipped).
 */
export function commandFiles(facts: ChangeFacts, policy: RailsPolicy): CommandFileInfo[] {
  const files = Array.isArray(facts?.files) ? facts.files : [];
  const commandPaths = compileGlobs(policy.commandPaths, 'catch', 'commandPaths');
  // Only some files can matter (a big change is mostly prose or plain code): find them before grouping lines.
  // Prose (Markdown, plain text...) is never run by name: it is a command file only by a `#!` line or mode.
  const shebangs = shebangLines(facts);
  const candidates: FileChange[] = [];
  const wanted = new Set<string>();
  for (const f of files) {
    if (typeof f?.path !== 'string' || wanted.has(f.path)) continue;
    if (f.status === 'deleted' || f.binary === true || !TEXT_MODES.has(f.newMode)) continue;
    const maybe =
      f.newMode === '100755' ||
      f.status === 'renamed' ||
      f.status === 'copied' ||
      shebangs.has(f.path) ||
      (!isProse(f.path) &&
        (extensionOf(f.path) === '' || codeLanguage(f.path) !== undefined || commandPaths.matches(f.path)));
    if (!maybe) continue;
    wanted.add(f.path);
    candidates.push(f);
  }
  const byPath = addedLinesByPath(facts, wanted);
  const out: CommandFileInfo[] = [];
  for (const f of candidates) {
    const lines = byPath.get(f.path) ?? [];
    const firstAdded = lines[0]?.line === 1 ? lines[0].text : undefined;
    const shebang = shebangs.get(f.path);
    const commandPath = !isProse(f.path) && commandPaths.matches(f.path);
    const executable = f.newMode === '100755';
    const becomesExecutable = executable && f.oldMode !== '100755';
    const commandFile = commandPath || executable || shebang !== undefined;
    const moved = f.status === 'renamed' || f.status === 'copied';
    const oldPath = typeof f.oldPath === 'string' ? f.oldPath : f.path;
    let whole: WholeReason | undefined;
    if (f.status === 'added') whole = 'added';
    else if (
      commandFile &&
      moved &&
      !(commandPaths.matches(oldPath) && extensionOf(oldPath) === extensionOf(f.path))
    ) {
      whole = 'renamed or copied here';
    } else if (commandFile && becomesExecutable) whole = 'made executable';
    else if (firstAdded?.startsWith('#!') === true) whole = 'given a #! line';
    else if (!commandFile && moved && codeLanguage(oldPath) !== codeLanguage(f.path)) {
      whole = 'renamed or copied here';
    }
    const language = codeLanguage(f.path) ?? shebangLanguage(shebangInterpreter(shebang));
    // A new file's whole text is its added lines: nothing more to read.
    const existed = f.status !== 'added';
    const becomesCode = moved && language !== undefined && codeLanguage(oldPath) !== language;
    let mustRead = existed && (commandFile || becomesCode);
    let needsText = mustRead || (existed && moved);
    if (!needsText && existed && extensionOf(f.path) === '' && !isProse(f.path)) {
      needsText = true; // a `#!` line?
    }
    if (!needsText && language !== undefined && existed) {
      const filter = EXEC_PREFILTER[language];
      mustRead = lines.some((l) => QUOTE.test(l.text) && COMMAND_WORDS.test(l.text));
      needsText = mustRead || lines.some((l) => filter.test(l.text));
    }
    const info: CommandFileInfo = { file: f, lines, commandFile, commandPath, needsText, mustRead };
    if (shebang !== undefined) info.shebang = shebang;
    if (whole !== undefined) info.whole = whole;
    out.push(info);
  }
  return out;
}

/**
 * The files whose whole text the rails need for `facts` under `policy` (see the module docs). Deterministic:
 * paths in change order, each once. Never throws on odd input (files without a string path are skipped).
 */
export function contentNeeds(facts: ChangeFacts, policy: RailsPolicy): ContentNeeds {
  const files = Array.isArray(facts?.files) ? facts.files : [];
  const after: string[] = [];
  const before: string[] = [];
  const seenAfter = new Set<string>();
  const seenBefore = new Set<string>();
  const commands = new Map(commandFiles(facts, policy).map((c) => [c.file.path, c]));
  for (const f of files) {
    if (typeof f?.path !== 'string') continue;
    if (f.status !== 'deleted' && !f.binary && TEXT_MODES.has(f.newMode) && !seenAfter.has(f.path)) {
      if (commands.get(f.path)?.needsText === true || isGitmodules(f.path)) {
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
