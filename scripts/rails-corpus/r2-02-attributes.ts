/**
 * Rails round 2 (issue #7), class r2-02: Attributes that change what git reports: a .gitattributes (anywhere) with -diff, binary, filter=, diff=, eol or text tricks that make a file look binary or hide its lines.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import type { Case } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

export const CASES: Case[] = [];
