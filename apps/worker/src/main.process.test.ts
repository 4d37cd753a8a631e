// The worker process refuses a bad configuration before doing anything: exit
// 1 with the message that names the variable and the entry (no stack trace);
// and it runs with the shards QUEUE_SHARDS names.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_KEY_PREFIX, globalKeys, MAX_QUEUE_SHARDS, queuePrefix } from '@crawlstream/shared';
import { connect, startExtraRedis } from '@crawlstream/testkit';
import { expect, it } from 'vitest';

const mainJs = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [mainJs], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: 'redis://127.0.0.1:9', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

it.each([
  ['10.0.0.0/33', 'the prefix of an IPv4 range must be 0 to 32'],
  ['300.1.1.1', 'is not a valid IPv4 address'],
  ['::/129', 'the prefix of an IPv6 range must be 0 to 128'],
])('SSRF_ALLOW=%s: exit 1 with a config message naming it', async (entry, problem) => {
  const { code, stderr } = await run({ SSRF_ALLOW: `127.0.0.2/32,${entry}` });
  expect(code).toBe(1);
  expect(stderr).toMatch(/^crawlstream: Invalid SSRF_ALLOW: /);
  expect(stderr).toContain(`"${entry}"`);
  expect(stderr).toContain(problem);
  expect(stderr).not.toMatch(/TypeError|\n\s+at /);
});

it(`QUEUE_SHARDS=${MAX_QUEUE_SHARDS + 1}: exit 1 with a config message naming it`, async () => {
  const { code, stderr } = await run({ QUEUE_SHARDS: String(MAX_QUEUE_SHARDS + 1) });
  expect(code).toBe(1);
  expect(stderr).toMatch(/^crawlstream: Invalid QUEUE_SHARDS: /);
});

it('QUEUE_SHARDS=3: the worker announces 3 shards and consumes each', async () => {
  const redis = await startExtraRedis();
  const child = spawn(process.execPath, [mainJs], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: redis.url, LOG_LEVEL: 'info', QUEUE_SHARDS: '3' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk) => {
        out += chunk;
        const line = out.split('\n').find((each) => each.includes('crawlstream worker ready'));
        if (line) resolve(JSON.parse(line) as Record<string, unknown>);
      });
      child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${out}`)));
    });
    expect(ready.queueShards).toBe(3);
    const connection = connect(redis.url);
    expect(await connection.get(globalKeys(DEFAULT_KEY_PREFIX).queueShards)).toBe('3');
    // Each shard has a BullMQ Worker: BullMQ registers each worker's connection by the queue's name.
    const clients = await connection.client('LIST');
    for (const shard of [0, 1, 2]) expect(clients).toContain(`${queuePrefix(DEFAULT_KEY_PREFIX, shard)}:`);
    connection.disconnect();
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
});
