import { Injectable } from '@nestjs/common';
import { DomainError, InvalidInputError } from '@app/core';
import {
  BoxOfficePaymentMethod,
  CashUpClerk,
  CashUpQuery,
  CashUpRefund,
  CashUpRepository,
  CashUpSale,
  Role,
} from '@app/database';
import { PurchaseStore } from '../purchases/purchase.store';
import { BOX_OFFICE_SALE_ACTION } from './box-office';

/** The audit rows the cash-up reads: who sold at the window (its refunds are read from the refunds' own records). */
const ACTIONS = { sale: BOX_OFFICE_SALE_ACTION };

/** The longest range one cash-up covers: 31 days (a month's shifts), in ms. */
export const MAX_CASH_UP_RANGE_MS = 31 * 24 * 60 * 60 * 1000;

/**
 * A cash-up's figures in one currency (money in its minor units; never summed across currencies).
 * `cashNet` is what the cash drawer should hold from the range's work (taken less given back),
 * `cardTerminalNet` what the card terminal's batch should show.
 */
export interface CashUpFigures {
  /** ISO 4217 code. */
  currency: string;
  /** Box office sales made (canceled or refunded since included: the money was taken). */
  sales: number;
  /** Seats of those sales. */
  seats: number;
  /** Of `sales`, paid in cash. */
  cashSales: number;
  /** Of `sales`, paid on the card terminal. */
  cardTerminalSales: number;
  /** Taken in cash at those sales. */
  cashTaken: number;
  /** Taken on the card terminal at those sales. */
  cardTerminalTaken: number;
  /** Refunds paid out at the window: whole and partial refunds of box office sales, and refunds owed after a canceled show marked paid. */
  refunds: number;
  /** Given back in cash. */
  cashRefunded: number;
  /** Given back to cards on the terminal. */
  cardTerminalRefunded: number;
  /** `cashTaken - cashRefunded`. */
  cashNet: number;
  /** `cardTerminalTaken - cardTerminalRefunded`. */
  cardTerminalNet: number;
}

/** One clerk's part of a cash-up: the sales they made and the refunds they paid out. */
export interface ClerkCashUp {
  clerkId: string;
  /** The account's e-mail and name now; null for an account deleted since. */
  email: string | null;
  name: string | null;
  /** One entry per currency the clerk took or gave back money in, by currency code. */
  figures: CashUpFigures[];
}

/** An end-of-shift reconciliation of the box office window over [from, to). */
export interface CashUp {
  from: Date;
  to: Date;
  clerkId: string | null;
  performanceId: number | null;
  /** By e-mail (then id); only clerks with a sale or a refund in the range. */
  clerks: ClerkCashUp[];
  /** The clerks' figures summed, one entry per currency. */
  totals: CashUpFigures[];
}

/** Who asks for a cash-up, with the role their account has now. */
export interface CashUpCaller {
  id: string;
  role: Role;
}

/** A staff account asked for another clerk's cash-up: a clerk sees their own drawer only. */
export class CashUpOfOtherClerkError extends DomainError {
  constructor() {
    super('forbidden', 'CashUpOfOtherClerk', 'staff see their own cash-up only: leave clerkId out or send your own id');
  }
}

/**
 * The box office cash-up: per clerk and in total, per currency, what the window took (box office
 * sales by payment method), what it gave back (refunds paid out there) and the net per method.
 * Exact at the moment it is read, as the sales report is: sales not written to PostgreSQL yet are
 * read from Redis (the selling accounts' indexes of unflushed purchases) before PostgreSQL, and a
 * sale seen on both sides counts once (by id; a sale's clerk, amount, method and time never change).
 */
@Injectable()
export class CashUpService {
  constructor(
    private readonly repository: CashUpRepository,
    private readonly store: PurchaseStore,
  ) {}

