// One crawl, live: status and connection state, counters, the progress bar,
// the pages-per-second chart, the log of page events, the errors table and
// the markdown download. The stream is read from the first event ('0'), so
// the log and the chart hold the whole crawl, and every event id is applied
// once (CrawlModel), however often the stream reconnects. Rendering is
// batched to one pass per animation frame, whatever the event rate.
import { type CrawlErrorItem, type CrawlWithToken, formatDuration, formatRate } from '@crawlstream/client';
import { markdownPath } from '@crawlstream/shared';
import type { DashboardApi } from '../api.js';
import { type ConnectionState, describeError, type Feed, followCrawl } from '../crawl-feed.js';
import { CrawlModel, type LogEntry } from '../crawl-model.js';
import { h, pageLink } from '../dom.js';
import { formatBytes, formatClock, formatCount } from '../format.js';
import { type ChartRange, drawRateChart } from '../rate-chart.js';
import { progressBar } from './crawl-list.js';
import { storedPagesCard } from './stored-pages.js';
import type { View } from './view.js';

/** Log lines kept on the page; older ones are dropped from the DOM (the model still counts them). */
const LOG_LIMIT = 5_000;
const ERRORS_REFRESH_MS = 1_500;
const RETRY_LOAD_MS = 2_000;

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  ended: 'ended',
};

function logLine(entry: LogEntry): HTMLLIElement {
  if (entry.kind === 'note') {
    return h(
      'li',
      { className: `note type-${entry.type}`, dataset: { eventId: entry.id, type: entry.type } },
      h('time', null, formatClock(entry.ts)),
      h('span', { className: 'tag' }, entry.type),
      h('span', { className: 'text' }, entry.text),
    );
  }
  const { event } = entry;
  const parts: (HTMLElement | string)[] = [h('time', null, formatClock(event.ts)), h('span', { className: 'tag' }, event.type)];
  if (event.type === 'page') {
    parts.push(
      h('span', { className: 'code' }, String(event.status)),
      pageLink(event.url),
      h('span', { className: 'title' }, event.title || '(untitled)'),
      h('span', { className: 'meta' }, `${formatBytes(event.bytes)} · ${event.durationMs} ms · depth ${event.depth}`),
    );
  } else if (event.type === 'page_failed') {
    parts.push(
      h('span', { className: 'code' }, event.status === undefined ? event.reason : `${event.status} ${event.reason}`),
      pageLink(event.url),
      h('span', { className: 'meta' }, `${event.message} (${event.attempts} attempt${event.attempts === 1 ? '' : 's'})`),
    );
  } else {
    parts.push(h('span', { className: 'code' }, event.reason), pageLink(event.url));
  }
  return h('li', { className: `type-${event.type}`, dataset: { eventId: entry.id, type: event.type } }, ...parts);
}

function counter(name: string, label: string): { element: HTMLElement; value: HTMLElement } {
  const value = h('span', { className: 'value', dataset: { counter: name } }, '–');
  return { element: h('div', { className: `counter counter-${name}` }, value, h('span', { className: 'label' }, label)), value };
}

function markdownFileName(url: string, id: string): string {
  const host = URL.parse(url)?.hostname.replace(/[^a-z0-9.-]/gi, '') || 'crawl';
  return `${host}-${id.slice(0, 8)}.md`;
}

/** From the crawl's start (or first page) to now, or to its last page once it ended. */
function chartRange(model: CrawlModel, now: number): ChartRange | undefined {
  if (model.rate.size === 0) return undefined;
  const seconds = [...model.rate.keys()];
  const first = Math.min(...seconds);
  const from = model.startedAt === undefined ? first : Math.min(first, Math.floor(model.startedAt / 1000));
  return { from, to: Math.max(Math.floor(now / 1000), ...seconds) };
}

