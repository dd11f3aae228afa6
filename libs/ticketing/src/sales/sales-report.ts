import type { DoorCountRow, PerformanceSalesRows, SalesCheckIn, SalesSeat, WindowPartialRefund } from '@app/database';
import { sectionNameKey } from '../catalog/section-names';
import { salesStateAt, SalesState } from '../catalog/sales-state';
import { seatsFromLists } from '../purchases/purchase';
import { splitAmount } from './revenue-split';
import type { LiveSales, PendingSale } from './sales.store';

/** Figures of a set of seats (a section, a performance, an event). Money in minor units of the report's currency. */
export interface SalesFigures {
  seatsTotal: number;
  available: number;
  /**
   * Seats in a live hold (a hold past its expiry counts as available, but a comp's house seats
   * it took from their block, `fromBlock`, as blocked: they go back to it when it ends).
   */
  held: number;
  /**
   * Seats off sale for good: those of paid purchases (flushed to PostgreSQL or not yet) and the
   * seats kept (`kept`), as the live counts of the performance and its sections count them.
   */
  sold: number;
  /**
   * Of `sold`, the seats kept off sale: checked in, then refunded by an operator who kept them
   * (`resellCheckedInSeats: false`), with their whole purchase (canceled) or alone (a partial
   * refund takes the seat off its purchase): no revenue.
   */
  kept: number;
  /** Seats an operator took off sale (blocked; not available, not sold). */
  blocked: number;
  /**
   * Seats of a performance whose sales are over for good (canceled, or its check-in closed: the
   * box office window sells after online sales end, through the doors, until then) that no sale,
   * hold or block took: not `available`, as nothing can hold them.
   * `available + held + sold + blocked + unsold = seatsTotal`.
   */
  unsold: number;
  /**
   * Sum of the paid purchases' amounts (canceled ones excluded), minor units. A section's is what
   * its seats were sold at (see {@link performanceReport}); the sections' sum to the totals'.
   */
  revenue: number;
  /** Purchases ever made (those canceled since included); comps are not purchases here (see `compPurchases`). */
  purchases: number;
  /** Purchases canceled (by the buyer or refunded by an operator); comps apart. */
  cancellations: number;
  /**
   * Of `sold`, the seats given as comps (complimentary tickets an operator issued) not canceled:
   * off sale, no revenue.
   */
  comps: number;
  /** Comps ever issued (those canceled since included), apart from `purchases`. */
  compPurchases: number;
  /** Comps canceled (by their recipient or by an operator), apart from `cancellations`. */
  compCancellations: number;
  /** Of `revenue`, what online sales brought (paid through the payment gateway). */
  onlineRevenue: number;
  /** Of `revenue`, what box office sales brought (paid at the window): `cashRevenue` + `cardTerminalRevenue`. */
  boxOfficeRevenue: number;
  /** Of `boxOfficeRevenue`, taken in cash: what the cash drawers should hold, refunds given back already. */
  cashRevenue: number;
  /** Of `boxOfficeRevenue`, taken on the card terminal. */
  cardTerminalRevenue: number;
  /**
   * Of `purchases`, those made in a presale (its access code let their holds in before the
   * on-sale; canceled ones included). Purchases written before purchases recorded their presale
   * count as general sales.
   */
  presalePurchases: number;
  /** Of `revenue` (and `onlineRevenue`), what the presale purchases brought. */
  presaleRevenue: number;
  /** Of `purchases`, the box office sales (canceled ones included). */
  boxOfficePurchases: number;
  /** Of `cancellations`, the box office sales refunded. */
  boxOfficeCancellations: number;
  /**
   * Of `boxOfficeCancellations`, those whose refund is owed at the window: canceled with their show
   * by the bulk refund, the money not given back yet (an operator marks each paid as it is). Their
   * amounts, by how they go back, are `cashRefundsOwed` and `cardTerminalRefundsOwed`: the cash
   * drawers hold `cashRevenue + cashRefundsOwed` until they are paid.
   */
  windowRefundsOwed: number;
  /** Owed at the window in cash (see `windowRefundsOwed`). */
  cashRefundsOwed: number;
  /** Owed at the window to the card, on the terminal (see `windowRefundsOwed`). */
  cardTerminalRefundsOwed: number;
  /**
   * Refunds of box office sales whose money was given back at the window: whole ones (of
   * `boxOfficeCancellations`) refunded there by an operator, or owed after the show's cancellation
   * and marked paid since, and each partial refund of some seats an operator made there (given back
   * as it was made, as a whole one). Free ones (amount 0) are in neither. Their amounts:
   * `cashRefundsPaid`, `cardTerminalRefundsPaid`.
   */
  windowRefundsPaid: number;
  /** Given back at the window in cash (see `windowRefundsPaid`). */
  cashRefundsPaid: number;
  /** Given back at the window to the card, on the terminal (see `windowRefundsPaid`). */
  cardTerminalRefundsPaid: number;
  /**
   * Of `sold` less `kept`, the tickets checked in at the door now: online sales, box office sales
   * and comps alike. An undone check-in (DELETE /check-in/:ticketId) no longer counts; a canceled
   * or refunded ticket never does (a kept seat is in `kept`, not here).
   */
  checkedIn: number;
  /**
   * Once the performance's check-in has closed: of `sold` less `kept`, the tickets never checked
   * in (`sold - kept - checkedIn`). 0 while check-in has not closed (see {@link ReportOptions}).
   */
  noShows: number;
}

