import { defineConfig } from 'vitest/config';

// No Redis here; the timeouts are the worker's, where these tests ran before
// (a 150,000-link page takes seconds on a loaded machine).
export default defineConfig({ test: { include: ['src/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 } });
