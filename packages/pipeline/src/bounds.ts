// The hard limits a page's extracted parts are held to (packages/shared
// limits.ts): title length, markdown size and characters, links kept, and
// HTML nesting depth. Each cut is at a character boundary.
import { type ChildNode, isTag, isText, type ParentNode } from 'domhandler';

/** `text` cut to at most `max` UTF-16 code units, never between the halves of a surrogate pair. */
export function cutChars(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return text.slice(0, end);
}

/** C0 control characters other than tab, line feed and carriage return. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

const encoder = new TextEncoder();

/**
 * Markdown without C0 control characters (tab, LF, CR kept), cut to at most
 * `maxBytes` of UTF-8 at a character boundary.
 */
export function boundMarkdown(markdown: string, maxBytes: number): { markdown: string; truncated: boolean } {
  const clean = markdown.replace(CONTROL, '');
  // Every UTF-16 code unit is at most 3 bytes of UTF-8: short strings need no count.
  if (clean.length * 3 <= maxBytes || Buffer.byteLength(clean, 'utf8') <= maxBytes) {
    return { markdown: clean, truncated: false };
  }
  // encodeInto writes whole characters only; `read` is how much of the string fitted.
  const { read } = encoder.encodeInto(clean, new Uint8Array(maxBytes));
  return { markdown: clean.slice(0, read), truncated: true };
}

/** The first `max` links that pass `keep` (the list is deduped already), and how many more passed. */
export function keepLinks(
  links: readonly string[],
  keep: (url: string) => boolean,
  max: number,
): { links: string[]; dropped: number } {
  const kept: string[] = [];
  let dropped = 0;
  for (const link of links) {
    if (!keep(link)) continue;
    if (kept.length < max) kept.push(link);
    else dropped++;
  }
  return { links: kept, dropped };
}

/**
 * Flattens a parsed tree below `maxDepth` (the root's children are at depth
 * 1), for documents not parsed by parseHtml: under an element at `maxDepth`
 * only its text and its links (`<a href>`, emptied) stay, in document order,
 * as its direct children. Iterative: the point is a tree too deep for
 * recursion. Returns how many elements were dropped.
 */
export function boundDepth(root: ParentNode, maxDepth: number): number {
  let dropped = 0;
  const stack: [ParentNode, number][] = [[root, 0]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [parent, depth] = item;
    for (const child of parent.children) {
      if (!isTag(child) || child.children.length === 0) continue;
      if (depth + 1 < maxDepth) stack.push([child, depth + 1]);
      else if (child.children.some((grandchild) => isTag(grandchild))) dropped += flatten(child);
    }
  }
  return dropped;
}

/** Keeps only the text and links below `element`, as its direct children. */
function flatten(element: ParentNode): number {
  const kept: ChildNode[] = [];
  let dropped = 0;
  const pending: ChildNode[] = [...element.children].reverse();
  for (let node = pending.pop(); node; node = pending.pop()) {
    if (isTag(node)) {
      for (let i = node.children.length - 1; i >= 0; i--) pending.push(node.children[i]!);
      node.children = [];
      if (node.name === 'a' && node.attribs.href !== undefined) kept.push(node);
      else dropped++;
    } else if (isText(node)) kept.push(node);
  }
  element.children = kept;
  kept.forEach((node, index) => {
    node.parent = element;
    node.prev = kept[index - 1] ?? null;
    node.next = kept[index + 1] ?? null;
  });
  return dropped;
}
