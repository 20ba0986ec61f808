import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULES } from '../src/rails/evaluate.js';

const PAGE = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'rails.md');

/** Rows of the rule table: `| \`rule-id\` | what | setting |`, setting without backticks. */
function ruleRows(markdown: string): { id: string; setting: string }[] {
  const rows: { id: string; setting: string }[] = [];
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const id = /^`([a-z]+(?:-[a-z]+)+)`$/.exec(cells[1] ?? '');
    if (!line.startsWith('|') || !id || cells.length < 5) continue;
    rows.push({ id: id[1]!, setting: cells[3]!.replace(/`/g, '') });
  }
  return rows;
}

describe('docs/rails.md', () => {
  const rows = ruleRows(readFileSync(PAGE, 'utf8'));

  test('lists every rule id of RULES, and no other', () => {
    const documented = rows.map((r) => r.id);
    const coded = RULES.map((r) => r.id);
    expect(documented.filter((id) => !coded.includes(id))).toEqual([]);
    expect(coded.filter((id) => !documented.includes(id))).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });

  test('names the same setting as the code for each rule', () => {
    for (const rule of RULES) {
      expect({ id: rule.id, setting: rows.find((r) => r.id === rule.id)?.setting }).toEqual({
        id: rule.id,
        setting: rule.setting,
      });
    }
  });

  test('the parser sees the table (guards the test itself)', () => {
    expect(ruleRows('| `a-b` | x | `s.t` |\n| `c` | y | z |\n')).toEqual([{ id: 'a-b', setting: 's.t' }]);
  });
});
