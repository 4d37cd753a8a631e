// SSRF guard (DESIGN.md section 3): decides which IP addresses a crawl may
// connect to, and enforces it inside the connection itself (DNS lookup and
// connected socket), so that neither DNS rebinding nor a redirect nor an IP
// literal can reach a private address. SSRF_ALLOW entries open exceptions.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector } from 'undici';

export const SSRF_BLOCKED = 'ERR_SSRF_BLOCKED';

export class SsrfBlockedError extends Error {
  readonly code = SSRF_BLOCKED;
  constructor(
    readonly address: string,
    readonly hostname: string,
  ) {
    super(
      hostname && hostname !== address
        ? `blocked: ${hostname} resolves to ${address}, a non-public address`
        : `blocked: ${address} is a non-public address`,
    );
    this.name = 'SsrfBlockedError';
  }
}

/** Resolves a host name to every address, like `dns.lookup` with `all: true`. */
export type Resolver = (hostname: string, family: 0 | 4 | 6) => Promise<LookupAddress[]>;

export interface SsrfGuardOptions {
  /** Replaces the system resolver (tests use it to play a rebinding DNS server). */
  resolve?: Resolver;
  /** TLS and socket options for the connector (e.g. `ca`, `timeout`). */
  connect?: buildConnector.BuildOptions;
  /**
   * The lookup the socket itself uses, in place of the guarded one. Tests only:
   * it plays a resolver the guard does not control (another layer's DNS cache,
   * a patched `dns`), to show that the address actually connected to is
   * checked on its own, before a byte is sent.
   */
  socketLookup?: LookupFunction;
}

