// Module resolve hook of import-log.mjs: appends each bare specifier resolved (a package) to the log file.
import { appendFileSync } from 'node:fs';

let log;
const seen = new Set();

export function initialize(data) {
  log = data?.log;
}

export async function resolve(specifier, context, next) {
  const bare = !/^(?:\.{0,2}\/|node:|file:|data:)/.test(specifier) && !specifier.startsWith('#');
  if (log && bare && !seen.has(specifier)) {
    seen.add(specifier);
    appendFileSync(log, `${specifier}\n`);
  }
  return next(specifier, context);
}
