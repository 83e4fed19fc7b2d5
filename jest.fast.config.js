/** The fast tier: route rules over stub services, no PostgreSQL or model (npm run test:fast). */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = { ...base, roots: ['<rootDir>/test/fast'], globalSetup: undefined, globalTeardown: undefined };
