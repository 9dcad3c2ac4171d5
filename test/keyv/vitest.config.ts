import { defineConfig } from 'vitest/config'

// Only the official @keyv/test-suite runs under vitest (it is the runner the suite supports).
// Everything else in test/keyv is tape (`*.test.ts`, run by `node --import tsx test/run.ts keyv`).
export default defineConfig({
  test: {
    include: ['test/keyv/**/*.spec.ts'],
    environment: 'node',
    // The suite has tests that wait for TTLs; leave room on slow machines.
    testTimeout: 20_000,
  },
})
