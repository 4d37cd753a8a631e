// One Chromium and its pool of browser contexts (one page at a time each, at
// most `concurrency`), each with one long-lived tab that its renders reuse
// (replaced when it crashed or was closed); a context is replaced, with its
// tab, after `contextPages` pages. The
// browser is relaunched (with backoff) when it crashes, and restarted when the
// memory of this process's descendants passes the ceiling: no new page starts
// then, the pages in flight finish (within a bound), and a new browser comes up.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { USER_AGENT } from '@crawlstream/pipeline';
import type { Logger } from 'pino';
import type { GuardProxy } from './guard-proxy.js';
import { descendantsRssMb } from './process-tree.js';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--mute-audio',
  // WebRTC may send UDP only through the proxy, i.e. not at all: no ICE candidates reach a private address.
  '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--webrtc-ip-handling-policy=disable_non_proxied_udp',
];

export interface BrowserPoolOptions {
  executablePath: string;
  proxy: GuardProxy;
  concurrency: number;
  contextPages: number;
  maxBrowserMb: number;
  /** How often the memory of the browser's processes is read. */
  memoryCheckMs?: number;
  /** Longest wait for in-flight pages before a memory restart closes the browser anyway. */
  drainMs?: number;
  logger: Logger;
}

interface PooledContext {
  context: BrowserContext;
  /** The context's tab, reused from render to render; undefined until opened, or once it crashed or closed. */
  tab: Page | undefined;
  pages: number;
  busy: boolean;
}

/** A page's lease on a context; `release` counts the page and recycles the context when it is used up. */
export interface Lease {
  context: BrowserContext;
  /** The context's tab: the one its last render used, or a new one if there was none or it crashed or closed. */
  tab(): Promise<Page>;
  /** Whether the browser that served the lease went away (crash or restart) meanwhile. */
  lost(): boolean;
  release(): Promise<void>;
}

export class BrowserPool {
  private browser: Browser | undefined;
  private launching: Promise<Browser> | undefined;
  private generation = 0;
  private readonly pool: PooledContext[] = [];
  private readonly waiters: (() => void)[] = [];
  private inFlight = 0;
  /** Pages rendered by the current browser: a browser that rendered none is not restarted for memory (no restart loop). */
  private pagesThisBrowser = 0;
  private mode: 'running' | 'draining' | 'closed' = 'running';
  private memoryTimer: NodeJS.Timeout | undefined;
  private checking = false;
  /** Browser contexts created since start. */
  contextsCreated = 0;
  /** Tabs opened since start (one per context, plus one per tab that crashed or was closed). */
  tabsOpened = 0;
  /** Browser launches after the first (crash or memory). */
  restarts = 0;
  memoryRestarts = 0;
  crashRestarts = 0;

  constructor(private readonly options: BrowserPoolOptions) {}

  async start(): Promise<void> {
    await this.ensureBrowser();
    this.memoryTimer = setInterval(() => void this.checkMemory(), this.options.memoryCheckMs ?? 5_000);
    this.memoryTimer.unref();
  }

