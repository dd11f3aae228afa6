import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { StoreUnavailableError } from '@app/core';

const VERSION_KEY = 'cache:catalog-version';
/**
 * The shape of the cached values: raised whenever a cached value gains or loses a field (2: events
 * and performances carry the venue's time zone, performances their event's title and venue), so a
 * new process never reads an entry an older one wrote, whatever the catalog version.
 */
const SHAPE = 2;
const TTL_SECONDS = 300;
/** How often, and how long, {@link CatalogCache.invalidateAfterCommit} retries when Redis cannot answer. */
const INVALIDATE_RETRY_MS = 1_000;
const INVALIDATE_RETRY_FOR_MS = 10 * 60_000;
/**
 * The shape of a cached seat block, in its key (from 2 on): raised whenever a seat of a block
 * gains or loses a field (2: `rowLabel`), so a process never reads a block an older one wrote,
 * whatever the performance's seats version.
 */
export const SEAT_BLOCK_FORMAT = 2;

/**
 * Cache-aside for the static catalog (events, performances, their pages). Every key includes
 * the catalog version; an admin write sets a new version, so every older entry is unreachable at
 * once and simply expires. Live seat status is never cached here.
 *
 * A version is a random UUID, never a counter: a counter restarts (Redis emptied) or steps back
 * (a failover losing the last write) to values processes have already kept copies under, and
 * would serve those stale copies as current once admin writes bring it back there.
 */
@Injectable()
export class CatalogCache {
  private readonly logger = new Logger(CatalogCache.name);

  constructor(private readonly redis: Redis) {}

  /**
   * The current catalog version (a UUID). When Redis has none (first start, or emptied), the
   * first reader sets one, so every process meets a version none has seen before.
   */
  async version(): Promise<string> {
    const version = await this.redis.get(VERSION_KEY);
    if (version !== null) return version;
    const fresh = randomUUID();
    await this.redis.set(VERSION_KEY, fresh, 'NX');
    return (await this.redis.get(VERSION_KEY)) ?? fresh;
  }

  async getOrLoad<T>(name: string, load: () => Promise<T>): Promise<T> {
    return this.getOrLoadAt(await this.version(), name, load);
  }

  /** {@link getOrLoad} under a catalog version the caller has just read. */
  async getOrLoadAt<T>(version: string, name: string, load: () => Promise<T>): Promise<T> {
    const key = `cache:v${version}:s${SHAPE}:${name}`;
    const hit = await this.redis.get(key);
    if (hit !== null) return JSON.parse(hit) as T;
    const value = await load();
    if (value !== null && value !== undefined) await this.remember(key, value, TTL_SECONDS);
    return value;
  }

  /** Makes every cached catalog entry stale (a new version). Called after each admin write. */
  async invalidate(): Promise<void> {
    await this.redis.set(VERSION_KEY, randomUUID());
  }

  /**
   * {@link invalidate} after a create PostgreSQL has committed, where a 503 would have the admin
   * create the thing a second time: when Redis cannot answer (StoreUnavailableError) the new
   * version is set in the background, every INVALIDATE_RETRY_MS (1 s) for up to
   * INVALIDATE_RETRY_FOR_MS (10 min), and the caller goes on. Until then other processes may list
   * the catalog without the new entry. Any other error is thrown.
   */
  async invalidateAfterCommit(): Promise<void> {
    try {
      await this.invalidate();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.logger.warn('catalog version not renewed after a create (Redis cannot answer); retrying in the background');
      this.retryInvalidate(Date.now() + INVALIDATE_RETRY_FOR_MS);
    }
  }

  private retryInvalidate(until: number): void {
    setTimeout(() => {
      this.invalidate().catch((error: unknown) => {
        if (error instanceof StoreUnavailableError && Date.now() < until) return this.retryInvalidate(until);
        this.logger.error(`catalog version not renewed after a create: ${String(error)}`);
      });
    }, INVALIDATE_RETRY_MS).unref();
  }

  /**
   * Seat blocks change only with the performance's `seatsVersion` (a section's price), which is
   * part of their key: a reader that loaded the performance after a change never meets a block of
   * before it; {@link SEAT_BLOCK_FORMAT} is too, so no block of an older shape is read. They live
   * under the performance's hash tag.
   */
  async getOrLoadSeatBlock<T>(
    performanceId: number,
    seatsVersion: number,
    block: number,
    load: () => Promise<T[]>,
  ): Promise<T[]> {
    const key = `{perf:${performanceId}}:cache:seats:f${SEAT_BLOCK_FORMAT}:${seatsVersion === 0 ? '' : `v${seatsVersion}:`}${block}`;
    const hit = await this.redis.get(key);
    if (hit !== null) return JSON.parse(hit) as T[];
    const value = await load();
    await this.remember(key, value, TTL_SECONDS * 12);
    return value;
  }

  /**
   * Stores a loaded value for `ttlSeconds`. A cache write Redis refuses for now (a primary without
   * its replicas under min-replicas-to-write, a failover) does not fail the read that loaded it.
   */
  private async remember(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    try {
      await this.redis.set(key, JSON.stringify(value), 'EX', ttlSeconds);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
    }
  }
}
