/** Runs the CLI from source (through tsx), as bin/self-evolution.js runs it from lib/. */
import { main } from '../../src/cli.js';

process.exitCode = await main(process.argv);
