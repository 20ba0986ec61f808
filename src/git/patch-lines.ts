/**
 * The added lines of a patch, for the rails' content rules (secrets, forbidden commands): every `+` line of
 * every text file, with its line number in the NEW file. I/O-free; it lives in git/ because it reads patch
 * text (`git diff` output, or a patch git has already read with `git apply --numstat`).
 *
 * The FACTS about a change (which files, names, modes, binary, counts) always come from git; this module only
 * reads the text of the `+` lines, and checks its reading against git's: each section's count of added lines
 * must equal git's numstat count for the same file, or it throws (the caller then leaves the added lines
 * unread, and the content rules block as `content-unread`).
 *
 * Why not a diff-parsing package: on a 1,000,000-line patch (74 MB, 100,000 new files), measured side by side
 * on the 2-core machine this was written on, `parse-diff` took 4.5-6.4 s, this reader 2.2-3.2 s and `git
 * apply --numstat` 1.3-2.1 s (most of the reader's time is allocating the million line objects the rails
 * read, and collecting them); parse-diff also repeats the previous change for a `\ No newline at end of
 * file` line and mangles some quoted names. The reader follows git's own grammar of a patch (git's apply.c,
 * as described in the git-apply and git-diff manuals, "generating patches with -p"):
 *
 * - a file section starts at a `diff --git ` line, or (a traditional diff) at a `--- ` line followed by a
 *   `+++ ` line and a `@@ -` line;
 * - a hunk `@@ -a,b +c,d @@` holds exactly b old and d new lines (a missing count is 1): ` ` (or an empty
 *   line) is context, `-` old, `+` new; a `\ ` line ("\ No newline at end of file") says the line before it
 *   has no line ending, and may also follow the hunk's last line;
 * - lines between hunks and sections (a binary patch's base85 data, a mail signature) belong to no hunk.
 *
 * Per line: the text without the leading `+` and without ONE trailing `\r` (a CRLF file); per file: the bytes
 * of its added lines with their line endings (`bytesAdded`), and for a created file its exact new content.
 */
import type { AddedLine, ChangeFacts, FileChange } from '../rails/types.js';

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

/** One file section of a patch, as read by {@link readPatchSections}. */
export interface PatchSection {
  /**
   * The new name the section's `+++ ` line gives (quotes decoded, the `b/` prefix or first component
   * removed, a traditional diff's tab and timestamp cut): '/dev/null' for a deletion, '' when the section
   * has no `+++ ` line (a binary patch, a pure rename or mode change).
   */
  name: string;
  /**
   * Added lines, in order: `path` is `name` (readAddedContent sets git's path), `line` the 1-based line
   * number in the new file, `text` without the leading `+` and without one trailing `\r`. These are the very
   * objects the facts carry (one allocation per line: a million-line patch makes a million of them).
   */
  lines: AddedLine[];
  /** Indexes (into `lines`) of the lines that ended in `\r` (removed from their text). */
  crlf: number[];
  /** UTF-8 bytes of the added lines including their line endings (`\r\n` is two bytes, a last line without one none). */
  bytesAdded: number;
  /** True when the new side's last line has no line ending ("\ No newline at end of file" after it). */
  noNewlineAtEnd: boolean;
  /** Number of hunks. */
  hunks: number;
  /** True when the header creates the file (`new file mode`, or `--- /dev/null`). */
  created: boolean;
  /** True when the section holds a `GIT binary patch` (or says `Binary files ... differ`). */
  binary: boolean;
  /** The size of the new content stated by a binary patch's first `literal N` line, when it has one. */
  binaryLiteralSize?: number;
}

