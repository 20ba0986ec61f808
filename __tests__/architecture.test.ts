/**
 * The floors of the house (../shared/ARCHITECTURE.md, "Rules of the house"): lower floors never import higher
 * ones, and the rooms of the gates/reflect/propose/act/report floor do not import each other (a helper two
 * rooms need moves down to the floor below both). Every import of every file in src/ is checked, static and
 * dynamic (`import(...)`), type-only ones included; the exceptions are the ALLOWED list, each with its reason.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The rooms of each floor, lowest first: a folder (ending in `/`, everything under it) or one file. The
 * bottom floor holds what anyone may import: the pure rails, the secrets of a run, the record shapes several
 * rooms share (src/records.ts), the options and the injected interfaces.
 */
const FLOORS: readonly (readonly string[])[] = [
  ['src/rails/', 'src/secrets.ts', 'src/records.ts', 'src/options.ts', 'src/deps.ts'],
  ['src/git/', 'src/store/', 'src/github/', 'src/sandbox/', 'src/config/'],
  ['src/gates/', 'src/reflect/', 'src/propose/', 'src/act/', 'src/report/'],
  [
    'src/run.ts',
    'src/check.ts',
    'src/live.ts',
    'src/live-stages.ts',
    'src/run-record.ts',
    'src/publish.ts',
    'src/rollback.ts',
  ],
  ['src/cli.ts', 'src/action.ts', 'src/index.ts', 'src/errors.ts'],
];

/** The floor whose rooms may not import each other (the stages: gates, reflect, propose, act, report). */
const NO_SIDEWAYS_FLOOR = 2;

/** An import that runs the wrong way on purpose. `from` and `to`: a file, or a folder ending in `/`. */
interface Allowed {
  from: string;
  to: string;
  why: string;
}

/** The imports that run the wrong way, and why. Keep it short: move a shared helper down instead. */
const ALLOWED: readonly Allowed[] = [
  {
    from: 'src/rails/rules/self-protection.ts',
    to: 'src/config/schema.ts',
    why: 'policy-invalid and policy-loosened judge the policy file after a change by the config schema itself (the one source of a valid config); injecting it would change what evaluate() needs from its callers',
  },
  {
    from: 'src/propose/',
    to: 'src/reflect/types.ts',
    why: 'a proposer is given the reflection (ReflectionResult, goalsOf): the data the reflect stage hands to the propose stage',
  },
  {
    from: 'src/propose/prompt.ts',
    to: 'src/reflect/rank.ts',
    why: "the prompt lists the reflection's ranked goals (the Goal type)",
  },
];

/** A file of src/: its repository-relative POSIX path and its text. */
interface SourceFile {
  path: string;
  text: string;
}

interface Room {
  /** The folder or file of FLOORS. */
  room: string;
  floor: number;
}

function roomOf(path: string): Room | undefined {
  for (const [floor, rooms] of FLOORS.entries()) {
    for (const room of rooms) {
      if (room.endsWith('/') ? path.startsWith(room) : path === room) return { room, floor };
    }
  }
  return undefined;
}

function covers(pattern: string, path: string): boolean {
  return pattern.endsWith('/') ? path.startsWith(pattern) : path === pattern;
}

/**
 * The files `file` imports inside the repository, as repository-relative paths of their `.ts` source: every
 * relative specifier of an import or export declaration, a side-effect import or an `import(...)` call
 * (TypeScript's own scanner: specifiers in comments and strings do not count). Packages are not followed.
 */
function importsOf(file: SourceFile): string[] {
  const { importedFiles } = ts.preProcessFile(file.text, true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('./') || spec.startsWith('../'))
    .map((spec) => posix.normalize(posix.join(posix.dirname(file.path), spec)).replace(/\.js$/, '.ts'));
}

/**
 * Every import of `files` that goes up a floor, or sideways between two rooms of NO_SIDEWAYS_FLOOR, and is not
 * in `allowed`; plus every file that is in no room. One line each, sorted.
 */
