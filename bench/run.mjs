// `npm run bench`: every benchmark under bench/, one after another, each
// printing its own figures next to its reference.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv[2];
const benches = readdirSync(here).filter(
  (name) => statSync(join(here, name)).isDirectory() && (!only || name === only),
);
let failed = 0;
for (const name of benches) {
  const result = spawnSync(process.execPath, [join(here, name, 'run.mjs')], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
