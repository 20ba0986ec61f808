/**
 * Loading the config file (`.github/self-evolution-config.json`): read it, parse the JSON, validate
 * it against ConfigSchema and fill in the defaults. Every problem is reported at once, each with the JSON path
 * of the bad value, what was found and what is allowed (renovate-style: collect, do not stop at the first).
 */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { show as showValue } from '../rails/rules/common.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { ConfigSchema, type Config } from './schema.js';

export { ConfigError, type ConfigErrorKind, type ConfigIssue } from './errors.js';

/** A loaded config: `config` validated with defaults filled in, `path` it came from, `raw` the parsed JSON. */
export interface LoadedConfig {
  config: Config;
  path: string;
  raw: unknown;
}

/**
 * Reads, parses and validates the config file at `path` (absolute, or relative to the working directory).
 * @throws ConfigError kind 'not-found' when there is no such file, 'unreadable' when it cannot be read (a
 *   directory, no permission), 'json' with line:column when it is not valid JSON, 'schema' listing every
 *   schema violation.
 */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ConfigError(
        `config file not found: ${path}; create it (see README 'Config reference') or pass --config / config-path`,
        { kind: 'not-found', source: path },
      );
    }
    const why = code === 'EISDIR' ? 'it is a directory, not a file' : (err as Error).message;
    throw new ConfigError(`cannot read config file ${path}: ${why}`, { kind: 'unreadable', source: path });
  }
  return parseConfigText(text, path);
}

/**
 * Parses and validates config JSON text; `source` names it in messages (a path). A UTF-8 byte order mark is
 * ignored. JSON only: no comments, no trailing commas.
 * @throws ConfigError kind 'json' (message and issue give `line:column`, 1-based) or 'schema' (see parseConfig).
 */
export function parseConfigText(text: string, source: string): LoadedConfig {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (err) {
    throw jsonError(body, source, (err as Error).message);
  }
  return { config: parseConfig(raw, source), path: source, raw };
}

/**
 * Validates an already parsed config object against ConfigSchema and returns it with every default filled in
 * (an empty object gives the defaults). Unknown keys are errors; globs in allowedPaths/blockedPaths
 * must be usable (see globProblem in schema.ts).
 * @throws ConfigError kind 'schema' whose `issues` list EVERY problem (one per unknown key), each with its
 *   JSON path and a message saying what was found and what is allowed.
 */
export function parseConfig(raw: unknown, source: string): Config {
  const result = ConfigSchema.safeParse(raw, { error: describeIssue });
  if (result.success) return result.data;
  const issues = toConfigIssues(result.error.issues);
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  const lines = issues.map((i) => `  - ${i.path}: ${i.message}`);
  throw new ConfigError(
    [
      `invalid config file ${source} (${count}):`,
      ...lines,
      `See README 'Config reference' or schema/self-evolution-config.schema.json.`,
    ].join('\n'),
    { kind: 'schema', source, issues },
  );
}

/** `$`, `$.a.b`, `$.proposers[0].kind`, `$["odd key"]`: a JSON path for zod's path segments. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  let out = '$';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z_$][\w$]*$/.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

// ---- schema issues -------------------------------------------------------------------------------------

type RawIssue = z.core.$ZodRawIssue;

/** A found value for a message: the rails' {@link showValue} cut at 60 characters, or `nothing` when missing. */
function show(value: unknown): string {
  return value === undefined ? 'nothing' : showValue(value, 60);
}

/** The JSON type name of a value, as a user would say it. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

const EXPECTED: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
};

/** zod error map: a message that says what was found and what is allowed. */
function describeIssue(iss: RawIssue): string | undefined {
  const found = (iss as { input?: unknown }).input;
  switch (iss.code) {
    case 'invalid_type': {
      const expected = EXPECTED[iss.expected] ?? iss.expected;
      if (found === undefined) return `required: ${expected} is missing`;
      return `expected ${expected}, found ${typeName(found)} ${show(found)}`;
    }
    case 'too_small':
    case 'too_big': {
      const small = iss.code === 'too_small';
      const bound = small
        ? (iss as { minimum: number | bigint }).minimum
        : (iss as { maximum: number | bigint }).maximum;
      const op = small ? (iss.inclusive ? '>=' : '>') : iss.inclusive ? '<=' : '<';
      if (iss.origin === 'string') {
        return `expected a string of ${small ? 'at least' : 'at most'} ${bound} character(s), found ${show(found)}`;
      }
      if (iss.origin === 'array' || iss.origin === 'set') {
        return `expected ${small ? 'at least' : 'at most'} ${bound} item(s), found ${show(found)}`;
      }
      return `expected a number ${op} ${bound}, found ${show(found)}`;
    }
    case 'invalid_value':
      return `expected one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}, found ${show(found)}`;
    case 'invalid_union': {
      const u = iss as { discriminator?: string; options?: unknown[] };
      if (u.discriminator) {
        const options = (u.options ?? []).map((v) => JSON.stringify(v)).join(', ');
        const value =
          typeof found === 'object' && found !== null
            ? (found as Record<string, unknown>)[u.discriminator]
            : found;
        return `expected ${u.discriminator} to be one of ${options}, found ${show(value)}`;
      }
      return `found ${typeName(found)} ${show(found)}, which matches none of the allowed forms`;
    }
    case 'unrecognized_keys': {
      const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod
        ?.def?.shape;
      // The per-key message is built in toConfigIssues; this carries the allowed keys there.
      return shape ? Object.keys(shape).join(', ') : '';
    }
    case 'custom':
      return iss.message;
    default:
      return undefined;
  }
}

