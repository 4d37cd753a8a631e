// Building DOM nodes in code: text always goes in as text (page titles and
// URLs come from crawled sites and are never parsed as HTML).

type Child = Node | string | number | null | undefined | false;

type Props<E extends HTMLElement> = Partial<Omit<E, 'dataset' | 'style' | 'children'>> & {
  /** `data-*` attributes. */
  dataset?: Record<string, string>;
  /** Other attributes (aria-*, for, …). */
  attrs?: Record<string, string>;
};

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props<HTMLElementTagNameMap[K]> | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props) {
    const { dataset, attrs, ...rest } = props;
    Object.assign(element, rest);
    if (dataset) Object.assign(element.dataset, dataset);
    if (attrs) for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** A link to a crawled page, only for http(s) URLs, opened apart from the dashboard. */
export function pageLink(url: string, text: string = url): HTMLElement {
  const parsed = URL.parse(url);
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) return h('span', null, text);
  return h('a', { href: parsed.href, target: '_blank', rel: 'noopener noreferrer' }, text);
}
