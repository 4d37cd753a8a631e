// The 201's durability: WAITAOF where Redis has it (7.2+), detected once;
// on Redis 7.0 (this machine's) a create still succeeds and says `unsupported`.
import { connect, startExtraRedis, uniquePrefix, useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { aofEnabled, durabilityOf, durabilityOfError, knowsCommand, serverDurability } from './aof-barrier.js';
import { CrawlStore } from './crawl-store.js';
import { options, RecordingJobs } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

async function redisVersion(redis: ReturnType<ReturnType<typeof useRedis>['connect']>): Promise<number[]> {
  const info = await redis.info('server');
  return /redis_version:(\d+)\.(\d+)/.exec(info)!.slice(1).map(Number);
}

describe('detecting WAITAOF', () => {
  it("reads COMMAND INFO's reply: a command the server has (WAIT) and WAITAOF, which only 7.2+ has", async () => {
    const redis = useRedis('a').connect();
    const [major, minor] = await redisVersion(redis);
    const hasWaitAof = major! > 7 || (major === 7 && minor! >= 2);
    // The supported branch of the detection, on a real reply: WAIT exists everywhere.
    expect(knowsCommand(await redis.call('COMMAND', 'INFO', 'WAIT'))).toBe(true);
    expect(knowsCommand(await redis.call('COMMAND', 'INFO', 'WAITAOF'))).toBe(hasWaitAof);
    expect(knowsCommand(await redis.call('COMMAND', 'INFO', 'NOSUCHCOMMAND'))).toBe(false);
    if (!hasWaitAof) {
      // What 7.0 answers to WAITAOF itself is read as "unsupported", not as a failure.
      const error = await redis.call('WAITAOF', '1', '0', '10').catch((e: unknown) => e);
      expect(durabilityOfError(error)).toBe('unsupported');
    }
  });

  it('reads whether AOF is on from INFO persistence, on servers with and without it', async () => {
    const withAof = connect((await startExtraRedis({ aof: true })).url);
    const withoutAof = connect((await startExtraRedis()).url);
    const [withInfo, withoutInfo] = [await withAof.info('persistence'), await withoutAof.info('persistence')];
    expect(aofEnabled(withInfo)).toBe(true);
    expect(aofEnabled(withoutInfo)).toBe(false);
    const wait = await withAof.call('COMMAND', 'INFO', 'WAIT');
    const waitAof = await withAof.call('COMMAND', 'INFO', 'WAITAOF');
    // The three answers, on real replies (WAIT stands in for WAITAOF on a 7.0 server).
    expect(serverDurability(wait, withInfo)).toBe('waitaof');
    expect(serverDurability(wait, withoutInfo)).toBe('aof_off');
    const [major, minor] = await redisVersion(withAof);
    if (major! < 7 || (major === 7 && minor! < 2)) expect(serverDurability(waitAof, withInfo)).toBe('unsupported');
  });

  it("reads WAITAOF's reply and errors (the 7.2+ branch, whose server this machine lacks)", () => {
    expect(durabilityOf([1, 0])).toBe('fsynced');
    expect(durabilityOf([0, 0])).toBe('unconfirmed');
    // Redis 7.2's message when AOF is off (src/replication.c).
    expect(durabilityOfError(new Error('ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.'))).toBe('aof_off');
    expect(durabilityOfError(new Error('Connection is closed.'))).toBeNull();
  });

  it('a create on a server without WAITAOF answers, says `unsupported`, and probes the server once for all creates', async () => {
    const server = await startExtraRedis({ aof: true });
    const redis = connect(server.url);
    const [major, minor] = await redisVersion(redis);
    const store = new CrawlStore({ redis, prefix: uniquePrefix('d'), jobs: new RecordingJobs() });
    const probes = async () => Number(/cmdstat_command\|info:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const before = await probes();
    const created = await Promise.all(Array.from({ length: 5 }, () => store.create({ url: START, options: options() })));
    const expected = major! > 7 || (major === 7 && minor! >= 2) ? 'fsynced' : 'unsupported';
    expect(created.map((c) => c.durability)).toEqual(Array(5).fill(expected));
    expect(created.every((c) => c.crawl.status === 'running')).toBe(true);
    expect(await store.create({ url: START, options: options() })).toMatchObject({ durability: expected });
    expect((await probes()) - before).toBe(1);
    await store.close();
  });
});
