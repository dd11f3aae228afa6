import { describe, expect, it } from 'vitest';
import { performanceOfId } from '../ids';
import { isUuid } from '../input';
import { digestOfKey, isClaim, newClaim, purchaseIdFor } from './idempotency';

describe('purchaseIdFor', () => {
  it('gives the same UUID (version 8) for the same user, key and hold, carrying the performance', () => {
    const id = purchaseIdFor('u1', 'key-1', 'hold-1', 42);
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('8');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
    expect(performanceOfId(id)).toBe(42);
    expect(purchaseIdFor('u1', 'key-1', 'hold-1', 42)).toBe(id);
  });

  it('differs when any of them differs, also when they only shift characters between each other', () => {
    const ids = new Set([
      purchaseIdFor('u1', 'key-1', 'hold-1', 7),
      purchaseIdFor('u2', 'key-1', 'hold-1', 7),
      purchaseIdFor('u1', 'key-2', 'hold-1', 7),
      purchaseIdFor('u1', 'key-1', 'hold-2', 7),
      purchaseIdFor('u1k', 'ey-1', 'hold-1', 7),
    ]);
    expect(ids.size).toBe(5);
  });
});

describe('idempotency records', () => {
  it('digests any printable key to a short, key-safe name', () => {
    const digest = digestOfKey('a key with spaces: {and} braces *');
    expect(digest).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(digestOfKey('a key with spaces: {and} braces *')).toBe(digest);
    expect(digestOfKey('other')).not.toBe(digest);
  });

  it('tells claims from stored answers', () => {
    const claim = newClaim();
    expect(isClaim(claim)).toBe(true);
    expect(newClaim()).not.toBe(claim);
    expect(isClaim(JSON.stringify({ id: 'x' }))).toBe(false);
  });
});
