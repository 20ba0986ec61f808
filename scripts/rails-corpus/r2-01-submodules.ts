/**
 * Rails round 2 (issue #7), class r2-01: Submodules made invisible: a gitlink hidden by `ignore = all` in .gitmodules (in the base or added by the change), .gitmodules edits of url/ignore/update/branch.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 *
 * `git diff` hides a submodule whose `.gitmodules` entry says `ignore = all`, whether the entry is in the
 * base or comes with the change (the PR gate checks out the merge, so the change's own .gitmodules is in
 * force): the facts gatherer passes `--ignore-submodules=none` to every diff, so the gitlink (mode 160000) is
 * always a file of the change and file-submodule judges it. The range cases check two commits of a base
 * variant (`--base HEAD~1 --head HEAD`) whose work tree holds the hiding .gitmodules, as the PR gate does.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import { B, H, all, base, type Case } from './lib.js';
import type { TempRepo } from '../../__tests__/helpers/git-repo.js';

/** Commit ids a gitlink points to (never fetched: a gitlink is only a commit id). */
const COMMIT_A = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const COMMIT_B = 'b2c3d4e5f60718293a4b5c6d7e8f901234567890';

/** A .gitmodules entry for `path`, with extra `key = value` lines. */
function gitmodules(path: string, ...extra: string[]): string {
  return [`[submodule "lib"]`, `\tpath = ${path}`, '\turl = https://example.com/acme/lib.git', ...extra]
    .map((l) => `${l}\n`)
    .join('');
}

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {
  'r2-01-sub-ignore-all': {
    note: 'a submodule src/vendor/lib whose .gitmodules entry says ignore = all',
    files: {
      '.gitmodules': { text: gitmodules('src/vendor/lib', '\tignore = all') },
      'src/vendor/lib': { gitlink: COMMIT_A },
    },
  },
  'r2-01-sub-plain': {
    note: 'a submodule src/vendor/lib with a plain .gitmodules entry',
    files: {
      '.gitmodules': { text: gitmodules('src/vendor/lib') },
      'src/vendor/lib': { gitlink: COMMIT_A },
    },
  },
  'r2-01-range-adds-hidden-gitlink': {
    note: 'a second commit adding a gitlink under docs/ and a .gitmodules that hides it (ignore = all)',
    files: {
      '.gitmodules': { text: gitmodules('docs/vendor/lib', '\tignore = all') },
      'docs/vendor/lib': { gitlink: COMMIT_B },
    },
  },
  'r2-01-range-adds-hidden-gitlink-dirty': {
    note: 'a second commit adding a gitlink under src/ hidden by ignore = all (and update = none) beside a doc edit',
    files: {
      '.gitmodules': { text: gitmodules('src/deps/lib', '\tignore = all', '\tupdate = none') },
      'src/deps/lib': { gitlink: COMMIT_A },
      'docs/guide.md': { text: base('docs/guide.md').replace('says so.', 'says so plainly.') },
    },
  },
};

/** A change that moves gitlink `path` to `commit` (staged by hand: a gitlink has no work-tree content). */
function bump(path: string, commit: string): (repo: TempRepo) => Promise<void> {
  return async (repo) => {
    await repo.git('update-index', '--add', '--cacheinfo', `160000,${commit},${path}`);
  };
}

/** A change that writes `files` and stages exactly them (never `git add -A`, which would drop a gitlink). */
function writeStaged(files: Record<string, string>): (repo: TempRepo) => Promise<void> {
  return async (repo) => {
    await repo.write(files);
    await repo.git('add', '--', ...Object.keys(files));
  };
}

const DOC_FIX_STAGED = writeStaged({
  'docs/guide.md': base('docs/guide.md').replace('says so.', 'says so plainly.'),
});

export const CASES: Case[] = [
  H({
    name: 'file-submodule--range-gitlink-hidden-by-its-own-gitmodules',
    note: 'head adds docs/vendor/lib (a gitlink) and a .gitmodules saying ignore = all: git diff base head shows only .gitmodules',
    base: 'r2-01-range-adds-hidden-gitlink',
    noFile: true,
    args: ['--base', 'HEAD~1', '--head', 'HEAD'],
    rules: ['file-submodule'],
  }),
  H({
    name: 'file-submodule--range-gitlink-and-doc-edit-hidden',
    note: 'head adds src/deps/lib (ignore = all, update = none) beside an innocent doc edit: the verdict must count the gitlink too',
    base: 'r2-01-range-adds-hidden-gitlink-dirty',
    noFile: true,
    args: ['--base', 'HEAD~1', '--head', 'HEAD'],
    rules: ['file-submodule'],
  }),
  H({
    name: 'file-submodule--bump-under-base-ignore-all',
    note: 'the base .gitmodules says ignore = all; the change moves src/vendor/lib to another commit beside a doc fix',
    base: 'r2-01-sub-ignore-all',
    staged: true,
    change: all(DOC_FIX_STAGED, bump('src/vendor/lib', COMMIT_B)),
  }),
  H({
    name: 'file-submodule--bump-and-add-ignore-all',
    note: 'the change adds ignore = all to .gitmodules and moves the gitlink in the same patch',
    base: 'r2-01-sub-plain',
    staged: true,
    change: all(
      writeStaged({ '.gitmodules': gitmodules('src/vendor/lib', '\tignore = all') }),
      bump('src/vendor/lib', COMMIT_B),
    ),
    rules: ['file-submodule'],
  }),
  H({
    name: 'file-submodule--new-gitlink-in-allowed-path',
    note: 'a gitlink added under docs/ (an allowed path) with no .gitmodules at all',
    staged: true,
    change: all(DOC_FIX_STAGED, bump('docs/vendor/theme', COMMIT_A)),
  }),
  B({
    name: 'doc-fix-beside-ignored-submodule',
    note: 'a doc fix in a repository with a submodule under ignore = all: the unchanged gitlink is not a file of the change',
    base: 'r2-01-sub-ignore-all',
    staged: true,
    change: DOC_FIX_STAGED,
  }),
  B({
    name: 'doc-fix-beside-plain-submodule',
    note: 'the same doc fix, with a submodule whose .gitmodules is plain',
    base: 'r2-01-sub-plain',
    staged: true,
    change: DOC_FIX_STAGED,
  }),
];
