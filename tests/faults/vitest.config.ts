// The fault suite: one scenario at a time (they time crawls on 2 shared
// cores), each file's rows printed as one table when the run ends.
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      globalSetup: [fileURLToPath(new URL('./src/report.global.ts', import.meta.url))],
      fileParallelism: false,
      testTimeout: 240_000,
      hookTimeout: 60_000,
    },
  }),
);
