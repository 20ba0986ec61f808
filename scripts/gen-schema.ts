/**
 * Writes schema/self-evolution-config.schema.json, the published JSON Schema of the config file, from
 * ConfigSchema (src/config/schema.ts, the single source). Run with `npm run schema`; `--check` only compares
 * and exits 1 when the committed file is stale. A test (__tests__/config.schema.test.ts) compares too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConfigSchema } from '../src/config/schema.js';

/** The repository root (this file lives in <root>/scripts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the schema is written, relative to the repository root. */
export const SCHEMA_FILE = 'schema/self-evolution-config.schema.json';

/**
 * The schema's `$id`. A URN, not a URL, until the project has a published home; editors find the schema
 * through the `$schema` key of the config file (a path or URL), not through `$id`.
 */
export const SCHEMA_ID = 'urn:self-evolution:config-schema:v1';

/**
 * The JSON Schema text (draft 2020-12) of the config file as a user writes it (`io: 'input'`: every key with a
 * default is optional), with `$id` and `title`, pretty-printed with 2 spaces and a trailing newline.
 */
export function generateConfigJsonSchema(): string {
  const generated = z.toJSONSchema(ConfigSchema, { io: 'input' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  const schema = { $schema, $id: SCHEMA_ID, title: 'Self-Evolution configuration', ...rest };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** True when `<root>/schema/self-evolution-config.schema.json` equals generateConfigJsonSchema(). */
export function isSchemaFileCurrent(root: string = REPO_ROOT): boolean {
  try {
    return readFileSync(join(root, SCHEMA_FILE), 'utf8') === generateConfigJsonSchema();
  } catch {
    return false;
  }
}

/** Writes the schema file under `root`; returns its absolute path. */
export function writeConfigJsonSchema(root: string = REPO_ROOT): string {
  const file = join(root, SCHEMA_FILE);
  writeFileSync(file, generateConfigJsonSchema());
  return file;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  if (process.argv.includes('--check')) {
    if (!isSchemaFileCurrent()) {
      console.error(`${SCHEMA_FILE} is stale: run \`npm run schema\` and commit the result`);
      process.exit(1);
    }
    console.log(`${SCHEMA_FILE} is current`);
  } else {
    console.log(`wrote ${writeConfigJsonSchema()}`);
  }
}
