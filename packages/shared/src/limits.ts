// Hard limits of crawlstream: every bound a hostile request, page or site can
// run into, as one table of numbers shared by the API, the worker, the
// progress core and the clients. docs: the README's "Limits" table lists each
// one, and each is tested at the limit and one past it.

/** Longest URL accepted anywhere (start URL, discovered link, redirect target), in characters. */
export const MAX_URL_LENGTH = 2048;

/**
 * Longest request target (path and query, as sent on the request line) the
 * API accepts, in characters; past it: 414 `uri_too_long`. Longer than
 * MAX_URL_LENGTH: a request's query may carry a cursor, a stream token and
 * its own padding, but it is not a URL to crawl.
 */
export const MAX_REQUEST_TARGET_LENGTH = 8 * 1024;

/** A page's title is cut to this many characters (UTF-16 code units, never splitting a pair). */
export const MAX_TITLE_LENGTH = 1000;

/** A page's `description` (meta description, else og:description) is cut to this many characters (UTF-16 code units, never splitting a pair). */
export const MAX_DESCRIPTION_LENGTH = 500;

/** A page's `language` (BCP 47 tag from `<html lang>` or Content-Language) is at most this many characters; a longer one is left out. */
export const MAX_LANGUAGE_LENGTH = 35;

/** A page's `etag` and `lastModified` (response headers) are at most this many characters; a longer one is left out, never cut (a cut validator is a wrong one). */
export const MAX_VALIDATOR_LENGTH = 256;

/** A failure message (page_failed, errors[], a failed crawl's error) is cut to this many characters. */
export const MAX_MESSAGE_LENGTH = 1000;

/**
 * Longest wait, after a crawl is stored, for Redis to fsync its AOF past it
 * (WAITAOF, Redis 7.2 and later) before POST answers 201. `appendfsync
 * everysec` fsyncs once a second, and postpones a slow fsync up to 2 s.
 * Past it the 201 is sent anyway (logged as unconfirmed).
 */
export const CREATE_AOF_WAIT_MS = 2_000;

/** No stream event (its JSON data line) is larger than this, in bytes of UTF-8. */
export const MAX_EVENT_BYTES = 64 * 1024;

/**
 * Rejected links (GET /rejected) stored per crawl: each URL once, with its
 * first reason; past it rejections are only counted (`rejectedDropped`).
 */
export const MAX_REJECTED_PER_CRAWL = 10_000;

/** Rejected links a worker sends with one page's settle (out of scope, excluded, not included, robots); the rest are not sent. */
export const MAX_REJECTED_PER_PAGE = 100;

/**
 * A stream with `?include=markdown` joins page events with their stored
 * markdown this many at a time (one HMGET), each batch written and drained
 * before the next is read: at most this many events of MAX_EVENT_BYTES
 * (2 MiB) held per stream.
 */
export const STREAM_MARKDOWN_BATCH = 32;

/** In-scope links kept per page; the rest are counted on the page record (`linksDropped`). */
export const MAX_LINKS_PER_PAGE = 10_000;

/** A page's markdown is cut to this many bytes of UTF-8 (`truncated: true` on the page record). */
export const MAX_MARKDOWN_BYTES = 3 * 1024 * 1024;

/**
 * Cells one `rowspan` reaches down into when a table becomes GFM: the rows
 * below get an empty cell in its place, in at most MAX_ROWSPAN - 1 rows, so
 * their columns stay in line (the like of colspan's MAX_COLSPAN).
 */
export const MAX_ROWSPAN = 64;

/**
 * A short block of markdown (REPEATED_BLOCK_MAX_CHARS) seen on this many
 * distinct pages of a crawl, in one worker process, is boilerplate and is
 * dropped from that page on; the pages before keep it. 2 or 3 would drop a
 * note that a few related pages share ("Requires version 3.2."); each page
 * more leaves the boilerplate on one more early page per worker process. 5:
 * a footer line is gone from the fifth page on.
 */
export const REPEATED_BLOCK_PAGES = 5;

/**
 * Longest block (characters, a run of whitespace as one, link targets not
 * counted) that can be repeated boilerplate. The boilerplate it is for is
 * short ("Was this page helpful? Yes No" 29, a copyright line 30-80, a
 * version banner about 150); a paragraph of a repeated introduction is
 * longer and is content.
 */
