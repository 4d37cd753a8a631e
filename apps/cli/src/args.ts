// The command line: which command, its argument and options, checked before
// anything is sent, so that a mistake is a usage error (exit 2) with a
// message, not a half-started crawl.
import { parseArgs } from 'node:util';
import {
  type CrawlOptionsInput,
  crawlOptionsSchema,
  httpUrlSchema,
  MAX_HEADERS,
  MAX_PAGE_BYTES,
  MAX_SELECTORS,
  MAX_START_URLS,
  SCOPES,
  PAGE_FORMATS,
  RENDER_MODES,
  type WebhookRequestInput,
  webhookRequestSchema,
} from '@crawlstream/shared';
import { UsageError } from './exit-codes.js';

export const DEFAULT_API = 'http://127.0.0.1:3000';

export interface Common {
  api: string;
  apiKey?: string;
  json: boolean;
  quiet: boolean;
}

export type Invocation =
  | { command: 'help'; text: string }
  | { command: 'version' }
  | {
      command: 'crawl';
      common: Common;
      url: string;
      options: CrawlOptionsInput;
      output?: string;
      idempotencyKey?: string;
      /** `--webhook URL` and `--webhook-event TYPE` (#16). */
      webhook?: WebhookRequestInput;
      detach: boolean;
    }
  | { command: 'watch'; common: Common; id: string; output?: string; lastEventId?: string; includeMarkdown?: boolean }
  | { command: 'llms'; common: Common; id: string; full: boolean; output?: string }
  | { command: 'status' | 'cancel' | 'pages' | 'errors' | 'rejected'; common: Common; id: string };

