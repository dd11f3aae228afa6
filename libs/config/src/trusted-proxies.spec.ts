import { describe, expect, it } from 'vitest';
import { parseRange, TrustedProxies } from './trusted-proxies';

describe('TrustedProxies', () => {
  it('trusts loopback by name, on IPv4, IPv6 and IPv4-mapped IPv6', () => {
    const trusted = new TrustedProxies('loopback');
    for (const address of ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1'])
      expect(trusted.trusts(address)).toBe(true);
    for (const address of ['10.0.0.1', '203.0.113.9', '::ffff:203.0.113.9', '2001:db8::1', 'not-an-ip', '']) {
      expect(trusted.trusts(address)).toBe(false);
    }
  });

  it('trusts no hop whose address is unknown (the peer closed its socket before it was read)', () => {
    // proxy-addr asks about the socket's address, which Node forgets once the peer has closed.
    expect(new TrustedProxies('loopback').trusts(undefined)).toBe(false);
  });

  it('reads addresses, CIDR ranges and names together', () => {
    const trusted = new TrustedProxies('10.1.0.0/16, 192.0.2.7, uniquelocal, 2001:db8::/32');
    expect(trusted.trusts('10.1.200.3')).toBe(true);
    expect(trusted.trusts('192.0.2.7')).toBe(true);
    expect(trusted.trusts('192.0.2.8')).toBe(false);
    expect(trusted.trusts('172.20.0.5')).toBe(true);
    expect(trusted.trusts('2001:db8:ff::1')).toBe(true);
    expect(trusted.trusts('127.0.0.1')).toBe(false);
  });

  it.each(['localhost', '10.0.0.0/33', '10.0.0.0/8/1', '::1/129', '300.1.1.1', '10.0.0.0/x'])('refuses %s', (entry) => {
    expect(() => parseRange(entry)).toThrow(RangeError);
    expect(() => new TrustedProxies(entry)).toThrow(RangeError);
  });
});
