// The list of crawls, newest first, each with a progress bar. Running crawls
// are followed live over their streams (a snapshot, then every event), at
// most a few at a time so that a browser's six connections per origin are
// never used up; the list itself is read again every few seconds for new
// crawls and for the counters of the others.
import type { Crawl } from '@crawlstream/client';
import type { DashboardApi } from '../api.js';
import { type ConnectionState, describeError, type Feed, followCrawl } from '../crawl-feed.js';
import { CrawlModel } from '../crawl-model.js';
import { h } from '../dom.js';
import { formatAge, formatCount } from '../format.js';
import type { View } from './view.js';

/** Streams open at once for the list (the crawl page adds one; REST calls need the rest). */
const MAX_LIVE_ROWS = 4;
const REFRESH_ACTIVE_MS = 3_000;
const REFRESH_IDLE_MS = 15_000;
const PAGE = 20;

interface Row {
  id: string;
  crawl: Crawl;
  model: CrawlModel;
  element: HTMLTableRowElement;
  feed?: Feed;
  connection?: ConnectionState;
}

export function crawlHref(id: string): string {
  return `#/crawls/${encodeURIComponent(id)}`;
}

export function progressBar(settled: number, discovered: number, status: string | undefined): HTMLElement {
  const fraction = discovered > 0 ? Math.min(1, settled / discovered) : 0;
  const fill = h('div', { className: 'fill' });
  fill.style.width = `${(fraction * 100).toFixed(1)}%`;
  return h(
    'div',
    {
      className: `bar status-${status ?? 'unknown'}`,
      attrs: { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(discovered), 'aria-valuenow': String(settled) },
    },
    fill,
  );
}

export function crawlList(api: DashboardApi): View {
  const rows = new Map<string, Row>();
  const body = h('tbody');
  const empty = h('p', { className: 'empty' }, 'No crawls yet: start one above.');
  const problem = h('p', { className: 'problem', hidden: true });
  const more = h('button', { type: 'button', className: 'link', hidden: true }, 'Show more');
  const table = h(
    'table',
    { className: 'crawls', id: 'crawl-list' },
    h('thead', null, h('tr', null, h('th', null, 'URL'), h('th', null, 'Status'), h('th', { className: 'progress-col' }, 'Progress'), h('th', null, 'Failed'), h('th', null, 'Started'))),
    body,
  );
  const element = h('section', { className: 'card' }, h('h2', null, 'Crawls'), problem, table, empty, more);
  let limit = PAGE;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let destroyed = false;

  function renderRow(row: Row): void {
    const { model } = row;
    const counters = model.counters;
    const status = model.status ?? row.crawl.status;
    const live = row.connection === 'live';
    row.element.dataset.status = status;
    row.element.replaceChildren(
      h('td', { className: 'url' }, h('a', { href: crawlHref(row.id), title: row.crawl.url }, row.crawl.url)),
      h(
        'td',
        null,
        h('span', { className: `badge status-${status}` }, status),
        live ? h('span', { className: 'live-dot', title: 'following live' }) : null,
      ),
      h(
        'td',
        { className: 'progress-col' },
        progressBar(model.settled, counters.discovered, status),
        h('span', { className: 'count' }, `${formatCount(model.settled)} / ${formatCount(counters.discovered)}`),
      ),
      h('td', { className: counters.failed > 0 ? 'failed' : '' }, formatCount(counters.failed)),
      h('td', { className: 'age' }, formatAge(row.crawl.startedAt ?? row.crawl.createdAt)),
    );
  }

  function follow(row: Row): void {
    row.feed = followCrawl({
      api,
      crawlId: row.id,
      onEvent: (streamed) => {
        if (row.model.apply(streamed)) renderRow(row);
      },
      onState: (state) => {
        row.connection = state;
        if (state === 'ended') row.feed = undefined;
        renderRow(row);
        if (state === 'ended') startFeeds();
      },
    });
  }

  /** Follows the newest active crawls that are not followed yet, up to the cap. */
  function startFeeds(): void {
    if (destroyed) return;
    let live = [...rows.values()].filter((row) => row.feed).length;
    for (const row of rows.values()) {
      if (live >= MAX_LIVE_ROWS) break;
      if (!row.feed && !row.model.ended && row.connection !== 'ended') {
        follow(row);
        live++;
      }
    }
  }

  async function load(): Promise<void> {
    clearTimeout(timer);
    try {
      const list = await api.rest.listCrawls({ limit });
      if (destroyed) return;
      problem.hidden = true;
      const ids = new Set(list.items.map((crawl) => crawl.id));
      for (const [id, row] of rows) {
        if (!ids.has(id)) {
          row.feed?.stop();
          rows.delete(id);
        }
      }
      for (const crawl of list.items) {
        let row = rows.get(crawl.id);
        if (!row) {
          row = { id: crawl.id, crawl, model: new CrawlModel(crawl), element: h('tr', { dataset: { crawlId: crawl.id } }) };
          rows.set(crawl.id, row);
        } else if (!row.feed) {
          // Not followed: the list's counters are the newest we have.
          row.crawl = crawl;
          row.model.applyCrawl(crawl);
        }
        renderRow(row);
      }
      body.replaceChildren(...list.items.map((crawl) => rows.get(crawl.id)!.element));
      empty.hidden = list.items.length > 0;
      more.hidden = list.nextCursor === null || limit >= 100;
      startFeeds();
    } catch (error) {
      if (destroyed) return;
      problem.hidden = false;
      problem.textContent = `Could not list crawls: ${describeError(error)}`;
    }
    if (destroyed) return;
    const active = [...rows.values()].some((row) => !row.model.ended);
    timer = setTimeout(load, active ? REFRESH_ACTIVE_MS : REFRESH_IDLE_MS);
  }

  more.addEventListener('click', () => {
    limit = Math.min(100, limit + PAGE);
    void load();
  });

  void load();
  return {
    element,
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      for (const row of rows.values()) row.feed?.stop();
    },
  };
}
