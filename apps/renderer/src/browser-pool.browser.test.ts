// The pool's tabs, with the machine's Chromium: a context's renders share one
// tab (contextPages renders, then the context and its tab are replaced), and a
// tab that crashed is replaced by a new one in the same context.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserPool } from './browser-pool.js';
import { type GuardProxy, startGuardProxy } from './guard-proxy.js';
import { chromiumPath } from './test-support/renderer.js';

let proxy: GuardProxy;
let pool: BrowserPool;

beforeAll(async () => {
  proxy = await startGuardProxy({ allow: ['127.0.0.1'] });
  pool = new BrowserPool({ executablePath: chromiumPath(), proxy, concurrency: 1, contextPages: 3, maxBrowserMb: 1_048_576, logger: pino({ level: 'silent' }) });
  await pool.start();
});
afterAll(async () => {
  await pool?.close();
  await proxy?.close();
});

/** One lease's tab, used and released; `use` runs on it first. */
async function leaseTab(use?: (tab: Awaited<ReturnType<Awaited<ReturnType<BrowserPool['acquire']>>['tab']>>) => Promise<void>) {
  const lease = await pool.acquire();
  try {
    const tab = await lease.tab();
    await use?.(tab);
    return { tab, context: lease.context };
  } finally {
    await lease.release();
  }
}

describe('browser pool tabs', () => {
  it('reuses one tab for the pages of a context, and opens a new one with the next context', async () => {
    const first = await leaseTab();
    expect((await leaseTab()).tab).toBe(first.tab);
    const third = await leaseTab();
    expect(third.tab).toBe(first.tab);
    expect(pool.tabsOpened).toBe(1);
    // Three pages: the context was closed with its tab, and the next page gets both anew.
    expect(first.tab.isClosed()).toBe(true);
    const fourth = await leaseTab();
    expect(fourth.context).not.toBe(first.context);
    expect(fourth.tab).not.toBe(first.tab);
    expect(pool.contextsCreated).toBe(2);
    expect(pool.tabsOpened).toBe(2);
  });

  it('replaces a tab that crashed, in the same context', async () => {
    const crashed = await leaseTab(async (tab) => {
      const crash = new Promise((resolve) => tab.once('crash', resolve));
      await tab.goto('chrome://crash').catch(() => {});
      await crash;
    });
    const next = await leaseTab(async (tab) => {
      await tab.setContent('<p id="alive">alive</p>');
      expect(await tab.textContent('#alive')).toBe('alive');
    });
    expect(next.context).toBe(crashed.context);
    expect(next.tab).not.toBe(crashed.tab);
    expect(crashed.tab.isClosed()).toBe(true);
    expect(pool.tabsOpened).toBe(3);
    expect(pool.crashRestarts).toBe(0);
  });
});
