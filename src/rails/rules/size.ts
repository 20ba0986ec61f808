/**
 * Diff caps (by default at most 10 files and 500 lines of code per change) and the empty change. Line counts are git's (numstat): added + deleted. Pure.
 */
import type { Finding, Rule } from '../rule.js';
import { changeStats, filesOf, isCount, linesOf, printable, show } from './common.js';
import type { AddedLine, ChangeUnderReview, FileChange } from '../types.js';

/** A file's size entry for `largest`. */
interface Sized {
  path: string;
  lines: number;
}

/** Does `a` come before `b` among the largest (more lines first, then path order)? */
function before(a: Sized, b: Sized): boolean {
  return a.lines > b.lines || (a.lines === b.lines && a.path < b.path);
}

/** The `n` files with the most changed lines, largest first (ties: path order), in one pass: O(files * n). */
function largest(files: readonly FileChange[], n: number): Sized[] {
  const top: Sized[] = [];
  for (const f of files) {
    if (typeof f?.path !== 'string') continue;
    const lines = linesOf(f);
    if (lines === 0) continue;
    const last = top.length === n ? top[n - 1]! : undefined;
    if (last !== undefined && (lines < last.lines || (lines === last.lines && f.path >= last.path))) continue;
    const entry: Sized = { path: f.path, lines };
    let i = Math.min(top.length, n - 1);
    top[i] = entry;
    while (i > 0 && before(top[i]!, top[i - 1]!)) {
      [top[i - 1], top[i]] = [top[i]!, top[i - 1]!];
      i--;
    }
  }
  return top;
}

/** at most maxFilesChanged files (default 10); binary files count, a rename is one. */
export const diffMaxFiles: Rule = {
  id: 'diff-max-files',
  summary: 'More files changed than allowed (binary files count; a rename is one file).',
  setting: 'safetyRails.diffCaps.maxFilesChanged',
  severity: 'block',
  check: ({ change, policy }) => {
    const { filesChanged, binaryFiles } = changeStats(change);
    if (filesChanged <= policy.maxFilesChanged) return [];
    return [
      {
        message: `${filesChanged} files changed (${binaryFiles} binary) exceeds safetyRails.diffCaps.maxFilesChanged = ${show(policy.maxFilesChanged)}`,
      },
    ];
  },
};

/**
 * at most maxLinesOfCode added + deleted lines (default 500), as git counts them. A file
 * whose counts are not whole numbers >= 0 is reported too (the cap cannot be checked: when in doubt, block).
 */
export const diffMaxLines: Rule = {
  id: 'diff-max-lines',
  summary:
    'More added + deleted lines than allowed, as git counts them; also a file whose line counts are not whole numbers >= 0.',
  setting: 'safetyRails.diffCaps.maxLinesOfCode',
  severity: 'block',
  check: ({ change, policy }) => {
    const files = filesOf(change);
    const findings: Finding[] = [];
    for (const file of files) {
      if (typeof file?.path !== 'string') continue;
      if (!isCount(file.linesAdded) || !isCount(file.linesDeleted)) {
        findings.push({
          path: file.path,
          message: `${printable(file.path)}: line counts added ${show(file.linesAdded)} / deleted ${show(file.linesDeleted)} are not whole numbers >= 0, so safetyRails.diffCaps.maxLinesOfCode cannot be checked`,
        });
      }
    }
    const { linesAdded, linesDeleted } = changeStats(change);
    const total = linesAdded + linesDeleted;
    if (total <= policy.maxLinesOfCode) return findings;
    const only = files.length === 1 && typeof files[0]?.path === 'string' ? files[0] : undefined;
    const top = only ? [] : largest(files, 3).map((f) => `${printable(f.path)} ${f.lines}`);
    findings.push({
      ...(only ? { path: only.path } : {}),
      message: `${only ? `${printable(only.path)}: ` : ''}${total} lines changed (added ${linesAdded} + deleted ${linesDeleted}) exceeds safetyRails.diffCaps.maxLinesOfCode = ${show(policy.maxLinesOfCode)}${top.length ? `; largest: ${top.join(', ')}` : ''}`,
    });
    return findings;
  },
};

