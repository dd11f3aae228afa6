import { describe, expect, it } from 'vitest';
import { clientAddressKey } from './client-address';

describe('clientAddressKey', () => {
  it('keeps an IPv4 address, and reads an IPv4-mapped IPv6 address as its IPv4', () => {
    expect(clientAddressKey('198.51.100.7')).toBe('198.51.100.7');
    expect(clientAddressKey('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(clientAddressKey('::FFFF:c633:6407')).toBe('198.51.100.7');
  });

  it('keys every spelling of every address of one IPv6 /64 alike, and another /64 apart', () => {
    const key = '2001:db8:7:8::/64';
    for (const ip of [
      '2001:db8:7:8::1',
      '2001:DB8:7:8:ffff:ffff:ffff:ffff',
      '2001:0db8:0007:0008:0000:0000:0000:0001',
      '2001:db8:7:8:1::',
      '2001:db8:7:8::1.2.3.4',
      'fe80::1%eth0'.replace('fe80::', '2001:db8:7:8::'),
    ]) {
      expect(clientAddressKey(ip)).toBe(key);
    }
    expect(clientAddressKey('2001:db8:7:9::1')).toBe('2001:db8:7:9::/64');
    expect(clientAddressKey('::1')).toBe('0:0:0:0::/64');
    expect(clientAddressKey('2001:db8::7:8:9:1')).toBe('2001:db8:0:0::/64');
  });

  it('keys an address written with a port (as some proxies forward it) as the address alone', () => {
    expect(clientAddressKey('198.51.100.7:51234')).toBe('198.51.100.7');
    expect(clientAddressKey('[2001:db8:7:8::1]:51234')).toBe('2001:db8:7:8::/64');
    expect(clientAddressKey('[2001:db8:7:8::2]')).toBe('2001:db8:7:8::/64');
    expect(clientAddressKey('[::ffff:198.51.100.7]:443')).toBe('198.51.100.7');
  });

  it('leaves what is not an IP address as it is', () => {
    expect(clientAddressKey('198.51.100.7:port')).toBe('198.51.100.7:port');
    expect(clientAddressKey('[not-an-address]:1')).toBe('[not-an-address]:1');
    expect(clientAddressKey('undefined')).toBe('undefined');
    expect(clientAddressKey('')).toBe('');
  });
});
