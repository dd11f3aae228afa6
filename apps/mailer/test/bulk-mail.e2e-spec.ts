import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvSource, parseEnv } from '@app/config';
import { PerformanceReschedulesRepository } from '@app/database';
import { AmqpConnection, ROUTING, Topology, topologyOf } from '@app/messaging';
import { createTestEnv, destroyTestEnv, RABBITMQ_URL, TestEnv, TestSmtpServer, waitUntil } from '@app/testing';
import { OutboxRelayLoop } from '../../batch/src/loops/outbox-relay.loop';
import { Mailer } from '@app/ticketing';
import { PurchaseMailConsumer } from '../src/purchase-mail.consumer';
import { SmtpMailer } from '../src/smtp.mailer';
import { dataSourceOf, inspectBroker, mailOutcomes, startMailer, startRelay } from './mail-harness';
import { EVENT_TITLE, seedPerformance, seedPurchases, SeededPurchase, unpublishedCount } from './purchase-fixture';

const NEW_DATE_SUBJECT = `New date: ${EVENT_TITLE}`;

/**
 * One mail test bed: its own database and RabbitMQ namespace, an SMTP server, a relay and a
 * mailer; and a second SMTP server, the bulk notices' (SMTP_BULK_URL), when asked for one.
 */
interface Bed {
  env: TestEnv;
  smtp: TestSmtpServer;
  bulkSmtp?: TestSmtpServer;
  relay: INestApplicationContext;
  mailer?: INestApplicationContext;
  db: DataSource;
  topology: Topology;
  broker: Awaited<ReturnType<typeof inspectBroker>>;
}

async function startBed(options: { bulkSmtp?: EnvSource } = {}): Promise<Bed> {
  const smtp = await TestSmtpServer.create();
  const bulkSmtp = options.bulkSmtp ? await TestSmtpServer.create() : undefined;
  const env = await createTestEnv({
    SMTP_URL: smtp.url,
    ...(bulkSmtp ? { SMTP_BULK_URL: bulkSmtp.url, ...options.bulkSmtp } : {}),
  });
  const relay = await startRelay(env);
  const topology = topologyOf(parseEnv(env));
  return {
    env,
    smtp,
    bulkSmtp,
    relay,
    mailer: await startMailer(env),
    db: dataSourceOf(relay),
    topology,
    broker: await inspectBroker(topology),
  };
}

async function stopBed(bed: Bed | undefined): Promise<void> {
  // A test that failed while the SMTP server stalled: the mailer's stop waits for the e-mails in hand.
  bed?.smtp.releaseReplies();
  bed?.bulkSmtp?.releaseReplies();
  await bed?.broker.close();
  await bed?.mailer?.close();
  await bed?.relay.close();
  await bed?.smtp.stop();
  await bed?.bulkSmtp?.stop();
  if (bed) await destroyTestEnv(bed.env);
}

/** `count` purchases of one performance whose confirmations went out, each once. */
async function confirmedPurchases(
  bed: Bed,
  count: number,
): Promise<{ performanceId: number; purchases: SeededPurchase[] }> {
  const performanceId = await seedPerformance(bed.db, count);
  const purchases = await seedPurchases(bed.db, performanceId, count);
  const buyers = new Set(purchases.map((purchase) => purchase.buyerEmail));
  await waitUntil(
    () => bed.smtp.received.filter((email) => email.to.some((to) => buyers.has(to))).length === count,
    `${count} confirmations received`,
    180_000,
  );
  return { performanceId, purchases };
}

/** Moves the performance a day later as `PATCH /performances/:id` does: its start and the recorded move, in one statement. */
async function movePerformance(db: DataSource, performanceId: number): Promise<void> {
  await db.query(
    `WITH old AS (SELECT starts_at FROM performances WHERE id = $1 FOR UPDATE),
          moved AS (UPDATE performances SET starts_at = starts_at + interval '1 day' WHERE id = $1 RETURNING starts_at)
     INSERT INTO performance_reschedules (performance_id, previous_starts_at, starts_at)
     SELECT $1, old.starts_at, moved.starts_at FROM old, moved`,
    [performanceId],
  );
}

/** Queues the new-date notices of every open move into the outbox, as `batch`'s RescheduleNotices does; how many. */
async function queueNotices(bed: Bed): Promise<number> {
  const reschedules = bed.relay.get(PerformanceReschedulesRepository);
  let queued = 0;
  for (let step = await reschedules.queueNextNotices(500); step; step = await reschedules.queueNextNotices(500)) {
    queued += step.queued;
  }
  return queued;
}

const newDateNotices = (smtp: TestSmtpServer) => smtp.received.filter((email) => email.subject === NEW_DATE_SUBJECT);

