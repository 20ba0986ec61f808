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
  // Four workers on two cores: a test file spends part of its time waiting (on git, Postgres, a child process, a
  // timer), which the other workers fill. Measured on a fresh clone with 2 cores: 308 s with 2 workers, 265 s with
  // 3; later, with more tests, back to back on one clone: 290 s with 3, 276 s with 4.
  maxWorkers: 4,
  // Every test file gets a fresh worker. Node starts a child process with fork(), whose cost grows with the
  // parent's resident memory, and the suite starts some 17,000 (git, sh, the CLI) from its workers. A worker's
  // memory grows with every file it runs (Jest's module registries, PGlite's WebAssembly memory: ~850 MB after a
  // PGlite file), but Jest recycles a worker by its V8 heap (heapUsed) only, which misses most of it; a limit below
  // any file's heap recycles after each file. Measured on 2 cores (fresh clone, 2 workers): 386 s with a 300 MB
  // limit, 308 s with this one; a spawn of /bin/true from a worker took 15 ms on average, now 6 ms.
  workerIdleMemoryLimit: '1MB',
};
