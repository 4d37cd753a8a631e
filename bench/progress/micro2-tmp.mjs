import { startRedisServer } from '@crawlstream/redis-runner';
import { Redis } from 'ioredis';
const server = await startRedisServer();
const r = new Redis(server.url);
const args = Array.from({ length: 1000 }, (_, i) => `http://127.0.0.1:9/docs/p/${i}/` + 'x'.repeat(170));
const scripts = {
  table: `local t = {} for i = 1, #ARGV do t[#t+1] = ARGV[i] end return #t`,
  hmget: `local k = redis.call('HMGET', KEYS[1], unpack(ARGV)) return #k`,
  hset: `local f = {} for i = 1, #ARGV do f[#f+1] = ARGV[i]; f[#f+1] = 1 end redis.call('HSET', KEYS[1], unpack(f)) return 1`,
  rpush: `redis.call('RPUSH', KEYS[1], unpack(ARGV)) return 1`,
  concat: `local p = {} for i = 1, #ARGV do p[#p+1] = '"' .. ARGV[i] .. '"' end local s = table.concat(p, ',') return #s`,
  cjson: `local p = {} for i = 1, #ARGV do p[#p+1] = cjson.encode(ARGV[i]) end local s = table.concat(p, ',') return #s`,
  find: `local n = 0 for i = 1, #ARGV do if string.find(ARGV[i], '[%c"\\\\\\128-\\255]') then n = n + 1 end end return n`,
  xadd: `local s = table.concat(ARGV, ',') redis.call('XADD', KEYS[1], '*', 'd', s) return 1`,
};
for (const [name, lua] of Object.entries(scripts)) {
  const times = [];
  for (let i = 0; i < 15; i++) {
    await r.config('RESETSTAT');
    await r.eval(lua, 1, `k:${name}:${i}`, ...args.map((a) => a + i));
    const info = await r.info('commandstats');
    times.push(Number(/cmdstat_eval:calls=\d+,usec=(\d+)/.exec(info)[1]));
  }
  times.sort((a, b) => a - b);
  console.log(name, 'median us', times[7], 'min', times[0]);
}
r.disconnect(); await server.stop();
