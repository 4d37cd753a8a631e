import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ping, type RedisCluster, startRedisCluster } from './index.js';

/** A live process; a zombie (exited, not yet reaped) counts as gone. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return !existsSync('/proc');
  }
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) return line;
  throw new Error('the process ended without printing a line');
}

describe('private Redis Cluster', () => {
  let cluster: RedisCluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });

  it('forms 3 masters with a replica each, serves keys of every slot, and leaves no process after stop', async () => {
    cluster = await startRedisCluster();
    expect(cluster.nodes).toHaveLength(6);
    expect(cluster.url.split(',')).toHaveLength(6);
    const roles = (await cluster.cli(cluster.nodes[0]!.port, 'cluster', 'nodes'))
      .trim()
      .split('\n')
      .map((line) => (line.includes('master') ? 'master' : 'replica'));
    expect(roles.filter((role) => role === 'master')).toHaveLength(3);
    expect(roles.filter((role) => role === 'replica')).toHaveLength(3);

    const client = new Cluster(cluster.url.split(','), { lazyConnect: true });
    await client.connect();
    // Keys spread over the slots (and so the masters) come back from wherever they live.
    for (let i = 0; i < 100; i++) await client.set(`k${i}`, String(i));
    for (let i = 0; i < 100; i++) expect(await client.get(`k${i}`)).toBe(String(i));
    const perMaster = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
    expect(perMaster).toHaveLength(3);
    expect(perMaster.every((count) => count > 0)).toBe(true);
    client.disconnect();

    const pids = cluster.nodes.map((node) => node.pid);
    const ports = cluster.nodes.map((node) => node.port);
    await cluster.stop();
    cluster = undefined;
    expect(pids.filter(alive)).toEqual([]);
    for (const port of ports) expect(await ping(port)).toBe(false);
  });

  it('when the process that started it is killed with SIGKILL, no node outlives it', async () => {
    const script = fileURLToPath(new URL('./test-support/hold-cluster.mjs', import.meta.url));
    const holder = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const nodes = JSON.parse(await firstLine(holder)) as { pid: number; port: number }[];
    expect(nodes).toHaveLength(6);
    expect(nodes.every((node) => alive(node.pid))).toBe(true);
    holder.kill('SIGKILL');
    // The reaper acts when its channel closes; wait for it (bounded by the test timeout).
    while (nodes.some((node) => alive(node.pid))) await sleep(50);
    for (const node of nodes) expect(await ping(node.port)).toBe(false);
  });
});