  private launch(): Promise<Browser> {
    const { proxy } = this.options;
    return chromium.launch({
      executablePath: this.options.executablePath,
      args: CHROMIUM_ARGS,
      // No bypass: Playwright adds `<-loopback>`, so loopback targets go through the proxy too.
      proxy: { server: proxy.server, username: proxy.username, password: proxy.password },
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  }

  private ensureBrowser(): Promise<Browser> {
    if (this.browser?.isConnected()) return Promise.resolve(this.browser);
    this.launching ??= (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          const browser = await this.launch();
          if (this.mode === 'closed') {
            await browser.close().catch(() => {});
            throw new Error('renderer closing');
          }
          const generation = ++this.generation;
          browser.on('disconnected', () => this.onDisconnected(generation));
          this.browser = browser;
          this.pagesThisBrowser = 0;
          return browser;
        } catch (err) {
          if (this.mode === 'closed') throw err;
          const backoff = Math.min(10_000, 250 * 2 ** attempt);
          this.options.logger.error({ err, attempt, backoffMs: backoff }, 'browser launch failed');
          await sleep(backoff);
        }
      }
    })().finally(() => {
      this.launching = undefined;
    });
    return this.launching;
  }

  private onDisconnected(generation: number): void {
    if (generation !== this.generation || this.mode === 'closed') return;
    this.pool.length = 0;
    this.browser = undefined;
    if (this.mode === 'draining') return; // a memory restart closed it
    this.restarts++;
    this.crashRestarts++;
    this.options.logger.warn({ restarts: this.restarts }, 'browser disconnected (crashed or killed): relaunching; pages in flight are retried');
    this.ensureBrowser().then(
      () => this.wake(),
      () => {},
    );
  }

  /** A context for one page: waits while the pool is full or the browser restarts. */
  async acquire(): Promise<Lease> {
    for (;;) {
      if (this.mode === 'closed') throw new Error('renderer closing');
      if (this.mode === 'running' && this.inFlight < this.options.concurrency) {
        const browser = await this.ensureBrowser();
        if (this.mode !== 'running' || this.inFlight >= this.options.concurrency) continue;
        this.inFlight++;
        try {
          return await this.lease(browser);
        } catch (err) {
          this.inFlight--;
          this.wake();
          throw err;
        }
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private async lease(browser: Browser): Promise<Lease> {
    const generation = this.generation;
    let pooled = this.pool.find((entry) => !entry.busy);
    if (!pooled) {
      const context = await browser.newContext({
        userAgent: USER_AGENT,
        serviceWorkers: 'block',
        acceptDownloads: false,
        javaScriptEnabled: true,
        permissions: [],
        bypassCSP: false,
      });
      // The tab's own route (render-page.ts) takes every request of the tab, and a page's route goes
      // before its context's: what reaches this one comes from another page of the context, a popup
      // (window.open, a target=_blank link). A popup renders nothing for the job and would escape
      // the tab's rules (robots.txt, navigation), so its requests are refused; the SSRF proxy holds
      // it to the guard whatever happens.
      await context.route('**/*', (route) => route.abort('blockedbyclient').catch(() => {}));
      context.on('page', (page) => {
        if (page !== pooled?.tab) void page.opener().then((opener) => (opener ? page.close() : undefined)).catch(() => {});
      });
      this.contextsCreated++;
      pooled = { context, tab: undefined, pages: 0, busy: false };
      this.pool.push(pooled);
    }
    const entry = pooled;
    entry.busy = true;
    return {
      context: entry.context,
      tab: async () => {
        if (entry.tab && !entry.tab.isClosed()) return entry.tab;
        const tab = await entry.context.newPage();
        this.tabsOpened++;
        const forget = () => {
          if (entry.tab === tab) entry.tab = undefined;
        };
        tab.once('close', forget);
        // A crashed tab renders nothing more: the render under way fails its attempt (retried), the next one opens a new tab.
        tab.once('crash', () => {
          forget();
          void tab.close().catch(() => {});
        });
        entry.tab = tab;
        return tab;
      },
      lost: () => generation !== this.generation || !browser.isConnected(),
      release: async () => {
        entry.busy = false;
        entry.pages++;
        this.pagesThisBrowser++;
        this.inFlight--;
        if (entry.pages >= this.options.contextPages || generation !== this.generation) {
          const at = this.pool.indexOf(entry);
          if (at !== -1) this.pool.splice(at, 1);
          await entry.context.close().catch(() => {});
        }
        this.wake();
      },
    };
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resident memory of the browser's processes now (MiB). */
  browserMb(): number {
    return descendantsRssMb(process.pid);
  }

  private async checkMemory(): Promise<void> {
    if (this.checking || this.mode !== 'running' || !this.browser || this.pagesThisBrowser === 0) return;
    this.checking = true;
    try {
      const mb = this.browserMb();
      if (mb <= this.options.maxBrowserMb) return;
      this.mode = 'draining';
      this.options.logger.warn({ browserMb: Math.round(mb), maxBrowserMb: this.options.maxBrowserMb }, 'browser over its memory ceiling: restarting once its pages are done');
      const deadline = Date.now() + (this.options.drainMs ?? 30_000);
      while (this.inFlight > 0 && Date.now() < deadline) await sleep(50);
      const old = this.browser;
      this.generation++;
      this.pool.length = 0;
      this.browser = undefined;
      await old?.close().catch(() => {});
      this.restarts++;
      this.memoryRestarts++;
      if (this.mode === 'draining') {
        this.mode = 'running';
        await this.ensureBrowser();
        this.options.logger.info({ restarts: this.restarts }, 'browser restarted (memory ceiling)');
      }
    } catch (err) {
      this.options.logger.error({ err }, 'memory restart failed');
      if (this.mode === 'draining') this.mode = 'running';
    } finally {
      this.checking = false;
      this.wake();
    }
  }

  async close(): Promise<void> {
    this.mode = 'closed';
    clearInterval(this.memoryTimer);
    this.wake();
    const browser = this.browser ?? (await this.launching?.catch(() => undefined));
    this.browser = undefined;
    await browser?.close().catch(() => {});
  }
}
