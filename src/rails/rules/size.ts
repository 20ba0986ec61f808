/**
 * Diff caps (issue #3 rule 4, seed 004 "Diff Caps": at most 10 files and 500 lines of code per change; seed
 * 001: 10 files, 400 lines) and the empty change. Line counts are git's (numstat): added + deleted. Pure.
 */
import type { Finding, Rule } from '../rule.js';
import { changeStats, filesOf, isCount, linesOf, printable, show } from './common.js';
import type { FileChange } from '../types.js';

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

/** seed 004 "Diff Caps": at most maxFilesChanged files (default 10); binary files count, a rename is one. */
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
 * seed 004 "Diff Caps": at most maxLinesOfCode added + deleted lines (default 500), as git counts them. A file
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

/** The size rules, in evaluation order. */
export const SIZE_RULES: readonly Rule[] = Object.freeze([diffMaxFiles, diffMaxLines, changeEmpty]);
