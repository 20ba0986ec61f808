/**
 * Rails round 2 (issue #7), class r2-01: Submodules made invisible: a gitlink hidden by `ignore = all` in .gitmodules (in the base or added by the change), .gitmodules edits of url/ignore/update/branch.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import type { Case } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

export const CASES: Case[] = [];
