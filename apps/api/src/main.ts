// The API process: read config, build, listen, shut down on SIGTERM/SIGINT.
import { loadConfigOrExit } from '@crawlstream/shared';
import { buildApp } from './app.js';

const config = loadConfigOrExit();
if (!config.REDIS_URL) {
  process.stderr.write('crawlstream api: REDIS_URL is required (npm start provides one)\n');
  process.exit(1);
}
const app = await buildApp({ config, redisUrl: config.REDIS_URL });
await app.listen({ port: config.PORT, host: config.HOST });

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
