import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateConfigJsonSchema, REPO_ROOT, SCHEMA_FILE, SCHEMA_ID } from '../scripts/gen-schema.js';

describe('schema/self-evolution-config.schema.json', () => {
  const committed = readFileSync(join(REPO_ROOT, SCHEMA_FILE), 'utf8');
  const schema = JSON.parse(committed) as {
    $id: string;
    title: string;
    additionalProperties: boolean;
    properties: Record<string, { default?: unknown; properties?: Record<string, { default?: unknown }> }>;
  };

  test('is current: run `npm run schema` and commit when this fails', () => {
    expect(committed).toBe(generateConfigJsonSchema());
  });

  test('has $id, title and a trailing newline, and is pretty-printed', () => {
    expect(schema.$id).toBe(SCHEMA_ID);
    expect(schema.title).toBe('Self-Evolution configuration');
    expect(committed.endsWith('}\n')).toBe(true);
    expect(committed.split('\n').length).toBeGreaterThan(50);
  });

  test('describes the input: strict objects with the seed defaults', () => {
    expect(schema.additionalProperties).toBe(false);
    const caps = schema.properties.safetyRails!.properties!.diffCaps as {
      properties: Record<string, { default?: unknown }>;
    };
    expect(caps.properties.maxLinesOfCode!.default).toBe(500);
    expect(caps.properties.maxFilesChanged!.default).toBe(10);
    expect(schema.properties.dryRunMode!.default).toBe(true);
    expect(schema.properties.$schema).toBeDefined();
  });
});