/** Messages each mail queue gave the mailer (its boxoffice_mail_queue_messages_total). */
async function handledByQueue(mailer: INestApplicationContext): Promise<Record<string, number>> {
  const { values } = await mailer.get(PurchaseMailConsumer).queueMessages.get();
  return Object.fromEntries(values.map((value) => [String(value.labels.queue), value.value]));
}

/** SMTP sends by `<server>/<result>`, the non-zero ones (its boxoffice_mail_smtp_sends_total). */
async function sendsByServer(mailer: INestApplicationContext): Promise<Record<string, number>> {
  const { values } = await (mailer.get(Mailer) as SmtpMailer).sends.get();
  return Object.fromEntries(
    values
      .filter((value) => value.value > 0)
      .map((value) => [`${value.labels.server}/${value.labels.result}`, value.value]),
  );
}

/** Messages each mail queue has in hand now (its boxoffice_mail_queue_in_hand). */
async function inHandByQueue(mailer: INestApplicationContext): Promise<Record<string, number>> {
  const { values } = await mailer.get(PurchaseMailConsumer).queueInHand.get();
  return Object.fromEntries(values.map((value) => [String(value.labels.queue), value.value]));
}

describe('bulk notices on a mail queue of their own (real services)', () => {
  let bed: Bed | undefined;

  beforeAll(async () => {
    bed = await startBed();
  });
  afterAll(async () => {
    await stopBed(bed);
  });

  // Hundreds of e-mails through SMTP (each confirmation draws its QR codes): minutes on a loaded machine.
  it('sends a confirmation queued behind hundreds of new-date notices while the notices still wait, then every notice once', async () => {
    const { smtp, db, topology, broker } = bed!;
    const mailer = bed!.mailer!;
    const count = 200;
    const { performanceId, purchases } = await confirmedPurchases(bed!, count);

    // The SMTP server stalls on every new-date notice (as a slow server would on the whole
    // bulk), and answers anything else at once.
    smtp.holdReplies({ only: (email) => email.subject === NEW_DATE_SUBJECT });
    await movePerformance(db, performanceId);
    expect(await queueNotices(bed!)).toBe(count);
    await waitUntil(async () => (await unpublishedCount(db)) === 0, 'the notices relayed', 60_000);
    // MAIL_BULK_PREFETCH (2) notices in hand, stalled on SMTP; the rest wait in the bulk queue.
    await waitUntil(() => smtp.heldCount === 2, 'two notices stalled on the SMTP server');
    await waitUntil(
      async () => (await broker.messageCount(topology.bulkMailQueue)) === count - 2,
      'the rest of the notices waiting in the bulk queue',
    );
    expect(await broker.messageCount(topology.purchaseCompletedQueue)).toBe(0);

    // A sale for another show, made after the move: its confirmation goes out now.
    const otherShow = await seedPerformance(db, 1);
    const [late] = await seedPurchases(db, otherShow, 1);
    await waitUntil(
      () => smtp.received.some((email) => email.to.includes(late.buyerEmail)),
      'the late confirmation received',
    );
    // …while the whole bulk backlog still waits: no notice went out, none more was taken.
    expect(newDateNotices(smtp)).toEqual([]);
    expect(smtp.heldCount).toBe(2);
    expect(await broker.messageCount(topology.bulkMailQueue)).toBe(count - 2);
    // (The late confirmation itself may still be in hand: received by SMTP, not yet committed.)
    expect((await inHandByQueue(mailer)).bulk).toBe(2);

    smtp.releaseReplies();
    await waitUntil(() => newDateNotices(smtp).length === count, 'every notice received', 180_000);
    const noticed = newDateNotices(smtp).flatMap((email) => email.to);
    expect(noticed.sort()).toEqual(purchases.map((purchase) => purchase.buyerEmail).sort());
    // A message is counted before it leaves the mailer's hands: wait for both, not for the e-mails.
    await waitUntil(
      async () =>
        (await broker.messageCount(topology.bulkMailQueue)) === 0 &&
        Object.values(await inHandByQueue(mailer)).every((n) => n === 0),
      'the bulk queue empty, nothing in hand',
    );
    expect(await handledByQueue(mailer)).toEqual({ urgent: count + 1, bulk: count });
    expect(await mailOutcomes(mailer)).toMatchObject({ sent: 2 * count + 1, 'already-sent': 0, retried: 0, failed: 0 });
  }, 420_000);
});