const OPTIONS = {
  api: { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  url: { type: 'string', multiple: true },
  'max-pages': { type: 'string' },
  'max-depth': { type: 'string' },
  scope: { type: 'string' },
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  concurrency: { type: 'string' },
  'delay-ms': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-bytes': { type: 'string' },
  'no-robots': { type: 'boolean' },
  'no-sitemap': { type: 'boolean' },
  'ignore-query-parameters': { type: 'boolean' },
  'all-content': { type: 'boolean' },
  'include-selector': { type: 'string', multiple: true },
  'exclude-selector': { type: 'string', multiple: true },
  header: { type: 'string', multiple: true },
  'header-env': { type: 'string', multiple: true },
  dedupe: { type: 'string' },
  'no-dedupe': { type: 'boolean' },
  format: { type: 'string' },
  'discover-only': { type: 'boolean' },
  render: { type: 'string' },
  'wait-for': { type: 'string' },
  'idempotency-key': { type: 'string' },
  webhook: { type: 'string' },
  'webhook-event': { type: 'string', multiple: true },
  detach: { type: 'boolean' },
  'last-event-id': { type: 'string' },
  'include-markdown': { type: 'boolean' },
  full: { type: 'boolean' },
} as const;

type OptionName = keyof typeof OPTIONS;

const COMMON: OptionName[] = ['api', 'api-key', 'json', 'help'];
const CRAWL_OPTIONS = {
  'max-pages': 'maxPages',
  'max-depth': 'maxDepth',
  concurrency: 'concurrency',
  'delay-ms': 'delayMs',
  'timeout-ms': 'timeoutMs',
  'max-bytes': 'maxBytes',
} as const;

/** The repeatable flags of the selector options, for a message naming the flag. */
const SELECTOR_FLAGS: Record<string, 'include-selector' | 'exclude-selector'> = {
  includeSelectors: 'include-selector',
  excludeSelectors: 'exclude-selector',
};

const ALLOWED: Record<string, OptionName[]> = {
  crawl: [
    ...COMMON,
    'quiet',
    'output',
    'url',
    ...(Object.keys(CRAWL_OPTIONS) as OptionName[]),
    'scope',
    'include',
    'exclude',
    'no-robots',
    'no-sitemap',
    'ignore-query-parameters',
    'all-content',
    'include-selector',
    'exclude-selector',
    'header',
    'header-env',
    'dedupe',
    'no-dedupe',
    'format',
    'discover-only',
    'render',
    'wait-for',
    'idempotency-key',
    'webhook',
    'webhook-event',
    'detach',
  ],
  watch: [...COMMON, 'quiet', 'output', 'last-event-id', 'include-markdown'],
  status: COMMON,
  cancel: COMMON,
  pages: COMMON,
  errors: COMMON,
  rejected: COMMON,
  llms: ['api', 'api-key', 'help', 'quiet', 'output', 'full'],
};

export const USAGE = `Usage: crawlstream <command> [options]

Commands:
  crawl <url>     start a crawl, show its progress, write the combined markdown
  watch <id>      follow a crawl until it ends
  status <id>     show a crawl
  cancel <id>     cancel a crawl
  pages <id>      list the pages a crawl stored
  errors <id>     list the pages that failed or were skipped
  rejected <id>   list the links found but not taken, with why and where
  llms <id>       write the crawl's llms.txt (with --full: llms-full.txt)

Options for every command:
  --api <url>             the API (env CRAWLSTREAM_API, default ${DEFAULT_API})
  --api-key <key>         sent as a Bearer token (env CRAWLSTREAM_API_KEY)
  --json                  machine output on stdout: one JSON line per event, page or crawl
  -h, --help              this text

crawl:
  -o, --output <file>     write the markdown here (default: stdout, unless --json)
  --url <url>             one more start URL (depth 0; its scope joins the crawl's); repeatable, at most ${MAX_START_URLS}
  --max-pages <n>         at most this many pages (default 100)
  --max-depth <n>         link hops from the start URL (default 3)
  --scope <s>             prefix | origin | domain (default prefix)
  --include <glob>        only URL paths matching; repeatable
  --exclude <glob>        never URL paths matching; repeatable; wins over --include
  --concurrency <n>       pages in flight at once (default 8)
  --delay-ms <n>          least time between two requests to one host (default 0)
  --timeout-ms <n>        per page (default 15000)
  --max-bytes <n>         largest page body, at most ${MAX_PAGE_BYTES} (default 5242880)
  --no-robots             ignore robots.txt
  --no-sitemap            do not seed from sitemaps
  --ignore-query-parameters  URLs that differ only in their query are one page
  --all-content           markdown of the whole page, navigation and footers kept (default: main content only)
  --include-selector <css>  only the content of elements matching; repeatable (at most ${MAX_SELECTORS})
  --exclude-selector <css>  drop elements matching before conversion; repeatable (at most ${MAX_SELECTORS})
  --header 'Name: value'  a request header for the site (private docs), sent to the start URLs' origins only; repeatable (at most ${MAX_HEADERS})
  --header-env Name=VAR   the same, its value read from the environment variable VAR (kept out of ps and shell history)
  --dedupe <modes>        skip pages that duplicate a stored page: canonical, content or both, comma-separated (default canonical)
  --no-dedupe             store every page, duplicates too
  --format <list>         what each page stores: ${PAGE_FORMATS.join(',')} (default markdown)
  --discover-only         map mode: follow links, store url, title, depth and status only (no markdown)
  --render <mode>         ${RENDER_MODES.join(' | ')}: when pages go through the browser renderer (default auto: app shells only)
  --wait-for <css>        read a rendered page once this selector matches, instead of at network idle
  --idempotency-key <k>   the same key returns the same crawl instead of a second one
  --webhook <url>         POST each event of the crawl to this URL, signed (the server needs WEBHOOK_SECRET)
  --webhook-event <type>  deliver only events of this type (default every type); repeatable; needs --webhook
  --detach                print the crawl id and exit without watching
  -q, --quiet             no progress on stderr
  Ctrl-C cancels the crawl (and waits for it to stop); a second Ctrl-C quits at once.

watch:
  --last-event-id <id>    resume after this event (0: every event from the first)
  --include-markdown      page events carry the page's markdown (see them with --json)
  -o, --output <file>     write the markdown here when the crawl ends
  -q, --quiet             no progress on stderr

llms:
  --full                  llms-full.txt: every stored page in one document (default: the llms.txt index)
  -o, --output <file>     write it here (default: stdout)
  -q, --quiet             no "wrote" line on stderr
  (no --json: the output is the text itself)

Exit codes: 0 success, 1 crawl failed or cancelled, 2 usage error, 3 API or network error.
`;

function integer(flag: string, raw: string): number {
  if (!/^\d{1,15}$/.test(raw.trim())) throw new UsageError(`--${flag} must be a whole number (got ${JSON.stringify(raw)})`);
  return Number(raw.trim());
}

function apiUrl(raw: string, from: string): string {
  const url = URL.parse(raw);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`${from} must be an http(s) URL (got ${JSON.stringify(raw)})`);
  }
  return raw;
}

/**
 * `--header 'Name: value'` and `--header-env Name=VAR` as the `headers`
 * option. No message quotes a value (it is a credential).
 */
