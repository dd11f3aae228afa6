import Redis from 'ioredis';
import { Client } from 'pg';
import { expect } from 'vitest';
import { Role, TokenService } from '@app/auth';
import { ApiHarness, TestSession, waitUntil } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { Caller, signedBuyer } from './api';

/**
 * What the operator-versus-buyer race files (race-*.e2e-spec.ts, seat-blocks*.e2e-spec.ts) share:
 * fast buyers, a log of every answer (no 5xx, P7), and the invariants of a performance's seats,
 * read from Redis, PostgreSQL and the API together.
 */

export type Headers = Record<string, string>;

/**
 * The api settings every race file starts with: a pool wait (DATABASE_ACQUIRE_TIMEOUT_MS) of 30 s
 * instead of 5. A race sends 100–200 requests at once through a pool of 20 connections; on a host
 * at a load of 15+ the last of them may wait past 5 s and get the pool's designed 503 ("busy;
 * retry"), an overload answer these files do not test (their no-5xx rule is about the races).
 */
export const RACE_API_ENV = { DATABASE_ACQUIRE_TIMEOUT_MS: '30000' } as const;

/** A buyer's headers and, beside them, its id (see signedBuyer). */
export async function fastBuyer(api: ApiHarness): Promise<Headers & { userId: string }> {
  const { userId, headers } = await signedBuyer(api);
  return { ...headers, userId };
}

/**
 * A performance of a new event `title` at Hall, made by `admin` over the API (`POST /events`, then
 * `POST /events/:id/performances`: 201): on sale since 2020-01-01T00:00:00Z, starting
 * 2030-01-01T19:00:00Z (other performance fields, e.g. `startsAt`, in `fields`), one section Floor
 * (grade A, 3000 minor units a seat) of one row of `seats` seats. Answers its id and its seat ids in
 * list order (the first page of 100).
 */
export async function newFloorPerformance(
  call: Caller,
  admin: TestSession,
  title: string,
  seats: number,
  fields: Record<string, unknown> = {},
): Promise<{ id: number; seatIds: number[] }> {
  const event = await call('POST', '/events', { body: { title, venue: 'Hall' }, session: admin });
  const created = await call('POST', `/events/${event.json().id}/performances`, {
    body: {
      startsAt: '2030-01-01T19:00:00Z',
      salesOpenAt: '2020-01-01T00:00:00Z',
      ...fields,
      sections: [{ name: 'Floor', grade: 'A', price: 3000, rows: 1, seatsPerRow: seats }],
    },
    session: admin,
  });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().id as number;
  const page = await call('GET', `/performances/${id}/seats?limit=100`);
  return { id, seatIds: page.json().items.map((seat: { id: number }) => seat.id) };
}

/** An answer of `app.inject`, as the race files read it. */
export type Answer = Awaited<ReturnType<ApiHarness['app']['inject']>>;

/**
 * A buyer's hold (`POST /reservations` with `payload`, as `headers`) and, once it answered 201, its
 * purchase (`POST /purchases`). `beforePurchase` runs between the two (e.g. to note the time the
 * purchase is sent). Answers both answers; `bought` is undefined after a refused hold.
 */
export async function holdThenBuy(
  api: ApiHarness,
  headers: Headers,
  payload: Record<string, unknown>,
  beforePurchase: (held: Answer) => void = () => undefined,
): Promise<{ held: Answer; bought?: Answer }> {
  const held = await api.app.inject({ method: 'POST', url: '/api/v1/reservations', headers, payload });
  if (held.statusCode !== 201) return { held };
  beforePurchase(held);
  const bought = await api.app.inject({
    method: 'POST',
    url: '/api/v1/purchases',
    headers,
    payload: { reservationId: held.json().id },
  });
  return { held, bought };
}

/** Every answer of a race, by route: no 5xx is allowed anywhere (P7). */
export class AnswerLog {
  readonly answers: { what: string; status: number; body: string; at: number }[] = [];

  note(what: string, res: { statusCode: number; body: string }): void {
    this.answers.push({ what, status: res.statusCode, body: res.body, at: Date.now() });
  }

