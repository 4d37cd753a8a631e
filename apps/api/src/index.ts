// @crawlstream/api: the HTTP server, for embedding in tests and benchmarks.
export { type AppOptions, buildApp } from './app.js';
export { type ApiSettings, loadApiSettings } from './settings.js';
