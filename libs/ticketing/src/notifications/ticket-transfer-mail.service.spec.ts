import { describe, expect, it } from 'vitest';
import { Env, parseEnv } from '@app/config';
import type {
  DeliveryClaim,
  EmailDeliveriesRepository,
  HolderMailFacts,
  TicketTransfersRepository,
  TransactionRunner,
  TransferMailFacts,
} from '@app/database';
import { TicketTransferStatus } from '@app/database';
import {
  TICKET_HOLDER_RESCHEDULED_TYPE,
  TICKET_TRANSFER_TYPE,
  TicketHolderRescheduledMessage,
  TicketTransferMailEvent,
  TicketTransferMessage,
} from '@app/messaging/contracts';
import { FakeClock } from '@app/testing';
import { TicketCodes } from '../tickets/ticket-codes';
import { Mailer, OutgoingEmail } from './mailer.port';
import { TicketTransferMailService } from './ticket-transfer-mail.service';

const TRANSFER = '6c1f9a6e-2f1b-4d8e-9c3a-1b2c3d4e5f60';
const PURCHASE = '7f0c5c1e-3f5e-4a51-9a55-6f3f9f0d2c11';
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
      canceledAt: status === TicketTransferStatus.Canceled ? new Date('2026-12-05T11:00:00Z') : null,
      declinedAt: status === TicketTransferStatus.Declined ? new Date('2026-12-05T11:00:00Z') : null,
      cancelReason: null,
    },
    cancelReason: status === TicketTransferStatus.Canceled ? 'SENDER' : null,
    sender: { name: 'Grace <Buyer>', email: 'grace@example.test' },
    recipient:
      status === TicketTransferStatus.Accepted || status === TicketTransferStatus.Declined
        ? { name: 'Ada', email: 'friend@example.test' }
        : null,
    eventTitle: 'Concert',
    venue: 'Hall',
    timeZone: 'Europe/Berlin',
    startsAt: new Date('2026-12-10T19:00:00Z'),
    seat: { section: 'Floor', row: 3, rowLabel: 'C', number: 7 },
    heldTicket:
      status === TicketTransferStatus.Accepted
        ? { ticketId: '1024', purchaseId: PURCHASE, performanceId: 9, seatId: 70, codeVersion: 1 }
        : null,
    ticketUsable: true,
  };
}

/**
 * The service over fakes of its ports: `found` the transfer's facts, `claimed` the message ids with
 * a delivery already, `told` the start those recorded last (lastToldTransferStartsAt), `env` its settings.
 */
