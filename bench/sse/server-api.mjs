// bench/sse: one crawlstream API process (buildApp, as `npm run start:api`
// runs it). argv: redisUrl prefix. Prints {"port"} once listening.
import { buildApp } from '@crawlstream/api';
import { loadConfig } from '@crawlstream/shared';

const [redisUrl, prefix] = process.argv.slice(2);
const config = loadConfig({ LOG_LEVEL: 'warn', HEARTBEAT_MS: '15000' });
const app = await buildApp({ config, redisUrl, prefix, settings: { rateLimitPerMinute: 0 } });
await app.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