describe('upgrade from the one mail queue (real services)', () => {
  let bed: Bed | undefined;

  beforeAll(async () => {
    bed = await startBed();
  });
  afterAll(async () => {
    await stopBed(bed);
  });

  it('unbinds the bulk keys from the old queue, and still sends a notice left in it once', async () => {
    const { smtp, db, topology, broker, relay } = bed!;
    const { performanceId, purchases } = await confirmedPurchases(bed!, 2);
    const [left, probe] = purchases;

    // An earlier version: its mailer gone for the upgrade, its binding of the new-date notices to
    // the one mail queue still on the broker, one notice sitting in that queue.
    await bed!.mailer!.close();
    bed!.mailer = undefined;
    await relay.get(OutboxRelayLoop).stop();
    await movePerformance(db, performanceId);
    expect(await queueNotices(bed!)).toBe(2);
    const rows: { message_id: string; payload: { purchaseId: string } }[] = await db.query(
      "SELECT message_id, payload FROM outbox WHERE payload->>'type' = 'purchase.rescheduled'",
    );
    const leftRow = rows.find((row) => row.payload.purchaseId === left.purchaseId)!;
    await broker.channel.bindQueue(
      topology.purchaseCompletedQueue,
      topology.eventsExchange,
      ROUTING.purchaseRescheduled,
    );
    broker.channel.publish(
      topology.eventsExchange,
      ROUTING.purchaseRescheduled,
      Buffer.from(JSON.stringify(leftRow.payload)),
      {
        persistent: true,
        contentType: 'application/json',
        messageId: leftRow.message_id,
      },
    );
    await broker.channel.waitForConfirms();
    // Bound to both queues now, as while old and new processes run side by side: take the bulk copy
    // away, so the notice is only in the old queue, as one routed there before the upgrade.
    expect(await broker.messageCount(topology.purchaseCompletedQueue)).toBe(1);
    expect(await broker.drain(topology.bulkMailQueue)).toHaveLength(1);
    await db.query('DELETE FROM outbox WHERE message_id = $1', [leftRow.message_id]);

    // A process of the new version starts (any of api, batch, mailer): its declaration removes
    // the old binding, so the other notice, relayed now, goes to the bulk queue alone.
    const upgraded = new AmqpConnection(RABBITMQ_URL, topology, `boxoffice-test-${bed!.env.RABBITMQ_NAMESPACE}`);
    await upgraded.channel.waitForConnect();
    await upgraded.close();
    relay.get(OutboxRelayLoop).start(50);
    await waitUntil(async () => (await unpublishedCount(db)) === 0, 'the other notice relayed');
    expect(await broker.messageCount(topology.purchaseCompletedQueue)).toBe(1);
    expect(await broker.messageCount(topology.bulkMailQueue)).toBe(1);

    // The new mailer consumes the old queue too: both notices go out, once each.
    const mailer = await startMailer(bed!.env);
    bed!.mailer = mailer;
    await waitUntil(() => newDateNotices(smtp).length === 2, 'both notices received');
    await waitUntil(
      async () =>
        (await broker.messageCount(topology.purchaseCompletedQueue)) === 0 &&
        (await broker.messageCount(topology.bulkMailQueue)) === 0 &&
        Object.values(await inHandByQueue(mailer)).every((n) => n === 0),
      'both queues empty, nothing in hand',
    );
    expect(
      newDateNotices(smtp)
        .map((email) => email.to[0])
        .sort(),
    ).toEqual([left.buyerEmail, probe.buyerEmail].sort());
    expect(await handledByQueue(mailer)).toEqual({ urgent: 1, bulk: 1 });
    expect(await mailOutcomes(mailer)).toMatchObject({ sent: 2, 'already-sent': 0 });
    // No SMTP_BULK_URL: both queues' e-mails went through the one server.
    expect(await sendsByServer(mailer)).toEqual({ 'main/accepted': 2 });
  });
});

