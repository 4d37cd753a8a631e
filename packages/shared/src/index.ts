// @crawlstream/shared: the contracts every crawlstream process and client agrees on.
export * from './backoff.js';
export * from './config.js';
export * from './glob.js';
export * from './ids.js';
export * from './keys.js';
export * from './limits.js';
export * from './request-headers.js';
export * from './routes.js';
export * from './schemas.js';
export * from './selector.js';
export * from './urls.js';
