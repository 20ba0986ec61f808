/**
 * A stateful fake of GitHub's REST API on 127.0.0.1 and a random port, checked against GitHub's own OpenAPI
 * description (@octokit/openapi, `generated/api.github.com.json`). For the integration tests of live mode,
 * which talk to it through the project's real client (src/github/client.ts), and for the live part of
 * `npm run demo` (scripts/demo-live.ts), where the CLI's own client talks to it.
 *
 * - Every request is matched to an operation of the description (method + path template). Its path and
 *   query parameters and its JSON body are validated against the operation's parameters and request body
 *   schema; every response the fake sends (injected errors included) is validated against the operation's
 *   response schema for that status. A mismatch, an unknown route or an operation the fake does not
 *   implement is recorded in `violations` and answered with an error (500, or 404 for a route), so a test
 *   that calls `assertNoViolations()` fails loudly instead of passing against a wrong fake or a wrong call.
 * - Git refs, branches and the Git Database API live in real bare repositories given at creation: reads
 *   run `git for-each-ref`/`cat-file` (a `git push` into the bare repository is visible through the API),
 *   writes run `git update-ref`, `hash-object -w`, `commit-tree` and friends, so the objects are real.
 * - Pull requests, issues, labels, comments, issue events (labeled/unlabeled), workflow dispatches and runs
 *   (with their earlier attempts), check runs and commit statuses, deployments and their statuses,
 *   collaborators are in-memory state the test can inspect and seed. Commit listings come from git.
 *
 * Stricter than GitHub on purpose: an unknown query parameter or top-level body property is a violation
 * (GitHub ignores them silently, which hides typos). As GitHub does: `GET .../pulls?head=branch` without the
 * `owner:` prefix ignores the filter; pull requests list as issues with a `pull_request` key; a label
 * added to an issue is created when missing; the `created` filter of the workflow runs listings takes the
 * search syntax for dates (`>=2026-01-01`, `a..b`), which the description's `format: date-time` would
 * refuse (a date-time alone is valid in both). Simplified: forks are not modelled (head is a branch of the
 * same repository); a protected branch refuses every ref write through the API (as a branch requiring pull
 * requests does); commits created through the API are `verified` (author: the actor, committer: GitHub),
 * others are not; the merge endpoint never merges (it answers 405 and is recorded): a test merges as a person
 * would with the `mergePull` control (git plumbing in the bare repository) and closes with a person's review
 * or comment with `closePull`; `mergeable` of an open pull request is git's test merge of its head into its
 * base (`git merge-tree --write-tree`, git 2.38 or later). An error status
 * the description does not document, or documents without a body, is checked against GitHub's generic
 * error shape `{ message, documentation_url? }`.
 *
 * The project's client spaces writes 1 s apart (@octokit/plugin-throttling's write limiter); tests with
 * many writes may use a client without the plugins for the set-up writes.
 *
 * The older __tests__/helpers/github-server.ts (unvalidated, answers empty lists) stays for the tests that
 * use it. Nothing leaves the loopback interface; the Authorization header is never stored.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ---------------------------------------------------------------------------------------------------------
// The OpenAPI description: loading, routing, validation
// ---------------------------------------------------------------------------------------------------------

/** The module specifier of the description the fake loads (GitHub's, for api.github.com; OpenAPI 3.0). */
export const OPENAPI_DESCRIPTION = '@octokit/openapi/generated/api.github.com.json';

/** Where the converted component schemas live inside Ajv (an id only; nothing is fetched). */
const COMPONENTS_ID = 'https://github-fake.invalid/components.json';

/** The generic error body GitHub answers with for statuses an operation does not document. */
const GENERIC_ERROR_SCHEMA = {
  type: 'object',
  required: ['message'],
  properties: { message: { type: 'string' }, documentation_url: { type: 'string' } },
};

type SchemaNode = Record<string, unknown>;

interface ParameterSpec {
  name: string;
  in: string;
  required: boolean;
  schema: SchemaNode;
  multiSegment: boolean;
}

interface ResponseSpec {
  /** JSON schema of the body (converted); undefined when the response has no body. */
  schema?: SchemaNode;
  /** The response has a non-JSON body only (not validated). */
  opaque: boolean;
}

interface OperationSpec {
  id: string;
  method: string;
  template: string;
  pattern: RegExp;
  pathParams: string[];
  literals: number;
  multi: number;
  parameters: ParameterSpec[];
  body?: { required: boolean; schema?: SchemaNode; properties?: string[] };
  responses: Map<string, ResponseSpec>;
}

interface Description {
  openapi: string;
  version: string;
  operations: OperationSpec[];
  ajv: Ajv;
  validators: Map<string, ValidateFunction>;
  loadMs: number;
  compileMs: number;
}

let loaded: Description | undefined;

/** Timings of the description (per test file: the module is loaded once per Jest module registry). */
export interface OpenApiStats {
  /** The module specifier of the file, OPENAPI_DESCRIPTION. */
  file: string;
  /** `openapi` field (e.g. "3.0.3") and `info.version` of the description. */
  openapi: string;
  version: string;
  /** Operations (method + path) in the description. */
  operations: number;
  /** Reading, parsing and converting the description, in ms. */
  loadMs: number;
  /** Compiling validators so far, in ms (lazily, once per operation part). */
  compileMs: number;
  /** Validators compiled so far. */
  validators: number;
}

/** Timings of loading the description and compiling validators; undefined before the first fake is created. */
export function openApiStats(): OpenApiStats | undefined {
  if (!loaded) return undefined;
  return {
    file: OPENAPI_DESCRIPTION,
    openapi: loaded.openapi,
    version: loaded.version,
    operations: loaded.operations.length,
    loadMs: Math.round(loaded.loadMs),
    compileMs: Math.round(loaded.compileMs),
    validators: loaded.validators.size,
  };
}

const isObject = (v: unknown): v is SchemaNode => typeof v === 'object' && v !== null && !Array.isArray(v);

function pointerToken(name: string): string {
  return encodeURIComponent(name.replaceAll('~', '~0').replaceAll('/', '~1'));
}

/**
 * An OpenAPI 3.0 schema as JSON Schema for Ajv: `nullable: true` becomes a union with null, `$ref`s to
 * component schemas point into the components schema added to Ajv, annotations Ajv does not know
 * (`example`, `x-*`, `discriminator`, ...) are dropped.
 */
function convertSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convertSchema);
  if (!isObject(node)) return node;
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (
      key === 'nullable' ||
      key === 'example' ||
      key === 'examples' ||
      key === 'discriminator' ||
      key === 'xml' ||
      key === 'externalDocs' ||
      key === 'deprecated' ||
      key.startsWith('x-')
    ) {
      continue;
    }
    if (key === '$ref' && typeof value === 'string') {
      const name = value.replace(/^#\/components\/schemas\//, '');
      if (name === value) throw new Error(`github-fake: unexpected $ref ${value}`);
      out.$ref = `${COMPONENTS_ID}#/$defs/${pointerToken(name)}`;
    } else if ((key === 'properties' || key === 'patternProperties') && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convertSchema(v)]));
    } else if (key === 'enum' || key === 'required' || key === 'default' || key === 'const') {
      out[key] = value;
    } else {
      out[key] = convertSchema(value);
    }
  }
  if (node.nullable !== true) return out;
  if (typeof out.type === 'string' && !out.allOf && !out.anyOf && !out.oneOf && !out.$ref) {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [{ type: 'null' }, out] };
}

/**
 * A date of GitHub's search syntax: `YYYY-MM-DD` or a date-time (`YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]`).
 * See {@link SEARCH_DATE_RANGE}.
 */
const SEARCH_DATE = String.raw`\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})?)?`;

/** A date qualifier of the search syntax: `>=D`, `>D`, `<=D`, `<D`, `D..D`, `D..*`, `*..D` or `D`. */
const SEARCH_DATE_RANGE = new RegExp(
  `^(?:(?:>=|<=|>|<)?${SEARCH_DATE}|${SEARCH_DATE}\\.\\.(?:${SEARCH_DATE}|\\*)|\\*\\.\\.${SEARCH_DATE})$`,
);

/**
 * The schema of a query parameter documented as `format: date-time` whose text says it takes the search
 * syntax for dates (the `created` filter of the workflow runs listings: GitHub answers
 * `created=>=2026-01-01`, the description's format would refuse it): a string matching SEARCH_DATE_RANGE.
 * Undefined for every other parameter.
 */
function searchDateSchema(p: SchemaNode): SchemaNode | undefined {
  const schema = isObject(p.schema) ? p.schema : {};
  if (p.in !== 'query' || schema.format !== 'date-time') return undefined;
  if (!/search syntax/i.test(typeof p.description === 'string' ? p.description : '')) return undefined;
  return { type: 'string', pattern: SEARCH_DATE_RANGE.source };
}

/**
 * Whether the ISO time `at` is within the search-syntax date qualifier `q` (see SEARCH_DATE_RANGE): a date
 * is the whole UTC day, a date-time the second it names; `*` is open.
 */
function inSearchDateRange(at: string, q: string): boolean {
  const t = Date.parse(at);
  const span = (d: string): [number, number] => {
    if (d === '*') return [-Infinity, Infinity];
    const start = Date.parse(d.length === 10 ? `${d}T00:00:00Z` : d);
    return [start, start + (d.length === 10 ? 86_400_000 : 1_000)];
  };
  const range = /^(.+)\.\.(.+)$/.exec(q);
  if (range) return t >= span(range[1])[0] && t < span(range[2])[1];
  const [, op = '', d] = /^(>=|<=|>|<)?(.+)$/.exec(q) ?? [];
  const [start, end] = span(d ?? '');
  if (op === '>=') return t >= start;
  if (op === '>') return t >= end;
  if (op === '<=') return t < end;
  if (op === '<') return t < start;
  return t >= start && t < end;
}

function templatePattern(template: string, multi: Set<string>): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  let source = '';
  for (const part of template.split(/(\{[^}]+\})/)) {
    const m = /^\{([^}]+)\}$/.exec(part);
    if (m) {
      names.push(m[1]);
      source += multi.has(m[1]) ? '(.+)' : '([^/]+)';
    } else {
      source += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return { pattern: new RegExp(`^${source}$`), names };
}

function loadDescription(): Description {
  if (loaded) return loaded;
  const started = performance.now();
  const file = createRequire(import.meta.url).resolve(OPENAPI_DESCRIPTION);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as {
    openapi: string;
    info: { version: string };
    paths: Record<string, Record<string, unknown>>;
    components: Record<string, Record<string, unknown>>;
  };
  const deref = (node: unknown): SchemaNode => {
    let cur = node;
    for (let i = 0; i < 10 && isObject(cur) && typeof cur.$ref === 'string'; i++) {
      const [, kind, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(cur.$ref) ?? [];
      cur = kind ? doc.components[kind]?.[name] : undefined;
    }
    if (!isObject(cur)) throw new Error('github-fake: unresolvable $ref in the OpenAPI description');
    return cur;
  };
  const defs = Object.fromEntries(
    Object.entries(doc.components.schemas).map(([name, schema]) => [name, convertSchema(schema)]),
  );
  const jsonSchemaOf = (content: unknown): ResponseSpec => {
    if (!isObject(content)) return { opaque: false };
    const key =
      'application/json' in content ? 'application/json' : Object.keys(content).find((k) => /json/.test(k));
    if (!key) return { opaque: Object.keys(content).length > 0 };
    const media = content[key];
    return isObject(media) && media.schema !== undefined
      ? { schema: convertSchema(media.schema) as SchemaNode, opaque: false }
      : { opaque: true };
  };
  const operations: OperationSpec[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of ['get', 'put', 'post', 'patch', 'delete', 'head']) {
      const op = item[method];
      if (!isObject(op)) continue;
      const own = Array.isArray(op.parameters) ? op.parameters : [];
      const byKey = new Map<string, ParameterSpec>();
      for (const raw of [...shared, ...own]) {
        const p = deref(raw);
        byKey.set(`${String(p.in)}:${String(p.name)}`, {
          name: String(p.name),
          in: String(p.in),
          required: p.required === true,
          schema: searchDateSchema(p) ?? (convertSchema(p.schema ?? {}) as SchemaNode),
          multiSegment: p['x-multi-segment'] === true,
        });
      }
      const parameters = [...byKey.values()];
      const multi = new Set(parameters.filter((p) => p.in === 'path' && p.multiSegment).map((p) => p.name));
      const { pattern, names } = templatePattern(template, multi);
      let body: OperationSpec['body'];
      if (op.requestBody !== undefined) {
        const rb = deref(op.requestBody);
        const content = isObject(rb.content) ? rb.content : {};
        const media = content['application/json'];
        const rawSchema = isObject(media) && media.schema !== undefined ? deref(media.schema) : undefined;
        body = {
          required: rb.required === true,
          schema: rawSchema ? (convertSchema(rawSchema) as SchemaNode) : undefined,
          properties:
            rawSchema &&
            isObject(rawSchema.properties) &&
            rawSchema.additionalProperties === undefined &&
            !rawSchema.oneOf &&
            !rawSchema.anyOf &&
            !rawSchema.allOf
              ? Object.keys(rawSchema.properties)
              : undefined,
        };
      }
      const responses = new Map<string, ResponseSpec>();
      for (const [status, raw] of Object.entries(isObject(op.responses) ? op.responses : {})) {
        responses.set(status, jsonSchemaOf(deref(raw).content));
      }
      const segments = template.split('/').filter(Boolean);
      operations.push({
        id: String(op.operationId),
        method: method.toUpperCase(),
        template,
        pattern,
        pathParams: names,
        literals: segments.filter((s) => !s.includes('{')).length,
        multi: multi.size,
        parameters,
        body,
        responses,
      });
    }
  }
  operations.sort(
    (a, b) => b.literals - a.literals || a.multi - b.multi || b.template.length - a.template.length,
  );
  const ajv = new Ajv({ strict: false, allErrors: true, allowUnionTypes: true, validateSchema: false });
  addFormatsModule.default(ajv);
  ajv.addFormat('repo.nwo', /^[^/]+\/[^/]+$/);
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: defs });
  loaded = {
    openapi: doc.openapi,
    version: doc.info.version,
    operations,
    ajv,
    validators: new Map(),
    loadMs: performance.now() - started,
    compileMs: 0,
  };
  return loaded;
}

