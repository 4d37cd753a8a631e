// `npm start`: the whole service on one machine. Without REDIS_URL it starts a
// private redis-server (data under .data/redis, AOF on, noeviction), then the
// API and one worker; Ctrl-C stops the apps first and Redis last, leaving no
// process behind.
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

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values: args } = parseArgs({
  options: { 'data-dir': { type: 'string', default: join(repoRoot, '.data') } },
});
const config = loadConfigOrExit();
const say = (line: string) => process.stdout.write(`[crawlstream] ${line}\n`);

const STOP_GRACE_MS = 15_000;
const children: ChildProcess[] = [];
let redis: RedisServer | undefined;
let stopping = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A redis-server left by a supervisor that was killed outright: stop it. */
async function stopLeftoverRedis(dir: string): Promise<void> {
  const pidFile = join(dir, 'redis.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const cmdline = `/proc/${pid}/cmdline`;
  const isRedis = existsSync(cmdline) && readFileSync(cmdline, 'utf8').includes('redis-server');
  if (pid > 0 && isRedis && alive(pid)) {
    say(`stopping a redis-server left over from an earlier run (pid ${pid})`);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200 && alive(pid); i++) await sleep(50);
  }
  rmSync(pidFile, { force: true });
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
    children.map(async (child) => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited(child);
      clearTimeout(timer);
    }),
  );
  if (redis) await redis.stop();
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
  children.push(child);
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
  redis = await startRedisServer({ dir, aof: true, maxmemoryPolicy: 'noeviction' });
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
