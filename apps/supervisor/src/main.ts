// `npm start`: the whole service on one machine. Without REDIS_URL it starts a
// private redis-server (data under .data/redis, AOF on, noeviction), then the
// API, one worker and, when Chromium is found, one renderer; Ctrl-C stops the apps first and Redis last, leaving no
// process behind. Redis runs in a process group of its own, so that Ctrl-C in
// a terminal (a signal to the whole foreground group) does not stop it before
// the apps. A watchdog (watchdog.ts) stops everything in the same order if
// the supervisor itself is killed outright; a redis-server left over anyway
// (the watchdog killed too) is stopped at the next start.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  findRedisServer,
  HOW_TO_GET_REDIS,
  type RedisServer,
  startRedisServer,
} from '@crawlstream/redis-runner';
import { loadConfigOrExit } from '@crawlstream/shared';
import { findChromium, HOW_TO_GET_CHROMIUM } from '@crawlstream/renderer/chromium';
import { REDIS_STOP_MS, running, STOP_GRACE_MS, stopProcesses, type WatchdogMessage, type WatchedProcess } from './stop.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values: args } = parseArgs({
  options: { 'data-dir': { type: 'string', default: join(repoRoot, '.data') } },
});
const config = loadConfigOrExit();
const say = (line: string) => process.stdout.write(`[crawlstream] ${line}\n`);

const children: { name: string; child: ChildProcess }[] = [];
let redis: RedisServer | undefined;
let stopping = false;

/** A redis-server left by an earlier run that was killed outright (watchdog included): stop it. */
async function stopLeftoverRedis(dir: string): Promise<void> {
  const pidFile = join(dir, 'redis.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (pid > 0 && running(pid, 'redis-server')) {
    say(`stopping a redis-server left over from an earlier run (pid ${pid})`);
    await stopProcesses([{ pid, role: 'redis', marker: 'redis-server' }], REDIS_STOP_MS);
  }
  rmSync(pidFile, { force: true });
}

/**
 * The watchdog, in a process group of its own: when this process dies
 * without saying `done`, it stops what `watch` named (apps, then Redis).
 */
const watchdog: ChildProcess | undefined = (() => {
  try {
    const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'watchdog.js')], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    child.on('error', () => {});
    child.unref();
    child.channel?.unref();
    return child;
  } catch {
    return undefined;
  }
})();

function tellWatchdog(message: WatchdogMessage): Promise<void> {
  return new Promise((done) => {
    if (!watchdog?.connected) return done();
    watchdog.send(message, () => done());
  });
}

function watch(target: WatchedProcess): void {
  void tellWatchdog({ watch: target });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

async function shutdown(code: number): Promise<never> {
  if (stopping) return new Promise(() => {});
  stopping = true;
  say('stopping…');
  await Promise.all(
    children.map(async ({ name, child }) => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited(child);
      clearTimeout(timer);
      say(`${name} stopped`);
    }),
  );
  if (redis) {
    await redis.stop();
    say('redis-server stopped');
  }
  await tellWatchdog({ done: true });
  watchdog?.disconnect();
  say('stopped');
  process.exit(code);
}

function startApp(name: string, entry: string, env: NodeJS.ProcessEnv, flags: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...flags, join(repoRoot, entry)], { env, stdio: 'inherit' });
  child.once('exit', (code, signal) => {
    if (stopping) return;
    say(`${name} exited (${signal ?? `code ${code}`}); stopping everything`);
    void shutdown(1);
  });
  children.push({ name, child });
  if (child.pid) watch({ pid: child.pid, role: 'app', marker: entry });
  return child;
}

async function waitForApi(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return true;
    } catch {}
    await sleep(100);
  }
  return false;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => void shutdown(0));
}

let redisUrl = config.REDIS_URL;
if (!redisUrl) {
  if (!findRedisServer()) {
    process.stderr.write(`crawlstream: ${HOW_TO_GET_REDIS}\n`);
    process.exit(1);
  }
  const dir = join(args['data-dir'], 'redis');
  await stopLeftoverRedis(dir);
  redis = await startRedisServer({ dir, aof: true, maxmemoryPolicy: 'noeviction', ownProcessGroup: true });
  watch({ pid: redis.pid, role: 'redis', marker: 'redis-server' });
  redisUrl = redis.url;
  say(`redis-server started at ${redisUrl} (data in ${dir})`);
}

const env = { ...process.env, REDIS_URL: redisUrl };
// The API serves the dashboard's build at `/`: that of the dashboard package
// (a dependency of this one), unless DASHBOARD_DIR names another.
const dashboardDir = join(dirname(createRequire(import.meta.url).resolve('@crawlstream/dashboard/package.json')), 'dist');
startApp('api', 'apps/api/dist/main.js', { DASHBOARD_DIR: dashboardDir, ...env });
// Parsing and markdown conversion allocate heavily; a larger young generation
// makes the worker markedly faster (see bench/crawl).
startApp('worker', 'apps/worker/dist/main.js', env, ['--max-semi-space-size=64']);
// JavaScript rendering (docs/rendering.md): one renderer, when this machine has a Chromium.
const chromium = findChromium(config.CHROMIUM_PATH, process.env.PATH ?? '');
if (chromium) {
  startApp('renderer', 'apps/renderer/dist/main.js', { ...env, CHROMIUM_PATH: chromium });
  say(`renderer started (Chromium: ${chromium})`);
} else {
  say(
    `no Chromium found${config.CHROMIUM_PATH ? ` at CHROMIUM_PATH ${config.CHROMIUM_PATH}` : ' on PATH'}: no renderer, pages are not rendered in a browser; to render them, ${HOW_TO_GET_CHROMIUM}`,
  );
}

const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
const apiUrl = `http://${host}:${config.PORT}`;
if (await waitForApi(apiUrl, 30_000)) {
  say(`API listening at ${apiUrl}`);
  say(`dashboard: ${apiUrl}/`);
  say('press Ctrl-C to stop');
} else if (!stopping) {
  say(`the API did not answer at ${apiUrl}/healthz within 30 s`);
  await shutdown(1);
}
