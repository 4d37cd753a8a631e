// Every `npm`/`npx` command the top-level README shows is checked: either run
// here, at the repository root as a newcomer types it, or covered by a named
// process test whose entry point is exactly what the root script runs, or run
// by CI (.ci/run). A README command with no entry in COVERAGE fails the first
// test, so the README cannot show a command that nothing runs.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { closedPort } from '@crawlstream/testkit';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SCRIPTS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
/** The README's example crawl: its URL is never fetched (the API it is sent to does not exist). */
const README_CRAWL = 'npx crawlstream crawl https://docs.example.com/guide/ --max-pages 200 -o guide.md';

type Coverage =
  /** Run here; the command must exit 0 (or `exitCode`) and print `prints` on stdout or stderr. */
  | { kind: 'run'; exitCode?: number; prints: RegExp }
  /** A server: the root script ends by running `entry`, which the test file `test` (found by name) spawns. */
  | { kind: 'process'; script: string; entry: string; test: string; mentions: string }
  /** Run by CI: a line of .ci/run is exactly this command (with options after it). */
  | { kind: 'ci' };

const COVERAGE: Record<string, Coverage> = {
  'npm ci': { kind: 'ci' },
  'npm test': { kind: 'ci' },
  'npm start': {
    kind: 'process',
    script: 'start',
    entry: 'apps/supervisor/dist/main.js',
    test: 'supervisor.process.test.ts',
    mentions: 'npm start',
  },
  'npm run start:api': {
    kind: 'process',
    script: 'start:api',
    entry: 'apps/api/dist/main.js',
    test: 'api-restart.browser.test.ts',
    mentions: 'npm run start:api',
  },
  'npm run start:worker': {
    kind: 'process',
    script: 'start:worker',
    entry: 'apps/worker/dist/main.js',
    test: 'worker.process.test.ts',
    mentions: 'mainJs',
  },
  'npm run start:renderer': {
    kind: 'process',
    script: 'start:renderer',
    entry: 'apps/renderer/dist/main.js',
    test: 'renderer.process.test.ts',
    mentions: 'mainJs',
  },
  'npx crawlstream --help': { kind: 'run', prints: /^Usage: crawlstream <command>/m },
  // The flags parse (not exit 2) and the CLI reports the missing API (exit 3);
  // crawlstream.process.test.ts runs real crawls through the same binary.
  [README_CRAWL]: { kind: 'run', exitCode: 3, prints: /cannot reach the API at http:\/\/127\.0\.0\.1:\d+/ },
  'npm run build': { kind: 'run', prints: /Tasks:\s+\d+ successful/ },
  'npm run lint': { kind: 'run', prints: /Checked \d+ files?/ },
  'npm run typecheck': { kind: 'run', prints: /Tasks:\s+\d+ successful/ },
};

/** `FOO=bar npm start  # comment` → `npm start`; null when the text is not an npm/npx command. */
function commandOf(text: string): string | null {
  const line = text
    .replace(/^\s*\$\s+/, '')
    .replace(/\s+#.*$/, '')
    .replace(/^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+/, '')
    .trim();
  return /^np[mx] /.test(line) ? line.replace(/\s+/g, ' ') : null;
}

/** Every npm/npx command in the README: lines of fenced code blocks (split at `&&`) and inline code spans. */
function readmeCommands(markdown: string): string[] {
  const found = new Set<string>();
  const add = (text: string) => {
    for (const part of text.split('&&')) {
      const command = commandOf(part);
      if (command) found.add(command);
    }
  };
  const prose = markdown.replace(/^```[^\n]*\n([\s\S]*?)^```$/gm, (_block, body: string) => {
    for (const line of body.split('\n')) add(line);
    return '';
  });
  for (const match of prose.matchAll(/`([^`\n]+)`/g)) add(match[1]!);
  return [...found].sort();
}

/** A test file anywhere in the repository (tests may move between workspaces). */
function findFile(name: string, dir = ROOT): string | null {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(name, path);
      if (found) return found;
    } else if (entry.name === name) return path;
  }
  return null;
}

/** Runs a README command at the repository root; npx may use only what is installed (never the registry). */
function runAtRoot(command: string, args: string[] = []): Promise<{ code: number; output: string }> {
  const [bin, ...rest] = command.split(' ');
  return new Promise((resolve) => {
    execFile(
      bin!,
      [...rest, ...args],
      { cwd: ROOT, env: { ...process.env, npm_config_yes: 'false', NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}\n${stderr}` });
      },
    );
  });
}


describe('the README', () => {
  it('shows only commands that are checked, and every check is a command it shows', () => {
    const commands = readmeCommands(README);
    expect(commands.filter((command) => !(command in COVERAGE))).toEqual([]);
    expect(Object.keys(COVERAGE).filter((command) => !commands.includes(command))).toEqual([]);
  });

  it('sends no reader outside the repository', () => {
    expect(README).not.toMatch(/\]\(\.\.\//);
  });

  it('names a process test for each command that starts a server, running what the root script runs', () => {
    for (const [command, coverage] of Object.entries(COVERAGE)) {
      if (coverage.kind !== 'process') continue;
      expect(SCRIPTS[coverage.script], command).toMatch(new RegExp(`node (?:--\\S+ )*${coverage.entry.replaceAll('.', '\\.')}$`));
      const test = findFile(coverage.test);
      expect(test, `${command}: no ${coverage.test} in the repository`).not.toBeNull();
      expect(readFileSync(test!, 'utf8'), `${command}: ${relative(ROOT, test!)}`).toContain(coverage.mentions);
    }
  });

  it('leaves npm ci and npm test to CI, which runs exactly them', () => {
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8').split('\n').map((line) => line.trim());
    for (const [command, coverage] of Object.entries(COVERAGE)) {
      if (coverage.kind !== 'ci') continue;
      expect(ci.some((line) => line === command || line.startsWith(`${command} `)), command).toBe(true);
    }
  });

  it('links npx crawlstream to the committed bin shim, which exists before any build', () => {
    const shim = fileURLToPath(new URL('../bin/crawlstream.mjs', import.meta.url));
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string> };
    expect(manifest.bin).toEqual({ crawlstream: './bin/crawlstream.mjs' });
    expect(statSync(shim).mode & 0o111).not.toBe(0);
    const linked = join(ROOT, 'node_modules/.bin/crawlstream');
    expect(existsSync(linked)).toBe(true);
    expect(realpathSync(linked), 'an install from before the shim: run `npm ci` (or `npm rebuild @crawlstream/cli`)').toBe(shim);
  });

  // One at a time, in the order a newcomer would type them.
  for (const [command, coverage] of Object.entries(COVERAGE)) {
    if (coverage.kind !== 'run') continue;
    it(`runs: ${command}`, { timeout: 600_000 }, async () => {
      const args = command === README_CRAWL ? ['--api', `http://127.0.0.1:${await closedPort()}`] : [];
      const { code, output } = await runAtRoot(command, args);
      expect(code, output).toBe(coverage.exitCode ?? 0);
      expect(output).toMatch(coverage.prints);
    });
  }
});
