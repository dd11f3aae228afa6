import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@app/testing';
import { NGINX_TEMPLATE } from '../nginx/render.mjs';
import { LocalNginx } from './nginx';

/** The header a test sends the client's address in: Nginx takes it as $remote_addr from 127.0.0.1 (realip). */
const CLIENT_HEADER = 'X-Test-Client';

/**
 * The deployment's template, and two test-only changes: the client's address read from
 * X-Test-Client (the realip module, trusting 127.0.0.1 only), and a location that answers the
 * rate limits' key for it. Everything else, the map and the zones included, is the template's.
 */
function templateWithTestClients(): string {
  const template = readFileSync(NGINX_TEMPLATE, 'utf8');
  const serverStart = '        server_name _;\n';
  const catchAll = '        location / {\n            proxy_pass http://boxoffice_api;\n        }\n';
  if (!template.includes(serverStart) || !template.includes(catchAll)) {
    throw new Error('the template changed: update templateWithTestClients');
  }
  return template
    .replace(
      serverStart,
      `${serverStart}        set_real_ip_from 127.0.0.1;\n        real_ip_header ${CLIENT_HEADER};\n`,
    )
    .replace(
      catchAll,
      `${catchAll}        location = /test/client-network {\n            return 200 $boxoffice_client_network;\n        }\n`,
    );
}

/** An IPv6 address as 8 groups (0 … 0xffff), written out whole with random leading zeros and case. */
const ipv6Groups = fc.array(
  // Zero half the time, so that `::` falls everywhere in Nginx's canonical text; 0xffff often, for
  // the IPv4-mapped form.
  fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })),
  { minLength: 8, maxLength: 8 },
);
const written = (groups: number[], padded: boolean[], upper: boolean) =>
  groups
    .map((group, i) => {
      const hex = group.toString(16);
      const text = padded[i] ? hex.padStart(4, '0') : hex;
      return upper ? text.toUpperCase() : text;
    })
    .join(':');

describe('Nginx rate limits count an IPv6 client by its /64 (template as rendered for Compose)', () => {
  let nginx: LocalNginx;

  beforeAll(async () => {
    // No replica listens there: a request the limits let through is a 502, one they stop a 429.
    nginx = await LocalNginx.start([await freePort()], { template: templateWithTestClients() });
  });
  afterAll(async () => {
    await nginx?.stop();
  });

  const keyOf = async (address: string): Promise<Buffer> => {
    const response = await fetch(`${nginx.url}/test/client-network`, { headers: { [CLIENT_HEADER]: address } });
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  };

  it('keys any IPv6 address, however written, by its first four groups', async () => {
    await fc.assert(
      fc.asyncProperty(
        ipv6Groups,
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.boolean(),
        async (groups, padded, upper) => {
          const key = await keyOf(written(groups, padded, upper));
          // An IPv4-mapped address (::ffff:a.b.c.d) is keyed by its IPv4 address, as the api does.
          const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
          const expected = mapped
            ? [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.')
            : groups
                .slice(0, 4)
                .map((group) => group.toString(16))
                .join(':');
          expect(key.toString()).toBe(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('keys the zero runs at every place of the four groups, and IPv4 by its address', async () => {
    const cases: [string, string][] = [
      ['::', '0:0:0:0'],
      ['::1', '0:0:0:0'],
      ['::2:3:4:5:6', '0:0:0:2'],
      ['::3:4:5:6:7:8', '0:0:3:4'],
      ['1::', '1:0:0:0'],
      ['1::4:5:6:7:8', '1:0:0:4'],
      ['1::5:6:7:8', '1:0:0:0'],
      ['1:2::', '1:2:0:0'],
      ['1:2::5:6:7:8', '1:2:0:0'],
      ['1:2:3::', '1:2:3:0'],
      ['1:2:3::6:7:8', '1:2:3:0'],
      ['1:2:3:4::', '1:2:3:4'],
      ['2001:db8:0:0:1::', '2001:db8:0:0'],
      ['2001:db8::1', '2001:db8:0:0'],
      ['::ffff:192.0.2.7', '192.0.2.7'],
    ];
    const keys = await Promise.all(cases.map(([address]) => keyOf(address)));
    expect(keys.map((key) => key.toString())).toEqual(cases.map(([, key]) => key));
    // An IPv4 client keeps the compact key ($binary_remote_addr) the zones had.
    expect([...(await keyOf('192.0.2.7'))]).toEqual([192, 0, 2, 7]);
  });

  it('limits logins from one /64 however many of its addresses they come from, and not another /64', async () => {
    const login = (address: string) =>
      fetch(`${nginx.url}/api/v1/auth/login`, { method: 'POST', body: '{}', headers: { [CLIENT_HEADER]: address } });
    // 40 attempts at once, each from another address of 2001:db8:1:2::/64: past the burst of 20.
    const rotating = await Promise.all(
      Array.from({ length: 40 }, (_, i) => login(`2001:db8:1:2:${(i + 1).toString(16)}::${i + 7}`)),
    );
    await Promise.all(rotating.map((response) => response.body?.cancel()));
    expect(rotating.filter((response) => response.status === 429).length).toBeGreaterThanOrEqual(15);
    // Another network is not held to that one's limit.
    const other = await login('2001:db8:1:3::1');
    await other.body?.cancel();
    expect(other.status).toBe(502);
  });
});
