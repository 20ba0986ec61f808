/**
 * Rails round 2 (issue #7), class r2-04: Content rules that only read added lines: continuations joined with unchanged lines, pure renames into a command path, YAML folded and literal block scalars.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import type { Case } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

export const CASES: Case[] = [];
