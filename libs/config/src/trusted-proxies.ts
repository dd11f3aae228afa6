import { BlockList, isIP } from 'node:net';

/** Address ranges named as proxy-addr (and Express, Fastify) name them. */
const NAMED_RANGES: Record<string, [string, number][]> = {
  loopback: [
    ['127.0.0.0', 8],
    ['::1', 128],
  ],
  linklocal: [
    ['169.254.0.0', 16],
    ['fe80::', 10],
  ],
  uniquelocal: [
    ['10.0.0.0', 8],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['fc00::', 7],
  ],
};

/**
 * The proxies whose `X-Forwarded-For` the API believes, from TRUST_PROXY: a comma-separated list
 * of names (`loopback`, `linklocal`, `uniquelocal`), addresses and CIDR ranges. A request from any
 * other peer keeps its socket address as the client's, whatever headers it sends, so rotating
 * `X-Forwarded-For` cannot dodge the per-client rate limits. Throws a RangeError on an entry it
 * cannot read (the configuration check refuses those first).
 */
export class TrustedProxies {
  private readonly list = new BlockList();

  constructor(spec: string) {
    for (const entry of spec.split(',').map((part) => part.trim())) {
      if (entry === '') continue;
      const ranges = NAMED_RANGES[entry] ?? [parseRange(entry)];
      for (const [address, prefix] of ranges)
        this.list.addSubnet(address, prefix, isIP(address) === 6 ? 'ipv6' : 'ipv4');
    }
  }

  /**
   * For Fastify's `trustProxy`: is the hop at `address` a proxy to believe? An unknown address
   * (undefined: proxy-addr passes the socket's, which Node forgets once the peer has closed it,
   * as Nginx does when its client gives up) is no proxy to believe.
   */
  readonly trusts = (address: string | undefined): boolean => {
    if (address === undefined) return false;
    // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d.
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/** `a.b.c.d`, `a.b.c.d/n`, `x::y`, `x::y/n` → address and prefix length. */
export function parseRange(entry: string): [string, number] {
  const [address, prefixText, extra] = entry.split('/');
  const family = isIP(address);
  const bits = family === 6 ? 128 : 32;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
    throw new RangeError(`not an address, CIDR range or one of ${Object.keys(NAMED_RANGES).join(', ')}: ${entry}`);
  }
  return [address, prefix];
}
