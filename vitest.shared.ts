// Vitest settings shared by every package whose tests need Redis.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: [fileURLToPath(new URL('./packages/testkit/dist/global-setup.js', import.meta.url))],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    include: ['src/**/*.test.ts'],
  },
});
