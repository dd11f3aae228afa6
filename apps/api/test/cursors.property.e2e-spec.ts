import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiHarness, TestSession } from '@app/testing';
import { createPerformance, flushPurchases, hold } from './purchase-helpers';
import { startApiWithSessions } from './support/api';
import { expectUniform, jsonCaller } from './support/http';

/**
 * Every list that pages with a keyset cursor, fed cursors a client could forge with the list's own
 * part names and values that look like what it writes (times with a month 13, Feb 30, hour 25,
 * year 0; integers past PostgreSQL's; uuids, digests, bigints): each answers a page (200) or
 * `400 cursor is not valid for this list` (or `… made with other filters`, for a well-formed digest) with the uniform body, never a 5xx. Guards the class of
 * a cursor part reaching the database unchecked (the transfer list once answered 500 to a month
 * 13). And every list whose items depend on filters, its cursor replayed with other filters than
 * it was made with: `400 cursor was made with other filters` (the operators' purchase list once
 * went on from the first list's position); and every list under a path id (a performance's seats
 * and blocks, an event's performances), its cursor replayed on another id's list: `400 cursor was
 * made for another performance's list` (a seat cursor once paged another performance from its
 * position).
 */
describe('keyset cursors, forged (generated)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let user: TestSession;
  let eventId: number;
  let performanceId: number;
  let otherEventId: number;
  let otherPerformanceId: number;

  beforeAll(async () => {
    ({ api, admin, user } = await startApiWithSessions({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
    // Two upcoming events, six seats each (two bought by `user`, two blocked), two changes of the performance:
    // every filter set of `filtered` below has at least two items, so a page of one has a cursor.
    const performance = await createPerformance(api.app, admin, 6);
    const other = await createPerformance(api.app, admin, 6);
    performanceId = performance.id;
    otherPerformanceId = other.id;
    eventId = (await call('GET', `/performances/${performanceId}`)).json().eventId;
    otherEventId = (await call('GET', `/performances/${otherPerformanceId}`)).json().eventId;
    // A second performance of each event and two blocked seats of each performance: every list
    // under a path id has a second page.
    for (const event of [eventId, otherEventId]) {
      const added = await call(
        'POST',
        `/events/${event}/performances`,
        {
          startsAt: '2031-03-01T19:00:00Z',
          sections: [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 1 }],
        },
        admin,
      );
      expect(added.statusCode, added.body).toBe(201);
    }
    for (const blocked of [performance, other]) {
      const block = await call(
        'POST',
        `/admin/performances/${blocked.id}/seat-blocks`,
        { seatIds: blocked.seatIds.slice(4, 6) },
        admin,
      );
      expect(block.statusCode, block.body).toBe(200);
    }
    for (const seatId of performance.seatIds.slice(0, 2)) {
      const held = await hold(api.app, user, performanceId, [seatId]);
      expect((await call('POST', '/purchases', { reservationId: held.id }, user)).statusCode).toBe(201);
    }
    await flushPurchases(api.app);
    for (const noOrphanSeats of [true, false]) {
      const patched = await call('PATCH', `/performances/${performanceId}`, { noOrphanSeats }, admin);
      expect(patched.statusCode, patched.body).toBe(200);
    }
  });
  afterAll(async () => api?.close());

  const call = jsonCaller(() => api.app);
  const pad = (n: number, width: number) => String(n).padStart(width, '0');

  /** Time keys as the lists write them (ISO, `Z`, 3 or 6 fraction digits), with fields out of range. */
  const timeKey = fc
    .record({
      year: fc.integer({ min: 0, max: 9999 }),
      month: fc.integer({ min: 0, max: 19 }),
      day: fc.integer({ min: 0, max: 39 }),
      hour: fc.integer({ min: 0, max: 29 }),
      minute: fc.integer({ min: 0, max: 69 }),
      second: fc.integer({ min: 0, max: 69 }),
      fraction: fc.oneof(
        fc.integer({ min: 0, max: 999 }).map((n) => pad(n, 3)),
        fc.integer({ min: 0, max: 999_999 }).map((n) => pad(n, 6)),
      ),
      offset: fc.constantFrom('Z', 'Z', 'Z', '+09:00', ''),
    })
    .map(
      (t) =>
        `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}T${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}.${t.fraction}${t.offset}`,
    );
  /** What a list writes into a cursor part, as forged near it: a time, an integer, a uuid, a digest. */
  type Kind = 'time' | 'millis' | 'int' | 'uuid' | 'digest' | 'bigint';
  const nearKind: Record<Kind, fc.Arbitrary<unknown>> = {
    time: timeKey,
    millis: fc.oneof(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.double()),
    int: fc.oneof(fc.integer({ min: -5, max: 2 ** 31 + 5 }), fc.double()),
    uuid: fc.oneof(
      fc.uuid(),
      fc.uuid().map((id) => id.toUpperCase()),
      fc.stringMatching(/^[0-9a-f-]{30,38}$/),
    ),
    digest: fc.stringMatching(/^[A-Za-z0-9_+/=-]{0,50}$/),
    bigint: fc.bigInt({ min: -1n, max: 2n ** 64n }).map(String),
  };
  /** Any part at all, for the fifth of parts forged far from their kind. */
  const anyPart = fc.oneof(...Object.values(nearKind), fc.string(), fc.boolean(), fc.constant(null));

  /** A list, who may read it, and the parts (name and kind) of the cursors it writes. */
  const lists: [string, () => string, (() => TestSession) | null, [string, Kind][][]][] = [
    [
      'events',
      () => '/events',
      null,
      [
        [
          ['s', 'millis'],
          ['i', 'int'],
          ['f', 'digest'],
        ],
      ],
    ],
    [
      'performances of an event',
      () => `/events/${eventId}/performances`,
      null,
      [
        [
          ['s', 'time'],
          ['i', 'int'],
          ['o', 'int'],
        ],
      ],
    ],
    [
      'seats',
      () => `/performances/${performanceId}/seats`,
      null,
      [
        [
          ['p', 'int'],
          ['f', 'digest'],
          ['o', 'int'],
        ],
      ],
    ],
    [
      "a buyer's purchases",
      () => '/purchases',
      () => user,
      [
        [
          ['t', 'millis'],
          ['i', 'uuid'],
        ],
      ],
    ],
    ["a buyer's tickets", () => '/tickets', () => user, [[['t', 'bigint']]]],
    [
      "a buyer's transfers",
      () => '/ticket-transfers',
      () => user,
      [
        [
          ['c', 'time'],
          ['i', 'uuid'],
        ],
      ],
    ],
    [
      'purchases (operators)',
      () => '/admin/purchases',
      () => admin,
      [
        [
          ['t', 'millis'],
          ['i', 'uuid'],
          ['f', 'digest'],
        ],
      ],
    ],
    [
      'the audit log',
      () => '/admin/audit-log',
      () => admin,
      [
        [
          ['i', 'bigint'],
          ['f', 'digest'],
        ],
      ],
    ],
    [
      'staff',
      () => '/admin/staff',
      () => admin,
      [
        [
          ['c', 'time'],
          ['i', 'uuid'],
        ],
      ],
    ],
    [
      'seat blocks',
      () => `/admin/performances/${performanceId}/seat-blocks`,
      () => admin,
      [
        [
          ['p', 'int'],
          ['o', 'int'],
        ],
      ],
    ],
  ];

  it.each(lists)('%s: a page or a 400, never a 5xx', async (_name, path, session, shapes) => {
    const cursor = fc
      .constantFrom(...shapes)
      .chain((parts) =>
        fc.tuple(
          ...parts.map(([name, kind]) =>
            fc.oneof({ arbitrary: nearKind[kind], weight: 4 }, anyPart).map((value) => [name, value] as const),
          ),
        ),
      )
      .map((entries) => Buffer.from(JSON.stringify(Object.fromEntries(entries))).toString('base64url'));
    await fc.assert(
      fc.asyncProperty(cursor, async (forged) => {
        const answer = await call('GET', `${path()}?cursor=${forged}`, undefined, session?.() ?? undefined);
        if (answer.statusCode === 200) return;
        // A well-formed digest of no filter set asked for reads as made with other filters; an id
        // of another performance or event, as made for its list.
        expect([
          'cursor is not valid for this list',
          'cursor was made with other filters: send the same filters',
          "cursor was made for another performance's list: page each list with its own cursors",
          "cursor was made for another event's list: page each list with its own cursors",
        ]).toContain(expectUniform(answer, 400).message);
      }),
      { numRuns: 60 },
    );
  });

  /**
   * The lists whose items depend on query filters, who may read them, and each filter's values
   * (undefined: left out); every combination selects at least two items (see beforeAll).
   */
  const filtered: [string, string, (() => TestSession) | null, Record<string, (string | undefined)[]>][] = [
    [
      'events',
      '/events',
      null,
      { from: [undefined, '2000-01-01T00:00:00Z'], to: [undefined, '2199-01-01T00:00:00Z'], q: [undefined, 'Concert'] },
    ],
    [
      'seats',
      '/performances/:performance/seats',
      null,
      {
        status: [undefined, 'AVAILABLE'],
        section: [undefined, 'Floor'],
        grade: [undefined, 'A'],
        minPrice: [undefined, '0'],
      },
    ],
    [
      'purchases (operators)',
      '/admin/purchases',
      () => admin,
      { performanceId: [undefined, ':performance'], email: [undefined, ':email'] },
    ],
    [
      'the audit log',
      '/admin/audit-log',
      () => admin,
      { performanceId: [undefined, ':performance'], action: [undefined, 'performance.update'] },
    ],
  ];

  it.each(filtered)(
    '%s: a cursor made with some filters is refused with any others (400), and followed with its own',
    async (_name, path, session, filters) => {
      const url = (choice: Record<string, string | undefined>, cursor?: string) => {
        const query = Object.entries(choice)
          .filter((entry): entry is [string, string] => entry[1] !== undefined)
          .map(([name, value]) => [
            name,
            value.replace(':performance', String(performanceId)).replace(':email', user.email),
          ])
          .concat(cursor ? [['cursor', cursor]] : [])
          .map(([name, value]) => `${name}=${encodeURIComponent(value)}`);
        return `${path.replace(':performance', String(performanceId))}?${['limit=1', ...query].join('&')}`;
      };
      const choice = fc.record(
        Object.fromEntries(Object.entries(filters).map(([name, values]) => [name, fc.constantFrom(...values)])),
      );
      const differ = (a: Record<string, unknown>, b: Record<string, unknown>) =>
        Object.keys(filters).some((name) => a[name] !== b[name]);
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(choice, choice).filter(([made, replayed]) => differ(made, replayed)),
          async ([made, replayed]) => {
            const first = await call('GET', url(made), undefined, session?.() ?? undefined);
            expect(first.statusCode, first.body).toBe(200);
            const cursor = first.json().nextCursor as string;
            expect(cursor, `${url(made)} has a next page`).toEqual(expect.any(String));
            const other = await call('GET', url(replayed, cursor), undefined, session?.() ?? undefined);
            expect(expectUniform(other, 400).message, `${url(replayed, cursor)}: ${other.body}`).toBe(
              'cursor was made with other filters: send the same filters',
            );
            const same = await call('GET', url(made, cursor), undefined, session?.() ?? undefined);
            expect(same.statusCode, same.body).toBe(200);
          },
        ),
        { numRuns: 30 },
      );
    },
  );

  /** The lists under a path id: the path of one id's list, who may read it, and the owner named in the refusal. */
  const owned: [string, (id: number) => string, (() => TestSession) | null, 'performance' | 'event'][] = [
    ['seats', (id) => `/performances/${id}/seats`, null, 'performance'],
    ['seats, ?status=AVAILABLE', (id) => `/performances/${id}/seats?status=AVAILABLE&`, null, 'performance'],
    ['seat blocks', (id) => `/admin/performances/${id}/seat-blocks`, () => admin, 'performance'],
    ['performances of an event', (id) => `/events/${id}/performances`, null, 'event'],
  ];

  it.each(owned)(
    "%s: a cursor of one id's list is refused on another id's (400), and followed on its own",
    async (_name, path, session, owner) => {
      const ids = owner === 'event' ? [eventId, otherEventId] : [performanceId, otherPerformanceId];
      const url = (id: number, cursor?: string) => {
        const base = path(id);
        const separator = base.endsWith('&') ? '' : '?';
        return `${base}${separator}limit=1${cursor ? `&cursor=${cursor}` : ''}`;
      };
      for (const [made, replayed] of [ids, [...ids].reverse()]) {
        const first = await call('GET', url(made), undefined, session?.() ?? undefined);
        expect(first.statusCode, first.body).toBe(200);
        const cursor = first.json().nextCursor as string;
        expect(cursor, `${url(made)} has a next page`).toEqual(expect.any(String));
        const other = await call('GET', url(replayed, cursor), undefined, session?.() ?? undefined);
        expect(expectUniform(other, 400).message, other.body).toBe(
          `cursor was made for another ${owner}'s list: page each list with its own cursors`,
        );
        const same = await call('GET', url(made, cursor), undefined, session?.() ?? undefined);
        expect(same.statusCode, same.body).toBe(200);
        expect(same.json().items).toHaveLength(1);
      }
    },
  );
});
