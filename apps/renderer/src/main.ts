// The renderer process (`npm run start:renderer`): read config, find
// Chromium, render pages of the render queue until SIGTERM/SIGINT, then stop
// taking jobs, finish the ones in flight within a bound, close the browser
// and exit 0. It logs JSON lines with pino at LOG_LEVEL.
import { loadConfigOrExit } from '@crawlstream/shared';
import { pino } from 'pino';
import { findChromium, HOW_TO_GET_CHROMIUM } from './chromium-path.js';
import { createRenderer, type Renderer } from './renderer.js';

const config = loadConfigOrExit();
if (!config.REDIS_URL) {
  process.stderr.write('crawlstream renderer: REDIS_URL is required (npm start provides one)\n');
  process.exit(1);
}
const executablePath = findChromium(config.CHROMIUM_PATH, process.env.PATH ?? '');
if (!executablePath) {
  process.stderr.write(`crawlstream renderer: ${config.CHROMIUM_PATH ? `CHROMIUM_PATH ${config.CHROMIUM_PATH} is not an executable file; ` : 'no Chromium found: '}${HOW_TO_GET_CHROMIUM}\n`);
  process.exit(1);
}
const logger = pino({ level: config.LOG_LEVEL });

// Signals are taken from the start: one during startup stops the renderer as soon as it is up.
let renderer: Renderer | undefined;
let stopping: string | undefined;
const stop = (active: Renderer) =>
  active.close().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'renderer did not close cleanly');
      process.exit(1);
    },
  );
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = signal;
    logger.info({ signal }, 'renderer stopping');
    if (renderer) void stop(renderer);
  });
}

renderer = await createRenderer({
  redisUrl: config.REDIS_URL,
  redisCluster: config.REDIS_CLUSTER,
  executablePath,
  ssrfAllow: config.SSRF_ALLOW,
  concurrency: config.RENDER_CONCURRENCY,
  timeoutMs: config.RENDER_TIMEOUT_MS,
  contextPages: config.RENDER_CONTEXT_PAGES,
  maxBrowserMb: config.RENDER_MAX_BROWSER_MB,
  logger,
});
if (stopping) await stop(renderer);
else logger.info({ id: renderer.id, chromium: executablePath, concurrency: config.RENDER_CONCURRENCY }, 'crawlstream renderer ready');
