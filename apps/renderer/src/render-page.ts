// One render: the leased context's tab (reused from render to render), the
// crawl's rules applied to each of its requests (no images, fonts or media; no navigation away from the
// document; robots.txt for its own host; the crawl's private headers only to
// its start origins; the SSRF guard checked here too, to count refusals the
// proxy would make anyway), then the DOM once the network is idle or the
// `waitFor` selector matches. It returns a definitive RenderOutput, or throws
// for trouble another attempt may not have (the browser went away).
//
// The tab's request handler is installed once, when the tab is opened, and
// reads the rules of the render under way from the tab's state: each render
// puts a fresh state there and removes it when it ends, and every decision is
// made against the state the request found on arrival, so no rule, header or
// count of one job reaches another's requests. Between renders the tab is
// sent to about:blank, which ends the previous document (its timers, sockets
// and requests), and any request arriving while no render is under way is
// refused.
import type { RenderJobData, RenderOutput } from '@crawlstream/jobs';
import type { RobotsRules } from '@crawlstream/pipeline';
import { errors, type Frame, type Page, type Route } from 'playwright-core';
import type { Lease } from './browser-pool.js';
import { BLOCKED_HEADER, targetAllowed } from './guard-proxy.js';
import type { SsrfGuard } from '@crawlstream/pipeline';

export const BLOCKED_TYPES = new Set(['image', 'font', 'media']);

/** What a render knows about its crawl, read by the renderer before it starts. */
export interface RenderRules {
  /** robots.txt of the page's host as the crawl stored it; undefined: none stored (nothing refused). */
  robots?: RobotsRules;
  /** The crawl's private headers for a URL (start origins only). */
  headersFor?: (url: string) => Readonly<Record<string, string>> | undefined;
  guard: SsrfGuard;
}