function serviceWith(
  found: TransferMailFacts | null,
  claimed: string[] = [],
  { told = null, settings = env }: { told?: Date | null; settings?: Env } = {},
) {
  const sent: OutgoingEmail[] = [];
  const claims = new Set(claimed);
  const recorded: DeliveryClaim[] = [];
  const order: string[] = [];
  const transfers = {
    mailFacts: async (_id: string, _now: Date, manager: unknown) => {
      // Read inside the transaction, after its mail lock: what a concurrent cancel committed is seen.
      expect(manager).toBeDefined();
      order.push('facts');
      return found;
    },
  } as unknown as TicketTransfersRepository;
  const deliveries = {
    lockTransferMail: async (_manager: unknown, id: string) => {
      expect(id).toBe(TRANSFER);
      order.push('lock');
    },
    exists: async (_manager: unknown, messageId: string) => claims.has(messageId),
    lastToldTransferStartsAt: async (manager: unknown, id: string) => {
      expect(manager).toBeDefined();
      expect(id).toBe(TRANSFER);
      return told;
    },
    claim: async (_manager: unknown, claim: DeliveryClaim) => {
      expect(claim.purchaseId).toBeNull();
      if (claims.has(claim.messageId)) return false;
      claims.add(claim.messageId);
      recorded.push(claim);
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
  const codes = new TicketCodes({ ...env, TICKET_SIGNING_SECRET: 'x'.repeat(48) } as Env);
  return {
    service: new TicketTransferMailService(transfers, deliveries, transactions, mailer, clock, codes, settings),
    sent,
    recorded,
    order,
    codes,
  };
}

const message = (event: TicketTransferMailEvent): TicketTransferMessage => ({
  type: TICKET_TRANSFER_TYPE,
  transferId: TRANSFER,
  event,
});
const MOVE = '42';
const rescheduled: TicketTransferMessage = {
  type: TICKET_TRANSFER_TYPE,
  transferId: TRANSFER,
  event: 'rescheduled',
  rescheduleId: MOVE,
};
const OFFERED = `ticket-transfer-offered:${TRANSFER}`;
/** The start the offer e-mail told, before the move to facts().startsAt. */
const BEFORE = new Date('2026-12-12T19:00:00Z');

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
    expect(sent[0].text).toContain(`POST /api/v1/ticket-transfers/${TRANSFER}/decline`);
    expect(sent[0].text).toContain('Section Floor, row C, seat 7');
    expect(sent[0].html).toContain('Grace &lt;Buyer&gt;');
    expect(sent[0].html).not.toContain('Grace <Buyer>');
    const again = serviceWith(facts(TicketTransferStatus.Pending), [`ticket-transfer-offered:${TRANSFER}`]);
    expect(await again.service.deliver(message('offered'))).toBe('already-sent');
    expect(again.sent).toHaveLength(0);
  });

  it('sends no offer whose ticket can no longer be used by the time its message is handled (its show canceled since the offer)', async () => {
    const { service, sent } = serviceWith({ ...facts(TicketTransferStatus.Pending), ticketUsable: false });
    expect(await service.deliver(message('offered'))).toBe('superseded');
    expect(sent).toHaveLength(0);
  });

  it.each([
    TicketTransferStatus.Canceled,
    TicketTransferStatus.Expired,
    TicketTransferStatus.Accepted,
    TicketTransferStatus.Declined,
  ])('sends no offer that is %s by the time its message is handled', async (status) => {
    const { service, sent } = serviceWith(facts(status));
    expect(await service.deliver(message('offered'))).toBe('stale');
    expect(sent).toHaveLength(0);
  });

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

  it('decides every e-mail under the transfer mail lock, reading the transfer after it', async () => {
    const { service, order } = serviceWith(facts(TicketTransferStatus.Pending));
    await service.deliver(message('offered'));
    expect(order).toEqual(['lock', 'facts']);
  });

  it('gives the new holder the ticket with its new code and QR image, as the buyer gets tickets', async () => {
    const { service, sent, codes, recorded } = serviceWith(facts(TicketTransferStatus.Accepted));
    expect(await service.deliver(message('received'))).toBe('sent');
    // The start it tells, what a new-date notice to the holder compares with.
    expect(recorded).toEqual([expect.objectContaining({ startsAt: facts(TicketTransferStatus.Accepted).startsAt })]);
    const code = codes.sign({ ticketId: '1024', purchaseId: PURCHASE, performanceId: 9, seatId: 70, codeVersion: 1 });
    expect(sent[0]).toMatchObject({
      to: { address: 'friend@example.test', name: 'Ada' },
      stream: 'urgent',
      subject: 'Your ticket for Concert',
      messageIdHeader: `<ticket-transfer-received.${TRANSFER}@boxoffice.local>`,
    });
    expect(sent[0].text).toContain(`Section Floor, row C, seat 7: ${code}`);
    expect(sent[0].html).toContain('src="cid:ticket-1024@boxoffice"');
    expect(sent[0].html).toContain(code);
    expect(sent[0].attachments).toEqual([
      expect.objectContaining({ cid: 'ticket-1024@boxoffice', contentType: 'image/png', filename: 'ticket-1024.png' }),
    ]);
    // Canceled or passed on since: its code is void, nothing to send.
    const moved = serviceWith({ ...facts(TicketTransferStatus.Accepted), heldTicket: null });
    expect(await moved.service.deliver(message('received'))).toBe('stale');
    expect(moved.sent).toHaveLength(0);
  });

  it('tells the sender who declined', async () => {
    const { service, sent } = serviceWith(facts(TicketTransferStatus.Declined));
    expect(await service.deliver(message('declined'))).toBe('sent');
    expect(sent[0]).toMatchObject({
      to: { address: 'grace@example.test' },
      subject: 'Your ticket for Concert was declined',
      messageIdHeader: `<ticket-transfer-declined.${TRANSFER}@boxoffice.local>`,
    });
    expect(sent[0].text).toContain('Ada (friend@example.test) declined the ticket you offered');
    expect(sent[0].text).toContain('still yours');
    expect(sent[0].text).toContain('your code still admits you');
  });

  it('tells the sender of a declined offer no more that its code admits once the ticket can no longer be used', async () => {
    // Declined while its show was canceled (before the bulk refund reached it), its purchase canceled
    // (before the flush), or after the sender came in on it: the code admits no one any more.
    const { service, sent } = serviceWith({ ...facts(TicketTransferStatus.Declined), ticketUsable: false });
    expect(await service.deliver(message('declined'))).toBe('sent');
    expect(sent[0].text).toContain('Ada (friend@example.test) declined the ticket you offered');
    expect(sent[0].text).not.toContain('still admits');
    expect(sent[0].html).not.toContain('still admits');
    expect(sent[0].text).not.toContain('offer it to someone else');
  });

  it('tells the address a withdrawn offer went to, only once the offer e-mail went out, once', async () => {
    const withdrawn = facts(TicketTransferStatus.Canceled);
    const neverOffered = serviceWith(withdrawn);
    expect(await neverOffered.service.deliver(message('withdrawn'))).toBe('not-confirmed');
    expect(neverOffered.sent).toHaveLength(0);

    const offered = serviceWith(withdrawn, [`ticket-transfer-offered:${TRANSFER}`]);
    expect(await offered.service.deliver(message('withdrawn'))).toBe('sent');
    expect(offered.sent[0]).toMatchObject({
      to: { address: 'friend@example.test' },
      subject: 'Withdrawn: the ticket offered to you for Concert',
      messageIdHeader: `<ticket-transfer-withdrawn.${TRANSFER}@boxoffice.local>`,
    });
    expect(offered.sent[0].text).toContain('Grace <Buyer> (grace@example.test) withdrew the ticket offered to you');
    expect(offered.sent[0].html).not.toContain('Grace <Buyer>');
    expect(await offered.service.deliver(message('withdrawn'))).toBe('already-sent');
    expect(offered.sent).toHaveLength(1);

    // Ended with its ticket (the purchase canceled or refunded, the show canceled), on the queue's stream.
    const withTicket = serviceWith({ ...withdrawn, cancelReason: 'PURCHASE_CANCELED' }, [
      `ticket-transfer-offered:${TRANSFER}`,
    ]);
    expect(await withTicket.service.deliver(message('withdrawn'), 'bulk')).toBe('sent');
    expect(withTicket.sent[0].stream).toBe('bulk');
    expect(withTicket.sent[0].text).toContain('was canceled (its purchase was canceled or refunded');
  });

  it('records the start the offer told, and with TICKET_TRANSFER_URL gives the link and still the routes', async () => {
    const settings = parseEnv({ TICKET_TRANSFER_URL: 'https://shop.example.com/transfers/{transferId}' }) as Env;
    const { service, sent, recorded } = serviceWith(facts(TicketTransferStatus.Pending), [], { settings });
    expect(await service.deliver(message('offered'))).toBe('sent');
    expect(recorded).toEqual([
      expect.objectContaining({ messageId: OFFERED, startsAt: facts(TicketTransferStatus.Pending).startsAt }),
    ]);
    expect(sent[0].text).toContain(`https://shop.example.com/transfers/${TRANSFER}`);
    expect(sent[0].html).toContain(`<a href="https://shop.example.com/transfers/${TRANSFER}">`);
    expect(sent[0].text).toContain(`POST /api/v1/ticket-transfers/${TRANSFER}/accept`);
  });

  it('re-offers a pending offer after a move, once: the new start, the one told, the effective expiry, on the bulk stream', async () => {
    const settings = parseEnv({ TICKET_TRANSFER_URL: 'https://shop.example.com/transfers/{transferId}' }) as Env;
    const pending = facts(TicketTransferStatus.Pending);
    const { service, sent, recorded } = serviceWith(pending, [OFFERED], { told: BEFORE, settings });
    expect(await service.deliver(rescheduled, 'bulk')).toBe('sent');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      to: { address: 'friend@example.test' },
      stream: 'bulk',
      subject: 'New date: the ticket Grace <Buyer> offered you for Concert',
      messageIdHeader: `<ticket-transfer-rescheduled.${MOVE}.${TRANSFER}@boxoffice.local>`,
    });
    expect(sent[0].text).toContain('it now starts Thursday, 10 December 2026, 20:00 UTC+01:00 (Europe/Berlin)');
    expect(sent[0].text).toContain('it was to start Saturday, 12 December 2026, 20:00 UTC+01:00 (Europe/Berlin)');
    expect(sent[0].text).toContain('The offer stands until Tuesday, 8 December 2026, 11:00 UTC+01:00 (Europe/Berlin)');
    expect(sent[0].text).toContain(`https://shop.example.com/transfers/${TRANSFER}`);
    expect(recorded).toEqual([
      expect.objectContaining({
        messageId: `ticket-transfer-rescheduled:${MOVE}.${TRANSFER}`,
        startsAt: pending.startsAt,
      }),
    ]);
    // A redelivery of it, or a replayed move's message: nothing again.
    expect(await service.deliver(rescheduled, 'bulk')).toBe('already-sent');
    expect(sent).toHaveLength(1);
    // A start the deliveries cannot tell (none recorded, none inferred): re-offered, without what it told.
    const unknown = serviceWith(pending, [OFFERED]);
    expect(await unknown.service.deliver(rescheduled, 'bulk')).toBe('sent');
    expect(unknown.sent[0].text).not.toContain('it was to start');
  });

  it('re-offers nothing when the recipient was told the current start, or the offer e-mail never went out', async () => {
    const pending = facts(TicketTransferStatus.Pending);
    const told = serviceWith(pending, [OFFERED], { told: pending.startsAt });
    expect(await told.service.deliver(rescheduled, 'bulk')).toBe('superseded');
    const neverOffered = serviceWith(pending, [], { told: BEFORE });
    expect(await neverOffered.service.deliver(rescheduled, 'bulk')).toBe('not-confirmed');
    expect([...told.sent, ...neverOffered.sent]).toHaveLength(0);
  });

  it('re-offers nothing for an offer still pending whose ticket can no longer be used (its show canceled before the bulk refund reached it)', async () => {
    const { service, sent } = serviceWith({ ...facts(TicketTransferStatus.Pending), ticketUsable: false }, [OFFERED], {
      told: BEFORE,
    });
    expect(await service.deliver(rescheduled, 'bulk')).toBe('superseded');
    expect(sent).toHaveLength(0);
  });

  it.each([
    TicketTransferStatus.Canceled,
    TicketTransferStatus.Expired,
    TicketTransferStatus.Accepted,
    TicketTransferStatus.Declined,
  ])('re-offers nothing once the offer is %s', async (status) => {
    const { service, sent } = serviceWith(facts(status), [OFFERED], { told: BEFORE });
    expect(await service.deliver(rescheduled, 'bulk')).toBe('stale');
    expect(sent).toHaveLength(0);
  });

  it('sends nothing for a transfer that no longer exists', async () => {
    const { service, sent } = serviceWith(null);
    expect(await service.deliver(message('accepted'))).toBe('stale');
    expect(sent).toHaveLength(0);
  });
});