/** Edit distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest allowed key, when it is close enough to be a likely typo. */
function suggestion(key: string, allowed: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

/**
 * zod issues -> ConfigIssues: one issue per unknown key (at the key's own path); follow-up issues that zod 4
 * reports at a path that already has a wrong type are dropped (they only repeat it).
 */
function toConfigIssues(issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  const wrongType = new Set(issues.filter((i) => i.code === 'invalid_type').map((i) => jsonPath(i.path)));
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = jsonPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const allowed = issue.message ? issue.message.split(', ') : [];
      for (const key of issue.keys) {
        const hint = suggestion(key, allowed);
        out.push({
          path: jsonPath([...issue.path, key]),
          message:
            `unknown key ${JSON.stringify(key)}` +
            (hint ? `; did you mean ${JSON.stringify(hint)}?` : '') +
            (allowed.length ? ` (allowed here: ${allowed.join(', ')})` : ''),
        });
      }
      continue;
    }
    if (issue.code !== 'invalid_type' && wrongType.has(path)) continue;
    out.push({ path, message: issue.message });
  }
  return out;
}

// ---- JSON syntax errors ----------------------------------------------------------------------------------

/**
 * Builds the 'json' ConfigError. V8 does not always give a position ("Unexpected token ..."), so the offset
 * comes from jsonc-parser (jsonErrorOffset); V8's position is the fallback.
 */
function jsonError(text: string, source: string, v8Message: string): ConfigError {
  const scanned = jsonErrorOffset(text);
  const v8Position = /at position (\d+)/.exec(v8Message);
  const offset = scanned?.offset ?? (v8Position ? Number(v8Position[1]) : text.length);
  const reason = scanned?.reason ?? v8Message;
  const { line, column } = lineColumn(text, offset);
  const lineText = text.split(/\r?\n/)[line - 1] ?? '';
  const hint = text[offset] === '/' ? ' (JSON allows no comments)' : '';
  const message = `invalid JSON in config file ${source} at line ${line}, column ${column}: ${reason}${hint}`;
  return new ConfigError(
    [message, `  ${lineText.slice(0, 200)}`, `  ${' '.repeat(Math.min(column - 1, 200))}^`].join('\n'),
    { kind: 'json', source, issues: [{ path: '$', message: `line ${line}:${column}: ${reason}${hint}` }] },
  );
}

/** 1-based line and column (in UTF-16 code units) of `offset` in `text`. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** Plain words for jsonc-parser's error codes (keyed by printParseErrorCode names; the enum is const). */
const JSON_ERROR_WORDS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a double-quoted property name (no trailing commas)',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':' after the property name",
  CommaExpected: "expected ','",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: 'unexpected text after the end of the JSON value',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'comments are not allowed in JSON',
  UnexpectedEndOfString: 'unterminated string (a line break inside a string must be written \\n)',
  UnexpectedEndOfNumber: 'unexpected end of number',
  InvalidUnicode: 'bad \\u escape: expected 4 hex digits',
  InvalidEscapeCharacter: 'bad escape in a string',
  InvalidCharacter: 'control character inside a string',
};

/**
 * Offset and reason of the first JSON syntax error in `text` (strict JSON: no comments, no trailing commas),
 * or undefined when jsonc-parser finds none. The parsing itself is jsonc-parser's, not ours.
 */
function jsonErrorOffset(text: string): { offset: number; reason: string } | undefined {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return undefined;
  return {
    offset: first.offset,
    reason: JSON_ERROR_WORDS[printParseErrorCode(first.error)] ?? printParseErrorCode(first.error),
  };
}
