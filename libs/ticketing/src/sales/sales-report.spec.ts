import { describe, expect, it } from 'vitest';
import { PurchaseStatus } from '@app/database';
import type { PerformanceSalesRows } from '@app/database';
import { eventSections, performanceReport as reportOf, ReportOptions } from './sales-report';
import type { LiveSales } from './sales.store';

const seats = [
  { id: 1, section: 'A', price: 100 },
  { id: 2, section: 'A', price: 100 },
  { id: 3, section: 'B', price: 40 },
];
const lifecycle: PerformanceSalesRows['lifecycle'] = {
  status: 'ON_SALE',
  salesOpenAt: new Date(0),
  salesCloseAt: null,
  startsAt: new Date(10_000),
};
type TestPurchase = Omit<
  PerformanceSalesRows['purchases'][number],
  'checkedInSeatIds' | 'checkIns' | 'windowRefund' | 'windowPartialRefunds' | 'presale'
> & {
  presale?: boolean;
  checkedInSeatIds?: number[];
  checkIns?: PerformanceSalesRows['purchases'][number]['checkIns'];
  windowRefund?: 'OWED' | 'PAID' | null;
  windowPartialRefunds?: PerformanceSalesRows['purchases'][number]['windowPartialRefunds'];
};
const rows = (purchases: TestPurchase[]): PerformanceSalesRows => ({
  currency: 'EUR',
  lifecycle,
  checkInWindow: { checkInOpensBeforeMinutes: null, checkInClosesAfterMinutes: null },
  seats,
  purchases: purchases.map((purchase) => ({
    checkedInSeatIds: [],
    checkIns: [],
    windowRefund: null,
    windowPartialRefunds: [],
    presale: false,
    ...purchase,
  })),
});
/**
 * A persisted purchase row: p1, PAID online (no comp, no payment method), 140 EUR cents for seats
 * 1 and 3 at their prices then (100 and 40); `overrides` change what a case is about.
 */
const purchaseRow = (overrides: Partial<TestPurchase> = {}): TestPurchase => ({
  id: 'p1',
  status: PurchaseStatus.Paid,
  comp: false,
  paymentMethod: null,
  amount: 140,
  currency: 'EUR',
  seatIds: [1, 3],
  seatPrices: [100, 40],
  ...overrides,
});
/** The report, its check-in not closed unless `options` say so. */
const performanceReport = (
  report: PerformanceSalesRows,
  sales: LiveSales,
  options: ReportOptions = { checkInClosed: false },
) => reportOf(report, sales, options);
const live = (pending: LiveSales['pending'], statuses: Record<string, string> = {}): LiveSales => ({
  pending,
  seats: statuses,
  seatHolds: {},
  houseSeats: new Set(),
  now: 1_000,
});
const record = { id: 'p1', seats: '1,3', amount: '140', status: 'PAID' };

