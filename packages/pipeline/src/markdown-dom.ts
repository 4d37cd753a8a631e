// The DOM that turndown reads, as a thin view built from the tree cheerio
// already parsed: turndown converts a DOM node as readily as a string, and
// handing it one spares serializing the content and parsing it a second time
// with domino (that second parse was a third of a worker's CPU per page).
// Only the part of the DOM that turndown 7 and turndown-plugin-gfm 1 read is
// here; markdown-dom.test.ts pins the output to the string path's. There is
// no outerHTML: nothing is kept as HTML (extract.ts's keepReplacement).
import { type ChildNode, isTag, isText, type ParentNode } from 'domhandler';

const TEXT_NODE = 3;
const ELEMENT_NODE = 1;

abstract class ViewNode {
  parentNode: ViewElement | null = null;
  previousSibling: ViewNode | null = null;
  nextSibling: ViewNode | null = null;
  abstract readonly nodeType: number;
  abstract readonly nodeName: string;
  abstract readonly textContent: string;
  /** The DOM's answer for an element; turndown asks it of text only. */
  get nodeValue(): string | null {
    return null;
  }
  /** turndown clones what it is given before trimming whitespace; a view is made for one conversion. */
  cloneNode(): this {
    return this;
  }
  /** turndown's collapsing of whitespace changed the text below: cached text is stale. */
  protected changed(): void {
    for (let node = this.parentNode; node?.cachedText != null; node = node.parentNode) node.cachedText = null;
  }
}

class ViewText extends ViewNode {
  readonly nodeType = TEXT_NODE;
  readonly nodeName = '#text';
  #data: string;

  constructor(data: string) {
    super();
    this.#data = data;
  }
  get data(): string {
    return this.#data;
  }
  set data(value: string) {
    this.#data = value;
    this.changed();
  }
  override get nodeValue(): string {
    return this.#data;
  }
  get textContent(): string {
    return this.#data;
  }
}

class ViewElement extends ViewNode {
  readonly nodeType = ELEMENT_NODE;
  readonly nodeName: string;
  readonly childNodes: ViewNode[] = [];
  cachedText: string | null = null;

  constructor(
    readonly localName: string,
    readonly attribs: Readonly<Record<string, string>>,
  ) {
    super();
    this.nodeName = localName.toUpperCase();
  }

  get firstChild(): ViewNode | null {
    return this.childNodes[0] ?? null;
  }
  get lastChild(): ViewNode | null {
    return this.childNodes[this.childNodes.length - 1] ?? null;
  }
  /** Child elements only, as in the DOM (an ordered list numbers its items by this). */
  get children(): ViewElement[] {
    return this.childNodes.filter((node): node is ViewElement => node instanceof ViewElement);
  }
  get lastElementChild(): ViewElement | null {
    for (let i = this.childNodes.length - 1; i >= 0; i--) {
      const node = this.childNodes[i];
      if (node instanceof ViewElement) return node;
    }
    return null;
  }
  get textContent(): string {
    if (this.cachedText === null) {
      let text = '';
      for (const child of this.childNodes) text += child.textContent;
      this.cachedText = text;
    }
    return this.cachedText;
  }
  get className(): string {
    return this.attribs.class ?? '';
  }
  /** What an `<input>` is (turndown's GFM task lists look for checkboxes). */
  get type(): string | undefined {
    return this.localName === 'input' ? (this.attribs.type ?? 'text').toLowerCase() : undefined;
  }
  get checked(): boolean {
    return this.localName === 'input' && this.attribs.checked !== undefined;
  }
  /**
   * A table's rows in document order: its own and those of its sections, as
   * domino (turndown's DOM) lists them; the GFM plugin converts a table when
   * the first of them is a heading row.
   */
  get rows(): ViewElement[] {
    const rows: ViewElement[] = [];
    for (const child of this.children) {
      if (child.localName === 'tr') rows.push(child);
      else if (child.localName === 'thead' || child.localName === 'tbody' || child.localName === 'tfoot') {
        for (const row of child.children) if (row.localName === 'tr') rows.push(row);
      }
    }
    return rows;
  }
  getAttribute(name: string): string | null {
    return this.attribs[name.toLowerCase()] ?? null;
  }
  getElementsByTagName(tagName: string): ViewElement[] {
    const wanted = tagName.toLowerCase();
    const found: ViewElement[] = [];
    const stack = [...this.children].reverse();
    for (let node = stack.pop(); node; node = stack.pop()) {
      if (wanted === '*' || node.localName === wanted) found.push(node);
      const children = node.children;
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
    return found;
  }
  removeChild(child: ViewNode): ViewNode {
    const index = this.childNodes.indexOf(child);
    if (index < 0) throw new Error('removeChild: not a child of this element');
    this.childNodes.splice(index, 1);
    if (child.previousSibling) child.previousSibling.nextSibling = child.nextSibling;
    if (child.nextSibling) child.nextSibling.previousSibling = child.previousSibling;
    child.parentNode = child.previousSibling = child.nextSibling = null;
    this.cachedText = null;
    this.changed();
    return child;
  }
  append(child: ViewNode): void {
    const last = this.lastChild;
    child.parentNode = this;
    if (last) {
      last.nextSibling = child;
      child.previousSibling = last;
    }
    this.childNodes.push(child);
  }
}

export type MarkdownDom = ViewElement;

/**
 * A view of `container`'s children under a root element of their own, as
 * turndown builds when it parses a string (comments and processing
 * instructions are left out: turndown drops them too).
 */
export function markdownDom(container: ParentNode): MarkdownDom {
  const root = new ViewElement('x-turndown', {});
  const pending: [ViewElement, ChildNode[]][] = [[root, container.children]];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const [parent, children] = item;
    for (const child of children) {
      if (isText(child)) parent.append(new ViewText(child.data));
      else if (isTag(child)) {
        const element = new ViewElement(child.name, child.attribs);
        parent.append(element);
        if (child.children.length > 0) pending.push([element, child.children]);
      }
    }
  }
  return root;
}
