// bench/sse: the load client, in its own process (driven over IPC by
// run.mjs). Holds thousands of SSE connections, parses every event, records
// publish-to-receive latency (receive time minus the event id's append time,
// both on this machine's clock) in a millisecond histogram, and tracks per
// connection the last event id, the events counted and any duplicate, so that
// a reconnect storm can be checked for lost and duplicated events.
// Plain TCP sockets with a hand-written request and line scanner: Node's HTTP
// client costs several times more CPU per event, and this process shares the
// machine's two cores with the server it measures. Chunked framing needs no
// decoding here: every chunk holds whole SSE lines, and the size lines
// ("1a3\r") match no SSE field.
import net from 'node:net';

/** Source addresses in rotation: each has its own ephemeral ports (reconnect storms reuse many). */
const SOURCES = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 1}`);
const BATCH = 500;

const histogram = new Uint32Array(120_000);
let measuring = false;
let samples = 0;
const connections = [];

function idMs(id) {
  return Number(id.slice(0, id.indexOf('-')));
}
function idLess(a, b) {
  const am = idMs(a);
  const bm = idMs(b);
  if (am !== bm) return am < bm;
  return Number(a.slice(a.indexOf('-') + 1)) < Number(b.slice(b.indexOf('-') + 1));
}

class Connection {
  constructor(index) {
    this.index = index;
    this.buf = '';
    this.id = null;
    this.type = null;
    this.lastId = null;
    this.startId = null;
    this.count = 0;
    this.dups = 0;
    this.resets = 0;
    this.terminal = false;
    this.ended = false;
    this.req = null;
    this.status = 0;
  }

  open(port, path) {
    return new Promise((resolve) => {
      this.ended = false;
      this.buf = '';
      this.headersDone = false;
      let settled = false;
      const settle = (ok) => {
        if (!settled) {
          settled = true;
          resolve(ok);
        }
      };
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: SOURCES[this.index % SOURCES.length] });
      socket.setEncoding('latin1');
      socket.on('connect', () => {
        const cursor = this.lastId ? `Last-Event-ID: ${this.lastId}\r\n` : '';
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\nConnection: close\r\n${cursor}\r\n`);
      });
      socket.on('data', (chunk) => {
        if (!this.headersDone) {
          this.buf += chunk;
          const end = this.buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          this.status = Number(this.buf.slice(9, 12));
          this.headersDone = true;
          const rest = this.buf.slice(end + 4);
          this.buf = '';
          settle(true);
          if (rest) this.feed(rest);
          return;
        }
        this.feed(chunk);
      });
      const end = () => {
        this.ended = true;
        settle(this.headersDone);
      };
      socket.on('end', end);
      socket.on('close', end);
      socket.on('error', end);
      this.req = socket;
    });
  }

  feed(chunk) {
    const now = Date.now();
    this.buf += chunk;
    let start = 0;
    for (;;) {
      const nl = this.buf.indexOf('\n', start);
      if (nl < 0) break;
      const line = this.buf.slice(start, nl);
      start = nl + 1;
      if (line === '') this.dispatch(now);
      else if (line.startsWith('id: ')) this.id = line.slice(4);
      else if (line.startsWith('event: ')) this.type = line.slice(7);
    }
    this.buf = this.buf.slice(start);
  }

  dispatch(now) {
    const { id, type } = this;
    this.id = null;
    this.type = null;
    if (id === null) return;
    if (type === 'reset') {
      this.resets++;
      return;
    }
    if (type === 'snapshot') {
      if (this.startId === null) this.startId = id;
      this.lastId = id;
      return;
    }
    if (this.startId === null) this.startId = id;
    if (this.lastId !== null && !idLess(this.lastId, id)) {
      this.dups++;
      return;
    }
    this.lastId = id;
    this.count++;
    if (type === 'cancelled' || type === 'completed' || type === 'failed') this.terminal = true;
    if (measuring) {
      const ms = Math.max(0, now - idMs(id));
      histogram[Math.min(ms, histogram.length - 1)]++;
      samples++;
    }
  }

  drop() {
    this.req?.destroy();
  }
}

function percentile(p) {
  const target = Math.ceil(samples * p);
  let seen = 0;
  for (let ms = 0; ms < histogram.length; ms++) {
    seen += histogram[ms];
    if (seen >= target) return ms;
  }
  return null;
}

