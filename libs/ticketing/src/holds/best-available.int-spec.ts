import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALIGN_BUDGET } from '../../test/adjacent-rows';
import { drawHall, DrawnSection, hallRegistration, seatingDisagreements } from '../../test/halls';
import { ticketingFixture, TicketingFixture } from '../../test/ticketing-fixture';
import { performanceKeys } from '../redis-keys';
import { callScript } from '@app/redis';
import { Hold } from './hold';
import { HOLD_BEST_AVAILABLE, SeatScope } from './best-available-scripts';
import { holdScriptArgs, holdScriptKeys } from './hold-scripts';

/**
 * Golden cases of the best-available ladder (docs/seating.md) on small drawn halls, through
 * HoldService on the real Redis: which seats, which rung, and the seating data still agreeing
 * with the seat letters afterwards.
 */
describe('best-available holds: the ladder on small halls', () => {
  let fixture: TicketingFixture;
  let nextPerformance = 1;

  beforeAll(() => {
    fixture = ticketingFixture({ MAX_SEATS_PER_RESERVATION: '8' });
  });
  afterAll(() => fixture.close());

  async function hall(sections: DrawnSection[], lifecycle?: { noOrphanSeats: boolean; salesCloseAt?: Date }) {
    const performanceId = nextPerformance++;
    const drawn = drawHall(sections);
    await fixture.store.registerPerformance({
      ...hallRegistration(performanceId, drawn),
      ...(lifecycle
        ? {
            lifecycle: {
              status: 'ON_SALE',
              salesCloseAt: lifecycle.salesCloseAt ?? new Date(Date.now() + 3_600_000),
              cancelUntil: null,
              noOrphanSeats: lifecycle.noOrphanSeats,
            },
          }
        : {}),
    });
    const ask = (quantity: number, more: { together?: boolean; accessible?: boolean; scope?: SeatScope } = {}) =>
      fixture.holds.holdBestAvailable(randomUUID(), {
        performanceId,
        quantity,
        together: more.together ?? true,
        accessible: more.accessible ?? false,
        scope: more.scope ?? { kind: 'all' },
      });
    const labels = (hold: Hold) => hold.seatIds.map(drawn.label);
    const agrees = async () =>
      expect(await seatingDisagreements(fixture.redis, performanceId, drawn.places)).toEqual([]);
    return { performanceId, drawn, ask, labels, agrees };
  }

  it('a row with seats 1 and 5 taken and a request for 3: seats 2–4, together', async () => {
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: ['x...x.'] }]);
    const hold = await ask(3);
    expect(hold.arrangement).toBe('TOGETHER');
    expect(labels(hold)).toEqual(['A 1-2', 'A 1-3', 'A 1-4']);
    await agrees();
  });

  it('prefers a placement leaving no single seat in a worse row to one leaving a single in the best row', async () => {
    const { ask, labels } = await hall([{ name: 'A', rows: ['x....x', '......'] }]);
    const hold = await ask(3);
    expect(hold.arrangement).toBe('TOGETHER');
    expect(labels(hold).filter((label) => !label.startsWith('A 2-'))).toEqual([]);
  });

  it('a request only met by leaving a single: TOGETHER_WITH_GAP, on the better side', async () => {
    const { ask, labels, agrees } = await hall([
      { name: 'A', rows: ['x....x'], quality: (_row, number) => (number <= 3 ? 900 : 800) },
    ]);
    const hold = await ask(3);
    expect(hold.arrangement).toBe('TOGETHER_WITH_GAP');
    expect(labels(hold)).toEqual(['A 1-2', 'A 1-3', 'A 1-4']);
    await agrees();
  });

  it('a party larger than any row: adjacent rows of one section, then nothing unless it may split', async () => {
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: ['...', '...', '..x'] }]);
    const hold = await ask(4);
    expect(hold.arrangement).toBe('ADJACENT_ROWS');
    // 3 + 1 leaves no single where 2 + 2 left two (the seating trial of 2026-12-06, M3).
    expect(labels(hold)).toEqual(['A 1-1', 'A 1-2', 'A 1-3', 'A 2-1']);
    await agrees();
    // Left: 2-2, 2-3, 3-1, 3-2. Every split of three leaves a single: the equal shares, aligned.
    const three = await ask(3);
    expect(three.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(three)).toEqual(['A 2-2', 'A 2-3', 'A 3-2']);
    await expect(ask(5)).rejects.toMatchObject({ code: 'NoSeatsFit' });
    const rest = await ask(1);
    expect(rest.arrangement).toBe('TOGETHER');
    await agrees();
  });

  it('adjacent rows in a box of three-seat rows: unequal shares leaving no single beat equal ones (trial M3)', async () => {
    // The seating trial of 2026-12-06 (M3): equal shares (3 + 2, 2 + 2) left a single in every
    // row not filled; filling rows first leaves none.
    const { ask, labels, agrees } = await hall([{ name: 'Box', rows: ['...', '...', '...', '...'] }]);
    const five = await ask(5);
    expect(five.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(five)).toEqual(['Box 1-1', 'Box 1-2', 'Box 1-3', 'Box 2-1', 'Box 3-1']);
    await agrees();
    const four = await ask(4);
    expect(four.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(four)).toEqual(['Box 2-2', 'Box 2-3', 'Box 3-2', 'Box 3-3']);
    await agrees();
  });

  it('adjacent rows in a box of three-seat rows: 3 + 1 for four, 3 + 3 + 1 + 1 for eight (trial M3)', async () => {
    const { ask, labels, agrees } = await hall([{ name: 'Box', rows: ['...', '...', '...', '...'] }]);
    const four = await ask(4);
    expect(four.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(four)).toEqual(['Box 1-1', 'Box 1-2', 'Box 1-3', 'Box 2-1']);
    await agrees();
    const second = await hall([{ name: 'Box', rows: ['...', '...', '...', '...'] }]);
    const eight = await second.ask(8);
    expect(eight.arrangement).toBe('ADJACENT_ROWS');
    expect(second.labels(eight)).toEqual([
      'Box 1-1',
      'Box 1-2',
      'Box 1-3',
      'Box 2-1',
      'Box 2-2',
      'Box 2-3',
      'Box 3-1',
      'Box 4-1',
    ]);
    await second.agrees();
  });

  it('adjacent rows with noOrphanSeats: a split leaving no single is held, not refused (trial M3)', async () => {
    // Two rows of three, a party of 4: 2 + 2 leaves a single in each row; 3 + 1 leaves none.
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: ['...', '...'] }], { noOrphanSeats: true });
    const hold = await ask(4);
    expect(hold.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(hold)).toEqual(['A 1-1', 'A 1-2', 'A 1-3', 'A 2-1']);
    await agrees();
  });

  it('adjacent rows: equal shares are kept when they leave no single (a 2 + 2 in rows of four)', async () => {
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: ['xx..', '..xx'] }]);
    const hold = await ask(4);
    expect(hold.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(hold)).toEqual(['A 1-3', 'A 1-4', 'A 2-1', 'A 2-2']);
    await agrees();
  });

  it('adjacent rows: shares one behind the other in worse rows beat better rows whose shares do not overlap', async () => {
    // Rows 1 and 2 hold the best three seats each, at opposite ends; rows 3 and 4 hold worse ones, aligned.
    const { ask, labels, agrees } = await hall([
      { name: 'A', rows: ['...xxxxxx', 'xxxxxx...', '...xxxxxx', '...xxxxxx'] },
    ]);
    const hold = await ask(6);
    expect(hold.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(hold)).toEqual(['A 3-1', 'A 3-2', 'A 3-3', 'A 4-1', 'A 4-2', 'A 4-3']);
    await agrees();
  });

  it("adjacent rows: in the same rows, aligned windows beat each row's best window", async () => {
    // Row 1 prefers its left three seats, row 2 its right three: together they would not overlap.
    const { ask, labels, agrees } = await hall([
      {
        name: 'A',
        rows: ['...xx...', '...xx...'],
        quality: (row, number) => (row === 1 ? (number <= 3 ? 900 : 800) : number <= 3 ? 810 : 900),
      },
    ]);
    const hold = await ask(6);
    expect(hold.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(hold)).toEqual(['A 1-1', 'A 1-2', 'A 1-3', 'A 2-1', 'A 2-2', 'A 2-3']);
    await agrees();
  });

  it('adjacent rows: an aligned placement in three rows beats an unaligned one in two', async () => {
    // Two rows give 2 + 2 only at seats 1–2 and 5–6; three rows give 2 + 1 + 1 on seat 2.
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: ['..xxxx', 'x.xx..', 'x.xxxx'] }]);
    const hold = await ask(4);
    expect(hold.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(hold)).toEqual(['A 1-1', 'A 1-2', 'A 2-2', 'A 3-2']);
    await agrees();
  });

  it("adjacent rows: without any aligned placement, each share takes its row's best window", async () => {
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: ['...xxxxxx', 'xxxxxx...'] }]);
    const hold = await ask(6);
    expect(hold.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(hold)).toEqual(['A 1-1', 'A 1-2', 'A 1-3', 'A 2-7', 'A 2-8', 'A 2-9']);
    await agrees();
  });

  // Rows whose free runs never overlap (seats 1–3, then 4–6, alternating) but for the last two
  // rows: the only aligned placement of 6 is 3 + 3 there.
  const staggeredThenAligned = (rows: number) =>
    Array.from({ length: rows }, (_, i) => (i % 2 === 0 || i === rows - 1 ? '...xxx' : 'xxx...'));

  it('adjacent rows: an aligned placement in the last rows of a section within the work budget', async () => {
    // 40 rows: 39 sets of two rows, far within ALIGN_BUDGET (112 units).
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: staggeredThenAligned(40) }]);
    const hold = await ask(6);
    expect(hold.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(hold)).toEqual(['A 39-1', 'A 39-2', 'A 39-3', 'A 40-1', 'A 40-2', 'A 40-3']);
    await agrees();
  });

  it('adjacent rows: past the work budget, the unaligned placement without searching further', async () => {
    // 300 rows: the budget is spent at the 113th set of two rows, before the aligned pair (299–300).
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: staggeredThenAligned(300) }]);
    const hold = await ask(6);
    expect(hold.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(hold)).toEqual(['A 1-1', 'A 1-2', 'A 1-3', 'A 2-4', 'A 2-5', 'A 2-6']);
    await agrees();
  });

  it("adjacent rows: the properties' budget (test/adjacent-rows.ts) is the script's", () => {
    const script = readFileSync(join(__dirname, 'hold-best-available.lua'), 'utf8');
    expect(Number(/^local ALIGN_BUDGET = (\d+)$/m.exec(script)?.[1])).toBe(ALIGN_BUDGET);
  });

  it('a wheelchair user with two companions gets the accessible seat and both companions together', async () => {
    const { ask, labels } = await hall([{ name: 'A', rows: ['.......', '..CAC..'] }]);
    const hold = await ask(3, { accessible: true });
    expect(hold.arrangement).toBe('TOGETHER');
    expect(labels(hold)).toEqual(['A 2-3', 'A 2-4', 'A 2-5']);
  });

  it('a wheelchair user alone gets the space between its two companion seats: TOGETHER_WITH_GAP, the only way', async () => {
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: ['CAC'] }]);
    const hold = await ask(1, { accessible: true });
    expect(hold.arrangement).toBe('TOGETHER_WITH_GAP');
    expect(labels(hold)).toEqual(['A 1-2']);
    await agrees();
  });

  it('two singles left only where no placement leaves one: a party between two free companion seats', async () => {
    // Row 1: the party of 2 fits only between the marked seats (both stay free, alone); row 2
    // leaves one single. One single is preferred, whatever the quality.
    const { ask, labels } = await hall([{ name: 'A', rows: ['C..C', '...x'] }]);
    const hold = await ask(2);
    expect(hold.arrangement).toBe('TOGETHER_WITH_GAP');
    expect(labels(hold)).toEqual(['A 2-2', 'A 2-3']);
    const next = await ask(2);
    expect(next.arrangement).toBe('TOGETHER_WITH_GAP');
    expect(labels(next)).toEqual(['A 1-2', 'A 1-3']);
  });

  it('a hold made shortly before salesCloseAt expires at salesCloseAt, not a whole hold lifetime later', async () => {
    const salesCloseAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
    const { ask, performanceId } = await hall([{ name: 'A', rows: ['....'] }], { noOrphanSeats: false, salesCloseAt });
    const hold = await ask(2);
    expect(hold.expiresAt).toEqual(salesCloseAt);
    expect(await fixture.redis.zscore(performanceKeys(performanceId).expiry, hold.id)).toBe(
      String(salesCloseAt.getTime()),
    );
  });

  it('a party larger than any row in a hall of one row: 409 together, SPLIT when it may split', async () => {
    const { ask, labels } = await hall([{ name: 'A', rows: ['.x.x.'] }]);
    await expect(ask(3)).rejects.toMatchObject({ code: 'NoSeatsFit', details: { quantity: 3, together: true } });
    const hold = await ask(3, { together: false });
    expect(hold.arrangement).toBe('SPLIT');
    expect(labels(hold)).toEqual(['A 1-1', 'A 1-3', 'A 1-5']);
  });

  it('accessible seats with companions go to accessible requests only', async () => {
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: ['CAC...', '......'] }]);
    const party = await ask(3);
    expect(labels(party).filter((label) => ['A 1-1', 'A 1-2', 'A 1-3'].includes(label))).toEqual([]);
    // Two of the three leave one companion seat alone: the best this hall has for two.
    const pair = await ask(2, { accessible: true });
    expect(pair.arrangement).toBe('TOGETHER_WITH_GAP');
    expect(labels(pair)).toContain('A 1-2');
    expect(labels(pair).filter((label) => !['A 1-1', 'A 1-2', 'A 1-3'].includes(label))).toEqual([]);
    // Only a companion seat is left of the three: no accessible seat, nothing for an accessible request.
    await expect(ask(1, { accessible: true })).rejects.toMatchObject({ code: 'NoSeatsFit' });
    await agrees();
  });

  it('mixed grades: a grade or a section narrows the seats; an unknown one is 404', async () => {
    const { ask, labels } = await hall([
      { name: 'VIP', grade: 'VIP', rows: ['....'], quality: () => 1000 },
      { name: 'Floor', grade: 'R', rows: ['....'], quality: () => 500 },
      { name: 'Balcony', grade: 'S', rows: ['....'], quality: () => 200 },
    ]);
    expect(labels(await ask(2))[0]).toMatch(/^VIP /);
    expect(labels(await ask(2, { scope: { kind: 'grade', grade: 'S' } }))[0]).toMatch(/^Balcony /);
    expect(labels(await ask(2, { scope: { kind: 'section', section: 'Floor' } }))[0]).toMatch(/^Floor /);
    await expect(ask(2, { scope: { kind: 'grade', grade: 'Z' } })).rejects.toMatchObject({ code: 'NotFound' });
    await expect(ask(2, { scope: { kind: 'section', section: 'Z' } })).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('the last seats of a performance: split only when allowed, then nothing; counts exact', async () => {
    const { performanceId, ask, agrees } = await hall([{ name: 'A', rows: ['x.xx', '.xx.'] }]);
    await expect(ask(3)).rejects.toMatchObject({ code: 'NoSeatsFit' });
    const hold = await ask(3, { together: false });
    expect(hold.arrangement).toBe('SPLIT');
    await expect(ask(1, { together: false })).rejects.toMatchObject({ code: 'NoSeatsFit' });
    const { stored, recomputed } = await fixture.truth(performanceId);
    expect(stored).toEqual(recomputed);
    expect(stored.available).toBe(0);
    await agrees();
  });

  it('a tie with a placement in a later section goes to the earlier section, even past its first best row', async () => {
    // Section Back is searched first (its best clean pair, companion seats, bounds it at 1,200)
    // and places row 2 at 1,000; Front's bound is 1,000 too, its first row holding it has only
    // companion seats, and its row 2 ties Back's placement at a lower layout position.
    const { ask, labels } = await hall([
      { name: 'Front', rows: ['CC', '..'], quality: () => 500 },
      { name: 'Back', rows: ['CC', '..'], quality: (row) => (row === 1 ? 600 : 500) },
    ]);
    const hold = await ask(2);
    expect(hold.arrangement).toBe('TOGETHER');
    expect(labels(hold)).toEqual(['Front 2-1', 'Front 2-2']);
  });

  it('adjacent rows: a tie with a placement in a later section goes to the earlier section', async () => {
    // Back is searched first (its companion seat, 600, bounds it at 1,200) and places its two
    // unaligned single seats at 1,000; Front's bound (2 × 500) only ties that, from an earlier
    // layout position, so Front's placement wins (a property run found the bound cut at a tie).
    const { ask, labels } = await hall([
      { name: 'Front', rows: ['.x', 'x.'], quality: () => 500 },
      { name: 'Back', rows: ['C.x', '.xx'], quality: (row, number) => (row === 1 && number === 1 ? 600 : 500) },
    ]);
    const hold = await ask(2);
    expect(hold.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(hold)).toEqual(['Front 1-1', 'Front 2-2']);
  });

  it('split: a seat as good as the worst pick, earlier in layout, displaces it', async () => {
    // Back (its companion seat, 600, first) fills both picks at 500; Front's one seat, 500 too,
    // comes before them in layout and displaces the later of Back's.
    const { ask, labels } = await hall([
      { name: 'Front', rows: ['.'], quality: () => 500 },
      { name: 'Back', rows: ['C.x.'], quality: (_row, number) => (number === 1 ? 600 : 500) },
    ]);
    const hold = await ask(2, { together: false });
    expect(hold.arrangement).toBe('SPLIT');
    expect(labels(hold)).toEqual(['Front 1-1', 'Back 1-2']);
  });

  it("parties of 3 and 4: a row's best clean window bounds it, so a row that cannot beat the best found is not read", async () => {
    // Row 2's front seats are the hall's best pair (2,000), but no three or four of its free seats
    // side by side beat row 1's (1,500 and 2,000): a bound from pairs and the best seat (3,000 for
    // three, 4,000 for four) would have row 2 scored, and its windows cached, on every search.
    for (const quantity of [3, 4]) {
      const { performanceId, ask, labels, agrees } = await hall([
        {
          name: 'A',
          rows: ['........', '..x.....'],
          quality: (row, number) => (row === 1 ? 500 : number <= 2 ? 1000 : 0),
        },
      ]);
      const hold = await ask(quantity);
      expect(hold.arrangement).toBe('TOGETHER');
      expect(labels(hold)).toEqual(['A 1-1', 'A 1-2', 'A 1-3', 'A 1-4'].slice(0, quantity));
      expect(await fixture.redis.hget(performanceKeys(performanceId).seating, 'w1')).toBeNull();
      await agrees();
    }
  });

  it('parties of 5 to 8: runs one short and one long of the party in the best row leave it unread; alone, a gap', async () => {
    // Row 1 (better seats) has runs of n - 1 and n + 1 free seats: no n of them side by side leave
    // no single. Row 2's first n seats do. A bound from smaller windows (a triple or quad plus
    // pairs) would have row 1 scored, and its windows cached, on every search.
    const seats = (count: number) => '.'.repeat(count);
    for (const n of [5, 6, 7, 8]) {
      const { performanceId, ask, labels, agrees } = await hall([
        {
          name: 'A',
          rows: [`${seats(n - 1)}x${seats(n + 1)}`, seats(n + 2)],
          quality: (row) => (row === 1 ? 900 : 500),
        },
      ]);
      const hold = await ask(n);
      expect({ n, arrangement: hold.arrangement }).toEqual({ n, arrangement: 'TOGETHER' });
      expect({ n, seats: labels(hold) }).toEqual({ n, seats: Array.from({ length: n }, (_, i) => `A 2-${i + 1}`) });
      expect({ n, cached: await fixture.redis.hget(performanceKeys(performanceId).seating, 'w0') }).toEqual({
        n,
        cached: null,
      });
      await agrees();

      const alone = await hall([{ name: 'A', rows: [`${seats(n - 1)}x${seats(n + 1)}`] }]);
      const gap = await alone.ask(n);
      expect({ n, arrangement: gap.arrangement }).toEqual({ n, arrangement: 'TOGETHER_WITH_GAP' });
      expect({ n, seats: alone.labels(gap) }).toEqual({
        n,
        seats: Array.from({ length: n }, (_, i) => `A 1-${n + 1 + i}`),
      });
      await alone.agrees();
    }
  });

  it('a party of 6 takes the best window leaving no single, not the better one that leaves one', async () => {
    // Seats 2–7 are the row's best six but leave seat 1 alone; 1–6 and 4–9 leave none.
    const { ask, labels, agrees } = await hall([
      { name: 'A', rows: ['.........'], quality: (_row, number) => 1000 - 100 * Math.abs(number - 5) - number },
    ]);
    const hold = await ask(6);
    expect(hold.arrangement).toBe('TOGETHER');
    expect(labels(hold)).toEqual(['A 1-1', 'A 1-2', 'A 1-3', 'A 1-4', 'A 1-5', 'A 1-6']);
    await agrees();
  });

  it('a party of 8 larger than any row: adjacent rows; then 5 do not fit anywhere, 4 do', async () => {
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: ['....', '....', '....'] }]);
    const hold = await ask(8);
    expect(hold.arrangement).toBe('ADJACENT_ROWS');
    expect(labels(hold)).toEqual(['A 1-1', 'A 1-2', 'A 1-3', 'A 1-4', 'A 2-1', 'A 2-2', 'A 2-3', 'A 2-4']);
    await expect(ask(5)).rejects.toMatchObject({ code: 'NoSeatsFit' });
    await expect(ask(5, { together: false })).rejects.toMatchObject({ code: 'NoSeatsFit' });
    const rest = await ask(4);
    expect(rest.arrangement).toBe('TOGETHER');
    expect(labels(rest)).toEqual(['A 3-1', 'A 3-2', 'A 3-3', 'A 3-4']);
    await agrees();
  });

  it('a party of 3 whose best clean window holds a companion seat gets the best unmarked one', async () => {
    const { ask, labels, agrees } = await hall([
      { name: 'A', rows: ['..C.....', '........'], quality: (row, number) => (row === 1 ? 900 - number : 500) },
    ]);
    const hold = await ask(3);
    expect(hold.arrangement).toBe('TOGETHER');
    // 1-4..1-6 leaves 1-7 and 1-8 together; 1-4..1-6 is the best of row 1 without seat 3.
    expect(labels(hold)).toEqual(['A 1-4', 'A 1-5', 'A 1-6']);
    await agrees();
  });

  it('accessible requests: the best window by quality, rows without a free accessible seat not read', async () => {
    const { performanceId, ask, labels, agrees } = await hall([
      { name: 'A', rows: ['CaC...', 'CAC...', 'CAC...'], quality: (row) => [900, 500, 700][row - 1] },
    ]);
    expect(labels(await ask(3, { accessible: true }))).toEqual(['A 3-1', 'A 3-2', 'A 3-3']);
    expect(labels(await ask(3, { accessible: true }))).toEqual(['A 2-1', 'A 2-2', 'A 2-3']);
    // Row 1's wheelchair space is sold: the row's slot says so and its seats are never scored.
    expect(await fixture.redis.hget(performanceKeys(performanceId).seating, 'w0')).toBeNull();
    await expect(ask(3, { accessible: true })).rejects.toMatchObject({ code: 'NoSeatsFit' });
    await agrees();
  });

  it('an accessible request that must split gets the best accessible seat, however far the best companions are', async () => {
    // Front's two companion seats (900) are the best marked seats; the only free wheelchair space
    // is in Back (100): the split takes the better companion seat and that space.
    const { ask, labels, agrees } = await hall([
      { name: 'Front', rows: ['CaxC'], quality: () => 900 },
      { name: 'Back', rows: ['xA'], quality: () => 100 },
    ]);
    await expect(ask(2, { accessible: true })).rejects.toMatchObject({ code: 'NoSeatsFit' });
    const hold = await ask(2, { accessible: true, together: false });
    expect(hold.arrangement).toBe('SPLIT');
    expect(labels(hold)).toEqual(['Front 1-1', 'Back 1-2']);
    await agrees();
  });

  it('an accessible SPLIT offers companion seats of rows and sections without a wheelchair space', async () => {
    // Front has companion seats only, Back's first row too: a split of 4 needs them all with Back's
    // one wheelchair space.
    const { ask, labels, agrees } = await hall([
      { name: 'Front', rows: ['CxC'], quality: () => 900 },
      { name: 'Back', rows: ['Cx', 'xA'], quality: () => 100 },
    ]);
    await expect(ask(4, { accessible: true })).rejects.toMatchObject({ code: 'NoSeatsFit' });
    const hold = await ask(4, { accessible: true, together: false });
    expect(hold.arrangement).toBe('SPLIT');
    expect(labels(hold)).toEqual(['Front 1-1', 'Front 1-3', 'Back 1-1', 'Back 2-2']);
    await agrees();
  });

  it('NoSeatsFit says sold out when no seat of the scope is free, and names no wheelchair seats the hall lacks', async () => {
    const { performanceId, drawn, ask } = await hall([
      { name: 'A', rows: ['xxxx'] },
      { name: 'B', grade: 'S', rows: ['x..x'] },
    ]);
    await expect(ask(1, { scope: { kind: 'section', section: 'A' } })).rejects.toMatchObject({
      code: 'NoSeatsFit',
      message:
        'no seats are free: every seat of this performance in section A is sold, held or blocked (off sale) (held seats come back when their holds end)',
      details: { quantity: 1, together: true, accessible: false, soldOut: true },
    });
    await expect(ask(2, { scope: { kind: 'grade', grade: 'R' } })).rejects.toMatchObject({
      message:
        'no seats are free: every seat of this performance in grade R is sold, held or blocked (off sale) (held seats come back when their holds end)',
      details: { soldOut: true },
    });
    // B's two free seats: not sold out, and no kept seat to mention.
    const three = ask(3);
    await expect(three).rejects.toMatchObject({
      message: 'no 3 seats together (one row, or adjacent rows of one section) are available for this request',
    });
    expect(((await three.catch((error: unknown) => error)) as { details: object }).details).not.toHaveProperty(
      'soldOut',
    );
    await fixture.holds.hold(randomUUID(), performanceId, [drawn.seat('B', 1, 2), drawn.seat('B', 1, 3)]);
    for (const accessible of [false, true]) {
      await expect(ask(1, { accessible })).rejects.toMatchObject({
        code: 'NoSeatsFit',
        message:
          'no seats are free: every seat of this performance is sold, held or blocked (off sale) (held seats come back when their holds end)',
        details: { quantity: 1, accessible, soldOut: true },
      });
    }
  });

  it('NoSeatsFit names the seats kept for accessible requests only while some are free', async () => {
    const note = ' (wheelchair spaces and companion seats go to accessible requests only)';
    // A free wheelchair space (in the sections' slots).
    const space = await hall([{ name: 'A', rows: ['xAx'] }]);
    await expect(space.ask(1)).rejects.toMatchObject({
      message: `no seat is available for this request${note}`,
      details: { quantity: 1, together: true, accessible: false, accessibleOnly: true },
    });
    // A free companion seat beside a sold space (not in the slots: its row is read).
    const companion = await hall([
      { name: 'A', rows: ['x.x'] },
      { name: 'B', rows: ['xxx', 'xaCx'] },
    ]);
    await expect(companion.ask(2, { together: false })).rejects.toMatchObject({
      message: `fewer than 2 seats are available for this request${note}`,
    });
    // Marked seats all sold, free seats that do not fit: no note.
    const sold = await hall([{ name: 'A', rows: ['ac.x.x', 'cxaxxx'] }]);
    await expect(sold.ask(3)).rejects.toMatchObject({
      message: 'no 3 seats together (one row, or adjacent rows of one section) are available for this request',
    });
    // An accessible request is told of accessible seats, never of the note.
    await expect(sold.ask(3, { accessible: true })).rejects.toMatchObject({
      message:
        'no 3 accessible seats (wheelchair spaces with their companion seats) together (one row, or adjacent rows of one section) are available for this request',
    });
  });

  it('an accessible request in a scope without wheelchair spaces is told so, not that they are taken (trial L2)', async () => {
    const { ask } = await hall([
      { name: 'Stalls', rows: ['.....', 'AC...'] },
      { name: 'Gallery', rows: ['....', '....'] },
      { name: 'Box', rows: ['C..', '...'] },
    ]);
    const none = {
      code: 'NoSeatsFit',
      message:
        'no accessible seat (a wheelchair space) exists in this performance in section Gallery: it has none at all, sold or free (another section or grade may have some)',
      details: { quantity: 1, together: true, accessible: true, noAccessibleSeats: true },
    };
    await expect(ask(1, { accessible: true, scope: { kind: 'section', section: 'Gallery' } })).rejects.toMatchObject(
      none,
    );
    // A companion seat is no wheelchair space.
    await expect(ask(2, { accessible: true, scope: { kind: 'section', section: 'Box' } })).rejects.toMatchObject({
      details: { noAccessibleSeats: true },
    });
    // The scope with a space: held; then every space taken reads as before, without the field.
    const held = await ask(1, { accessible: true, scope: { kind: 'section', section: 'Stalls' } });
    expect(held.seatIds).toHaveLength(1);
    const taken = ask(1, { accessible: true, scope: { kind: 'section', section: 'Stalls' } });
    await expect(taken).rejects.toMatchObject({
      code: 'NoSeatsFit',
      message: 'no accessible seat (a wheelchair space) is available for this request',
    });
    expect(((await taken.catch((error: unknown) => error)) as { details: object }).details).not.toHaveProperty(
      'noAccessibleSeats',
    );
  });

  it("a row's cached windows are dropped whenever its seats change, so freed seats are offered again", async () => {
    // Row 2's first two seats (companion seats, not offered to this request) are the best pair of
    // the hall, so every search scores row 2 (and caches its windows) before holding its pair in
    // row 1: a row's bound counts every free seat, whatever its marks.
    const { performanceId, drawn, ask, labels, agrees } = await hall([
      {
        name: 'A',
        rows: ['........', 'CC......'],
        quality: (row, number) => (row === 1 ? 900 : number <= 2 ? 1000 : 100),
      },
    ]);
    const rowTwo = () => fixture.redis.hget(performanceKeys(performanceId).seating, 'w1');
    const seatHold = await fixture.holds.hold(randomUUID(), performanceId, [drawn.seat('A', 2, 8)]);
    expect(await rowTwo()).toBeNull();
    expect(labels(await ask(2))).toEqual(['A 1-1', 'A 1-2']);
    expect(await rowTwo()).not.toBeNull();
    // Freed: row 2's seat 8 is offered again (its pairs score 200); row 1's next pair still beats them.
    await fixture.holds.release(seatHold.userId, seatHold.id);
    expect(await rowTwo()).toBeNull();
    expect(labels(await ask(2))).toEqual(['A 1-3', 'A 1-4']);
    expect(await rowTwo()).not.toBeNull();
    expect(labels(await ask(4))).toEqual(['A 1-5', 'A 1-6', 'A 1-7', 'A 1-8']);
    expect(labels(await ask(2))).toEqual(['A 2-3', 'A 2-4']);
    expect(await rowTwo()).toBeNull();
    await agrees();
  });

  it("seat-id holds defer their rows' refresh to the next best-available search, which reads them fresh", async () => {
    const { performanceId, drawn, ask, labels, agrees } = await hall([
      { name: 'A', rows: ['......', '......'], quality: (row, number) => (row === 1 ? 900 - number : 100) },
    ]);
    const keys = performanceKeys(performanceId);
    const longestRunOfRowOne = async () => (await fixture.redis.getrangeBuffer(keys.runs, 0, 1)).readUInt16BE(0);
    await fixture.holds.hold(randomUUID(), performanceId, [drawn.seat('A', 1, 3), drawn.seat('A', 1, 4)]);
    await fixture.holds.hold(randomUUID(), performanceId, [drawn.seat('A', 1, 6)]);
    // Listed once, its slot as it was: the row's six seats still read as one free run.
    expect(await fixture.redis.hget(keys.seating, 'dirty')).toBe(',0,');
    expect(await longestRunOfRowOne()).toBe(6);
    await agrees();
    expect(labels(await ask(2))).toEqual(['A 1-1', 'A 1-2']);
    expect(await fixture.redis.hget(keys.seating, 'dirty')).toBeNull();
    expect(await longestRunOfRowOne()).toBe(1);
    await agrees();
  });

  it('past the deferred rows a list has room for, a seat-id hold refreshes its row at once', async () => {
    const { performanceId, drawn, ask, agrees } = await hall([{ name: 'A', rows: Array<string>(1200).fill('..') }]);
    const keys = performanceKeys(performanceId);
    for (let row = 1; row <= 1200; row += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fixture.holds.hold(randomUUID(), performanceId, [drawn.seat('A', row + i, 1)]),
        ),
      );
    }
    const dirty = (await fixture.redis.hget(keys.seating, 'dirty'))!;
    const listed = dirty.split(',').filter(Boolean).length;
    expect(dirty.length).toBeLessThanOrEqual(4096);
    expect(listed).toBeGreaterThan(1000);
    expect(listed).toBeLessThan(1200);
    // The rows left out of the list are exact already (seatingDisagreements checks every unlisted row).
    await agrees();
    expect((await ask(2, { together: false })).seatIds).toHaveLength(2);
    expect(await fixture.redis.hget(keys.seating, 'dirty')).toBeNull();
    await agrees();
  });

  it('releases, expiry and seat-id holds keep the seating data right; the seats come back', async () => {
    const { performanceId, drawn, ask, agrees } = await hall([{ name: 'A', rows: ['......'] }]);
    const hold = await ask(4);
    await agrees();
    await fixture.holds.release(hold.userId, hold.id);
    await agrees();
    await fixture.holds.hold(randomUUID(), performanceId, [drawn.seat('A', 1, 1)]);
    await agrees();
    // A short hold expires; the next best-available request ends it and may take its seats.
    const short = fixture.connect({ RESERVATION_TTL_SECONDS: '1' });
    const brief = await short.holds.holdBestAvailable(randomUUID(), {
      performanceId,
      quantity: 5,
      together: true,
      accessible: false,
      scope: { kind: 'all' },
    });
    await expect(ask(1)).rejects.toMatchObject({ code: 'NoSeatsFit' });
    await fixture.redisTimePasses(brief.expiresAt, 'the short hold expired');
    expect((await ask(5)).arrangement).toBe('TOGETHER');
    expect(await fixture.redis.hget(performanceKeys(performanceId).hold(brief.id), 'status')).toBe('EXPIRED');
    await agrees();
  });

  it("a search on its last round ends only the expired holds it was given, the others' seats left taken", async () => {
    const { performanceId, drawn, agrees } = await hall([
      { name: 'A', rows: ['......'], quality: (_row, n) => 900 - n },
    ]);
    const keys = performanceKeys(performanceId);
    const short = fixture.connect({ RESERVATION_TTL_SECONDS: '1' });
    const first = await short.holds.hold(randomUUID(), performanceId, [drawn.seat('A', 1, 1)]);
    const second = await short.holds.hold(randomUUID(), performanceId, [drawn.seat('A', 1, 3)]);
    await fixture.redisTimePasses(second.expiresAt, 'both holds expired');
    const call = (passedOnly: 0 | 1, ending: string[]) => {
      const userId = randomUUID();
      const holdId = `${performanceId}-${randomUUID()}`;
      const head = { holdId, userId, performanceId, lifetimeMs: 300_000, userLimit: 8, retentionMs: 60_000 };
      return callScript<(string | number)[]>(
        fixture.redis,
        HOLD_BEST_AVAILABLE.name,
        holdScriptKeys(keys, head, ending),
        [...holdScriptArgs(head), 2, 1, 0, 'all', '', passedOnly, ...ending],
      );
    };
    // Not the last round: both named (in expiry order, ties by id), nothing changed.
    const [outcome, ...named] = await call(0, []);
    expect(outcome).toBe('END_HOLDS');
    expect(named.map(String).sort()).toEqual([first.id, second.id].sort());
    // The last round, given the first only: it ends that one and holds seats 1–2 (seat 3 still taken).
    const answer = await call(1, [first.id]);
    expect(answer[0]).toBe('OK');
    expect(String(answer[5]).split(',').map(Number).map(drawn.label)).toEqual(['A 1-1', 'A 1-2']);
    expect(await fixture.redis.hget(keys.hold(first.id), 'status')).toBe('EXPIRED');
    expect(await fixture.redis.hget(keys.hold(second.id), 'status')).toBe('HELD');
    expect(await fixture.redis.zscore(keys.expiry, second.id)).not.toBeNull();
    // The sweeper (or the next search) ends the second as usual.
    await short.sweeper.sweepOnce();
    expect(await fixture.redis.hget(keys.hold(second.id), 'status')).toBe('EXPIRED');
    const { stored, recomputed } = await fixture.truth(performanceId);
    expect(stored).toEqual(recomputed);
    expect(stored).toMatchObject({ available: 4, held: 2, sold: 0 });
    await agrees();
  });

  it('the per-user limit counts best-available holds as seat-id holds do', async () => {
    const { performanceId, ask } = await hall([{ name: 'A', rows: ['..............'] }]);
    const userId = randomUUID();
    const request = { performanceId, together: true, accessible: false, scope: { kind: 'all' } as SeatScope };
    await fixture.holds.holdBestAvailable(userId, { ...request, quantity: 6 });
    await expect(fixture.holds.holdBestAvailable(userId, { ...request, quantity: 3 })).rejects.toMatchObject({
      code: 'HoldLimitExceeded',
      details: { alreadyHeld: 6 },
    });
    await expect(fixture.holds.holdBestAvailable(userId, { ...request, quantity: 9 })).rejects.toMatchObject({
      code: 'HoldLimitExceeded',
      details: { limit: 8, requested: 9 },
    });
    await expect(fixture.holds.holdBestAvailable(userId, { ...request, quantity: 0 })).rejects.toMatchObject({
      code: 'InvalidInput',
    });
    expect((await ask(2)).seatIds).toHaveLength(2);
  });

  it('noOrphanSeats: a seat-id hold leaving a single free seat is refused naming that seat, nothing held', async () => {
    const { performanceId, drawn } = await hall([{ name: 'A', rows: ['......'] }], { noOrphanSeats: true });
    const seat = (number: number) => drawn.seat('A', 1, number);
    await expect(fixture.holds.hold(randomUUID(), performanceId, [seat(2), seat(3)])).rejects.toMatchObject({
      code: 'SingleSeatLeft',
      message: expect.stringContaining(`would leave seat ${seat(1)} empty on its own`),
      details: { singleSeatId: seat(1), besideSeatId: seat(2) },
    });
    await expect(fixture.holds.hold(randomUUID(), performanceId, [seat(5)])).rejects.toMatchObject({
      code: 'SingleSeatLeft',
      details: { singleSeatId: seat(6), besideSeatId: seat(5) },
    });
    expect((await fixture.truth(performanceId)).stored.held).toBe(0);
    await fixture.holds.hold(randomUUID(), performanceId, [seat(1), seat(2)]);
    await fixture.holds.hold(randomUUID(), performanceId, [seat(5), seat(6)]);
    // 3 and 4 are left; taking one of them would leave the other alone.
    await expect(fixture.holds.hold(randomUUID(), performanceId, [seat(3)])).rejects.toMatchObject({
      code: 'SingleSeatLeft',
      details: { singleSeatId: seat(4), besideSeatId: seat(3) },
    });
    await fixture.holds.hold(randomUUID(), performanceId, [seat(3), seat(4)]);
  });

  it('noOrphanSeats: the seat left alone between the selection and a taken seat is the one named', async () => {
    // The report's row: seats 1–6 with 3 taken; asking for 1 would leave 2 alone, not 1.
    const { performanceId, drawn } = await hall([{ name: 'A', rows: ['..x...'] }], { noOrphanSeats: true });
    const seat = (number: number) => drawn.seat('A', 1, number);
    await expect(fixture.holds.hold(randomUUID(), performanceId, [seat(1)])).rejects.toMatchObject({
      code: 'SingleSeatLeft',
      details: { singleSeatId: seat(2), besideSeatId: seat(1) },
    });
  });

  it('noOrphanSeats with the seating data lost: refused until the data is built, then SingleSeatLeft', async () => {
    const { performanceId, drawn, agrees } = await hall([{ name: 'A', rows: ['......'] }], { noOrphanSeats: true });
    const keys = performanceKeys(performanceId);
    await fixture.redis.unlink(keys.seating, keys.free, keys.runs, keys.seatInfo);
    const leavesSingle = () => fixture.holds.hold(randomUUID(), performanceId, [drawn.seat('A', 1, 2)]);
    // Without the data the rule cannot be checked: the hold is refused (HoldDesk builds it and asks again).
    await expect(leavesSingle()).rejects.toMatchObject({ code: 'NotFound', message: 'seating not found' });
    expect((await fixture.truth(performanceId)).stored.held).toBe(0);
    await fixture.store.registerSeating(performanceId, drawn.places);
    await expect(leavesSingle()).rejects.toMatchObject({ code: 'SingleSeatLeft' });
    await agrees();
  });

  it('noOrphanSeats: a wheelchair user alone gets the space between its companion seats at a row end', async () => {
    // Found by the seating trial (docs/trials/seating-2026-12-06.md, M1): the companion seat left
    // alone at the row's end counted as a single, so a lone wheelchair user got no space at all.
    const { ask, labels, agrees } = await hall([{ name: 'A', rows: ['CAC...'] }], { noOrphanSeats: true });
    const hold = await ask(1, { accessible: true });
    expect(hold.arrangement).toBe('TOGETHER_WITH_GAP');
    expect(labels(hold)).toEqual(['A 1-2']);
    await agrees();
  });

  it('noOrphanSeats: a marked seat left alone does not count, an unmarked one still does (seat ids)', async () => {
    const { performanceId, drawn } = await hall([{ name: 'A', rows: ['CAC....'] }], { noOrphanSeats: true });
    const seat = (number: number) => drawn.seat('A', 1, number);
    // The wheelchair space alone leaves companion seat 1 alone: sold apart, to accessible requests.
    expect((await fixture.holds.hold(randomUUID(), performanceId, [seat(2)])).status).toBe('HELD');
    // Seat 6 leaves seat 7 alone at the row's end: still refused.
    await expect(fixture.holds.hold(randomUUID(), performanceId, [seat(6)])).rejects.toMatchObject({
      code: 'SingleSeatLeft',
      details: { singleSeatId: seat(7), besideSeatId: seat(6) },
    });
    // Seats 4-7 leave companion seat 3 alone beside the held space: taken.
    expect((await fixture.holds.hold(randomUUID(), performanceId, [seat(4), seat(5), seat(6), seat(7)])).status).toBe(
      'HELD',
    );
  });

  it('without noOrphanSeats, a seat-id hold may leave a single', async () => {
    const { performanceId, drawn } = await hall([{ name: 'A', rows: ['......'] }]);
    const hold = await fixture.holds.hold(randomUUID(), performanceId, [drawn.seat('A', 1, 2)]);
    expect(hold.status).toBe('HELD');
  });
});