/** The name of a `+++ ` or `--- ` header line's file, as git reads it with -p1 (see PatchSection.name). */
function headerName(rest: string): string {
  let raw = rest.endsWith('\r') ? rest.slice(0, -1) : rest;
  if (raw.startsWith('"')) {
    let end = 1;
    while (end < raw.length && raw[end] !== '"') end += raw[end] === '\\' ? 2 : 1;
    raw = unquoteGitPath(raw.slice(1, end));
  } else {
    const tab = raw.indexOf('\t');
    if (tab >= 0) raw = raw.slice(0, tab);
    raw = raw.replace(/ +$/, '');
  }
  if (raw === '/dev/null') return raw;
  const slash = raw.indexOf('/');
  return slash >= 0 ? raw.slice(slash + 1) : raw;
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/**
 * Every file section of `patch`, in order, with its added lines (see the module docs for the grammar). An
 * empty patch, or text with no section, gives [].
 * @throws Error naming the line when a hunk is cut short or holds a line that is no hunk line (git refuses
 *   such a patch as corrupt too).
 */
export function readPatchSections(patch: string): PatchSection[] {
  const sections: PatchSection[] = [];
  const n = patch.length;
  // Most patches are ASCII: then a line's UTF-8 bytes are its length, no need to count them.
  // eslint-disable-next-line no-control-regex
  const ascii = !/[^\x00-\x7f]/.test(patch);
  let pos = 0;
  let lineNo = 0;
  let current: PatchSection | undefined;
  /** In a section's header (before its first hunk). */
  let inHeader = false;
  /** The line after `GIT binary patch` may state the new size (`literal N`). */
  let expectLiteral = false;

  const lineEnd = (from: number): number => {
    const e = patch.indexOf('\n', from);
    return e < 0 ? n : e;
  };
  const newSection = (): PatchSection => {
    const s: PatchSection = {
      name: '',
      lines: [],
      crlf: [],
      bytesAdded: 0,
      noNewlineAtEnd: false,
      hunks: 0,
      created: false,
      binary: false,
    };
    sections.push(s);
    return s;
  };

  while (pos < n) {
    const s = pos;
    const e = lineEnd(s);
    pos = e + 1;
    lineNo++;
    if (patch.startsWith('diff --git ', s)) {
      current = newSection();
      inHeader = true;
      expectLiteral = false;
      continue;
    }
    if (current !== undefined && patch.startsWith('@@ -', s)) {
      const m = HUNK_HEADER.exec(patch.slice(s, Math.min(e, s + 200)));
      if (!m) throw new Error(`line ${lineNo} of the patch is not a hunk header`);
      inHeader = false;
      expectLiteral = false;
      current.hunks++;
      let oldLeft = m[2] === undefined ? 1 : Number(m[2]);
      let newLeft = m[4] === undefined ? 1 : Number(m[4]);
      let newLine = Number(m[3]);
      /** The side of the previous hunk line: 'old', 'new', 'both' (context). */
      let last: 'old' | 'new' | 'both' | undefined;
      const marker = (): void => {
        // "\ No newline at end of file": the line before has no line ending.
        if (last === 'new') {
          current!.bytesAdded -= 1;
          current!.noNewlineAtEnd = true;
        } else if (last === 'both') {
          current!.noNewlineAtEnd = true;
        }
      };
      while (oldLeft > 0 || newLeft > 0) {
        if (pos >= n) throw new Error(`the patch ends inside a hunk (line ${lineNo})`);
        const hs = pos;
        const he = lineEnd(hs);
        pos = he + 1;
        lineNo++;
        const c = hs === he ? 32 : patch.charCodeAt(hs);
        if (c === 32) {
          oldLeft--;
          newLeft--;
          newLine++;
          last = 'both';
        } else if (c === 45) {
          oldLeft--;
          last = 'old';
        } else if (c === 43) {
          newLeft--;
          let text = patch.slice(hs + 1, he);
          let ending = 1;
          if (text.endsWith('\r')) {
            text = text.slice(0, -1);
            current.crlf.push(current.lines.length);
            ending = 2;
          }
          current.lines.push({ path: current.name, line: newLine, text });
          current.bytesAdded += (ascii ? text.length : Buffer.byteLength(text, 'utf8')) + ending;
          newLine++;
          last = 'new';
        } else if (c === 92) {
          marker();
        } else {
          throw new Error(`line ${lineNo} of the patch is inside a hunk but is no hunk line`);
        }
        if (oldLeft < 0 || newLeft < 0)
          throw new Error(`the hunk ending at line ${lineNo} is longer than its header says`);
      }
      // An incomplete last line: its marker follows the hunk (git reads it the same way).
      if (pos < n && patch.charCodeAt(pos) === 92) {
        pos = lineEnd(pos) + 1;
        lineNo++;
        marker();
      }
      continue;
    }
    if (current !== undefined && inHeader) {
      if (patch.startsWith('+++ ', s)) current.name = headerName(patch.slice(s + 4, e));
      else if (patch.startsWith('--- ', s)) {
        if (headerName(patch.slice(s + 4, e)) === '/dev/null') current.created = true;
      } else if (patch.startsWith('new file mode ', s)) current.created = true;
      else if (patch.startsWith('GIT binary patch', s)) {
        current.binary = true;
        expectLiteral = true;
        continue;
      } else if (patch.startsWith('Binary files ', s)) current.binary = true;
      else if (expectLiteral) {
        const m = /^literal (\d+)/.exec(patch.slice(s, Math.min(e, s + 40)));
        if (m) current.binaryLiteralSize = Number(m[1]);
      }
      expectLiteral = false;
      continue;
    }
    // A traditional diff's section: `--- old`, `+++ new`, then a hunk.
    if (patch.startsWith('--- ', s) && patch.startsWith('+++ ', pos)) {
      const next = lineEnd(pos) + 1;
      if (patch.startsWith('@@ -', next)) {
        current = newSection();
        inHeader = true;
        expectLiteral = false;
        if (headerName(patch.slice(s + 4, e)) === '/dev/null') current.created = true;
      }
    }
  }
  return sections;
}

/** The exact text of a file a section creates: its added lines with their line endings. */
export function createdText(section: PatchSection): string {
  const lines = section.lines;
  const crlf = new Set(section.crlf);
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    out += lines[i]!.text;
    if (crlf.has(i)) out += '\r';
    if (i < lines.length - 1 || !section.noNewlineAtEnd) out += '\n';
  }
  return out;
}

