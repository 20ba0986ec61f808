/**
 * Rails round 2 (issue #7), class r2-03: Copies and renames that shrink the counts: a copy counts all its lines, a rename its edits; a copy source is read, not changed (no false positives from it); copying a secret file stays blocked.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import type { Case } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

export const CASES: Case[] = [];