describe('performanceReport', () => {
  it('counts a purchase seen in Redis and in PostgreSQL (flushed between the reads) once', () => {
    const report = performanceReport(rows([purchaseRow()]), live([{ type: 'purchase', record }]));
    expect(report.totals).toMatchObject({ sold: 2, revenue: 140, purchases: 1, cancellations: 0, available: 1 });
    expect(report.sections.map((s) => [s.name, s.sold, s.revenue])).toEqual([
      ['A', 1, 100],
      ['B', 1, 40],
    ]);
  });

  it('splits revenue by channel and, for the window, by payment method, flushed or not; a refund takes its share out', () => {
    const paid = { status: PurchaseStatus.Paid, comp: false, currency: 'EUR', seatPrices: [100] };
    const report = performanceReport(
      rows([
        { ...paid, id: 'online', paymentMethod: null, amount: 100, seatIds: [1] },
        { ...paid, id: 'cash', paymentMethod: 'CASH', amount: 100, seatIds: [2] },
        { ...paid, id: 'refunded', status: PurchaseStatus.Canceled, paymentMethod: 'CASH', amount: 40, seatIds: [3] },
      ]),
      live([
        {
          type: 'purchase',
          record: { id: 'card', seats: '3', amount: '40', prices: '40', status: 'PAID', boxOffice: 'CARD_TERMINAL' },
        },
      ]),
    );
    expect(report.totals).toMatchObject({
      revenue: 240,
      onlineRevenue: 100,
      boxOfficeRevenue: 140,
      cashRevenue: 100,
      cardTerminalRevenue: 40,
      purchases: 4,
      cancellations: 1,
      boxOfficePurchases: 3,
      boxOfficeCancellations: 1,
    });
    expect(report.sections.map((s) => [s.name, s.onlineRevenue, s.cashRevenue, s.cardTerminalRevenue])).toEqual([
      ['A', 100, 100, 0],
      ['B', 0, 0, 40],
    ]);
  });

  it("counts presale purchases apart, written (presale) or in the stream (its entry's presale), by what each seat brought", () => {
    const written = purchaseRow({ presale: true });
    const general = purchaseRow({ id: 'p3', seatIds: [2], seatPrices: [100], amount: 100 });
    const inRedis = { ...record, id: 'p2', seats: '2', amount: '100', prices: '100', presale: '7' };
    for (const [flushed, pending] of [
      [[written, general], []],
      [[general], [{ type: 'purchase' as const, record: { ...record, presale: '7' } }]],
    ] as const) {
      const report = performanceReport(rows([...flushed]), live([...pending]));
      expect(report.totals).toMatchObject({ purchases: 2, revenue: 240, presalePurchases: 1, presaleRevenue: 140 });
      expect(report.sections.map((s) => [s.name, s.presalePurchases, s.presaleRevenue])).toEqual([
        ['A', 1, 100],
        ['B', 1, 40],
      ]);
    }
    const both = performanceReport(rows([]), live([{ type: 'purchase', record: inRedis }]));
    expect(both.totals).toMatchObject({ presalePurchases: 1, presaleRevenue: 100 });
  });

  it('counts blocked seats (letter B) as blocked, not available', () => {
    const report = performanceReport(rows([]), live([], { '1': 'B', '2': 'A', '3': 'B' }));
    expect(report.totals).toMatchObject({ seatsTotal: 3, blocked: 2, available: 1, sold: 0, held: 0 });
    expect(report.sections.map((s) => [s.name, s.blocked, s.available])).toEqual([
      ['A', 1, 1],
      ['B', 1, 0],
    ]);
  });

  it('keeps a cancellation whichever side knows it', () => {
    const canceledInPostgres = performanceReport(
      rows([purchaseRow({ status: PurchaseStatus.Canceled })]),
      live([{ type: 'purchase', record }]),
    );
    const canceledInRedis = performanceReport(rows([purchaseRow()]), live([{ type: 'cancel', purchaseId: 'p1' }]));
    for (const report of [canceledInPostgres, canceledInRedis]) {
      expect(report.totals).toMatchObject({ sold: 0, revenue: 0, purchases: 1, cancellations: 1, available: 3 });
    }
  });

  it('counts a seat a refund kept sold (live S, no paid purchase has it) as sold and kept, whole or partial, written or in Redis', () => {
    const wholeRefund = performanceReport(
      rows([purchaseRow({ status: PurchaseStatus.Canceled })]),
      live([], { '1': 'S', '3': 'A' }),
    );
    expect(wholeRefund.totals).toMatchObject({ sold: 1, kept: 1, available: 2, revenue: 0 });
    // Seat 1 refunded with resellCheckedInSeats false: PostgreSQL took it off the purchase, or the
    // refund is still only in the purchase stream.
    const partialWritten = performanceReport(
      rows([purchaseRow({ amount: 40, seatIds: [3], seatPrices: [40] })]),
      live([], { '1': 'S', '3': 'S' }),
    );
    const partialInRedis = performanceReport(
      rows([purchaseRow()]),
      live([{ type: 'refund', purchaseId: 'p1', seatIds: [1], amount: 100 }], { '1': 'S', '3': 'S' }),
    );
    for (const report of [partialWritten, partialInRedis]) {
      expect(report.totals).toMatchObject({ seatsTotal: 3, sold: 2, kept: 1, available: 1, revenue: 40 });
      expect(report.sections.map((s) => [s.name, s.sold, s.kept, s.available])).toEqual([
        ['A', 1, 1, 1],
        ['B', 1, 0, 0],
      ]);
    }
  });

  it('books each seat at what it was sold at, before and after the flush, whatever the prices now', () => {
    // Seat 3 (B, 40 now) was sold at 50 and seat 1 (A, 100 now) at 100: the section was repriced since.
    const sold = {
      id: 'p1',
      status: PurchaseStatus.Paid,
      comp: false,
      paymentMethod: null,
      amount: 150,
      currency: 'EUR',
      seatIds: [1, 3],
    };
    const inRedis = performanceReport(
      rows([]),
      live([{ type: 'purchase', record: { ...record, seats: '3,1', amount: '150', prices: '50,100' } }]),
    );
    const inPostgres = performanceReport(rows([{ ...sold, seatPrices: [100, 50] }]), live([]));
    for (const [side, report] of [
      ['Redis', inRedis],
      ['PostgreSQL', inPostgres],
    ] as const) {
      expect(
        report.sections.map((s) => [s.name, s.revenue]),
        side,
      ).toEqual([
        ['A', 100],
        ['B', 50],
      ]);
      expect(report.totals.revenue, side).toBe(150);
    }
  });

  it('splits a purchase without recorded prices by the prices now, never below 0, exact in total', () => {
    // 150 over A 100 and B 40: 107.14 and 42.86, the leftover unit to B.
    const inRedis = performanceReport(rows([]), live([{ type: 'purchase', record: { ...record, amount: '150' } }]));
    const inPostgres = performanceReport(rows([purchaseRow({ amount: 150, seatPrices: null })]), live([]));
    for (const [side, report] of [
      ['Redis', inRedis],
      ['PostgreSQL', inPostgres],
    ] as const) {
      expect(
        report.sections.map((s) => s.revenue),
        side,
      ).toEqual([107, 43]);
      expect(report.totals.revenue, side).toBe(150);
    }
    // B repriced far above what was paid: the old rule booked A -99,998,500.
    const repriced = performanceReport(
      { ...rows([]), seats: seats.map((seat) => (seat.section === 'B' ? { ...seat, price: 100_000_000 } : seat)) },
      live([{ type: 'purchase', record: { ...record, amount: '140' } }]),
    );
    expect(repriced.sections.map((s) => s.revenue)).toEqual([0, 140]);
    // Every seat free now: an equal split.
    const free = performanceReport(
      { ...rows([]), seats: seats.map((seat) => ({ ...seat, price: 0 })) },
      live([{ type: 'purchase', record: { ...record, amount: '141' } }]),
    );
    expect(free.sections.map((s) => s.revenue)).toEqual([71, 70]);
  });

  it('gives a canceled purchase no revenue, recorded prices or not', () => {
    const report = performanceReport(
      rows([purchaseRow({ status: PurchaseStatus.Canceled })]),
      live([
        { type: 'purchase', record: { ...record, id: 'p2', seats: '2', amount: '90', prices: '90' } },
        { type: 'cancel', purchaseId: 'p2' },
      ]),
    );
    expect(report.sections.map((s) => [s.name, s.revenue, s.sold, s.cancellations])).toEqual([
      ['A', 0, 0, 2],
      ['B', 0, 0, 1],
    ]);
  });

  it('counts a live hold as held and an expired one as available', () => {
    const report = performanceReport(rows([]), {
      ...live([], { '1': 'H', '2': 'H', '3': 'A' }),
      seatHolds: { '1': '2000:h1', '2': '500:h2' },
    });
    expect(report.totals).toMatchObject({ held: 1, available: 2 });
  });

  it("counts an expired comp's house seats (fromBlock) as blocked, its other seats as available", () => {
    const report = performanceReport(rows([]), {
      ...live([], { '1': 'H', '2': 'H', '3': 'H' }),
      seatHolds: { '1': '500:comp', '2': '500:comp', '3': '500:comp' },
      houseSeats: new Set(['1', '2']),
    });
    expect(report.totals).toMatchObject({ held: 0, blocked: 2, available: 1 });
    expect(report.sections.map((s) => [s.name, s.blocked, s.available])).toEqual([
      ['A', 2, 0],
      ['B', 0, 1],
    ]);
  });
});

