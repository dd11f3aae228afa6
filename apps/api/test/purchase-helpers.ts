import { INestApplicationContext } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { expect, vi } from 'vitest';
import { Clock } from '@app/core';
import { TestSession } from '@app/testing';
import { Hold, HoldService, PurchaseFlusher } from '@app/ticketing';

/** HTTP against an in-process API, with an optional signed-in caller and extra headers. */
export function caller(app: NestFastifyApplication) {
  return (method: string, url: string, options: { body?: object; session?: TestSession; headers?: object } = {}) =>
    app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      payload: options.body,
      headers: { ...options.session?.headers, ...options.headers },
    });
}

/**
 * Runs `request` with `app`'s Clock standing 1 ms before `at` when `at` is not ahead, as when an
 * operator acted before that time came (a performance is moved only to a start still ahead); else
 * on the real clock. For tests that need a performance whose start has passed.
 */
export async function beforeTime<T>(app: INestApplicationContext, at: Date, request: () => Promise<T>): Promise<T> {
  if (at.getTime() > Date.now()) return request();
  const clock = vi.spyOn(app.get(Clock), 'now').mockImplementation(() => new Date(at.getTime() - 1));
  try {
    return await request();
  } finally {
    clock.mockRestore();
  }
}

/** Days from now a performance of doorsOpenNow starts. */
const DOORS_OPEN_STARTS_IN_DAYS = 3;

/**
 * createPerformance options for a spec that checks tickets in now: the performance starts 3 days
 * from now (on a whole minute), so sales run and its default cancelUntil (24 h before the start)
 * is still 2 days ahead, and has its own check-in window opening 10080 minutes (7 days, the most)
 * before the start: its doors are open now, with the global settings as they are. The window
 * itself is tested in check-in-window.e2e-spec.ts.
 */
export function doorsOpenNow(): { startsAt: Date; checkInOpensBeforeMinutes: number } {
  const startsAt = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + DOORS_OPEN_STARTS_IN_DAYS * 24 * 3_600_000);
  return { startsAt, checkInOpensBeforeMinutes: 10_080 };
}

/** A performance's default cancelUntil, 24 h before `startsAt`, as RFC 3339 (to give it back by PATCH). */
export function defaultCancelUntil(startsAt: Date): string {
  return new Date(startsAt.getTime() - 24 * 3_600_000).toISOString();
}

/**
 * An event in `currency` (default: the configured DEFAULT_CURRENCY, KRW) with one performance of
 * `seats` seats (at most 100, or a multiple of 100) at `price` minor units each (default 50),
 * open for sale now, starting at `startsAt` (default 2030-03-01T19:00:00Z), with its own check-in
 * window where given (minutes; absent = the global settings; see doorsOpenNow).
 */
export async function createPerformance(
  app: NestFastifyApplication,
  admin: TestSession,
  seats: number,
  options: {
    price?: number;
    currency?: string;
    startsAt?: Date;
    /** Given as is (null: no self-service cancel); absent = the default, 24 h before the start. */
    cancelUntil?: Date | null;
    checkInOpensBeforeMinutes?: number;
    checkInClosesAfterMinutes?: number;
    /** The event's venue time zone (IANA); absent = the default. */
    timeZone?: string;
  } = {},
): Promise<{ id: number; seatIds: number[] }> {
  const call = caller(app);
  const event = await call('POST', '/events', {
    body: {
      title: 'Concert',
      venue: 'Hall',
      ...(options.currency ? { currency: options.currency } : {}),
      ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    },
    session: admin,
  });
  expect(event.statusCode).toBe(201);
  const performance = await call('POST', `/events/${event.json().id}/performances`, {
    body: {
      startsAt: options.startsAt?.toISOString() ?? '2030-03-01T19:00:00Z',
      ...(options.cancelUntil === undefined ? {} : { cancelUntil: options.cancelUntil?.toISOString() ?? null }),
      ...(options.checkInOpensBeforeMinutes === undefined
        ? {}
        : { checkInOpensBeforeMinutes: options.checkInOpensBeforeMinutes }),
      ...(options.checkInClosesAfterMinutes === undefined
        ? {}
        : { checkInClosesAfterMinutes: options.checkInClosesAfterMinutes }),
      sections: [
        {
          name: 'Floor',
          grade: 'A',
          price: options.price ?? 50,
          rows: Math.ceil(seats / 100),
          seatsPerRow: Math.min(seats, 100),
        },
      ],
    },
    session: admin,
  });
  expect(performance.statusCode, performance.body).toBe(201);
  const id = performance.json().id as number;
  const seatIds: number[] = [];
  let cursor: string | null = null;
  do {
    const page = await call('GET', `/performances/${id}/seats?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    seatIds.push(...page.json().items.map((seat: { id: number }) => seat.id));
    cursor = page.json().nextCursor;
  } while (cursor);
  return { id, seatIds };
}

/** Holds seats through the HoldService (the /reservations routes are built elsewhere). */
export function hold(app: NestFastifyApplication, user: TestSession, performanceId: number, seatIds: number[]) {
  return app.get(HoldService).hold(user.id, performanceId, seatIds) as Promise<Hold>;
}

/**
 * Runs flush passes until one writes nothing: every purchase and cancellation made so far (older
 * than the flusher's PURCHASE_FLUSH_AGE_SECONDS) is in PostgreSQL. `from` is an app whose
 * PurchaseFlusher runs the passes, or a flusher of the test's own (another cut-off, say);
 * `options` as PurchaseFlusher.flushOnce takes them (default: batches of 500).
 */
export async function flushPurchases(
  from: Pick<INestApplicationContext, 'get'> | PurchaseFlusher,
  options: Parameters<PurchaseFlusher['flushOnce']>[0] = { batchSize: 500 },
): Promise<void> {
  const flusher = from instanceof PurchaseFlusher ? from : from.get(PurchaseFlusher);
  while ((await flusher.flushOnce(options)) > 0);
}

/**
 * flushPurchases after Redis lost a performance in the test: the flusher's first pass reports the
 * purchase stream it knew gone with its consumer group (NOGROUP) and forgets it; the next makes
 * the group again and writes (as `batch`'s next pass does).
 */
export async function flushPurchasesAfterLoss(from: Pick<INestApplicationContext, 'get'>): Promise<void> {
  try {
    await flushPurchases(from);
  } catch (error) {
    expect(String(error)).toContain('NOGROUP');
    await flushPurchases(from);
  }
}

/** What PostgreSQL holds for some purchases: rows, tickets and outbox messages. */
export async function persisted(databaseUrl: string, purchaseIds: string[]) {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const purchases = await db.query(
      'SELECT id, status, canceled_at, amount, currency FROM purchases WHERE id = ANY($1::uuid[]) ORDER BY id',
      [purchaseIds],
    );
    const tickets = await db.query(
      'SELECT purchase_id, seat_id, status FROM tickets WHERE purchase_id = ANY($1::uuid[]) ORDER BY seat_id',
      [purchaseIds],
    );
    const outbox = await db.query('SELECT message_id, routing_key, payload FROM outbox WHERE message_id = ANY($1)', [
      purchaseIds.map((id) => `purchase-completed:${id}`),
    ]);
    return { purchases: purchases.rows, tickets: tickets.rows, outbox: outbox.rows };
  } finally {
    await db.end();
  }
}
