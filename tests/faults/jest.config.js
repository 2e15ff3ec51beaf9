/** @type {import('jest').Config} */
// `npm run test:faults`: the suite that breaks things on purpose (its own PostgreSQL and Redis processes).
const base = require('../../jest.config');

module.exports = {
  ...base,
  rootDir: require('node:path').resolve(__dirname, '../..'),
  roots: ['<rootDir>/tests/faults'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  globalSetup: '<rootDir>/tests/faults/global-setup.ts',
  globalTeardown: '<rootDir>/tests/faults/global-teardown.ts',
  testTimeout: 600_000,
};