export const REPEATED_BLOCK_MAX_CHARS = 200;

/**
 * Fewest words (runs of letters and digits) a block must have to be
 * repeated boilerplate: shorter ones are labels that recur on many pages as
 * part of the content (an admonition's "Note" or "Warning", tab names such as
 * "Unix Windows", a code block's file name), found in the Docusaurus, MkDocs
 * and Sphinx fixtures of bench/markdown. The boilerplate has more ("Edit this
 * page on GitHub" 5, "© 2026 Example Corp" 3).
 */
export const REPEATED_BLOCK_MIN_WORDS = 3;

/**
 * Blocks at either end of a page's markdown that can be repeated
 * boilerplate (banners at the top; footers, feedback and licence lines at
 * the bottom); the blocks between are never counted. It bounds the work on
 * the worker's main thread to 64 fingerprints a page: all blocks of a 3 MiB
 * markdown of 300,000 short blocks took a second.
 */
export const REPEATED_BLOCK_EDGE = 32;

/**
 * Fingerprints of short blocks a worker process holds per crawl, the least
 * recently seen dropped first: about 64 KB a crawl (measured: 1,024 took
 * 100 to 128 KB), so 64 MB for the 1,000 crawl contexts a worker keeps at
 * most. A block on every page is seen again on each page and stays; one
 * that comes back only after more than this many other short blocks (some
 * 15 pages of 30) is counted anew.
 */
export const REPEATED_BLOCK_FINGERPRINTS = 512;

/**
 * A page's `html` (the cleaned content HTML) and its `rawHtml` (the fetched
 * document) are each cut to this many bytes of UTF-8 (listed in the page's
 * `truncatedFormats`). With markdown (3 MiB) and links (1 MiB) one page's
 * formats stay near MAX_RESPONSE_BYTES.
 */
export const MAX_HTML_BYTES = 2 * 1024 * 1024;

/** A page's `links` format keeps at most MAX_LINKS_PER_PAGE links and this many bytes of them (UTF-8, summed). */
export const MAX_LINKS_BYTES = 1024 * 1024;

/**
 * Elements nested deeper than this are not built when a page is parsed:
 * their text (and any `<a href>`, kept empty for its link) joins the deepest
 * element kept, as Chromium's parser does past 512. Deeper trees overflowed
 * the stack in turndown (about 1,800 levels of <div> on Node 20 here) and
 * make htmlparser2 quadratic (100,000 levels: 2 s).
 */
export const MAX_HTML_DEPTH = 512;

/** Upper bound of the `maxBytes` option (per page body, after decompression). */
export const MAX_PAGE_BYTES = 10 * 1024 * 1024;

/** One `/pages` or `/errors` response body is at most this many bytes (fewer items, `nextCursor` set). */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * A crawl's options as JSON (UTF-8) are at most this large, so the `started`
 * event and every snapshot stay under MAX_EVENT_BYTES whatever the globs hold.
 */
export const MAX_OPTIONS_BYTES = 32 * 1024;

/** The highest `MAX_PAGES_CAP` a deployment may set (and so the highest `maxPages` a stored crawl can have). */
export const MAX_PAGES_CEILING = 1_000_000;

/**
 * A page is retried no later than this after a failure, whatever the
 * server's Retry-After asks: holding a page longer is not worth it.
 */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** Extra start URLs (the `urls` option) a crawl may have, besides its `url`. */
export const MAX_START_URLS = 100;

/** Longest `include`/`exclude` glob pattern, in characters, and patterns per list. */
export const MAX_GLOB_LENGTH = 512;
export const MAX_GLOBS = 100;

/** `includeSelectors`/`excludeSelectors`: CSS selectors per list, and characters per selector. */
export const MAX_SELECTORS = 20;
export const MAX_SELECTOR_LENGTH = 256;

/** A glob's `{a,b}` groups expand to at most this many alternatives, of at most this many tokens in all. */
export const MAX_GLOB_ALTERNATIVES = 32;
export const MAX_GLOB_EXPANDED_LENGTH = 1024;

/** No single Redis command (Lua script included) should run longer than this; settles are chunked to stay under it. */
export const MAX_REDIS_COMMAND_MS = 50;

// Worker faults: how fast a dead or stopping worker's pages go to another
// (docs/settings.md "Worker faults"; the arithmetic is written once, here).

