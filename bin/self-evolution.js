#!/usr/bin/env node
// Entry of the `self-evolution` command: the compiled CLI adapter (lib/ is built by `npm ci` via prepare).
import { main } from '../lib/cli.js';

process.exitCode = await main(process.argv);