/** A change without files has nothing a human could review. */
export const changeEmpty: Rule = {
  id: 'change-empty',
  summary: 'The change touches no files: there is nothing to review.',
  setting: '(none: always on)',
  severity: 'block',
  check: ({ change }) =>
    filesOf(change).length > 0
      ? []
      : [
          {
            message:
              'the change touches no files: there is nothing to review (a change must change at least one file)',
          },
        ],
};

/** The added lines of `change` when they were read (a list), else an empty list. */
function addedLines(change: ChangeUnderReview): readonly AddedLine[] {
  const lines: unknown = (change as Partial<ChangeUnderReview> | undefined)?.facts?.addedLines;
  return Array.isArray(lines) ? (lines as AddedLine[]) : [];
}

/** UTF-8 byte length of `text` without encoding it (surrogate pairs count 4, lone surrogates 3 as U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (
      c >= 0xd800 &&
      c <= 0xdbff &&
      i + 1 < text.length &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      bytes += 2; // the pair is 2 code units and 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/**
 * Bytes of added content per file: `bytesAdded` from the facts when it is a whole number >= 0, else the UTF-8
 * bytes of the file's added lines plus one line ending each (a caller that did not count them); a binary file
 * without `bytesAdded` is unknown (undefined).
 */
function bytesPerFile(change: ChangeUnderReview): Map<FileChange, number | undefined> {
  const files = filesOf(change);
  // Counted from the added lines only for the text files whose facts lack bytesAdded (usually none).
  const missing = new Set<string>();
  for (const f of files) {
    if (typeof f?.path === 'string' && !isCount(f.bytesAdded) && f.binary !== true) missing.add(f.path);
  }
  const fromLines = new Map<string, number>();
  if (missing.size > 0) {
    for (const l of addedLines(change)) {
      if (typeof l?.path !== 'string' || typeof l.text !== 'string' || !missing.has(l.path)) continue;
      fromLines.set(l.path, (fromLines.get(l.path) ?? 0) + utf8Length(l.text) + 1);
    }
  }
  const out = new Map<FileChange, number | undefined>();
  for (const f of files) {
    if (typeof f?.path !== 'string') continue;
    if (isCount(f.bytesAdded)) out.set(f, f.bytesAdded);
    else if (f.binary === true) out.set(f, undefined);
    else out.set(f, fromLines.get(f.path) ?? 0);
  }
  return out;
}

/** 262144 -> "262144 bytes (256 KiB)". */
function bytesText(n: number): string {
  return n >= 1024 ? `${n} bytes (${Math.round((n / 1024) * 10) / 10} KiB)` : `${n} bytes`;
}

/**
 * Lines do not measure size (a 5 MB single line is one line). At most maxBytesChanged bytes
 * of added content (default 256 KiB): the UTF-8 bytes of added lines with their line endings, and the new size
 * of binary files. A binary file whose size is unknown cannot be counted: when binary files are allowed, it
 * blocks (when in doubt, block); otherwise file-binary blocks it already.
 */
export const diffMaxBytes: Rule = {
  id: 'diff-max-bytes',
  summary:
    'More bytes of added content than allowed: the UTF-8 bytes of the added lines, line endings included, plus the size of binary files (one 5 MB line is one line but 5 MB); also a binary file whose size is unknown when binary files are allowed.',
  setting: 'safetyRails.diffCaps.maxBytesChanged',
  severity: 'block',
  check: ({ change, policy }) => {
    const findings: Finding[] = [];
    let total = 0;
    let largest: { path: string; bytes: number } | undefined;
    for (const [f, bytes] of bytesPerFile(change)) {
      if (bytes === undefined) {
        // Unless binary files are allowed, file-binary blocks this one already.
        if (policy.fileKinds?.allowBinary !== true) continue;
        findings.push({
          path: f.path,
          message: `${printable(f.path)}: binary file of unknown size, so safetyRails.diffCaps.maxBytesChanged cannot be checked`,
        });
        continue;
      }
      total += bytes;
      if (largest === undefined || bytes > largest.bytes) largest = { path: f.path, bytes };
    }
    const max: unknown = policy.maxBytesChanged;
    if (typeof max === 'number' && total <= max) return findings;
    findings.push({
      message: `${bytesText(total)} of added content exceeds safetyRails.diffCaps.maxBytesChanged = ${show(max)}${largest ? `; largest: ${printable(largest.path)} ${bytesText(largest.bytes)}` : ''}`,
    });
    return findings;
  },
};