/** `--webhook URL` and its `--webhook-event TYPE`s, checked as the server checks them (the message names the flag). */
function webhookOption(url: string | undefined, events: readonly string[] | undefined): WebhookRequestInput | undefined {
  if (url === undefined) {
    if (events !== undefined) throw new UsageError('--webhook-event needs --webhook');
    return undefined;
  }
  const webhook = { url, ...(events === undefined ? {} : { events: [...events] }) };
  const checked = webhookRequestSchema.safeParse(webhook);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const flag = issue.path[0] === 'events' ? '--webhook-event' : '--webhook';
    throw new UsageError(`${flag}: ${issue.message}`);
  }
  return webhook as WebhookRequestInput;
}

function headerOption(given: readonly string[], fromEnv: readonly string[], env: Record<string, string | undefined>): Record<string, string> {
  const headers: Record<string, string> = {};
  const add = (name: string, value: string, flag: string) => {
    if (Object.keys(headers).some((known) => known.toLowerCase() === name.toLowerCase())) {
      throw new UsageError(`${flag}: ${JSON.stringify(name)} given twice`);
    }
    headers[name] = value;
  };
  for (const raw of given) {
    const colon = raw.indexOf(':');
    if (colon <= 0) throw new UsageError("--header must be 'Name: value'");
    add(raw.slice(0, colon).trim(), raw.slice(colon + 1).trim(), '--header');
  }
  for (const raw of fromEnv) {
    const [name, variable] = raw.split('=', 2);
    if (!name || !variable) throw new UsageError('--header-env must be Name=VARIABLE');
    const value = env[variable];
    if (value === undefined) throw new UsageError(`--header-env ${name}: the environment has no ${variable}`);
    add(name.trim(), value.trim(), '--header-env');
  }
  return headers;
}

