import { createHmac, createSecretKey } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyHs256 } from './hs256';

const NOW = 1_790_000_000;
const KEY = createSecretKey(Buffer.from('the-right-secret-0123456789abcdef'));
const OTHER_KEY = createSecretKey(Buffer.from('another-secret-0123456789abcdefgh'));
const jwt = new JwtService();

/** What jsonwebtoken (through @nestjs/jwt) answers for the same token, key and time; null when it refuses. */
function reference(token: string): unknown {
  try {
    return jwt.verify(token, { secret: KEY as unknown as Buffer, algorithms: ['HS256'], clockTimestamp: NOW });
  } catch {
    return null;
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const sign = (algorithm: 'sha256' | 'sha512', key: typeof KEY, signed: string) =>
  createHmac(algorithm, key).update(signed).digest('base64url');

const time = fc.oneof(
  fc.integer({ min: NOW - 3, max: NOW + 3 }),
  fc.double({ min: NOW - 2, max: NOW + 2, noNaN: true }),
  fc.constantFrom('1790000100', null, true),
);
const claims = fc.record(
  {
    sub: fc.constantFrom('9b2f6c1e-6a43-4a0e-9d1c-2f4e8b7a1c33', 'x'),
    typ: fc.constantFrom('access', 'refresh'),
    exp: time,
    nbf: time,
    iat: time,
  },
  { requiredKeys: [] },
);
const headerText = fc
  .oneof(
    fc.constantFrom({ alg: 'HS256', typ: 'JWT' }, { alg: 'HS256' }, { alg: 'HS512', typ: 'JWT' }, { alg: 'none' }),
    fc
      .constantFrom({ alg: 'hs256' }, { alg: ['HS256'] }, { typ: 'JWT' }, [], 'HS256')
      .map((header) => header as object),
  )
  .map((header) => JSON.stringify(header));
const payloadText = fc.oneof(
  { weight: 6, arbitrary: claims.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.constantFrom('"text"', '42', '[1]', 'null', 'not json', '{"exp":') },
);
const token = fc
  .record({
    header: headerText,
    payload: payloadText,
    signature: fc.constantFrom('right', 'other key', 'sha512', 'empty', 'tampered', 'none'),
    extra: fc.constantFrom('', '', '', '.x', '==', '*'),
  })
  .map(({ header, payload, signature, extra }) => {
    const signed = `${b64(header)}.${b64(payload)}`;
    const right = sign('sha256', KEY, signed);
    const parts: Record<typeof signature, string> = {
      right,
      'other key': sign('sha256', OTHER_KEY, signed),
      sha512: sign('sha512', KEY, signed),
      empty: '',
      tampered: `${right.slice(0, -1)}${right.endsWith('A') ? 'B' : 'A'}`,
      none: '',
    };
    return signature === 'none' ? `${signed}${extra}` : `${signed}.${parts[signature]}${extra}`;
  });

describe('verifyHs256', () => {
  it('accepts exactly the tokens jsonwebtoken accepts with algorithms [HS256], and returns the same claims', () => {
    fc.assert(
      fc.property(token, (candidate) => {
        const expected = reference(candidate);
        const claimsObject = expected !== null && typeof expected === 'object' ? expected : null;
        expect(verifyHs256(candidate, KEY, NOW)).toEqual(claimsObject);
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts a well-formed token until its exp, and not before its nbf', () => {
    const make = (payload: object) => {
      const signed = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify(payload))}`;
      return `${signed}.${sign('sha256', KEY, signed)}`;
    };
    expect(verifyHs256(make({ sub: 'a', exp: NOW + 1 }), KEY, NOW)).toEqual({ sub: 'a', exp: NOW + 1 });
    expect(verifyHs256(make({ sub: 'a', exp: NOW }), KEY, NOW)).toBeNull();
    expect(verifyHs256(make({ sub: 'a', nbf: NOW }), KEY, NOW)).toEqual({ sub: 'a', nbf: NOW });
    expect(verifyHs256(make({ sub: 'a', nbf: NOW + 1 }), KEY, NOW)).toBeNull();
    expect(verifyHs256(make({ sub: 'a', exp: NOW + 1 }), OTHER_KEY, NOW)).toBeNull();
  });
});