/** What a performance's report needs beside its rows: whether its check-in window has closed. */
export interface ReportOptions {
  /**
   * True once its check-in has closed (no ticket admits any more): the unused tickets are
   * no-shows, and the box office window sells no more, so the free seats are unsold.
   */
  checkInClosed: boolean;
}

export interface SectionSales extends SalesFigures {
  name: string;
}

/** A sales report: totals and the same figures per section (in layout order). */
export interface SalesReport {
  /** ISO 4217 code of `revenue`. */
  currency: string;
  totals: SalesFigures;
  sections: SectionSales[];
}

interface MergedPurchase {
  canceled: boolean;
  /** A comp (complimentary, amount 0): counted apart from paid sales. */
  comp: boolean;
  /** A box office sale's payment method; null for an online sale. */
  paymentMethod: string | null;
  /** Made in a presale (SalesPurchase.presale; the stream entry's `presale`). */
  presale: boolean;
  /** Its refund owed at the window or paid there (SalesPurchase.windowRefund); null when none is recorded. */
  windowRefund: 'OWED' | 'PAID' | null;
  /**
   * Canceled by the bulk refund of its canceled performance (`canceledBy: performance`) in a cancel
   * entry not written to PostgreSQL yet: the flush that writes it records a box office sale's refund
   * owed at the window.
   */
  canceledWithShowUnwritten: boolean;
  /** A box office sale's partial refunds, given back at the window (SalesPurchase.windowPartialRefunds). */
  windowPartialRefunds: WindowPartialRefund[];
  amount: number;
  /** Ascending. */
  seatIds: number[];
  /** What each seat was sold at, in the order of `seatIds`; absent for a purchase that did not record it. */
  seatPrices?: number[];
  /** Of `seatIds`, those checked in at the door (PostgreSQL's tickets: a purchase not written yet has none). */
  checkedInSeatIds: number[];
  /** Who checked in each of `checkedInSeatIds` and when (SalesPurchase.checkIns). */
  checkIns: SalesCheckIn[];
}

export function emptyFigures(): SalesFigures {
  return {
    seatsTotal: 0,
    available: 0,
    held: 0,
    sold: 0,
    kept: 0,
    blocked: 0,
    unsold: 0,
    revenue: 0,
    purchases: 0,
    cancellations: 0,
    comps: 0,
    compPurchases: 0,
    compCancellations: 0,
    onlineRevenue: 0,
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
    checkedIn: 0,
    noShows: 0,
  };
}

const FIGURES = Object.keys(emptyFigures()) as (keyof SalesFigures)[];

/** Adds the figures of `b` into `a` (other fields, such as a section's name, stay). */
export function addFigures(a: SalesFigures, b: SalesFigures): void {
  for (const key of FIGURES) a[key] += b[key];
}

