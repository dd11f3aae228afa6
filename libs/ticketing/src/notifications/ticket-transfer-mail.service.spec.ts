import { describe, expect, it } from 'vitest';
import { Env, parseEnv } from '@app/config';
import type {
  DeliveryClaim,
  EmailDeliveriesRepository,
  TicketTransfersRepository,
  TransactionRunner,
  TransferMailFacts,
} from '@app/database';
import { TicketTransferStatus } from '@app/database';
import { TICKET_TRANSFER_TYPE, TicketTransferMailEvent, TicketTransferMessage } from '@app/messaging/contracts';
import { FakeClock } from '@app/testing';
import { Mailer, OutgoingEmail } from './mailer.port';
import { TicketTransferMailService } from './ticket-transfer-mail.service';

const TRANSFER = '6c1f9a6e-2f1b-4d8e-9c3a-1b2c3d4e5f60';
const env = parseEnv({}) as Env;

function facts(status: TicketTransferStatus): TransferMailFacts {
  return {
    transfer: {
      id: TRANSFER,
      ticketId: '1024',
      senderId: 's1',
      recipientEmail: 'friend@example.test',
      status,
      createdAt: new Date('2026-12-05T10:00:00Z'),
      expiresAt: new Date('2026-12-08T10:00:00Z'),
      acceptedAt: status === TicketTransferStatus.Accepted ? new Date('2026-12-05T11:00:00Z') : null,
      canceledAt: null,
    },
    sender: { name: 'Grace <Buyer>', email: 'grace@example.test' },
    recipient: status === TicketTransferStatus.Accepted ? { name: 'Ada', email: 'friend@example.test' } : null,
    eventTitle: 'Concert',
    venue: 'Hall',
    timeZone: 'Europe/Berlin',
    startsAt: new Date('2026-12-10T19:00:00Z'),
    seat: { section: 'Floor', rowLabel: 'C', number: 7 },
  };
}

function serviceWith(found: TransferMailFacts | null, claimed: string[] = []) {
  const sent: OutgoingEmail[] = [];
  const claims = new Set(claimed);
  const transfers = { mailFacts: async () => found } as unknown as TicketTransfersRepository;
  const deliveries = {
    claim: async (_manager: unknown, claim: DeliveryClaim) => {
      expect(claim.purchaseId).toBeNull();
      if (claims.has(claim.messageId)) return false;
      claims.add(claim.messageId);
      return true;
    },
    recordSent: async () => undefined,
  } as unknown as EmailDeliveriesRepository;
  const transactions = { run: (work: (m: unknown) => Promise<unknown>) => work({}) } as unknown as TransactionRunner;
  const mailer: Mailer = {
    send: async (email: OutgoingEmail) => {
      sent.push(email);
      return { smtpMessageId: '<smtp-1>' };
    },
  };
  const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
  return { service: new TicketTransferMailService(transfers, deliveries, transactions, mailer, clock, env), sent };
}

const message = (event: TicketTransferMailEvent): TicketTransferMessage => ({
  type: TICKET_TRANSFER_TYPE,
  transferId: TRANSFER,
  event,
});

describe('TicketTransferMailService', () => {
  it('sends the offer to the address as given, urgent, once, without any ticket code', async () => {
    const { service, sent } = serviceWith(facts(TicketTransferStatus.Pending));
    expect(await service.deliver(message('offered'))).toBe('sent');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      to: { address: 'friend@example.test' },
      stream: 'urgent',
      subject: 'Grace <Buyer> sent you a ticket for Concert',
      messageIdHeader: `<ticket-transfer-offered.${TRANSFER}@boxoffice.local>`,
    });
    expect(sent[0].text).toContain(`POST /api/v1/ticket-transfers/${TRANSFER}/accept`);
    expect(sent[0].text).toContain('Section Floor, row C, seat 7');
    expect(sent[0].html).toContain('Grace &lt;Buyer&gt;');
    expect(sent[0].html).not.toContain('Grace <Buyer>');
    const again = serviceWith(facts(TicketTransferStatus.Pending), [`ticket-transfer-offered:${TRANSFER}`]);
    expect(await again.service.deliver(message('offered'))).toBe('already-sent');
    expect(again.sent).toHaveLength(0);
  });

  it.each([TicketTransferStatus.Canceled, TicketTransferStatus.Expired, TicketTransferStatus.Accepted])(
    'sends no offer that is %s by the time its message is handled',
    async (status) => {
      const { service, sent } = serviceWith(facts(status));
      expect(await service.deliver(message('offered'))).toBe('stale');
      expect(sent).toHaveLength(0);
    },
  );

  it('tells the sender who accepted', async () => {
    const { service, sent } = serviceWith(facts(TicketTransferStatus.Accepted));
    expect(await service.deliver(message('accepted'))).toBe('sent');
    expect(sent[0]).toMatchObject({
      to: { address: 'grace@example.test', name: 'Grace <Buyer>' },
      subject: 'Your ticket for Concert was accepted',
    });
    expect(sent[0].text).toContain('Ada (friend@example.test) accepted the ticket you sent');
    expect(sent[0].text).toContain('no longer admits anyone');
  });

  it("tells the account that accepted it when the ticket is canceled, on the queue's stream", async () => {
    const { service, sent } = serviceWith(facts(TicketTransferStatus.Accepted));
    expect(await service.deliver(message('canceled'), 'bulk')).toBe('sent');
    expect(sent[0]).toMatchObject({
      to: { address: 'friend@example.test', name: 'Ada' },
      stream: 'bulk',
      subject: 'Canceled: the ticket you received for Concert',
      messageIdHeader: `<ticket-transfer-canceled.${TRANSFER}@boxoffice.local>`,
    });
    expect(sent[0].text).toContain('Its QR code no longer admits anyone');
    // No account behind it any more: nothing to send.
    const gone = serviceWith({ ...facts(TicketTransferStatus.Accepted), recipient: null });
    expect(await gone.service.deliver(message('canceled'))).toBe('stale');
  });

  it('sends nothing for a transfer that no longer exists', async () => {
    const { service, sent } = serviceWith(null);
    expect(await service.deliver(message('accepted'))).toBe('stale');
    expect(sent).toHaveLength(0);
  });
});
