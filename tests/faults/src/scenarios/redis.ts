// Redis faults: killed, shut down, or back on an AOF that lost its last second.
import { setTimeout as sleep } from 'node:timers/promises';
import { call } from '../crawl-api.js';
import { CRAWL_PAGES, loseLastWrites, shutdownRedis, watch } from '../stack.js';
import { readersVerdict } from '../stream-reader.js';
import { apiAndWorkers, onStack, readyz, rowOf, runCrawl, type Scenario } from '../run.js';

/** c and d: Redis killed (kill -9, AOF everysec) or shut down cleanly at 30 %, restarted on the same AOF after 2 s. */
function redisRestart(name: string, how: 'kill' | 'shutdown'): Scenario {
  const scenario: Scenario = {
    name,
    targetS: 10,
    boundS: 30,
    run: (startRedis) =>
      onStack(startRedis, async (stack) => {
        const { api } = await apiAndWorkers(stack);
        const baseline = await runCrawl(stack, [api.base], 0, { readers: 5 });
        let fault = '';
        let heldS = 0;
        const ready = watch(readyz(api.base));
        const hit = await runCrawl(stack, [api.base], 1, {
          readers: 5,
          fault: {
            at: 0.3,
            act: async (n) => {
              const down = Date.now();
              if (how === 'kill') await stack.redis.kill();
              else {
                await shutdownRedis(stack.redis.port);
                while (Date.now() - down < 10_000 && (await call(api.base, 'GET', '/readyz')).status === 200) await sleep(20);
              }
              await sleep(2000);
              await stack.redis.restart();
              heldS = (Date.now() - down) / 1000;
              fault = `${how === 'kill' ? 'kill -9' : 'SHUTDOWN'} of Redis (AOF everysec) at ${n}/${CRAWL_PAGES} pages, restarted after ${heldS.toFixed(1)} s`;
            },
          },
        });
        await sleep(300);
        const statuses = await ready.stop();
        const problems: string[] = [];
        // The API says it is not ready while Redis is away, and ready again after.
        if (!statuses.includes(503)) problems.push(`/readyz never answered 503 during the outage (saw ${statuses.join(', ')})`);
        if (statuses.at(-1) !== 200) problems.push(`/readyz ended at ${statuses.at(-1)}, not 200`);
        const resets = readersVerdict(hit.readers).resets;
        return rowOf({ scenario, fault, baseline, hit, heldS, problems, notes: `/readyz answered ${statuses.join(' -> ')}; readers got ${resets} resets` });
      }),
  };
  return scenario;
}

/**
 * c'. A power loss under `appendfsync everysec`: Redis comes back on its AOF as
 * it was 1 s before the kill, so acknowledged settles and events are gone
 * (BullMQ's jobs roll back with them: one Redis). Readers that saw the lost
 * events must get `reset` + `snapshot`, never a page twice or silence.
 */
export const redisLoseWrites: Scenario = {
  name: 'redis-lose-writes',
  targetS: 10,
  boundS: 30,
  run: (startRedis) =>
    onStack(startRedis, async (stack) => {
      const { api } = await apiAndWorkers(stack);
      const baseline = await runCrawl(stack, [api.base], 0, { readers: 5 });
      let fault = '';
      let heldS = 0;
      const hit = await runCrawl(stack, [api.base], 1, {
        readers: 5,
        fault: {
          at: 0.3,
          act: async (n) => {
            heldS = await loseLastWrites(stack.redis, 1000);
            fault = `Redis back on its AOF as of 1 s before a kill -9 at ${n}/${CRAWL_PAGES}+ pages (the everysec window lost)`;
          },
        },
      });
      const resets = readersVerdict(hit.readers).resets;
      return rowOf({ scenario: redisLoseWrites, fault, baseline, hit, heldS, notes: `readers got ${resets} resets` });
    }),
};

export const redisKill = redisRestart('redis-kill', 'kill');
export const redisShutdown = redisRestart('redis-restart', 'shutdown');
