// The partition proxy with real sockets: an upstream server that records what
// it receives and can push to its clients, and clients through the proxy.
import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

interface Upstream {
  port: number;
  received: () => string;
  sockets: Socket[];
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  let received = '';
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk) => {
      received += chunk;
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    received: () => received,
    sockets,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function connectTo(port: number): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  const socket = createConnection({ port, host: '127.0.0.1' });
  let received = '';
  let closed = false;
  socket.on('data', (chunk) => {
    received += chunk;
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  await once(socket, 'connect');
  return { socket, received: () => received, closed: () => closed };
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const item of open.splice(0)) await item.close();
});

async function setup(): Promise<{ upstream: Upstream; proxy: TcpProxy }> {
  const upstream = await startUpstream();
  const proxy = await startTcpProxy(upstream.port);
  open.push(proxy, upstream);
  return { upstream, proxy };
}

describe('startTcpProxy', () => {
  it('forwards both ways until paused; while paused nothing passes and no socket closes; resume delivers what was held', async () => {
    const { upstream, proxy } = await setup();
    const client = await connectTo(proxy.port);
    client.socket.write('one|');
    await expect.poll(() => upstream.received()).toBe('one|');
    upstream.sockets[0]!.write('back|');
    await expect.poll(() => client.received()).toBe('back|');

    proxy.pause();
    client.socket.write('two|');
    upstream.sockets[0]!.write('held|');
    await sleep(400);
    // Without pause the bytes would have arrived (as 'one|' did above within a poll).
    expect(upstream.received()).toBe('one|');
    expect(client.received()).toBe('back|');
    expect(client.closed()).toBe(false);
    expect(upstream.sockets[0]!.destroyed).toBe(false);
    expect(proxy.connections).toBe(1);

    proxy.resume();
    await expect.poll(() => upstream.received()).toBe('one|two|');
    await expect.poll(() => client.received()).toBe('back|held|');
    client.socket.destroy();
  });

  it('a connection opened during a pause carries nothing until resume', async () => {
    const { upstream, proxy } = await setup();
    proxy.pause();
    const client = await connectTo(proxy.port);
    client.socket.write('late|');
    await sleep(300);
    expect(upstream.received()).toBe('');
    proxy.resume();
    await expect.poll(() => upstream.received()).toBe('late|');
    client.socket.destroy();
  });

  it('cutAll resets every connection; the proxy still accepts new ones; close stops listening', async () => {
    const { upstream, proxy } = await setup();
    const a = await connectTo(proxy.port);
    const b = await connectTo(proxy.port);
    await expect.poll(() => proxy.connections).toBe(2);
    proxy.cutAll();
    await expect.poll(() => a.closed() && b.closed()).toBe(true);
    expect(proxy.connections).toBe(0);
    const c = await connectTo(proxy.port);
    c.socket.write('after|');
    await expect.poll(() => upstream.received()).toBe('after|');
    await proxy.close();
    await expect.poll(() => c.closed()).toBe(true);
    const refused = createConnection({ port: proxy.port, host: '127.0.0.1' });
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });
});
