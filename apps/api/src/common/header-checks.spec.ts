import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { repeatedSingleHeader } from './header-checks';

/** The rule in its plainest form: the first of the four names seen a second time, in any case. */
function firstRepeated(rawHeaders: readonly string[]): string | null {
  const seen = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (!['authorization', 'content-type', 'host', 'idempotency-key'].includes(name)) continue;
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return null;
}

const casing = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((char, i) => (upper[i] ? char.toUpperCase() : char)).join(''));

describe('repeatedSingleHeader', () => {
  it('finds the first of Authorization, Content-Type, Host and Idempotency-Key sent twice, in any casing', () => {
    const name = fc.oneof(
      ...[
        'authorization',
        'content-type',
        'idempotency-key',
        'host',
        'hosts',
        'accept',
        'content-types',
        'x-request-id',
      ].map(casing),
      fc.string({ maxLength: 16 }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.string({ maxLength: 4 })), { maxLength: 8 }), (headers) => {
        const raw = headers.flat();
        expect(repeatedSingleHeader(raw)).toBe(firstRepeated(raw));
      }),
    );
  });

  it('says which header came twice', () => {
    expect(repeatedSingleHeader(['Host', 'a', 'Authorization', 'x', 'AUTHORIZATION', 'y'])).toBe('authorization');
    expect(repeatedSingleHeader(['Host', 'a', 'Authorization', 'x', 'Content-Type', 'y'])).toBeNull();
    expect(repeatedSingleHeader(['Host', 'a', 'Authorization', 'x', 'HOST', 'b'])).toBe('host');
  });
});
