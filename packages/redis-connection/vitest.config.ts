import { defineConfig } from 'vitest/config';

// Its tests start their own servers (redis-runner): no shared Redis needed.
export default defineConfig({ test: { include: ['src/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 } });
