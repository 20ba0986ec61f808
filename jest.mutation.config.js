/**
 * The jest config StrykerJS runs for `npm run mutation:rails`: the rails' own unit and property tests only
 * (pure, no database, no git), so each mutant of src/rails/ is judged in seconds. The corpus test is left out:
 * it drives the whole CLI (git, config) in one beforeAll, which per-test coverage cannot split.
 */
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/__tests__/rails.*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/rails.corpus.test.ts'],
  globalSetup: undefined,
  globalTeardown: undefined,
};
