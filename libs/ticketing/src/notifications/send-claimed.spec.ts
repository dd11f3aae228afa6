import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { DatabaseUnavailableError } from '@app/database';
import type { DeliveryClaim, EmailDeliveriesRepository, TransactionRunner } from '@app/database';
import { Mailer, MailMaybeSentError } from './mailer.port';
import { deliverInTransaction, sendClaimed, Transaction, undeliverableAddress } from './send-claimed';

const CLAIM: DeliveryClaim = {
  messageId: 'purchase-completed:0b5a3c1e-0000-4000-8000-000000000001',
  purchaseId: '0b5a3c1e-0000-4000-8000-000000000001',
  recipient: 'buyer@example.test',
  startsAt: new Date('2027-03-14T19:30:00.000Z'),
};
const EMAIL = () => ({
  to: { name: 'Buyer', address: 'buyer@example.test' },
  subject: 'Your tickets',
  text: 'text',
  html: '<p>html</p>',
  stream: 'urgent' as const,
});
const lostConnection = () => new DatabaseUnavailableError(new Error('Connection terminated unexpectedly'), 'down');

/**
 * A delivery whose transaction fails as `commit` says once the work is done (PostgreSQL lost
 * before the COMMIT), with a mailer that answers as `send` says and a row write that fails as
 * `records` says, one entry per try.
 */
function scene({
  commit = async () => undefined,
  send = async () => ({ smtpMessageId: '<smtp-1@mail.test>' }),
  records = [] as unknown[],
  claimed = true,
  recipient = CLAIM.recipient,
}: {
  commit?: () => Promise<void>;
  send?: () => Promise<{ smtpMessageId: string | null }>;
  records?: unknown[];
  claimed?: boolean;
  recipient?: string;
} = {}) {
  const mailer = { send: vi.fn(send) } as unknown as Mailer & { send: ReturnType<typeof vi.fn> };
  const deliveries = {
    claim: vi.fn(async () => claimed),
    recordSent: vi.fn(async () => undefined),
    recordUncertain: vi.fn(async () => undefined),
    recordHandedOver: vi.fn(async () => {
      const failure = records.shift();
      if (failure) throw failure;
    }),
  };
  const transactions = {
    run: vi.fn(async <T>(work: (manager: Transaction) => Promise<T>) => {
      const result = await work({} as Transaction);
      await commit();
      return result;
    }),
  };
  const deps = {
    mailer,
    deliveries: deliveries as unknown as EmailDeliveriesRepository,
    transactions: transactions as unknown as TransactionRunner,
    mailFrom: 'boxoffice <tickets@boxoffice.test>',
  };
  const deliver = () =>
    deliverInTransaction(deps, CLAIM.messageId, (manager) =>
      sendClaimed(deps, manager, { ...CLAIM, recipient }, EMAIL),
    );
  return { mailer, deliveries, transactions, deliver };
}

