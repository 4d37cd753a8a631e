// @crawlstream/renderer: renders pages of the render queue in Chromium behind an SSRF-guarding proxy.
export { BrowserPool, CHROMIUM_ARGS } from './browser-pool.js';
export { findChromium, HOW_TO_GET_CHROMIUM } from './chromium-path.js';
export { BLOCKED_HEADER, type GuardProxy, startGuardProxy } from './guard-proxy.js';
export { descendants, descendantsRssMb } from './process-tree.js';
export { type Renderer, type RendererOptions, createRenderer } from './renderer.js';