/**
 * The sections of several reports (an event's performances) summed by name in any casing
 * (sectionNameKey: an operator's `Floor` and `floor` are one section), in the order first seen,
 * each named as it was first seen.
 */
export function eventSections(reports: readonly (readonly SectionSales[])[]): SectionSales[] {
  const sections = new Map<string, SectionSales>();
  for (const report of reports) {
    for (const section of report) {
      const key = sectionNameKey(section.name);
      const sum = sections.get(key) ?? { name: section.name, ...emptyFigures() };
      addFigures(sum, section);
      sections.set(key, sum);
    }
  }
  return [...sections.values()];
}

/**
 * The purchases of a performance: PostgreSQL's, with the unflushed stream entries laid over them.
 * Redis must be read before PostgreSQL: an entry flushed in between is then found in PostgreSQL
 * (a flush commits before it deletes its entries), and a purchase seen in both counts once (by
 * id). A cancellation is final, so a purchase either side calls canceled is canceled.
 */
export function mergePurchases(rows: PerformanceSalesRows, live: LiveSales): Map<string, MergedPurchase> {
  const merged = new Map<string, MergedPurchase>();
  for (const purchase of rows.purchases) {
    merged.set(purchase.id, {
      canceled: purchase.status === 'CANCELED',
      comp: purchase.comp,
      paymentMethod: purchase.paymentMethod,
      presale: purchase.presale,
      windowRefund: purchase.windowRefund,
      canceledWithShowUnwritten: false,
      windowPartialRefunds: purchase.windowPartialRefunds,
      amount: purchase.amount,
      seatIds: purchase.seatIds,
      ...(purchase.seatPrices ? { seatPrices: purchase.seatPrices } : {}),
      checkedInSeatIds: purchase.checkedInSeatIds,
      checkIns: purchase.checkIns,
    });
  }
  const canceledLater: Extract<PendingSale, { type: 'cancel' }>[] = [];
  const refundedLater: Extract<PendingSale, { type: 'refund' }>[] = [];
  for (const entry of live.pending) {
    if (entry.type === 'cancel') {
      canceledLater.push(entry);
      continue;
    }
    if (entry.type === 'refund') {
      refundedLater.push(entry);
      continue;
    }
    const known = merged.get(entry.record.id);
    if (known) {
      known.canceled ||= entry.record.status === 'CANCELED';
    } else {
      merged.set(entry.record.id, {
        canceled: entry.record.status === 'CANCELED',
        // purchase.lua writes a comp's note (`comp`) into its stream entry.
        comp: Boolean(entry.record.comp),
        // And a box office sale's payment method (`boxOffice`).
        paymentMethod: entry.record.boxOffice || null,
        // And the presale whose access code let its hold in (`presale`).
        presale: Boolean(entry.record.presale),
        // Not in PostgreSQL yet: no window refund recorded for it.
        windowRefund: null,
        canceledWithShowUnwritten: false,
        windowPartialRefunds: [],
        amount: Number(entry.record.amount),
        // Ascending with their prices, as the flush writes them, so both sides split alike.
        ...seatsFromLists(entry.record.seats, entry.record.prices),
        // No tickets before the flush: none checked in.
        checkedInSeatIds: [],
        checkIns: [],
      });
    }
  }
  for (const cancel of canceledLater) {
    const known = merged.get(cancel.purchaseId);
    if (!known) continue;
    known.canceled = true;
    if (cancel.canceledBy === 'performance') known.canceledWithShowUnwritten = true;
  }
  // A partial refund PostgreSQL has already took its seats off the purchase's (and its amount with
  // them, in the same write): one whose seats are still there is taken off here, once.
  for (const refund of refundedLater) {
    const known = merged.get(refund.purchaseId);
    if (!known || !refund.seatIds.some((seatId) => known.seatIds.includes(seatId))) continue;
    const keep = known.seatIds.map((seatId) => !refund.seatIds.includes(seatId));
    // A box office sale's partial refund was given back at the window as it was made, written or not.
    if (known.paymentMethod !== null) {
      known.windowPartialRefunds.push({
        amount: refund.amount,
        seats: known.seatIds.flatMap((seatId, i) =>
          keep[i] ? [] : [{ seatId, price: known.seatPrices?.[i] ?? null }],
        ),
      });
    }
    known.amount -= refund.amount;
    if (known.seatPrices) known.seatPrices = known.seatPrices.filter((_, i) => keep[i]);
    known.seatIds = known.seatIds.filter((_, i) => keep[i]);
  }
  return merged;
}

