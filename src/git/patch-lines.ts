/**
 * The added lines of a patch, for the rails' content rules (secrets, forbidden commands): every `+` line of
 * every text file, with its line number in the NEW file. I/O-free; it lives in git/ because it reads patch
 * text (`git diff` output). The unified diff itself is parsed by the `parse-diff` package
 * (https://github.com/sergeyt/parse-diff), not by hand; this module only corrects what parse-diff leaves
 * raw or gets wrong:
 *
 * - Paths: parse-diff strips the surrounding quotes and the `a/`/`b/` prefix of a quoted name but does not
 *   decode git's C-style escapes (`"b/caf\303\251.txt"`, `"b/ta\tb.txt"`); {@link unquoteGitPath} decodes them
 *   (octal bytes as UTF-8). It also drops a trailing `'` or `"` of an unquoted name (`end'` -> `end`) and cuts
 *   names at what looks like a timestamp; {@link attachAddedLines} maps every name back onto the paths git
 *   reported in the facts and refuses (throws) when it cannot, so lines are never filed under a wrong path.
 * - `\ No newline at end of file`: parse-diff repeats the previous change for it; such entries are skipped.
 * - CRLF: a line of a CRLF file ends in `\r` in the patch; ONE trailing `\r` is removed from `text` (a `\r`
 *   elsewhere in the line is kept). {@link addedLinesFromPatch} can report which lines had it.
 * - Binary files (`Binary files ... differ`, `GIT binary patch` sections) have no hunks: they yield no lines.
 */
import parseDiff from 'parse-diff';
import type { AddedLine, ChangeFacts } from '../rails/types.js';

/** git's one-character C escapes (quote_c_style in git's quote.c), by the letter after the backslash. */
const C_ESCAPES: Readonly<Record<string, number>> = Object.freeze({
  a: 0x07,
  b: 0x08,
  t: 0x09,
  n: 0x0a,
  v: 0x0b,
  f: 0x0c,
  r: 0x0d,
  '"': 0x22,
  '\\': 0x5c,
});

const UTF8 = new TextDecoder('utf-8', { fatal: false });
const ENCODER = new TextEncoder();

/**
 * Decodes the C-style escapes git writes inside a quoted path (`\t`, `\"`, `\\`, `\303\251` octal bytes, ...)
 * once the quotes are gone, and decodes the resulting bytes as UTF-8 (invalid sequences become U+FFFD). A
 * name without a backslash is returned as it is (git quotes every name that has one). An unknown escape is
 * kept literally.
 */
export function unquoteGitPath(name: string): string {
  if (!name.includes('\\')) return name;
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === '\\' && i + 1 < name.length) {
      const next = name[i + 1]!;
      const octal = /^[0-3][0-7]{2}/.exec(name.slice(i + 1, i + 4));
      if (octal) {
        bytes.push(parseInt(octal[0], 8));
        i += 3;
        continue;
      }
      const escaped = C_ESCAPES[next];
      if (escaped !== undefined) {
        bytes.push(escaped);
        i += 1;
        continue;
      }
    }
    // A whole code point (both halves of a surrogate pair), so astral characters survive the round trip.
    const code = name.codePointAt(i)!;
    const char = String.fromCodePoint(code);
    for (const b of ENCODER.encode(char)) bytes.push(b);
    i += char.length - 1;
  }
  return UTF8.decode(Uint8Array.from(bytes));
}

/** One file's added lines as parse-diff saw them, before the path is settled. */
interface ParsedFile {
  /** Name parse-diff gave the new side (quotes and prefix removed, escapes decoded); '/dev/null' for deletions. */
  name: string;
  lines: { line: number; text: string; crlf: boolean }[];
}

