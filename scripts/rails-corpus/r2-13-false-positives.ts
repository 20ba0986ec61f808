/**
 * Rails round 2 (issue #7), class r2-13: False positives to remove: names that merely contain auth or credentials, .env.example files with empty or placeholder values, copy sources.
 * Hostile cases are blocked (named `<rule-id>--<case>`), benign ones allowed. At least three cases.
 */
import type { BaseVariant } from '../../__tests__/helpers/rails-corpus.js';
import { type Case, H, B, write } from './lib.js';

/** Base variants the cases below are made against and checked in. */
export const BASES: Record<string, BaseVariant> = {};

export const CASES: Case[] = [
  // -- `*auth*` (risk 4 "authentication") matched author.ts: authentication code stays 4, words about authors
  //    are ordinary source (2). (issue #7 class 13, rails/policy.ts DEFAULT_RISK_RUBRIC)
  B({
    name: 'author-module-is-not-auth',
    note: 'src/author.ts (who wrote a page) is source code (risk 2), not authentication (issue example)',
    change: write({
      'src/author.ts': 'export const authorOf = (page: { by?: string }): string => page.by ?? "unknown";\n',
    }),
  }),
  B({
    name: 'authors-directory-and-coauthor-module',
    note: 'src/authors/list.ts and src/coauthored.ts: words about authors',
    change: write({
      'src/authors/list.ts': 'export const AUTHORS: string[] = [];\n',
      'src/coauthored.ts': 'export const coauthored = (a: string[]): boolean => a.length > 1;\n',
    }),
  }),
  B({
    name: 'author-card-component',
    note: 'src/AuthorCard.ts: a UI component about authors',
    change: write({
      'src/AuthorCard.ts': 'export const AuthorCard = (name: string): string => `<b>${name}</b>`;\n',
    }),
  }),
  H({
    name: 'risk-high--oauth-callback',
    note: 'src/oauth/callback.ts: authentication code stays risk 4',
    change: write({ 'src/oauth/callback.ts': 'export const callback = (code: string): string => code;\n' }),
  }),
  H({
    name: 'risk-high--authorize-module',
    note: 'src/authorize.ts: "author" followed by "ize" is authorization, risk 4',
    change: write({
      'src/authorize.ts': 'export const authorize = (role: string): boolean => role === "admin";\n',
    }),
  }),
  H({
    name: 'risk-high--login-handler',
    note: 'src/login.ts: a login handler is authentication, risk 4',
    change: write({ 'src/login.ts': 'export const login = (user: string): string => user;\n' }),
  }),
  H({
    name: 'risk-high--authn-directory',
    note: 'src/authn/session.ts: an authn directory',
    change: write({ 'src/authn/session.ts': 'export const session = (): number => 0;\n' }),
  }),
];
