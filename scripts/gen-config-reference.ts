/**
 * Writes the README's config reference, a markdown table of every key of the config file with its type,
 * default, limits (minimum, maximum, lengths, patterns, allowed values) and description, from the published
 * JSON Schema (generateConfigJsonSchema, itself from ConfigSchema in src/config/schema.ts), between the
 * markers `<!-- config-reference:start -->` and `<!-- config-reference:end -->` of README.md. So a limit or a
 * default cannot drift from the code. Run with `npm run docs` (`npm run schema` runs it too); `--check` only
 * compares and exits 1 when README.md is stale. A test (__tests__/config.reference.test.ts) compares too.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { generateConfigJsonSchema, REPO_ROOT } from './gen-schema.js';

/** The file holding the table, relative to the repository root. */
export const README_FILE = 'README.md';
export const START_MARKER = '<!-- config-reference:start -->';
export const END_MARKER = '<!-- config-reference:end -->';

/** A node of the JSON Schema (the subset zod's toJSONSchema writes). */
interface Node {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  propertyNames?: Node;
  items?: Node;
  anyOf?: Node[];
  oneOf?: Node[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
}

/** One row of the table. */
export interface ReferenceRow {
  key: string;
  type: string;
  default: string;
  limits: string;
  description: string;
}

const code = (text: string): string => `\`${text}\``;
/** Compact JSON with a space after each comma and colon: `["a", "b"]`, `{ "k": ["v"] }`. */
const json = (value: unknown): string =>
  (JSON.stringify(value, null, 1) ?? 'undefined')
    .replace(/\n\s*/g, ' ')
    .replace(/\[ /g, '[')
    .replace(/ \]/g, ']');

/** The type of a node as a reader writes it: `integer`, `string[]`, `boolean or string[]`, `object[]`. */
function typeOf(node: Node): string {
  if (node.const !== undefined) return json(node.const);
  const variants = node.anyOf ?? node.oneOf;
  if (variants) return [...new Set(variants.map(typeOf))].join(' or ');
  if (node.type === 'array') return `${node.items ? typeOf(node.items) : 'any'}[]`;
  if (node.type === 'object' && node.propertyNames?.enum && typeof node.additionalProperties === 'object') {
    return `{ ${node.propertyNames.enum.join(' / ')}: ${typeOf(node.additionalProperties)} }`;
  }
  if (Array.isArray(node.type)) return node.type.join(' or ');
  return node.type ?? 'any';
}

/** The limits of one node (its items' and variants' too), as short phrases. */
function limitsOf(node: Node, prefix = ''): string[] {
  const out: string[] = [];
  const p = (text: string): void => {
    out.push(`${prefix}${text}`);
  };
  if (node.minimum !== undefined && node.minimum !== Number.MIN_SAFE_INTEGER) p(`min ${node.minimum}`);
  if (node.exclusiveMinimum !== undefined) p(`> ${node.exclusiveMinimum}`);
  // zod's int() writes the safe-integer bounds: no limit a reader needs
  if (node.maximum !== undefined && node.maximum !== Number.MAX_SAFE_INTEGER) p(`max ${node.maximum}`);
  if (node.exclusiveMaximum !== undefined) p(`< ${node.exclusiveMaximum}`);
  if (node.minLength !== undefined) p(`length >= ${node.minLength}`);
  if (node.maxLength !== undefined) p(`length <= ${node.maxLength}`);
  if (node.minItems !== undefined) p(`at least ${node.minItems} items`);
  if (node.maxItems !== undefined) p(`at most ${node.maxItems} items`);
  if (node.pattern !== undefined) p(`pattern ${code(node.pattern)}`);
  if (node.format !== undefined) p(`format ${node.format}`);
  if (node.enum) p(`one of ${node.enum.map((v) => code(json(v))).join(', ')}`);
  if (node.items && !node.items.properties && !node.items.oneOf)
    out.push(...limitsOf(node.items, `${prefix}each: `));
  if (node.propertyNames?.enum) p(`keys: ${node.propertyNames.enum.map((v) => code(String(v))).join(', ')}`);
  if (typeof node.additionalProperties === 'object') {
    out.push(...limitsOf(node.additionalProperties, `${prefix}values: `));
  }
  for (const variant of node.anyOf ?? []) out.push(...limitsOf(variant, prefix));
  return out;
}

/** A cell's text: one line, `|` escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

/** The rows of `node` at `key` and below, depth first in the schema's order. */
function rowsOf(node: Node, key: string, required: boolean, out: ReferenceRow[]): void {
  const isObject = node.type === 'object' && node.properties !== undefined;
  const itemVariants = node.items?.oneOf;
  const itemObject = node.items?.properties !== undefined ? node.items : undefined;
  // a union with an object (sandbox: "none" or the object): the union's row, then the object's keys
  const objectVariant = node.anyOf?.find((v) => v.properties !== undefined);
  // a plain object with keys is described by its keys; its own row only when it says something
  if (!isObject || node.description !== undefined) {
    const limits = isObject ? [] : limitsOf(node);
    if (required) limits.unshift('required');
    out.push({
      key: code(key),
      type: isObject ? 'object' : typeOf(node),
      default: node.default === undefined || isObject ? '' : code(json(node.default)),
      limits: cell(limits.join('; ')),
      description: cell(node.description ?? itemObject?.description ?? ''),
    });
  }
  if (isObject) {
    for (const [name, child] of Object.entries(node.properties!)) {
      rowsOf(child, key === '' ? name : `${key}.${name}`, node.required?.includes(name) ?? false, out);
    }
  }
  if (objectVariant) {
    for (const [name, child] of Object.entries(objectVariant.properties!)) {
      rowsOf(child, `${key}.${name}`, objectVariant.required?.includes(name) ?? false, out);
    }
  }
  if (itemObject) {
    for (const [name, child] of Object.entries(itemObject.properties!)) {
      rowsOf(child, `${key}[].${name}`, itemObject.required?.includes(name) ?? false, out);
    }
  }
  for (const variant of itemVariants ?? []) {
    const kind = variant.properties?.kind?.const;
    const at = kind === undefined ? `${key}[]` : `${key}[kind=${String(kind)}]`;
    for (const [name, child] of Object.entries(variant.properties ?? {})) {
      if (name === 'kind') continue;
      rowsOf(child, `${at}.${name}`, variant.required?.includes(name) ?? false, out);
    }
  }
}

/** Every row of the config reference, from the published JSON Schema. */
export function configReferenceRows(): ReferenceRow[] {
  const schema = JSON.parse(generateConfigJsonSchema()) as Node;
  const out: ReferenceRow[] = [];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    if (name === '$schema') continue;
    rowsOf(child, name, schema.required?.includes(name) ?? false, out);
  }
  return out;
}

