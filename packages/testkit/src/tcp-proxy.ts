// A TCP proxy for partition tests: it forwards 127.0.0.1:<port> to a target
// port, and `pause()` stops forwarding in both directions while every socket
// stays open (as a network partition does: no FIN, no RST, the bytes wait),
// until `resume()`. `cutAll()` resets every connection instead.
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** The loopback port clients connect to. */
  readonly port: number;
  /** Connections open now (client side). */
  readonly connections: number;
  /** Stops forwarding both ways; sockets stay open, new ones are accepted but carry nothing. */
  pause(): void;
  /** Forwards again, including what was held back. */
  resume(): void;
  /** Destroys every connection (both sides), as a reset would. */
  cutAll(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

/** Forwards `from` to `to` with backpressure; holds everything while `held()` is true. */
function forward(from: Socket, to: Socket, held: () => boolean): void {
  from.on('data', (chunk) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => {
        if (!held()) from.resume();
      });
    }
  });
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let paused = false;
  const held = () => paused;

  const server = createServer((client) => {
    const upstream = createConnection({ port: targetPort, host: targetHost });
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    forward(client, upstream, held);
    forward(upstream, client, held);
    if (paused) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };

  const cutAll = () => {
    for (const { client, upstream } of pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    pairs.clear();
  };

  return {
    port,
    get connections() {
      return pairs.size;
    },
    pause() {
      paused = true;
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream.pause();
      }
    },
    resume() {
      paused = false;
      for (const { client, upstream } of pairs) {
        client.resume();
        upstream.resume();
      }
    },
    cutAll,
    close() {
      cutAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
