/**
 * File kinds: symlinks, submodules, binary files and files that become executable are
 * blocked unless safetyRails.fileKinds allows them. The facts are git's: modes as `git diff --raw` prints them
 * (100644 file, 100755 executable, 120000 symlink, 160000 submodule, 000000 absent) and numstat's binary flag.
 * Pure.
 */
import type { Finding, Rule } from '../rule.js';
import type { FileChange, RailsPolicy } from '../types.js';
import { filesOf, printable, show, touchedPaths } from './common.js';

/** Mode of a symlink. */
export const SYMLINK_MODE = '120000';
/** Mode of a submodule (gitlink). */
export const SUBMODULE_MODE = '160000';
/** Mode of a file that does not exist on that side (added: old, deleted: new). */
export const ABSENT_MODE = '000000';

/** What a mode string is: git only writes these five; anything else is `unknown`. */
export type ModeKind = 'absent' | 'file' | 'executable' | 'symlink' | 'submodule' | 'unknown';

/** The kind of a git mode string (see ModeKind). */
export function modeKind(mode: unknown): ModeKind {
  switch (mode) {
    case ABSENT_MODE:
      return 'absent';
    case '100644':
    case '100664':
      return 'file';
    case '100755':
      return 'executable';
    case SYMLINK_MODE:
      return 'symlink';
    case SUBMODULE_MODE:
      return 'submodule';
    default:
      return 'unknown';
  }
}

/** One finding per file for which `problem` returns a text (files without a string path are skipped). */
function perFile(files: readonly FileChange[], problem: (f: FileChange) => string | undefined): Finding[] {
  const findings: Finding[] = [];
  for (const f of files) {
    if (typeof f?.path !== 'string') continue;
    const text = problem(f);
    if (text !== undefined) findings.push({ path: f.path, message: `${printable(f.path)}: ${text}` });
  }
  return findings;
}

/** True only when the policy's flag is exactly `true` (a missing or odd value blocks: when in doubt, block). */
function allows(policy: RailsPolicy, flag: keyof RailsPolicy['fileKinds']): boolean {
  return policy.fileKinds[flag] === true;
}

/** Symlink created, retargeted, moved or copied (new mode 120000), or a type change from a symlink. */
export const fileSymlink: Rule = {
  id: 'file-symlink',
  summary:
    'A symlink created, retargeted, renamed or copied (new mode 120000), or a type change to or from a symlink. Deleting one is not caught.',
  setting: 'safetyRails.fileKinds.allowSymlinks',
  severity: 'block',
  check: ({ change, policy }) => {
    if (allows(policy, 'allowSymlinks')) return [];
    return perFile(filesOf(change), (f) => {
      const before = modeKind(f.oldMode);
      const after = modeKind(f.newMode);
      let what: string | undefined;
      if (after === 'symlink') {
        what =
          before === 'absent'
            ? 'creates a symlink'
            : before === 'symlink'
              ? f.status === 'renamed' || f.status === 'copied'
                ? `${f.status === 'copied' ? 'copies' : 'moves'} a symlink`
                : 'retargets a symlink'
              : `turns a ${before} (mode ${show(f.oldMode)}) into a symlink`;
      } else if (before === 'symlink' && after !== 'absent') {
        what = `turns a symlink into a ${after} (mode ${show(f.newMode)})`;
      }
      return what === undefined
        ? undefined
        : `${what} (mode 120000); a symlink can point outside the repository (set safetyRails.fileKinds.allowSymlinks to true to allow it)`;
    });
  },
};

/** A submodule (mode 160000) on either side: added, moved, updated or removed. */
export const fileSubmodule: Rule = {
  id: 'file-submodule',
  summary: 'A submodule (mode 160000) on either side: added, updated to another commit, moved or removed.',
  setting: 'safetyRails.fileKinds.allowSubmodules',
  severity: 'block',
  check: ({ change, policy }) => {
    if (allows(policy, 'allowSubmodules')) return [];
    return perFile(filesOf(change), (f) =>
      modeKind(f.oldMode) === 'submodule' || modeKind(f.newMode) === 'submodule'
        ? `changes a submodule (mode 160000), which brings in another repository's code (set safetyRails.fileKinds.allowSubmodules to true to allow it)`
        : undefined,
    );
  },
};

