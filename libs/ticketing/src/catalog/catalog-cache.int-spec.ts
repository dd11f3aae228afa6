import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { CatalogCache } from './catalog-cache';

describe('CatalogCache versions (real Redis)', () => {
  let fx: TicketingFixture;
  let cache: CatalogCache;

  beforeAll(() => {
    fx = ticketingFixture();
    cache = new CatalogCache(fx.redis);
  });
  afterAll(async () => {
    await fx.close();
  });

  it('never repeats a version, also when Redis loses it between admin writes (copies kept under an old one stay unreachable)', async () => {
    const seen = new Set<string>();
    const expectNew = (version: string, what: string) => {
      expect(seen.has(version), `${what}: ${version} was seen before`).toBe(false);
      seen.add(version);
    };
    expectNew(await cache.version(), 'first read');
    for (let round = 0; round < 5; round++) {
      await cache.invalidate();
      expectNew(await cache.version(), `admin write ${round}`);
      // Redis comes back without the version (emptied, or a failover that lost the last write).
      await fx.redis.del('cache:catalog-version');
      expectNew(await cache.version(), `read after loss ${round}`);
      await cache.invalidate();
      expectNew(await cache.version(), `admin write after loss ${round}`);
    }
  });

  it('gives every reader of a missing version the same one', async () => {
    await fx.redis.del('cache:catalog-version');
    const versions = await Promise.all(Array.from({ length: 20 }, () => cache.version()));
    expect(new Set(versions).size).toBe(1);
  });
});
