#!/usr/bin/env node
// The `crawlstream` command as npm links it (node_modules/.bin/crawlstream).
// npm links a workspace's bin only when its target exists at install time,
// and `dist/` does not exist until the first build, so the link points at
// this committed file, which runs the built CLI. In a fresh clone it builds
// the CLI (and what it imports) first, with its output on stderr so stdout
// stays the command's own; outside the repository it says what to run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
const root = new URL('../../../', import.meta.url);
const turbo = new URL('node_modules/.bin/turbo', root);

if (!existsSync(main) && existsSync(new URL('turbo.json', root)) && existsSync(turbo)) {
  process.stderr.write('crawlstream: the CLI is not built yet; building it once (turbo run build --filter=@crawlstream/cli...)\n');
  spawnSync(fileURLToPath(turbo), ['run', 'build', '--filter=@crawlstream/cli...', '--output-logs=errors-only'], {
    cwd: fileURLToPath(root),
    stdio: ['ignore', 2, 2],
  });
}
if (!existsSync(main)) {
  process.stderr.write(
    `crawlstream: ${fileURLToPath(main)} does not exist: run \`npm run build\` at the repository root, then try again\n`,
  );
  process.exit(1);
}
await import(main.href);