/** Length of `text` in code points, counting at most up to `limit + 1` (enough to know it is over). */
function codePointsUpTo(text: string, limit: number): number {
  if (text.length <= limit) return text.length; // code points <= code units
  let n = 0;
  for (let i = 0; i < text.length && n <= limit; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    n++;
  }
  return n;
}

/**
 * An added line longer than maxLineLength characters (default 1,000) is minified or
 * generated content nobody reviews line by line: blocked unless fileKinds.allowMinified. One finding per file,
 * at its first such line, with how many there are.
 */
export const contentMinified: Rule = {
  id: 'content-minified',
  summary:
    'An added line longer than the maximum line length (default 1,000 characters): minified or generated content nobody can review; one finding per file, at its first such line.',
  setting: 'safetyRails.fileKinds.allowMinified, safetyRails.diffCaps.maxLineLength',
  severity: 'block',
  check: ({ change, policy }) => {
    if (policy.fileKinds?.allowMinified === true) return [];
    const raw: unknown = policy.maxLineLength;
    const max = typeof raw === 'number' && raw >= 1 ? raw : 1000;
    const perFile = new Map<string, { line: number; length: number; count: number }>();
    for (const l of addedLines(change)) {
      if (typeof l?.text !== 'string' || typeof l.path !== 'string' || l.text.length <= max) continue;
      const length = codePointsUpTo(l.text, max);
      if (length <= max) continue;
      const seen = perFile.get(l.path);
      if (seen) seen.count++;
      else perFile.set(l.path, { line: l.line, length: Array.from(l.text).length, count: 1 });
    }
    const findings: Finding[] = [];
    for (const [path, hit] of perFile) {
      findings.push({
        path,
        line: hit.line,
        message: `${printable(path)}:${hit.line}: an added line of ${hit.length} characters (${hit.count} such line${hit.count === 1 ? '' : 's'} over safetyRails.diffCaps.maxLineLength = ${max}) is minified or generated content nobody can review (set safetyRails.fileKinds.allowMinified to true to allow it)`,
      });
    }
    return findings;
  },
};

/**
 * A change git cannot apply to its base is judged by nothing else. Its facts would come from
 * the patch text alone, which can claim anything (GNU patch writes through a symlinked directory that git
 * refuses), so it is blocked with git's reason.
 */
export const changeUnapplicable: Rule = {
  id: 'change-unapplicable',
  summary:
    "git cannot apply the change to its base (git's reason is quoted): a change is only judged as git would apply it, never from the patch text alone.",
  setting: '(none: always on)',
  severity: 'block',
  check: ({ change }) => {
    const why: unknown = (change as Partial<ChangeUnderReview> | undefined)?.facts?.unapplicable;
    if (why === undefined) return [];
    return [
      {
        message: `git cannot apply the change to its base (${printable(String(why)).slice(0, 500)}); only a change that applies can be judged: rebase it onto the base commit and check again`,
      },
    ];
  },
};

/** The size rules, in evaluation order. */
export const SIZE_RULES: readonly Rule[] = Object.freeze([
  diffMaxFiles,
  diffMaxLines,
  diffMaxBytes,
  contentMinified,
  changeEmpty,
  changeUnapplicable,
]);
