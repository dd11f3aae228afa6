import { describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import { TicketPrintsRepository, TicketRecord, TicketsRepository, TicketStatus } from '@app/database';
import { printedTicket, STARTS_AT, ticketRow } from '../../test/printable-tickets-fixture';
import type { BookingDescriber } from '../catalog/booking-details';
import { NotFoundError } from '../errors';
import type { Purchase } from '../purchases/purchase';
import type { PurchaseReader } from '../purchases/purchase-reader';
import { PrintableTickets, TICKET_PRINT_LIMIT } from './printable-tickets';
import type { TicketAheadPointers } from './ticket-ahead-pointers';
import type { TicketCodes } from './ticket-codes';
import {
  CanceledPurchaseTicketsError,
  NoTicketsToPrintError,
  TicketCanceledError,
  TicketsNotIssuedError,
  TooManyTicketPrintsError,
} from './ticket.errors';

/** The print counter's calls of the newest {@link printable}: account id and limit. */
let counted: ReturnType<typeof vi.fn>;

/** `options.wait`: what the print counter answers (seconds until one more is counted; null: counted). */
function printable(
  options: { purchase?: Partial<Purchase> | null; rows?: ReturnType<typeof ticketRow>[] | null; wait?: number } = {},
) {
  const purchase =
    options.purchase === null
      ? null
      : ({
          id: 'p1',
          userId: 'buyer',
          performanceId: 7,
          seatIds: [1, 2, 3],
          seatPrices: [198000, 198000, 0],
          currency: 'KRW',
          status: 'PAID',
          ...options.purchase,
        } as Purchase);
  const purchases = {
    get: vi.fn(async (userId: string) => {
      if (!purchase || purchase.userId !== userId || purchase.paymentMethod) throw new NotFoundError('purchase');
      return purchase;
    }),
    find: vi.fn(async () => purchase),
  };
  const tickets = {
    printableOf: vi.fn(async () =>
      options.rows === null
        ? null
        : { userId: 'buyer', tickets: options.rows ?? [ticketRow(1), ticketRow(2), ticketRow(3)] },
    ),
    locate: vi.fn(async (ticketId: string) => (ticketId.startsWith('t') ? { purchaseId: 'p1' } : null)),
    // The seats' facts in layout order, which here runs against the ids (seat 3 first).
    seatsOf: vi.fn(async (_performanceId: number, seatIds: number[]) =>
      [...seatIds]
        .sort((a, b) => b - a)
        .map((seatId) => ({ seatId, section: 'Floor', row: 1, rowLabel: 'A', number: seatId })),
    ),
  };
  // The seats the purchase still has, each at what it was bought for (BookingDescriber).
  const describer = {
    describe: vi.fn(async (work: Promise<Purchase>) => {
      const booking = await work;
      return {
        ...booking,
        details: {
          eventTitle: 'Gala',
          venue: 'Hall',
          timeZone: 'Asia/Seoul',
          startsAt: STARTS_AT,
          seats: booking.seatIds.map((id, index) => ({ id, price: booking.seatPrices![index]! })),
        },
      };
    }),
  };
  const codes = { sign: vi.fn((ticket: TicketRecord) => `code-${ticket.ticketId}-v${ticket.codeVersion}`) };
  const env = { PURCHASE_FLUSH_AGE_SECONDS: 5 } as Env;
  return new PrintableTickets(
    purchases as unknown as PurchaseReader,
    tickets as unknown as TicketsRepository,
    describer as unknown as BookingDescriber,
    codes as unknown as TicketCodes,
    env,
    { count: (counted = vi.fn(async () => options.wait ?? null)) } as unknown as TicketPrintsRepository,
    // No ticket of these is a window sale's taken ahead of its flush (the e2e covers those).
    { purchaseOf: vi.fn(async () => null) } as unknown as TicketAheadPointers,
  );
}

const buyer = { id: 'buyer', admin: false };
const admin = { id: 'admin', admin: true };

describe('PrintableTickets.ofPurchase', () => {
  it('prints every ticket that admits, with its facts, price, holder and the code of its version', async () => {
    const printed = await printable({
      rows: [ticketRow(1), ticketRow(2, { codeVersion: 2, holderId: 'buyer' })],
    }).ofPurchase(buyer, 'p1');
    expect(printed).toEqual([
      printedTicket(),
      // Passed back to the buyer by a later transfer: the buyer's again, with that version's code.
      expect.objectContaining({ ticketId: 't2', code: 'code-t2-v2' }),
    ]);
  });

  it('leaves out canceled tickets, tickets transferred away and seats refunded (also while only in Redis)', async () => {
    const printed = await printable({
      // Seat 2 refunded: no longer among the purchase's seats, though PostgreSQL has its ticket ACTIVE.
      purchase: { seatIds: [1, 3, 4], seatPrices: [198000, 0, 198000] },
      rows: [
        ticketRow(1),
        ticketRow(2),
        ticketRow(3, { holderId: 'friend' }),
        ticketRow(4, { status: TicketStatus.Canceled }),
      ],
    }).ofPurchase(buyer, 'p1');
    expect(printed.map((ticket) => ticket.ticketId)).toEqual(['t1']);
  });

  it('prints an unwritten window sale for an admin at once, from the ids it took ahead; an unwritten online purchase is TicketsNotIssued', async () => {
    const sale = {
      purchase: { userId: 'clerk', paymentMethod: 'CASH' as const, ticketIds: ['901', '902', '903'] },
      rows: null,
    };
    const printed = await printable(sale).ofPurchase(admin, 'p1');
    expect(printed.map((ticket) => ticket.code)).toEqual(['code-903-v0', 'code-902-v0', 'code-901-v0']);
    await expect(printable({ rows: null }).ofPurchase(admin, 'p1')).rejects.toThrow(TicketsNotIssuedError);
  });

  it("prints anyone's purchase for an admin, a box office sale too; its seller and others get NotFound", async () => {
    const sale = { purchase: { userId: 'clerk', paymentMethod: 'CASH' as const } };
    expect(await printable(sale).ofPurchase(admin, 'p1')).toHaveLength(3);
    await expect(printable(sale).ofPurchase({ id: 'clerk', admin: false }, 'p1')).rejects.toThrow(NotFoundError);
    await expect(printable().ofPurchase({ id: 'other', admin: false }, 'p1')).rejects.toThrow(NotFoundError);
    await expect(printable({ purchase: null }).ofPurchase(admin, 'p1')).rejects.toThrow(NotFoundError);
  });

  it('refuses a canceled purchase, one not written yet, and one whose every ticket was passed on', async () => {
    await expect(printable({ purchase: { status: 'CANCELED' } }).ofPurchase(buyer, 'p1')).rejects.toThrow(
      CanceledPurchaseTicketsError,
    );
    const early = printable({ rows: null }).ofPurchase(buyer, 'p1');
    await expect(early).rejects.toThrow(TicketsNotIssuedError);
    await expect(early).rejects.toMatchObject({ retryAfterSeconds: 6 });
    await expect(
      printable({ rows: [ticketRow(1, { holderId: 'friend' }), ticketRow(2, { holderId: 'friend' })] }).ofPurchase(
        buyer,
        'p1',
      ),
    ).rejects.toThrow(NoTicketsToPrintError);
  });
});

describe('PrintableTickets: the print limit', () => {
  const buyerLimit = { maxIssued: 20, windowMs: 15 * 60_000 };
  const operatorLimit = { maxIssued: 120, windowMs: 15 * 60_000 };

  it("counts a render under the caller's bound: a buyer's, an admin's and the window's the operator's", async () => {
    expect(TICKET_PRINT_LIMIT.buyer.perWindow).toBeLessThan(TICKET_PRINT_LIMIT.operator.perWindow);
    await printable().ofPurchase(buyer, 'p1');
    expect(counted).toHaveBeenCalledWith('buyer', buyerLimit);
    await printable().ofTicket(buyer, 't1');
    expect(counted).toHaveBeenCalledWith('buyer', buyerLimit);
    await printable().ofPurchase(admin, 'p1');
    expect(counted).toHaveBeenCalledWith('admin', operatorLimit);
    await printable({ purchase: { userId: 'clerk', paymentMethod: 'CASH' } }).ofBoxOfficeSale(
      { id: 'clerk', admin: false },
      'p1',
    );
    expect(counted).toHaveBeenCalledWith('clerk', operatorLimit);
  });

  it('refuses past the limit with 429 TooManyTicketPrints and Retry-After', async () => {
    const refused = printable({ wait: 42 }).ofPurchase(buyer, 'p1');
    await expect(refused).rejects.toThrow(TooManyTicketPrintsError);
    await expect(refused).rejects.toMatchObject({
      code: 'TooManyTicketPrints',
      retryAfterSeconds: 42,
      details: { code: 'TooManyTicketPrints', perWindow: 20, windowMinutes: 15 },
    });
    await expect(printable({ wait: 42 }).ofTicket(buyer, 't1')).rejects.toThrow(TooManyTicketPrintsError);
  });

  it('counts nothing for a request that renders nothing (404, 409)', async () => {
    await expect(printable().ofPurchase({ id: 'other', admin: false }, 'p1')).rejects.toThrow(NotFoundError);
    expect(counted).not.toHaveBeenCalled();
    await expect(printable({ purchase: { status: 'CANCELED' } }).ofPurchase(buyer, 'p1')).rejects.toThrow(
      CanceledPurchaseTicketsError,
    );
    expect(counted).not.toHaveBeenCalled();
    await expect(printable({ rows: [ticketRow(1, { holderId: 'friend' })] }).ofPurchase(buyer, 'p1')).rejects.toThrow(
      NoTicketsToPrintError,
    );
    expect(counted).not.toHaveBeenCalled();
    await expect(printable().ofTicket({ id: 'other', admin: false }, 't1')).rejects.toThrow(NotFoundError);
    expect(counted).not.toHaveBeenCalled();
  });
});

describe('PrintableTickets.ofBoxOfficeSale', () => {
  const clerk = { id: 'clerk', admin: false };
  /** A window sale of seats 1-3 by `clerk`, its ticket ids taken ahead (in the order of its seats). */
  const sale = (purchase: Partial<Purchase> = {}, rows: ReturnType<typeof ticketRow>[] | null = null) =>
    printable({
      purchase: {
        userId: 'clerk',
        paymentMethod: 'CASH',
        deliveryName: 'Jin Park',
        ticketIds: ['901', '902', '903'],
        ...purchase,
      },
      rows,
    });

  it('prints a sale not written yet from the ids it took ahead: code version 0, the walk-up as holder, in layout order', async () => {
    const printed = await sale().ofBoxOfficeSale(clerk, 'p1');
    expect(printed.map((ticket) => [ticket.ticketId, ticket.seat.number, ticket.code])).toEqual([
      ['903', 3, 'code-903-v0'],
      ['902', 2, 'code-902-v0'],
      ['901', 1, 'code-901-v0'],
    ]);
    expect(printed[2]).toEqual(printedTicket({ ticketId: '901', holderName: 'Jin Park', code: 'code-901-v0' }));
  });

  it('prints a written sale from its rows, as the purchase is printed', async () => {
    const checkedInAt = new Date('2030-03-01T09:30:00Z');
    const printed = await sale({}, [
      ticketRow(1, { checkedInAt, holderName: 'Jin Park' }),
      ticketRow(2),
    ]).ofBoxOfficeSale(clerk, 'p1');
    expect(printed.map((ticket) => [ticket.ticketId, ticket.checkedInAt])).toEqual([
      ['t1', checkedInAt],
      ['t2', null],
    ]);
  });

  it("prints a clerk's own window sales and, for an admin, any; anything else is NotFound", async () => {
    expect(await sale().ofBoxOfficeSale(admin, 'p1')).toHaveLength(3);
    await expect(sale().ofBoxOfficeSale({ id: 'other-clerk', admin: false }, 'p1')).rejects.toThrow(NotFoundError);
    await expect(printable().ofBoxOfficeSale(admin, 'p1')).rejects.toThrow(NotFoundError);
    await expect(printable().ofBoxOfficeSale(buyer, 'p1')).rejects.toThrow(NotFoundError);
    // A guest comp is the venue's too, yet no window sale.
    const comp = printable({ purchase: { userId: 'admin', deliveryEmail: 'press@example.test' } });
    await expect(comp.ofBoxOfficeSale(admin, 'p1')).rejects.toThrow(NotFoundError);
    await expect(printable({ purchase: null }).ofBoxOfficeSale(admin, 'p1')).rejects.toThrow(NotFoundError);
  });

  it('leaves a refunded seat out; refuses a refunded sale and one without its ticket ids', async () => {
    const partly = sale({ seatIds: [1, 3], seatPrices: [198000, 0], ticketIds: ['901', '903'] });
    expect((await partly.ofBoxOfficeSale(clerk, 'p1')).map((ticket) => ticket.ticketId)).toEqual(['903', '901']);
    await expect(sale({ status: 'CANCELED' }).ofBoxOfficeSale(clerk, 'p1')).rejects.toThrow(
      CanceledPurchaseTicketsError,
    );
    const withoutIds = sale({ ticketIds: undefined }).ofBoxOfficeSale(clerk, 'p1');
    await expect(withoutIds).rejects.toThrow(TicketsNotIssuedError);
    await expect(withoutIds).rejects.toMatchObject({ retryAfterSeconds: 6 });
  });
});

describe('PrintableTickets.ofTicket', () => {
  const passedOn = [ticketRow(1, { holderId: 'friend', holderName: 'Ada Friend', codeVersion: 1 }), ticketRow(2)];

  it('prints a ticket for whoever holds it now: its receiver, with the new code and name', async () => {
    const ticket = await printable({ rows: passedOn }).ofTicket({ id: 'friend', admin: false }, 't1');
    expect(ticket).toMatchObject({ ticketId: 't1', holderName: 'Ada Friend', code: 'code-t1-v1' });
    expect(await printable({ rows: passedOn }).ofTicket(buyer, 't2')).toMatchObject({ ticketId: 't2' });
    expect(await printable({ rows: passedOn }).ofTicket(admin, 't1')).toMatchObject({ ticketId: 't1' });
  });

  it("is NotFound to anyone else: the buyer who gave it away, a box office sale's seller, a stranger, an unknown id", async () => {
    await expect(printable({ rows: passedOn }).ofTicket(buyer, 't1')).rejects.toThrow(NotFoundError);
    const sale = printable({ purchase: { userId: 'clerk', paymentMethod: 'CASH' } });
    await expect(sale.ofTicket({ id: 'clerk', admin: false }, 't1')).rejects.toThrow(NotFoundError);
    await expect(printable().ofTicket({ id: 'other', admin: false }, 't1')).rejects.toThrow(NotFoundError);
    await expect(printable().ofTicket(admin, '999')).rejects.toThrow(NotFoundError);
    await expect(printable({ rows: null }).ofTicket(buyer, 't1')).rejects.toThrow(NotFoundError);
  });

  it('refuses a ticket canceled, refunded or of a canceled purchase (TicketCanceled), after the holder check', async () => {
    await expect(printable({ purchase: { status: 'CANCELED' } }).ofTicket(buyer, 't1')).rejects.toThrow(
      TicketCanceledError,
    );
    await expect(
      printable({ purchase: { seatIds: [2, 3], seatPrices: [1, 1] } }).ofTicket(buyer, 't1'),
    ).rejects.toThrow(TicketCanceledError);
    await expect(
      printable({ rows: [ticketRow(1, { status: TicketStatus.Canceled })] }).ofTicket(buyer, 't1'),
    ).rejects.toThrow(TicketCanceledError);
    await expect(
      printable({ purchase: { status: 'CANCELED' } }).ofTicket({ id: 'other', admin: false }, 't1'),
    ).rejects.toThrow(NotFoundError);
  });
});
