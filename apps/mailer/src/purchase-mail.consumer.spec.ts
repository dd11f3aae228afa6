import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import { AmqpConnection, RetryPolicy, Topology } from '@app/messaging';
import type {
  AccountNoticeMailService,
  PaymentRefundedMailService,
  EmailChangeMailService,
  EmailVerificationMailService,
  PasswordResetMailService,
  PurchaseMailService,
  TicketTransferMailService,
} from '@app/ticketing';
import { PurchaseMailConsumer } from './purchase-mail.consumer';

/**
 * While the mailer stops, the e-mails in hand are still being sent (stop waits for them), and
 * boxoffice_mail_queue_in_hand must go on counting them: stop() keeps the consumers until both
 * stopped.
 */
describe('PurchaseMailConsumer in-hand gauge during stop', () => {
  it('still counts the message in hand while stop waits for it', async () => {
    const deliveries: Record<string, (message: ConsumeMessage) => void> = {};
    let canceled = 0;
    const amqp = {
      connection: {
        createChannel: (options: { name: string }) => ({
          on: () => undefined,
          consume: async (queue: string, onMessage: (message: ConsumeMessage) => void) => {
            deliveries[queue] = onMessage;
          },
          cancelAll: async () => {
            canceled += 1;
          },
          close: async () => undefined,
          ack: () => undefined,
          name: options.name,
        }),
      },
      settle: async () => undefined,
      shutdownStep: async (step: Promise<unknown>) => {
        await step;
      },
    } as unknown as AmqpConnection;
    let finish!: () => void;
    const mail = {
      deliver: () =>
        new Promise<'sent'>((resolve) => {
          finish = () => resolve('sent');
        }),
    } as unknown as PurchaseMailService;
    const consumer = new PurchaseMailConsumer(
      amqp,
      new Topology('ns', [1000]),
      new RetryPolicy(3, 1000, 1000),
      mail,
      {} as PasswordResetMailService,
      {} as EmailVerificationMailService,
      {} as EmailChangeMailService,
      {} as AccountNoticeMailService,
      {} as PaymentRefundedMailService,
      {} as TicketTransferMailService,
      { MAIL_BULK_PREFETCH: 2 } as Env,
    );
    await consumer.start();
    const body = {
      purchaseId: '7f0c5c1e-3f5e-4a51-9a55-6f3f9f0d2c11',
      userId: '7f0c5c1e-3f5e-4a51-9a55-6f3f9f0d2c12',
      performanceId: 1,
      seatIds: [1],
      amount: 1000,
      currency: 'KRW',
      createdAt: new Date().toISOString(),
    };
    deliveries['ns.purchase-completed']({
      content: Buffer.from(JSON.stringify(body)),
      fields: { deliveryTag: 1 },
      properties: { headers: {} },
    } as unknown as ConsumeMessage);
    const inHand = async () =>
      Object.fromEntries((await consumer.queueInHand.get()).values.map((v) => [v.labels.queue, v.value]));
    expect(await inHand()).toEqual({ urgent: 1, bulk: 0 });

    const stopping = consumer.stop();
    // Both consumers took no more messages and wait for the one in hand.
    await vi.waitFor(() => expect(canceled).toBe(2));
    const during = await inHand();
    finish();
    await stopping;
    expect(during).toEqual({ urgent: 1, bulk: 0 });
    expect(await inHand()).toEqual({ urgent: 0, bulk: 0 });
  });
});
