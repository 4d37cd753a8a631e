// URL normalization lives in @crawlstream/shared, so that the API (start
// URLs) and the worker (links) spell every URL the same way.
export { normalizeUrl } from '@crawlstream/shared';