function wrongWayImports(files: readonly SourceFile[], allowed: readonly Allowed[] = ALLOWED): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const from = roomOf(file.path);
    if (!from) {
      problems.push(`${file.path}: in no room (add it to FLOORS in __tests__/architecture.test.ts)`);
      continue;
    }
    for (const target of importsOf(file)) {
      const to = roomOf(target);
      if (!to || to.room === from.room) continue;
      const up = to.floor > from.floor;
      const sideways = to.floor === from.floor && from.floor === NO_SIDEWAYS_FLOOR;
      if (!up && !sideways) continue;
      if (allowed.some((a) => covers(a.from, file.path) && covers(a.to, target))) continue;
      const how = up ? 'up' : 'sideways';
      problems.push(
        `${file.path} -> ${target}: ${how} (${from.room}, floor ${from.floor} -> ${to.room}, floor ${to.floor})`,
      );
    }
  }
  return [...new Set(problems)].sort();
}

/** Every .ts file under src/, read from disk. */
function sourceFiles(): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) out.push({ path, text: readFileSync(join(ROOT, path), 'utf8') });
    }
  };
  walk('src');
  return out;
}

describe('architecture: the floors of src/', () => {
  const files = sourceFiles();

  it('reads the files of src/', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.map((f) => f.path)).toContain('src/run.ts');
  });

  it('has no import that goes up a floor or sideways between stages, beyond the allow-list', () => {
    expect(wrongWayImports(files)).toEqual([]);
  });

  it('keeps only allow-list entries that are still needed, each with a one-line reason', () => {
    for (const entry of ALLOWED) {
      expect(entry.why.trim()).not.toBe('');
      expect(entry.why).not.toContain('\n');
      const without = ALLOWED.filter((a) => a !== entry);
      expect({
        entry: `${entry.from} -> ${entry.to}`,
        needed: wrongWayImports(files, without).length > 0,
      }).toEqual({
        entry: `${entry.from} -> ${entry.to}`,
        needed: true,
      });
    }
  });

  it('catches planted wrong-way imports (guard: the checker is not blind)', () => {
    const planted: SourceFile[] = [
      // up: the pure rails reaching into the pipeline
      { path: 'src/rails/evil.ts', text: "import { runOnce } from '../run.js';\n" },
      // up, type-only, from the bottom floor
      {
        path: 'src/secrets.ts',
        text: "import type { Db } from './store/db.js';\nexport const MASK = '***';\n",
      },
      // sideways, dynamic, between two stages
      { path: 'src/report/evil.ts', text: "export const load = () => import('../propose/index.js');\n" },
      // sideways through a re-export
      { path: 'src/gates/evil.ts', text: "export { reflect } from '../reflect/index.js';\n" },
      // a file in no room
      { path: 'src/evil.ts', text: 'export const x = 1;\n' },
      // fine: down a floor, sideways below the stages, within a room, packages, and text that only looks like one
      {
        path: 'src/sandbox/fine.ts',
        text: [
          "import { GIT_REDIRECTING_VARIABLES } from '../git/exec.js';",
          "import type { RailsPolicy } from '../rails/types.js';",
          "import { runCommand } from './runner.js';",
          "import { z } from 'zod';",
          "// import { runOnce } from '../run.js';",
          'const s = "import(\'../cli.js\')";',
        ].join('\n'),
      },
      {
        path: 'src/cli.ts',
        text: "const run = await import('./run.js');\nimport { userError } from './errors.js';\n",
      },
      // allow-listed
      {
        path: 'src/rails/rules/self-protection.ts',
        text: "import { ConfigSchema } from '../../config/schema.js';\n",
      },
    ];
    expect(wrongWayImports(planted)).toEqual([
      'src/evil.ts: in no room (add it to FLOORS in __tests__/architecture.test.ts)',
      'src/gates/evil.ts -> src/reflect/index.ts: sideways (src/gates/, floor 2 -> src/reflect/, floor 2)',
      'src/rails/evil.ts -> src/run.ts: up (src/rails/, floor 0 -> src/run.ts, floor 3)',
      'src/report/evil.ts -> src/propose/index.ts: sideways (src/report/, floor 2 -> src/propose/, floor 2)',
      'src/secrets.ts -> src/store/db.ts: up (src/secrets.ts, floor 0 -> src/store/, floor 1)',
    ]);
    // Without its allow-list entry, the allowed import is reported too.
    expect(wrongWayImports(planted.slice(-1), [])).toEqual([
      'src/rails/rules/self-protection.ts -> src/config/schema.ts: up (src/rails/, floor 0 -> src/config/, floor 1)',
    ]);
  });
});
