// The form that starts a crawl: the URL and the main options (DESIGN.md
// section 1), each field preset to the API's default. The API validates; its
// answer's issues are shown next to the form.
import { type CrawlOptionsInput, CrawlstreamError, type CrawlWithToken } from '@crawlstream/client';
import {
  DEDUPE_MODES,
  DEFAULT_RENDER,
  MAX_HEADERS,
  MAX_START_URLS,
  PAGE_FORMATS,
  type PageFormat,
  RENDER_MODES,
  type RenderMode,
  SCOPES,
} from '@crawlstream/shared';
import type { DashboardApi } from '../api.js';
import { describeError } from '../crawl-feed.js';
import { h } from '../dom.js';

function numberField(name: string, label: string, value: number, min: number, max?: number): HTMLElement {
  const input = h('input', { type: 'number', name, id: `f-${name}`, value: String(value), min: String(min), required: true });
  if (max !== undefined) input.max = String(max);
  return h('label', { className: 'field' }, h('span', null, label), input);
}

const RENDER_LABELS: Record<RenderMode, string> = {
  auto: 'auto (app shells only)',
  never: 'never (fetched HTML only)',
  always: 'always (every HTML page)',
};
/** The default first, so the select opens on it. */
const RENDER_CHOICES: RenderMode[] = [DEFAULT_RENDER, ...RENDER_MODES.filter((mode) => mode !== DEFAULT_RENDER)];

/**
 * `render` and `waitFor` (#17): the selector only means something for a page
 * a browser renders, so it is disabled (and not sent) with `never`.
 */
function renderFields(): HTMLElement[] {
  const select = h('select', { name: 'render', id: 'f-render' }, ...RENDER_CHOICES.map((mode) => h('option', { value: mode }, RENDER_LABELS[mode])));
  const waitFor = h('input', {
    type: 'text',
    name: 'waitFor',
    id: 'f-waitFor',
    placeholder: '#app main',
    spellcheck: false,
    attrs: { autocomplete: 'off' },
  });
  select.addEventListener('change', () => {
    waitFor.disabled = select.value === 'never';
  });
  return [
    h('label', { className: 'field' }, h('span', { title: 'When pages go through the browser renderer' }, 'Render'), select),
    h(
      'label',
      { className: 'field' },
      h('span', { title: 'A rendered page is read once this CSS selector matches, instead of once the network is idle' }, 'Wait for selector'),
      waitFor,
    ),
  ];
}

const FORMAT_LABELS: Record<PageFormat, string> = { markdown: 'Markdown', html: 'Content HTML', rawHtml: 'Raw HTML', links: 'Links' };

function checkbox(name: string, label: string, checked: boolean): HTMLElement {
  return h('label', { className: 'check' }, h('input', { type: 'checkbox', name, id: `f-${name}`, checked }), ` ${label}`);
}

function globsField(name: string, label: string, placeholder: string): HTMLElement {
  return h(
    'label',
    { className: 'field wide' },
    h('span', null, label),
    h('textarea', { name, id: `f-${name}`, rows: 2, placeholder, spellcheck: false }),
  );
}

