// Runs the UI measurement (not a test of pass/fail): npm run measure:ui
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/measureDevices.ts'],
    environment: 'node',
    testTimeout: 900_000,
    hookTimeout: 900_000,
    pool: 'forks',
  },
});
