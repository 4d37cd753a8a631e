// A small HTTP server on 127.0.0.1 for one test file: started before its
// tests, closed after them. For fixture sites that `startSite` does not shape.
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export function useLoopbackServer(handler: RequestListener): { readonly origin: string } {
  const server = createServer(handler);
  const state = { origin: '' };
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return state;
}