/**
 * BullMQ lock on a running page job. BullMQ renews it every PAGE_LOCK_MS / 4
 * to / 2 (lockRenewTime = lock / 2, checked every lockRenewTime / 2), so a
 * live worker's lock never has less than half of it left, and only an event
 * loop held longer than PAGE_LOCK_MS / 2 (2.5 s) can let it expire (a false
 * stall: the page runs once more elsewhere, its settle is `duplicate`). The
 * longest synchronous stretch of one page, on a MAX_PAGE_BYTES page of the
 * worst shapes, is measured by `npm run bench -- page-block`.
 */
export const PAGE_LOCK_MS = 5_000;

/**
 * How often the active jobs whose lock is gone are put back in the queue
 * (BullMQ's stalled check, run once per interval across all workers: it is
 * gated by a key with this TTL). A job is moved by the first check after its
 * lock expired that finds it marked by an earlier check; lock renewals unmark
 * it. So a worker killed at t hands its pages on by t + PAGE_LOCK_MS +
 * STALLED_CHECK_MS (7 s) at the latest, and a waiting worker takes them at
 * once: a crawl loses at most about 7 s plus one page's fetch.
 */
export const STALLED_CHECK_MS = 2_000;

/**
 * On SIGTERM a worker stops taking jobs at once and gives its in-flight
 * pages this long to finish and settle; pages still running then are
 * aborted and handed back to the queue (no attempt used, no stall), and the
 * process exits.
 */
export const WORKER_CLOSE_TIMEOUT_MS = 10_000;

/**
 * After WORKER_CLOSE_TIMEOUT_MS, the longest wait for the aborted pages to
 * move back to the queue; past it (a call no abort reaches) the process
 * exits anyway and those pages' locks expire (PAGE_LOCK_MS +
 * STALLED_CHECK_MS). So a stopping worker exits within 12 s.
 */
export const WORKER_HAND_BACK_MS = 2_000;

/**
 * An API process given SIGTERM/SIGINT ends its streams (each at a frame
 * boundary, counted as cut off for `shutdown`), finishes its requests and
 * exits 0; past this it exits 1 anyway.
 */
export const API_SHUTDOWN_LIMIT_MS = 10_000;

/**
 * The stalled-work sweep (in-flight URLs whose job vanished: an enqueue lost
 * to a crash) runs once per SWEEP_INTERVAL_MS across all workers (a
 * `SET NX PX` turn), and looks only at in-flight URLs dispatched at least
 * SWEEP_STALE_MS ago (a dispatch's enqueue follows its script by one round
 * trip). A lost job is re-dispatched within SWEEP_STALE_MS +
 * SWEEP_INTERVAL_MS (15 s), at a Redis cost that does not grow with workers.
 */
export const SWEEP_INTERVAL_MS = 5_000;
export const SWEEP_STALE_MS = 10_000;

/**
 * Entries of the crawl list checked per sweep turn for crawls that expired
 * (oldest first; one pipelined EXISTS each): the list is pruned even when
 * nobody lists crawls, by up to this many ids per SWEEP_INTERVAL_MS.
 */
export const SWEEP_PRUNE_LIST = 200;

/**
 * URLs of one crawl that one page job carries at most. A dispatch of n URLs
 * (one settle call frees n slots under load: group commit) becomes
 * ceil(n / PAGES_PER_JOB) jobs of near-equal size, so BullMQ's own cost (add,
 * take, finish: about 200 µs of redis-server time per job, measured) is shared by the
 * job's pages; an idle crawl still gets one job per URL. Each URL keeps its
 * own in-flight record, settle and exactly-once; see docs/ARCHITECTURE.md
 * ("Page jobs").
 */
export const PAGES_PER_JOB = 8;

/**
 * How long a worker trusts that a crawl it saw running still runs, before
 * reading its status again. A crawl's end is announced at once on the ended
 * channel (globalKeys().ended) and a settle answered `finished` says it too;
 * this bounds the pages started for an ended crawl only when both are missed
 * (the announcement lost to a reconnect). Such pages fetch, and their settle
 * changes nothing.
 */
export const RUNNING_CACHE_MS = 1_000;