  /** Status counts per route, for a failure message. */
  summary(): Record<string, Record<number, number>> {
    const out: Record<string, Record<number, number>> = {};
    for (const { what, status } of this.answers) {
      out[what] ??= {};
      out[what][status] = (out[what][status] ?? 0) + 1;
    }
    return out;
  }

  expectNo5xx(): void {
    const failures = this.answers.filter((answer) => answer.status >= 500);
    expect(
      failures.map((answer) => `${answer.what} ${answer.status} ${answer.body}`),
      JSON.stringify(this.summary()),
    ).toEqual([]);
  }
}

/** Expects the seat counts in Redis to agree with the seat letters (counts recomputed from them); answers the letters by seat id. */
export async function expectCountsInStep(redis: Redis, performanceId: number): Promise<Record<string, string>> {
  const keys = performanceKeys(performanceId);
  const letters = await redis.hgetall(keys.seats);
  const counts = await redis.hgetall(keys.counts);
  const values = Object.values(letters);
  const count = (letter: string) => values.filter((value) => value === letter).length;
  expect({
    available: Number(counts.available),
    held: Number(counts.held),
    sold: Number(counts.sold),
    blocked: Number(counts.blocked ?? 0),
  }).toEqual({ available: count('A'), held: count('H'), sold: count('S'), blocked: count('B') });
  return letters;
}

/** Redis TIME, in epoch ms. */
export async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * Once no request is in flight and the purchases are flushed: the seat letters in Redis, the
 * counts, the live holds, the seat blocks and the active tickets in PostgreSQL and what the API
 * answers all tell one story. Returns the letters by seat id.
 */
