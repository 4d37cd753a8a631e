// Vitest global setup of the fault suite: a fresh rows file for the run
// (handed to test files as `inject('faultsReport')`), printed as one table
// when the run ends.
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { formatTable, readRows } from './report.js';
import { SCENARIO_NAMES } from './scenario-names.js';

declare module 'vitest' {
  export interface ProvidedContext {
    faultsReport: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = join(tmpdir(), 'crawlstream-faults');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `rows-${process.pid}-${Date.now()}.jsonl`);
  project.provide('faultsReport', file);
  return () => {
    const order = (name: string) => (SCENARIO_NAMES as readonly string[]).indexOf(name);
    const rows = readRows(file).sort((a, b) => order(a.scenario) - order(b.scenario));
    const missing = SCENARIO_NAMES.filter((name) => !rows.some((row) => row.scenario === name));
    const lines = [`\nfault suite: ${rows.length} scenarios measured (rows in ${file})`, formatTable(rows)];
    for (const name of missing) lines.push(`  ${name}: not run`);
    process.stdout.write(`${lines.join('\n')}\n`);
    if (rows.length === 0) rmSync(file, { force: true });
  };
}