describe('seats no longer for sale', () => {
  it.each<[string, Partial<PerformanceSalesRows['lifecycle']>, boolean, number]>([
    ['on sale', {}, false, 2],
    ['paused (the operator may resume)', { status: 'PAUSED' }, false, 2],
    ['canceled', { status: 'CANCELED' }, false, 0],
    ['past its sales close time (the window still sells)', { salesCloseAt: new Date(500) }, false, 2],
    ['started, its check-in still open (the window sells until it closes)', { startsAt: new Date(1_000) }, false, 2],
    ['closed by status, its check-in still open (tickets at the door)', { status: 'CLOSED' }, false, 2],
    ['started, its check-in closed', { startsAt: new Date(1_000) }, true, 0],
    ['closed by status, its check-in closed', { status: 'CLOSED' }, true, 0],
  ])('counts the free seats of a performance %s as available or unsold', (_what, change, checkInClosed, available) => {
    const report = performanceReport(
      { ...rows([]), lifecycle: { ...lifecycle, ...change } },
      live([], { '1': 'B', '2': 'A', '3': 'A' }),
      { checkInClosed },
    );
    expect(report.totals).toMatchObject({ seatsTotal: 3, blocked: 1, available, unsold: 2 - available });
    const unsold = report.sections.reduce((sum, section) => sum + section.unsold, 0);
    expect(unsold).toBe(2 - available);
  });
});

