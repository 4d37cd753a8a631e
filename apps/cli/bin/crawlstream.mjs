#!/usr/bin/env node
// The `crawlstream` command as npm links it (node_modules/.bin/crawlstream).
// npm links a workspace's bin only when its target exists at install time,
// and `dist/` does not exist until the first build, so the link points at
// this committed file, which runs the built CLI. In a fresh clone it first
// builds the CLI and the workspace packages it runs on (not their test-only
// dependencies, which turbo's `...` filter would add), printing on stderr so
// that stdout stays the command's own; outside the repository it says what
// to run instead.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
const root = new URL('../../../', import.meta.url);

/** Workspace directories to build, dependencies first: this package's runtime `@crawlstream/*` dependencies, transitively. */
function buildOrder(dir, order = [], seen = new Set()) {
  const manifest = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'));
  seen.add(manifest.name);
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (!name.startsWith('@crawlstream/') || seen.has(name)) continue;
    const linked = new URL(`node_modules/${name}/`, root);
    if (existsSync(linked)) buildOrder(linked, order, seen);
  }
  order.push(manifest.name);
  return order;
}

if (!existsSync(main) && existsSync(new URL('turbo.json', root))) {
  const order = buildOrder(new URL('../', import.meta.url));
  process.stderr.write(`crawlstream: the CLI is not built yet; building ${order.join(', ')} once\n`);
  for (const name of order) {
    const built = spawnSync('npm', ['run', 'build', '--silent', `--workspace=${name}`], {
      cwd: fileURLToPath(root),
      stdio: ['ignore', 2, 2],
    });
    if (built.status !== 0) break;
  }
}
if (!existsSync(main)) {
  process.stderr.write(
    `crawlstream: ${fileURLToPath(main)} does not exist: run \`npm run build\` at the repository root, then try again\n`,
  );
  process.exit(1);
}
await import(main.href);
