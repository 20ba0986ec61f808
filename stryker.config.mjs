/**
 * Mutation testing of the rails (issue #7): `npm run mutation:rails` (not in CI: it takes long). StrykerJS
 * (https://stryker-mutator.io) mutates src/rails/ one change at a time and runs the rails tests against each
 * mutant; the report (reports/mutation/) lists the mutants no test noticed. Threshold: 90 % killed.
 */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: { configFile: 'jest.mutation.config.js', enableFindRelatedTests: false },
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  checkers: [],
  mutate: ['src/rails/**/*.ts'],
  coverageAnalysis: 'perTest',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/rails.html' },
  jsonReporter: { fileName: 'reports/mutation/rails.json' },
  thresholds: { high: 95, low: 90, break: 90 },
  concurrency: 2,
  timeoutMS: 30000,
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'lib', 'reports', '.self-evolution'],
};