/** Reads argv (without node and the script) and the environment; throws UsageError. */
export function parseCommandLine(argv: readonly string[], env: Record<string, string | undefined>): Invocation {
  const parse = () => parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.version && command === undefined) return { command: 'version' };
  if (command === undefined || command === 'help') {
    if (values.help || command === 'help') return { command: 'help', text: USAGE };
    throw new UsageError('a command is required');
  }
  const allowed = ALLOWED[command];
  if (!allowed) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (values.help) return { command: 'help', text: USAGE };
  for (const name of Object.keys(values) as OptionName[]) {
    if (!allowed.includes(name)) throw new UsageError(`--${name} does not apply to ${command}`);
  }
  const what = command === 'crawl' ? 'a URL' : 'a crawl id';
  if (rest.length === 0) throw new UsageError(`${command} needs ${what}`);
  if (rest.length > 1) throw new UsageError(`${command} takes one argument, got ${rest.length}: ${rest.join(' ')}`);
  const target = rest[0]!;

  const apiKey = values['api-key'] ?? (env.CRAWLSTREAM_API_KEY?.trim() || undefined);
  const common: Common = {
    api:
      values.api !== undefined
        ? apiUrl(values.api, '--api')
        : env.CRAWLSTREAM_API?.trim()
          ? apiUrl(env.CRAWLSTREAM_API.trim(), 'CRAWLSTREAM_API')
          : DEFAULT_API,
    ...(apiKey !== undefined ? { apiKey } : {}),
    json: values.json ?? false,
    quiet: values.quiet ?? false,
  };
  if (values.output !== undefined && values.output.trim() === '') throw new UsageError('--output needs a file name');
  const output = values.output !== undefined ? { output: values.output } : {};

  if (command === 'crawl') {
    const url = httpUrlSchema.safeParse(target);
    if (!url.success) throw new UsageError(`${JSON.stringify(target)} is not a URL that can be crawled: ${url.error.issues[0]?.message}`);
    if (values.detach && values.output !== undefined) throw new UsageError('--detach and --output do not go together');
    const options: Record<string, unknown> = {};
    for (const [flag, key] of Object.entries(CRAWL_OPTIONS)) {
      const raw = values[flag as keyof typeof CRAWL_OPTIONS];
      if (raw !== undefined) options[key] = integer(flag, raw);
    }
    if (values.scope !== undefined) {
      if (!(SCOPES as readonly string[]).includes(values.scope)) {
        throw new UsageError(`--scope must be one of ${SCOPES.join(', ')} (got ${JSON.stringify(values.scope)})`);
      }
      options.scope = values.scope;
    }
    if (values.url) options.urls = values.url;
    if (values.include) options.include = values.include;
    if (values.exclude) options.exclude = values.exclude;
    if (values['no-robots']) options.respectRobotsTxt = false;
    if (values['no-sitemap']) options.useSitemap = false;
    if (values['ignore-query-parameters']) options.ignoreQueryParameters = true;
    if (values['all-content']) options.onlyMainContent = false;
    if (values['include-selector']) options.includeSelectors = values['include-selector'];
    if (values['exclude-selector']) options.excludeSelectors = values['exclude-selector'];
    if (values.header || values['header-env']) options.headers = headerOption(values.header ?? [], values['header-env'] ?? [], env);
    if (values.dedupe !== undefined && values['no-dedupe']) throw new UsageError('--dedupe and --no-dedupe do not go together');
    if (values.dedupe !== undefined) options.dedupe = values.dedupe.split(',').map((mode) => mode.trim());
    if (values['no-dedupe']) options.dedupe = [];
    if (values['discover-only']) options.discoverOnly = true;
    if (values.render !== undefined) {
      if (!(RENDER_MODES as readonly string[]).includes(values.render)) {
        throw new UsageError(`--render must be one of ${RENDER_MODES.join(', ')} (got ${JSON.stringify(values.render)})`);
      }
      options.render = values.render;
    }
    if (values['wait-for'] !== undefined) {
      if (values.render === 'never') throw new UsageError('--wait-for applies to rendered pages; it does not go with --render never');
      options.waitFor = values['wait-for'];
    }
    if (values.format !== undefined) options.formats = values.format.split(',').map((format) => format.trim());
    // Bounds are checked here too, for a message naming the flag; the cap of maxPages is the server's to set.
    const checked = crawlOptionsSchema(Number.MAX_SAFE_INTEGER).safeParse(options);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      const key = String(issue.path[0]);
      if (issue.message.startsWith('discoverOnly')) throw new UsageError(`--discover-only: ${issue.message.replace('discoverOnly stores no content: ', 'stores no content, ').replace(/ \(leave it out\)$/, '')}`);
      if (key === 'urls') {
        const index = issue.path[1];
        if (typeof index !== 'number') throw new UsageError(`--url: at most ${MAX_START_URLS} (got ${values.url?.length})`);
        throw new UsageError(`--url ${JSON.stringify(values.url?.[index])} is not a URL that can be crawled: ${issue.message}`);
      }
      if (key === 'headers') {
        // The header's name (never its value), when the issue is about one.
        const name = issue.path[1];
        throw new UsageError(`--header${typeof name === 'string' ? ` ${name}` : ''}: ${issue.message}`);
      }
      if (key === 'dedupe') {
        throw new UsageError(`--dedupe must be canonical, content or both, comma-separated (got ${JSON.stringify(values.dedupe)})`);
      }
      const selectorFlag = SELECTOR_FLAGS[key];
      if (selectorFlag !== undefined) {
        const index = issue.path[1];
        const which = typeof index === 'number' ? ` ${JSON.stringify(values[selectorFlag]?.[index])} (number ${index + 1})` : '';
        throw new UsageError(`--${selectorFlag}${which}: ${issue.message}`);
      }
      if (key === 'waitFor') throw new UsageError(`--wait-for ${JSON.stringify(values['wait-for'])}: ${issue.message}`);
      if (key === 'formats') throw new UsageError(`--format: a comma-separated list of ${PAGE_FORMATS.join(', ')}, each once (got ${JSON.stringify(values.format)})`);
      const flag = Object.entries(CRAWL_OPTIONS).find(([, k]) => k === key)?.[0] ?? key;
      throw new UsageError(`--${flag}: ${issue.message}`);
    }
    const webhook = webhookOption(values.webhook, values['webhook-event']);
    return {
      command,
      common,
      url: target,
      options: options as CrawlOptionsInput,
      ...output,
      ...(values['idempotency-key'] !== undefined ? { idempotencyKey: values['idempotency-key'] } : {}),
      ...(webhook ? { webhook } : {}),
      detach: values.detach ?? false,
    };
  }
  if (command === 'watch') {
    return {
      command,
      common,
      id: target,
      ...output,
      ...(values['last-event-id'] !== undefined ? { lastEventId: values['last-event-id'] } : {}),
      ...(values['include-markdown'] ? { includeMarkdown: true } : {}),
    };
  }
  if (command === 'llms') return { command, common, id: target, full: values.full ?? false, ...output };
  return { command: command as 'status' | 'cancel' | 'pages' | 'errors' | 'rejected', common, id: target };
}
