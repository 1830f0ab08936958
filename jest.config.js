// ESM jest over TypeScript sources: swc strips types, Node's VM modules run the ESM.
// Run through shared/tools/run-jest.mjs, which sets NODE_OPTIONS for --experimental-vm-modules.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  testMatch: ['<rootDir>/*/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  reporters: ['default', '<rootDir>/shared/tools/summary-reporter.cjs'],
  testTimeout: 30000,
};