/**
 * `headers` (request headers of a crawl's fetches, for private docs): at most
 * MAX_HEADERS of them, each name at most MAX_HEADER_NAME_LENGTH characters
 * and each value at most MAX_HEADER_VALUE_LENGTH, and names plus values at
 * most MAX_HEADERS_TOTAL_LENGTH characters in all: servers commonly refuse a
 * request head past 8 to 16 KiB (Node's default is 16 KiB).
 */
export const MAX_HEADERS = 20;
export const MAX_HEADER_NAME_LENGTH = 256;
export const MAX_HEADER_VALUE_LENGTH = 8 * 1024;
export const MAX_HEADERS_TOTAL_LENGTH = 16 * 1024;

/**
 * QUEUE_SHARDS: the page queue split into this many BullMQ queues (each its
 * own hash tag, so its own Cluster slot); a crawl's jobs go to the shard of
 * its id (queueShardOf). Every worker runs one BullMQ Worker per shard, each
 * with a blocking connection of its own, hence the ceiling. The default is 1
 * on one Redis (the queue as it always was) and DEFAULT_CLUSTER_QUEUE_SHARDS
 * with REDIS_CLUSTER (a cluster's smallest size is 3 masters).
 */
export const MIN_QUEUE_SHARDS = 1;
export const MAX_QUEUE_SHARDS = 32;
export const DEFAULT_CLUSTER_QUEUE_SHARDS = 3;
/**
 * How often a worker reads how many queue shards exist (the highest
 * QUEUE_SHARDS any process announced) and starts consuming a new one.
 */
export const QUEUE_SHARDS_CHECK_MS = 5_000;

/**
 * Stream gateway hooks (STREAM_CONNECT_URL, STREAM_DISCONNECT_URL; the API's
 * settings). The connect hook's wait (STREAM_CONNECT_TIMEOUT_MS) is bounded
 * both ways: at least long enough for a loopback round trip, at most a
 * minute (a client waits that long for its stream's first byte). The hook's
 * error body relayed to the client is read up to the byte cap; past it the
 * status is relayed with a body of ours. Disconnect notices wait in a queue
 * of at most STREAM_DISCONNECT_QUEUE_MAX (past it a notice is dropped and
 * counted), are sent STREAM_DISCONNECT_CONCURRENCY at a time, each tried up
 * to STREAM_DISCONNECT_ATTEMPTS times, each try bounded by
 * STREAM_DISCONNECT_TIMEOUT_MS. On shutdown the API waits for the queue at
 * most STREAM_DISCONNECT_FLUSH_MS.
 */
export const MIN_STREAM_CONNECT_TIMEOUT_MS = 100;
export const MAX_STREAM_CONNECT_TIMEOUT_MS = 60_000;
export const DEFAULT_STREAM_CONNECT_TIMEOUT_MS = 5_000;
export const STREAM_HOOK_BODY_MAX_BYTES = 16 * 1024;
export const STREAM_DISCONNECT_QUEUE_MAX = 10_000;
export const STREAM_DISCONNECT_CONCURRENCY = 8;
export const STREAM_DISCONNECT_ATTEMPTS = 3;
export const STREAM_DISCONNECT_TIMEOUT_MS = 5_000;
export const STREAM_DISCONNECT_FLUSH_MS = 2_000;

/**
 * Webhooks (#16): a crawl's `webhook.headers` are held to the rules of
 * `options.headers` and to at most MAX_WEBHOOK_HEADERS of them. Each event is
 * POSTed with a WEBHOOK_TIMEOUT_MS timeout; a failed delivery is retried, the
 * n-th retry after about WEBHOOK_RETRY_BASE_MS * 2^(n-1) (jittered, never
 * sooner than a Retry-After up to WEBHOOK_MAX_RETRY_AFTER_MS), and after
 * WEBHOOK_MAX_ATTEMPTS attempts of one event (about an hour) the webhook is
 * `failed`. A caught-up delivery looks for new events every WEBHOOK_POLL_MS.
 */
export const MAX_WEBHOOK_HEADERS = 10;
export const WEBHOOK_TIMEOUT_MS = 10_000;
export const WEBHOOK_MAX_ATTEMPTS = 10;
export const WEBHOOK_RETRY_BASE_MS = 10_000;
export const WEBHOOK_MAX_RETRY_AFTER_MS = 30 * 60_000;
export const WEBHOOK_POLL_MS = 500;
