import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { caller, createPerformance, doorsOpenNow } from './purchase-helpers';
import { buyTickets } from './support/mail';
import { startTestApi } from './support/api';
import { expectUniform } from './support/http';

/**
 * TICKET_TRANSFER_OFFERS_PER_HOUR of this file: small, so each bound is reached in a few offers;
 * above 3, so its square (what its senders could mail one address each within their own bound)
 * is above the address's bound in all (3 × PER_HOUR).
 */
const PER_HOUR = 4;
/** Offers one address may be sent in an hour by all senders together, but for each sender's share. */
const TO_ADDRESS_PER_HOUR = 3 * PER_HOUR;
/** Offers to one address each sender may make in an hour whatever the address's offers in all. */
const SHARE = 3;

/**
 * The hourly bounds of transfer offers over HTTP, on real PostgreSQL and Redis: one sender makes at
 * most PER_HOUR offers an hour (canceled ones count), and one address is sent offers by at most
 * PER_HOUR different senders an hour, and at most 3 × PER_HOUR offers in all but for each sender's
 * share of 3, so a flood of senders, or a few colluding ones, cannot fill a stranger's inbox, while
 * no few senders can close an address to the others (offers made and canceled over and over).
 */
describe('ticket transfer offers: the hourly bounds (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let call: ReturnType<typeof caller>;
  let performance: { id: number; seatIds: number[] };
  let nextSeat = 0;

  beforeAll(async () => {
    api = await startTestApi({ PURCHASE_FLUSH_AGE_SECONDS: '0', TICKET_TRANSFER_OFFERS_PER_HOUR: String(PER_HOUR) });
    call = caller(api.app);
    const admin = await createSession(api.app, { role: Role.Admin });
    performance = await createPerformance(api.app, admin, 40, doorsOpenNow());
  });
  afterAll(async () => api?.close());

  /** A new account holding `count` tickets of the performance, and their ids. */
  async function sender(count = 1): Promise<{ session: TestSession; ticketIds: string[] }> {
    const session = await createSession(api.app);
    const seatIds = performance.seatIds.slice(nextSeat, (nextSeat += count));
    const { tickets } = await buyTickets<{ id: string }>(api, session, performance.id, seatIds);
    return { session, ticketIds: tickets.map((ticket) => ticket.id) };
  }
  const offer = (session: TestSession, ticketId: string, email: string) =>
    call('POST', `/tickets/${ticketId}/transfers`, { body: { email }, session });
  /** Offers the ticket to `email` (202), then withdraws it, so the ticket may be offered again. */
  async function offerAndCancel(session: TestSession, ticketId: string, email: string): Promise<void> {
    const made = await offer(session, ticketId, email);
    expect(made.statusCode, made.body).toBe(202);
    const canceled = await call('POST', `/ticket-transfers/${made.json().id}/cancel`, { session });
    expect(canceled.statusCode, canceled.body).toBe(200);
  }
  const expectTooMany = (answer: Awaited<ReturnType<typeof offer>>) => {
    const body = expectUniform(answer, 429);
    expect(body.message).toMatch(/^too many transfer offers/);
    expect(answer.headers['retry-after']).toBe('3600');
  };

  it("one sender's offers, made and canceled over and over, do not close an address to a friend's offer", async () => {
    const victim = `victim-${randomUUID()}@example.test`;
    const attacker = await sender();
    for (let i = 0; i < PER_HOUR; i += 1) await offerAndCancel(attacker.session, attacker.ticketIds[0], victim);
    // The attacker has used up its own hour, to any address.
    expectTooMany(await offer(attacker.session, attacker.ticketIds[0], victim));
    expectTooMany(await offer(attacker.session, attacker.ticketIds[0], `other-${randomUUID()}@example.test`));

    const friend = await sender();
    const gift = await offer(friend.session, friend.ticketIds[0], victim);
    expect(gift.statusCode, gift.body).toBe(202);
    expect(gift.json()).toMatchObject({ recipientEmail: victim, status: 'PENDING' });
  });

  it('an address is sent offers by at most PER_HOUR different senders an hour; those senders may go on within their own bound', async () => {
    const address = `popular-${randomUUID()}@example.test`;
    const senders = [await sender(2)];
    while (senders.length < PER_HOUR) senders.push(await sender());
    for (const { session, ticketIds } of senders) await offerAndCancel(session, ticketIds[0], address);

    const late = await sender();
    expectTooMany(await offer(late.session, late.ticketIds[0], address));
    // The refusal is about the address: the late sender may offer to anyone else.
    const elsewhere = await offer(late.session, late.ticketIds[0], `elsewhere-${randomUUID()}@example.test`);
    expect(elsewhere.statusCode, elsewhere.body).toBe(202);

    // One of the senders of the hour may offer the address again (its second of PER_HOUR).
    const again = await offer(senders[0].session, senders[0].ticketIds[1], address);
    expect(again.statusCode, again.body).toBe(202);
    const offers = await call('GET', '/ticket-transfers?limit=100', { session: senders[0].session });
    expect(
      offers.json().items.filter((item: { recipientEmail: string }) => item.recipientEmail === address),
    ).toHaveLength(2);
  });

  it('an address is sent at most 3 × PER_HOUR offers an hour in all: its PER_HOUR senders cannot each send PER_HOUR', async () => {
    const address = `target-${randomUUID()}@example.test`;
    const colluders: { session: TestSession; ticketIds: string[] }[] = [];
    while (colluders.length < PER_HOUR) colluders.push(await sender());
    // Round after round, each colluder offers its ticket to the address and withdraws it, until
    // the address's bound in all is reached: each is still within its own bound.
    let made = 0;
    for (let round = 0; made < TO_ADDRESS_PER_HOUR; round += 1) {
      for (const { session, ticketIds } of colluders) {
        if (made === TO_ADDRESS_PER_HOUR) break;
        await offerAndCancel(session, ticketIds[0], address);
        made += 1;
      }
    }
    const last = colluders[colluders.length - 1];
    const refused = await offer(last.session, last.ticketIds[0], address);
    expectTooMany(refused);
    expect(refused.json().details).toMatchObject({ perHour: PER_HOUR, toAddressPerHour: TO_ADDRESS_PER_HOUR });
    // The colluder has offers of its own hour left: to anyone else they go.
    const elsewhere = await offer(last.session, last.ticketIds[0], `elsewhere-${randomUUID()}@example.test`);
    expect(elsewhere.statusCode, elsewhere.body).toBe(202);
  });

  it('three accounts offering and canceling cannot close an address to a friend: each sender keeps its share of 3, and no more', async () => {
    const address = `besieged-${randomUUID()}@example.test`;
    const attackers = [await sender(), await sender(), await sender()];
    // Each offers its ticket to the address and withdraws it, as many times as its own bound lets
    // it: together, the address's bound in all.
    for (const { session, ticketIds } of attackers) {
      for (let i = 0; i < PER_HOUR; i += 1) await offerAndCancel(session, ticketIds[0], address);
    }
    expect(attackers.length * PER_HOUR).toBe(TO_ADDRESS_PER_HOUR);
    for (const { session, ticketIds } of attackers) expectTooMany(await offer(session, ticketIds[0], address));

    // A friend gives the address three tickets all the same: its share, which no one else can use up.
    const friend = await sender(SHARE + 1);
    for (const ticketId of friend.ticketIds.slice(0, SHARE)) {
      const gift = await offer(friend.session, ticketId, address);
      expect(gift.statusCode, gift.body).toBe(202);
      expect(gift.json()).toMatchObject({ recipientEmail: address, status: 'PENDING' });
    }
    // Past its share the bound in all holds it too: the inbox is still bounded (here 12 + 3 offers).
    expectTooMany(await offer(friend.session, friend.ticketIds[SHARE], address));
    const elsewhere = await offer(friend.session, friend.ticketIds[SHARE], `elsewhere-${randomUUID()}@example.test`);
    expect(elsewhere.statusCode, elsewhere.body).toBe(202);
  });
});
