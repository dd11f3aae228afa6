import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, TcpProxy, waitUntil } from '@app/testing';
import { TicketingFixture, ticketingFixture } from '../../test/ticketing-fixture';
import { CatalogCache } from './catalog-cache';

describe('CatalogCache while Redis cannot answer (real Redis behind a TCP proxy)', () => {
  let fx: TicketingFixture;
  let cache: CatalogCache;

  beforeAll(() => {
    fx = ticketingFixture();
    cache = new CatalogCache(fx.redis);
  });
  afterAll(async () => {
    await fx.close();
  });

  it('renews the version after a create once Redis answers again, without failing the create', async () => {
    const proxy = await TcpProxy.create(Number(new URL(REDIS_URL).port || 6379));
    try {
      const behindProxy = new CatalogCache(fx.connect({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` }).redis);
      const before = await cache.version();
      await proxy.cut();
      await behindProxy.invalidateAfterCommit();
      expect(await cache.version(), 'a version set while Redis could not answer').toBe(before);
      await proxy.restore();
      await waitUntil(async () => (await cache.version()) !== before, 'the version renewed in the background', 15_000);
    } finally {
      await proxy.cut();
    }
  });
});
