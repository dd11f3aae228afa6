import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CheckInResult, TicketsRepository } from '@app/database';
import { TestSession, waitUntil } from '@app/testing';
import { flushPurchases } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { createStaffSession } from './support/door';
import { createDoorsOpenShow, createShowOfSections, ON_SALE } from './support/shows';

interface SaleBody {
  id: string;
  tickets: { ticketId: string; seatId: number; code: string }[];
}

/**
 * A walk-up at the gate seconds after the window sold the ticket (door trial L5): the scan waits
 * for the sale's write (CHECK_IN_WAIT_FOR_SALE_SECONDS) instead of telling the gate to scan again,
 * and is then decided by PostgreSQL as any ticket: four gates scanning the code at once admit it
 * once. Real PostgreSQL and Redis; the flush runs when the test says, while the scans wait.
 */
describe('a walk-up scanned before its sale is written (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;
  let window: TestSession;
  const gates: TestSession[] = [];

  beforeAll(async () => {
    // Age 0: a flush pass writes everything so far; the test runs it while the scans wait.
    ({ api, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    window = await createStaffSession(api.app, admin, 'walkup-window@example.test', 'Window 1');
    for (let gate = 1; gate <= 4; gate++) {
      gates.push(await createStaffSession(api.app, admin, `walkup-gate-${gate}@example.test`, `Gate ${gate}`));
    }
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => close?.());

  async function doorsOpenSale(seats: number): Promise<{ performanceId: number; sale: SaleBody }> {
    const show = await createDoorsOpenShow(call, admin, {
      title: 'Walk-up Night',
      currency: 'EUR',
      sections: [{ name: 'Floor', grade: 'A', price: 2500, rows: 1, seatsPerRow: 8 }],
    });
    const sold = await call('POST', `/box-office/performances/${show.id}/sales`, {
      body: { seatIds: show.seats.Floor!.slice(0, seats), paymentMethod: 'CASH' },
      session: window,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    return { performanceId: show.id, sale: sold.json() };
  }

  /**
   * Resolves once PostgreSQL's check-in has answered NOT_FOUND `times` times (the scans reached it
   * before the sale's write), so the flush the test runs next comes after those scans' first try.
   */
  function notFoundSeen(times: number): Promise<void> {
    const repository = api.app.get(TicketsRepository);
    const original = repository.checkIn.bind(repository);
    let seen = 0;
    return new Promise((resolve) => {
      vi.spyOn(repository, 'checkIn').mockImplementation(async (...args) => {
        const result: CheckInResult = await original(...args);
        if (result.outcome === 'NOT_FOUND' && ++seen === times) resolve();
        return result;
      });
    });
  }

  const scan = (code: string, performanceId: number, session: TestSession) =>
    call('POST', '/check-in', { body: { code, performanceId }, session });

  it('admits a code scanned before its sale is written once the flush writes it: no "scan again"', async () => {
    const { performanceId, sale } = await doorsOpenSale(1);
    const tried = notFoundSeen(1);
    const scanning = scan(sale.tickets[0].code, performanceId, gates[0]);
    // Answered before the flush only when the scan does not wait (then it is the refusal).
    await Promise.race([tried, scanning]);
    await flushPurchases(api.app);
    const answer = await scanning;
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json()).toMatchObject({ ticketId: sale.tickets[0].ticketId, purchaseId: sale.id });
    // Admitted once: the next scan hears who let it in.
    const again = await scan(sale.tickets[0].code, performanceId, gates[1]);
    expect(again.statusCode, again.body).toBe(409);
    expect(again.json().message).toMatch(/^already checked in at .* by Gate 1 \(walkup-gate-1@example\.test\)$/);
  });

  it('four gates scanning the same unwritten code at once: exactly one admitted, three told by whom', async () => {
    const { performanceId, sale } = await doorsOpenSale(2);
    const code = sale.tickets[1].code;
    const tried = notFoundSeen(4);
    const scanning = Promise.all(gates.map((gate) => scan(code, performanceId, gate)));
    await Promise.race([tried, scanning]);
    await flushPurchases(api.app);
    const answers = await scanning;
    const admitted = answers.filter((answer) => answer.statusCode === 200);
    expect(admitted, answers.map((answer) => answer.body).join('\n')).toHaveLength(1);
    const winnerIndex = answers.indexOf(admitted[0]);
    const winner = gates[winnerIndex];
    for (const answer of answers.filter((each) => each !== admitted[0])) {
      expect(answer.statusCode, answer.body).toBe(409);
      expect(answer.json().message).toMatch(/^already checked in at /);
      expect(answer.json().message).toContain(`by Gate ${winnerIndex + 1} (${winner.email})`);
      expect(answer.json().details.checkedInBy).toMatchObject({ id: winner.id });
    }
    // The other seat of the sale admits too, once.
    expect((await scan(sale.tickets[0].code, performanceId, gates[2])).statusCode).toBe(200);
  });

  it('twenty scans of one unwritten code wait on one look at a time, not twenty: one admitted, the rest told by whom', async () => {
    const { performanceId, sale } = await doorsOpenSale(1);
    const code = sale.tickets[0].code;
    // The waits' looks at PostgreSQL for the ticket (doorState outside a check-in's own UPDATE, which
    // reads it too) are counted, and held until the flush ran: a scan waiting on a look of its own
    // cannot end before that look answers.
    const repository = api.app.get(TicketsRepository);
    const checkIn = repository.checkIn.bind(repository);
    const doorState = repository.doorState.bind(repository);
    const inCheckIn = new AsyncLocalStorage<true>();
    let firstTries = 0;
    vi.spyOn(repository, 'checkIn').mockImplementation(async (...args) => {
      const result = await inCheckIn.run(true, () => checkIn(...args));
      if (result.outcome === 'NOT_FOUND') firstTries += 1;
      return result;
    });
    let flushed: () => void = () => {};
    const afterFlush = new Promise<void>((resolve) => (flushed = resolve));
    let looks = 0;
    vi.spyOn(repository, 'doorState').mockImplementation(async (...args) => {
      if (!inCheckIn.getStore()) {
        looks += 1;
        await afterFlush;
      }
      return doorState(...args);
    });
    const scanning = Promise.all(
      Array.from({ length: 20 }, (_, index) => scan(code, performanceId, gates[index % gates.length])),
    );
    // Every scan tried once and waits; a wait's first look is under way (held).
    await waitUntil(() => firstTries === 20 && looks > 0, 'twenty first tries and a look', 20_000, 5);
    await flushPurchases(api.app);
    flushed();
    const answers = await scanning;

    // One wait for the code in this process, one look at a time: its first look, held, answered
    // the ticket written. A wait of each scan's own made a look each, twenty at least.
    expect(looks).toBe(1);
    const admitted = answers.filter((answer) => answer.statusCode === 200);
    expect(admitted, answers.map((answer) => answer.body).join('\n')).toHaveLength(1);
    for (const answer of answers.filter((each) => each !== admitted[0])) {
      expect(answer.statusCode, answer.body).toBe(409);
      expect(answer.json().message).toMatch(/^already checked in at /);
    }
  });

  it('refuses an unwritten code at the wrong door and before doors open at once, as a written one', async () => {
    const { sale } = await doorsOpenSale(1);
    const elsewhere = await createShowOfSections(call, admin, {
      title: 'Tomorrow',
      currency: 'EUR',
      performance: { ...ON_SALE },
      sections: [{ name: 'Floor', grade: 'A', price: 2500, rows: 1, seatsPerRow: 2 }],
    });
    const wrongDoor = await scan(sale.tickets[0].code, elsewhere.id, gates[0]);
    expect(wrongDoor.statusCode, wrongDoor.body).toBe(409);
    expect(wrongDoor.json().message).toMatch(/^ticket is for performance \d+ on .*, not this one$/);

    // A window sale for a show whose doors open in years: told when they open, not to wait.
    const sold = await call('POST', `/box-office/performances/${elsewhere.id}/sales`, {
      body: { seatIds: [elsewhere.seats.Floor![0]], paymentMethod: 'CARD_TERMINAL' },
      session: window,
    });
    expect(sold.statusCode, sold.body).toBe(201);
    const early = await scan(sold.json().tickets[0].code, elsewhere.id, gates[0]);
    expect(early.statusCode, early.body).toBe(409);
    expect(early.json().details).toMatchObject({ reason: 'NOT_OPEN' });
  });
});
