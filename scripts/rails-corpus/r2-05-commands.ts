/**
 * Rails round 2 (issue #7), class r2-05: Commands hidden from the command rule: command paths (GNUmakefile, Containerfile, *.mk, shebang files, conftest.py, setup.py, Rakefile...), process APIs of source code, shell evasions.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import type { Case } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

export const CASES: Case[] = [];
