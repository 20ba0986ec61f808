/** Jest 30 + ts-jest in ESM mode; run with NODE_OPTIONS=--experimental-vm-modules (see package.json). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  globalSetup: '<rootDir>/__tests__/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/__tests__/helpers/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
  // A worker that holds more than this after a test file is replaced by a fresh one. Node starts a child process
  // with fork(), whose cost grows with the parent's memory, and the suite starts some 25,000 (git, sh, the CLI):
  // measured on 2 cores, the whole suite took 529 s without this and 410 s with it.
  workerIdleMemoryLimit: '300MB',
};
