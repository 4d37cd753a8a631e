// Each test file runs its own Chromium: one file at a time keeps the machine to two browsers at most.
import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

export default mergeConfig(shared, defineConfig({ test: { fileParallelism: false } }));