  /**
   * The cash-up of [from, to) (half-open), optionally of one clerk and one performance. An admin
   * reads anyone's; a staff account its own only (`clerkId` absent means theirs). Throws
   * InvalidInputError when `from` is not before `to` or the range is longer than 31 days
   * (MAX_CASH_UP_RANGE_MS), CashUpOfOtherClerkError (403) for staff asking for another clerk.
   */
  async read(caller: CashUpCaller, query: CashUpQuery): Promise<CashUp> {
    if (query.from.getTime() >= query.to.getTime()) throw new InvalidInputError('from must be before to');
    if (query.to.getTime() - query.from.getTime() > MAX_CASH_UP_RANGE_MS) {
      throw new InvalidInputError('the range from..to must be at most 31 days');
    }
    let clerkId = query.clerkId;
    if (caller.role !== Role.Admin) {
      if (clerkId !== null && clerkId !== caller.id) throw new CashUpOfOtherClerkError();
      clerkId = caller.id;
    }
    const scoped: CashUpQuery = { ...query, clerkId };
    // Redis first: a sale flushed between the two reads is then found in PostgreSQL (the flush
    // commits before it drops the index entry), and one seen on both sides counts once.
    const sellers = clerkId !== null ? [clerkId] : await this.repository.sellingAccounts(query.from, query.to, ACTIONS);
    const pending = (await Promise.all(sellers.map((id) => this.store.indexedOf(id, null)))).flat();
    const unflushed: CashUpSale[] = [];
    for (const purchase of pending) {
      const at = purchase.createdAt.getTime();
      if (!purchase.paymentMethod || at < query.from.getTime() || at >= query.to.getTime()) continue;
      if (query.performanceId !== null && purchase.performanceId !== query.performanceId) continue;
      unflushed.push({
        id: purchase.id,
        clerkId: purchase.userId,
        performanceId: purchase.performanceId,
        currency: purchase.currency,
        paymentMethod: purchase.paymentMethod,
        // What was taken: the partial refunds since took nothing from the sale itself.
        amount: purchase.amount + purchase.refundedAmount,
        seats: purchase.seatIds.length + purchase.refundedSeatIds.length,
        soldAt: purchase.createdAt,
      });
    }
    const rows = await this.repository.read(
      scoped,
      unflushed.map((sale) => sale.clerkId),
    );
    const sales = new Map(rows.sales.map((sale) => [sale.id, sale]));
    for (const sale of unflushed) if (!sales.has(sale.id)) sales.set(sale.id, sale);
    return {
      from: query.from,
      to: query.to,
      clerkId,
      performanceId: query.performanceId,
      ...cashUpOf([...sales.values()], rows.refunds, rows.clerks),
    };
  }
}

function emptyFigures(currency: string): CashUpFigures {
  return {
    currency,
    sales: 0,
    seats: 0,
    cashSales: 0,
    cardTerminalSales: 0,
    cashTaken: 0,
    cardTerminalTaken: 0,
    refunds: 0,
    cashRefunded: 0,
    cardTerminalRefunded: 0,
    cashNet: 0,
    cardTerminalNet: 0,
  };
}

const cash = (method: BoxOfficePaymentMethod) => method === 'CASH';

/**
 * The cash-up's clerks and totals from its sales and refunds (each counted once), per clerk and
 * currency: a clerk's sales are those they sold, their refunds those they paid out. Figures per
 * currency, by code; clerks by e-mail, then id.
 */
export function cashUpOf(
  sales: readonly CashUpSale[],
  refunds: readonly CashUpRefund[],
  accounts: readonly CashUpClerk[],
): Pick<CashUp, 'clerks' | 'totals'> {
  const byClerk = new Map<string, Map<string, CashUpFigures>>();
  const totals = new Map<string, CashUpFigures>();
  const figuresOf = (clerkId: string, currency: string): CashUpFigures[] => {
    const clerk = byClerk.get(clerkId) ?? new Map<string, CashUpFigures>();
    byClerk.set(clerkId, clerk);
    const own = clerk.get(currency) ?? emptyFigures(currency);
    clerk.set(currency, own);
    const total = totals.get(currency) ?? emptyFigures(currency);
    totals.set(currency, total);
    return [own, total];
  };
  for (const sale of sales) {
    for (const figures of figuresOf(sale.clerkId, sale.currency)) {
      figures.sales += 1;
      figures.seats += sale.seats;
      if (cash(sale.paymentMethod)) {
        figures.cashSales += 1;
        figures.cashTaken += sale.amount;
      } else {
        figures.cardTerminalSales += 1;
        figures.cardTerminalTaken += sale.amount;
      }
    }
  }
  for (const refund of refunds) {
    for (const figures of figuresOf(refund.clerkId, refund.currency)) {
      figures.refunds += 1;
      if (cash(refund.paymentMethod)) figures.cashRefunded += refund.amount;
      else figures.cardTerminalRefunded += refund.amount;
    }
  }
  const settled = (figures: Map<string, CashUpFigures>): CashUpFigures[] =>
    [...figures.values()]
      .map((entry) => ({
        ...entry,
        cashNet: entry.cashTaken - entry.cashRefunded,
        cardTerminalNet: entry.cardTerminalTaken - entry.cardTerminalRefunded,
      }))
      .sort((a, b) => a.currency.localeCompare(b.currency));
  const named = new Map(accounts.map((account) => [account.id, account]));
  const clerks: ClerkCashUp[] = [...byClerk.entries()].map(([clerkId, figures]) => ({
    clerkId,
    email: named.get(clerkId)?.email ?? null,
    name: named.get(clerkId)?.name ?? null,
    figures: settled(figures),
  }));
  clerks.sort((a, b) => (a.email ?? '').localeCompare(b.email ?? '') || a.clerkId.localeCompare(b.clerkId));
  return { clerks, totals: settled(totals) };
}
