// The scenarios of the reliability report, in report order (the names of scenarios.ts).
export const SCENARIO_NAMES = [
  'worker-kill',
  'worker-sigterm',
  'redis-kill',
  'redis-restart',
  'redis-lose-writes',
  'api-kill-posts',
  'partition-worker',
  'partition-api',
  'api-kill-readers',
  'slow-readers',
  'many-crawls',
] as const;
