// One render: a page in a leased context, the crawl's rules applied to each
// of its requests (no images, fonts or media; no navigation away from the
// document; robots.txt for its own host; the crawl's private headers only to
// its start origins; the SSRF guard checked here too, to count refusals the
// proxy would make anyway), then the DOM once the network is idle or the
// `waitFor` selector matches. It returns a definitive RenderOutput, or throws
// for trouble another attempt may not have (the browser went away).
import type { RenderJobData, RenderOutput } from '@crawlstream/jobs';
import type { RobotsRules } from '@crawlstream/pipeline';
import { errors, type Page, type Route } from 'playwright-core';
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

export async function renderPage(
  lease: Lease,
  job: Required<Pick<RenderJobData, 'url' | 'timeoutMs' | 'maxBytes'>> & Pick<RenderJobData, 'waitFor'>,
  rules: RenderRules,
  timeoutMs: number,
): Promise<RenderOutput> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  const target = new URL(job.url);
  let blocked = 0;
  let documentRefused: 'ssrf' | 'robots' | undefined;
  let navigated = false;
  let page: Page | undefined;
  const gone = (err: unknown) => lease.lost() || (err instanceof Error && GONE.test(err.message));
  try {
    page = await lease.context.newPage();
    const mainFrame = page.mainFrame();
    const refuse = async (route: Route, why?: 'ssrf' | 'robots') => {
      blocked++;
      if (why && route.request().isNavigationRequest() && route.request().frame() === mainFrame && !navigated) documentRefused = why;
      // A main-frame navigation refused with ERR_ABORTED leaves the document as it was; any other error would commit an error page over it.
      const navigation = route.request().isNavigationRequest() && route.request().frame() === mainFrame;
      await route.abort(navigation ? 'aborted' : 'blockedbyclient').catch(() => {});
    };
    await page.route('**/*', async (route) => {
      const request = route.request();
      const url = URL.parse(request.url());
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return route.continue().catch(() => {});
      if (BLOCKED_TYPES.has(request.resourceType())) return refuse(route);
      if (request.isNavigationRequest() && request.frame() === mainFrame) {
        // Only the first navigation, to the job's document: a script setting `location` reaches nothing.
        if (navigated || url.href !== target.href) return refuse(route);
      }
      if (!(await targetAllowed(rules.guard, url.hostname))) return refuse(route, 'ssrf');
      if (rules.robots && url.host === target.host && !rules.robots.isAllowed(url.href)) return refuse(route, 'robots');
      if (request.isNavigationRequest() && request.frame() === mainFrame) navigated = true;
      const extra = rules.headersFor?.(url.href);
      await route.continue(extra ? { headers: { ...request.headers(), ...extra } } : undefined).catch(() => {});
    });
    let response: Awaited<ReturnType<Page['goto']>>;
    try {
      response = await page.goto(job.url, { waitUntil: 'domcontentloaded', timeout: left() });
    } catch (err) {
      if (gone(err)) throw new BrowserGoneError(err);
      if (documentRefused === 'ssrf') return { kind: 'failed', reason: 'ssrf_blocked', message: `the document ${job.url} is blocked by the SSRF guard` };
      if (documentRefused === 'robots') return { kind: 'failed', reason: 'render_failed', message: `robots.txt disallows ${job.url}` };
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
    return { kind: 'rendered', html, finalUrl: page.url(), status, bytes, durationMs: Date.now() - started, blockedRequests: blocked };
  } catch (err) {
    if (!(err instanceof BrowserGoneError) && gone(err)) throw new BrowserGoneError(err);
    throw err;
  } finally {
    await page?.close().catch(() => {});
  }
}