describe('deliverInTransaction with sendClaimed', () => {
  it('sends and records in one transaction', async () => {
    const { mailer, deliveries, deliver } = scene();
    await expect(deliver()).resolves.toBe('sent');
    expect(mailer.send).toHaveBeenCalledTimes(1);
    expect(mailer.send.mock.calls[0][0]).toMatchObject({
      messageIdHeader: '<purchase-completed.0b5a3c1e-0000-4000-8000-000000000001@boxoffice.test>',
    });
    expect(deliveries.recordSent).toHaveBeenCalledWith({}, CLAIM.messageId, '<smtp-1@mail.test>');
    expect(deliveries.recordHandedOver).not.toHaveBeenCalled();
  });

  it("an address under .invalid (a deleted account's) is neither claimed nor sent to", async () => {
    for (const recipient of ['deleted-0b5a3c1e@invalid', 'someone@mail.INVALID', 'x@a.b.invalid.']) {
      const { mailer, deliveries, deliver } = scene({ recipient });
      await expect(deliver()).resolves.toBe('no-recipient');
      expect(mailer.send).not.toHaveBeenCalled();
      expect(deliveries.claim).not.toHaveBeenCalled();
    }
  });

  it('a message claimed before sends nothing', async () => {
    const { mailer, deliver } = scene({ claimed: false });
    await expect(deliver()).resolves.toBe('already-sent');
    expect(mailer.send).not.toHaveBeenCalled();
  });

  it('the commit lost after the server took the e-mail: the row is written again, retried while PostgreSQL is down, and the message settles as sent', async () => {
    const { mailer, deliveries, transactions, deliver } = scene({
      commit: async () => {
        if (transactions.run.mock.calls.length === 1) throw lostConnection();
      },
      records: [lostConnection(), lostConnection()],
    });
    await expect(deliver()).resolves.toBe('sent');
    expect(mailer.send).toHaveBeenCalledTimes(1);
    expect(deliveries.recordHandedOver).toHaveBeenCalledTimes(3);
    expect(deliveries.recordHandedOver).toHaveBeenLastCalledWith({}, CLAIM, '<smtp-1@mail.test>', false);
  });

  it('the recording lost after an unanswered send: written again as uncertain', async () => {
    const { deliveries, deliver } = scene({
      send: () => Promise.reject(new MailMaybeSentError('reply timed out')),
    });
    deliveries.recordUncertain.mockRejectedValueOnce(lostConnection());
    await expect(deliver()).resolves.toBe('uncertain');
    expect(deliveries.recordHandedOver).toHaveBeenCalledWith({}, CLAIM, null, true);
  });

  it('a failure before the server took the e-mail is thrown: the rollback frees the claim for another try', async () => {
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:1025');
    const { deliveries, deliver } = scene({ send: () => Promise.reject(refused) });
    await expect(deliver()).rejects.toBe(refused);
    expect(deliveries.recordHandedOver).not.toHaveBeenCalled();

    const lost = lostConnection();
    const beforeSend = scene();
    beforeSend.deliveries.claim.mockRejectedValueOnce(lost);
    await expect(beforeSend.deliver()).rejects.toBe(lost);
    expect(beforeSend.mailer.send).not.toHaveBeenCalled();
    expect(beforeSend.deliveries.recordHandedOver).not.toHaveBeenCalled();
  });

  it('a row write that fails otherwise than for an unavailable database is thrown', async () => {
    const bug = new Error('null value in column "recipient"');
    const { deliver } = scene({ commit: () => Promise.reject(lostConnection()), records: [bug] });
    await expect(deliver()).rejects.toBe(bug);
  });

  it('sendClaimed outside deliverInTransaction refuses to send', async () => {
    const { mailer, deliveries } = scene();
    const deps = { mailer, deliveries: deliveries as unknown as EmailDeliveriesRepository, mailFrom: 'x@y.test' };
    await expect(sendClaimed(deps, {} as Transaction, CLAIM, EMAIL)).rejects.toThrow(/deliverInTransaction/);
    expect(mailer.send).not.toHaveBeenCalled();
  });
});

describe('undeliverableAddress', () => {
  it('is true exactly for a domain that is `invalid` or ends in `.invalid` (RFC 6761), any case, a final dot or not', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        fc.emailAddress(),
        fc.array(label, { maxLength: 3 }),
        fc.boolean(),
        fc.boolean(),
        (email, labels, upper, dot) => {
          const local = email.slice(0, email.lastIndexOf('@'));
          const reserved = [...labels, 'invalid'].join('.');
          const spell = (domain: string) => `${upper ? domain.toUpperCase() : domain}${dot ? '.' : ''}`;
          expect(undeliverableAddress(`${local}@${spell(reserved)}`)).toBe(true);
          const domain = email.slice(email.lastIndexOf('@') + 1);
          const isReserved = domain === 'invalid' || domain.endsWith('.invalid');
          expect(undeliverableAddress(`${local}@${spell(domain)}`)).toBe(isReserved);
          // A label that merely ends in "invalid" is not the reserved name.
          expect(undeliverableAddress(`${local}@notinvalid.example`)).toBe(false);
          expect(undeliverableAddress(`${local}@${spell('mail.notinvalid')}`)).toBe(false);
        },
      ),
    );
  });
});
