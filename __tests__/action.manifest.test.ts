/**
 * action.yml says what the action reads and sets; src/action.ts is what it does. Every input the code reads is
 * declared (with a description), every declared input is read, and the same for outputs, so the two cannot drift
 * (as rails.docs.test.ts keeps docs/rails.md and the rules together).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..');
const manifest = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { description?: string; default?: unknown }>;
  outputs: Record<string, { description?: string }>;
  runs: { using: string; main: string };
};
const code = readFileSync(join(ROOT, 'src', 'action.ts'), 'utf8');

/** The first string argument of every call to one of `fns` in `text` (across line breaks). */
function namesCalled(text: string, fns: readonly string[]): string[] {
  const re = new RegExp(`\\b(?:${fns.join('|')})\\(\\s*'([^']+)'`, 'g');
  return [...new Set([...text.matchAll(re)].map((m) => m[1]!))].sort();
}

describe('action.yml and src/action.ts', () => {
  it('declares exactly the inputs the code reads, each with a description', () => {
    const read = namesCalled(code, ['getInput', 'getBooleanInput', 'booleanInput']);
    expect(read.length).toBeGreaterThan(5);
    expect(Object.keys(manifest.inputs).sort()).toEqual(read);
    for (const [name, input] of Object.entries(manifest.inputs)) {
      expect([name, (input.description ?? '').trim().length > 20]).toEqual([name, true]);
    }
  });

  it('declares exactly the outputs the code sets, each with a description', () => {
    const set = namesCalled(code, ['setOutput']);
    expect(set.length).toBeGreaterThan(5);
    expect(Object.keys(manifest.outputs).sort()).toEqual(set);
    for (const [name, output] of Object.entries(manifest.outputs)) {
      expect([name, (output.description ?? '').trim().length > 10]).toEqual([name, true]);
    }
  });

  it('runs the committed bundle on node24', () => {
    expect(manifest.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });

  it('the scan finds what it should (guards the test itself)', () => {
    expect(
      namesCalled("core.getInput('a'); core.setOutput(\n  'b',\n  x); booleanInput('c', false)", [
        'getInput',
        'setOutput',
        'booleanInput',
      ]),
    ).toEqual(['a', 'b', 'c']);
  });
});