async function openAll(port, path, list) {
  let ok = 0;
  for (let i = 0; i < list.length; i += BATCH) {
    const results = await Promise.all(list.slice(i, i + BATCH).map((c) => c.open(port, path)));
    ok += results.filter(Boolean).length;
  }
  return ok;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A connect storm: `count` new connections opened at `rate` per second (paced
 * on the clock, not in awaited batches), each timed from its connect() call to
 * its response head. Connections stay open (they are streams) until `exit`.
 */
async function connectStorm(port, path, count, rate) {
  const heads = new Float64Array(count).fill(-1);
  const statuses = {};
  const errors = {};
  let done = 0;
  let finish;
  const all = new Promise((resolve) => {
    finish = resolve;
  });
  const started = performance.now();
  const openOne = (i) => {
    const at = performance.now();
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: SOURCES[i % SOURCES.length] });
    socket.setEncoding('latin1');
    let head = '';
    let settled = false;
    const settle = (status, error) => {
      if (settled) return;
      settled = true;
      if (status) {
        heads[i] = performance.now() - at;
        statuses[status] = (statuses[status] ?? 0) + 1;
      } else errors[error] = (errors[error] ?? 0) + 1;
      if (++done === count) finish();
    };
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
    });
    socket.on('data', (chunk) => {
      if (settled) return;
      head += chunk;
      if (head.indexOf('\r\n\r\n') >= 0) settle(Number(head.slice(9, 12)));
    });
    socket.on('error', (error) => settle(0, error.code ?? error.message));
    socket.on('close', () => settle(0, 'closed before head'));
    stormSockets.push(socket);
  };
  let next = 0;
  while (next < count) {
    const due = Math.min(count, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    while (next < due) openOne(next++);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const openedInMs = performance.now() - started;
  await Promise.race([all, sleep(180_000)]);
  const answered = Array.from(heads.filter((ms) => ms >= 0)).sort((a, b) => a - b);
  const pick = (p) => (answered.length ? Math.round(answered[Math.min(answered.length - 1, Math.ceil(answered.length * p) - 1)]) : null);
  return {
    count,
    openedInMs: Math.round(openedInMs),
    statuses,
    errors,
    unanswered: count - done,
    p50: pick(0.5),
    p90: pick(0.9),
    p99: pick(0.99),
    max: pick(1),
  };
}
const stormSockets = [];

process.on('message', async (message) => {
  const reply = (body) => process.send({ seq: message.seq, ...body });
  switch (message.cmd) {
    case 'open': {
      for (let i = 0; i < message.count; i++) connections.push(new Connection(i));
      const started = Date.now();
      const opened = await openAll(message.port, message.path, connections);
      const statuses = {};
      for (const c of connections) statuses[c.status] = (statuses[c.status] ?? 0) + 1;
      // Everyone has its first event (snapshot or live) before measuring starts.
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && connections.some((c) => c.startId === null && !c.ended && message.expectSnapshot)) await sleep(100);
      return reply({ opened, statuses, ms: Date.now() - started });
    }
    case 'measure': {
      if (message.on) {
        histogram.fill(0);
        samples = 0;
        measuring = true;
        return reply({});
      }
      measuring = false;
      const hist = [];
      for (let ms = 0; ms < histogram.length; ms++) if (histogram[ms]) hist.push([ms, histogram[ms]]);
      return reply({ samples, p50: percentile(0.5), p99: percentile(0.99), max: percentile(1), hist });
    }
    case 'storm': {
      const started = Date.now();
      for (const c of connections) c.drop();
      await sleep(50);
      const batches = [];
      let reopened = 0;
      for (let i = 0; i < connections.length; i += BATCH) {
        const at = Date.now();
        const results = await Promise.all(connections.slice(i, i + BATCH).map((c) => c.open(message.port, message.path)));
        reopened += results.filter(Boolean).length;
        batches.push(Date.now() - at);
      }
      return reply({ reopened, ms: Date.now() - started, batches });
    }
    case 'awaitEnd': {
      const deadline = Date.now() + message.timeoutMs;
      while (Date.now() < deadline && connections.some((c) => !c.ended)) await sleep(100);
      return reply({ ended: connections.filter((c) => c.ended).length, terminal: connections.filter((c) => c.terminal).length });
    }
    case 'verify': {
      // `ids`: every stored event id, in order. Each connection must have
      // counted exactly the events after its start, through the terminal one.
      const position = new Map(message.ids.map((id, i) => [id, i]));
      let lost = 0;
      let duplicated = 0;
      let resets = 0;
      let unverifiable = 0;
      for (const c of connections) {
        duplicated += c.dups;
        resets += c.resets;
        const at = position.get(c.startId);
        if (at === undefined) {
          unverifiable++;
          continue;
        }
        const expected = message.ids.length - 1 - at;
        lost += Math.max(0, expected - c.count);
      }
      return reply({ lost, duplicated, resets, unverifiable });
    }
    case 'connectStorm':
      return reply(await connectStorm(message.port, message.path, message.count, message.rate));
    case 'exit':
      for (const c of connections) c.drop();
      for (const socket of stormSockets) socket.destroy();
      reply({});
      setTimeout(() => process.exit(0), 50);
  }
});
process.send({ ready: true });
