import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitsId, ID_LAYOUT_TAG, idWithPerformance, MAX_ID_PERFORMANCE, newIdOf, performanceOfId } from './ids';
import { isUuid } from './input';

const performanceIds = fc.integer({ min: 1, max: MAX_ID_PERFORMANCE });

/** A purchase id as the version before this layout derived it from an Idempotency-Key. */
function legacyPurchaseIdFor(userId: string, key: string, holdId: string): string {
  const bytes = createHash('sha256')
    .update(JSON.stringify([userId, key, holdId]))
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('ids that carry their performance', () => {
  it('round-trips any performance id that fits, as an RFC 9562 UUID of version 8', () => {
    fc.assert(
      fc.property(performanceIds, (performanceId) => {
        const id = newIdOf(performanceId);
        expect(isUuid(id)).toBe(true);
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(id.startsWith(ID_LAYOUT_TAG)).toBe(true);
        expect(performanceOfId(id)).toBe(performanceId);
      }),
    );
  });

  it('keeps the 74 bits after the performance from the given UUID, so derived ids are stable', () => {
    fc.assert(
      fc.property(performanceIds, fc.uuid({ version: [4, 8] }), (performanceId, uuid) => {
        const id = idWithPerformance(performanceId, uuid.toLowerCase());
        expect(id.slice(15)).toBe(uuid.toLowerCase().slice(15));
        expect(idWithPerformance(performanceId, uuid.toLowerCase())).toBe(id);
        expect(performanceOfId(id)).toBe(performanceId);
      }),
    );
  });

  it('gives fresh random ids: no two alike for one performance', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newIdOf(5)));
    expect(ids.size).toBe(1000);
  });

  it('decodes version-4 ids, as the previous version made holds and purchases, as no performance', () => {
    fc.assert(
      fc.property(fc.uuid({ version: 4 }), (uuid) => {
        expect(performanceOfId(uuid)).toBeNull();
      }),
    );
    expect(performanceOfId(randomUUID())).toBeNull();
  });

  it('decodes the previous version\u2019s Idempotency-Key purchase ids as no performance', () => {
    for (const [user, key, hold] of [
      ['u1', 'key-1', 'hold-1'],
      ['1b4e28ba-2fa1-41d2-883f-0016d3cca427', 'order-77', '6f1c0d3e-1b2a-4c3d-8e4f-5a6b7c8d9e0f'],
      ['alice', 'k', 'h'],
    ]) {
      expect(performanceOfId(legacyPurchaseIdFor(user, key, hold))).toBeNull();
    }
  });

  it('decodes anything else without the layout as no performance', () => {
    const tagged = newIdOf(77);
    for (const other of [
      '',
      'b0f1',
      tagged.toUpperCase(),
      `${tagged}0`,
      tagged.slice(0, 14) + '4' + tagged.slice(15),
      tagged.slice(0, 19) + 'c' + tagged.slice(20),
      'b0f10000-0000-8000-8000-000000000000',
    ]) {
      expect(performanceOfId(other), other).toBeNull();
    }
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(performanceOfId(text)).toBeNull();
      }),
    );
  });

  it('decodes every performance field to null or a PostgreSQL integer (never 0 or 2^31 and above)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.uuid({ version: 4 }), (field, uuid) => {
        const hex = field.toString(16).padStart(8, '0');
        const id = `${ID_LAYOUT_TAG}${hex.slice(0, 4)}-${hex.slice(4)}-8${uuid.slice(15)}`;
        const decoded = performanceOfId(id);
        expect(decoded, id).toBe(field >= 1 && field <= 2_147_483_647 ? field : null);
      }),
    );
    expect(performanceOfId('b0f18000-0000-8000-8000-000000000000')).toBeNull();
    expect(performanceOfId('b0f17fff-ffff-8000-8000-000000000000')).toBe(2_147_483_647);
  });

  it('refuses performance ids an id cannot carry', () => {
    for (const bad of [0, -1, 1.5, MAX_ID_PERFORMANCE + 1, 2 ** 31, 0xffff_ffff, Number.MAX_SAFE_INTEGER]) {
      expect(fitsId(bad)).toBe(false);
      expect(() => newIdOf(bad)).toThrow(RangeError);
    }
    expect(() => idWithPerformance(1, 'not-a-uuid')).toThrow(RangeError);
  });
});
