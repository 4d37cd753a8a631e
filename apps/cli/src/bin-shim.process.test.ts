// The committed bin shim (bin/crawlstream.mjs), which npm links as
// `crawlstream` at install time, before any dist/ exists: it runs the built
// CLI with the user's arguments and exit code; in a fresh clone it first
// builds the CLI and the workspace packages it depends on, dependencies
// first; and when it cannot, it says what to run. Each case runs the real
// shim in a scratch repository laid out like this one.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SHIM = fileURLToPath(new URL('../bin/crawlstream.mjs', import.meta.url));
const scratch: string[] = [];

afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A main.js that reports its arguments and exits with the code given as its first one. */
const FAKE_MAIN = `console.log(JSON.stringify(process.argv.slice(2))); process.exitCode = Number(process.argv[2] ?? 0);\n`;

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

/** A scratch repository: apps/cli with the shim, optionally a workspace package it depends on. */
function repository(options: { workspaces: boolean; built?: boolean }): string {
  const root = mkdtempSync(join(tmpdir(), 'crawlstream-shim-'));
  scratch.push(root);
  const cli = join(root, 'apps/cli');
  mkdirSync(join(cli, 'bin'), { recursive: true });
  copyFileSync(SHIM, join(cli, 'bin/crawlstream.mjs'));
  const manifest: Record<string, unknown> = { name: '@crawlstream/cli', version: '0.0.0', type: 'module' };
  if (options.workspaces) {
    write(join(root, 'turbo.json'), '{}\n');
    write(join(root, 'package.json'), JSON.stringify({ name: 'scratch', private: true, workspaces: ['packages/*', 'apps/*'] }));
    write(
      join(root, 'packages/dep/package.json'),
      JSON.stringify({
        name: '@crawlstream/dep',
        version: '0.0.0',
        scripts: { build: `node -e "require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/built','')"` },
      }),
    );
    mkdirSync(join(root, 'node_modules/@crawlstream'), { recursive: true });
    symlinkSync('../../packages/dep', join(root, 'node_modules/@crawlstream/dep'));
    manifest.dependencies = { '@crawlstream/dep': '*', 'not-a-workspace': '*' };
    // Fails unless the dependency was built first.
    const build = [
      `const fs = require('fs');`,
      `if (!fs.existsSync('../../packages/dep/dist/built')) process.exit(1);`,
      `fs.mkdirSync('dist', {recursive: true});`,
      `fs.writeFileSync('dist/main.js', ${JSON.stringify(FAKE_MAIN)});`,
    ].join(' ');
    manifest.scripts = { build: `node -e "${build.replaceAll('"', '\\"')}"` };
  }
  write(join(cli, 'package.json'), JSON.stringify(manifest));
  if (options.built) write(join(cli, 'dist/main.js'), FAKE_MAIN);
  return root;
}

function runShim(root: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(root, 'apps/cli/bin/crawlstream.mjs'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('bin/crawlstream.mjs', () => {
  it('runs the built CLI with every argument, and exits with its code', async () => {
    const root = repository({ workspaces: false, built: true });
    const run = await runShim(root, ['7', 'crawl', 'https://example.com/', '--json']);
    expect(JSON.parse(run.stdout)).toEqual(['7', 'crawl', 'https://example.com/', '--json']);
    expect(run.code).toBe(7);
    expect(run.stderr).toBe('');
  });

  it('outside a repository, without a build: exit 1 and a message saying to run npm run build', async () => {
    const root = repository({ workspaces: false });
    const run = await runShim(root, ['--help']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('apps/cli/dist/main.js does not exist: run `npm run build` at the repository root');
  });

  it('in a fresh clone: builds its workspace dependencies, then itself, then runs, keeping stdout its own', async () => {
    const root = repository({ workspaces: true });
    const run = await runShim(root, ['0', '--help']);
    expect(run.stderr).toContain('the CLI is not built yet; building @crawlstream/dep, @crawlstream/cli once');
    expect(existsSync(join(root, 'packages/dep/dist/built'))).toBe(true);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(['0', '--help']);
  });
});