/** Runs parse-diff; its own failures (e.g. a `\ No newline` line before any change) become a clear Error. */
function parseFiles(patch: string): ParsedFile[] {
  let files: parseDiff.File[];
  try {
    files = parseDiff(patch);
  } catch (err) {
    throw new Error(
      `the patch text could not be read for its added lines (parse-diff: ${err instanceof Error ? err.message : String(err)})`,
      { cause: err },
    );
  }
  const out: ParsedFile[] = [];
  for (const file of files) {
    const lines: ParsedFile['lines'] = [];
    for (const chunk of file.chunks) {
      for (const change of chunk.changes) {
        // `\ No newline at end of file` is repeated by parse-diff as a change of the previous type: skip it.
        if (change.type !== 'add' || !change.content.startsWith('+')) continue;
        let text = change.content.slice(1);
        const crlf = text.endsWith('\r');
        if (crlf) text = text.slice(0, -1);
        lines.push({ line: change.ln, text, crlf });
      }
    }
    out.push({ name: unquoteGitPath(file.to ?? ''), lines });
  }
  return out;
}

/** Options of {@link addedLinesFromPatch}. */
export interface AddedLinesOptions {
  /** Called once for each added line that ended in CRLF (its `\r` is removed from `text`). */
  onCrlf?: (line: AddedLine) => void;
}

/**
 * Every added (`+`) line of every text file in `patch` (git diff output), in patch order, each with the
 * file's new path as parse-diff reads it (prefix `b/` removed, git's quoting decoded; see the module docs for
 * the names it can get wrong: use {@link attachAddedLines} when git's facts are at hand), its 1-based line
 * number in the new file and its text without the leading `+`, without one trailing `\r`. Binary files and
 * deletions yield nothing; an empty patch gives [].
 * @throws Error when parse-diff fails on the text.
 */
export function addedLinesFromPatch(patch: string, options: AddedLinesOptions = {}): AddedLine[] {
  const out: AddedLine[] = [];
  for (const file of parseFiles(patch)) {
    for (const l of file.lines) {
      const added: AddedLine = { path: file.name, line: l.line, text: l.text };
      if (l.crlf) options.onCrlf?.(added);
      out.push(added);
    }
  }
  return out;
}

/**
 * `facts` with `addedLines` read from `patch`, the patch git printed for the same change (`git diff
 * --binary -M` of what `facts` describes). Each file of the patch is matched to a file of `facts`: by name
 * (as decoded, or with a trailing quote character parse-diff dropped), else by position when the patch has
 * exactly as many files as `facts` and that file's added-line count agrees. Lines of a file whose facts say
 * binary are dropped. The input is not modified.
 * @throws Error naming the file when some file's added lines cannot be matched to a path of `facts`, or when
 *   parse-diff fails: the caller then leaves `addedLines` unset, and the content rules block (content-unread).
 */
export function attachAddedLines(facts: ChangeFacts, patch: string): ChangeFacts {
  const parsed = parseFiles(patch);
  const byPath = new Map<string, number>();
  facts.files.forEach((f, i) => {
    if (f.status !== 'deleted' && !byPath.has(f.path)) byPath.set(f.path, i);
  });
  const addedLines: AddedLine[] = [];
  parsed.forEach((file, position) => {
    if (file.lines.length === 0) return;
    const candidates = [file.name, `${file.name}'`, `${file.name}"`];
    let index = candidates.map((c) => byPath.get(c)).find((i) => i !== undefined);
    if (index === undefined && parsed.length === facts.files.length) {
      const same = facts.files[position]!;
      if (same.status !== 'deleted' && !same.binary && same.linesAdded === file.lines.length)
        index = position;
    }
    if (index === undefined) {
      throw new Error(
        `the added lines of ${JSON.stringify(file.name)} in the patch match no file git reported for the change; the content rules cannot tell which file they belong to`,
      );
    }
    const target = facts.files[index]!;
    if (target.binary) return;
    for (const l of file.lines) addedLines.push({ path: target.path, line: l.line, text: l.text });
  });
  return { ...facts, addedLines };
}
