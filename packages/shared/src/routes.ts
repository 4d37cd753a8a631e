// Every HTTP path of the public API, built in one place so server, SDK, CLI
// and tests cannot drift apart.

export const API_BASE = '/api/crawl-v2';

/** Route patterns in Fastify's syntax, for the server's route table. */
export const routePatterns = {
  crawls: API_BASE,
  crawl: `${API_BASE}/:id`,
  stream: `${API_BASE}/:id/stream`,
  pages: `${API_BASE}/:id/pages`,
  markdown: `${API_BASE}/:id/markdown`,
  errors: `${API_BASE}/:id/errors`,
  rejected: `${API_BASE}/:id/rejected`,
  llmsTxt: `${API_BASE}/:id/llms.txt`,
  llmsFullTxt: `${API_BASE}/:id/llms-full.txt`,
  webhook: `${API_BASE}/:id/webhook`,
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
  docs: '/docs',
} as const;

const enc = encodeURIComponent;

export function crawlsPath(): string {
  return API_BASE;
}

export function crawlPath(id: string): string {
  return `${API_BASE}/${enc(id)}`;
}

export function streamPath(id: string): string {
  return `${crawlPath(id)}/stream`;
}

export function pagesPath(id: string): string {
  return `${crawlPath(id)}/pages`;
}

export function markdownPath(id: string): string {
  return `${crawlPath(id)}/markdown`;
}

export function errorsPath(id: string): string {
  return `${crawlPath(id)}/errors`;
}

export function rejectedPath(id: string): string {
  return `${crawlPath(id)}/rejected`;
}

export function llmsTxtPath(id: string): string {
  return `${crawlPath(id)}/llms.txt`;
}

export function llmsFullTxtPath(id: string): string {
  return `${crawlPath(id)}/llms-full.txt`;
}

export function webhookPath(id: string): string {
  return `${crawlPath(id)}/webhook`;
}

/** Appends a query string, leaving out undefined values. */
export function withQuery(
  path: string,
  query: Record<string, string | number | undefined>,
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}
