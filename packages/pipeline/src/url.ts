// URL normalization lives in @crawlstream/shared, so that the API (start
// URLs) and the worker (links) spell every URL the same way.
export { normalizedUrl, normalizeUrl } from '@crawlstream/shared';
