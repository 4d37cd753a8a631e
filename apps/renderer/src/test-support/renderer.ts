// A renderer in the test process, on the test's Redis and prefix, with the
// machine's Chromium and loopback (127.0.0.1) allowed by default.
import { redisCluster, type TestRedis } from '@crawlstream/testkit';
import { findChromium } from '../chromium-path.js';
import { createRenderer, type Renderer, type RendererOptions } from '../renderer.js';

export const chromiumPath = (): string => {
  const path = findChromium(process.env.CHROMIUM_PATH, process.env.PATH ?? '');
  if (!path) throw new Error('these tests need Chromium (apt-get install chromium, or CHROMIUM_PATH)');
  return path;
};

export function startRenderer(redis: TestRedis, extra: Partial<RendererOptions> = {}): Promise<Renderer> {
  return createRenderer({
    redisUrl: redis.url,
    redisCluster: redisCluster(),
    prefix: redis.prefix,
    executablePath: chromiumPath(),
    ssrfAllow: ['127.0.0.1'],
    concurrency: 2,
    timeoutMs: 30_000,
    contextPages: 50,
    maxBrowserMb: 1_048_576,
    closeTimeoutMs: 10_000,
    ...extra,
  });
}
