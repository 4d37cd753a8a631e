// Parsing a page into the DOM cheerio reads (htmlparser2 in HTML mode), with
// nesting bounded while parsing: an element that would sit deeper than
// MAX_HTML_DEPTH is not created (an `<a>` is kept, empty, for its link) and
// its content joins the deepest element kept, as Chromium's parser does past
// 512 levels.
//
// Why while parsing: htmlparser2 10 keeps its open elements with
// Array.unshift, so parsing is quadratic in depth (100,000 nested <div>: 2 s,
// 50,000: 0.5 s, measured here; a 10 MiB page of `<a>` would take minutes),
// and every later step walks the tree recursively (turndown overflowed the
// stack at about 1,800 levels). Reporting a tag past the bound as a void
// element (the documented extension point) keeps it off that stack.
import { type Document, DomHandler, Element } from 'domhandler';
import { Parser, type ParserOptions } from 'htmlparser2';

/** As cheerio.load(html, { xml: { xmlMode: false, decodeEntities: true } }) parses. */
const OPTIONS: ParserOptions = { xmlMode: false, decodeEntities: true };

class BoundedHandler extends DomHandler {
  /** The element just opened was dropped (too deep): its close is the parser's immediate void close. */
  private droppedOpen = false;

  constructor(readonly maxDepth: number) {
    super(undefined, OPTIONS);
  }

  /** Depth of an element opened now (the document is depth 0, <html> 1). */
  get nextDepth(): number {
    return this.tagStack.length;
  }

  override onopentag(name: string, attribs: Record<string, string>): void {
    if (this.nextDepth <= this.maxDepth) {
      super.onopentag(name, attribs);
      return;
    }
    this.droppedOpen = true;
    if (name === 'a' && attribs.href !== undefined) this.addNode(new Element(name, attribs));
  }

  override onclosetag(): void {
    if (this.droppedOpen) this.droppedOpen = false;
    else super.onclosetag();
  }
}

class BoundedParser extends Parser {
  /** Between an open tag's name and its end; undefined until the void question is asked. */
  private tooDeep: boolean | undefined;
  private opening = false;

  constructor(private readonly handler: BoundedHandler) {
    super(handler, OPTIONS);
  }

  protected override isVoidElement(name: string): boolean {
    if (super.isVoidElement(name)) return true;
    if (!this.opening) return false;
    // Asked when the tag opens (after the tags it implies closed) and again at its end: one answer.
    this.tooDeep ??= this.handler.nextDepth > this.handler.maxDepth;
    return this.tooDeep;
  }

  override onopentagname(start: number, endIndex: number): void {
    this.opening = true;
    this.tooDeep = undefined;
    super.onopentagname(start, endIndex);
  }

  override onopentagend(endIndex: number): void {
    super.onopentagend(endIndex);
    this.opening = false;
  }

  override onselfclosingtag(endIndex: number): void {
    super.onselfclosingtag(endIndex);
    this.opening = false;
  }
}

/** The document of `html`, no element deeper than `maxDepth`. */
export function parseHtml(html: string, maxDepth: number): Document {
  const handler = new BoundedHandler(maxDepth);
  new BoundedParser(handler).end(html);
  return handler.root;
}