/** The table as markdown, formatted as prettier formats README.md. */
export async function generateConfigReference(root: string = REPO_ROOT): Promise<string> {
  const lines = [
    '| key | type | default | limits | description |',
    '| --- | --- | --- | --- | --- |',
    ...configReferenceRows().map(
      (r) => `| ${r.key} | ${r.type} | ${r.default} | ${r.limits} | ${r.description} |`,
    ),
  ];
  const options = (await resolveConfig(join(root, README_FILE))) ?? {};
  return format(`${lines.join('\n')}\n`, { ...options, parser: 'markdown' });
}

/** `readme` with the text between the markers replaced by `table`. */
export function replaceReference(readme: string, table: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < start) throw new Error(`${README_FILE} lacks ${START_MARKER} ... ${END_MARKER}`);
  return `${readme.slice(0, start + START_MARKER.length)}\n\n${table}\n${readme.slice(end)}`;
}

/** True when README.md's table equals a fresh generation. */
export async function isReferenceCurrent(root: string = REPO_ROOT): Promise<boolean> {
  const readme = readFileSync(join(root, README_FILE), 'utf8');
  return replaceReference(readme, await generateConfigReference(root)) === readme;
}

/** Writes the table into README.md under `root`; returns the file's absolute path. */
export async function writeConfigReference(root: string = REPO_ROOT): Promise<string> {
  const file = join(root, README_FILE);
  const readme = readFileSync(file, 'utf8');
  writeFileSync(file, replaceReference(readme, await generateConfigReference(root)));
  return file;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  if (process.argv.includes('--check')) {
    if (!(await isReferenceCurrent())) {
      console.error(`${README_FILE}'s config reference is stale: run \`npm run docs\` and commit the result`);
      process.exit(1);
    }
    console.log(`${README_FILE}'s config reference is current`);
  } else {
    console.log(`wrote ${await writeConfigReference()}`);
  }
}
