// Registered with `node --import` by __tests__/cli.imports.test.ts: records every package a process loads.
// Each bare specifier (a package name, not a relative path or a node: builtin) that is resolved is written,
// once, to the file named by SE_IMPORT_LOG, so the test can see which packages a CLI command pulled in.
import { register } from 'node:module';

register(new URL('./import-log-hooks.mjs', import.meta.url), {
  parentURL: import.meta.url,
  data: { log: process.env.SE_IMPORT_LOG },
});