function validatorFor(d: Description, key: string, schema: SchemaNode): ValidateFunction {
  let v = d.validators.get(key);
  if (!v) {
    const started = performance.now();
    v = d.ajv.compile(schema);
    d.compileMs += performance.now() - started;
    d.validators.set(key, v);
  }
  return v;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : e.keyword === 'enum'
          ? ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`
          : '';
    seen.add(`${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`);
    if (seen.size >= 8) break;
  }
  return [...seen].join('; ');
}

/** Coerces a query or path value (always text on the wire) to the type its schema asks for. */
function coerceParam(schema: SchemaNode, values: string[]): unknown {
  const types = new Set<string>();
  const collect = (s: unknown): void => {
    if (!isObject(s)) return;
    if (typeof s.type === 'string') types.add(s.type);
    if (Array.isArray(s.type)) for (const t of s.type) types.add(String(t));
    for (const k of ['oneOf', 'anyOf', 'allOf'])
      if (Array.isArray(s[k])) (s[k] as unknown[]).forEach(collect);
  };
  collect(schema);
  const one = (text: string): unknown => {
    if ((types.has('integer') || types.has('number')) && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    if (types.has('boolean') && (text === 'true' || text === 'false')) return text === 'true';
    return text;
  };
  if (types.has('array')) {
    const items = isObject(schema.items) ? schema.items : {};
    return values.map((v) => coerceParam(items, [v]));
  }
  return one(values[values.length - 1] ?? '');
}

interface MatchedOperation {
  op: OperationSpec;
  params: Record<string, string>;
}

function matchOperation(d: Description, method: string, rawPath: string): MatchedOperation | undefined {
  for (const op of d.operations) {
    if (op.method !== method) continue;
    const m = op.pattern.exec(rawPath);
    if (!m) continue;
    const params: Record<string, string> = {};
    op.pathParams.forEach((name, i) => {
      try {
        params[name] = decodeURIComponent(m[i + 1]);
      } catch {
        params[name] = m[i + 1];
      }
    });
    return { op, params };
  }
  return undefined;
}

/** Problems of a request against its operation (empty when it conforms). */
function requestProblems(
  d: Description,
  op: OperationSpec,
  params: Record<string, string>,
  query: URLSearchParams,
  body: unknown,
  hasBody: boolean,
): string[] {
  const problems: string[] = [];
  const check = (where: string, schema: SchemaNode, value: unknown) => {
    const v = validatorFor(d, `${op.id} ${where}`, schema);
    if (!v(value)) problems.push(`${op.id}: request ${where}: ${describeErrors(v.errors)}`);
  };
  const declared = new Set<string>();
  for (const p of op.parameters) {
    if (p.in === 'path') {
      check(`path parameter ${p.name}`, p.schema, coerceParam(p.schema, [params[p.name] ?? '']));
    } else if (p.in === 'query') {
      declared.add(p.name);
      const values = query.getAll(p.name);
      if (values.length === 0) {
        if (p.required) problems.push(`${op.id}: request query: missing required parameter ${p.name}`);
        continue;
      }
      check(`query parameter ${p.name}`, p.schema, coerceParam(p.schema, values));
    }
  }
  for (const key of new Set(query.keys())) {
    if (!declared.has(key)) problems.push(`${op.id}: request query: unknown parameter ${key}`);
  }
  if (!op.body) {
    if (hasBody) problems.push(`${op.id}: request body: the operation takes no request body`);
  } else if (!hasBody) {
    if (op.body.required) problems.push(`${op.id}: request body: required but missing`);
  } else {
    if (op.body.schema) check('body', op.body.schema, body);
    if (op.body.properties && isObject(body)) {
      const known = new Set(op.body.properties);
      for (const key of Object.keys(body)) {
        if (!known.has(key)) problems.push(`${op.id}: request body: unknown property ${key}`);
      }
    }
  }
  return problems;
}

/** Problems of a response against its operation (empty when it conforms). */
function responseProblems(d: Description, op: OperationSpec, status: number, body: unknown): string[] {
  const spec =
    op.responses.get(String(status)) ??
    op.responses.get(`${String(status)[0]}XX`) ??
    op.responses.get('default');
  const where = `response ${status}`;
  const generic = (): string[] => {
    const v = validatorFor(d, 'generic error', GENERIC_ERROR_SCHEMA);
    return v(body) ? [] : [`${op.id}: ${where} (generic error shape): ${describeErrors(v.errors)}`];
  };
  if (!spec) {
    if (status < 400) return [`${op.id}: ${where}: status ${status} is not a documented response`];
    return generic();
  }
  if (spec.opaque) return [];
  if (!spec.schema) {
    if (body === undefined) return [];
    // An error documented without a body (e.g. pulls/request-reviewers 422): GitHub still sends its
    // generic error JSON.
    if (status >= 400) return generic();
    return [`${op.id}: ${where}: the description says no body, the fake sent one`];
  }
  if (body === undefined) return [`${op.id}: ${where}: the description has a body, the fake sent none`];
  const v = validatorFor(d, `${op.id} ${where}`, spec.schema);
  return v(body) ? [] : [`${op.id}: ${where} body: ${describeErrors(v.errors)}`];
}

// ---------------------------------------------------------------------------------------------------------
// Git plumbing on the bare repositories
// ---------------------------------------------------------------------------------------------------------

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

const GIT_ENV_DROPPED = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_NAMESPACE',
];

function runGit(
  bareDir: string,
  args: string[],
  options: { input?: string | Buffer; env?: Record<string, string> } = {},
): Promise<GitResult> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of GIT_ENV_DROPPED) delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['--git-dir', bareDir, ...args], {
      env: { ...env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0', ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? 1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // git may exit before reading everything; its status tells
      child.stdin.end(options.input);
    }
  });
}

async function gitOk(
  bareDir: string,
  args: string[],
  options?: { input?: string | Buffer; env?: Record<string, string> },
): Promise<string> {
  const r = await runGit(bareDir, args, options);
  if (r.code !== 0) throw new Error(`github-fake: git ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout.replace(/\n$/, '');
}

interface RefEntry {
  ref: string;
  sha: string;
  type: string;
}

async function listRefs(bareDir: string): Promise<RefEntry[]> {
  const out = await gitOk(bareDir, ['for-each-ref', '--format=%(refname)%00%(objectname)%00%(objecttype)']);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [ref, sha, type] = line.split('\0');
      return { ref, sha, type };
    });
}

async function objectType(bareDir: string, sha: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{4,64}$/i.test(sha)) return undefined;
  const r = await runGit(bareDir, ['cat-file', '-t', sha]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function isAncestor(bareDir: string, ancestor: string, descendant: string): Promise<boolean> {
  return (await runGit(bareDir, ['merge-base', '--is-ancestor', ancestor, descendant])).code === 0;
}

interface GitPerson {
  name: string;
  email: string;
  date: string;
}

interface ParsedCommit {
  sha: string;
  tree: string;
  parents: string[];
  author: GitPerson;
  committer: GitPerson;
  message: string;
  raw: string;
}

function parsePerson(text: string): GitPerson {
  const m = /^(.*) <([^>]*)> (\d+) ([+-]\d{4})$/.exec(text);
  if (!m) return { name: text, email: '', date: isoSeconds(new Date(0)) };
  return { name: m[1], email: m[2], date: isoSeconds(new Date(Number(m[3]) * 1000)) };
}

async function readCommit(bareDir: string, sha: string): Promise<ParsedCommit | undefined> {
  if ((await objectType(bareDir, sha)) !== 'commit') return undefined;
  const full = await gitOk(bareDir, ['rev-parse', `${sha}^{commit}`]);
  const raw = (await runGit(bareDir, ['cat-file', 'commit', full])).stdout;
  const split = raw.indexOf('\n\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const message = split < 0 ? '' : raw.slice(split + 2);
  const parsed: ParsedCommit = {
    sha: full,
    tree: '',
    parents: [],
    author: parsePerson(''),
    committer: parsePerson(''),
    message,
    raw,
  };
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) continue; // continuation of a multi-line header (gpgsig)
    const space = line.indexOf(' ');
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    if (key === 'tree') parsed.tree = value;
    else if (key === 'parent') parsed.parents.push(value);
    else if (key === 'author') parsed.author = parsePerson(value);
    else if (key === 'committer') parsed.committer = parsePerson(value);
  }
  return parsed;
}

// ---------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------

/** A permission as GitHub's `permission` field reports it (maintain reads as write, triage as read). */
/**
 * A collaborator's role. The permission call answers GitHub's legacy `permission` (maintain reads as write,
 * triage as read) and the role itself as `role_name`.
 */
export type CollaboratorPermission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

/** A repository the fake serves. */
export interface FakeRepositoryOptions {
  owner: string;
  repo: string;
  /** Absolute path of a bare git repository: the source of truth for refs, branches and git objects. */
  bareDir: string;
  /** `default_branch` of the repository (the branch need not exist yet). */
  defaultBranch: string;
  /** Branch names (exact) reported as protected; the fake refuses every ref write and delete on them. */
  protectedBranches?: string[];
  /**
   * Contexts required on the default branch: served as a ruleset's `required_status_checks` rule for it
   * (`GET .../rules/branches/{branch}`), and as branch protection's required status checks when the default
   * branch is also in protectedBranches. Default none.
   */
  requiredStatusChecks?: string[];
  /** `private` of the repository (default true). */
  private?: boolean;
  /**
   * Workflow file names (e.g. `self-evolution.yml`) that can be dispatched. Default: the files under
   * `.github/workflows/` on the default branch of the bare repository, read at each request.
   */
  workflows?: string[];
}

/** Options of createGitHubFake. */
export interface GitHubFakeOptions {
  repositories: FakeRepositoryOptions[];
  /**
   * Collaborators of every served repository: login → permission. Merged over the defaults: each
   * repository owner 'admin', the actor 'write'.
   */
  collaborators?: Record<string, CollaboratorPermission>;
  /** The login the token belongs to: author of pull requests, comments and API commits (default github-actions[bot]). */
  actor?: string;
}

/** A pull request of the fake (mutable; the number space is shared with issues, per repository). */
export interface FakePull {
  owner: string;
  repo: string;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  draft: boolean;
  /** Head branch name (same repository; forks are not modelled). */
  head: string;
  /** Base branch name. */
  base: string;
  /** Head commit: follows the branch tip while the branch exists, else the last one seen. */
  headSha: string;
  /** Login of the author. */
  user: string;
  requestedReviewers: string[];
  /** Label names. */
  labels: string[];
  /**
   * False unless a test merged it with the `mergePull` control: the API's merge endpoint never merges (see
   * `merges`).
   */
  merged: boolean;
  /** ISO 8601 timestamps (seconds, Z). */
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** Login that closed it (the `closed_by` of `GET .../issues/{n}`); null or absent while open or unknown. */
  closedBy?: string | null;
  /** When and by whom `mergePull` merged it, and the commit the merge made on the base branch. */
  mergedAt?: string | null;
  mergedBy?: string | null;
  mergeCommitSha?: string | null;
}

/** A review of a pull request (`GET .../pulls/{n}/reviews`), added by the `closePull` control. */
export interface FakeReview {
  owner: string;
  repo: string;
  pullNumber: number;
  id: number;
  /** Login of the reviewer. */
  user: string;
  body: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED';
  /** The head commit the review was made on. */
  commitId: string;
  /** ISO 8601 (seconds, Z). */
  submittedAt: string;
}

/** How the `mergePull` control merges: a merge commit with two parents, or one squashed commit on the base. */
export type FakeMergeMethod = 'merge' | 'squash';

/** A plain issue of the fake. */
export interface FakeIssue {
  owner: string;
  repo: string;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  labels: string[];
  user: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** Login that closed it; null or absent while open or unknown. */
  closedBy?: string | null;
}

/** A repository label. */
export interface FakeLabel {
  owner: string;
  repo: string;
  id: number;
  name: string;
  /** Six hex digits, no '#'. */
  color: string;
  description: string | null;
}

