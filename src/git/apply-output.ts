/**
 * git's own reading of a patch, without applying it: the output of `git apply --numstat --summary -z` and
 * `git apply -R --numstat -z`, matched exactly (parseApplyOutput), and the modes the git header of each
 * section states (headerModes), for the modes git's output does not print.
 *
 * - `git apply --numstat --summary -z` gives, per file in patch order, `ADDED\tDELETED\tNAME\0` (`-\t-\t`
 *   for binary files; NAME is the new name, or the old name of a deletion; never quoted), followed by the
 *   --summary lines, which ignore -z: newline-terminated, names unquoted (so a name may contain " => " or a
 *   line break): ` create mode 100644 NAME`, ` delete mode 100644 NAME` (` create NAME` / ` delete NAME` for
 *   traditional diffs), ` rename|copy OLD => NEW (SCORE%)` with a common leading directory written
 *   `dir/{old => new}`, ` rewrite NAME (SCORE%)`, each of the last three optionally followed by ` mode
 *   change OLD => NEW`, and ` mode change OLD => NEW NAME` for a mode change alone. A plain modification
 *   prints no summary line.
 * - `git apply -R --numstat -z` gives the OLD names (NUL-terminated, unambiguous), in reverse order with the
 *   counts swapped: with both names known, every summary line is matched against the exact text git prints
 *   for them, never split on " => " or on line breaks.
 */
import type { FileChange, FileChangeStatus } from '../rails/types.js';
import { FactsError } from './errors.js';

/** Mode of a regular file, as git prints it. */
export const REGULAR = '100644';
/** Mode git prints for "no file" (the old side of a creation, the new side of a deletion). */
export const NONE = '000000';

/** What `git apply --numstat --summary -z` (+ `-R --numstat -z`) says about one file of a patch. */
export interface ApplyRecord {
  /** New path (for a deletion: the deleted path). */
  path: string;
  /** Old path (equal to `path` unless renamed or copied). */
  oldPath: string;
  status: Exclude<FileChangeStatus, 'type-changed'>;
  /** Modes git printed in the summary (create/delete/mode change); undefined when it printed none. */
  oldMode?: string;
  newMode?: string;
  binary: boolean;
  linesAdded: number;
  linesDeleted: number;
  /** Similarity (rename, copy) or dissimilarity (rewrite) in percent, when git printed one. */
  score?: number;
}

interface NumstatRecord {
  added: string;
  deleted: string;
  name: string;
}

/**
 * Reads `ADDED\tDELETED\tNAME\0` records from the start of `output`; returns them and where they end.
 * @throws FactsError 'git-output' on anything else.
 */
function readNumstatZ(output: string): { records: NumstatRecord[]; end: number } {
  const records: NumstatRecord[] = [];
  const head = /(\d+|-)\t(\d+|-)\t/y;
  let pos = 0;
  while (pos < output.length && output[pos] !== ' ') {
    head.lastIndex = pos;
    const m = head.exec(output);
    if (!m) throw outputError(`unexpected --numstat record ${JSON.stringify(output.slice(pos, pos + 60))}`);
    const nameStart = head.lastIndex;
    const nul = output.indexOf('\0', nameStart);
    if (nul < 0 || nul === nameStart) throw outputError('a --numstat record without a NUL-terminated name');
    records.push({ added: m[1]!, deleted: m[2]!, name: output.slice(nameStart, nul) });
    pos = nul + 1;
  }
  return { records, end: pos };
}

/** A FactsError 'git-output' about git apply's output. */
export function outputError(detail: string): FactsError {
  return new FactsError('git-output', `cannot read git apply's output for the patch: ${detail}`);
}

/**
 * How `git apply --summary` writes a rename or copy of `oldPath` to `newPath`: leading directories both
 * share are written once, `dir/{old => new}`; otherwise `old => new` (git's show_rename_copy).
 */
export function renameText(oldPath: string, newPath: string): string {
  let at = 0;
  for (;;) {
    const so = oldPath.indexOf('/', at);
    const sn = newPath.indexOf('/', at);
    if (so < 0 || sn < 0 || so !== sn || oldPath.slice(at, so) !== newPath.slice(at, sn)) break;
    at = so + 1;
  }
  if (at === 0) return `${oldPath} => ${newPath}`;
  return `${oldPath.slice(0, at)}{${oldPath.slice(at)} => ${newPath.slice(at)}}`;
}

/**
 * True when the summary of `git apply --numstat --summary -z` output (`forward`) has a rename or copy line:
 * only then do old names differ from new ones, and parseApplyOutput needs the reverse run. (A name holding a
 * line break followed by " rename " can only make this true without need, never false with one.)
 * @throws FactsError 'git-output' when the numstat records cannot be read.
 */
export function hasRenameOrCopy(forward: string): boolean {
  const summary = forward.slice(readNumstatZ(forward).end);
  return /(?:^|\n) (?:rename|copy) /.test(summary);
}

