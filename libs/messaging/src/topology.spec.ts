import type { ConfirmChannel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { BULK_MAIL_ROUTING, ROUTING, URGENT_MAIL_ROUTING } from './contracts/routing';
import { Topology } from './topology';

/** The calls `declare` makes on a channel, in order, with their arguments. */
async function declared(topology: Topology): Promise<unknown[][]> {
  const calls: unknown[][] = [];
  const record =
    (method: string) =>
    async (...args: unknown[]) => {
      calls.push([method, ...args]);
      return {};
    };
  const channel = {
    assertExchange: record('assertExchange'),
    assertQueue: record('assertQueue'),
    bindQueue: record('bindQueue'),
    unbindQueue: record('unbindQueue'),
  } as unknown as ConfirmChannel;
  await topology.declare(channel);
  return calls;
}

describe('Topology: the urgent and the bulk mail queue', () => {
  const topology = new Topology('ns', [2000, 1000]);

  it('sends every mail routing key to exactly one of the two queues', () => {
    expect([...URGENT_MAIL_ROUTING, ...BULK_MAIL_ROUTING].sort()).toEqual(Object.values(ROUTING).sort());
    expect(URGENT_MAIL_ROUTING.filter((key) => BULK_MAIL_ROUTING.includes(key))).toEqual([]);
    // Fanned out by one operator action to every buyer of a show: bulk. One person waiting: urgent.
    expect(BULK_MAIL_ROUTING).toEqual([ROUTING.purchaseRescheduled, ROUTING.purchaseCanceledByPerformance]);
    expect(URGENT_MAIL_ROUTING).toEqual([
      ROUTING.purchaseCompleted,
      ROUTING.purchaseCanceled,
      ROUTING.passwordReset,
      ROUTING.emailVerification,
      ROUTING.emailChange,
      ROUTING.accountNotice,
      ROUTING.paymentRefunded,
      ROUTING.ticketTransfer,
    ]);
  });

  it('names the bulk queue, its retry queues and its dead-letter queue apart from the urgent ones', () => {
    expect(topology.purchaseCompletedQueue).toBe('ns.purchase-completed');
    expect(topology.bulkMailQueue).toBe('ns.mail-bulk');
    expect(topology.bulkMailRetryQueue(1000)).toBe('ns.mail-bulk.retry.1000ms');
    expect(() => topology.bulkMailRetryQueue(1500)).toThrow(RangeError);
    expect(topology.bulkMailDeadQueue).toBe('ns.mail-bulk.dead');
    const bulk = topology.bulkMailConsumer;
    expect({ queue: bulk.queue, retry: bulk.retryQueue(2000), deadLetter: bulk.deadLetter }).toEqual({
      queue: 'ns.mail-bulk',
      retry: 'ns.mail-bulk.retry.2000ms',
      deadLetter: { exchange: 'ns.dead', routingKey: 'mail.bulk' },
    });
    expect(topology.purchaseCompletedConsumer.deadLetter).toEqual({
      exchange: 'ns.dead',
      routingKey: ROUTING.purchaseCompleted,
    });
  });

  it('declares both queues, binds each to its keys only, and unbinds the bulk keys from the urgent queue last', async () => {
    const calls = await declared(topology);
    const quorumTo = (exchange: string, routingKey: string) => ({
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': exchange,
        'x-dead-letter-routing-key': routingKey,
      },
    });
    const quorum = { durable: true, arguments: { 'x-queue-type': 'quorum' } };
    expect(calls).toEqual([
      ['assertExchange', 'ns.events', 'topic', { durable: true }],
      ['assertExchange', 'ns.dead', 'direct', { durable: true }],
      ['assertQueue', 'ns.purchase-completed', quorumTo('ns.dead', 'purchase.completed')],
      ['bindQueue', 'ns.purchase-completed', 'ns.events', 'purchase.completed'],
      ['bindQueue', 'ns.purchase-completed', 'ns.events', 'purchase.canceled'],
      ['bindQueue', 'ns.purchase-completed', 'ns.events', 'account.password-reset'],
      ['bindQueue', 'ns.purchase-completed', 'ns.events', 'account.email-verification'],
      ['bindQueue', 'ns.purchase-completed', 'ns.events', 'account.email-change'],
      ['bindQueue', 'ns.purchase-completed', 'ns.events', 'account.notice'],
      ['bindQueue', 'ns.purchase-completed', 'ns.events', 'payment.refunded'],
      ['bindQueue', 'ns.purchase-completed', 'ns.events', 'ticket.transfer'],
      ['assertQueue', 'ns.purchase-completed.retry.1000ms', quorumTo('', 'ns.purchase-completed')],
      ['assertQueue', 'ns.purchase-completed.retry.2000ms', quorumTo('', 'ns.purchase-completed')],
      ['assertQueue', 'ns.purchase-completed.dead', quorum],
      ['bindQueue', 'ns.purchase-completed.dead', 'ns.dead', 'purchase.completed'],
      ['assertQueue', 'ns.mail-bulk', quorumTo('ns.dead', 'mail.bulk')],
      ['bindQueue', 'ns.mail-bulk', 'ns.events', 'purchase.rescheduled'],
      ['bindQueue', 'ns.mail-bulk', 'ns.events', 'purchase.canceled.performance'],
      ['assertQueue', 'ns.mail-bulk.retry.1000ms', quorumTo('', 'ns.mail-bulk')],
      ['assertQueue', 'ns.mail-bulk.retry.2000ms', quorumTo('', 'ns.mail-bulk')],
      ['assertQueue', 'ns.mail-bulk.dead', quorum],
      ['bindQueue', 'ns.mail-bulk.dead', 'ns.dead', 'mail.bulk'],
      // Bindings outlive the versions that made them: an earlier one bound rescheduled notices
      // here. Unbound last, once the bulk queue takes them, so none is routed to no queue.
      ['unbindQueue', 'ns.purchase-completed', 'ns.events', 'purchase.rescheduled'],
      ['unbindQueue', 'ns.purchase-completed', 'ns.events', 'purchase.canceled.performance'],
    ]);
  });

  it('matches no bulk key with an urgent binding on the topic exchange (no wildcards)', () => {
    for (const key of [...URGENT_MAIL_ROUTING, ...BULK_MAIL_ROUTING]) expect(key).not.toMatch(/[*#]/);
  });
});