export function crawlPage(api: DashboardApi, crawlId: string): View {
  let model: CrawlModel | undefined;
  let crawl: CrawlWithToken | undefined;
  let feed: Feed | undefined;
  let destroyed = false;
  let frame = 0;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let errorsTimer: ReturnType<typeof setTimeout> | undefined;
  let webhookTimer: ReturnType<typeof setTimeout> | undefined;
  let loadTimer: ReturnType<typeof setTimeout> | undefined;
  /** Local time when the newest event was applied: server time runs on from its `ts` by local elapsed time. */
  let appliedAt = 0;
  let logHidden = 0;

  const title = h('h2', { className: 'crawl-url' }, 'Loading…');
  const status = h('span', { className: 'badge', id: 'crawl-status' });
  const connection = h('span', { className: 'connection', id: 'connection', dataset: { connection: 'connecting' } }, CONNECTION_TEXT.connecting);
  const cancel = h('button', { type: 'button', className: 'danger', id: 'cancel-crawl', hidden: true }, 'Cancel crawl');
  const markdown = h('a', { className: 'button', id: 'markdown-link', href: '#' }, 'Download markdown');
  const problem = h('p', { className: 'problem', hidden: true });
  const counters = {
    discovered: counter('discovered', 'discovered'),
    processed: counter('processed', 'stored'),
    failed: counter('failed', 'failed'),
    skipped: counter('skipped', 'skipped'),
    rate: counter('rate', 'pages/s'),
    elapsed: counter('elapsed', 'elapsed'),
  };
  const progress = h('div', { className: 'progress-wrap' });
  const canvas = h('canvas', { className: 'rate-chart', id: 'rate-chart', attrs: { role: 'img', 'aria-label': 'Pages per second' } });
  const log = h('ol', { className: 'log', id: 'event-log' });
  const logCount = h('span', { className: 'muted', id: 'log-count' }, '0 lines');
  const logScroll = h('div', { className: 'log-scroll' }, log);
  const errorsBody = h('tbody');
  const errorsEmpty = h('p', { className: 'empty' }, 'No failed or skipped pages.');
  const errorsCount = h('span', { className: 'muted' });
  const options = h('pre', { className: 'options-json' });
  // The crawl's webhook (#16), when it has one: where its delivery stands.
  const webhook = h('p', { className: 'webhook-state muted', id: 'webhook-state', hidden: true });

  const element = h(
    'section',
    { className: 'crawl-page', dataset: { crawlId } },
    h('a', { href: '#/', className: 'back' }, '← All crawls'),
    h('header', { className: 'crawl-head' }, h('div', { className: 'crawl-title' }, title, h('div', { className: 'badges' }, status, connection)), h('div', { className: 'crawl-actions' }, cancel, markdown)),
    problem,
    webhook,
    h('div', { className: 'counters' }, ...Object.values(counters).map((c) => c.element)),
    progress,
    h(
      'section',
      { className: 'card chart-card' },
      h('h3', null, 'Pages per second ', h('span', { className: 'legend' }, h('i', { className: 'swatch stored' }), 'stored ', h('i', { className: 'swatch other' }), 'failed or skipped')),
      canvas,
    ),
    h(
      'div',
      { className: 'columns' },
      h('section', { className: 'card log-card' }, h('h3', null, 'Live log ', logCount), logScroll),
      h(
        'section',
        { className: 'card errors-card' },
        h('h3', null, 'Errors ', errorsCount),
        h(
          'table',
          { className: 'errors', id: 'errors-table' },
          h('thead', null, h('tr', null, h('th', null, 'Kind'), h('th', null, 'Reason'), h('th', null, 'URL'), h('th', null, 'Message'))),
          errorsBody,
        ),
        errorsEmpty,
      ),
    ),
    storedPagesCard(api, crawlId),
    h('details', { className: 'card options-card' }, h('summary', null, 'Options'), options),
  );

  /** The server's clock now, as far as the events tell. */
  function serverNow(): number {
    if (!model?.lastTs) return Date.now();
    return model.ended ? model.lastTs : model.lastTs + (Date.now() - appliedAt);
  }

  function schedule(): void {
    if (frame || destroyed) return;
    // Animation frames stop in a hidden tab; a timer keeps the page current there.
    frame = document.hidden ? window.setTimeout(render, 250) : requestAnimationFrame(render);
  }

  function appendLog(entries: LogEntry[]): void {
    if (entries.length === 0) return;
    const atBottom = logScroll.scrollTop + logScroll.clientHeight >= logScroll.scrollHeight - 4;
    const fragment = document.createDocumentFragment();
    for (const entry of entries) fragment.appendChild(logLine(entry));
    log.appendChild(fragment);
    while (log.childElementCount > LOG_LIMIT) {
      log.firstElementChild?.remove();
      logHidden++;
    }
    const shown = log.childElementCount;
    logCount.textContent = `${formatCount(shown + logHidden)} lines${logHidden > 0 ? ` (${formatCount(logHidden)} oldest not shown)` : ''}`;
    if (atBottom) logScroll.scrollTop = logScroll.scrollHeight;
  }

  function render(): void {
    frame = 0;
    if (!model || destroyed) return;
    const now = serverNow();
    const c = model.counters;
    const state = model.status ?? 'queued';
    status.textContent = state;
    status.className = `badge status-${state}`;
    status.dataset.status = state;
    element.dataset.status = state;
    counters.discovered.value.textContent = formatCount(c.discovered);
    counters.processed.value.textContent = formatCount(c.processed);
    counters.failed.value.textContent = formatCount(c.failed);
    counters.skipped.value.textContent = formatCount(c.skipped);
    counters.rate.value.textContent = formatRate(model.pagesPerSecond(now));
    const elapsed = model.elapsedMs(now);
    counters.elapsed.value.textContent = elapsed === undefined ? '–' : formatDuration(elapsed);
    progress.replaceChildren(
      progressBar(model.settled, c.discovered, state),
      h('span', { className: 'count' }, `${formatCount(model.settled)} of ${formatCount(c.discovered)} discovered URLs settled`),
    );
    cancel.hidden = model.ended;
    if (model.error) {
      problem.hidden = false;
      problem.textContent = `The crawl failed: ${model.error.message} (${model.error.code})`;
    }
    appendLog(model.takeLog());
    drawRateChart(canvas, model.rate, chartRange(model, now));
  }

  function renderErrors(items: CrawlErrorItem[]): void {
    errorsBody.replaceChildren(
      ...items.map((item) =>
        h(
          'tr',
          { className: `kind-${item.kind}` },
          h('td', null, item.kind),
          h('td', null, item.status === undefined ? item.reason : `${item.reason} (${item.status})`),
          h('td', { className: 'url' }, pageLink(item.url)),
          h('td', null, item.message),
        ),
      ),
    );
    errorsEmpty.hidden = items.length > 0;
    errorsCount.textContent = items.length > 0 ? `${formatCount(items.length)}` : '';
  }

  async function refreshErrors(): Promise<void> {
    errorsTimer = undefined;
    try {
      const items = await api.rest.errors(crawlId);
      if (!destroyed) renderErrors(items);
    } catch {
      // The API may be restarting; the next page event or the end of the crawl asks again.
    }
  }

  function errorsSoon(): void {
    if (errorsTimer === undefined && !destroyed) errorsTimer = setTimeout(refreshErrors, ERRORS_REFRESH_MS);
  }

  async function refreshWebhook(): Promise<void> {
    webhookTimer = undefined;
    try {
      const state = await api.rest.getWebhook(crawlId);
      if (destroyed) return;
      webhook.hidden = false;
      webhook.dataset.state = state.state;
      const failure = state.lastError ? ` · last error: ${state.lastError}` : '';
      const attempts = state.attempts > 0 ? ` · ${state.attempts} failed attempt${state.attempts === 1 ? '' : 's'}` : '';
      webhook.textContent = `Webhook ${state.url}: ${state.state} · ${formatCount(state.pending)} pending${attempts}${failure}`;
      // Delivery may go on after the crawl ended: look again until it is done or failed.
      if (state.state === 'active' || state.state === 'failing') webhookSoon();
    } catch {
      // The API may be restarting: ask again shortly.
      webhookSoon();
    }
  }

  function webhookSoon(): void {
    if (webhookTimer === undefined && !destroyed && crawl?.webhook) webhookTimer = setTimeout(refreshWebhook, ERRORS_REFRESH_MS);
  }

  function setConnection(state: ConnectionState, detail?: string): void {
    connection.dataset.connection = state;
    connection.className = `connection connection-${state}`;
    connection.textContent = CONNECTION_TEXT[state];
    connection.title = detail ?? '';
    if (state === 'ended') {
      clearInterval(ticker);
      ticker = undefined;
      if (detail && !model?.ended) {
        problem.hidden = false;
        problem.textContent = `The live stream stopped: ${detail}`;
      }
      void refreshErrors();
      schedule();
    }
  }

  async function load(): Promise<void> {
    try {
      crawl = await api.rest.getCrawl(crawlId);
    } catch (error) {
      if (destroyed) return;
      problem.hidden = false;
      problem.textContent = `Could not load the crawl: ${describeError(error)}`;
      const retryable = (error as { retryable?: boolean }).retryable === true;
      if (retryable) loadTimer = setTimeout(load, RETRY_LOAD_MS);
      else setConnection('ended');
      return;
    }
    if (destroyed) return;
    problem.hidden = true;
    title.replaceChildren(pageLink(crawl.url));
    document.title = `${crawl.url} · crawlstream`;
    options.textContent = JSON.stringify(crawl.options, null, 2);
    markdown.href = `${api.rest.baseUrl}${markdownPath(crawlId)}`;
    markdown.download = markdownFileName(crawl.url, crawlId);
    // The whole log, from the first event: the crawl's counters come from it too.
    model = new CrawlModel(crawl, true);
    schedule();
    void refreshErrors();
    if (crawl.webhook) void refreshWebhook();
    ticker = setInterval(schedule, 1_000);
    feed = followCrawl({
      api,
      crawlId,
      from: '0',
      token: crawl.streamToken,
      onEvent: (streamed) => {
        if (!model?.apply(streamed)) return;
        appliedAt = Date.now();
        const type = streamed.event.type;
        if (type === 'page_failed' || type === 'page_skipped' || type === 'snapshot') errorsSoon();
        schedule();
      },
      onState: setConnection,
    });
  }

  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      await api.rest.cancelCrawl(crawlId);
    } catch (error) {
      problem.hidden = false;
      problem.textContent = `Could not cancel: ${describeError(error)}`;
    } finally {
      cancel.disabled = false;
    }
  });

  // With an API key the download needs the Authorization header, which a plain link cannot send.
  markdown.addEventListener('click', async (event) => {
    if (!api.apiKey || !crawl) return;
    event.preventDefault();
    try {
      const text = await api.rest.markdown(crawlId);
      const url = URL.createObjectURL(new Blob([text], { type: 'text/markdown' }));
      const link = h('a', { href: url, download: markdown.download });
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      problem.hidden = false;
      problem.textContent = `Could not download the markdown: ${describeError(error)}`;
    }
  });

  const onResize = () => schedule();
  window.addEventListener('resize', onResize);
  void load();

  return {
    element,
    destroy() {
      destroyed = true;
      feed?.stop();
      clearInterval(ticker);
      clearTimeout(errorsTimer);
      clearTimeout(webhookTimer);
      clearTimeout(loadTimer);
      if (frame) {
        cancelAnimationFrame(frame);
        clearTimeout(frame);
      }
      window.removeEventListener('resize', onResize);
    },
  };
}
