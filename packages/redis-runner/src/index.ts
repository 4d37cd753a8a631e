// @crawlstream/redis-runner: private redis-server processes (one server, or a
// Redis Cluster of several) for `npm start` and the test harness.
export * from './server.js';
export * from './cluster.js';
