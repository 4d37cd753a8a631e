// bench/sse: the limit. A bare node:http SSE server that fans the same
// events out: one XREAD BLOCK loop on the crawl's event log, each event
// formatted once and written to every connection. No cursors, no resume, no
// back-pressure, no auth, no metrics. argv: redisUrl prefix crawlId.
import http from 'node:http';
import { makeFrame } from '@crawlstream/progress';
import { crawlKeys } from '@crawlstream/shared';
import { Redis } from 'ioredis';

const [redisUrl, prefix, crawlId] = process.argv.slice(2);
const redis = new Redis(redisUrl);
const key = crawlKeys(crawlId, prefix).events;
const clients = new Set();

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform' });
  res.write('retry: 1000\n\n');
  clients.add(res);
  res.on('close', () => clients.delete(res));
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});

let last = '$';
for (;;) {
  const reply = await redis.xread('COUNT', 256, 'BLOCK', 1000, 'STREAMS', key, last);
  if (!reply) continue;
  for (const [id, fields] of reply[0][1]) {
    last = id;
    const frame = makeFrame(crawlId, id, fields[1], fields[3]);
    const text = `id: ${frame.id}\nevent: ${frame.type}\ndata: ${frame.data}\n\n`;
    for (const res of clients) res.write(text);
    if (frame.type === 'cancelled') for (const res of clients) res.end();
  }
}
