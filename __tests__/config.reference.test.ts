import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  configReferenceRows,
  END_MARKER,
  generateConfigReference,
  README_FILE,
  replaceReference,
  START_MARKER,
} from '../scripts/gen-config-reference.js';
import { REPO_ROOT } from '../scripts/gen-schema.js';

describe("README.md's config reference", () => {
  test('equals a fresh generation from the schema (run `npm run docs` when it does not)', async () => {
    const readme = readFileSync(join(REPO_ROOT, README_FILE), 'utf8');
    expect(readme).toContain(START_MARKER);
    expect(readme).toContain(END_MARKER);
    expect(replaceReference(readme, await generateConfigReference())).toBe(readme);
  });

  test('shows every default and limit, e.g. reflection.windowDays 30, min 1, max 365', () => {
    const rows = configReferenceRows();
    expect(rows.find((r) => r.key === '`reflection.windowDays`')).toMatchObject({
      type: 'integer',
      default: '`30`',
      limits: 'min 1; max 365',
    });
    expect(rows.find((r) => r.key === '`autoRevert.mode`')?.limits).toBe(
      'one of `"pr"`, `"shadow"`, `"off"`',
    );
    expect(rows.find((r) => r.key === '`reflection.checks[].name`')?.limits).toMatch(
      /^required; .*length <= 64/,
    );
    expect(rows.find((r) => r.key === '`proposers[kind=openai].temperature`')?.limits).toBe('min 0; max 2');
    expect(rows.find((r) => r.key === '`sandbox.mode`')?.default).toBe('`"auto"`');
    // zod's safe-integer bounds are no limit a reader needs
    expect(rows.filter((r) => r.limits.includes(String(Number.MAX_SAFE_INTEGER)))).toEqual([]);
  });

  test('no row lacks a description', () => {
    expect(configReferenceRows().filter((r) => r.description === '')).toEqual([]);
  });

  test('replaceReference needs both markers (guards the test itself)', () => {
    expect(replaceReference(`a\n${START_MARKER}\nold\n${END_MARKER}\nb`, 'T\n')).toBe(
      `a\n${START_MARKER}\n\nT\n\n${END_MARKER}\nb`,
    );
    expect(() => replaceReference('no markers', 'T\n')).toThrow(/lacks/);
  });
});
