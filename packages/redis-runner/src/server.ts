// Private redis-server processes: found on PATH, started on a free loopback
// port with their own directory, awaited until they answer PING, and stopped
// (gracefully or with SIGKILL) without leaving a process behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const HOW_TO_GET_REDIS =
  'No Redis found: set REDIS_URL to a running Redis, or install redis-server ' +
  '(Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis), ' +
  'or run `docker compose up -d redis` and set REDIS_URL=redis://127.0.0.1:6379.';

export interface RedisServerOptions {
  /** Data directory; a fresh temp dir when omitted. */
  dir?: string;
  /** Port; a free one when omitted. */
  port?: number;
  /** Append-only file on (fsync every second). Default false. */
  aof?: boolean;
  /** Default `noeviction`: crawl state must never be evicted. */
  maxmemoryPolicy?: string;
  /** redis-server binary; found on PATH when omitted. */
  binary?: string;
  /** How long to wait for PING to answer. */
  startTimeoutMs?: number;
  /**
   * Start it in a process group of its own, so that a signal to the caller's
   * group (Ctrl-C in a terminal) does not reach it and the caller decides
   * when it stops (after the processes that use it). Default false.
   */
  ownProcessGroup?: boolean;
  /** More redis-server arguments (e.g. `--cluster-enabled yes`), after ours. */
  extraArgs?: readonly string[];
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly pid: number;
  /** Graceful shutdown (SIGTERM: Redis flushes its AOF), SIGKILL after a bound. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash. */
  kill(): Promise<void>;
  /** Starts again on the same port and directory (after stop or kill). */
  restart(): Promise<void>;
}

/** The path of `redis-server` on PATH, or undefined. */
export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not allocate a port'));
      });
    });
  });
}

/** Sends PING over a raw socket; true when Redis answers +PONG. */
export async function ping(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? findRedisServer();
  if (!binary) throw new Error(HOW_TO_GET_REDIS);
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'crawlstream-redis-')));
  mkdirSync(dir, { recursive: true });
  let port = options.port ?? (await freePort());
  const fixedPort = options.port !== undefined;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--pidfile', join(dir, 'redis.pid'),
      '--logfile', join(dir, 'redis.log'),
      '--daemonize', 'no',
      '--save', '',
      '--appendonly', options.aof ? 'yes' : 'no',
      '--appendfsync', 'everysec',
      '--maxmemory-policy', options.maxmemoryPolicy ?? 'noeviction',
      ...(options.extraArgs ?? []),
    ];
    const proc = spawn(binary, args, { stdio: 'ignore', detached: options.ownProcessGroup ?? false });
    child = proc;
    const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) break;
      if (await ping(port)) return;
      await sleep(25);
    }
    proc.kill('SIGKILL');
    await exited(proc);
    const log = existsSync(join(dir, 'redis.log'))
      ? readFileSync(join(dir, 'redis.log'), 'utf8').trim().split('\n').slice(-3).join('\n')
      : '';
    throw new Error(`redis-server did not start on port ${port}${log ? `:\n${log}` : ''}`);
  };

  // A free port can be taken between probing and binding; try a few.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (error) {
      if (fixedPort || attempt >= 5) throw error;
      port = await freePort();
    }
  }

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited(proc);
    clearTimeout(timer);
  };

  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    get pid() {
      return child?.pid ?? -1;
    },
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
    restart: async () => {
      await terminate('SIGTERM');
      await launch();
    },
  };
}
