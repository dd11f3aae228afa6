import { join } from 'node:path';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { EntityManager } from 'typeorm';
import { Env } from '@app/config';
import { Clock, isUuid } from '@app/core';
import { UsersRepository } from '@app/database';
import { callScript, defineScripts, LuaScript } from '@app/redis';
import { ENDED_SESSIONS_MEMORY_MS, TokenService } from './token.service';

const END_SESSIONS: LuaScript = { name: 'endSessions', file: join(__dirname, 'end-sessions.lua') };

/** The sorted set of recent endings (under the deployment's key prefix); see end-sessions.lua. */
export const ENDED_SESSIONS_KEY = 'auth:sessions-ended';

/**
 * How often (ms) an api also reads the set of recent endings on its own: a listening connection cut
 * off without its socket closing (no reset reaches it; TCP keepalive starts only after the kernel's
 * idle time, 2 hours by default) hears nothing and never reconnects, so without this read its api
 * would accept an ended session's tokens until they expire. One ZRANGEBYSCORE each time.
 */
export const ENDED_SESSIONS_REREAD_MS = 5_000;

/** An announcement: `<account id> <ended at, epoch microseconds>`. */
const ANNOUNCEMENT = /^(\S+) (\d{1,17})$/;

/**
 * Ends every session of an account at once, on every api process: its access tokens minted before
 * the end are refused (401, `SessionEndedError`) within moments, not when they expire.
 *
 * The end is written in the transaction of the change that causes it (a password reset, a role
 * change, an admin's password set at start): `users.sessions_valid_from` (PostgreSQL's clock), then
 * the Redis sorted set ENDED_SESSIONS_KEY and a pub/sub announcement, in one script
 * (end-sessions.lua), and this process's TokenService, before the commit. Redis not answering
 * fails the change (`StoreUnavailableError`, 503): nothing changes, rather than a reset that
 * promised an end no other api heard of. A commit that fails after the announcement leaves its
 * accounts' older tokens refused, which a refresh mends: new tokens are minted later.
 *
 * Each api listens on the channel (a connection of its own) and tells its TokenService. An api that
 * starts, or whose listening connection comes back, reads the set and, at start, PostgreSQL's
 * recent endings too, so an announcement it missed is not lost; it also reads the set every
 * ENDED_SESSIONS_REREAD_MS, for a listener cut off silently. While Redis is away an api keeps
 * refusing what it knows of, refuses nothing more, and hears of no new ending (none can happen:
 * the change fails), or of one whose announcement it missed only once it reconnects.
 */
@Injectable()
export class SessionRevocations implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionRevocations.name);
  /** The deployment's channel: REDIS_KEY_PREFIX applies to keys, not to channels. */
  private readonly channel: string;
  private subscriber: Redis | null = null;
  private rereads: NodeJS.Timeout | null = null;
  /** Whether the last timed read of the set failed: logged once a run of failures, not every time. */
  private rereadFailing = false;

  constructor(
    private readonly users: UsersRepository,
    private readonly redis: Redis,
    private readonly tokens: TokenService,
    private readonly clock: Clock,
    env: Env,
  ) {
    this.channel = `${env.REDIS_KEY_PREFIX}${ENDED_SESSIONS_KEY}`;
    defineScripts(redis, [END_SESSIONS]);
  }

  /**
   * Ends every session of account `userId` now, inside `manager`'s transaction, which has locked
   * or updated the account's row already (so the end is ordered against logins and refreshes,
   * which hold it FOR SHARE: see UsersRepository.endSessions). Does nothing for no such account.
   * Throws `StoreUnavailableError` when Redis cannot answer (roll the transaction back).
   */
  async endAll(userId: string, manager: EntityManager): Promise<void> {
    const atUs = await this.users.endSessions(userId, manager);
    if (atUs === null) return;
    const windowUs = ENDED_SESSIONS_MEMORY_MS * 1000;
    const latest = await callScript<string>(
      this.redis,
      END_SESSIONS.name,
      [ENDED_SESSIONS_KEY],
      [userId, atUs, atUs - windowUs, ENDED_SESSIONS_MEMORY_MS, this.channel],
    );
    this.tokens.endSessions(userId, Number(latest));
  }

  /**
   * Listens for other apis' endings, then reads the recent ones (Redis and PostgreSQL), before
   * the api serves: listening first, so an ending announced between the two is heard. Neither
   * store answering does not stop the start (logged; the listener reads the set once it connects).
   */
  async onApplicationBootstrap(): Promise<void> {
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined); // the main client logs Redis' errors
    subscriber.on('message', (_channel: string, message: string) => this.heard(message));
    try {
      await subscriber.subscribe(this.channel);
    } catch (error) {
      this.logger.warn(`not listening for ended sessions yet: ${(error as Error).message}`);
    }
    // Registered after the first subscription: from now on each (re)connection reads the set again.
    subscriber.on('ready', () => void this.catchUp());
    await Promise.all([this.catchUp(), this.readPostgres()]);
    this.rereads = setInterval(() => void this.reread(), ENDED_SESSIONS_REREAD_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.rereads) clearInterval(this.rereads);
    this.rereads = null;
    this.subscriber?.disconnect();
    this.subscriber = null;
  }

  /**
   * Listening again (ioredis resubscribes by itself too; twice is harmless, and waiting for the
   * reply orders the read after it), then the recent endings in the set, each told to the tokens.
   */
  private async catchUp(): Promise<void> {
    try {
      await this.subscriber?.subscribe(this.channel);
      await this.readSet();
    } catch (error) {
      this.logger.warn(`could not read the recent ended sessions from Redis: ${(error as Error).message}`);
    }
  }

  /** The set's recent endings, each told to the tokens. */
  private async readSet(): Promise<void> {
    const sinceUs = (this.clock.nowMs() - ENDED_SESSIONS_MEMORY_MS) * 1000;
    const flat = await this.redis.zrangebyscore(ENDED_SESSIONS_KEY, `(${sinceUs}`, '+inf', 'WITHSCORES');
    for (let i = 0; i + 1 < flat.length; i += 2) this.tokens.endSessions(flat[i], Number(flat[i + 1]));
  }

  /** The timed read: a failure is logged when a run of them starts, and the run's end too. */
  private async reread(): Promise<void> {
    try {
      await this.readSet();
      if (this.rereadFailing) this.logger.log('reading the recent ended sessions from Redis again');
      this.rereadFailing = false;
    } catch (error) {
      if (!this.rereadFailing) {
        this.logger.warn(`could not read the recent ended sessions from Redis: ${(error as Error).message}`);
      }
      this.rereadFailing = true;
    }
  }

  /** PostgreSQL's recent endings: the record, should Redis have lost its set. */
  private async readPostgres(): Promise<void> {
    try {
      const since = new Date(this.clock.nowMs() - ENDED_SESSIONS_MEMORY_MS);
      for (const ended of await this.users.sessionsEndedSince(since)) this.tokens.endSessions(ended.userId, ended.atUs);
    } catch (error) {
      this.logger.warn(`could not read the recent ended sessions from PostgreSQL: ${(error as Error).message}`);
    }
  }

  private heard(message: string): void {
    const parsed = ANNOUNCEMENT.exec(message);
    if (!parsed || !isUuid(parsed[1])) return;
    this.tokens.endSessions(parsed[1], Number(parsed[2]));
  }
}
