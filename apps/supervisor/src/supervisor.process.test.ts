// `npm start` as a user runs it: real processes, a real redis-server, Ctrl-C.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, ping } from '@crawlstream/redis-runner';
import { afterEach, describe, expect, it } from 'vitest';

const main = resolve(fileURLToPath(import.meta.url), '../../dist/main.js');
const running: ChildProcess[] = [];

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every descendant pid of a process. */
function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const byParent = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number) as [number, number];
    byParent.set(parent, [...(byParent.get(parent) ?? []), child]);
  }
  const result: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      result.push(child);
      queue.push(child);
    }
  }
  return result;
}

function start(env: NodeJS.ProcessEnv, args: string[] = []) {
  const child = spawn(process.execPath, [main, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exit = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const waitFor = async (pattern: RegExp, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`did not see ${pattern}; output:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, exit, waitFor, output: () => output };
}

describe('npm start', () => {
  it('brings up Redis, the API and a worker, and Ctrl-C stops all of them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'crawlstream-start-'));
    const port = await freePort();
    const { REDIS_URL: _, ...env } = process.env;
    const run = start({ ...env, PORT: String(port), LOG_LEVEL: 'warn' }, ['--data-dir', dataDir]);
    await run.waitFor(/press Ctrl-C to stop/);
    expect(run.output()).toContain(`http://127.0.0.1:${port}`);

    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    // The dashboard's build (not the page saying it is missing), as the supervisor resolved it.
    const dashboard = await fetch(`http://127.0.0.1:${port}/`);
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers.get('content-security-policy')).toContain("default-src 'self'");

    const redisPid = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
    const redisPort = Number(/redis:\/\/127\.0\.0\.1:(\d+)/.exec(run.output())![1]);
    expect(await ping(redisPort)).toBe(true);
    const pids = descendants(run.child.pid!);
    expect(pids).toContain(redisPid);
    expect(pids.length).toBeGreaterThanOrEqual(3); // redis, api, worker

    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
    for (const pid of [...pids, run.child.pid!]) expect(alive(pid), `pid ${pid}`).toBe(false);
    expect(await ping(redisPort)).toBe(false);
  });

  it('with no REDIS_URL and no redis-server on PATH, says in one sentence how to get Redis', async () => {
    const { REDIS_URL: _, ...env } = process.env;
    const run = start({ ...env, PATH: '/nonexistent' });
    expect(await run.exit).toBe(1);
    expect(run.output()).toMatch(/apt-get install -y redis-server/);
    expect(run.output()).toMatch(/docker compose up/);
  });

  it('stops at start on a bad setting, naming the variable', async () => {
    const run = start({ ...process.env, PORT: 'eighty' });
    expect(await run.exit).toBe(1);
    expect(run.output()).toContain('Invalid PORT');
  });
});
