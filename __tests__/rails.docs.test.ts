import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULES } from '../src/rails/index.js';
import { DEFAULT_DEPENDENCY_PATHS, DEFAULT_RISK_RUBRIC, DEFAULT_TEST_PATHS } from '../src/rails/policy.js';

const PAGE = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'rails.md');

interface Row {
  id: string;
  setting: string;
  severity: string;
}

/**
 * Rows of the rule table: `| <a id="rule-id"></a>\`rule-id\` | what | setting | severity |`, setting without
 * backticks. The anchor is what SARIF help links (docs/rails.md#rule-id) land on; it must equal the id.
 */
function ruleRows(markdown: string): Row[] {
  const rows: Row[] = [];
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const id = /^<a id="([a-z-]+)"><\/a>`([a-z]+(?:-[a-z]+)+)`$/.exec(cells[1] ?? '');
    if (!line.startsWith('|') || !id || cells.length < 6) continue;
    if (id[1] !== id[2]) throw new Error(`anchor ${id[1]} does not match rule id ${id[2]}`);
    rows.push({ id: id[2]!, setting: cells[3]!.replace(/`/g, ''), severity: cells[4]! });
  }
  return rows;
}

describe('docs/rails.md', () => {
  const page = readFileSync(PAGE, 'utf8');
  const rows = ruleRows(page);

  test('lists every rule id of RULES, and no other, in the same order', () => {
    const documented = rows.map((r) => r.id);
    const coded = RULES.map((r) => r.id);
    expect(documented.filter((id) => !coded.includes(id))).toEqual([]);
    expect(coded.filter((id) => !documented.includes(id))).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
    expect(documented).toEqual(coded);
  });

  test('names the same setting and severity as the code for each rule', () => {
    for (const rule of RULES) {
      const row = rows.find((r) => r.id === rule.id);
      expect({ id: rule.id, setting: row?.setting, severity: row?.severity }).toEqual({
        id: rule.id,
        setting: rule.setting,
        severity: rule.severity,
      });
    }
  });

  test('documents every glob of the default rubric, test paths and dependency paths', () => {
    // the rubric's rows for tests and dependencies refer to those lists
    const rubric = DEFAULT_RISK_RUBRIC.paths
      .map((e) => e.glob)
      .filter((g) => !DEFAULT_DEPENDENCY_PATHS.includes(g));
    for (const glob of [...rubric, ...DEFAULT_TEST_PATHS]) {
      expect([glob, page.includes(`\`${glob}\``)]).toEqual([glob, true]);
    }
    for (const glob of DEFAULT_DEPENDENCY_PATHS) {
      const name = glob.replace(/^\*\*\//, '');
      expect([glob, page.includes(`\`${name}\``)]).toEqual([glob, true]);
    }
  });

  test('the parser sees the table (guards the test itself)', () => {
    expect(
      ruleRows(
        '| <a id="a-b"></a>`a-b` | x | `s.t` | block |\n| `c-d` | no anchor | z | w |\n| <a id="d-e"></a>`d-e` | x | y |\n',
      ),
    ).toEqual([{ id: 'a-b', setting: 's.t', severity: 'block' }]);
    expect(() => ruleRows('| <a id="a-b"></a>`a-c` | x | y | block |\n')).toThrow(/anchor a-b/);
  });
});