const HOLDER = '3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a';
const SECOND = '8a7b6c5d-4e3f-4a1b-9c2d-0e1f2a3b4c5d';
const holderMessage: TicketHolderRescheduledMessage = {
  type: TICKET_HOLDER_RESCHEDULED_TYPE,
  holderId: HOLDER,
  performanceId: 9,
  rescheduleId: MOVE,
  previousStartsAt: BEFORE.toISOString(),
};
const HOLDER_NOTICE = `ticket-transfer-holder-rescheduled:${MOVE}.${HOLDER}`;
const received = (id: string) => `ticket-transfer-received:${id}`;

function holderFacts(overrides: Partial<HolderMailFacts> = {}): HolderMailFacts {
  return {
    holder: { name: 'Ada <Friend>', email: 'ada@example.test' },
    eventTitle: 'Concert',
    venue: 'Hall',
    timeZone: 'Europe/Berlin',
    startsAt: new Date('2026-12-10T19:00:00Z'),
    performanceCanceled: false,
    seats: [
      { section: 'Floor', row: 3, rowLabel: 'C', number: 7 },
      { section: 'Floor', row: 3, rowLabel: 'C', number: 8 },
    ],
    transferIds: [TRANSFER, SECOND],
    ...overrides,
  };
}

/**
 * The service over fakes, for a holder's new-date notice: `reads` what each read of the holder's
 * facts finds (the first before the transfers' locks, the second after), `claimed` the message ids
 * with a delivery already, `told` what lastToldHolderStartsAt answers.
 */
