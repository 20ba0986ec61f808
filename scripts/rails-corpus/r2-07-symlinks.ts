/**
 * Rails round 2 (issue #7), class r2-07: Symlinks: a policy file that is a link (editing its target), paths under a linked directory, patches git refuses to apply (change-unapplicable).
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import type { Case } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

export const CASES: Case[] = [];
