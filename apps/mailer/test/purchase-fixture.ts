import { expect } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { PurchaseCompletedMessage, purchaseCompletedMessageId, ROUTING } from '@app/messaging';

/** A purchase as the write-behind flusher leaves it: purchase, tickets and outbox row in PostgreSQL. */
export interface SeededPurchase {
  purchaseId: string;
  messageId: string;
  buyerEmail: string;
  message: PurchaseCompletedMessage;
  seats: { section: string; row: number; rowLabel: string; number: number }[];
}

export const EVENT_TITLE = 'Midnight Orchestra';
export const VENUE = 'Harbour Arena';
export const STARTS_AT = new Date('2027-03-14T19:30:00.000Z');
const SEATS_PER_PURCHASE = 2;
const SEATS_PER_ROW = 10;
/** Per seat, in minor units of the event's currency. */
export const PRICE = 1050;

/**
 * One event (in `currency`, at a venue in `timeZone`) and performance with enough seats for `count`
 * purchases of two seats.
 */
export async function seedPerformance(
  dataSource: DataSource,
  count: number,
  currency = 'KRW',
  timeZone = 'UTC',
): Promise<number> {
  const [event] = await dataSource.query(
    `INSERT INTO events (title, venue, currency, time_zone) VALUES ($1, $2, $3, $4) RETURNING id`,
    [EVENT_TITLE, VENUE, currency, timeZone],
  );
  const rows = Math.ceil((count * SEATS_PER_PURCHASE) / SEATS_PER_ROW);
  const [performance] = await dataSource.query(
    `INSERT INTO performances (event_id, starts_at, sales_open_at, total_seats) VALUES ($1, $2, now(), $3) RETURNING id`,
    [event.id, STARTS_AT, rows * SEATS_PER_ROW],
  );
  await dataSource.query(
    // Rows labelled as generated layouts label them (A … Z, AA …; this spelling holds to row 702).
    `INSERT INTO seats (performance_id, position, section, "row", row_label, "number", grade, price)
     SELECT $1, (r - 1) * $2 + n, 'B', r,
            CASE WHEN r <= 26 THEN chr(64 + r) ELSE chr(64 + (r - 1) / 26) || chr(65 + (r - 1) % 26) END, n, 'R', $3
     FROM generate_series(1, $4::int) AS r, generate_series(1, $2::int) AS n`,
    [performance.id, SEATS_PER_ROW, PRICE, rows],
  );
  return performance.id as number;
}

/**
 * Writes `count` purchases of two seats, each by its own buyer and in its own transaction with
 * its outbox row, as the flusher does. `withOutbox: false` leaves the outbox out; `purchaseIds`
 * chooses the ids.
 */
export async function seedPurchases(
  dataSource: DataSource,
  performanceId: number,
  count: number,
  options: { withOutbox?: boolean; purchaseIds?: string[] } = {},
): Promise<SeededPurchase[]> {
  const seats: { id: number; section: string; row: number; rowLabel: string; number: number }[] =
    await dataSource.query(
      `SELECT id, section, "row", row_label AS "rowLabel", "number" FROM seats s
     WHERE performance_id = $1 AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.seat_id = s.id)
     ORDER BY position LIMIT $2`,
      [performanceId, count * SEATS_PER_PURCHASE],
    );
  if (seats.length < count * SEATS_PER_PURCHASE) throw new Error('not enough free seats for the fixture');
  const [{ currency }]: { currency: string }[] = await dataSource.query(
    'SELECT e.currency FROM performances p JOIN events e ON e.id = p.event_id WHERE p.id = $1',
    [performanceId],
  );
  const purchases: SeededPurchase[] = [];
  for (let index = 0; index < count; index += 1) {
    const bought = seats.slice(index * SEATS_PER_PURCHASE, (index + 1) * SEATS_PER_PURCHASE);
    const purchaseId = options.purchaseIds?.[index] ?? randomUUID();
    const buyerEmail = `buyer-${randomBytes(5).toString('hex')}@example.test`;
    const createdAt = new Date();
    const message: PurchaseCompletedMessage = {
      purchaseId,
      userId: '',
      performanceId,
      seatIds: bought.map((seat) => seat.id),
      amount: PRICE * SEATS_PER_PURCHASE,
      currency,
      createdAt: createdAt.toISOString(),
    };
    await dataSource.transaction(async (manager) => {
      const [user] = await manager.query(
        `INSERT INTO users (email, email_key, name, password_hash) VALUES ($1::varchar, lower($1), $2, 'not-a-hash') RETURNING id`,
        [buyerEmail, `Buyer ${index + 1}`],
      );
      message.userId = user.id;
      await manager.query(
        `INSERT INTO purchases (id, reservation_id, user_id, performance_id, amount, currency, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [purchaseId, randomUUID(), user.id, performanceId, message.amount, currency, createdAt],
      );
      await manager.query(
        `INSERT INTO tickets (purchase_id, performance_id, seat_id) SELECT $1, $2, unnest($3::int[])`,
        [purchaseId, performanceId, message.seatIds],
      );
      if (options.withOutbox !== false) {
        await manager.query(`INSERT INTO outbox (message_id, routing_key, payload) VALUES ($1, $2, $3)`, [
          purchaseCompletedMessageId(purchaseId),
          ROUTING.purchaseCompleted,
          message,
        ]);
      }
    });
    purchases.push({
      purchaseId,
      messageId: purchaseCompletedMessageId(purchaseId),
      buyerEmail,
      message,
      seats: bought.map(({ section, row, rowLabel, number }) => ({ section, row, rowLabel, number })),
    });
  }
  return purchases;
}

/** Outbox rows not yet confirmed by the broker: the relay deletes a row once its message is confirmed. */
export async function unpublishedCount(dataSource: DataSource): Promise<number> {
  const [row] = await dataSource.query('SELECT count(*)::int AS count FROM outbox');
  return row.count as number;
}

/** Delivery rows per purchase id. */
export async function deliveriesByPurchase(dataSource: DataSource): Promise<Map<string, number>> {
  const rows: { purchase_id: string; count: number }[] = await dataSource.query(
    'SELECT purchase_id, count(*)::int AS count FROM email_deliveries GROUP BY purchase_id',
  );
  return new Map(rows.map((row) => [row.purchase_id, row.count]));
}

/**
 * Asserts that each purchase got exactly one e-mail and one delivery row; on failure the diff
 * names every purchase with its counts.
 */
export function expectOneEmailEach(
  purchases: SeededPurchase[],
  emailsTo: (purchase: SeededPurchase) => number,
  deliveries: Map<string, number>,
): void {
  const counts = (of: (purchase: SeededPurchase) => { emails: number; deliveries: number }) =>
    Object.fromEntries(purchases.map((purchase) => [purchase.purchaseId, of(purchase)]));
  expect(counts((p) => ({ emails: emailsTo(p), deliveries: deliveries.get(p.purchaseId) ?? 0 }))).toEqual(
    counts(() => ({ emails: 1, deliveries: 1 })),
  );
}
