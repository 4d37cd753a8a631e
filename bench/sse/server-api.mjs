// bench/sse: one crawlstream API process (buildApp, listening as main.js
// does: the LISTEN_BACKLOG setting). argv: redisUrl prefix. Prints {"port"}
// once listening.
import { buildApp, loadApiSettings } from '@crawlstream/api';
import { loadConfig } from '@crawlstream/shared';

const [redisUrl, prefix] = process.argv.slice(2);
const config = loadConfig({ LOG_LEVEL: 'warn', HEARTBEAT_MS: '15000' });
const settings = { ...loadApiSettings(process.env), rateLimitPerMinute: 0 };
const app = await buildApp({ config, redisUrl, prefix, settings });
await app.listen({ port: 0, host: '127.0.0.1', backlog: settings.listenBacklog });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
