// A crawl's stored pages with what the crawl learned about each (#14): word
// count, language and whether a browser rendered it (#17) in the row; description, canonical URL and Last-Modified
// in the row's detail. Read from /pages when the card is opened (each
// opening reads again): stored records carry their markdown, so the card
// never reads more than STORED_PAGES_SHOWN of them.
import type { PageResult } from '@crawlstream/client';
import type { DashboardApi } from '../api.js';
import { describeError } from '../crawl-feed.js';
import { h, pageLink } from '../dom.js';
import { formatCount } from '../format.js';

/** Pages listed at most (one request of the pages route). */
export const STORED_PAGES_SHOWN = 100;

function detail(page: PageResult): HTMLElement | undefined {
  const facts: [string, Node | string][] = [];
  if (page.description) facts.push(['Description', page.description]);
  if (page.canonical) facts.push(['Canonical', pageLink(page.canonical)]);
  if (page.lastModified) facts.push(['Last modified', page.lastModified]);
  if (facts.length === 0) return undefined;
  return h('dl', { className: 'page-facts' }, ...facts.flatMap(([term, value]) => [h('dt', null, term), h('dd', null, value)]));
}

/** Whether the content is a browser's DOM or the fetched HTML; a dash for a page stored before rendering existed. */
function sourceMarker(rendered: boolean | undefined): HTMLElement | string {
  if (rendered === undefined) return '–';
  return rendered
    ? h('span', { className: 'rendered', title: 'The DOM a browser rendered' }, 'rendered')
    : h('span', { className: 'fetched', title: 'The fetched HTML' }, 'fetched');
}

function pageRow(page: PageResult): HTMLTableRowElement {
  const title = page.title || '(untitled)';
  const facts = detail(page);
  return h(
    'tr',
    { dataset: { url: page.url } },
    h('td', { className: 'url' }, pageLink(page.url)),
    h('td', { className: 'title' }, facts ? h('details', null, h('summary', null, title), facts) : title),
    h('td', { className: 'words' }, page.wordCount === undefined ? '–' : formatCount(page.wordCount)),
    h('td', { className: 'language' }, page.language ?? '–'),
    h('td', { className: 'source' }, sourceMarker(page.rendered)),
  );
}

export function storedPagesCard(api: DashboardApi, crawlId: string): HTMLDetailsElement {
  const body = h('tbody');
  const note = h('p', { className: 'empty' });
  const card = h(
    'details',
    { className: 'card pages-card', id: 'stored-pages' },
    h('summary', null, 'Stored pages'),
    h(
      'table',
      { className: 'pages', id: 'pages-table' },
      h('thead', null, h('tr', null, h('th', null, 'URL'), h('th', null, 'Title'), h('th', null, 'Words'), h('th', null, 'Language'), h('th', null, 'Source'))),
      body,
    ),
    note,
  );
  async function load(): Promise<void> {
    note.textContent = 'Loading…';
    const pages: PageResult[] = [];
    try {
      for await (const page of api.rest.pages(crawlId, { limit: STORED_PAGES_SHOWN })) {
        pages.push(page);
        if (pages.length === STORED_PAGES_SHOWN) break;
      }
    } catch (error) {
      note.textContent = `Could not load the pages: ${describeError(error)}`;
      return;
    }
    body.replaceChildren(...pages.map(pageRow));
    note.textContent =
      pages.length === 0 ? 'No stored pages yet.' : pages.length === STORED_PAGES_SHOWN ? `The first ${formatCount(pages.length)} pages.` : '';
  }
  card.addEventListener('toggle', () => {
    if (card.open) void load();
  });
  return card;
}