function holderServiceWith(
  reads: (HolderMailFacts | null)[],
  claimed: string[] = [],
  { told = BEFORE }: { told?: Date | null } = {},
) {
  const sent: OutgoingEmail[] = [];
  const claims = new Set(claimed);
  const recorded: DeliveryClaim[] = [];
  const order: string[] = [];
  let read = 0;
  const transfers = {
    holderMailFacts: async (holderId: string, performanceId: number, manager: unknown) => {
      expect([holderId, performanceId]).toEqual([HOLDER, 9]);
      expect(manager).toBeDefined();
      order.push('facts');
      return reads[Math.min(read++, reads.length - 1)];
    },
  } as unknown as TicketTransfersRepository;
  const deliveries = {
    lockHolderMail: async (_manager: unknown, id: string) => {
      expect(id).toBe(HOLDER);
      order.push('holder lock');
    },
    lockTransferMail: async (_manager: unknown, id: string) => {
      order.push(`lock ${id}`);
    },
    exists: async (_manager: unknown, messageId: string) => claims.has(messageId),
    existsAny: async (_manager: unknown, messageIds: string[]) => messageIds.some((id) => claims.has(id)),
    lastToldHolderStartsAt: async (_manager: unknown, holderId: string, performanceId: number, ids: string[]) => {
      expect([holderId, performanceId, ids]).toEqual([HOLDER, 9, [TRANSFER, SECOND]]);
      return told;
    },
    claim: async (_manager: unknown, claim: DeliveryClaim) => {
      if (claims.has(claim.messageId)) return false;
      claims.add(claim.messageId);
      recorded.push(claim);
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
  const codes = new TicketCodes({ ...env, TICKET_SIGNING_SECRET: 'x'.repeat(48) } as Env);
  const clock = new FakeClock(Date.parse('2026-12-05T12:00:00Z'));
  return {
    service: new TicketTransferMailService(transfers, deliveries, transactions, mailer, clock, codes, env),
    sent,
    recorded,
    order,
  };
}

describe("TicketTransferMailService: a ticket holder's new-date notice", () => {
  it('tells the holder the new start and the one told, naming the seats it holds, once, on the bulk stream', async () => {
    const { service, sent, recorded } = holderServiceWith([holderFacts()], [received(TRANSFER)]);
    expect(await service.deliverHolderReschedule(holderMessage, 'bulk')).toBe('sent');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      to: { address: 'ada@example.test', name: 'Ada <Friend>' },
      stream: 'bulk',
      subject: 'New date: Concert',
      messageIdHeader: `<ticket-transfer-holder-rescheduled.${MOVE}.${HOLDER}@boxoffice.local>`,
    });
    expect(sent[0].text).toContain('it now starts Thursday, 10 December 2026, 20:00 UTC+01:00 (Europe/Berlin)');
    expect(sent[0].text).toContain('it was to start Saturday, 12 December 2026, 20:00 UTC+01:00 (Europe/Berlin)');
    expect(sent[0].text).toContain('Seats:     Section Floor, row C, seat 7; Section Floor, row C, seat 8');
    expect(sent[0].text).not.toContain('refund');
    expect(sent[0].html).toContain('Hello Ada &lt;Friend&gt;,');
    expect(recorded).toEqual([
      { messageId: HOLDER_NOTICE, purchaseId: null, recipient: 'ada@example.test', startsAt: holderFacts().startsAt },
    ]);
    // A redelivery, or the move's fan-out run again: nothing twice.
    expect(await service.deliverHolderReschedule(holderMessage, 'bulk')).toBe('already-sent');
    expect(sent).toHaveLength(1);
  });

  it("decides under the holder's lock, then the locks of the transfers it holds by, reading again after them", async () => {
    const { service, order } = holderServiceWith([holderFacts()], [received(SECOND)]);
    expect(await service.deliverHolderReschedule(holderMessage, 'bulk')).toBe('sent');
    expect(order).toEqual(['holder lock', 'facts', `lock ${TRANSFER}`, `lock ${SECOND}`, 'facts']);
  });

  it('sends nothing to an account that holds none of the tickets any more (passed on again, canceled), also after the locks', async () => {
    const none = holderServiceWith([null], [received(TRANSFER)]);
    expect(await none.service.deliverHolderReschedule(holderMessage, 'bulk')).toBe('stale');
    const gone = holderServiceWith([holderFacts(), null], [received(TRANSFER)]);
    expect(await gone.service.deliverHolderReschedule(holderMessage, 'bulk')).toBe('stale');
    expect([...none.sent, ...gone.sent]).toHaveLength(0);
  });

  it('sends nothing for a canceled show, before any "received" e-mail went out, or when the holder was told the current start', async () => {
    const canceled = holderServiceWith([holderFacts({ performanceCanceled: true })], [received(TRANSFER)]);
    expect(await canceled.service.deliverHolderReschedule(holderMessage, 'bulk')).toBe('superseded');
    const unreceived = holderServiceWith([holderFacts()]);
    expect(await unreceived.service.deliverHolderReschedule(holderMessage, 'bulk')).toBe('not-confirmed');
    const told = holderServiceWith([holderFacts()], [received(TRANSFER)], { told: holderFacts().startsAt });
    expect(await told.service.deliverHolderReschedule(holderMessage, 'bulk')).toBe('superseded');
    expect([...canceled.sent, ...unreceived.sent, ...told.sent]).toHaveLength(0);
  });

  it('takes the start before this move as told when no "received" e-mail recorded one (an earlier mailer)', async () => {
    const moved = { ...holderMessage, previousStartsAt: '2026-12-11T19:00:00.000Z' };
    const { service, sent } = holderServiceWith([holderFacts()], [received(TRANSFER)], { told: null });
    expect(await service.deliverHolderReschedule(moved, 'bulk')).toBe('sent');
    expect(sent[0].text).toContain('it was to start Friday, 11 December 2026, 20:00 UTC+01:00 (Europe/Berlin)');
    // A move back to the start it was told: nothing.
    const back = holderServiceWith([holderFacts()], [received(TRANSFER)], { told: null });
    const movedBack = { ...holderMessage, previousStartsAt: holderFacts().startsAt.toISOString() };
    expect(await back.service.deliverHolderReschedule(movedBack, 'bulk')).toBe('superseded');
  });
});
