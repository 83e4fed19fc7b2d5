/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: '<rootDir>/test/setup/nodeEnvironment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  globalSetup: '<rootDir>/test/setup/globalSetup.ts',
  globalTeardown: '<rootDir>/test/setup/globalTeardown.ts',
  testTimeout: 60000,
  // Suites share one Postgres cluster but each gets its own database; two workers suit 2 cores.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/setup/summaryReporter.js'],
};