/**
 * Matches the output of `git apply --numstat --summary -z` (`forward`) and of `git apply -R --numstat -z`
 * (`reverse`) on the same patch into one record per file, in patch order. The reverse run lists the same
 * files in reverse order with the counts swapped and the OLD names, so both names of every file are known
 * and each summary line is compared with the exact text git prints for them. Without `reverse` (when
 * hasRenameOrCopy says there is no rename or copy), every old name is the new name.
 * @throws FactsError 'git-output' when the two runs disagree or a summary line is not what git prints.
 */
export function parseApplyOutput(forward: string, reverse?: string): ApplyRecord[] {
  const fwd = readNumstatZ(forward);
  let olds: NumstatRecord[];
  if (reverse === undefined) {
    olds = fwd.records.map((r) => ({ added: r.deleted, deleted: r.added, name: r.name }));
  } else {
    const rev = readNumstatZ(reverse);
    if (rev.end !== reverse.length) throw outputError('unexpected text after the reverse --numstat records');
    if (fwd.records.length !== rev.records.length) {
      throw outputError(`${fwd.records.length} files forward but ${rev.records.length} in reverse`);
    }
    olds = [...rev.records].reverse();
  }
  const summary = forward.slice(fwd.end);
  let s = 0;
  /** Takes exactly `text` at the current position. */
  const takeText = (text: string): boolean => {
    if (!summary.startsWith(text, s)) return false;
    s += text.length;
    return true;
  };
  /** Takes six octal digits (a mode) at the current position. */
  const takeMode = (): string | undefined => {
    const mode = summary.slice(s, s + 6);
    if (!/^[0-7]{6}$/.test(mode)) return undefined;
    s += 6;
    return mode;
  };
  /** Takes decimal digits followed by `%)\n` (a similarity score) at the current position. */
  const takeScore = (): number | undefined => {
    let e = s;
    while (e < summary.length && summary.charCodeAt(e) >= 48 && summary.charCodeAt(e) <= 57) e++;
    if (e === s || !summary.startsWith('%)\n', e)) return undefined;
    const score = Number(summary.slice(s, e));
    s = e + 3;
    return score;
  };
  /** `prefix MODE suffix` at the current position (all or nothing). */
  const takeModeLine = (prefix: string, suffix: string): string | undefined => {
    const start = s;
    if (takeText(prefix)) {
      const mode = takeMode();
      if (mode !== undefined && takeText(suffix)) return mode;
    }
    s = start;
    return undefined;
  };
  /** ` mode change OLD => NEW` + `suffix` at the current position (all or nothing). */
  const takeModeChange = (suffix: string): { oldMode: string; newMode: string } | undefined => {
    const start = s;
    if (takeText(' mode change ')) {
      const oldMode = takeMode();
      if (oldMode !== undefined && takeText(' => ')) {
        const newMode = takeMode();
        if (newMode !== undefined && takeText(suffix)) return { oldMode, newMode };
      }
    }
    s = start;
    return undefined;
  };
  /** `prefix` + `(SCORE%)\n` at the current position (all or nothing). */
  const takeScored = (prefix: string): number | undefined => {
    const start = s;
    if (takeText(prefix)) {
      const score = takeScore();
      if (score !== undefined) return score;
    }
    s = start;
    return undefined;
  };

  const out: ApplyRecord[] = [];
  fwd.records.forEach((r, k) => {
    const o = olds[k]!;
    const binary = r.added === '-' || r.deleted === '-';
    const reverseBinary = o.added === '-' || o.deleted === '-';
    if (binary !== reverseBinary || (!binary && (o.added !== r.deleted || o.deleted !== r.added))) {
      throw outputError(`the reverse reading of ${JSON.stringify(r.name)} does not mirror the forward one`);
    }
    const base = {
      path: r.name,
      oldPath: o.name,
      binary,
      linesAdded: binary ? 0 : Number(r.added),
      linesDeleted: binary ? 0 : Number(r.deleted),
    };
    out.push(summaryOf(base, o.name === r.name));
  });
  if (s !== summary.length) {
    throw outputError(`unexpected summary text ${JSON.stringify(summary.slice(s, s + 80))}`);
  }
  return out;

  /** The record of one file, taking its summary lines (if any) at the current position. */
  function summaryOf(base: Omit<ApplyRecord, 'status'>, same: boolean): ApplyRecord {
    const named = ` ${base.path}\n`;
    if (same) {
      let mode = takeModeLine(' create mode ', named);
      if (mode !== undefined) return { ...base, status: 'added', oldMode: NONE, newMode: mode };
      mode = takeModeLine(' delete mode ', named);
      if (mode !== undefined) return { ...base, status: 'deleted', oldMode: mode, newMode: NONE };
      // A traditional diff (--- /dev/null) states no mode: git creates a regular file.
      if (takeText(` create${named}`)) return { ...base, status: 'added', oldMode: NONE, newMode: REGULAR };
      if (takeText(` delete${named}`)) return { ...base, status: 'deleted', oldMode: REGULAR, newMode: NONE };
      const score = takeScored(` rewrite ${base.path} (`);
      if (score !== undefined) return { ...base, status: 'modified', score, ...takeModeChange('\n') };
      const change = takeModeChange(named);
      if (change !== undefined) return { ...base, status: 'modified', ...change };
    }
    const moved = renameText(base.oldPath, base.path);
    for (const [word, status] of [
      ['rename', 'renamed'],
      ['copy', 'copied'],
    ] as const) {
      const score = takeScored(` ${word} ${moved} (`);
      if (score !== undefined) return { ...base, status, score, ...takeModeChange('\n') };
    }
    if (!same) {
      throw outputError(
        `${JSON.stringify(base.oldPath)} becomes ${JSON.stringify(base.path)} but git's summary has no rename or copy line for it`,
      );
    }
    return { ...base, status: 'modified' };
  }
}

