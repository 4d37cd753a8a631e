// `npm start` as a user runs it: real processes, a real redis-server, Ctrl-C.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, ping, startRedisServer } from '@crawlstream/redis-runner';
import { afterEach, describe, expect, it } from 'vitest';
import { findChromium } from '@crawlstream/renderer/chromium';
import { REDIS_STOP_MS, running, STOP_GRACE_MS } from './stop.js';

const main = resolve(fileURLToPath(import.meta.url), '../../dist/main.js');
const started: ChildProcess[] = [];

const strays: number[] = [];

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const pid of strays.splice(0)) if (running(pid)) process.kill(pid, 'SIGKILL');
});

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
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

/** Starts `npm start`'s entry; `ownGroup` puts it in a process group of its own, as a shell does a job. */
function start(env: NodeJS.ProcessEnv, args: string[] = [], ownGroup = false) {
  const child = spawn(process.execPath, [main, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup });
  started.push(child);
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
    expect(pids.length).toBeGreaterThanOrEqual(4); // redis, api, worker, watchdog
    // A renderer runs when this machine has a Chromium, and the output says which.
    const chromium = findChromium(env.CHROMIUM_PATH, env.PATH ?? '');
    const renderers = pids.filter((pid) => commandLineOf(pid).includes('apps/renderer/dist/main.js'));
    expect(renderers.length).toBe(chromium ? 1 : 0);
    expect(run.output()).toContain(chromium ? `renderer started (Chromium: ${chromium})` : 'no Chromium found');

    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
    // The watchdog leaves a moment after the supervisor (when its channel closes).
    await deaths(Object.fromEntries(pids.map((pid) => [String(pid), pid])), 5_000);
    expect(await ping(redisPort)).toBe(false);
  });

  it('without a Chromium, starts no renderer and says how to get one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'crawlstream-start-'));
    const { REDIS_URL: _, ...env } = process.env;
    const run = start({ ...env, PORT: String(await freePort()), LOG_LEVEL: 'warn', CHROMIUM_PATH: join(dataDir, 'no-chromium') }, ['--data-dir', dataDir]);
    await run.waitFor(/press Ctrl-C to stop/);
    expect(run.output()).toMatch(/no Chromium found at CHROMIUM_PATH .*apt-get install chromium/);
    expect(descendants(run.child.pid!).some((pid) => commandLineOf(pid).includes('apps/renderer/dist/main.js'))).toBe(false);
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
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

/** The processes of a running supervisor, by role, from their command lines. */
function roles(supervisor: number, dataDir: string) {
  const redis = Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8'));
  const byMarker = (marker: string) =>
    descendants(supervisor).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
  const found = { api: byMarker('apps/api/dist/main.js'), worker: byMarker('apps/worker/dist/main.js'), watchdog: byMarker('watchdog.js'), redis };
  for (const [role, pid] of Object.entries(found)) expect(pid, role).toBeGreaterThan(0);
  strays.push(...(Object.values(found) as number[]));
  const renderer = byMarker('apps/renderer/dist/main.js');
  if (renderer) strays.push(renderer);
  return found as Record<keyof typeof found, number>;
}

/** Polls until every pid is gone (zombies count as gone); resolves with when each went, in ms since epoch. */
async function deaths(pids: Record<string, number>, timeoutMs: number): Promise<Record<string, number>> {
  const at: Record<string, number> = {};
  const deadline = Date.now() + timeoutMs;
  while (Object.keys(at).length < Object.keys(pids).length) {
    for (const [role, pid] of Object.entries(pids)) if (at[role] === undefined && !running(pid)) at[role] = Date.now();
    if (Date.now() > deadline) throw new Error(`still running after ${timeoutMs} ms: ${Object.keys(pids).filter((r) => at[r] === undefined)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return at;
}

async function startService(dataDir: string, ownGroup = false) {
  const port = await freePort();
  const { REDIS_URL: _, ...env } = process.env;
  const run = start({ ...env, PORT: String(port), LOG_LEVEL: 'warn' }, ['--data-dir', dataDir], ownGroup);
  await run.waitFor(/press Ctrl-C to stop/);
  const redisPort = Number(/redis:\/\/127\.0\.0\.1:(\d+)/.exec(run.output())![1]);
  return { run, port, redisPort, pids: roles(run.child.pid!, dataDir) };
}

describe('npm start: stopping', () => {
  // Ctrl-C in a terminal signals the whole foreground process group. Were
  // Redis in that group (as before), it would stop at once, while the API and
  // the worker still use it: the order assertion fails. SIGTERM to the
  // supervisor alone (systemd, docker stop) takes the supervisor's own path.
  it.each([
    ['SIGINT to its process group (Ctrl-C in a terminal)', 'SIGINT', true],
    ['SIGTERM to the supervisor', 'SIGTERM', false],
  ] as const)('on %s: stops the API and the worker first, then Redis, exits 0 and leaves no process', async (_what, signal, group) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'crawlstream-stop-'));
    const { run, redisPort, pids } = await startService(dataDir, group);
    const { watchdog, ...children } = pids;
    const watching = deaths(children, 60_000);
    process.kill(group ? -run.child.pid! : run.child.pid!, signal);
    expect(await run.exit).toBe(0);
    const at = await watching;
    expect(at.redis, JSON.stringify(at)).toBeGreaterThan(Math.max(at.api!, at.worker!));
    // The supervisor's own account, in the same order.
    const log = run.output();
    const redisStopped = log.indexOf('redis-server stopped');
    expect(log.indexOf('api stopped')).toBeGreaterThan(-1);
    expect(log.indexOf('worker stopped')).toBeGreaterThan(-1);
    expect(redisStopped).toBeGreaterThan(Math.max(log.indexOf('api stopped'), log.indexOf('worker stopped')));
    // Nothing is left: no child, no watchdog (told it is done), Redis does not answer.
    await deaths({ watchdog }, 5_000);
    expect(descendants(run.child.pid!)).toEqual([]);
    expect(await ping(redisPort)).toBe(false);
  });

  // Before the watchdog, a supervisor killed outright left the API, the worker
  // and redis-server running (they were its children, not its process group's
  // hostages): the deaths() wait times out.
  it('when the supervisor is killed with SIGKILL, its watchdog stops the apps, then Redis, and a new start finds nothing left over', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'crawlstream-kill-'));
    const first = await startService(dataDir);
    const { watchdog, ...children } = first.pids;
    const watching = deaths(children, STOP_GRACE_MS + REDIS_STOP_MS + 10_000);
    first.run.child.kill('SIGKILL');
    const at = await watching;
    expect(at.redis, JSON.stringify(at)).toBeGreaterThan(Math.max(at.api!, at.worker!));
    await deaths({ watchdog }, 5_000);
    expect(await ping(first.redisPort)).toBe(false);

    const second = await startService(dataDir);
    expect(second.run.output()).not.toContain('left over');
    second.run.child.kill('SIGTERM');
    expect(await second.run.exit).toBe(0);
  });

  it('stops a redis-server left over from an earlier run (supervisor and watchdog both killed) and starts anew on the same data', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'crawlstream-stale-'));
    // The leftover: a redis-server on the supervisor's data directory and pid file, holding its AOF.
    const stale = await startRedisServer({ dir: join(dataDir, 'redis'), aof: true, ownProcessGroup: true });
    strays.push(stale.pid);
    expect(await ping(stale.port)).toBe(true);

    const { run, port, redisPort, pids } = await startService(dataDir);
    expect(run.output()).toContain(`stopping a redis-server left over from an earlier run (pid ${stale.pid})`);
    expect(running(stale.pid)).toBe(false);
    expect(await ping(stale.port)).toBe(false);
    expect(pids.redis).not.toBe(stale.pid);
    expect(await ping(redisPort)).toBe(true);
    const health = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(health.status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
  });
});
