/** The fast tier: no PostgreSQL, no model (npm run test:fast): route rules over stub services, and the unit tests. */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/fast/**/*.test.ts', '<rootDir>/test/**/*.unit.test.ts'],
  globalSetup: undefined,
  globalTeardown: undefined,
};