describe('bulk notices through an SMTP server of their own: SMTP_BULK_URL (real services)', () => {
  let bed: Bed | undefined;
  const BULK_FROM = 'boxoffice news <news@bulk.boxoffice.test>';

  beforeAll(async () => {
    // Six at once: above the four the shared pool allows, as a server of their own lets them.
    bed = await startBed({ bulkSmtp: { MAIL_BULK_PREFETCH: '6', MAIL_BULK_FROM: BULK_FROM } });
  });
  afterAll(async () => {
    await stopBed(bed);
  });

  it('sends the confirmations through SMTP_URL and the new-date notices through SMTP_BULK_URL, each once', async () => {
    const { smtp, db } = bed!;
    const bulkSmtp = bed!.bulkSmtp!;
    const mailer = bed!.mailer!;
    const count = 3;
    const { performanceId, purchases } = await confirmedPurchases(bed!, count);
    expect(bulkSmtp.received).toEqual([]);

    await movePerformance(db, performanceId);
    expect(await queueNotices(bed!)).toBe(count);
    await waitUntil(() => newDateNotices(bulkSmtp).length === count, 'every notice received by the bulk server');
    await waitUntil(async () => Object.values(await inHandByQueue(mailer)).every((n) => n === 0), 'nothing in hand');
    expect(newDateNotices(smtp)).toEqual([]);
    expect(smtp.received).toHaveLength(count);
    const noticed = newDateNotices(bulkSmtp);
    expect(noticed.flatMap((email) => email.to).sort()).toEqual(purchases.map((p) => p.buyerEmail).sort());
    // From MAIL_BULK_FROM; the Message-ID stays on MAIL_FROM's domain, as for every e-mail.
    for (const email of noticed) {
      expect(email.from).toBe(BULK_FROM);
      expect(email.messageIdHeader).toMatch(/@boxoffice\.local>$/);
    }
    for (const email of smtp.received) expect(email.from).toBe('boxoffice <tickets@boxoffice.local>');
    expect(await handledByQueue(mailer)).toEqual({ urgent: count, bulk: count });
    expect(await mailOutcomes(mailer)).toMatchObject({ sent: 2 * count, 'already-sent': 0, retried: 0, failed: 0 });
    expect(await sendsByServer(mailer)).toEqual({ 'main/accepted': count, 'bulk/accepted': count });
  });

  it('sends a confirmation through SMTP_URL while the bulk server stalls on every notice in hand', async () => {
    const { smtp, db, topology, broker } = bed!;
    const bulkSmtp = bed!.bulkSmtp!;
    const mailer = bed!.mailer!;
    const count = 10;
    const { performanceId } = await confirmedPurchases(bed!, count);
    const before = newDateNotices(bulkSmtp).length;

    bulkSmtp.holdReplies();
    await movePerformance(db, performanceId);
    expect(await queueNotices(bed!)).toBe(count);
    // MAIL_BULK_PREFETCH (6) notices stalled on the bulk server, over six connections of its pool.
    await waitUntil(() => bulkSmtp.heldCount === 6, 'six notices stalled on the bulk server');
    await waitUntil(
      async () => (await broker.messageCount(topology.bulkMailQueue)) === count - 6,
      'the rest of the notices waiting in the bulk queue',
    );

    const otherShow = await seedPerformance(db, 1);
    const [late] = await seedPurchases(db, otherShow, 1);
    await waitUntil(
      () => smtp.received.some((email) => email.to.includes(late.buyerEmail)),
      'the late confirmation received by the main server',
    );
    expect(bulkSmtp.heldCount).toBe(6);
    expect(newDateNotices(bulkSmtp)).toHaveLength(before);

    bulkSmtp.releaseReplies();
    await waitUntil(() => newDateNotices(bulkSmtp).length === before + count, 'every notice received');
    await waitUntil(
      async () =>
        (await broker.messageCount(topology.bulkMailQueue)) === 0 &&
        Object.values(await inHandByQueue(mailer)).every((n) => n === 0),
      'the bulk queue empty, nothing in hand',
    );
    expect(newDateNotices(smtp)).toEqual([]);
    expect([...bulkSmtp.countsByMessageId().values()].every((n) => n === 1)).toBe(true);
    expect(await mailOutcomes(mailer)).toMatchObject({ 'already-sent': 0, retried: 0, failed: 0, uncertain: 0 });
  });
});

describe('a bulk server that takes a notice and never answers (SMTP_BULK_URL, real services)', () => {
  let bed: Bed | undefined;

  beforeAll(async () => {
    bed = await startBed({ bulkSmtp: { SMTP_REPLY_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    await stopBed(bed);
  });

  it('records the notice as uncertain, as on the main server, and never sends it again', async () => {
    const { smtp, db } = bed!;
    const bulkSmtp = bed!.bulkSmtp!;
    const mailer = bed!.mailer!;
    const { performanceId, purchases } = await confirmedPurchases(bed!, 1);
    // The bulk server queues every notice it read, whether or not its reply reaches the mailer.
    bulkSmtp.holdReplies({ deliverAbandoned: true });
    await movePerformance(db, performanceId);
    expect(await queueNotices(bed!)).toBe(1);
    await waitUntil(
      async () =>
        (
          await db.query(
            "SELECT 1 FROM email_deliveries WHERE message_id LIKE 'performance-rescheduled:%' AND purchase_id = $1 AND uncertain",
            [purchases[0].purchaseId],
          )
        ).length === 1,
      'the notice recorded as uncertain',
      30_000,
    );
    bulkSmtp.releaseReplies();
    await waitUntil(async () => Object.values(await inHandByQueue(mailer)).every((n) => n === 0), 'nothing in hand');
    expect(newDateNotices(bulkSmtp)).toHaveLength(1);
    expect(newDateNotices(smtp)).toEqual([]);
    expect(await mailOutcomes(mailer)).toMatchObject({ sent: 1, uncertain: 1, retried: 0, failed: 0 });
    expect(await sendsByServer(mailer)).toEqual({ 'main/accepted': 1, 'bulk/unanswered': 1 });
  });
});
