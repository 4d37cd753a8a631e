// Links a page's settle reports as rejected (GET /rejected): those outside the
// crawl's scope or its globs, and those robots.txt disallows when this process
// already has the host's rules (no fetch for it). A link rejected on every
// page (a footer's) is sent once per crawl per process: each crawl's context
// remembers the first SENT_REJECTIONS_PER_CRAWL URLs it sent.
import type { RejectedLink } from '@crawlstream/progress';
import { MAX_REJECTED_PER_PAGE } from '@crawlstream/shared';
import { ROBOTS_TOKEN, type RobotsRules, type Scope } from '@crawlstream/pipeline';

/** Rejected URLs a crawl's context remembers as sent (a small, fixed cost per cached crawl: about 100 KB). */
export const SENT_REJECTIONS_PER_CRAWL = 1000;

/** The rejected URLs already sent for one crawl: the first `max`, then no more (later ones are sent again, and the store drops repeats). */
export class SentRejections {
  private readonly urls = new Set<string>();

  constructor(private readonly max = SENT_REJECTIONS_PER_CRAWL) {}

  get size(): number {
    return this.urls.size;
  }

  /** True when `url` is to be sent: not sent before (remembered, while there is room). */
  take(url: string): boolean {
    if (this.urls.has(url)) return false;
    if (this.urls.size < this.max) this.urls.add(url);
    return true;
  }
}

export interface LinkSorting {
  /** keepLinks' predicate: true for a link to claim; a rejected one is noted with its reason. */
  keep(url: string): boolean;
  /** The rejected links to send with the page (at most MAX_REJECTED_PER_PAGE, none sent before). */
  readonly rejected: RejectedLink[];
}

/** The origin of a normalized URL (scheme, host and port, lower case), without parsing it. */
function originOf(url: string): string {
  const end = url.indexOf('/', url.indexOf('//') + 2);
  return end === -1 ? url : url.slice(0, end);
}

export function sortLinks(
  scope: Scope,
  sent: SentRejections,
  /** The robots.txt rules this process has for the URL's host, or undefined (not known, or robots.txt not respected). */
  knownRules: (url: string) => RobotsRules | undefined,
): LinkSorting {
  const rejected: RejectedLink[] = [];
  const rulesByOrigin = new Map<string, RobotsRules | undefined>();
  const keep = (url: string): boolean => {
    let reason: RejectedLink['reason'] | null = scope.whyOut(url);
    if (reason === null) {
      const origin = originOf(url);
      let rules = rulesByOrigin.get(origin);
      if (rules === undefined && !rulesByOrigin.has(origin)) {
        rules = knownRules(url);
        rulesByOrigin.set(origin, rules);
      }
      if (rules && !rules.isAllowed(url, ROBOTS_TOKEN)) reason = 'robots';
    }
    if (reason === null) return true;
    if (rejected.length < MAX_REJECTED_PER_PAGE && sent.take(url)) rejected.push({ url, reason });
    return false;
  };
  return { keep, rejected };
}