/** What the git header of one file section of a patch says about modes. */
export interface HeaderModes {
  /** From `index <a>..<b> <mode>`: the mode of a file whose mode does not change. */
  indexMode?: string;
  oldMode?: string;
  newMode?: string;
  newFileMode?: string;
  deletedFileMode?: string;
}

/** Lines of git's extended header (after `diff --git`), as git's parser accepts them. */
const EXTENDED_HEADER =
  /^(old mode|new mode|deleted file mode|new file mode|copy from|copy to|rename from|rename to|rename old|rename new|similarity index|dissimilarity index|index) /;

/**
 * The modes stated in the git header of each `diff --git` section of a patch, in order. A `diff --git`
 * line cannot occur inside a hunk (hunk lines start with ' ', '+', '-' or '\'; base85 lines of binary
 * patches contain no space), so the sections are exactly those git reads. The header is the run of
 * extended header lines right after `diff --git`; a trailing CR is ignored, as git ignores it.
 */
export function headerModes(patch: string): HeaderModes[] {
  const sections: HeaderModes[] = [];
  let current: HeaderModes | undefined;
  for (const rawLine of patch.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.startsWith('diff --git ')) {
      current = {};
      sections.push(current);
      continue;
    }
    if (!current) continue;
    if (!EXTENDED_HEADER.test(line)) {
      current = undefined;
      continue;
    }
    let m: RegExpExecArray | null;
    if ((m = /^index [0-9a-f]+\.\.[0-9a-f]+ ([0-7]{6})$/.exec(line))) current.indexMode = m[1];
    else if ((m = /^old mode ([0-7]{6})$/.exec(line))) current.oldMode = m[1];
    else if ((m = /^new mode ([0-7]{6})$/.exec(line))) current.newMode = m[1];
    else if ((m = /^new file mode ([0-7]{6})$/.exec(line))) current.newFileMode = m[1];
    else if ((m = /^deleted file mode ([0-7]{6})$/.exec(line))) current.deletedFileMode = m[1];
  }
  return sections;
}

/** Files of a patch as git reads them, and the paths whose mode was assumed (see withHeaderModes). */
export interface PatchReading {
  files: FileChange[];
  assumed: string[];
}

/**
 * FileChanges from git's records, with the modes git does not print taken from the headers (paired in
 * order; each pairing is checked against what git said about creation, deletion and mode changes).
 * @throws FactsError 'git-output' when the sections cannot be paired with git's records.
 */
export function withHeaderModes(
  records: readonly ApplyRecord[],
  headers: readonly HeaderModes[],
): PatchReading {
  if (headers.length !== 0 && headers.length !== records.length) {
    throw outputError(
      `git read ${records.length} file(s) but the patch has ${headers.length} "diff --git" section(s) (git and traditional diff sections mixed?); write the patch with git diff, or check it with --repo where it applies`,
    );
  }
  const assumed: string[] = [];
  const files = records.map((r, k): FileChange => {
    const h = headers[k];
    if (h) {
      const mismatch =
        (r.status === 'added') !== (h.newFileMode !== undefined) ||
        (r.status === 'deleted') !== (h.deletedFileMode !== undefined) ||
        (r.status === 'added' && r.newMode !== h.newFileMode) ||
        (r.status === 'deleted' && r.oldMode !== h.deletedFileMode) ||
        (r.oldMode !== undefined &&
          r.status !== 'added' &&
          r.status !== 'deleted' &&
          r.oldMode !== h.oldMode);
      if (mismatch) {
        throw outputError(
          `git's reading of ${JSON.stringify(r.path)} does not match section ${k + 1} of the patch`,
        );
      }
    }
    let oldMode = r.oldMode;
    let newMode = r.newMode;
    if (oldMode === undefined || newMode === undefined) {
      if (h === undefined) {
        // A traditional diff (no git header at all) can only describe regular files.
        oldMode = newMode = REGULAR;
      } else if (h.indexMode !== undefined) {
        oldMode = newMode = h.indexMode;
      } else {
        // A git section without an index line: a 100% rename or copy. Its mode is not in the patch.
        oldMode = newMode = REGULAR;
        assumed.push(r.path);
      }
    }
    const file: FileChange = {
      path: r.path,
      status: r.status,
      oldMode,
      newMode,
      binary: r.binary,
      linesAdded: r.linesAdded,
      linesDeleted: r.linesDeleted,
    };
    if (r.status === 'renamed' || r.status === 'copied') file.oldPath = r.oldPath;
    return file;
  });
  return { files, assumed };
}
