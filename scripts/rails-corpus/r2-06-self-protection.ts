/**
 * Rails round 2 (issue #7), class r2-06: Self-protection beyond src/rails/: the files the running action is built from (dist/, action.yml, bin/, build scripts, package.json scripts, check and facts code, config schema), the policy file, .github/**, local actions, CODEOWNERS, PR templates.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import type { Case } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

export const CASES: Case[] = [];