/**
 * The sales report of one performance from its PostgreSQL rows and its Redis state (read first,
 * see {@link mergePurchases}). A paid purchase's amount goes to its sections by what each seat
 * was sold at (the prices its hold recorded: the purchase's stream entry before the flush,
 * `tickets.price` after), so a reprice after the sale moves no revenue. A purchase that recorded
 * no prices (sold before they were recorded) is split in proportion to its seats' current prices
 * ({@link splitAmount}: never below 0, exact in total). Either way the sections add up to the
 * totals. A seat that the live seat state has sold and no paid purchase holds was kept off sale
 * by a refund (of its whole purchase, or of some seats: a partial refund takes the seat off its
 * purchase): it counts as sold and kept, as the live counts have it (the seat state of a
 * performance Redis does not know has none). A seat of a paid purchase (comps and box office
 * sales included) whose ticket is checked in counts as `checkedIn`, and with the account that
 * scanned it in `byDoor` (the door count's rule: the doors sum to the totals' `checkedIn`); once
 * `options.checkInClosed`, one whose ticket is not counts as a no-show.
 */
export function performanceReport(
  rows: PerformanceSalesRows,
  live: LiveSales,
  options: ReportOptions,
): SalesReport & { salesState: SalesState; byDoor: DoorCountRow[] } {
  const seatById = new Map<number, SalesSeat>(rows.seats.map((seat) => [Number(seat.id), seat]));
  // By the name's folded form (sectionNameKey), named as its first seat has it: names are unique
  // in any casing, but seats stored before that rule may spell one section two ways.
  const sections = new Map<string, SectionSales>();
  const sectionOf = (seat: SalesSeat) => sections.get(sectionNameKey(seat.section))!;
  for (const seat of rows.seats) {
    const key = sectionNameKey(seat.section);
    const section = sections.get(key) ?? { name: seat.section, ...emptyFigures() };
    section.seatsTotal += 1;
    sections.set(key, section);
  }

  const purchases = [...mergePurchases(rows, live).values()];
  const doors = new DoorTally();
  const paidSeats = new Set<number>();
  for (const purchase of purchases)
    if (!purchase.canceled) for (const seatId of purchase.seatIds) paidSeats.add(seatId);
  for (const purchase of purchases) {
    const touched = new Set<SectionSales>();
    const paid: { seat: SalesSeat; weight: number }[] = [];
    const recorded = soldPrices(purchase);
    purchase.seatIds.forEach((seatId, i) => {
      const seat = seatById.get(seatId);
      if (!seat) return;
      const section = sectionOf(seat);
      touched.add(section);
      if (purchase.canceled) return;
      section.sold += 1;
      if (purchase.comp) section.comps += 1;
      if (purchase.checkedInSeatIds.includes(seatId)) {
        section.checkedIn += 1;
        doors.add(purchase.checkIns.find((checkIn) => checkIn.seatId === seatId));
      } else if (options.checkInClosed) section.noShows += 1;
      paid.push({ seat, weight: recorded ? recorded[i] : seat.price });
    });
    // Split over the seats found (all of them, unless seats vanished), so the whole amount lands in sections.
    const shares = splitAmount(
      purchase.amount,
      paid.map(({ weight }) => weight),
    );
    paid.forEach(({ seat }, i) => {
      addRevenue(sectionOf(seat), purchase.paymentMethod, shares[i]);
      if (purchase.presale) sectionOf(seat).presaleRevenue += shares[i];
    });
    const windowRefund = windowRefundOf(purchase);
    if (windowRefund) {
      const seats = purchase.seatIds.flatMap((seatId, i) => {
        const seat = seatById.get(seatId);
        return seat ? [{ seat, weight: recorded ? recorded[i] : seat.price }] : [];
      });
      const refundShares = splitAmount(
        purchase.amount,
        seats.map(({ weight }) => weight),
      );
      seats.forEach(({ seat }, i) =>
        addWindowRefund(sectionOf(seat), purchase.paymentMethod === 'CASH', windowRefund, refundShares[i]),
      );
    }
    const partialRefunds = windowPartialRefundsOf(purchase);
    for (const refund of partialRefunds) {
      const seats = refund.seats.flatMap(({ seatId, price }) => {
        const seat = seatById.get(seatId);
        return seat ? [{ seat, weight: price ?? seat.price }] : [];
      });
      const refundShares = splitAmount(
        refund.amount,
        seats.map(({ weight }) => weight),
      );
      seats.forEach(({ seat }, i) =>
        addWindowRefund(sectionOf(seat), purchase.paymentMethod === 'CASH', 'PAID', refundShares[i]),
      );
      for (const section of new Set(seats.map(({ seat }) => sectionOf(seat)))) section.windowRefundsPaid += 1;
    }
    for (const section of touched) {
      if (purchase.comp) {
        section.compPurchases += 1;
        if (purchase.canceled) section.compCancellations += 1;
      } else {
        section.purchases += 1;
        if (purchase.canceled) section.cancellations += 1;
        if (purchase.presale) section.presalePurchases += 1;
        if (purchase.paymentMethod !== null) {
          section.boxOfficePurchases += 1;
          if (purchase.canceled) section.boxOfficeCancellations += 1;
        }
        if (windowRefund === 'OWED') section.windowRefundsOwed += 1;
        if (windowRefund === 'PAID') section.windowRefundsPaid += 1;
      }
    }
  }

  for (const [seatId, status] of Object.entries(live.seats)) {
    const seat = seatById.get(Number(seatId));
    if (seat && status === 'B') sectionOf(seat).blocked += 1;
    // Sold in the live state, yet no paid purchase has it: a refund (whole or of some seats) kept
    // it off sale. The live counts have it sold, so the report does too.
    if (seat && status === 'S' && !paidSeats.has(Number(seatId))) {
      sectionOf(seat).sold += 1;
      sectionOf(seat).kept += 1;
    }
    if (!seat || status !== 'H') continue;
    const expiresAt = Number((live.seatHolds[seatId] ?? '').split(':')[0]);
    // A seat held without a holder entry (held by an older version) stays held until swept.
    if (!live.seatHolds[seatId] || expiresAt > live.now) sectionOf(seat).held += 1;
    else if (live.houseSeats.has(seatId)) sectionOf(seat).blocked += 1;
  }

  // A canceled performance's seats can no longer be held (Redis's time, as the hold scripts
  // decide). Once online sales end (at the start at the latest) the box office window still sells
  // until check-in closes (BoxOfficeSales, on the api's clock as here): until then free seats are
  // still for sale, and only after it are they unsold.
  const salesState = salesStateAt(rows.lifecycle, live.now);
  const over = salesState === 'CANCELED' || options.checkInClosed;
  const totals = emptyFigures();
  for (const section of sections.values()) {
    const free = section.seatsTotal - section.sold - section.held - section.blocked;
    section.available = over ? 0 : free;
    section.unsold = over ? free : 0;
    addFigures(totals, section);
  }
  // A purchase over two sections counts once in the totals.
  const sales = purchases.filter((purchase) => !purchase.comp);
  const comps = purchases.filter((purchase) => purchase.comp);
  totals.purchases = sales.length;
  totals.cancellations = sales.filter((purchase) => purchase.canceled).length;
  totals.presalePurchases = sales.filter((purchase) => purchase.presale).length;
  totals.compPurchases = comps.length;
  totals.compCancellations = comps.filter((purchase) => purchase.canceled).length;
  const boxOffice = sales.filter((purchase) => purchase.paymentMethod !== null);
  totals.boxOfficePurchases = boxOffice.length;
  totals.boxOfficeCancellations = boxOffice.filter((purchase) => purchase.canceled).length;
  totals.windowRefundsOwed = boxOffice.filter((purchase) => windowRefundOf(purchase) === 'OWED').length;
  totals.windowRefundsPaid =
    boxOffice.filter((purchase) => windowRefundOf(purchase) === 'PAID').length +
    boxOffice.reduce((count, purchase) => count + windowPartialRefundsOf(purchase).length, 0);
  return { currency: rows.currency, salesState, totals, sections: [...sections.values()], byDoor: doors.rows() };
}