/** Options of {@link addedLinesFromPatch}. */
export interface AddedLinesOptions {
  /** Called once for each added line that ended in CRLF (its `\r` is removed from `text`). */
  onCrlf?: (line: AddedLine) => void;
}

/**
 * Every added (`+`) line of every text file in `patch`, in patch order, each with the file's new path as the
 * section's `+++ ` line names it (use {@link attachAddedLines} when git's facts are at hand: they name the
 * files), its 1-based line number in the new file and its text without the leading `+`, without one
 * trailing `\r`. Binary files and deletions yield nothing; an empty patch gives [].
 * @throws Error when a hunk is malformed (see readPatchSections).
 */
export function addedLinesFromPatch(patch: string, options: AddedLinesOptions = {}): AddedLine[] {
  const out: AddedLine[] = [];
  for (const section of readPatchSections(patch)) {
    const crlf = new Set(section.crlf);
    section.lines.forEach((l, i) => {
      if (crlf.has(i)) options.onCrlf?.(l);
      out.push(l);
    });
  }
  return out;
}

/** The added lines of a change and the section each file was read from. */
export interface AddedContent {
  /** Added lines of the text files (none of binary files), in patch order. */
  addedLines: AddedLine[];
  /** For each file of the facts (same index): the patch section holding its added lines, if any. */
  sections: (PatchSection | undefined)[];
}

/**
 * The added lines of `files` (git's facts of the change) read from `patch` (the patch git read or printed for
 * the same change). When the patch has exactly one section per file (always so for `git diff` output and
 * for a patch git read with `git apply --numstat`, which reports one record per section in patch order),
 * section k is file k; otherwise sections are matched by the name their `+++ ` line gives. Either way each
 * text file's count of added lines must equal git's `linesAdded`. Lines of files git calls binary are dropped.
 * @throws Error naming the file when a section's lines cannot be matched to a file of `files`, or when a
 *   count disagrees with git's, or when the patch text is malformed: the caller then leaves `addedLines`
 *   unset, and the content rules block (content-unread).
 */
export function readAddedContent(files: readonly FileChange[], patch: string): AddedContent {
  const parsed = readPatchSections(patch);
  const sections: (PatchSection | undefined)[] = new Array<PatchSection | undefined>(files.length);
  if (parsed.length === files.length) {
    parsed.forEach((s, k) => (sections[k] = s));
  } else {
    const byPath = new Map<string, number>();
    files.forEach((f, i) => {
      if (f.status !== 'deleted' && !byPath.has(f.path)) byPath.set(f.path, i);
    });
    for (const s of parsed) {
      if (s.lines.length === 0) continue;
      const index = byPath.get(s.name);
      if (index === undefined || sections[index] !== undefined) {
        throw new Error(
          `the added lines of ${JSON.stringify(s.name)} in the patch match no file git reported for the change; the content rules cannot tell which file they belong to`,
        );
      }
      sections[index] = s;
    }
  }
  const addedLines: AddedLine[] = [];
  files.forEach((f, k) => {
    const s = sections[k];
    if (f.binary || s === undefined) return;
    if (s.lines.length !== f.linesAdded) {
      throw new Error(
        `the patch adds ${s.lines.length} line(s) to ${JSON.stringify(f.path)} where git counts ${f.linesAdded}; the added lines cannot be read faithfully`,
      );
    }
    for (const l of s.lines) {
      l.path = f.path;
      addedLines.push(l);
    }
  });
  return { addedLines, sections };
}

/**
 * `facts` with `addedLines` read from `patch` (see {@link readAddedContent}). The input is not modified.
 * @throws Error as readAddedContent does.
 */
export function attachAddedLines(facts: ChangeFacts, patch: string): ChangeFacts {
  return { ...facts, addedLines: readAddedContent(facts.files, patch).addedLines };
}
