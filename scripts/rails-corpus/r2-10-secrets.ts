/**
 * Rails round 2 (issue #7), class r2-10: Secrets the preset misses: vendor key formats (gitleaks-style rules), split and concatenated literals, encodings (escapes, base64), values on the next line, secrets in file names.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import type { Case } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

export const CASES: Case[] = [];
