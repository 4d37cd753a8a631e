// bench/sse: preloaded (node --expose-gc --import) into every server process
// the bench starts, crawlstream's and the bare one alike. On the IPC channel,
// { benchGc: n } forces two full garbage collections and answers
// { benchGcDone: n }, so that run.mjs reads VmRSS after a forced GC. The
// channel is unref'd: it keeps no process alive.
if (process.send && typeof globalThis.gc === 'function') {
  process.on('message', (message) => {
    if (message?.benchGc === undefined) return;
    globalThis.gc();
    setImmediate(() => {
      globalThis.gc();
      process.send({ benchGcDone: message.benchGc });
    });
  });
  process.channel?.unref();
}