export async function expectSeatsConsistent(
  api: ApiHarness,
  db: Client,
  performanceId: number,
  /** Seats kept sold by a refund of checked-in tickets (`resellCheckedInSeats: false`): sold without an active ticket. */
  keptSeatIds: number[] = [],
): Promise<Map<number, string>> {
  const redis = api.app.get(Redis);
  const keys = performanceKeys(performanceId);
  const letters = new Map(Object.entries(await redis.hgetall(keys.seats)).map(([id, l]) => [Number(id), l]));
  const seatsOf = (letter: string) =>
    [...letters]
      .filter(([, l]) => l === letter)
      .map(([id]) => id)
      .sort((a, b) => a - b);

  // Counts agree with the letters.
  const counts = await redis.hgetall(keys.counts);
  expect(
    {
      available: Number(counts.available),
      held: Number(counts.held),
      sold: Number(counts.sold),
      blocked: Number(counts.blocked ?? 0),
      total: Number(counts.total),
    },
    'Redis counts against the seat letters',
  ).toEqual({
    available: seatsOf('A').length,
    held: seatsOf('H').length,
    sold: seatsOf('S').length,
    blocked: seatsOf('B').length,
    total: letters.size,
  });

  // No seat has two active tickets; the sold letters are exactly the active tickets (P1, P4).
  const doubles = await db.query(
    `SELECT seat_id, count(*)::int AS n FROM tickets WHERE performance_id = $1 AND status = 'ACTIVE'
     GROUP BY seat_id HAVING count(*) > 1`,
    [performanceId],
  );
  expect(doubles.rows, 'seats with two active tickets').toEqual([]);
  const active = (
    await db.query(`SELECT seat_id FROM tickets WHERE performance_id = $1 AND status = 'ACTIVE' ORDER BY seat_id`, [
      performanceId,
    ])
  ).rows.map((row: { seat_id: number }) => row.seat_id);
  expect(seatsOf('S'), 'seats sold in Redis against active tickets in PostgreSQL').toEqual(
    [...active, ...keptSeatIds].sort((a, b) => a - b),
  );

  // Blocked letters are exactly seat_blocks, and no blocked seat has an active ticket.
  const blocks = (
    await db.query('SELECT seat_id FROM seat_blocks WHERE performance_id = $1 ORDER BY seat_id', [performanceId])
  ).rows.map((row: { seat_id: number }) => row.seat_id);
  expect(seatsOf('B'), 'seats blocked in Redis against seat_blocks').toEqual(blocks);
  expect(
    blocks.filter((seat) => active.includes(seat)),
    'blocked seats with an active ticket',
  ).toEqual([]);

  // Held letters are exactly the seats of live holds, each seat in one live hold only (P1).
  const now = await redisNow(redis);
  const live = await redis.zrangebyscore(keys.expiry, `(${now}`, '+inf');
  const holders = new Map<number, string[]>();
  for (const holdId of live) {
    const [status, seats] = await redis.hmget(keys.hold(holdId), 'status', 'seats');
    if (status !== 'HELD') continue;
    for (const seat of (seats ?? '').split(',').map(Number)) holders.set(seat, [...(holders.get(seat) ?? []), holdId]);
  }
  expect(
    [...holders].filter(([, ids]) => ids.length > 1),
    'seats in two live holds',
  ).toEqual([]);
  // (A hold past its expiry not swept yet still reads H: only live holds are compared.)
  expect(
    [...holders.keys()].filter((seat) => letters.get(seat) !== 'H'),
    'seats of live holds not held',
  ).toEqual([]);

  // The API's figures agree with Redis: the performance's counts and each section's available.
  const performance = await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performanceId}` });
  expect(performance.statusCode, performance.body).toBe(200);
  const shown = performance.json();
  expect({ available: shown.available, held: shown.held, sold: shown.sold, blocked: shown.blocked }).toEqual({
    available: Number(counts.available),
    held: Number(counts.held),
    sold: Number(counts.sold),
    blocked: Number(counts.blocked ?? 0),
  });
  const sectionOf = new Map(
    (await db.query('SELECT id, section FROM seats WHERE performance_id = $1', [performanceId])).rows.map(
      (row: { id: number; section: string }) => [row.id, row.section],
    ),
  );
  // `available` is counted in steps and answers a count up to ~2 s plus one pass old (docs/guide/catalog.md,
  // "Sections"): read until it has caught up with the letters (each read moves the count on).
  type SectionRow = { name: string; available: number; seatsTotal: number };
  const wanted = (rows: SectionRow[]) =>
    rows.map((section) => {
      const mine = [...letters].filter(([id]) => sectionOf.get(id) === section.name);
      return { name: section.name, available: mine.filter(([, l]) => l === 'A').length, seatsTotal: mine.length };
    });
  let listed: SectionRow[] = [];
  let status = 0;
  await waitUntil(
    async () => {
      const sections = await api.app.inject({ method: 'GET', url: `/api/v1/performances/${performanceId}/sections` });
      status = sections.statusCode;
      if (status !== 200) return true;
      listed = (sections.json().items as SectionRow[]).map(({ name, available, seatsTotal }) => ({
        name,
        available,
        seatsTotal,
      }));
      return JSON.stringify(listed) === JSON.stringify(wanted(listed));
    },
    'the sections route counting up to the letters',
    15_000,
    200,
  ).catch(() => undefined);
  expect(status, 'GET /performances/:id/sections').toBe(200);
  expect(listed.length, 'sections listed').toBeGreaterThan(0);
  expect(listed, 'each section’s availability').toEqual(wanted(listed));

  // The sales report, per section: the seat figures from the letters, the revenue from the paid
  // purchases' ticket prices (what each seat was sold at), less the seats partial refunds took off
  // their purchases (their tickets name the refund).
  const admin = await api.app.get(TokenService).signAccess({
    id: '00000000-0000-0000-0000-000000000000',
    email: 'report@example.test',
    role: Role.Admin,
  });
  const report = await api.app.inject({
    method: 'GET',
    url: `/api/v1/performances/${performanceId}/sales`,
    headers: { authorization: `Bearer ${admin}` },
  });
  expect(report.statusCode, report.body).toBe(200);
  const revenue = new Map(
    (
      await db.query(
        `SELECT s.section, sum(t.price)::int AS revenue FROM tickets t JOIN seats s ON s.id = t.seat_id
         JOIN purchases p ON p.id = t.purchase_id
         WHERE t.performance_id = $1 AND p.status = 'PAID' AND t.refund_id IS NULL GROUP BY s.section`,
        [performanceId],
      )
    ).rows.map((row: { section: string; revenue: number }) => [row.section, row.revenue]),
  );
  // A canceled performance's free seats are unsold, not available (nothing can hold them), and so
  // are those of one whose check-in has closed; online sales having ended (ENDED) is not enough:
  // the box office window sells on until check-in closes, so the report counts them available.
  const over = report.json().salesState === 'CANCELED' || report.json().checkIn.state === 'CLOSED';
  for (const section of report.json().sections as Record<string, number | string>[]) {
    const mine = [...letters].filter(([id]) => sectionOf.get(id) === section.name).map(([, l]) => l);
    const count = (letter: string) => mine.filter((l) => l === letter).length;
    expect(
      {
        name: section.name,
        seatsTotal: section.seatsTotal,
        available: section.available,
        unsold: section.unsold,
        held: section.held,
        sold: section.sold,
        blocked: section.blocked,
        revenue: section.revenue,
      },
      'the sales report of a section',
    ).toEqual({
      name: section.name,
      seatsTotal: mine.length,
      available: over ? 0 : count('A'),
      unsold: over ? count('A') : 0,
      held: count('H'),
      sold: count('S'),
      blocked: count('B'),
      revenue: revenue.get(section.name as string) ?? 0,
    });
  }
  return letters;
}

/**
 * P4 and P9 for a set of purchases answered 201 (`sold`: id → amount answered with the hold, and
 * each seat's price): each is in PostgreSQL with that amount and those ticket prices, and every
 * payment attempt of the performance is settled: COMPLETED with a paid purchase, or REFUNDED
 * (or DECLINED) with none or a canceled one.
 */
export async function expectPurchasesPersisted(
  db: Client,
  performanceId: number,
  sold: Map<string, { amount: number; prices: Map<number, number> }>,
): Promise<void> {
  const rows = (
    await db.query('SELECT id, status, amount::int AS amount FROM purchases WHERE performance_id = $1', [performanceId])
  ).rows as { id: string; status: string; amount: number }[];
  const byId = new Map(rows.map((row) => [row.id, row]));
  const missing = [...sold.keys()].filter((id) => !byId.has(id));
  expect(missing, 'purchases answered 201 missing from PostgreSQL (P4)').toEqual([]);
  for (const [id, { amount, prices }] of sold) {
    expect(byId.get(id)!.amount, `purchase ${id}: amount charged against the hold's`).toBe(amount);
    const tickets = (
      await db.query('SELECT seat_id, price FROM tickets WHERE purchase_id = $1 ORDER BY seat_id', [id])
    ).rows.map((row: { seat_id: number; price: number }) => [row.seat_id, row.price] as const);
    expect(new Map(tickets), `purchase ${id}: ticket prices against the hold's`).toEqual(prices);
  }
  const attempts = (
    await db.query(
      `SELECT a.purchase_id, a.status, a.amount::int AS amount, p.status AS purchase_status, p.amount::int AS purchase_amount
       FROM payment_attempts a LEFT JOIN purchases p ON p.id = a.purchase_id WHERE a.performance_id = $1`,
      [performanceId],
    )
  ).rows as {
    purchase_id: string;
    status: string;
    amount: number;
    purchase_status: string | null;
    purchase_amount: number | null;
  }[];
  const wrong = attempts.filter(
    (a) =>
      !(
        (a.status === 'COMPLETED' && a.purchase_status === 'PAID' && a.purchase_amount === a.amount) ||
        ((a.status === 'REFUNDED' || a.status === 'DECLINED') && a.purchase_status !== 'PAID')
      ),
  );
  expect(wrong, 'payment attempts not settled with their purchase (P9)').toEqual([]);
  const paidWithoutAttempt = rows.filter(
    (row) => row.status === 'PAID' && !attempts.some((a) => a.purchase_id === row.id && a.status === 'COMPLETED'),
  );
  expect(paidWithoutAttempt, 'paid purchases without a completed attempt').toEqual([]);
}
