// The dashboard's way to the API: the SDK for REST calls (with the API key,
// when one is set, as a Bearer header), and stream clients that carry no key,
// because a stream is opened with the crawl's short-lived `streamToken` as
// `?token=` (what an EventSource could do too), never with the key itself.
import { CrawlstreamClient } from '@crawlstream/client';

const API_KEY_STORAGE = 'crawlstream.apiKey';

export function storedApiKey(): string | undefined {
  try {
    return localStorage.getItem(API_KEY_STORAGE)?.trim() || undefined;
  } catch {
    return undefined;
  }
}

export function storeApiKey(key: string | undefined): void {
  try {
    if (key) localStorage.setItem(API_KEY_STORAGE, key);
    else localStorage.removeItem(API_KEY_STORAGE);
  } catch {
    // Storage refused (private mode): the key lives for this page only.
  }
}

export class DashboardApi {
  readonly rest: CrawlstreamClient;

  constructor(
    readonly apiKey: string | undefined,
    readonly baseUrl: string = location.origin,
  ) {
    this.rest = new CrawlstreamClient({ baseUrl, ...(apiKey ? { apiKey } : {}) });
  }

  /**
   * A client for one stream. `onOpen` is called whenever the server answers
   * a (re)connection with the event stream, which is when it is live again,
   * even before an event arrives.
   */
  streamClient(onOpen: () => void): CrawlstreamClient {
    const fetchAndWatch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 200) onOpen();
      return response;
    };
    return new CrawlstreamClient({
      baseUrl: this.baseUrl,
      fetch: fetchAndWatch,
      // A dashboard waits at most 10 s between attempts, then shows the crawl again at once.
      reconnect: { maxDelayMs: 10_000 },
    });
  }
}