/**
 * Check-ins counted per scanning account, as the door count's query groups them
 * (SalesRepository.doorCounts): admitted and the latest check-in per account, ordered by e-mail,
 * an account without one (or none recorded) last.
 */
class DoorTally {
  private readonly doors = new Map<string | null, DoorCountRow>();

  /** Counts one check-in; `checkIn` undefined (a seat counted without its record) counts for no account. */
  add(checkIn: SalesCheckIn | undefined): void {
    const accountId = checkIn?.accountId ?? null;
    const door = this.doors.get(accountId);
    const at = checkIn?.checkedInAt ?? new Date(0);
    if (!door) {
      this.doors.set(accountId, {
        accountId,
        email: checkIn?.email ?? null,
        name: checkIn?.name ?? null,
        admitted: 1,
        lastCheckInAt: at,
      });
      return;
    }
    door.admitted += 1;
    if (at.getTime() > door.lastCheckInAt.getTime()) door.lastCheckInAt = at;
  }

  rows(): DoorCountRow[] {
    return [...this.doors.values()].sort((a, b) => nullsLast(a.email, b.email) || nullsLast(a.accountId, b.accountId));
  }
}

/** Ascending by code unit (PostgreSQL's C collation of the test and production databases), null last. */
function nullsLast(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** A seat's share of a paid purchase, into its section's revenue and the revenue of its channel and method. */
function addRevenue(section: SalesFigures, paymentMethod: string | null, share: number): void {
  section.revenue += share;
  if (paymentMethod === null) {
    section.onlineRevenue += share;
    return;
  }
  section.boxOfficeRevenue += share;
  if (paymentMethod === 'CASH') section.cashRevenue += share;
  else section.cardTerminalRevenue += share;
}

/**
 * Where a canceled box office sale's refund stands at the window: `OWED` (recorded owed, not paid
 * yet), else `PAID` (an operator's refund is given back as it is made; one owed and marked paid
 * since); null for anything else (not canceled, online, a comp, free: nothing to give back). A
 * cancellation of the bulk refund still only in Redis (its PostgreSQL write left to the flush) has
 * no owed row yet, but reads `OWED`: its flush records it owed, and nobody can mark it paid before.
 */
function windowRefundOf(purchase: MergedPurchase): 'OWED' | 'PAID' | null {
  if (!purchase.canceled || purchase.comp || purchase.paymentMethod === null || purchase.amount <= 0) return null;
  if (purchase.windowRefund === 'PAID') return 'PAID';
  return purchase.windowRefund === 'OWED' || purchase.canceledWithShowUnwritten ? 'OWED' : 'PAID';
}

/** A box office sale's partial refunds that gave money back at the window (free seats' apart); none for any other. */
function windowPartialRefundsOf(purchase: MergedPurchase): WindowPartialRefund[] {
  if (purchase.comp || purchase.paymentMethod === null) return [];
  return purchase.windowPartialRefunds.filter((refund) => refund.amount > 0);
}

/** A seat's share of a window refund, into its section's owed or paid figures of its method (`cash`, else the card). */
function addWindowRefund(section: SalesFigures, cash: boolean, status: 'OWED' | 'PAID', share: number): void {
  if (status === 'OWED') {
    if (cash) section.cashRefundsOwed += share;
    else section.cardTerminalRefundsOwed += share;
  } else if (cash) section.cashRefundsPaid += share;
  else section.cardTerminalRefundsPaid += share;
}

/** The purchase's recorded seat prices when they are whole (one non-negative integer per seat), else null. */
function soldPrices(purchase: MergedPurchase): number[] | null {
  const prices = purchase.seatPrices;
  if (!prices || prices.length !== purchase.seatIds.length) return null;
  return prices.every((price) => Number.isSafeInteger(price) && price >= 0) ? prices : null;
}