export interface SsrfGuard {
  /** True when connecting to `ip`, reached through `hostname`, is allowed. */
  isAllowedAddress(ip: string, hostname?: string): boolean;
  /** A `net.connect` lookup that resolves and drops blocked addresses. */
  lookup: LookupFunction;
  /** An undici connector: guarded lookup, IP literals checked, connected address re-checked. */
  connect: buildConnector.connector;
  /** An undici Agent whose every connection goes through `connect`. */
  createAgent(options?: Omit<Agent.Options, 'connect'>): Agent;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Cloud metadata services. They sit in ranges blocked anyway; they are named
 * so that a broad allowance (say `169.254.0.0/16` for a lab device) does not
 * open them: only an allow entry for the exact address does.
 */
const CLOUD_METADATA = new Set([
  '169.254.169.254', // AWS, GCP, Azure, OpenStack, DigitalOcean
  '169.254.170.2', // AWS ECS task metadata
  '100.100.100.200', // Alibaba Cloud
  '192.0.0.192', // Oracle Cloud
  'fd00:ec2:0:0:0:0:0:254', // AWS over IPv6
]);

export function createSsrfGuard(
  allow: readonly string[],
  options: SsrfGuardOptions = {},
): SsrfGuard {
  const { ranges, hosts } = parseAllowList(allow);
  const resolve = options.resolve ?? systemResolver;

  function isAllowedAddress(ip: string, hostname = ''): boolean {
    if (hosts.has(canonicalHost(hostname))) return true;
    const address = parseAddress(ip);
    if (!address) return false;
    const metadata = CLOUD_METADATA.has(address.toNormalizedString());
    for (const [network, bits] of ranges) {
      if (network.kind() !== address.kind()) continue;
      if (metadata && bits !== fullWidth(address)) continue;
      if (address.match(network, bits)) return true;
    }
    return !metadata && isPublicAddress(address);
  }

  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    const family =
      lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : 0;
    resolve(hostname, family).then(
      (addresses) => {
        // Dropping blocked answers (rather than failing on the first) means a
        // name with one public and one private record connects only to the public one.
        const allowed = addresses.filter((entry) => isAllowedAddress(entry.address, hostname));
        const first = allowed[0];
        if (!first) {
          callback(new SsrfBlockedError(addresses[0]?.address ?? '', hostname), '', 0);
        } else if (lookupOptions.all) {
          callback(null, allowed);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };

  const inner = buildConnector({ ...options.connect, lookup: options.socketLookup ?? lookup });
  const connect: buildConnector.connector = (connectOptions, callback) => {
    const hostname = stripBrackets(connectOptions.hostname);
    // net.connect skips the lookup for an IP literal, so check it here, before any packet.
    if (isIP(hostname) !== 0 && !isAllowedAddress(hostname)) {
      callback(new SsrfBlockedError(hostname, hostname), null);
      return;
    }
    inner(connectOptions, (...result) => {
      const [error, socket] = result;
      if (error) {
        callback(error, null);
        return;
      }
      // The address actually connected to: whatever resolved it, this is the truth.
      const remote = socket?.remoteAddress ?? '';
      if (!isAllowedAddress(remote, hostname)) {
        socket?.destroy();
        callback(new SsrfBlockedError(remote, hostname), null);
        return;
      }
      callback(...result);
    });
  };

  return {
    isAllowedAddress,
    lookup,
    connect,
    createAgent: (agentOptions = {}) => new Agent({ ...agentOptions, connect }),
  };
}

/**
 * The default policy: only globally routable unicast. IPv6 forms that embed
 * an IPv4 address (mapped, translated, NAT64, 6to4) are judged by that address.
 */
function isPublicAddress(address: Address): boolean {
  if (address.kind() === 'ipv4') return address.range() === 'unicast';
  const v6 = address as ipaddr.IPv6;
  const parts = v6.parts;
  switch (v6.range()) {
    case 'unicast':
      // ipaddr calls ::a.b.c.d (IPv4-compatible, deprecated since RFC 4291) unicast.
      return parts.slice(0, 6).some((part) => part !== 0);
    case 'ipv4Mapped':
    case 'rfc6145':
      return isPublicAddress(embeddedIPv4(parts[6], parts[7]));
    case 'rfc6052':
      // 64:ff9b::/96 is NAT64 to the public IPv4 internet; 64:ff9b:1::/48 is local use.
      return parts[2] === 0 && isPublicAddress(embeddedIPv4(parts[6], parts[7]));
    case '6to4':
      return isPublicAddress(embeddedIPv4(parts[1], parts[2]));
    default:
      return false;
  }
}

function embeddedIPv4(high = 0, low = 0): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** Parses an address as sockets and URLs spell it; IPv4-mapped IPv6 becomes IPv4. */
function parseAddress(ip: string): Address | null {
  // A zone (`fe80::1%eth0`) does not change what kind of address it is.
  const bare = stripBrackets(ip).split('%')[0] ?? '';
  const family = isIP(bare);
  if (family === 0) return null;
  // ipaddr reads `::a.b.c.d` (IPv4-compatible) as if it were `::ffff:a.b.c.d`;
  // the WHATWG serializer spells every IPv6 address in hex first.
  const text = family === 6 ? new URL(`http://[${bare}]/`).hostname.slice(1, -1) : bare;
  try {
    const address = ipaddr.parse(text);
    // Compared as IPv4, so that IPv4 ranges (allowed or blocked) apply to the mapped form.
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
      return (address as ipaddr.IPv6).toIPv4Address();
    }
    return address;
  } catch {
    return null;
  }
}

function parseAllowList(allow: readonly string[]) {
  const ranges: [Address, number][] = [];
  const hosts = new Set<string>();
  for (const raw of allow) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (entry.includes('/')) {
      try {
        const [network, bits] = ipaddr.parseCIDR(entry);
        ranges.push(normalizeRange(network, bits));
      } catch {
        throw new TypeError(`SSRF_ALLOW: ${entry} is not a valid CIDR`);
      }
    } else {
      const address = parseAddress(entry);
      if (address) ranges.push([address, fullWidth(address)]);
      else hosts.add(canonicalHost(entry));
    }
  }
  return { ranges, hosts };
}

/** `::ffff:10.0.0.0/104` allows what `10.0.0.0/8` allows, as addresses are compared as IPv4. */
function normalizeRange(network: Address, bits: number): [Address, number] {
  if (network.kind() === 'ipv6' && bits >= 96) {
    const v6 = network as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return [v6.toIPv4Address(), bits - 96];
  }
  return [network, bits];
}

function fullWidth(address: Address): number {
  return address.kind() === 'ipv4' ? 32 : 128;
}

function canonicalHost(hostname: string): string {
  return stripBrackets(hostname).toLowerCase().replace(/\.$/, '');
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function systemResolver(hostname: string, family: 0 | 4 | 6): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, family }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses);
    });
  });
}