/** One glob per line (or comma-separated), blanks dropped. */
function globs(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/** One entry per line, blanks dropped: a start URL, or a CSS selector (a comma belongs to either: `h2, h3`). */
function lines(value: string): string[] {
  return value
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

/**
 * Request headers for a private site, `Name: value` per line, blanks dropped;
 * a line without a colon is named by its number, never quoted (it may be a
 * credential). The API checks the rest.
 */
function headerLines(value: string): { headers: Record<string, string> } | { badLine: number } {
  const headers: Record<string, string> = {};
  for (const [i, line] of value.split('\n').entries()) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { badLine: i + 1 };
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { headers };
}

/** The API's validation issues as lines (`options.maxPages: too big`). */
function issues(error: CrawlstreamError): string[] {
  const details = error.details as { issues?: { path?: unknown[]; message?: string }[] } | undefined;
  return (details?.issues ?? []).map((issue) => {
    const path = (issue.path ?? []).join('.');
    return path ? `${path}: ${issue.message ?? 'invalid'}` : (issue.message ?? 'invalid');
  });
}

export function startForm(api: DashboardApi, onStarted: (crawl: CrawlWithToken) => void): HTMLFormElement {
  const message = h('div', { className: 'form-message', attrs: { role: 'status', 'aria-live': 'polite' } });
  const submit = h('button', { type: 'submit', className: 'primary' }, 'Start crawl');
  const form = h(
    'form',
    { className: 'start-form', id: 'start-form', noValidate: false },
    h(
      'label',
      { className: 'field url' },
      h('span', null, 'Start URL'),
      h('input', { type: 'url', name: 'url', id: 'f-url', required: true, placeholder: 'https://docs.example.com/guide/', attrs: { autocomplete: 'url' } }),
    ),
    h(
      'label',
      { className: 'field urls' },
      h('span', null, `More start URLs (one per line, at most ${MAX_START_URLS})`),
      h('textarea', { name: 'urls', id: 'f-urls', rows: 2, placeholder: 'https://docs.example.com/api/', spellcheck: false }),
    ),
    h(
      'div',
      { className: 'options' },
      numberField('maxPages', 'Max pages', 100, 1),
      numberField('maxDepth', 'Max depth', 3, 0, 100),
      h(
        'label',
        { className: 'field' },
        h('span', null, 'Scope'),
        h('select', { name: 'scope', id: 'f-scope' }, ...SCOPES.map((scope) => h('option', { value: scope }, scope))),
      ),
      numberField('concurrency', 'Concurrency', 8, 1, 256),
      numberField('delayMs', 'Delay (ms)', 0, 0, 60_000),
      ...renderFields(),
      globsField('include', 'Include (globs on the path)', '/docs/**'),
      globsField('exclude', 'Exclude (wins over include)', '**/changelog/**'),
      globsField('includeSelectors', 'Only content matching (CSS selectors, one per line)', 'article.content'),
      globsField('excludeSelectors', 'Remove content matching (CSS selectors, one per line)', '.cookie-banner'),
      h('div', { className: 'checks' }, checkbox('respectRobotsTxt', 'Respect robots.txt', true), checkbox('useSitemap', 'Use sitemap', true), checkbox('ignoreQueryParameters', 'Ignore query parameters', false)),
      h(
        'label',
        { className: 'field wide' },
        h(
          'span',
          { title: `At most ${MAX_HEADERS}; sent only to the start URLs' origins, never shown again` },
          'Request headers for a private site (Name: value per line)',
        ),
        h('textarea', {
          name: 'headers',
          id: 'f-headers',
          className: 'secret',
          rows: 2,
          placeholder: 'Authorization: Bearer …',
          spellcheck: false,
          attrs: { autocomplete: 'off', autocapitalize: 'off' },
        }),
      ),
      h('div', { className: 'checks' }, checkbox('onlyMainContent', 'Main content only (off: the whole page, navigation included)', true)),
      h('div', { className: 'checks' }, checkbox('dedupeCanonical', 'Skip canonical duplicates', true), checkbox('dedupeContent', 'Skip same-content duplicates', false)),
      h('div', { className: 'checks formats' }, 'Store:', ...PAGE_FORMATS.map((format) => checkbox(`format-${format}`, FORMAT_LABELS[format], format === 'markdown'))),
      h('div', { className: 'checks' }, checkbox('discoverOnly', 'Discover only (map mode: URLs and titles, no content; leave the formats at Markdown)', false)),
    ),
    h('div', { className: 'actions' }, submit, message),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? '').trim();
    const options: CrawlOptionsInput = {
      maxPages: Number(text('maxPages')),
      maxDepth: Number(text('maxDepth')),
      urls: lines(text('urls')),
      scope: text('scope') as (typeof SCOPES)[number],
      include: globs(text('include')),
      exclude: globs(text('exclude')),
      respectRobotsTxt: data.get('respectRobotsTxt') === 'on',
      useSitemap: data.get('useSitemap') === 'on',
      ignoreQueryParameters: data.get('ignoreQueryParameters') === 'on',
      onlyMainContent: data.get('onlyMainContent') === 'on',
      includeSelectors: lines(String(data.get('includeSelectors') ?? '')),
      excludeSelectors: lines(String(data.get('excludeSelectors') ?? '')),
      dedupe: DEDUPE_MODES.filter((mode) => data.get(mode === 'canonical' ? 'dedupeCanonical' : 'dedupeContent') === 'on'),
      formats: PAGE_FORMATS.filter((format) => data.get(`format-${format}`) === 'on'),
      discoverOnly: data.get('discoverOnly') === 'on',
      concurrency: Number(text('concurrency')),
      delayMs: Number(text('delayMs')),
    };
    const given = headerLines(String(data.get('headers') ?? ''));
    if ('badLine' in given) {
      message.className = 'form-message error';
      message.replaceChildren(h('strong', null, `Request headers, line ${given.badLine}: write Name: value`));
      return;
    }
    if (Object.keys(given.headers).length > 0) options.headers = given.headers;
    // Sent only when not the default, so a crawl started here reads like one started without them.
    const render = text('render') as RenderMode;
    if (render !== DEFAULT_RENDER) options.render = render;
    // A disabled field (render never) is not in the form data.
    const waitFor = text('waitFor');
    if (waitFor !== '') options.waitFor = waitFor;
    submit.disabled = true;
    message.className = 'form-message';
    message.textContent = 'Starting…';
    try {
      const crawl = await api.rest.createCrawl(text('url'), options);
      message.textContent = '';
      // Credentials are not kept in the page once sent.
      (form.elements.namedItem('headers') as HTMLTextAreaElement).value = '';
      onStarted(crawl);
    } catch (error) {
      message.className = 'form-message error';
      const lines = error instanceof CrawlstreamError ? issues(error) : [];
      message.replaceChildren(h('strong', null, describeError(error)), ...lines.map((line) => h('div', null, line)));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