describe('check-ins and no-shows', () => {
  const paid = { status: PurchaseStatus.Paid, currency: 'EUR', paymentMethod: null, comp: false };
  const purchases = () =>
    rows([
      // An online sale with one of two tickets in; a comp in; a box office sale not in.
      { ...paid, id: 'online', amount: 140, seatIds: [1, 3], seatPrices: [100, 40], checkedInSeatIds: [1] },
      { ...paid, id: 'comp', comp: true, amount: 0, seatIds: [2], seatPrices: [0], checkedInSeatIds: [2] },
    ]);

  it('counts the checked-in tickets of every kind, and no no-shows while check-in is open', () => {
    const report = performanceReport(purchases(), live([]));
    expect(report.totals).toMatchObject({ sold: 3, checkedIn: 2, noShows: 0 });
    expect(report.sections.map((s) => [s.name, s.checkedIn, s.noShows])).toEqual([
      ['A', 2, 0],
      ['B', 0, 0],
    ]);
  });

  it('counts the checked-in tickets per door (scanning account), by e-mail, summing to checkedIn', () => {
    const gate = (id: string, at: number) => ({
      accountId: id,
      email: `${id}@venue.test`,
      name: id,
      checkedInAt: new Date(at),
    });
    const report = performanceReport(
      rows([
        {
          ...paid,
          id: 'online',
          amount: 140,
          seatIds: [1, 3],
          seatPrices: [100, 40],
          checkedInSeatIds: [1, 3],
          checkIns: [
            { seatId: 1, ...gate('gate-2', 2_000) },
            { seatId: 3, ...gate('gate-1', 1_000) },
          ],
        },
        {
          ...paid,
          id: 'comp',
          comp: true,
          amount: 0,
          seatIds: [2],
          seatPrices: [0],
          checkedInSeatIds: [2],
          checkIns: [{ seatId: 2, ...gate('gate-2', 3_000) }],
        },
      ]),
      live([]),
    );
    expect(report.totals.checkedIn).toBe(3);
    expect(report.byDoor).toEqual([
      { accountId: 'gate-1', email: 'gate-1@venue.test', name: 'gate-1', admitted: 1, lastCheckInAt: new Date(1_000) },
      { accountId: 'gate-2', email: 'gate-2@venue.test', name: 'gate-2', admitted: 2, lastCheckInAt: new Date(3_000) },
    ]);
  });

  it('counts the sold tickets never checked in as no-shows once check-in has closed', () => {
    const report = performanceReport(purchases(), live([]), { checkInClosed: true });
    expect(report.totals).toMatchObject({ sold: 3, checkedIn: 2, noShows: 1 });
    expect(report.sections.map((s) => [s.name, s.checkedIn, s.noShows])).toEqual([
      ['A', 2, 0],
      ['B', 0, 1],
    ]);
  });

  it('counts neither a checked-in ticket of a purchase canceled only in Redis nor a seat refunded in Redis', () => {
    const report = performanceReport(
      purchases(),
      live([
        { type: 'cancel', purchaseId: 'comp' },
        { type: 'refund', purchaseId: 'online', seatIds: [1], amount: 100 },
      ]),
      { checkInClosed: true },
    );
    // The online sale keeps seat 3, never checked in: the one no-show.
    expect(report.totals).toMatchObject({ sold: 1, checkedIn: 0, noShows: 1 });
  });
});

