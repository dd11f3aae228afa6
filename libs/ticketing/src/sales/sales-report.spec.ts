import { describe, expect, it } from 'vitest';
import { PurchaseStatus } from '@app/database';
import type { PerformanceSalesRows } from '@app/database';
import { performanceReport } from './sales-report';
import type { LiveSales } from './sales.store';

const seats = [
  { id: 1, section: 'A', price: 100 },
  { id: 2, section: 'A', price: 100 },
  { id: 3, section: 'B', price: 40 },
];
const rows = (purchases: PerformanceSalesRows['purchases']): PerformanceSalesRows => ({
  currency: 'EUR',
  seats,
  purchases,
});
const live = (pending: LiveSales['pending'], statuses: Record<string, string> = {}): LiveSales => ({
  pending,
  seats: statuses,
  seatHolds: {},
  now: 1_000,
});
const record = { id: 'p1', seats: '1,3', amount: '140', status: 'PAID' };

describe('performanceReport', () => {
  it('counts a purchase seen in Redis and in PostgreSQL (flushed between the reads) once', () => {
    const report = performanceReport(
      rows([{ id: 'p1', status: PurchaseStatus.Paid, amount: 140, currency: 'EUR', seatIds: [1, 3] }]),
      live([{ type: 'purchase', record }]),
    );
    expect(report.totals).toMatchObject({ sold: 2, revenue: 140, purchases: 1, cancellations: 0, available: 1 });
    expect(report.sections.map((s) => [s.name, s.sold, s.revenue])).toEqual([
      ['A', 1, 100],
      ['B', 1, 40],
    ]);
  });

  it('keeps a cancellation whichever side knows it', () => {
    const canceledInPostgres = performanceReport(
      rows([{ id: 'p1', status: PurchaseStatus.Canceled, amount: 140, currency: 'EUR', seatIds: [1, 3] }]),
      live([{ type: 'purchase', record }]),
    );
    const canceledInRedis = performanceReport(
      rows([{ id: 'p1', status: PurchaseStatus.Paid, amount: 140, currency: 'EUR', seatIds: [1, 3] }]),
      live([{ type: 'cancel', purchaseId: 'p1' }]),
    );
    for (const report of [canceledInPostgres, canceledInRedis]) {
      expect(report.totals).toMatchObject({ sold: 0, revenue: 0, purchases: 1, cancellations: 1, available: 3 });
    }
  });

  it('puts the difference of a price changed after the hold on the first seat, so sections add up', () => {
    const report = performanceReport(rows([]), live([{ type: 'purchase', record: { ...record, amount: '150' } }]));
    expect(report.sections.map((s) => s.revenue)).toEqual([110, 40]);
    expect(report.totals.revenue).toBe(150);
  });

  it('counts a live hold as held and an expired one as available', () => {
    const report = performanceReport(rows([]), {
      ...live([], { '1': 'H', '2': 'H', '3': 'A' }),
      seatHolds: { '1': '2000:h1', '2': '500:h2' },
    });
    expect(report.totals).toMatchObject({ held: 1, available: 2 });
  });
});
