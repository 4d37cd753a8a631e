import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type LookupFunction, type Server as NetServer } from 'node:net';
import { loadConfig } from '@crawlstream/shared';
import { Agent, type Dispatcher, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSsrfGuard, type Resolver, SSRF_BLOCKED } from './ssrf.js';

// Pure: these only classify addresses; nothing is sent anywhere.
describe('default policy', () => {
  const guard = createSsrfGuard([]);

  it.each([
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'cloud metadata'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.100.100.200', 'Alibaba metadata (CGNAT)'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.0.192', 'Oracle metadata (IETF protocol assignments)'],
    ['240.0.0.1', 'reserved'],
    ['::1', 'IPv6 loopback'],
    ['[::1]', 'IPv6 loopback as URLs write it'],
    ['::', 'IPv6 unspecified'],
    ['fe80::1', 'IPv6 link-local'],
    ['fe80::1%eth0', 'IPv6 link-local with a zone'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'AWS metadata over IPv6'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['::8.8.8.8', 'IPv4-compatible (deprecated, never routed)'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated loopback'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['64:ff9b::169.254.169.254', 'NAT64 of metadata'],
    ['64:ff9b:1::808:808', 'local-use NAT64'],
    ['2002:7f00:1::', '6to4 of loopback'],
    ['2002:a00:1::', '6to4 of private'],
    ['2001:db8::1', 'documentation'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['not-an-ip', 'not an address'],
    ['', 'empty'],
  ])('blocks %s (%s)', (ip) => {
    expect(guard.isAllowedAddress(ip)).toBe(false);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('allows the public address %s', (ip) => {
    expect(guard.isAllowedAddress(ip)).toBe(true);
  });
});

describe('SSRF_ALLOW', () => {
  it('opens a CIDR, whatever form the address takes', () => {
    const guard = createSsrfGuard(['10.0.0.0/8']);
    expect(guard.isAllowedAddress('10.1.2.3')).toBe(true);
    expect(guard.isAllowedAddress('::ffff:10.1.2.3')).toBe(true);
    expect(guard.isAllowedAddress('192.168.1.1')).toBe(false);
    expect(guard.isAllowedAddress('8.8.8.8')).toBe(true);
  });

  it('opens single addresses and IPv6 ranges', () => {
    const guard = createSsrfGuard(['127.0.0.1', 'fd12::/16']);
    expect(guard.isAllowedAddress('127.0.0.1')).toBe(true);
    expect(guard.isAllowedAddress('127.0.0.2')).toBe(false);
    expect(guard.isAllowedAddress('fd12::5')).toBe(true);
    expect(guard.isAllowedAddress('fd13::5')).toBe(false);
  });

  it('does not open cloud metadata through a broad range, only by its exact address', () => {
    const broad = createSsrfGuard(['169.254.0.0/16', 'fd00::/8']);
    expect(broad.isAllowedAddress('169.254.1.1')).toBe(true);
    expect(broad.isAllowedAddress('169.254.169.254')).toBe(false);
    expect(broad.isAllowedAddress('fd00:ec2::254')).toBe(false);
    const exact = createSsrfGuard(['169.254.169.254/32']);
    expect(exact.isAllowedAddress('169.254.169.254')).toBe(true);
  });

  it('opens host names, whatever they resolve to', () => {
    const guard = createSsrfGuard(['docs.internal']);
    expect(guard.isAllowedAddress('10.0.0.5', 'docs.internal')).toBe(true);
    expect(guard.isAllowedAddress('10.0.0.5', 'DOCS.INTERNAL.')).toBe(true);
    expect(guard.isAllowedAddress('10.0.0.5', 'other.internal')).toBe(false);
    expect(guard.isAllowedAddress('10.0.0.5')).toBe(false);
  });

  it('refuses an entry that is not a CIDR', () => {
    expect(() => createSsrfGuard(['300.1.1.1/8'])).toThrow(/SSRF_ALLOW/);
  });

  it('builds from every entry the config accepts (loadConfig is the one gate)', () => {
    const { SSRF_ALLOW } = loadConfig({
      SSRF_ALLOW: '10.0.0.0/32,10.0.0.0/0,255.255.255.255,::/128,::/0,::1,::ffff:10.0.0.0/104,fd00::/8,docs.internal.,localhost',
    });
    const guard = createSsrfGuard(SSRF_ALLOW);
    expect(guard.isAllowedAddress('10.1.2.3')).toBe(true);
    expect(guard.isAllowedAddress('fd00::5')).toBe(true);
    expect(guard.isAllowedAddress('192.168.0.1', 'localhost')).toBe(true);
  });
});

describe('guarded lookup', () => {
  const records: Record<string, string[]> = {
    'mixed.test': ['127.0.0.2', '127.0.0.1'],
    'private.test': ['127.0.0.2'],
  };
  const resolve: Resolver = async (hostname) =>
    (records[hostname] ?? []).map((address) => ({ address, family: 4 }));
  const guard = createSsrfGuard(['127.0.0.1/32'], { resolve });
  const lookupAll = (hostname: string) =>
    new Promise<unknown>((ok, fail) =>
      guard.lookup(hostname, { all: true }, (error, addresses) =>
        error ? fail(error) : ok(addresses),
      ),
    );

  it('hands the socket only the allowed answers', async () => {
    await expect(lookupAll('mixed.test')).resolves.toEqual([{ address: '127.0.0.1', family: 4 }]);
  });

  it('fails with ERR_SSRF_BLOCKED when no answer is allowed', async () => {
    await expect(lookupAll('private.test')).rejects.toMatchObject({ code: SSRF_BLOCKED });
  });
});

// End to end, loopback only: 127.0.0.1 is allowed by the allow list, 127.0.0.2
// (a loopback alias on Linux) is not.
describe('guarded agent', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  async function get(
    url: string,
    agent: ReturnType<ReturnType<typeof createSsrfGuard>['createAgent']>,
  ) {
    const response = await request(url, { dispatcher: agent });
    return response.body.text();
  }

  it('connects to an allowed address and refuses an IP literal outside the allow list', async () => {
    const agent = createSsrfGuard(['127.0.0.1/32']).createAgent();
    try {
      await expect(get(`http://127.0.0.1:${port}/`, agent)).resolves.toBe('ok');
      await expect(get(`http://127.0.0.2:${port}/`, agent)).rejects.toMatchObject({
        code: SSRF_BLOCKED,
      });
    } finally {
      await agent.close();
    }
  });

  // DNS rebinding and the connected-address re-check: 'decided at connect time' below.

  it('lets an allowed host name through to its private address', async () => {
    const resolve: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const named = createSsrfGuard(['docs.internal'], { resolve }).createAgent();
    const unnamed = createSsrfGuard([], { resolve }).createAgent();
    try {
      await expect(get(`http://docs.internal:${port}/`, named)).resolves.toBe('ok');
      await expect(get(`http://docs.internal:${port}/`, unnamed)).rejects.toMatchObject({
        code: SSRF_BLOCKED,
      });
    } finally {
      await Promise.all([named.close(), unnamed.close()]);
    }
  });
});

// The checks that matter happen while connecting: a host name that an earlier
// check let through, but that resolves to a blocked address when the socket
// connects, is refused there. 127.0.0.2 (a loopback alias) listens and counts
// what reaches it; only 127.0.0.1/32 is allowed.
describe('decided at connect time', () => {
  let blocked: NetServer;
  let port = 0;
  let connections = 0;
  let bytes = 0;
  beforeAll(async () => {
    blocked = createNetServer((socket) => {
      connections++;
      socket.on('data', (chunk) => {
        bytes += chunk.length;
        socket.end('HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecret');
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((ok) => blocked.listen(0, '127.0.0.2', ok));
    port = (blocked.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((ok) => blocked.close(() => ok())));

  /** A DNS server that rebinds: its first answer is allowed, every later one is not. */
  function rebinding() {
    let calls = 0;
    const resolve: Resolver = async () => [{ address: calls++ === 0 ? '127.0.0.1' : '127.0.0.2', family: 4 }];
    return { resolve, calls: () => calls };
  }

  async function get(url: string, dispatcher: Dispatcher) {
    const response = await request(url, { dispatcher });
    return response.body.text();
  }

  /** An unguarded `net.connect` lookup over a resolver. */
  function lookupFrom(resolve: Resolver): LookupFunction {
    return (host, options, callback) => {
      resolve(host, 4).then(
        (addresses) => {
          if (options.all) callback(null, addresses);
          else callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      );
    };
  }

  it('refuses a host name that passed a check before the fetch but resolves to a blocked address when connecting', async () => {
    // Control: a guard consulted only before the fetch (as a pre-check would
    // be), with a plain agent doing the connecting, lets the request through
    // to 127.0.0.2. This is the design the guard must not be.
    const dns = rebinding();
    const precheck = createSsrfGuard(['127.0.0.1/32'], { resolve: dns.resolve });
    const [first] = await dns.resolve('rebind.test', 4);
    expect(precheck.isAllowedAddress(first!.address, 'rebind.test')).toBe(true);
    const plain = new Agent({ connect: { lookup: lookupFrom(dns.resolve) } });
    try {
      await expect(get(`http://rebind.test:${port}/`, plain)).resolves.toBe('secret');
    } finally {
      await plain.close();
    }
    expect(connections).toBe(1);
    connections = 0;
    bytes = 0;

    // The guard's own agent: the same pre-check passes, the connection's lookup is refused, nothing reaches 127.0.0.2.
    const again = rebinding();
    const guard = createSsrfGuard(['127.0.0.1/32'], { resolve: again.resolve });
    await new Promise<void>((ok, fail) => guard.lookup('rebind.test', {}, (error) => (error ? fail(error) : ok())));
    const agent = guard.createAgent();
    try {
      await expect(get(`http://rebind.test:${port}/`, agent)).rejects.toMatchObject({ code: SSRF_BLOCKED });
    } finally {
      await agent.close();
    }
    expect(again.calls()).toBe(2);
    expect([connections, bytes]).toEqual([0, 0]);
  });

  it('re-checks the address actually connected to, on its own, before a byte is sent', async () => {
    // The guard's lookup answers 127.0.0.1 (allowed); the socket resolves by
    // a lookup the guard does not control (socketLookup) and lands on
    // 127.0.0.2. Only the check of the connected socket's remote address
    // stands between the request and that server: without it, the request
    // would be sent and answered `secret`.
    let guardedCalls = 0;
    const resolve: Resolver = async () => {
      guardedCalls++;
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const socketLookup = lookupFrom(async () => [{ address: '127.0.0.2', family: 4 }]);
    const guard = createSsrfGuard(['127.0.0.1/32'], { resolve, socketLookup });
    expect(guard.isAllowedAddress('127.0.0.1', 'elsewhere.test')).toBe(true);
    const agent = guard.createAgent();
    try {
      await expect(get(`http://elsewhere.test:${port}/`, agent)).rejects.toMatchObject({
        code: SSRF_BLOCKED,
        address: '127.0.0.2',
      });
    } finally {
      await agent.close();
    }
    expect(guardedCalls).toBe(0); // the guarded lookup was bypassed: this was the re-check alone
    // The TCP handshake happened (the remote address is known only then); no request byte followed.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(connections).toBe(1);
    expect(bytes).toBe(0);
  });
});