/** A binary file (git numstat `-`): nobody can review it in a diff. */
export const fileBinary: Rule = {
  id: 'file-binary',
  summary: 'A binary file (git numstat reports "-"): it cannot be reviewed as a diff.',
  setting: 'safetyRails.fileKinds.allowBinary',
  severity: 'block',
  check: ({ change, policy }) => {
    if (allows(policy, 'allowBinary')) return [];
    return perFile(filesOf(change), (f) =>
      f.binary === true
        ? 'is a binary file, which cannot be reviewed as a diff (set safetyRails.fileKinds.allowBinary to true to allow it)'
        : undefined,
    );
  },
};

/**
 * A file that becomes executable: new mode 100755 where the old one was not (new files included). A new mode
 * git never writes is caught too: nobody can tell whether it is executable.
 */
export const fileExecutable: Rule = {
  id: 'file-executable',
  summary:
    'A file that becomes executable: new mode 100755 where the old mode was not (new files included); also a new mode git never writes.',
  setting: 'safetyRails.fileKinds.allowExecutable',
  severity: 'block',
  check: ({ change, policy }) => {
    if (allows(policy, 'allowExecutable')) return [];
    return perFile(filesOf(change), (f) => {
      const after = modeKind(f.newMode);
      if (after === 'unknown') {
        return `has the new mode ${show(f.newMode)}, which git does not write (100644, 100755, 120000, 160000), so it may be executable (set safetyRails.fileKinds.allowExecutable to true to allow it)`;
      }
      if (after !== 'executable' || modeKind(f.oldMode) === 'executable') return undefined;
      const before =
        modeKind(f.oldMode) === 'absent' ? 'a new executable file' : `mode ${show(f.oldMode)} -> 100755`;
      return `becomes executable (${before}) (set safetyRails.fileKinds.allowExecutable to true to allow it)`;
    });
  },
};

/** The last segment of `path`, lower-cased (ASCII), for name checks that must not depend on case. */
function baseNameLower(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return path.slice(slash + 1).toLowerCase();
}

/**
 * A `.gitattributes` file anywhere: attributes decide how git shows a change (`-diff` and
 * `binary` hide its lines, `filter=`/`diff=` run drivers, `eol`/`text` rewrite line endings), so a change must
 * not set them without the policy's explicit consent. Any status, either side of a rename; the name is compared
 * without regard to case (case-insensitive file systems read `.GitAttributes` as the same file).
 */
export const fileGitAttributes: Rule = {
  id: 'file-gitattributes',
  summary:
    'A .gitattributes file anywhere (added, changed, moved or removed; name in any case): attributes decide how git shows a change (-diff, binary, filter, eol), so only the policy can allow them.',
  setting: 'safetyRails.fileKinds.allowGitAttributes',
  severity: 'block',
  check: (input) => {
    if (allows(input.policy, 'allowGitAttributes')) return [];
    const findings: Finding[] = [];
    for (const t of touchedPaths(input)) {
      if (baseNameLower(t.path) !== '.gitattributes') continue;
      findings.push({
        path: t.path,
        message: `${t.label}: is a .gitattributes file, which decides how git shows changes (it can make text look binary, hide lines or run filters) (set safetyRails.fileKinds.allowGitAttributes to true to allow it)`,
      });
    }
    return findings;
  },
};

/** The file-kind rules, in evaluation order. */
export const KIND_RULES: readonly Rule[] = Object.freeze([
  fileSymlink,
  fileSubmodule,
  fileBinary,
  fileExecutable,
  fileGitAttributes,
]);