/** The browser (or the context) went away under the page: retried by BullMQ. */
export class BrowserGoneError extends Error {
  constructor(cause: unknown) {
    super(`browser went away mid-page: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'BrowserGoneError';
  }
}

const GONE = /Target page, context or browser has been closed|Browser has been closed|browser has disconnected|Target closed|context closed|crashed/i;

/** The render under way on a tab: its job's rules and what it has seen so far. */
interface CurrentRender {
  target: URL;
  rules: RenderRules;
  /** Whether the main frame has been let go to the job's document (once per render). */
  navigated: boolean;
  documentRefused: 'ssrf' | 'robots' | undefined;
  blocked: number;
}

interface TabState {
  current: CurrentRender | undefined;
}

const tabs = new WeakMap<Page, TabState>();

async function refuse(render: CurrentRender, route: Route, mainFrame: Frame, why?: 'ssrf' | 'robots'): Promise<void> {
  const request = route.request();
  const navigation = request.isNavigationRequest() && request.frame() === mainFrame;
  render.blocked++;
  if (why && navigation && !render.navigated) render.documentRefused = why;
  // A main-frame navigation refused with ERR_ABORTED leaves the document as it was; any other error would commit an error page over it.
  await route.abort(navigation ? 'aborted' : 'blockedbyclient').catch(() => {});
}

async function handle(tab: TabState, mainFrame: Frame, route: Route): Promise<void> {
  // The render this request belongs to: the one under way when it arrived, whatever happens meanwhile.
  const render = tab.current;
  const request = route.request();
  const url = URL.parse(request.url());
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return route.continue().catch(() => {});
  // Between renders (a document on its way out): nothing leaves, and no job counts it.
  if (!render) return route.abort('blockedbyclient').catch(() => {});
  if (BLOCKED_TYPES.has(request.resourceType())) return refuse(render, route, mainFrame);
  const navigation = request.isNavigationRequest() && request.frame() === mainFrame;
  // Only the first navigation, to the job's document: a script setting `location` reaches nothing.
  if (navigation && (render.navigated || url.href !== render.target.href)) return refuse(render, route, mainFrame);
  const allowed = await targetAllowed(render.rules.guard, url.hostname);
  if (tab.current !== render) return route.abort('blockedbyclient').catch(() => {});
  if (!allowed) return refuse(render, route, mainFrame, 'ssrf');
  const { robots, headersFor } = render.rules;
  if (robots && url.host === render.target.host && !robots.isAllowed(url.href)) return refuse(render, route, mainFrame, 'robots');
  if (navigation) render.navigated = true;
  const extra = headersFor?.(url.href);
  await route.continue(extra ? { headers: { ...request.headers(), ...extra } } : undefined).catch(() => {});
}

/** The tab's state, its request handler installed on first use. */
async function tabState(page: Page): Promise<TabState> {
  const known = tabs.get(page);
  if (known) return known;
  const tab: TabState = { current: undefined };
  const mainFrame = page.mainFrame();
  await page.route('**/*', (route) => handle(tab, mainFrame, route));
  tabs.set(page, tab);
  return tab;
}

export async function renderPage(
  lease: Lease,
  job: Required<Pick<RenderJobData, 'url' | 'timeoutMs' | 'maxBytes'>> & Pick<RenderJobData, 'waitFor'>,
  rules: RenderRules,
  timeoutMs: number,
): Promise<RenderOutput> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  const render: CurrentRender = { target: new URL(job.url), rules, navigated: false, documentRefused: undefined, blocked: 0 };
  let page: Page | undefined;
  let tab: TabState | undefined;
  /** Whether the tab may serve the next render: false when this one ended by throwing. */
  let reusable = false;
  const gone = (err: unknown) => lease.lost() || (err instanceof Error && GONE.test(err.message));
  try {
    page = await lease.tab();
    tab = await tabState(page);
    tab.current = render;
    const result = await renderOn(page, job, render, timeoutMs, left, gone, started);
    reusable = true;
    return result;
  } catch (err) {
    if (!(err instanceof BrowserGoneError) && gone(err)) throw new BrowserGoneError(err);
    throw err;
  } finally {
    if (tab?.current === render) tab.current = undefined;
    // The document is stopped before the next render: its timers, sockets and requests end with it.
    if (page && reusable) {
      const blank = await page.goto('about:blank', { timeout: timeoutMs }).then(
        () => true,
        () => false,
      );
      if (!blank) reusable = false;
    }
    if (page && !reusable) await page.close().catch(() => {});
  }
}

async function renderOn(
  page: Page,
  job: Required<Pick<RenderJobData, 'url' | 'timeoutMs' | 'maxBytes'>> & Pick<RenderJobData, 'waitFor'>,
  render: CurrentRender,
  timeoutMs: number,
  left: () => number,
  gone: (err: unknown) => boolean,
  started: number,
): Promise<RenderOutput> {
  let response: Awaited<ReturnType<Page['goto']>>;
  try {
    response = await page.goto(job.url, { waitUntil: 'domcontentloaded', timeout: left() });
  } catch (err) {
    if (gone(err)) throw new BrowserGoneError(err);
    if (render.documentRefused === 'ssrf') return { kind: 'failed', reason: 'ssrf_blocked', message: `the document ${job.url} is blocked by the SSRF guard` };
    if (render.documentRefused === 'robots') return { kind: 'failed', reason: 'render_failed', message: `robots.txt disallows ${job.url}` };
    if (err instanceof errors.TimeoutError) return { kind: 'failed', reason: 'render_failed', message: `the document did not load within ${timeoutMs} ms` };
    return { kind: 'failed', reason: 'render_failed', message: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
  }
  const status = response?.status() ?? 200;
  if (response && (await response.headerValue(BLOCKED_HEADER)) === 'ssrf') {
    return { kind: 'failed', reason: 'ssrf_blocked', message: `the document ${job.url} is blocked by the SSRF guard`, status };
  }
  if (status >= 400) {
    return { kind: 'failed', reason: status >= 500 ? 'http_5xx' : 'http_4xx', message: `the document answered ${status} in the browser`, status };
  }
  try {
    if (job.waitFor) await page.waitForSelector(job.waitFor, { state: 'attached', timeout: left() });
    else await page.waitForLoadState('networkidle', { timeout: left() });
  } catch (err) {
    // Past the time, the DOM so far is the render: the document itself loaded.
    if (!(err instanceof errors.TimeoutError)) {
      if (gone(err)) throw new BrowserGoneError(err);
      throw err;
    }
  }
  let html: string;
  try {
    html = `<!DOCTYPE html>${await page.evaluate('document.documentElement.outerHTML')}`;
  } catch (err) {
    if (gone(err)) throw new BrowserGoneError(err);
    throw err;
  }
  const bytes = Buffer.byteLength(html);
  if (bytes > job.maxBytes) {
    return { kind: 'failed', reason: 'too_large', message: `the rendered DOM is ${bytes} bytes, over maxBytes ${job.maxBytes}`, status };
  }
  return { kind: 'rendered', html, finalUrl: page.url(), status, bytes, durationMs: Date.now() - started, blockedRequests: render.blocked };
}