describe('section names in any casing (sectionNameKey)', () => {
  it('groups the seats of "Floor" and "floor" of one performance as one section, named as its first seat has it', () => {
    const report = performanceReport(
      {
        currency: 'EUR',
        lifecycle,
        checkInWindow: { checkInOpensBeforeMinutes: null, checkInClosesAfterMinutes: null },
        seats: [
          { id: 1, section: 'Floor', price: 100 },
          { id: 2, section: 'floor ', price: 100 },
          { id: 3, section: 'B', price: 40 },
        ],
        purchases: [
          {
            ...purchaseRow({ amount: 200, seatIds: [1, 2], seatPrices: [100, 100] }),
            presale: false,
            windowRefund: null,
            windowPartialRefunds: [],
            checkedInSeatIds: [],
            checkIns: [],
          },
        ],
      },
      live([]),
    );
    expect(report.sections.map((s) => [s.name, s.seatsTotal, s.sold, s.revenue, s.purchases])).toEqual([
      ['Floor', 2, 2, 200, 1],
      ['B', 1, 0, 0, 0],
    ]);
  });

  it('counts comps apart from paid sales: their seats sold and in `comps`, no revenue, in compPurchases, from either side', () => {
    const report = performanceReport(
      rows([
        purchaseRow({ amount: 100, seatIds: [1], seatPrices: [100] }),
        purchaseRow({ id: 'c1', comp: true, amount: 0, seatIds: [2], seatPrices: [0] }),
      ]),
      live([
        // A comp not flushed yet: its stream entry carries the note; then canceled.
        { type: 'purchase', record: { id: 'c2', seats: '3', amount: '0', prices: '0', status: 'PAID', comp: 'press' } },
        { type: 'cancel', purchaseId: 'c2' },
      ]),
    );
    expect(report.totals).toMatchObject({
      sold: 2,
      comps: 1,
      revenue: 100,
      purchases: 1,
      cancellations: 0,
      compPurchases: 2,
      compCancellations: 1,
      available: 1,
    });
    expect(report.sections.map((s) => [s.name, s.sold, s.comps, s.revenue, s.purchases, s.compPurchases])).toEqual([
      ['A', 2, 1, 100, 1, 1],
      ['B', 0, 0, 0, 0, 1],
    ]);
  });

  it("sums an event's sections by name in any casing, named as the first performance has it", () => {
    const figures = {
      seatsTotal: 10,
      available: 7,
      held: 1,
      sold: 2,
      kept: 0,
      blocked: 0,
      unsold: 0,
      revenue: 200,
      purchases: 1,
      cancellations: 0,
      comps: 0,
      compPurchases: 0,
      compCancellations: 0,
      onlineRevenue: 200,
      boxOfficeRevenue: 0,
      cashRevenue: 0,
      cardTerminalRevenue: 0,
      presalePurchases: 0,
      presaleRevenue: 0,
      boxOfficePurchases: 0,
      boxOfficeCancellations: 0,
      windowRefundsOwed: 0,
      cashRefundsOwed: 0,
      cardTerminalRefundsOwed: 0,
      windowRefundsPaid: 0,
      cashRefundsPaid: 0,
      cardTerminalRefundsPaid: 0,
      checkedIn: 1,
      noShows: 1,
    };
    const summed = eventSections([
      [{ name: 'Floor', ...figures }],
      [
        { name: 'FLOOR', ...figures },
        { name: 'Balcony', ...figures },
      ],
    ]);
    expect(summed.map((s) => [s.name, s.seatsTotal, s.sold, s.revenue, s.checkedIn, s.noShows])).toEqual([
      ['Floor', 20, 4, 400, 2, 2],
      ['Balcony', 10, 2, 200, 1, 1],
    ]);
  });

  it("counts a box office sale's refund owed at the window, or paid there, by method, split over its sections", () => {
    const report = performanceReport(
      rows([
        purchaseRow({ id: 'owed', status: PurchaseStatus.Canceled, paymentMethod: 'CASH', windowRefund: 'OWED' }),
        purchaseRow({
          id: 'paid',
          status: PurchaseStatus.Canceled,
          paymentMethod: 'CARD_TERMINAL',
          windowRefund: null,
          amount: 100,
          seatIds: [2],
          seatPrices: [100],
        }),
      ]),
      live([]),
    );
    expect(report.totals).toMatchObject({
      windowRefundsOwed: 1,
      cashRefundsOwed: 140,
      cardTerminalRefundsOwed: 0,
      windowRefundsPaid: 1,
      cashRefundsPaid: 0,
      cardTerminalRefundsPaid: 100,
      cashRevenue: 0,
      boxOfficeCancellations: 2,
    });
    const [a, b] = report.sections;
    expect([a.windowRefundsOwed, a.cashRefundsOwed, a.windowRefundsPaid, a.cardTerminalRefundsPaid]).toEqual([
      1, 100, 1, 100,
    ]);
    expect([b.windowRefundsOwed, b.cashRefundsOwed, b.windowRefundsPaid]).toEqual([1, 40, 0]);
  });

  it("reads a canceled show's box office sale owed while its bulk cancel is only in Redis, not paid", () => {
    const sale = {
      id: 'walk-up',
      status: PurchaseStatus.Paid,
      comp: false,
      paymentMethod: 'CASH' as const,
      amount: 140,
      currency: 'EUR',
      seatIds: [1, 3],
      seatPrices: [100, 40],
    };
    const byShow = performanceReport(
      rows([sale]),
      live([{ type: 'cancel', purchaseId: 'walk-up', canceledBy: 'performance' }]),
    );
    expect(byShow.totals).toMatchObject({ windowRefundsOwed: 1, cashRefundsOwed: 140, windowRefundsPaid: 0 });
    expect(byShow.sections.map((section) => section.cashRefundsOwed)).toEqual([100, 40]);
    // An operator's refund at the window is given back as it is made.
    const byOperator = performanceReport(
      rows([sale]),
      live([{ type: 'cancel', purchaseId: 'walk-up', canceledBy: 'operator' }]),
    );
    expect(byOperator.totals).toMatchObject({ windowRefundsOwed: 0, windowRefundsPaid: 1, cashRefundsPaid: 140 });
    // Once marked paid (PostgreSQL's row), a replayed cancel entry changes nothing.
    const marked = performanceReport(
      rows([{ ...sale, status: PurchaseStatus.Canceled, windowRefund: 'PAID' }]),
      live([{ type: 'cancel', purchaseId: 'walk-up', canceledBy: 'performance' }]),
    );
    expect(marked.totals).toMatchObject({ windowRefundsOwed: 0, windowRefundsPaid: 1, cashRefundsPaid: 140 });
  });

  it("counts a box office sale's partial refunds paid at the window by method, written or still in Redis, once each", () => {
    const sale = {
      id: 'walk-up',
      status: PurchaseStatus.Paid,
      comp: false,
      paymentMethod: 'CARD_TERMINAL' as const,
      currency: 'EUR',
    };
    // Seat 1 refunded and written (its row, its ticket's price); seat 3's refund still in the stream.
    const report = performanceReport(
      rows([
        {
          ...sale,
          amount: 140,
          seatIds: [2, 3],
          seatPrices: [100, 40],
          windowPartialRefunds: [{ amount: 100, seats: [{ seatId: 1, price: 100 }] }],
        },
      ]),
      live([{ type: 'refund', purchaseId: 'walk-up', seatIds: [3], amount: 40 }]),
    );
    expect(report.totals).toMatchObject({
      windowRefundsPaid: 2,
      cardTerminalRefundsPaid: 140,
      cashRefundsPaid: 0,
      windowRefundsOwed: 0,
      cardTerminalRevenue: 100,
      boxOfficeCancellations: 0,
    });
    expect(report.sections.map((section) => [section.windowRefundsPaid, section.cardTerminalRefundsPaid])).toEqual([
      [1, 100],
      [1, 40],
    ]);
    // An online sale's partial refund went back through the gateway: not the window's.
    const online = performanceReport(
      rows([{ ...sale, paymentMethod: null, amount: 140, seatIds: [2, 3], seatPrices: [100, 40] }]),
      live([{ type: 'refund', purchaseId: 'walk-up', seatIds: [3], amount: 40 }]),
    );
    expect(online.totals).toMatchObject({ windowRefundsPaid: 0, cardTerminalRefundsPaid: 0 });
  });
});
