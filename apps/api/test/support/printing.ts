import { AdminApi, startAdminApi } from './api';
import { createDoorsOpenShow } from './shows';

/** What the printing e2e files start from: see {@link startPrintingApi}. */
export interface PrintingApi extends AdminApi {
  /** Its one section, Floor: 2 rows of 20 seats, doors open now. */
  performance: { id: number; seatIds: number[]; startsAt: Date };
  /** The next `count` seat ids of the performance, none of them given out before. */
  nextSeats(count: number): number[];
}

/**
 * {@link startAdminApi} with PURCHASE_FLUSH_AGE_SECONDS=0 (a flush pass writes every purchase so
 * far) and a show to print tickets of: event `title` in `currency`, one performance with its doors
 * open now (createDoorsOpenShow), its section Floor at `price` (minor units) a seat; `overrides`:
 * more of the api's environment.
 */
export async function startPrintingApi(
  show: { title: string; currency: string; price: number },
  overrides: Record<string, string> = {},
): Promise<PrintingApi> {
  const started = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0', ...overrides });
  try {
    const { id, seats, startsAt } = await createDoorsOpenShow(started.call, started.admin, {
      title: show.title,
      currency: show.currency,
      sections: [{ name: 'Floor', grade: 'A', price: show.price, rows: 2, seatsPerRow: 20 }],
    });
    const performance = { id, seatIds: seats.Floor!, startsAt };
    let next = 0;
    const nextSeats = (count: number) => performance.seatIds.slice(next, (next += count));
    return { ...started, performance, nextSeats };
  } catch (error) {
    await started.close();
    throw error;
  }
}
