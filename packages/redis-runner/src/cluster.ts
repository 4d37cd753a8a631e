// A Redis Cluster of private redis-servers on loopback (masters and their
// replicas), for tests and benches: each node started like a single private
// server plus `--cluster-enabled yes`, formed with `redis-cli --cluster
// create`, awaited until every node reports `cluster_state:ok` and every
// replica is attached, and stopped without leaving a process behind, even
// when the process that started it dies (SIGKILL, OOM): a reaper in a process
// group of its own kills the nodes when its IPC channel to us closes.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { findRedisServer, HOW_TO_GET_REDIS, type RedisServer, startRedisServer } from './server.js';

const run = promisify(execFile);

export interface RedisClusterOptions {
  /** Masters; the 16384 slots are split evenly between them. Default 3 (the least Redis Cluster accepts). */
  masters?: number;
  /** Replicas of each master. Default 1. */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout`: how long a master may not answer before its
   * replica is promoted. Default 2000 ms (Redis' default is 15 s; tests kill masters).
   */
  nodeTimeoutMs?: number;
  /** redis-server binary; found on PATH when omitted (redis-cli is looked up next to it, then on PATH). */
  binary?: string;
  /** How long to wait for the cluster to form. Default 60 s. */
  readyTimeoutMs?: number;
}

export interface RedisClusterNode {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** SIGKILL, as in a crash (the reaper forgets it). */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (it rejoins with its nodes.conf). */
  restart(): Promise<void>;
}

export interface RedisCluster {
  readonly nodes: readonly RedisClusterNode[];
  /** Every node's URL, comma-separated: REDIS_URL for REDIS_CLUSTER=true. */
  readonly url: string;
  /** Runs a redis-cli command on one node and returns its output (e.g. `cluster`, `info`). */
  cli(port: number, ...args: string[]): Promise<string>;
  /** Stops every node (SIGTERM, then SIGKILL past a bound) and deletes their directories. */
  stop(): Promise<void>;
}

/** The reaper: CommonJS for `node -e`. Messages: `{ pid, marker, dir }` to watch, `{ forget: pid }`, `'done'`. */
const REAPER = `
const fs = require('node:fs');
const watched = new Map();
let done = false;
process.on('message', (m) => {
  if (m === 'done') done = true;
  else if (m && m.forget !== undefined) watched.delete(m.forget);
  else if (m && m.pid) watched.set(m.pid, m);
});
const alive = (pid, marker) => {
  try { process.kill(pid, 0); } catch { return false; }
  try { return fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8').includes(marker); } catch { return !fs.existsSync('/proc'); }
};
process.on('disconnect', () => {
  if (!done) for (const { pid, marker, dir } of watched.values()) {
    if (alive(pid, marker)) try { process.kill(pid, 'SIGKILL'); } catch {}
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch {}
  }
  process.exit(0);
});
for (const signal of ['SIGINT', 'SIGHUP']) process.on(signal, () => {});
if (!process.connected) process.exit(0);
`;

type ReaperMessage = { pid: number; marker: string; dir: string } | { forget: number } | 'done';

function startReaper(): { tell(message: ReaperMessage): Promise<void>; close(): Promise<void> } {
  const child: ChildProcess = spawn(process.execPath, ['-e', REAPER], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    detached: true,
  });
  child.on('error', () => {});
  child.unref();
  child.channel?.unref();
  const tell = (message: ReaperMessage) =>
    new Promise<void>((resolve) => {
      if (!child.connected) return resolve();
      child.send(message, () => resolve());
    });
  return {
    tell,
    close: async () => {
      await tell('done');
      if (child.connected) child.disconnect();
    },
  };
}

function findRedisCli(server: string): string {
  const beside = join(dirname(server), 'redis-cli');
  return existsSync(beside) ? beside : 'redis-cli';
}

/** `redis-server`'s process title once started: "redis-server 127.0.0.1:<port> [cluster]". */
const markerOf = (port: number) => `:${port}`;

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const binary = options.binary ?? findRedisServer();
  if (!binary) throw new Error(HOW_TO_GET_REDIS);
  const cliBinary = findRedisCli(binary);
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  if (masters < 3) throw new Error('a Redis Cluster needs at least 3 masters');
  const reaper = startReaper();
  const servers: RedisServer[] = [];
  const cli = async (port: number, ...args: string[]): Promise<string> =>
    (await run(cliBinary, ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })).stdout;

  const stop = async () => {
    await Promise.allSettled(servers.map((server) => server.stop()));
    for (const server of servers) rmSync(server.dir, { recursive: true, force: true });
    await reaper.close();
  };

  try {
    const extraArgs = [
      '--cluster-enabled', 'yes',
      '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 2_000),
    ];
    // One at a time: each takes a free port, so they cannot race for the same one.
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const server = await startRedisServer({ binary, extraArgs });
      servers.push(server);
      await reaper.tell({ pid: server.pid, marker: markerOf(server.port), dir: server.dir });
    }
    await run(
      cliBinary,
      [
        '--cluster', 'create',
        ...servers.map((server) => `127.0.0.1:${server.port}`),
        '--cluster-replicas', String(replicas),
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
    await waitUntilFormed(servers, masters, replicas, cli, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    throw error;
  }

  const nodes = servers.map((server): RedisClusterNode => ({
    get port() {
      return server.port;
    },
    get url() {
      return server.url;
    },
    get pid() {
      return server.pid;
    },
    kill: async () => {
      await reaper.tell({ forget: server.pid });
      await server.kill();
    },
    restart: async () => {
      await reaper.tell({ forget: server.pid });
      await server.restart();
      await reaper.tell({ pid: server.pid, marker: markerOf(server.port), dir: server.dir });
    },
  }));
  return { nodes, url: servers.map((server) => server.url).join(','), cli, stop };
}

/** Every node sees every slot served and every node known; every master has its replicas, every replica its link. */
async function waitUntilFormed(
  servers: readonly RedisServer[],
  masters: number,
  replicas: number,
  cli: (port: number, ...args: string[]) => Promise<string>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const states = await Promise.all(
      servers.map(async (server) => {
        const info = await cli(server.port, 'cluster', 'info');
        const replication = await cli(server.port, 'info', 'replication');
        const field = (text: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim();
        const formed =
          field(info, 'cluster_state') === 'ok' &&
          field(info, 'cluster_slots_ok') === '16384' &&
          field(info, 'cluster_known_nodes') === String(servers.length);
        const role = field(replication, 'role');
        const linked =
          role === 'master'
            ? field(replication, 'connected_slaves') === String(replicas)
            : field(replication, 'master_link_status') === 'up';
        return { port: server.port, formed, linked, role };
      }),
    );
    const masterCount = states.filter((state) => state.role === 'master').length;
    if (masterCount === masters && states.every((state) => state.formed && state.linked)) return;
    last = JSON.stringify(states.filter((state) => !state.formed || !state.linked));
    await sleep(100);
  }
  throw new Error(`the Redis Cluster did not form within ${timeoutMs} ms; nodes not ready: ${last}`);
}
