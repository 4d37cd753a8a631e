// The supervisor's watchdog: a small process in a group of its own that the
// supervisor starts first and tells, over the IPC channel, which processes it
// started. When the channel closes without a `done` (the supervisor was killed
// outright: kill -9, the OOM killer), it stops them as the supervisor would
// have, the apps first and Redis last, and exits; so no child outlives the
// supervisor. After a `done` it exits at once.
import { REDIS_STOP_MS, STOP_GRACE_MS, stopProcesses, type WatchdogMessage, type WatchedProcess } from './stop.js';

const watched: WatchedProcess[] = [];
let done = false;

// Ctrl-C in the terminal is the supervisor's to handle; the watchdog only acts when the supervisor is gone.
for (const signal of ['SIGINT', 'SIGHUP'] as const) process.on(signal, () => {});

process.on('message', (message: WatchdogMessage) => {
  if ('done' in message) done = true;
  else watched.push(message.watch);
});

process.on('disconnect', () => {
  if (done) process.exit(0);
  void (async () => {
    await stopProcesses(
      watched.filter((p) => p.role === 'app'),
      STOP_GRACE_MS,
    );
    await stopProcesses(
      watched.filter((p) => p.role === 'redis'),
      REDIS_STOP_MS,
    );
    process.exit(0);
  })();
});

if (!process.connected) process.exit(0); // started without a supervisor