/** A comment on an issue or pull request. */
export interface FakeComment {
  owner: string;
  repo: string;
  issueNumber: number;
  id: number;
  body: string;
  user: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * A `labeled` or `unlabeled` event of an issue or pull request (`GET .../issues/{n}/events`, oldest first):
 * recorded when labels are added or replaced through the API (actor: the token's login), when an issue or pull
 * request is seeded with labels (actor: its author), and by the `labelIssue` control (actor: the person).
 */
export interface FakeIssueEvent {
  owner: string;
  repo: string;
  issueNumber: number;
  id: number;
  event: 'labeled' | 'unlabeled';
  /** The label's name. */
  label: string;
  /** Login of who added or removed it. */
  actor: string;
  /** ISO 8601 (seconds, Z). */
  createdAt: string;
}

/** A workflow dispatch the fake accepted. */
export interface FakeDispatch {
  owner: string;
  repo: string;
  /** Workflow file name, e.g. `self-evolution.yml`. */
  workflow: string;
  ref: string;
  inputs: Record<string, unknown>;
  /** The queued run it created (see `runs`). */
  runId: number;
}

/** A workflow run (dispatched ones start as queued; a test may change `status`/`conclusion`). */
export interface FakeRun {
  owner: string;
  repo: string;
  id: number;
  workflow: string;
  runNumber: number;
  event: string;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
  conclusion: string | null;
  headBranch: string | null;
  headSha: string;
  actor: string;
  displayTitle: string;
  createdAt: string;
  updatedAt: string;
  /**
   * Earlier attempts of this run, oldest first (a rerun keeps the run's id): `run_attempt` is their count + 1,
   * and `GET .../actions/runs/{id}/attempts/{n}` answers each. Absent: the run has one attempt.
   */
  attempts?: Pick<FakeRun, 'status' | 'conclusion' | 'createdAt' | 'updatedAt'>[];
}

/** A check run on a commit (`GET .../commits/{ref}/check-runs`); a rerun is a new check run with the same name. */
export interface FakeCheckRun {
  owner: string;
  repo: string;
  id: number;
  /** The commit it ran on. */
  headSha: string;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  /** success, failure, neutral, cancelled, skipped, timed_out, action_required; null until completed. */
  conclusion: string | null;
  /** ISO 8601 (seconds, Z). */
  startedAt: string;
  completedAt: string | null;
}

/** A commit status (`GET .../commits/{ref}/statuses`, newest first); each update of a context is a new one. */
export interface FakeCommitStatus {
  owner: string;
  repo: string;
  id: number;
  sha: string;
  context: string;
  state: 'error' | 'failure' | 'pending' | 'success';
  targetUrl: string | null;
  description: string | null;
  /** ISO 8601 (seconds, Z). */
  createdAt: string;
}

/** A status of a deployment (newest last in `statuses`; the API lists them newest first). */
export interface FakeDeploymentStatus {
  id: number;
  /** error | failure | inactive | pending | success | queued | in_progress. */
  state: 'error' | 'failure' | 'inactive' | 'pending' | 'success' | 'queued' | 'in_progress';
  description: string;
  /** Login of the creator. */
  creator: string;
  createdAt: string;
  updatedAt: string;
}

/** A deployment (seeded by a test: the fake has no endpoint that creates one). */
export interface FakeDeployment {
  owner: string;
  repo: string;
  id: number;
  /** Commit deployed. */
  sha: string;
  /** The ref asked for (branch, tag or sha). */
  ref: string;
  task: string;
  environment: string;
  description: string | null;
  /** Login of the creator. */
  creator: string;
  createdAt: string;
  updatedAt: string;
  /** Oldest first; the last one is the deployment's latest status. */
  statuses: FakeDeploymentStatus[];
}

/** A ref write asked for through the API, accepted or not. */
export interface FakeRefWrite {
  owner: string;
  repo: string;
  action: 'create' | 'update' | 'delete';
  /** Full ref name, e.g. `refs/heads/x`. */
  ref: string;
  /** New object id (null for a delete). */
  sha: string | null;
  /** `force: true` was asked for (an update). */
  force: boolean;
  /** HTTP status the fake answered. */
  status: number;
}

/** A call of the merge endpoint (always answered 405; recorded so a test can assert there was none). */
export interface FakeMergeAttempt {
  owner: string;
  repo: string;
  number: number;
  body: unknown;
}

/** A request the fake received. */
export interface FakeRequest {
  method: string;
  /** Path without the query, as sent (percent-encoding kept). */
  path: string;
  /** Query parameters (the last value of a repeated one). */
  query: Record<string, string>;
  /** Parsed JSON body (undefined when empty). */
  body: unknown;
  /** Request headers, lower-case, without `authorization`. */
  headers: Record<string, string>;
  /** An Authorization header was sent (its text is never stored). */
  authorized: boolean;
  /** operationId of the matched operation; null for an unknown route. */
  operationId: string | null;
  /** Status the fake answered. */
  status: number;
}

/** An error to answer instead of the next matching request(s). */
export interface FailSpec {
  /** HTTP method (any when unset). */
  method?: string;
  /** Exact path (decoded, without query) or a pattern tested against it. */
  path: RegExp | string;
  status: number;
  /** JSON body; default `{ message, documentation_url }` with a message for the status. */
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests fail (default 1). */
  times?: number;
}

/**
 * A running fake. The arrays and the map are the live state: inspect them, push to them, change their
 * elements between calls (never replace them: the properties are read-only references). Pull requests and
 * issues of all served repositories share the arrays (each element names its owner/repo).
 */
export interface GitHubFake {
  /** e.g. `http://127.0.0.1:40123` (the client's baseUrl). */
  readonly url: string;
  /** Every request, in arrival order (requests are handled one at a time). */
  readonly requests: FakeRequest[];
  /**
   * Mismatches with the OpenAPI description ("<operationId>: request|response <where>: <ajv message>"),
   * unknown routes, operations the fake does not implement, and internal failures of the fake.
   */
  readonly violations: string[];
  readonly pulls: FakePull[];
  /** Plain issues (pull requests are listed as issues from `pulls`). */
  readonly issues: FakeIssue[];
  readonly labels: FakeLabel[];
  readonly comments: FakeComment[];
  /** Reviews of pull requests (listed by `GET .../pulls/{n}/reviews`, oldest first). */
  readonly reviews: FakeReview[];
  /** Labeled/unlabeled events of issues and pull requests, oldest first (see FakeIssueEvent). */
  readonly issueEvents: FakeIssueEvent[];
  readonly dispatches: FakeDispatch[];
  /** Workflow runs listed by the runs endpoints (a dispatch adds a queued one). */
  readonly runs: FakeRun[];
  /** Check runs listed by `GET .../commits/{ref}/check-runs` (seed with seedCheckRun or push). */
  readonly checkRuns: FakeCheckRun[];
  /** Commit statuses listed by `GET .../commits/{ref}/statuses` (seed with seedCommitStatus or push). */
  readonly commitStatuses: FakeCommitStatus[];
  /** Deployments listed by the deployments endpoints (newest first), with their statuses. */
  readonly deployments: FakeDeployment[];
  /** login → permission, for every served repository (a missing login is an unknown user: 404). */
  readonly collaborators: Map<string, CollaboratorPermission>;
  /** Ref creations, updates (force or not) and deletions asked for through the API. */
  readonly refWrites: FakeRefWrite[];
  /** Calls of `PUT .../pulls/{n}/merge`. */
  readonly merges: FakeMergeAttempt[];
  /**
   * Adds a pull request to the state (e.g. a closed one from an earlier run). `owner`/`repo` default to
   * the first repository, `base` to its default branch, `headSha` to the head branch tip (or 40 zeros when
   * the branch does not exist). @throws Error when the repository is not served.
   */
  seedPull(init: Partial<FakePull> & { head: string }): Promise<FakePull>;
  /**
   * TEST CONTROL (no API call does this): merges open pull request `number` as a person would on GitHub, in
   * the bare repository with git plumbing: `git merge-tree --write-tree` of the base branch tip and the head
   * (git 2.38 or later), then `method` 'merge' commits that tree with two parents (base tip, head) and message
   * "Merge pull request #n from owner/head", 'squash' with the base tip as its only parent and message
   * "<title> (#n)"; the author is `by`, the committer GitHub; the base branch is moved to it (compare-and-swap
   * on the old tip). The pull request becomes closed and merged (merged_at, merged_by, merge_commit_sha,
   * closed_by `by`). Not recorded in `merges` (which holds the project's calls of the merge endpoint).
   * `owner`/`repo` default to the first repository.
   * @returns the commit the merge made on the base branch
   * @throws Error when the repository is not served, the pull request is unknown or not open, the base branch
   *   is missing, or head and base conflict
   */
  mergePull(
    number: number,
    how: { by: string; method: FakeMergeMethod; owner?: string; repo?: string },
  ): Promise<string>;
  /**
   * TEST CONTROL: `by` closes open pull request `number` without merging it, after leaving `review` (a review
   * on the head commit, state default CHANGES_REQUESTED) and/or `comment` (an issue comment), in that order.
   * The pull request's closed_at is now and its closed_by `by`. `owner`/`repo` default to the first repository.
   * @throws Error when the repository is not served, or the pull request is unknown or not open
   */
  closePull(
    number: number,
    how: {
      by: string;
      review?: { body: string; state?: FakeReview['state'] };
      comment?: string;
      owner?: string;
      repo?: string;
    },
  ): Promise<void>;
  /**
   * Adds a plain issue (number allocated like GitHub's, shared with pull requests); each of its labels gets a
   * `labeled` event by its author.
   */
  seedIssue(init: Partial<FakeIssue> & { title: string }): FakeIssue;
  /**
   * TEST CONTROL: `by` adds `label` to issue or pull request `number` as a person would in the web interface:
   * the label is created when missing, and a `labeled` event by `by` is recorded (also when it was already on,
   * as GitHub records a new application). `owner`/`repo` default to the first repository.
   * @throws Error when the repository is not served or the number is unknown
   */
  labelIssue(number: number, label: string, how: { by: string; owner?: string; repo?: string }): void;
  /**
   * TEST CONTROL: `by` closes open issue `number` (closed_at now, closed_by `by`). `owner`/`repo` default to the
   * first repository.
   * @throws Error when the repository is not served, or the issue is unknown or not open
   */
  closeIssue(number: number, how: { by: string; owner?: string; repo?: string }): void;
  /**
   * Adds a deployment of `ref` with the given statuses (oldest first; none: a deployment whose deployer has
   * posted no status yet). `owner`/`repo` default to the first repository, `sha` to the tip of the branch
   * `ref` (else `ref` itself when it is 40 hex digits, else 40 zeros), `environment` to production, `task` to
   * deploy, the creator to the actor. @throws Error when the repository is not served.
   */
  seedDeployment(
    init: Partial<Omit<FakeDeployment, 'statuses'>> & {
      ref: string;
      statuses?: (Partial<FakeDeploymentStatus> & Pick<FakeDeploymentStatus, 'state'>)[];
    },
  ): Promise<FakeDeployment>;
  /**
   * Adds a check run on commit `headSha` (status 'completed' when a conclusion is given, else 'in_progress';
   * startedAt now, completedAt = startedAt when completed). `owner`/`repo` default to the first repository.
   * @throws Error when the repository is not served
   */
  seedCheckRun(init: Partial<FakeCheckRun> & Pick<FakeCheckRun, 'headSha' | 'name'>): FakeCheckRun;
  /**
   * Adds a commit status of `context` on `sha` (createdAt now). `owner`/`repo` default to the first repository.
   * @throws Error when the repository is not served
   */
  seedCommitStatus(
    init: Partial<FakeCommitStatus> & Pick<FakeCommitStatus, 'sha' | 'context' | 'state'>,
  ): FakeCommitStatus;
  /** Answers the next `times` requests matching method and path with an error (validated as well). */
  failNext(spec: FailSpec): void;
  /**
   * Holds the next request matching method and path before it is handled (the fake answers nothing, and no
   * later request, until `release()`): `arrived` resolves when it came. A test hook to kill a client while it
   * waits (SIGKILL between a push and its pull request).
   */
  holdNext(spec: Pick<FailSpec, 'method' | 'path'>): { arrived: Promise<void>; release(): void };
  /**
   * Passes the next response body the fake produces (not an injected failure) through `fn` before it is
   * validated and sent: a test hook to prove broken responses are caught.
   */
  corruptNextResponse(fn: (body: unknown, status: number) => unknown): void;
  /** @throws Error listing every violation, when there is any. */
  assertNoViolations(): void;
  /** Stops the server (open connections are closed). The bare repositories are left as they are. */
  close(): Promise<void>;
}

/**
 * GitHub's secondary rate limit as a failNext spec part: 403, `retry-after: <seconds>`, the message the
 * throttling plugin recognizes.
 */
export function secondaryRateLimit(retryAfterSeconds = 1): Pick<FailSpec, 'status' | 'body' | 'headers'> {
  return {
    status: 403,
    headers: { 'retry-after': String(retryAfterSeconds) },
    body: {
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
      documentation_url:
        'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      status: '403',
    },
  };
}

/**
 * GitHub's primary rate limit as a failNext spec part: 403 (or 429), `x-ratelimit-remaining: 0` and
 * `x-ratelimit-reset` `resetInSeconds` from now (epoch seconds).
 */
export function primaryRateLimit(
  status: 403 | 429 = 403,
  resetInSeconds = 1,
): Pick<FailSpec, 'status' | 'body' | 'headers'> {
  return {
    status,
    headers: {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-used': '5000',
      'x-ratelimit-resource': 'core',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + resetInSeconds),
    },
    body: {
      message: 'API rate limit exceeded for installation ID 1.',
      documentation_url:
        'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits',
      status: String(status),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Response builders (GitHub's shapes; every required property of the description filled)
// ---------------------------------------------------------------------------------------------------------

const DOCS = 'https://docs.github.com/rest';
const EPOCH = '2024-01-01T00:00:00Z';

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const now = (): string => isoSeconds(new Date());

function numericId(text: string): number {
  return (createHash('sha1').update(text).digest().readUInt32BE(0) % 90_000_000) + 1_000;
}

function nodeId(kind: string, id: number | string): string {
  return Buffer.from(`${kind}:${id}`).toString('base64').replace(/=+$/, '');
}

function simpleUser(login: string): Record<string, unknown> {
  const id = numericId(`user:${login}`);
  const api = `https://api.github.com/users/${encodeURIComponent(login)}`;
  return {
    login,
    id,
    node_id: nodeId('U', id),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url: api,
    html_url: `https://github.com/${encodeURIComponent(login)}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: login.endsWith('[bot]') ? 'Bot' : 'User',
    user_view_type: 'public',
    site_admin: false,
  };
}

/** A plausible e-mail for the description's `format: email` fields (git allows anything, e.g. `t@t`). */
function plausibleEmail(email: string, name: string): string {
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)
    ? email
    : `${name.replace(/[^A-Za-z0-9]+/g, '-') || 'someone'}@users.noreply.github.com`;
}

const labelColor = (name: string): string => createHash('sha1').update(name).digest('hex').slice(0, 6);

// ---------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------

interface RepoState extends FakeRepositoryOptions {
  id: number;
  index: number;
  createdAt: string;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Context {
  op: OperationSpec;
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  rawBody: unknown;
  repo: RepoState;
  pathname: string;
}

class HttpError extends Error {
  constructor(readonly reply: Reply) {
    super(`HTTP ${reply.status}`);
  }
}

const errorBody = (status: number, message: string, extra: Record<string, unknown> = {}) => ({
  message,
  documentation_url: DOCS,
  status: String(status),
  ...extra,
});

const notFound = (message = 'Not Found'): HttpError =>
  new HttpError({ status: 404, body: errorBody(404, message) });

const unprocessable = (message: string, errors?: Record<string, unknown>[]): HttpError =>
  new HttpError({ status: 422, body: errorBody(422, message, errors ? { errors } : {}) });

const DEFAULT_MESSAGES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Requires authentication',
  403: 'Resource not accessible by integration',
  404: 'Not Found',
  409: 'Conflict',
  422: 'Validation Failed',
  500: 'Server Error',
  502: 'Server Error',
  503: 'Service Unavailable',
};

/**
 * Starts the fake on 127.0.0.1 and a random port. The OpenAPI description is read, parsed and converted on
 * first use in a test file (about 0.3 s); validators are compiled lazily per operation part and cached for
 * the file (about 1 s for everything a full test file touches).
 *
 * What answers what, beyond the OpenAPI checks: requests are handled one at a time; a write (non-GET)
 * without an Authorization header is 401; an unknown owner/repo is 404; a violation is answered 500 (the
 * real client retries 500s, so one bad call may record up to four violations).
 * @throws Error when a repository is given twice or its bareDir is not a git repository.
 */
export async function createGitHubFake(options: GitHubFakeOptions): Promise<GitHubFake> {
  const description = loadDescription();
  const actor = options.actor ?? 'github-actions[bot]';
  const repos = new Map<string, RepoState>();
  for (const [index, r] of options.repositories.entries()) {
    const key = `${r.owner}/${r.repo}`.toLowerCase();
    if (repos.has(key)) throw new Error(`createGitHubFake: repository ${key} given twice`);
    await gitOk(r.bareDir, ['rev-parse', '--git-dir']);
    repos.set(key, { ...r, index, id: 100_000 + index, createdAt: EPOCH });
  }
  const collaborators = new Map<string, CollaboratorPermission>();
  for (const r of options.repositories) collaborators.set(r.owner, 'admin');
  collaborators.set(actor, 'write');
  for (const [login, p] of Object.entries(options.collaborators ?? {})) collaborators.set(login, p);

  const state = {
    requests: [] as FakeRequest[],
    violations: [] as string[],
    pulls: [] as FakePull[],
    issues: [] as FakeIssue[],
    labels: [] as FakeLabel[],
    comments: [] as FakeComment[],
    reviews: [] as FakeReview[],
    issueEvents: [] as FakeIssueEvent[],
    dispatches: [] as FakeDispatch[],
    runs: [] as FakeRun[],
    checkRuns: [] as FakeCheckRun[],
    commitStatuses: [] as FakeCommitStatus[],
    deployments: [] as FakeDeployment[],
    refWrites: [] as FakeRefWrite[],
    merges: [] as FakeMergeAttempt[],
  };
  const failures: (FailSpec & { left: number })[] = [];
  let corrupt: ((body: unknown, status: number) => unknown) | undefined;
  const apiCommits = new Set<string>();
  let nextId = 1;
  const newId = (base: number) => base + nextId++;
  let url = '';

  // ----- helpers over state -----

  const repoOf = (owner: string, repo: string): RepoState | undefined =>
    repos.get(`${owner}/${repo}`.toLowerCase());
  const api = (r: RepoState) => `${url}/repos/${r.owner}/${r.repo}`;
  const html = (r: RepoState) => `https://github.com/${r.owner}/${r.repo}`;
  const inRepo = (r: RepoState) => (x: { owner: string; repo: string }) =>
    x.owner.toLowerCase() === r.owner.toLowerCase() && x.repo.toLowerCase() === r.repo.toLowerCase();
  const nextNumber = (r: RepoState): number =>
    Math.max(
      0,
      ...state.pulls.filter(inRepo(r)).map((p) => p.number),
      ...state.issues.filter(inRepo(r)).map((i) => i.number),
    ) + 1;
  const refSha = async (r: RepoState, fullRef: string): Promise<string | undefined> =>
    (await listRefs(r.bareDir)).find((e) => e.ref === fullRef)?.sha;
  const branchSha = (r: RepoState, branch: string) => refSha(r, `refs/heads/${branch}`);
  const isProtected = (r: RepoState, branch: string) => (r.protectedBranches ?? []).includes(branch);

  const repository = (r: RepoState): Record<string, unknown> => {
    const a = api(r);
    const h = html(r);
    return {
      id: r.id,
      node_id: nodeId('R', r.id),
      name: r.repo,
      full_name: `${r.owner}/${r.repo}`,
      owner: simpleUser(r.owner),
      private: r.private ?? true,
      html_url: h,
      description: null,
      fork: false,
      url: a,
      archive_url: `${a}/{archive_format}{/ref}`,
      assignees_url: `${a}/assignees{/user}`,
      blobs_url: `${a}/git/blobs{/sha}`,
      branches_url: `${a}/branches{/branch}`,
      collaborators_url: `${a}/collaborators{/collaborator}`,
      comments_url: `${a}/comments{/number}`,
      commits_url: `${a}/commits{/sha}`,
      compare_url: `${a}/compare/{base}...{head}`,
      contents_url: `${a}/contents/{+path}`,
      contributors_url: `${a}/contributors`,
      deployments_url: `${a}/deployments`,
      downloads_url: `${a}/downloads`,
      events_url: `${a}/events`,
      forks_url: `${a}/forks`,
      git_commits_url: `${a}/git/commits{/sha}`,
      git_refs_url: `${a}/git/refs{/sha}`,
      git_tags_url: `${a}/git/tags{/sha}`,
      git_url: `git://github.com/${r.owner}/${r.repo}.git`,
      issue_comment_url: `${a}/issues/comments{/number}`,
      issue_events_url: `${a}/issues/events{/number}`,
      issues_url: `${a}/issues{/number}`,
      keys_url: `${a}/keys{/key_id}`,
      labels_url: `${a}/labels{/name}`,
      languages_url: `${a}/languages`,
      merges_url: `${a}/merges`,
      milestones_url: `${a}/milestones{/number}`,
      notifications_url: `${a}/notifications{?since,all,participating}`,
      pulls_url: `${a}/pulls{/number}`,
      releases_url: `${a}/releases{/id}`,
      ssh_url: `git@github.com:${r.owner}/${r.repo}.git`,
      stargazers_url: `${a}/stargazers`,
      statuses_url: `${a}/statuses/{sha}`,
      subscribers_url: `${a}/subscribers`,
      subscription_url: `${a}/subscription`,
      tags_url: `${a}/tags`,
      teams_url: `${a}/teams`,
      trees_url: `${a}/git/trees{/sha}`,
      clone_url: `${h}.git`,
      mirror_url: null,
      hooks_url: `${a}/hooks`,
      svn_url: h,
      homepage: null,
      language: 'TypeScript',
      forks_count: 0,
      forks: 0,
      stargazers_count: 0,
      watchers_count: 0,
      watchers: 0,
      subscribers_count: 1,
      network_count: 0,
      size: 1,
      default_branch: r.defaultBranch,
      open_issues_count: 0,
      open_issues: 0,
      is_template: false,
      topics: [],
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_pages: false,
      has_downloads: true,
      has_discussions: false,
      archived: false,
      disabled: false,
      visibility: (r.private ?? true) ? 'private' : 'public',
      pushed_at: r.createdAt,
      created_at: r.createdAt,
      updated_at: r.createdAt,
      permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
      allow_rebase_merge: true,
      allow_squash_merge: true,
      allow_merge_commit: true,
      allow_auto_merge: false,
      delete_branch_on_merge: false,
      allow_update_branch: false,
      allow_forking: false,
      web_commit_signoff_required: false,
      license: null,
    };
  };

  const labelObject = (l: FakeLabel): Record<string, unknown> => ({
    id: l.id,
    node_id: nodeId('LA', l.id),
    url: `${api(repoOf(l.owner, l.repo) as RepoState)}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    description: l.description,
    color: l.color,
    default: false,
  });

  const labelsOf = (r: RepoState, names: string[]): Record<string, unknown>[] =>
    names.map((name) => {
      const l = state.labels.find((x) => inRepo(r)(x) && x.name.toLowerCase() === name.toLowerCase());
      return labelObject(
        l ?? {
          owner: r.owner,
          repo: r.repo,
          id: numericId(`label:${name}`),
          name,
          color: labelColor(name),
          description: null,
        },
      );
    });

  const ensureLabel = (r: RepoState, name: string): FakeLabel => {
    const existing = state.labels.find((x) => inRepo(r)(x) && x.name.toLowerCase() === name.toLowerCase());
    if (existing) return existing;
    const l: FakeLabel = {
      owner: r.owner,
      repo: r.repo,
      id: newId(5_000),
      name,
      color: 'ededed',
      description: null,
    };
    state.labels.push(l);
    return l;
  };

  const commentsOf = (r: RepoState, n: number) =>
    state.comments.filter((c) => inRepo(r)(c) && c.issueNumber === n);

  const labelEvent = (
    r: RepoState,
    issueNumber: number,
    event: FakeIssueEvent['event'],
    label: string,
    by: string,
  ): void => {
    state.issueEvents.push({
      owner: r.owner,
      repo: r.repo,
      issueNumber,
      id: newId(11_000),
      event,
      label,
      actor: by,
      createdAt: now(),
    });
  };

  const issueEventObject = (r: RepoState, e: FakeIssueEvent): Record<string, unknown> => {
    const l = state.labels.find((x) => inRepo(r)(x) && x.name.toLowerCase() === e.label.toLowerCase());
    return {
      id: e.id,
      node_id: nodeId(e.event === 'labeled' ? 'LE' : 'UNLE', e.id),
      url: `${api(r)}/issues/events/${e.id}`,
      actor: simpleUser(e.actor),
      event: e.event,
      commit_id: null,
      commit_url: null,
      created_at: e.createdAt,
      performed_via_github_app: null,
      label: { name: e.label, color: l?.color ?? labelColor(e.label) },
    };
  };

  const currentHead = async (r: RepoState, p: FakePull): Promise<string> => {
    if (p.state === 'open') {
      const sha = await branchSha(r, p.head);
      if (sha) p.headSha = sha;
    }
    return p.headSha;
  };

  const pullObject = async (r: RepoState, p: FakePull, full: boolean): Promise<Record<string, unknown>> => {
    const a = `${api(r)}/pulls/${p.number}`;
    const i = `${api(r)}/issues/${p.number}`;
    const headSha = await currentHead(r, p);
    const baseSha = (await branchSha(r, p.base)) ?? '0'.repeat(40);
    const side = (branch: string, sha: string) => ({
      label: `${r.owner}:${branch}`,
      ref: branch,
      sha,
      user: simpleUser(r.owner),
      repo: repository(r),
    });
    const id = 1_000_000 * (r.index + 1) + p.number;
    const obj: Record<string, unknown> = {
      url: a,
      id,
      node_id: nodeId('PR', id),
      html_url: `${html(r)}/pull/${p.number}`,
      diff_url: `${html(r)}/pull/${p.number}.diff`,
      patch_url: `${html(r)}/pull/${p.number}.patch`,
      issue_url: i,
      commits_url: `${a}/commits`,
      review_comments_url: `${a}/comments`,
      review_comment_url: `${api(r)}/pulls/comments{/number}`,
      comments_url: `${i}/comments`,
      statuses_url: `${api(r)}/statuses/${headSha}`,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      user: simpleUser(p.user),
      body: p.body,
      labels: labelsOf(r, p.labels),
      milestone: null,
      active_lock_reason: null,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
      closed_at: p.closedAt,
      merged_at: p.mergedAt ?? null,
      merge_commit_sha: p.mergeCommitSha ?? null,
      assignee: null,
      assignees: [],
      requested_reviewers: p.requestedReviewers.map(simpleUser),
      requested_teams: [],
      head: side(p.head, headSha),
      base: side(p.base, baseSha),
      _links: {
        self: { href: a },
        html: { href: `${html(r)}/pull/${p.number}` },
        issue: { href: i },
        comments: { href: `${i}/comments` },
        review_comments: { href: `${a}/comments` },
        review_comment: { href: `${api(r)}/pulls/comments{/number}` },
        commits: { href: `${a}/commits` },
        statuses: { href: `${api(r)}/statuses/${headSha}` },
      },
      author_association: p.user === r.owner ? 'OWNER' : 'CONTRIBUTOR',
      auto_merge: null,
      draft: p.draft,
    };
    if (!full) return obj;
    let commits = 0;
    let additions = 0;
    let deletions = 0;
    let changed = 0;
    if (
      (await objectType(r.bareDir, headSha)) === 'commit' &&
      (await objectType(r.bareDir, baseSha)) === 'commit'
    ) {
      commits = Number((await gitOk(r.bareDir, ['rev-list', '--count', `${baseSha}..${headSha}`])) || 0);
      const numstat = await runGit(r.bareDir, ['diff', '--numstat', `${baseSha}...${headSha}`]);
      for (const line of numstat.stdout.split('\n').filter(Boolean)) {
        const [add, del] = line.split('\t');
        additions += Number(add) || 0;
        deletions += Number(del) || 0;
        changed++;
      }
    }
    // GitHub's test merge of the head into the base: `git merge-tree` exits 1 on a conflict.
    const conflicts =
      p.state === 'open' &&
      (await objectType(r.bareDir, headSha)) === 'commit' &&
      (await objectType(r.bareDir, baseSha)) === 'commit' &&
      (await runGit(r.bareDir, ['merge-tree', '--write-tree', '--name-only', baseSha, headSha])).code === 1;
    return {
      ...obj,
      merged: p.merged,
      mergeable: p.state === 'open' ? !conflicts : null,
      rebaseable: p.state === 'open' ? !conflicts : null,
      mergeable_state: p.state !== 'open' ? 'unknown' : conflicts ? 'dirty' : p.draft ? 'draft' : 'clean',
      merged_by: p.mergedBy ? simpleUser(p.mergedBy) : null,
      comments: commentsOf(r, p.number).length,
      review_comments: 0,
      maintainer_can_modify: false,
      commits,
      additions,
      deletions,
      changed_files: changed,
    };
  };

  const issueObject = (r: RepoState, it: FakeIssue | FakePull, isPull: boolean): Record<string, unknown> => {
    const id = (isPull ? 3_000_000 : 4_000_000) * (r.index + 1) + it.number;
    const i = `${api(r)}/issues/${it.number}`;
    return {
      id,
      node_id: nodeId(isPull ? 'PR_I' : 'I', id),
      url: i,
      repository_url: api(r),
      labels_url: `${i}/labels{/name}`,
      comments_url: `${i}/comments`,
      events_url: `${i}/events`,
      html_url: `${html(r)}/${isPull ? 'pull' : 'issues'}/${it.number}`,
      number: it.number,
      state: it.state,
      state_reason: it.state === 'closed' && !isPull ? 'completed' : null,
      title: it.title,
      body: it.body,
      user: simpleUser(it.user),
      labels: labelsOf(r, it.labels),
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: commentsOf(r, it.number).length,
      closed_at: it.closedAt,
      closed_by: it.state === 'closed' && it.closedBy ? simpleUser(it.closedBy) : null,
      created_at: it.createdAt,
      updated_at: it.updatedAt,
      author_association: it.user === r.owner ? 'OWNER' : 'CONTRIBUTOR',
      ...(isPull
        ? {
            draft: (it as FakePull).draft,
            pull_request: {
              url: `${api(r)}/pulls/${it.number}`,
              html_url: `${html(r)}/pull/${it.number}`,
              diff_url: `${html(r)}/pull/${it.number}.diff`,
              patch_url: `${html(r)}/pull/${it.number}.patch`,
              merged_at: (it as FakePull).mergedAt ?? null,
            },
          }
        : {}),
    };
  };

  const commentObject = (r: RepoState, c: FakeComment): Record<string, unknown> => ({
    id: c.id,
    node_id: nodeId('IC', c.id),
    url: `${api(r)}/issues/comments/${c.id}`,
    html_url: `${html(r)}/issues/${c.issueNumber}#issuecomment-${c.id}`,
    issue_url: `${api(r)}/issues/${c.issueNumber}`,
    body: c.body,
    user: simpleUser(c.user),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    author_association: c.user === r.owner ? 'OWNER' : 'CONTRIBUTOR',
  });

  const reviewObject = (r: RepoState, v: FakeReview): Record<string, unknown> => {
    const page = `${html(r)}/pull/${v.pullNumber}#pullrequestreview-${v.id}`;
    const pull = `${api(r)}/pulls/${v.pullNumber}`;
    return {
      id: v.id,
      node_id: nodeId('PRR', v.id),
      user: simpleUser(v.user),
      body: v.body,
      state: v.state,
      html_url: page,
      pull_request_url: pull,
      _links: { html: { href: page }, pull_request: { href: pull } },
      submitted_at: v.submittedAt,
      commit_id: v.commitId,
      author_association: v.user === r.owner ? 'OWNER' : 'CONTRIBUTOR',
    };
  };

  const refObject = (r: RepoState, e: RefEntry): Record<string, unknown> => ({
    ref: e.ref,
    node_id: nodeId('REF', `${r.id}:${e.ref}`),
    url: `${api(r)}/git/${e.ref}`,
    object: {
      type: e.type,
      sha: e.sha,
      url: `${api(r)}/git/${e.type === 'tag' ? 'tags' : e.type === 'commit' ? 'commits' : `${e.type}s`}/${e.sha}`,
    },
  });

  const verificationOf = (c: ParsedCommit) =>
    apiCommits.has(c.sha)
      ? {
          verified: true,
          reason: 'valid',
          signature:
            '-----BEGIN PGP SIGNATURE-----\n\nfake signature of the GitHub fake\n-----END PGP SIGNATURE-----\n',
          payload: c.raw,
          verified_at: c.committer.date,
        }
      : { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null };

  const gitCommitObject = (r: RepoState, c: ParsedCommit): Record<string, unknown> => ({
    sha: c.sha,
    node_id: nodeId('C', c.sha),
    url: `${api(r)}/git/commits/${c.sha}`,
    html_url: `${html(r)}/commit/${c.sha}`,
    author: c.author,
    committer: c.committer,
    message: c.message,
    tree: { sha: c.tree, url: `${api(r)}/git/trees/${c.tree}` },
    parents: c.parents.map((sha) => ({
      sha,
      url: `${api(r)}/git/commits/${sha}`,
      html_url: `${html(r)}/commit/${sha}`,
    })),
    verification: verificationOf(c),
  });

  const protectionObject = (r: RepoState, branch: string): Record<string, unknown> => {
    const p = `${api(r)}/branches/${encodeURIComponent(branch)}/protection`;
    return {
      url: p,
      required_status_checks: {
        url: `${p}/required_status_checks`,
        strict: true,
        contexts: [],
        contexts_url: `${p}/required_status_checks/contexts`,
        checks: [],
      },
      required_pull_request_reviews: {
        url: `${p}/required_pull_request_reviews`,
        dismiss_stale_reviews: true,
        require_code_owner_reviews: false,
        required_approving_review_count: 1,
        require_last_push_approval: false,
      },
      enforce_admins: { url: `${p}/enforce_admins`, enabled: true },
      required_linear_history: { enabled: false },
      allow_force_pushes: { enabled: false },
      allow_deletions: { enabled: false },
      block_creations: { enabled: false },
      required_conversation_resolution: { enabled: false },
      required_signatures: { url: `${p}/required_signatures`, enabled: false },
      lock_branch: { enabled: false },
      allow_fork_syncing: { enabled: false },
    };
  };

  const workflowsOf = async (r: RepoState): Promise<string[]> => {
    if (r.workflows) return r.workflows;
    const ls = await runGit(r.bareDir, [
      'ls-tree',
      '--name-only',
      `refs/heads/${r.defaultBranch}`,
      '.github/workflows/',
    ]);
    return ls.code === 0
      ? ls.stdout
          .split('\n')
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => f.replace(/^.*\//, ''))
      : [];
  };
  const workflowId = (r: RepoState, file: string) => numericId(`workflow:${r.owner}/${r.repo}/${file}`);

  const runObject = async (r: RepoState, run: FakeRun): Promise<Record<string, unknown>> => {
    const a = `${api(r)}/actions/runs/${run.id}`;
    const commit = await readCommit(r.bareDir, run.headSha);
    const wid = workflowId(r, run.workflow);
    return {
      id: run.id,
      name: run.workflow.replace(/\.ya?ml$/, ''),
      node_id: nodeId('WFR', run.id),
      check_suite_id: run.id + 1,
      check_suite_node_id: nodeId('CS', run.id + 1),
      head_branch: run.headBranch,
      head_sha: run.headSha,
      path: `.github/workflows/${run.workflow}`,
      display_title: run.displayTitle,
      run_number: run.runNumber,
      run_attempt: (run.attempts?.length ?? 0) + 1,
      event: run.event,
      status: run.status,
      conclusion: run.conclusion,
      workflow_id: wid,
      url: a,
      html_url: `${html(r)}/actions/runs/${run.id}`,
      pull_requests: [],
      created_at: run.createdAt,
      updated_at: run.updatedAt,
      run_started_at: run.createdAt,
      actor: simpleUser(run.actor),
      triggering_actor: simpleUser(run.actor),
      jobs_url: `${a}/jobs`,
      logs_url: `${a}/logs`,
      check_suite_url: `${api(r)}/check-suites/${run.id + 1}`,
      artifacts_url: `${a}/artifacts`,
      cancel_url: `${a}/cancel`,
      rerun_url: `${a}/rerun`,
      previous_attempt_url: run.attempts?.length ? `${a}/attempts/${run.attempts.length}` : null,
      workflow_url: `${api(r)}/actions/workflows/${wid}`,
      head_commit: commit
        ? {
            id: commit.sha,
            tree_id: commit.tree,
            message: commit.message.replace(/\n$/, ''),
            timestamp: commit.committer.date,
            author: {
              name: commit.author.name,
              email: plausibleEmail(commit.author.email, commit.author.name),
            },
            committer: {
              name: commit.committer.name,
              email: plausibleEmail(commit.committer.email, commit.committer.name),
            },
          }
        : null,
      repository: repository(r),
      head_repository: repository(r),
      head_repository_id: r.id,
    };
  };

  /** The commit a ref names: a full sha as it is, else a branch's tip, else a tag's (404 for neither). */
  const commitOfRef = async (r: RepoState, ref: string): Promise<string> => {
    if (/^[0-9a-f]{40}$/.test(ref)) return ref;
    const sha =
      (await refSha(r, ref.startsWith('refs/') ? ref : `refs/heads/${ref}`)) ??
      (await refSha(r, `refs/tags/${ref}`));
    if (!sha) throw unprocessable(`No commit found for SHA: ${ref}`);
    return sha;
  };

  /** A commit as the commits endpoints show it (`commit` schema; no GitHub users behind the git identities). */
  const commitObject = (r: RepoState, c: ParsedCommit): Record<string, unknown> => ({
    url: `${api(r)}/commits/${c.sha}`,
    sha: c.sha,
    node_id: nodeId('C', c.sha),
    html_url: `${html(r)}/commit/${c.sha}`,
    comments_url: `${api(r)}/commits/${c.sha}/comments`,
    commit: {
      url: `${api(r)}/git/commits/${c.sha}`,
      author: c.author,
      committer: c.committer,
      message: c.message.replace(/\n$/, ''),
      comment_count: 0,
      tree: { sha: c.tree, url: `${api(r)}/git/trees/${c.tree}` },
      verification: verificationOf(c),
    },
    author: null,
    committer: null,
    parents: c.parents.map((p) => ({
      sha: p,
      url: `${api(r)}/commits/${p}`,
      html_url: `${html(r)}/commit/${p}`,
    })),
  });

  const checkRunObject = (r: RepoState, c: FakeCheckRun): Record<string, unknown> => ({
    id: c.id,
    node_id: nodeId('CR', c.id),
    head_sha: c.headSha,
    external_id: String(c.id),
    url: `${api(r)}/check-runs/${c.id}`,
    html_url: `${html(r)}/runs/${c.id}`,
    details_url: `${html(r)}/runs/${c.id}`,
    status: c.status,
    conclusion: c.status === 'completed' ? c.conclusion : null,
    started_at: c.startedAt,
    completed_at: c.status === 'completed' ? c.completedAt : null,
    output: {
      title: null,
      summary: null,
      text: null,
      annotations_count: 0,
      annotations_url: `${api(r)}/check-runs/${c.id}/annotations`,
    },
    name: c.name,
    check_suite: { id: 900_000 + c.id },
    app: null,
    pull_requests: [],
  });

  const commitStatusObject = (r: RepoState, x: FakeCommitStatus): Record<string, unknown> => ({
    url: `${api(r)}/statuses/${x.sha}`,
    avatar_url: null,
    id: x.id,
    node_id: nodeId('SC', x.id),
    state: x.state,
    description: x.description,
    target_url: x.targetUrl,
    context: x.context,
    created_at: x.createdAt,
    updated_at: x.createdAt,
    creator: simpleUser(actor),
  });

  const deploymentObject = (r: RepoState, d: FakeDeployment): Record<string, unknown> => ({
    url: `${api(r)}/deployments/${d.id}`,
    id: d.id,
    node_id: nodeId('DE', d.id),
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: {},
    original_environment: d.environment,
    environment: d.environment,
    description: d.description,
    creator: simpleUser(d.creator),
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    statuses_url: `${api(r)}/deployments/${d.id}/statuses`,
    repository_url: api(r),
    transient_environment: false,
    production_environment: d.environment === 'production',
  });

  const deploymentStatusObject = (
    r: RepoState,
    d: FakeDeployment,
    s: FakeDeploymentStatus,
  ): Record<string, unknown> => ({
    url: `${api(r)}/deployments/${d.id}/statuses/${s.id}`,
    id: s.id,
    node_id: nodeId('DES', s.id),
    state: s.state,
    creator: simpleUser(s.creator),
    description: s.description,
    environment: d.environment,
    // GitHub sends "" when the deployer gave none; the description insists on a URI.
    target_url: `${html(r)}/deployments/${encodeURIComponent(d.environment)}`,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    deployment_url: `${api(r)}/deployments/${d.id}`,
    repository_url: api(r),
  });

  /** A page of `items` and GitHub's Link header (absolute URLs on the fake). */
  const paginate = <T>(ctx: Context, items: T[]): { items: T[]; headers: Record<string, string> } => {
    const perPage = Math.min(100, Math.max(1, Number(ctx.query.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(ctx.query.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number) => {
      const q = new URLSearchParams(ctx.query);
      q.set('per_page', String(perPage));
      q.set('page', String(n));
      return `<${url}${ctx.pathname}?${q.toString()}>`;
    };
    const parts: string[] = [];
    if (page > 1) parts.push(`${link(page - 1)}; rel="prev"`);
    if (page < last) parts.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (page > 1) parts.push(`${link(1)}; rel="first"`);
    return {
      items: items.slice((page - 1) * perPage, page * perPage),
      headers: parts.length ? { link: parts.join(', ') } : {},
    };
  };

  const findPull = (r: RepoState, n: number): FakePull => {
    const p = state.pulls.find((x) => inRepo(r)(x) && x.number === n);
    if (!p) throw notFound();
    return p;
  };

  const issueNumber = (ctx: Context): number => Number(ctx.params.issue_number);

  const findIssueLike = (r: RepoState, n: number): { item: FakeIssue | FakePull; isPull: boolean } => {
    const pull = state.pulls.find((x) => inRepo(r)(x) && x.number === n);
    if (pull) return { item: pull, isPull: true };
    const issue = state.issues.find((x) => inRepo(r)(x) && x.number === n);
    if (issue) return { item: issue, isPull: false };
    throw notFound();
  };

  const refWrite = (r: RepoState, w: Omit<FakeRefWrite, 'owner' | 'repo'>) =>
    state.refWrites.push({ owner: r.owner, repo: r.repo, ...w });

  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

  // ----- operations -----

  const handlers: Record<string, (ctx: Context) => Promise<Reply>> = {
    'repos/get': async (ctx) => ({ status: 200, body: repository(ctx.repo) }),

    'git/get-ref': async (ctx) => {
      const full = `refs/${ctx.params.ref}`;
      const e = (await listRefs(ctx.repo.bareDir)).find((x) => x.ref === full);
      if (!e) throw notFound();
      return { status: 200, body: refObject(ctx.repo, e) };
    },

    'git/list-matching-refs': async (ctx) => {
      const prefix = `refs/${ctx.params.ref}`;
      const found = (await listRefs(ctx.repo.bareDir)).filter((x) => x.ref.startsWith(prefix));
      return { status: 200, body: found.map((e) => refObject(ctx.repo, e)) };
    },

    'git/create-ref': async (ctx) => {
      const ref = String(ctx.body.ref);
      const sha = String(ctx.body.sha);
      const record = (status: number) =>
        refWrite(ctx.repo, { action: 'create', ref, sha, force: false, status });
      if (!/^refs\/[^/]+\/.+/.test(ref)) {
        record(422);
        throw unprocessable("Reference name must start with 'refs/' and contain at least two slashes.");
      }
      if (!(await objectType(ctx.repo.bareDir, sha)) || !/^[0-9a-f]{40}$/.test(sha)) {
        record(422);
        throw unprocessable('Object does not exist');
      }
      if (ref.startsWith('refs/heads/') && isProtected(ctx.repo, ref.slice('refs/heads/'.length))) {
        record(422);
        throw unprocessable(`Protected branch update failed for ${ref}.`);
      }
      const r = await runGit(ctx.repo.bareDir, ['update-ref', ref, sha, '']);
      if (r.code !== 0) {
        record(422);
        throw unprocessable(
          (await refSha(ctx.repo, ref)) ? 'Reference already exists' : `Invalid reference: ${ref}`,
        );
      }
      record(201);
      const e = (await listRefs(ctx.repo.bareDir)).find((x) => x.ref === ref) as RefEntry;
      return {
        status: 201,
        body: refObject(ctx.repo, e),
        headers: { location: `${api(ctx.repo)}/git/${ref}` },
      };
    },

    'git/update-ref': async (ctx) => {
      const ref = `refs/${ctx.params.ref}`;
      const sha = String(ctx.body.sha);
      const force = ctx.body.force === true;
      const record = (status: number) => refWrite(ctx.repo, { action: 'update', ref, sha, force, status });
      const old = await refSha(ctx.repo, ref);
      if (!old) {
        record(422);
        throw unprocessable('Reference does not exist');
      }
      if (ref.startsWith('refs/heads/') && isProtected(ctx.repo, ref.slice('refs/heads/'.length))) {
        record(422);
        throw unprocessable(`Protected branch update failed for ${ref}.`);
      }
      if ((await objectType(ctx.repo.bareDir, sha)) !== 'commit' || !/^[0-9a-f]{40}$/.test(sha)) {
        record(422);
        throw unprocessable('Object does not exist');
      }
      if (!force && !(await isAncestor(ctx.repo.bareDir, old, sha))) {
        record(422);
        throw unprocessable('Update is not a fast forward');
      }
      const r = await runGit(ctx.repo.bareDir, ['update-ref', ref, sha, old]);
      if (r.code !== 0) {
        record(409);
        throw new HttpError({ status: 409, body: errorBody(409, 'Reference update failed') });
      }
      record(200);
      const e = (await listRefs(ctx.repo.bareDir)).find((x) => x.ref === ref) as RefEntry;
      return { status: 200, body: refObject(ctx.repo, e) };
    },

    'git/delete-ref': async (ctx) => {
      const ref = `refs/${ctx.params.ref}`;
      const record = (status: number) =>
        refWrite(ctx.repo, { action: 'delete', ref, sha: null, force: false, status });
      const old = await refSha(ctx.repo, ref);
      if (!old) {
        record(422);
        throw unprocessable('Reference does not exist');
      }
      if (ref.startsWith('refs/heads/') && isProtected(ctx.repo, ref.slice('refs/heads/'.length))) {
        record(422);
        throw unprocessable(`Protected branch update failed for ${ref}.`);
      }
      await gitOk(ctx.repo.bareDir, ['update-ref', '-d', ref, old]);
      record(204);
      return { status: 204 };
    },

    // Rules that apply to a branch name (rulesets), also before the branch exists: an `update` rule for the
    // branches listed in protectedBranches, none for the others.
    'repos/get-branch-rules': async (ctx) => {
      const branch = ctx.params.branch;
      const rules: Record<string, unknown>[] = isProtected(ctx.repo, branch)
        ? [
            {
              type: 'update',
              ruleset_source_type: 'Repository',
              ruleset_source: `${ctx.repo.owner}/${ctx.repo.repo}`,
              ruleset_id: 1,
            },
          ]
        : [];
      const required = ctx.repo.requiredStatusChecks ?? [];
      if (branch === ctx.repo.defaultBranch && required.length > 0) {
        rules.push({
          type: 'required_status_checks',
          parameters: {
            required_status_checks: required.map((context) => ({ context })),
            strict_required_status_checks_policy: false,
          },
          ruleset_source_type: 'Repository',
          ruleset_source: `${ctx.repo.owner}/${ctx.repo.repo}`,
          ruleset_id: 2,
        });
      }
      return { status: 200, body: rules };
    },

    'repos/get-branch': async (ctx) => {
      const r = ctx.repo;
      const branch = ctx.params.branch;
      const sha = await branchSha(r, branch);
      const c = sha ? await readCommit(r.bareDir, sha) : undefined;
      if (!c) throw notFound('Branch not found');
      const prot = isProtected(r, branch);
      const b = `${api(r)}/branches/${encodeURIComponent(branch)}`;
      return {
        status: 200,
        body: {
          name: branch,
          commit: {
            sha: c.sha,
            node_id: nodeId('C', c.sha),
            url: `${api(r)}/commits/${c.sha}`,
            html_url: `${html(r)}/commit/${c.sha}`,
            comments_url: `${api(r)}/commits/${c.sha}/comments`,
            commit: {
              url: `${api(r)}/git/commits/${c.sha}`,
              author: c.author,
              committer: c.committer,
              message: c.message.replace(/\n$/, ''),
              comment_count: 0,
              tree: { sha: c.tree, url: `${api(r)}/git/trees/${c.tree}` },
              verification: verificationOf(c),
            },
            author: null,
            committer: null,
            parents: c.parents.map((p) => ({
              sha: p,
              url: `${api(r)}/commits/${p}`,
              html_url: `${html(r)}/commit/${p}`,
            })),
          },
          _links: { self: b, html: `${html(r)}/tree/${branch}` },
          protected: prot,
          protection: prot
            ? {
                enabled: true,
                required_status_checks: {
                  enforcement_level: 'non_admins',
                  contexts: branch === r.defaultBranch ? [...(r.requiredStatusChecks ?? [])] : [],
                  checks: [],
                },
              }
            : {
                enabled: false,
                required_status_checks: { enforcement_level: 'off', contexts: [], checks: [] },
              },
          protection_url: `${b}/protection`,
        },
      };
    },

    'repos/get-branch-protection': async (ctx) => {
      const branch = ctx.params.branch;
      if (!(await branchSha(ctx.repo, branch))) throw notFound('Branch not found');
      if (!isProtected(ctx.repo, branch)) throw notFound('Branch not protected');
      return { status: 200, body: protectionObject(ctx.repo, branch) };
    },

    'git/create-blob': async (ctx) => {
      const encoding = str(ctx.body.encoding) ?? 'utf-8';
      if (encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'base64') {
        throw unprocessable(`encoding must be one of utf-8 or base64; got ${encoding}`);
      }
      const content = String(ctx.body.content);
      const bytes = encoding === 'base64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
      const sha = await gitOk(ctx.repo.bareDir, ['hash-object', '-w', '--stdin'], { input: bytes });
      const u = `${api(ctx.repo)}/git/blobs/${sha}`;
      return { status: 201, body: { url: u, sha }, headers: { location: u } };
    },

    'git/create-tree': async (ctx) => {
      const r = ctx.repo;
      const index = join(tmpdir(), `github-fake-index-${randomBytes(6).toString('hex')}`);
      const env = { GIT_INDEX_FILE: index };
      try {
        const base = str(ctx.body.base_tree);
        if (base !== undefined) {
          if ((await objectType(r.bareDir, base)) !== 'tree')
            throw unprocessable('base_tree is not a valid tree oid');
          await gitOk(r.bareDir, ['read-tree', base], { env });
        } else {
          await gitOk(r.bareDir, ['read-tree', '--empty'], { env });
        }
        const entries = Array.isArray(ctx.body.tree) ? (ctx.body.tree as Record<string, unknown>[]) : [];
        for (const entry of entries) {
          const path = String(entry.path ?? '').replace(/\/+$/, '');
          const mode = String(entry.mode ?? '100644');
          const type = String(entry.type ?? 'blob');
          if (
            !path ||
            path.startsWith('/') ||
            path.split('/').some((s) => s === '' || s === '.' || s === '..')
          ) {
            throw unprocessable(`tree.path ${JSON.stringify(entry.path)} is invalid`);
          }
          if ('sha' in entry && 'content' in entry) {
            throw unprocessable('Must supply either tree.sha or tree.content, not both');
          }
          // Whatever sits at the path, under it (a directory) or above it (a file where a directory must go).
          const under = await gitOk(r.bareDir, ['ls-files', '-z', '--', path], { env });
          const parts = path.split('/');
          const doomed = [
            ...under.split('\0').filter(Boolean),
            ...parts.map((_, i) => parts.slice(0, i + 1).join('/')),
          ];
          await gitOk(r.bareDir, ['update-index', '-z', '--index-info'], {
            env,
            input: doomed.map((f) => `0 ${'0'.repeat(40)}\t${f}\0`).join(''),
          });
          if (entry.sha === null) continue;
          let sha: string;
          if (typeof entry.content === 'string') {
            sha = await gitOk(r.bareDir, ['hash-object', '-w', '--stdin'], { input: entry.content });
          } else {
            sha = String(entry.sha);
            const actual = /^[0-9a-f]{40}$/.test(sha) ? await objectType(r.bareDir, sha) : undefined;
            if (type !== 'commit' && actual !== type) {
              throw unprocessable(`tree.sha ${sha} is not a valid ${type}`);
            }
          }
          // A subtree goes in as its files (`read-tree --prefix` wants a work tree, which a bare repository lacks).
          const lines =
            type === 'tree'
              ? (await gitOk(r.bareDir, ['ls-tree', '-r', '-z', sha]))
                  .split('\0')
                  .filter(Boolean)
                  .map((line) => {
                    const tab = line.indexOf('\t');
                    const [subMode, , subSha] = line.slice(0, tab).split(' ');
                    const sub = line.slice(tab + 1);
                    return `${subMode} ${subSha}\t${path}/${sub}\0`;
                  })
              : [`${mode} ${sha}\t${path}\0`];
          await gitOk(r.bareDir, ['update-index', '-z', '--index-info'], { env, input: lines.join('') });
        }
        const tree = await gitOk(r.bareDir, ['write-tree'], { env });
        const ls = await gitOk(r.bareDir, ['ls-tree', '-l', '-z', tree]);
        const items = ls
          .split('\0')
          .filter(Boolean)
          .map((line) => {
            const tab = line.indexOf('\t');
            const [meta, path] = [line.slice(0, tab), line.slice(tab + 1)];
            const [mode, type, sha, size] = meta.split(/\s+/);
            return {
              path,
              mode,
              type,
              sha,
              ...(type === 'blob' ? { size: Number(size) } : {}),
              url: `${api(r)}/git/${type === 'tree' ? 'trees' : 'blobs'}/${sha}`,
            };
          });
        const u = `${api(r)}/git/trees/${tree}`;
        return {
          status: 201,
          body: { sha: tree, url: u, truncated: false, tree: items },
          headers: { location: u },
        };
      } finally {
        await rm(index, { force: true });
      }
    },

    'git/create-commit': async (ctx) => {
      const r = ctx.repo;
      const tree = String(ctx.body.tree);
      if (!/^[0-9a-f]{40}$/.test(tree) || (await objectType(r.bareDir, tree)) !== 'tree') {
        throw unprocessable('Tree SHA does not exist');
      }
      const parents = Array.isArray(ctx.body.parents) ? ctx.body.parents.map(String) : [];
      for (const p of parents) {
        if (!/^[0-9a-f]{40}$/.test(p) || (await objectType(r.bareDir, p)) !== 'commit') {
          throw unprocessable('Parent SHA does not exist or is not a commit object');
        }
      }
      const person = (v: unknown, fallback: { name: string; email: string }) => {
        const o = isObject(v) ? v : {};
        return {
          name: str(o.name) ?? fallback.name,
          email: str(o.email) ?? fallback.email,
          date: str(o.date) ?? now(),
        };
      };
      const author = person(ctx.body.author, {
        name: actor,
        email: `${numericId(`user:${actor}`)}+${actor}@users.noreply.github.com`,
      });
      const committer = person(ctx.body.committer, { name: 'GitHub', email: 'noreply@github.com' });
      const sha = await gitOk(r.bareDir, ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p])], {
        input: String(ctx.body.message),
        env: {
          GIT_AUTHOR_NAME: author.name,
          GIT_AUTHOR_EMAIL: author.email,
          GIT_AUTHOR_DATE: author.date,
          GIT_COMMITTER_NAME: committer.name,
          GIT_COMMITTER_EMAIL: committer.email,
          GIT_COMMITTER_DATE: committer.date,
        },
      });
      apiCommits.add(sha);
      const c = (await readCommit(r.bareDir, sha)) as ParsedCommit;
      const u = `${api(r)}/git/commits/${sha}`;
      return { status: 201, body: gitCommitObject(r, c), headers: { location: u } };
    },

    'git/get-commit': async (ctx) => {
      const c = await readCommit(ctx.repo.bareDir, ctx.params.commit_sha);
      if (!c) throw notFound();
      return { status: 200, body: gitCommitObject(ctx.repo, c) };
    },

    'pulls/create': async (ctx) => {
      const r = ctx.repo;
      if (ctx.body.issue !== undefined)
        throw unprocessable('fake: converting an issue into a pull request is not modelled');
      const title = str(ctx.body.title);
      if (!title)
        throw unprocessable('Validation Failed', [
          { resource: 'PullRequest', field: 'title', code: 'missing_field' },
        ]);
      let head = String(ctx.body.head);
      const colon = head.indexOf(':');
      if (colon >= 0) {
        if (head.slice(0, colon).toLowerCase() !== r.owner.toLowerCase()) {
          throw unprocessable('Validation Failed', [
            { resource: 'PullRequest', field: 'head', code: 'invalid' },
          ]);
        }
        head = head.slice(colon + 1);
      }
      const base = String(ctx.body.base);
      const baseSha = await branchSha(r, base);
      if (!baseSha)
        throw unprocessable('Validation Failed', [
          { resource: 'PullRequest', field: 'base', code: 'invalid' },
        ]);
      const headSha = await branchSha(r, head);
      if (!headSha)
        throw unprocessable('Validation Failed', [
          { resource: 'PullRequest', field: 'head', code: 'invalid' },
        ]);
      if (state.pulls.some((p) => inRepo(r)(p) && p.state === 'open' && p.head === head)) {
        throw unprocessable('Validation Failed', [
          {
            resource: 'PullRequest',
            code: 'custom',
            message: `A pull request already exists for ${r.owner}:${head}.`,
          },
        ]);
      }
      if (await isAncestor(r.bareDir, headSha, baseSha)) {
        throw unprocessable('Validation Failed', [
          { resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${head}` },
        ]);
      }
      const at = now();
      const p: FakePull = {
        owner: r.owner,
        repo: r.repo,
        number: nextNumber(r),
        title,
        body: str(ctx.body.body) ?? null,
        state: 'open',
        draft: ctx.body.draft === true,
        head,
        base,
        headSha,
        user: actor,
        requestedReviewers: [],
        labels: [],
        merged: false,
        createdAt: at,
        updatedAt: at,
        closedAt: null,
      };
      state.pulls.push(p);
      return {
        status: 201,
        body: await pullObject(r, p, true),
        headers: { location: `${api(r)}/pulls/${p.number}` },
      };
    },

    'pulls/list': async (ctx) => {
      const r = ctx.repo;
      const want = ctx.query.get('state') ?? 'open';
      const head = ctx.query.get('head');
      const base = ctx.query.get('base');
      let list = state.pulls.filter(inRepo(r)).filter((p) => want === 'all' || p.state === want);
      // GitHub ignores a head filter without the `owner:` prefix (and so does the fake).
      if (head && head.includes(':')) {
        const [owner, branch] = [head.slice(0, head.indexOf(':')), head.slice(head.indexOf(':') + 1)];
        list = list.filter((p) => owner.toLowerCase() === r.owner.toLowerCase() && p.head === branch);
      }
      if (base) list = list.filter((p) => p.base === base);
      const sort = ctx.query.get('sort') ?? 'created';
      const key = (p: FakePull) =>
        (sort === 'updated' ? p.updatedAt : p.createdAt) + String(p.number).padStart(9, '0');
      list.sort((a, b) => key(b).localeCompare(key(a)));
      if ((ctx.query.get('direction') ?? 'desc') === 'asc') list.reverse();
      const page = paginate(ctx, list);
      const body = [];
      for (const p of page.items) body.push(await pullObject(r, p, false));
      return { status: 200, body, headers: page.headers };
    },

    'pulls/get': async (ctx) => {
      const p = findPull(ctx.repo, Number(ctx.params.pull_number));
      return { status: 200, body: await pullObject(ctx.repo, p, true) };
    },

    'pulls/update': async (ctx) => {
      const r = ctx.repo;
      const p = findPull(r, Number(ctx.params.pull_number));
      if (ctx.body.state === 'open' && p.state === 'closed') {
        if (!(await branchSha(r, p.head)))
          throw unprocessable('state cannot be changed. The head branch was deleted.');
        if (state.pulls.some((o) => o !== p && inRepo(r)(o) && o.state === 'open' && o.head === p.head)) {
          throw unprocessable('Validation Failed', [
            {
              resource: 'PullRequest',
              code: 'custom',
              message: `A pull request already exists for ${r.owner}:${p.head}.`,
            },
          ]);
        }
      }
      if (typeof ctx.body.base === 'string' && !(await branchSha(r, ctx.body.base))) {
        throw unprocessable('Validation Failed', [
          { resource: 'PullRequest', field: 'base', code: 'invalid' },
        ]);
      }
      await currentHead(r, p);
      if (typeof ctx.body.title === 'string') p.title = ctx.body.title;
      if (typeof ctx.body.body === 'string') p.body = ctx.body.body;
      if (typeof ctx.body.base === 'string') p.base = ctx.body.base;
      if (ctx.body.state === 'closed' && p.state === 'open') {
        p.state = 'closed';
        p.closedAt = now();
        p.closedBy = actor;
      } else if (ctx.body.state === 'open' && p.state === 'closed') {
        p.state = 'open';
        p.closedAt = null;
        p.closedBy = null;
      }
      p.updatedAt = now();
      return { status: 200, body: await pullObject(r, p, true) };
    },

    'pulls/request-reviewers': async (ctx) => {
      const r = ctx.repo;
      const p = findPull(r, Number(ctx.params.pull_number));
      const reviewers = Array.isArray(ctx.body.reviewers) ? ctx.body.reviewers.map(String) : [];
      const teams = Array.isArray(ctx.body.team_reviewers) ? ctx.body.team_reviewers.map(String) : [];
      if (reviewers.length === 0 && teams.length === 0) {
        throw unprocessable('Validation Failed', [
          { resource: 'PullRequest', field: 'reviewers', code: 'missing_field' },
        ]);
      }
      if (reviewers.some((login) => login.toLowerCase() === p.user.toLowerCase())) {
        throw unprocessable('Review cannot be requested from pull request author.');
      }
      const outsider = reviewers.some((login) => (collaborators.get(login) ?? 'none') === 'none');
      if (outsider || teams.length > 0) {
        throw unprocessable(
          `Reviews may only be requested from collaborators. One or more of the users or teams you specified is not a collaborator of the ${r.owner}/${r.repo} repository.`,
        );
      }
      for (const login of reviewers)
        if (!p.requestedReviewers.includes(login)) p.requestedReviewers.push(login);
      p.updatedAt = now();
      return { status: 201, body: await pullObject(r, p, false) };
    },

    'pulls/list-reviews': async (ctx) => {
      const r = ctx.repo;
      const p = findPull(r, Number(ctx.params.pull_number));
      const page = paginate(
        ctx,
        state.reviews.filter((v) => inRepo(r)(v) && v.pullNumber === p.number),
      );
      return { status: 200, body: page.items.map((v) => reviewObject(r, v)), headers: page.headers };
    },

    'pulls/merge': async (ctx) => {
      state.merges.push({
        owner: ctx.repo.owner,
        repo: ctx.repo.repo,
        number: Number(ctx.params.pull_number),
        body: ctx.rawBody,
      });
      return {
        status: 405,
        body: { message: 'fake: merging is never expected of the project', documentation_url: DOCS },
      };
    },

    'issues/get-label': async (ctx) => {
      const l = state.labels.find(
        (x) => inRepo(ctx.repo)(x) && x.name.toLowerCase() === ctx.params.name.toLowerCase(),
      );
      if (!l) throw notFound();
      return { status: 200, body: labelObject(l) };
    },

    'issues/create-label': async (ctx) => {
      const r = ctx.repo;
      const name = String(ctx.body.name);
      if (state.labels.some((x) => inRepo(r)(x) && x.name.toLowerCase() === name.toLowerCase())) {
        throw unprocessable('Validation Failed', [
          { resource: 'Label', code: 'already_exists', field: 'name' },
        ]);
      }
      const color = (str(ctx.body.color) ?? 'ededed').replace(/^#/, '');
      if (!/^[0-9a-fA-F]{6}$/.test(color)) {
        throw unprocessable('Validation Failed', [{ resource: 'Label', code: 'invalid', field: 'color' }]);
      }
      const l: FakeLabel = {
        owner: r.owner,
        repo: r.repo,
        id: newId(5_000),
        name,
        color: color.toLowerCase(),
        description: str(ctx.body.description) ?? null,
      };
      state.labels.push(l);
      return {
        status: 201,
        body: labelObject(l),
        headers: { location: `${api(r)}/labels/${encodeURIComponent(name)}` },
      };
    },

    'issues/add-labels': async (ctx) => {
      const r = ctx.repo;
      const { item } = findIssueLike(r, issueNumber(ctx));
      const raw: unknown[] = Array.isArray(ctx.rawBody)
        ? ctx.rawBody
        : isObject(ctx.rawBody) && Array.isArray(ctx.rawBody.labels)
          ? ctx.rawBody.labels
          : typeof ctx.rawBody === 'string'
            ? [ctx.rawBody]
            : [];
      const names = raw.map((x) => (isObject(x) ? String(x.name) : String(x)));
      for (const name of names) {
        const l = ensureLabel(r, name);
        if (!item.labels.some((n) => n.toLowerCase() === l.name.toLowerCase())) {
          item.labels.push(l.name);
          labelEvent(r, item.number, 'labeled', l.name, actor);
        }
      }
      item.updatedAt = now();
      return { status: 200, body: labelsOf(r, item.labels) };
    },

    'issues/list-labels-on-issue': async (ctx) => {
      const { item } = findIssueLike(ctx.repo, issueNumber(ctx));
      const page = paginate(ctx, labelsOf(ctx.repo, item.labels));
      return { status: 200, body: page.items, headers: page.headers };
    },

    'issues/create-comment': async (ctx) => {
      const r = ctx.repo;
      const { item } = findIssueLike(r, issueNumber(ctx));
      const at = now();
      const c: FakeComment = {
        owner: r.owner,
        repo: r.repo,
        issueNumber: item.number,
        id: newId(7_000),
        body: String(ctx.body.body),
        user: actor,
        createdAt: at,
        updatedAt: at,
      };
      state.comments.push(c);
      return {
        status: 201,
        body: commentObject(r, c),
        headers: { location: `${api(r)}/issues/comments/${c.id}` },
      };
    },

    'issues/list-comments': async (ctx) => {
      const { item } = findIssueLike(ctx.repo, issueNumber(ctx));
      const page = paginate(ctx, commentsOf(ctx.repo, item.number));
      return { status: 200, body: page.items.map((c) => commentObject(ctx.repo, c)), headers: page.headers };
    },

    'issues/get': async (ctx) => {
      const { item, isPull } = findIssueLike(ctx.repo, issueNumber(ctx));
      return { status: 200, body: issueObject(ctx.repo, item, isPull) };
    },

    'issues/list-events': async (ctx) => {
      const r = ctx.repo;
      const { item } = findIssueLike(r, issueNumber(ctx));
      const events = state.issueEvents.filter((e) => inRepo(r)(e) && e.issueNumber === item.number);
      const page = paginate(ctx, events);
      return { status: 200, body: page.items.map((e) => issueEventObject(r, e)), headers: page.headers };
    },

    'issues/create': async (ctx) => {
      const r = ctx.repo;
      const title = ctx.body.title;
      if (typeof title !== 'string' && typeof title !== 'number') {
        throw unprocessable('Validation Failed', [
          { resource: 'Issue', code: 'missing_field', field: 'title' },
        ]);
      }
      const at = now();
      const issue: FakeIssue = {
        owner: r.owner,
        repo: r.repo,
        number: nextNumber(r),
        title: String(title),
        body: str(ctx.body.body) ?? null,
        state: 'open',
        labels: [],
        user: actor,
        createdAt: at,
        updatedAt: at,
        closedAt: null,
        closedBy: null,
      };
      state.issues.push(issue);
      const labels = Array.isArray(ctx.body.labels) ? ctx.body.labels : [];
      for (const x of labels) {
        const l = ensureLabel(r, isObject(x) ? String(x.name) : String(x));
        if (!issue.labels.some((n) => n.toLowerCase() === l.name.toLowerCase())) {
          issue.labels.push(l.name);
          labelEvent(r, issue.number, 'labeled', l.name, actor);
        }
      }
      return {
        status: 201,
        body: issueObject(r, issue, false),
        headers: { location: `${api(r)}/issues/${issue.number}` },
      };
    },

    'issues/update': async (ctx) => {
      const r = ctx.repo;
      const { item, isPull } = findIssueLike(r, issueNumber(ctx));
      if (typeof ctx.body.title === 'string' || typeof ctx.body.title === 'number') {
        item.title = String(ctx.body.title);
      }
      if (typeof ctx.body.body === 'string' || ctx.body.body === null) item.body = ctx.body.body;
      if (Array.isArray(ctx.body.labels)) {
        const wanted = ctx.body.labels.map(
          (x) => ensureLabel(r, isObject(x) ? String(x.name) : String(x)).name,
        );
        const has = (list: string[], name: string) =>
          list.some((n) => n.toLowerCase() === name.toLowerCase());
        for (const name of item.labels.filter((n) => !has(wanted, n))) {
          labelEvent(r, item.number, 'unlabeled', name, actor);
        }
        for (const name of wanted.filter((n) => !has(item.labels, n))) {
          labelEvent(r, item.number, 'labeled', name, actor);
        }
        item.labels = wanted;
      }
      if (ctx.body.state === 'closed' && item.state === 'open') {
        item.state = 'closed';
        item.closedAt = now();
        item.closedBy = actor;
      } else if (ctx.body.state === 'open' && item.state === 'closed') {
        item.state = 'open';
        item.closedAt = null;
        item.closedBy = null;
      }
      item.updatedAt = now();
      return { status: 200, body: issueObject(r, item, isPull) };
    },

    'issues/list-for-repo': async (ctx) => {
      const r = ctx.repo;
      const want = ctx.query.get('state') ?? 'open';
      const labels = (ctx.query.get('labels') ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean);
      const creator = ctx.query.get('creator');
      const since = ctx.query.get('since');
      const all = [
        ...state.issues.filter(inRepo(r)).map((item) => ({ item, isPull: false })),
        ...state.pulls
          .filter(inRepo(r))
          .map((item) => ({ item: item as FakeIssue | FakePull, isPull: true })),
      ]
        .filter(({ item }) => want === 'all' || item.state === want)
        .filter(({ item }) => labels.every((l) => item.labels.some((n) => n.toLowerCase() === l)))
        .filter(({ item }) => !creator || item.user.toLowerCase() === creator.toLowerCase())
        .filter(({ item }) => !since || item.updatedAt >= since);
      const sort = ctx.query.get('sort') ?? 'created';
      const key = (i: FakeIssue | FakePull) =>
        (sort === 'updated' ? i.updatedAt : i.createdAt) + String(i.number).padStart(9, '0');
      all.sort((a, b) => key(b.item).localeCompare(key(a.item)));
      if ((ctx.query.get('direction') ?? 'desc') === 'asc') all.reverse();
      const page = paginate(ctx, all);
      return {
        status: 200,
        body: page.items.map(({ item, isPull }) => issueObject(r, item, isPull)),
        headers: page.headers,
      };
    },

    'actions/create-workflow-dispatch': async (ctx) => {
      const r = ctx.repo;
      const workflows = await workflowsOf(r);
      const id = ctx.params.workflow_id;
      const workflow = workflows.find((w) => w === id || String(workflowId(r, w)) === id);
      if (!workflow) throw notFound();
      const ref = String(ctx.body.ref);
      const refs = await listRefs(r.bareDir);
      const target =
        refs.find((e) => e.ref === ref) ??
        refs.find((e) => e.ref === `refs/heads/${ref}`) ??
        refs.find((e) => e.ref === `refs/tags/${ref}`);
      if (!target) throw unprocessable(`No ref found for: ${ref}`);
      const commit = await readCommit(r.bareDir, target.sha);
      const at = now();
      const run: FakeRun = {
        owner: r.owner,
        repo: r.repo,
        id: newId(9_000_000_000),
        workflow,
        runNumber: state.runs.filter((x) => inRepo(r)(x) && x.workflow === workflow).length + 1,
        event: 'workflow_dispatch',
        status: 'queued',
        conclusion: null,
        headBranch: target.ref.replace(/^refs\/(heads|tags)\//, ''),
        headSha: commit?.sha ?? target.sha,
        actor,
        displayTitle: workflow.replace(/\.ya?ml$/, ''),
        createdAt: at,
        updatedAt: at,
      };
      state.runs.push(run);
      state.dispatches.push({
        owner: r.owner,
        repo: r.repo,
        workflow,
        ref,
        inputs: isObject(ctx.body.inputs) ? ctx.body.inputs : {},
        runId: run.id,
      });
      if (ctx.body.return_run_details === true) {
        return {
          status: 200,
          body: {
            workflow_run_id: run.id,
            run_url: `${api(r)}/actions/runs/${run.id}`,
            html_url: `${html(r)}/actions/runs/${run.id}`,
          },
        };
      }
      return { status: 204 };
    },

    'actions/list-workflow-runs': async (ctx) => {
      const r = ctx.repo;
      const id = ctx.params.workflow_id;
      const workflow = (await workflowsOf(r)).find((w) => w === id || String(workflowId(r, w)) === id);
      if (!workflow) throw notFound();
      return listRuns(
        ctx,
        state.runs.filter(inRepo(r)).filter((x) => x.workflow === workflow),
      );
    },

    'actions/list-workflow-runs-for-repo': async (ctx) => listRuns(ctx, state.runs.filter(inRepo(ctx.repo))),

    'actions/get-workflow-run-attempt': async (ctx) => {
      const run = state.runs.find((x) => inRepo(ctx.repo)(x) && String(x.id) === ctx.params.run_id);
      const n = Number(ctx.params.attempt_number);
      const earlier = run?.attempts ?? [];
      if (!run || !(n >= 1 && n <= earlier.length + 1)) throw notFound();
      const attempt =
        n <= earlier.length ? { ...run, ...earlier[n - 1]!, attempts: earlier.slice(0, n - 1) } : run;
      return { status: 200, body: await runObject(ctx.repo, attempt) };
    },

    // The default branch's (or `sha`'s) history, newest first, as `git log` gives it (since/until/path/author).
    'repos/list-commits': async (ctx) => {
      const r = ctx.repo;
      const ref = ctx.query.get('sha') ?? r.defaultBranch;
      const tip = await commitOfRef(r, ref).catch(() => undefined);
      if (!tip) return { status: 200, body: [] };
      const args = ['log', '--format=%H', tip];
      const author = ctx.query.get('author');
      if (author) args.push(`--author=${author}`);
      const path = ctx.query.get('path');
      if (path) args.push('--', path);
      const since = Date.parse(ctx.query.get('since') ?? '') || -Infinity;
      const until = Date.parse(ctx.query.get('until') ?? '') || Infinity;
      const commits: ParsedCommit[] = [];
      for (const sha of (await gitOk(r.bareDir, args)).split('\n').filter(Boolean)) {
        const c = await readCommit(r.bareDir, sha);
        const when = c ? Date.parse(c.committer.date) : NaN;
        if (c && when >= since && when <= until) commits.push(c);
      }
      const page = paginate(ctx, commits);
      return { status: 200, body: page.items.map((c) => commitObject(r, c)), headers: page.headers };
    },

    'checks/list-for-ref': async (ctx) => {
      const r = ctx.repo;
      const sha = await commitOfRef(r, ctx.params.ref);
      const name = ctx.query.get('check_name');
      const status = ctx.query.get('status');
      let runs = state.checkRuns
        .filter(inRepo(r))
        .filter((c) => c.headSha === sha)
        .filter((c) => !name || c.name === name)
        .filter((c) => !status || c.status === status)
        .sort((a, b) => b.id - a.id);
      // filter=latest (the default): the newest check run of each name only.
      if ((ctx.query.get('filter') ?? 'latest') === 'latest') {
        runs = runs.filter((c, i) => runs.findIndex((o) => o.name === c.name) === i);
      }
      const page = paginate(ctx, runs);
      return {
        status: 200,
        body: { total_count: runs.length, check_runs: page.items.map((c) => checkRunObject(r, c)) },
        headers: page.headers,
      };
    },

    'repos/list-commit-statuses-for-ref': async (ctx) => {
      const r = ctx.repo;
      const sha = await commitOfRef(r, ctx.params.ref);
      const listed = state.commitStatuses
        .filter(inRepo(r))
        .filter((x) => x.sha === sha)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id);
      const page = paginate(ctx, listed);
      return { status: 200, body: page.items.map((x) => commitStatusObject(r, x)), headers: page.headers };
    },

    'repos/get-collaborator-permission-level': async (ctx) => {
      const login = ctx.params.username;
      const role = collaborators.get(login);
      if (!role) throw notFound();
      const user = simpleUser(login);
      // GitHub's legacy permission: maintain reads as write, triage as read.
      const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
      return {
        status: 200,
        body: {
          permission,
          role_name: role === 'none' ? 'read' : role,
          user: {
            ...user,
            role_name: role,
            permissions: {
              admin: role === 'admin',
              maintain: role === 'admin' || role === 'maintain',
              push: permission === 'admin' || permission === 'write',
              triage: role !== 'none' && role !== 'read',
              pull: role !== 'none',
            },
          },
        },
      };
    },

    'repos/check-collaborator': async (ctx) => {
      const permission = collaborators.get(ctx.params.username);
      return permission && permission !== 'none' ? { status: 204 } : { status: 404 };
    },

    'repos/list-deployments': async (ctx) => {
      const r = ctx.repo;
      const filters = (['sha', 'ref', 'task', 'environment'] as const).map(
        (key) => [key, ctx.query.get(key)] as const,
      );
      const listed = state.deployments
        .filter(inRepo(r))
        .filter((d) => filters.every(([key, want]) => want === null || d[key] === want))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id);
      const page = paginate(ctx, listed);
      return { status: 200, body: page.items.map((d) => deploymentObject(r, d)), headers: page.headers };
    },

    'repos/list-deployment-statuses': async (ctx) => {
      const r = ctx.repo;
      const d = state.deployments.find((x) => inRepo(r)(x) && String(x.id) === ctx.params.deployment_id);
      if (!d) throw notFound();
      const page = paginate(ctx, [...d.statuses].reverse());
      return {
        status: 200,
        body: page.items.map((s) => deploymentStatusObject(r, d, s)),
        headers: page.headers,
      };
    },

    'rate-limit/get': async () => {
      const reset = Math.floor(Date.now() / 1000) + 3600;
      const core = { limit: 5000, remaining: 4999, reset, used: 1 };
      return {
        status: 200,
        body: {
          resources: {
            core,
            search: { limit: 30, remaining: 30, reset, used: 0 },
            graphql: { limit: 5000, remaining: 5000, reset, used: 0 },
          },
          rate: core,
        },
      };
    },
  };

  const listRuns = async (ctx: Context, runs: FakeRun[]): Promise<Reply> => {
    const status = ctx.query.get('status');
    const branch = ctx.query.get('branch');
    const event = ctx.query.get('event');
    const headSha = ctx.query.get('head_sha');
    const created = ctx.query.get('created');
    const filtered = runs
      .filter((x) => !created || inSearchDateRange(x.createdAt, created))
      .filter((x) => !status || x.status === status || x.conclusion === status)
      .filter((x) => !branch || x.headBranch === branch)
      .filter((x) => !event || x.event === event)
      .filter((x) => !headSha || x.headSha === headSha)
      .sort((a, b) => b.id - a.id);
    const page = paginate(ctx, filtered);
    const body = [];
    for (const run of page.items) body.push(await runObject(ctx.repo, run));
    return {
      status: 200,
      body: { total_count: filtered.length, workflow_runs: body },
      headers: page.headers,
    };
  };

  // ----- the HTTP layer -----

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const send = (res: ServerResponse, reply: Reply) => {
    const headers: Record<string, string> = {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-used': '1',
      'x-ratelimit-resource': 'core',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      ...(reply.body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      ...reply.headers,
    };
    res.writeHead(reply.status, headers);
    res.end(reply.body !== undefined ? JSON.stringify(reply.body) : undefined);
  };

  const violation = (kind: 'request' | 'response', problems: string[]): Reply => {
    state.violations.push(...problems);
    return {
      status: 500,
      body: {
        message: `fake: ${kind} does not match the OpenAPI description: ${problems.join(' | ')}`,
        documentation_url: DOCS,
      },
    };
  };

  const holds: (Pick<FailSpec, 'method' | 'path'> & { arrive(): void; released: Promise<void> })[] = [];
  const takeFailure = (method: string, pathname: string): FailSpec | undefined => {
    const i = failures.findIndex(
      (f) =>
        (!f.method || f.method.toUpperCase() === method) &&
        (typeof f.path === 'string' ? f.path === pathname : f.path.test(pathname)),
    );
    if (i < 0) return undefined;
    const f = failures[i];
    if (--f.left <= 0) failures.splice(i, 1);
    return f;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const target = new URL(req.url ?? '/', 'http://fake.invalid');
    const rawPath = target.pathname;
    let pathname = rawPath;
    try {
      pathname = decodeURIComponent(rawPath);
    } catch {
      // keep the raw path
    }
    const text = await readBody(req);
    let body: unknown;
    let badJson = false;
    if (text.trim()) {
      try {
        body = JSON.parse(text);
      } catch {
        badJson = true;
        body = text;
      }
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (k !== 'authorization' && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    const record: FakeRequest = {
      method,
      path: rawPath,
      query: Object.fromEntries(target.searchParams),
      body,
      headers,
      authorized: typeof req.headers.authorization === 'string' && req.headers.authorization.length > 0,
      operationId: null,
      status: 0,
    };
    state.requests.push(record);
    const reply = await respond(method, rawPath, pathname, target.searchParams, body, badJson, record);
    record.status = reply.status;
    send(res, reply);
  };

  const respond = async (
    method: string,
    rawPath: string,
    pathname: string,
    query: URLSearchParams,
    body: unknown,
    badJson: boolean,
    record: FakeRequest,
  ): Promise<Reply> => {
    const matched = matchOperation(description, method, rawPath);
    if (!matched) {
      state.violations.push(`${method} ${rawPath}: no operation of the OpenAPI description matches`);
      return { status: 404, body: errorBody(404, `fake: no GitHub REST operation ${method} ${rawPath}`) };
    }
    const { op, params } = matched;
    record.operationId = op.id;
    if (badJson) return violation('request', [`${op.id}: request body: not JSON`]);
    const problems = requestProblems(description, op, params, query, body, body !== undefined);
    if (problems.length) return violation('request', problems);
    const handler = handlers[op.id];
    if (!handler) {
      state.violations.push(`${op.id} (${method} ${op.template}): not implemented by the fake`);
      return { status: 404, body: errorBody(404, `fake: ${op.id} is not implemented by the fake`) };
    }
    const checked = (reply: Reply): Reply => {
      const responseIssues = responseProblems(description, op, reply.status, reply.body);
      return responseIssues.length ? violation('response', responseIssues) : reply;
    };
    const hold = holds.findIndex(
      (h) =>
        (!h.method || h.method.toUpperCase() === method) &&
        (typeof h.path === 'string' ? h.path === pathname : h.path.test(pathname)),
    );
    if (hold >= 0) {
      const [h] = holds.splice(hold, 1);
      h!.arrive();
      await h!.released;
    }
    const failure = takeFailure(method, pathname);
    if (failure) {
      return checked({
        status: failure.status,
        body: failure.body ?? errorBody(failure.status, DEFAULT_MESSAGES[failure.status] ?? 'Error'),
        headers: failure.headers,
      });
    }
    if (method !== 'GET' && !record.authorized) {
      return checked({ status: 401, body: errorBody(401, 'Requires authentication') });
    }
    let reply: Reply;
    const owner = params.owner;
    const repoName = params.repo;
    const repo = owner !== undefined && repoName !== undefined ? repoOf(owner, repoName) : undefined;
    try {
      if (owner !== undefined && repoName !== undefined && !repo) throw notFound();
      reply = await handler({
        op,
        params,
        query,
        body: isObject(body) ? body : {},
        rawBody: body,
        repo: repo as RepoState,
        pathname: rawPath,
      });
    } catch (e) {
      if (!(e instanceof HttpError)) {
        const message = e instanceof Error ? e.message : String(e);
        state.violations.push(`${op.id}: the fake failed: ${message}`);
        return { status: 500, body: errorBody(500, `fake: ${message}`) };
      }
      reply = e.reply;
    }
    if (corrupt) {
      const fn = corrupt;
      corrupt = undefined;
      reply = { ...reply, body: fn(structuredClone(reply.body), reply.status) };
    }
    return checked(reply);
  };

  // One request at a time: git writes and the state stay consistent, and the order is the arrival order.
  let queue: Promise<void> = Promise.resolve();
  const server = createServer((req, res) => {
    queue = queue.then(() =>
      handle(req, res).catch((e: unknown) => {
        state.violations.push(`fake: internal error: ${e instanceof Error ? e.message : String(e)}`);
        if (!res.headersSent) send(res, { status: 500, body: errorBody(500, 'fake: internal error') });
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const first = options.repositories[0];
  return {
    url,
    ...state,
    collaborators,
    async seedPull(init) {
      const r = repoOf(init.owner ?? first.owner, init.repo ?? first.repo);
      if (!r) throw new Error(`seedPull: repository ${init.owner}/${init.repo} is not served`);
      const at = now();
      const p: FakePull = {
        owner: r.owner,
        repo: r.repo,
        number: init.number ?? nextNumber(r),
        title: init.title ?? `Seeded pull request for ${init.head}`,
        body: init.body ?? null,
        state: init.state ?? 'open',
        draft: init.draft ?? false,
        head: init.head,
        base: init.base ?? r.defaultBranch,
        headSha: init.headSha ?? (await branchSha(r, init.head)) ?? '0'.repeat(40),
        user: init.user ?? actor,
        requestedReviewers: init.requestedReviewers ?? [],
        labels: init.labels ?? [],
        merged: false,
        createdAt: init.createdAt ?? at,
        updatedAt: init.updatedAt ?? at,
        closedAt: init.closedAt ?? ((init.state ?? 'open') === 'closed' ? at : null),
      };
      state.pulls.push(p);
      return p;
    },
    async mergePull(number, how) {
      const r = repoOf(how.owner ?? first.owner, how.repo ?? first.repo);
      if (!r) throw new Error(`mergePull: repository ${how.owner}/${how.repo} is not served`);
      const p = state.pulls.find((x) => inRepo(r)(x) && x.number === number);
      if (!p || p.state !== 'open') throw new Error(`mergePull: no open pull request #${number}`);
      const head = await currentHead(r, p);
      const base = await branchSha(r, p.base);
      if (!base) throw new Error(`mergePull: the base branch ${p.base} does not exist`);
      const merged = await runGit(r.bareDir, ['merge-tree', '--write-tree', base, head]);
      if (merged.code === 1) throw new Error(`mergePull: #${number} conflicts with ${p.base}`);
      if (merged.code !== 0) throw new Error(`mergePull: git merge-tree failed: ${merged.stderr.trim()}`);
      const tree = merged.stdout.split('\n')[0]!.trim();
      const at = now();
      const message =
        how.method === 'merge'
          ? `Merge pull request #${number} from ${r.owner}/${p.head}\n\n${p.title}\n`
          : `${p.title} (#${number})\n`;
      const parents = how.method === 'merge' ? [base, head] : [base];
      const sha = await gitOk(r.bareDir, ['commit-tree', tree, ...parents.flatMap((x) => ['-p', x])], {
        input: message,
        env: {
          GIT_AUTHOR_NAME: how.by,
          GIT_AUTHOR_EMAIL: `${numericId(`user:${how.by}`)}+${how.by}@users.noreply.github.com`,
          GIT_AUTHOR_DATE: at,
          GIT_COMMITTER_NAME: 'GitHub',
          GIT_COMMITTER_EMAIL: 'noreply@github.com',
          GIT_COMMITTER_DATE: at,
        },
      });
      await gitOk(r.bareDir, ['update-ref', `refs/heads/${p.base}`, sha, base]);
      Object.assign(p, {
        state: 'closed',
        merged: true,
        mergedAt: at,
        mergedBy: how.by,
        mergeCommitSha: sha,
        closedAt: at,
        closedBy: how.by,
        updatedAt: at,
      });
      return sha;
    },
    async closePull(number, how) {
      const r = repoOf(how.owner ?? first.owner, how.repo ?? first.repo);
      if (!r) throw new Error(`closePull: repository ${how.owner}/${how.repo} is not served`);
      const p = state.pulls.find((x) => inRepo(r)(x) && x.number === number);
      if (!p || p.state !== 'open') throw new Error(`closePull: no open pull request #${number}`);
      const at = now();
      if (how.review) {
        state.reviews.push({
          owner: r.owner,
          repo: r.repo,
          pullNumber: number,
          id: newId(6_000),
          user: how.by,
          body: how.review.body,
          state: how.review.state ?? 'CHANGES_REQUESTED',
          commitId: await currentHead(r, p),
          submittedAt: at,
        });
      }
      if (how.comment !== undefined) {
        state.comments.push({
          owner: r.owner,
          repo: r.repo,
          issueNumber: number,
          id: newId(7_000),
          body: how.comment,
          user: how.by,
          createdAt: at,
          updatedAt: at,
        });
      }
      await currentHead(r, p);
      Object.assign(p, { state: 'closed', closedAt: at, closedBy: how.by, updatedAt: at });
    },
    seedIssue(init) {
      const r = repoOf(init.owner ?? first.owner, init.repo ?? first.repo);
      if (!r) throw new Error(`seedIssue: repository ${init.owner}/${init.repo} is not served`);
      const at = now();
      const i: FakeIssue = {
        owner: r.owner,
        repo: r.repo,
        number: init.number ?? nextNumber(r),
        title: init.title,
        body: init.body ?? null,
        state: init.state ?? 'open',
        labels: init.labels ?? [],
        user: init.user ?? 'someone',
        createdAt: init.createdAt ?? at,
        updatedAt: init.updatedAt ?? at,
        closedAt: init.closedAt ?? ((init.state ?? 'open') === 'closed' ? at : null),
      };
      state.issues.push(i);
      for (const name of i.labels) labelEvent(r, i.number, 'labeled', name, i.user);
      return i;
    },
    labelIssue(number, label, how) {
      const r = repoOf(how.owner ?? first.owner, how.repo ?? first.repo);
      if (!r) throw new Error(`labelIssue: repository ${how.owner}/${how.repo} is not served`);
      const item =
        state.issues.find((x) => inRepo(r)(x) && x.number === number) ??
        state.pulls.find((x) => inRepo(r)(x) && x.number === number);
      if (!item) throw new Error(`labelIssue: no issue or pull request #${number}`);
      const l = ensureLabel(r, label);
      if (!item.labels.some((n) => n.toLowerCase() === l.name.toLowerCase())) item.labels.push(l.name);
      labelEvent(r, number, 'labeled', l.name, how.by);
      item.updatedAt = now();
    },
    closeIssue(number, how) {
      const r = repoOf(how.owner ?? first.owner, how.repo ?? first.repo);
      if (!r) throw new Error(`closeIssue: repository ${how.owner}/${how.repo} is not served`);
      const i = state.issues.find((x) => inRepo(r)(x) && x.number === number);
      if (!i || i.state !== 'open') throw new Error(`closeIssue: no open issue #${number}`);
      const at = now();
      Object.assign(i, { state: 'closed', closedAt: at, closedBy: how.by, updatedAt: at });
    },
    seedCheckRun(init) {
      const r = repoOf(init.owner ?? first.owner, init.repo ?? first.repo);
      if (!r) throw new Error(`seedCheckRun: repository ${init.owner}/${init.repo} is not served`);
      const startedAt = init.startedAt ?? now();
      const conclusion = init.conclusion ?? null;
      const status = init.status ?? (conclusion === null ? 'in_progress' : 'completed');
      const c: FakeCheckRun = {
        owner: r.owner,
        repo: r.repo,
        id: init.id ?? newId(12_000_000),
        headSha: init.headSha,
        name: init.name,
        status,
        conclusion,
        startedAt,
        completedAt: init.completedAt ?? (status === 'completed' ? startedAt : null),
      };
      state.checkRuns.push(c);
      return c;
    },
    seedCommitStatus(init) {
      const r = repoOf(init.owner ?? first.owner, init.repo ?? first.repo);
      if (!r) throw new Error(`seedCommitStatus: repository ${init.owner}/${init.repo} is not served`);
      const x: FakeCommitStatus = {
        owner: r.owner,
        repo: r.repo,
        id: init.id ?? newId(13_000_000),
        sha: init.sha,
        context: init.context,
        state: init.state,
        targetUrl: init.targetUrl ?? `${html(r)}/statuses/${init.context}`,
        description: init.description ?? null,
        createdAt: init.createdAt ?? now(),
      };
      state.commitStatuses.push(x);
      return x;
    },
    async seedDeployment(init) {
      const r = repoOf(init.owner ?? first.owner, init.repo ?? first.repo);
      if (!r) throw new Error(`seedDeployment: repository ${init.owner}/${init.repo} is not served`);
      const at = now();
      const creator = init.creator ?? actor;
      const d: FakeDeployment = {
        owner: r.owner,
        repo: r.repo,
        id: init.id ?? newId(7_000_000),
        sha:
          init.sha ??
          (await branchSha(r, init.ref)) ??
          (/^[0-9a-f]{40}$/.test(init.ref) ? init.ref : '0'.repeat(40)),
        ref: init.ref,
        task: init.task ?? 'deploy',
        environment: init.environment ?? 'production',
        description: init.description ?? null,
        creator,
        createdAt: init.createdAt ?? at,
        updatedAt: init.updatedAt ?? init.createdAt ?? at,
        statuses: (init.statuses ?? []).map((s) => ({
          id: s.id ?? newId(8_000_000),
          state: s.state,
          description: s.description ?? '',
          creator: s.creator ?? creator,
          createdAt: s.createdAt ?? init.createdAt ?? at,
          updatedAt: s.updatedAt ?? s.createdAt ?? init.createdAt ?? at,
        })),
      };
      state.deployments.push(d);
      return d;
    },
    failNext(spec) {
      failures.push({ ...spec, left: spec.times ?? 1 });
    },
    holdNext(spec) {
      let arrive!: () => void;
      let release!: () => void;
      const arrived = new Promise<void>((r) => (arrive = r));
      const released = new Promise<void>((r) => (release = r));
      holds.push({ ...spec, arrive, released });
      return { arrived, release };
    },
    corruptNextResponse(fn) {
      corrupt = fn;
    },
    assertNoViolations() {
      if (state.violations.length) {
        throw new Error(
          `GitHub fake: ${state.violations.length} violation(s) of the OpenAPI description or unknown calls:\n- ${state.violations.join('\n- ')}`,
        );
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
