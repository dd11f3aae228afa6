import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key a per-address rate limit (login, e-mail confirm with a password, signup, password-reset
 * requests) counts a client under, from its address (`request.ip`, behind TRUST_PROXY):
 * - an IPv4 address as it is, an IPv4-mapped IPv6 address (`::ffff:198.51.100.7`) as its IPv4;
 * - an IPv6 address by its /64 network, e.g. `2001:db8:7:8::/64` for `2001:db8:7:8::1` and every
 *   other spelling of an address in it: a host, a home line or a phone is given a whole /64 (RFC
 *   7934) and takes any address in it at will (temporary addresses, RFC 8981), so a limit per IPv6
 *   address would give one client 2^64 counters;
 * - an address with a port, as some proxies write X-Forwarded-For (`198.51.100.7:51234`,
 *   `[2001:db8::1]:51234`), as the address alone: the port changes with each connection;
 * - anything else (not an IP address) as given.
 */
export function clientAddressKey(given: string): string {
  const ip = withoutPort(given);
  if (!isIPv6(ip)) return ip;
  const groups = ipv6Groups(ip);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing IPv4 as two groups, a zone dropped). */
function ipv6Groups(ip: string): number[] {
  const [address] = ip.split('%');
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const parse = (part: string | undefined): number[] =>
    (part ? part.split(':') : []).flatMap((piece) => {
      if (!isIPv4(piece)) return [parseInt(piece, 16)];
      const [a, b, c, d] = piece.split('.').map(Number);
      return [(a << 8) | b, (c << 8) | d];
    });
  const first = parse(head);
  const last = parse(tail);
  return [...first, ...Array<number>(8 - first.length - last.length).fill(0), ...last];
}

/** The address of `198.51.100.7:51234` or `[2001:db8::1]:51234` (or `[2001:db8::1]`); anything else as given. */
function withoutPort(ip: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(ip);
  if (bracketed && isIPv6(bracketed[1])) return bracketed[1];
  const ipv4 = /^([\d.]+):\d{1,5}$/.exec(ip);
  return ipv4 && isIPv4(ipv4[1]) ? ipv4[1] : ip;
}
