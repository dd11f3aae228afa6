import { describe, expect, it } from 'vitest';
import { AdmissionTokens } from './admission-token';

describe('AdmissionTokens', () => {
  const tokens = new AdmissionTokens('a-secret-of-at-least-thirty-two-characters');
  const claims = { performanceId: 7, userId: 'u-1', ticketId: 't-1', expiresAt: 10_000 };

  it("verifies its own token and answers its expiry, which use-admission.lua checks on the room's clock", () => {
    expect(tokens.verify(tokens.sign(claims))).toEqual(claims);
  });

  it('refuses forged, tampered, foreign-secret and malformed tokens', () => {
    const token = tokens.sign(claims);
    const [version, payload, mac] = token.split('.');
    const otherPayload = Buffer.from(JSON.stringify({ p: 8, u: 'u-1', t: 't-1', exp: 10_000 })).toString('base64url');
    expect(tokens.verify(`${version}.${otherPayload}.${mac}`)).toBeNull();
    expect(tokens.verify(`${version}.${payload}.${mac.slice(0, -2)}AA`)).toBeNull();
    expect(new AdmissionTokens('another-secret-of-at-least-thirty-two-chars').verify(token)).toBeNull();
    for (const bad of [undefined, '', 'x', 'a1..', `b1.${payload}.${mac}`, 42, 'a'.repeat(2000)]) {
      expect(tokens.verify(bad)).toBeNull();
    }
  });
});
