// The API process: read config, build, listen, shut down on SIGTERM/SIGINT.
// Shutdown ends open streams cleanly first, so their clients reconnect (to
// another instance, behind a load balancer) and resume by Last-Event-ID.
// The dashboard served at `/` is DASHBOARD_DIR (the supervisor sets it), else
// apps/dashboard/dist beside this app, as the repository and the Docker image
// lay them out.
import { fileURLToPath } from 'node:url';
import { API_SHUTDOWN_LIMIT_MS, loadConfigOrExit } from '@crawlstream/shared';
import { buildApp } from './app.js';
import { loadApiSettings } from './settings.js';

const config = loadConfigOrExit();
if (!config.REDIS_URL) {
  process.stderr.write('crawlstream api: REDIS_URL is required (npm start provides one)\n');
  process.exit(1);
}
let settings: ReturnType<typeof loadApiSettings>;
try {
  settings = loadApiSettings();
} catch (error) {
  process.stderr.write(`crawlstream: ${(error as Error).message}\n`);
  process.exit(1);
}
const { DASHBOARD_DIR } = process.env;
const dashboardDir = DASHBOARD_DIR?.trim() || fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));
const app = await buildApp({ config, redisUrl: config.REDIS_URL, settings, dashboardDir });
await app.listen({ port: config.PORT, host: config.HOST, backlog: settings.listenBacklog });

const STREAMS_CUT_OFF = 'crawlstream_streams_cut_off_total';
let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), API_SHUTDOWN_LIMIT_MS).unref();
    app.close().then(
      async () => {
        // The process's last word on the streams it ended, as /metrics would show it (no scrape can reach it now).
        const metrics = await app.crawlstream.metrics.registry.getSingleMetricAsString(STREAMS_CUT_OFF);
        app.log.info({ metrics }, 'stopped');
        process.exit(0);
      },
      () => process.exit(1),
    );
  });
}
