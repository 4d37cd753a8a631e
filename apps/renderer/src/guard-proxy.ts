// The renderer's forward proxy (docs/rendering.md, "Browser security"): every
// request of its Chromium goes through it, and it applies the crawl's
// connect-time SSRF guard (@crawlstream/pipeline createSsrfGuard) to each
// target: IP literals before any connection, host names through the guard's
// own lookup (so the address connected to is the one it checked; no DNS
// rebinding between check and connect). It listens on loopback only and
// answers only a client holding its per-process credential, so no other
// local process can use it as an open proxy.
//
// proxy-chain (Apify's proxy server) carries the traffic: plain HTTP in
// absolute form and CONNECT tunnels (https, wss; Chromium tunnels ws:// over
// CONNECT through an HTTP proxy too). Its prepareRequestFunction runs before
// any upstream connection and its dnsLookup replaces the lookup of both.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { createSsrfGuard, type SsrfGuard, type SsrfGuardOptions } from '@crawlstream/pipeline';
import { RequestError, Server } from 'proxy-chain';

/** Header on the proxy's own refusals, so the browser side can tell them from a site's 403. */
export const BLOCKED_HEADER = 'x-crawlstream-blocked';

export interface GuardProxy {
  /** `http://127.0.0.1:<port>` */
  readonly server: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly guard: SsrfGuard;
  /** Targets refused by the SSRF guard since start. */
  readonly blocked: number;
  close(): Promise<void>;
}

export interface GuardProxyOptions {
  /** SSRF_ALLOW */
  allow: readonly string[];
  /** Tests replace the resolver (a rebinding DNS server). */
  resolve?: SsrfGuardOptions['resolve'];
}

function sameSecret(given: string | null | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether the guard lets `hostname` be reached: an allowed IP literal, or a name with at least one allowed address. */
export function targetAllowed(guard: SsrfGuard, hostname: string): Promise<boolean> {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIP(host) !== 0) return Promise.resolve(guard.isAllowedAddress(host, host));
  return new Promise((resolve) => {
    guard.lookup(host, { all: true }, (error, addresses) => {
      resolve(!error && Array.isArray(addresses) && (addresses as LookupAddress[]).length > 0);
    });
  });
}

export async function startGuardProxy(options: GuardProxyOptions): Promise<GuardProxy> {
  const guard = createSsrfGuard(options.allow, options.resolve ? { resolve: options.resolve } : {});
  const username = 'renderer';
  const password = randomBytes(24).toString('base64url');
  let blocked = 0;
  const server = new Server({
    port: 0,
    host: '127.0.0.1',
    prepareRequestFunction: async ({ username: user, password: pass, hostname }) => {
      if (!sameSecret(user, username) || !sameSecret(pass, password)) {
        return { requestAuthentication: true, failMsg: 'proxy credentials required' };
      }
      if (!(await targetAllowed(guard, hostname))) {
        blocked++;
        throw new RequestError(`blocked by the SSRF guard: ${hostname}`, 403, { [BLOCKED_HEADER]: 'ssrf' });
      }
      // The connection resolves through the guard again: an answer changed since the check is still filtered.
      // proxy-chain hands this lookup to net.connect (CONNECT) and http.request (plain HTTP), and an IP
      // literal (which skips the lookup) was judged above, so the address connected to is one the guard allowed.
      return { dnsLookup: guard.lookup as never };
    },
  });
  // proxy-chain logs failed upstream requests to the console unless a listener takes them.
  server.on('requestFailed', () => {});
  await server.listen();
  return {
    server: `http://127.0.0.1:${server.port}`,
    port: server.port,
    username,
    password,
    guard,
    get blocked() {
      return blocked;
    },
    close: () => server.close(true),
  };
}
