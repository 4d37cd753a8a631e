// The dashboard's entry: the page frame (title, API key, links), and a
// hash router between the home view (start form and crawl list) and one
// crawl's page (`#/crawls/<id>`). Each view releases its streams and timers
// when it is left.
import './jitless.js';
import './style.css';
import { DashboardApi, storeApiKey, storedApiKey } from './api.js';
import { h } from './dom.js';
import { crawlHref, crawlList } from './views/crawl-list.js';
import { crawlPage } from './views/crawl-page.js';
import { startForm } from './views/start-form.js';
import type { View } from './views/view.js';

let api = new DashboardApi(storedApiKey());
let current: View | undefined;
const main = h('main', { id: 'view' });

function homeView(): View {
  const list = crawlList(api);
  const form = startForm(api, (crawl) => {
    location.hash = crawlHref(crawl.id);
  });
  return {
    element: h('div', { className: 'home' }, h('section', { className: 'card' }, h('h2', null, 'Start a crawl'), form), list.element),
    destroy: () => list.destroy(),
  };
}

function route(): void {
  current?.destroy();
  const match = /^#\/crawls\/([^/?#]+)$/.exec(location.hash);
  document.title = 'crawlstream';
  current = match ? crawlPage(api, decodeURIComponent(match[1]!)) : homeView();
  main.replaceChildren(current.element);
  window.scrollTo(0, 0);
}

function apiKeyForm(): HTMLFormElement {
  const input = h('input', {
    type: 'password',
    id: 'api-key',
    name: 'apiKey',
    placeholder: 'API key (if API_KEYS is set)',
    autocomplete: 'off',
    value: api.apiKey ?? '',
    attrs: { 'aria-label': 'API key' },
  });
  const state = h('span', { className: 'key-state', id: 'api-key-state' });
  const showState = () => {
    state.textContent = api.apiKey ? 'key saved' : 'no key';
    state.dataset.set = api.apiKey ? 'yes' : 'no';
  };
  showState();
  const form = h('form', { className: 'api-key', id: 'api-key-form' }, input, h('button', { type: 'submit' }, 'Save'), state);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim() || undefined;
    storeApiKey(key);
    api = new DashboardApi(key);
    showState();
    route();
  });
  return form;
}

const header = h(
  'header',
  { className: 'top' },
  h('a', { href: '#/', className: 'brand' }, 'crawlstream'),
  h('nav', null, h('a', { href: '#/' }, 'Crawls'), h('a', { href: '/docs', target: '_blank', rel: 'noopener' }, 'API docs')),
  apiKeyForm(),
);

document.getElementById('app')!.replaceChildren(header, main);
window.addEventListener('hashchange', route);
route();
