import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { Client } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AttendeeRecord, AttendeesRepository } from '@app/database';
import { createSession, TestSession, waitForValue } from '@app/testing';
import { AttendeeList, formatLocalDateTime } from '@app/ticketing';
import { createPerformance, doorsOpenNow, flushPurchases, hold } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';
import { createStaffSession } from './support/door';

/** A time on Seoul's clock as the door list writes it: ISO 8601 with the venue's offset. */
const SEOUL_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?\+09:00$/;

/** The door list as an admin downloads it: raw bytes, and the lines parsed back (header first). */
describe('door list: GET /performances/:id/attendees (real PostgreSQL and Redis)', () => {
  let { api, admin, call, close } = {} as AdminApi;

  beforeAll(async () => {
    // Age 0: a flush pass writes everything bought so far; the test decides when it runs.
    ({ api, admin, call, close } = await startAdminApi({ PURCHASE_FLUSH_AGE_SECONDS: '0' }));
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(() => close?.());

  async function buy(session: TestSession, performanceId: number, seatIds: number[]): Promise<string> {
    const held = await hold(api.app, session, performanceId, seatIds);
    const res = await call('POST', '/purchases', { session, body: { reservationId: held.id } });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  }

  async function download(performanceId: number) {
    const res = await call('GET', `/performances/${performanceId}/attendees`, { session: admin });
    expect(res.statusCode).toBe(200);
    const lines: string[][] = parse(res.rawPayload, { bom: true });
    return { res, header: lines[0], rows: lines.slice(1) };
  }

  it('lists every active ticket in seat order with its buyer, check-in (when, at which door) and price; leaves out canceled and unflushed ones', async () => {
    // A venue in Seoul (+09:00): the list's times are on its clock.
    const performance = await createPerformance(api.app, admin, 100, {
      price: 4_500,
      timeZone: 'Asia/Seoul',
      ...doorsOpenNow(),
    });
    const [ada, formula, unflushed] = await Promise.all([
      createSession(api.app, { name: '김하늘, "Sky" Kim' }),
      createSession(api.app, { name: '=HYPERLINK("http://evil.test")' }),
      createSession(api.app),
    ]);
    const seats = performance.seatIds;
    const adaPurchase = await buy(ada, performance.id, [seats[5], seats[2]]);
    const formulaPurchase = await buy(formula, performance.id, [seats[0]]);
    const canceled = await buy(ada, performance.id, [seats[9]]);
    expect((await call('POST', `/purchases/${canceled}/cancel`, { session: ada })).statusCode).toBe(200);
    await flushPurchases(api.app);
    await buy(unflushed, performance.id, [seats[1]]); // still only in Redis

    const tickets = await call('GET', `/purchases/${adaPurchase}/tickets`, { session: ada });
    expect(tickets.statusCode).toBe(200);
    const scanned = (tickets.json().items as { seat: { id: number }; code: string }[]).find(
      (ticket) => ticket.seat.id === seats[5],
    );
    const gate = await createStaffSession(api.app, admin, 'gate-2@attendees.test', 'Gate 2');
    const checkIn = await call('POST', '/check-in', { session: gate, body: { code: scanned?.code } });
    expect(checkIn.statusCode).toBe(200);

    const { res, header, rows } = await download(performance.id);
    // Every download is on record: who took the buyers' personal data, and of which performance.
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      const { rows: audited } = await db.query(
        `SELECT actor_id, actor_email, details FROM admin_audit_log WHERE action = 'attendees.export' AND subject_id = $1`,
        [`performance:${performance.id}`],
      );
      expect(audited).toEqual([
        { actor_id: admin.id, actor_email: admin.email, details: { performanceId: performance.id } },
      ]);
    } finally {
      await db.end();
    }
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="performance-${performance.id}-attendees.csv"`,
    );
    expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(res.payload).toContain('\r\n');
    expect(header).toEqual([
      'ticket_id',
      'purchase_id',
      'section',
      'row',
      'seat',
      'price',
      'currency',
      'purchased_at',
      'checked_in_at',
      'buyer_email',
      'buyer_name',
      'holder_email',
      'holder_name',
      'comp_note',
      'checked_in_by_email',
      'checked_in_by_name',
      'presale_id',
      'presale_name',
    ]);
    const column = (name: string) => header.indexOf(name);
    expect(rows.map((row) => row[column('purchase_id')])).toEqual([formulaPurchase, adaPurchase, adaPurchase]);
    expect(rows.map((row) => row[column('seat')])).toEqual(['1', '3', '6']);
    expect(rows.every((row) => row[column('price')] === '4500' && row[column('currency')] === 'KRW')).toBe(true);
    expect(rows.map((row) => row[column('buyer_name')])).toEqual([
      `'=HYPERLINK("http://evil.test")`,
      '김하늘, "Sky" Kim',
      '김하늘, "Sky" Kim',
    ]);
    expect(rows.map((row) => row[column('buyer_email')])).toEqual([formula.email, ada.email, ada.email]);
    expect(rows.map((row) => row[column('checked_in_at')] !== '')).toEqual([false, false, true]);
    for (const row of rows) {
      expect(row[column('ticket_id')]).toMatch(/^\d+$/);
      expect(row[column('purchased_at')]).toMatch(SEOUL_TIME);
      expect(formatLocalDateTime(new Date(row[column('purchased_at')]), 'Asia/Seoul')).toBe(
        row[column('purchased_at')],
      );
    }
    expect(rows[2][column('checked_in_at')]).toMatch(SEOUL_TIME);
    expect(rows[2][column('checked_in_at')]).toBe(
      formatLocalDateTime(new Date(checkIn.json().checkedInAt), 'Asia/Seoul'),
    );
    // Which door let each one in: the scanning account, empty until the ticket is checked in.
    expect(rows.map((row) => [row[column('checked_in_by_email')], row[column('checked_in_by_name')]])).toEqual([
      ['', ''],
      ['', ''],
      [gate.email, 'Gate 2'],
    ]);
    // None was sold in a presale.
    expect(rows.every((row) => row[column('presale_id')] === '' && row[column('presale_name')] === '')).toBe(true);
  });

  it('reads page after page in seat order without a line twice or missing', async () => {
    const performance = await createPerformance(api.app, admin, 100);
    const buyer = await createSession(api.app);
    const bought = performance.seatIds.filter((_, index) => index % 3 !== 1).slice(0, 11);
    for (const seatId of bought) await buy(buyer, performance.id, [seatId]);
    await flushPurchases(api.app);

    const pages: number[][] = [];
    const list = await api.app.get(AttendeeList).open(performance.id, { id: admin.id, email: admin.email }, 4);
    for await (const page of list.pages) {
      pages.push(page.map((line) => line.position));
    }
    expect(pages.map((page) => page.length)).toEqual([4, 4, 3]);
    const positions = pages.flat();
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    const { rows, header } = await download(performance.id);
    expect(rows).toHaveLength(bought.length);
    expect(new Set(rows.map((row) => row[header.indexOf('ticket_id')])).size).toBe(bought.length);
  });

  it('answers a header line only for a performance without sales, 404 for an unknown one, 400/401/403 otherwise', async () => {
    const performance = await createPerformance(api.app, admin, 100);
    const empty = await download(performance.id);
    expect(empty.rows).toEqual([]);
    expect(empty.header).toContain('buyer_email');

    const unknown = await call('GET', '/performances/2147483000/attendees', { session: admin });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ statusCode: 404, message: 'performance not found' });
    expect((await call('GET', '/performances/abc/attendees', { session: admin })).statusCode).toBe(400);
    expect((await call('GET', `/performances/${performance.id}/attendees`)).statusCode).toBe(401);
    const buyer = await createSession(api.app);
    expect((await call('GET', `/performances/${performance.id}/attendees`, { session: buyer })).statusCode).toBe(403);
  });

  it("answers HEAD with the download's headers, or its 404/403, without recording a download", async () => {
    const performance = await createPerformance(api.app, admin, 100);
    const exports = async () => {
      const db = new Client({ connectionString: api.env.DATABASE_URL });
      await db.connect();
      try {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM admin_audit_log WHERE action = 'attendees.export' AND subject_id = $1`,
          [`performance:${performance.id}`],
        );
        return rows[0].n as number;
      } finally {
        await db.end();
      }
    };
    const head = await call('HEAD', `/performances/${performance.id}/attendees`, { session: admin });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(head.headers['content-disposition']).toBe(
      `attachment; filename="performance-${performance.id}-attendees.csv"`,
    );
    expect(head.rawPayload.length).toBe(0);
    expect(await exports()).toBe(0);
    expect((await call('HEAD', '/performances/2147483000/attendees', { session: admin })).statusCode).toBe(404);
    const buyer = await createSession(api.app);
    expect((await call('HEAD', `/performances/${performance.id}/attendees`, { session: buyer })).statusCode).toBe(403);
    // The GET still records its download.
    await download(performance.id);
    expect(await exports()).toBe(1);
  });

  it('drops a purchase canceled after its flush at once', async () => {
    const performance = await createPerformance(api.app, admin, 100);
    const buyer = await createSession(api.app);
    const purchaseId = await buy(buyer, performance.id, [performance.seatIds[3]]);
    await flushPurchases(api.app);
    const purchaseIds = async () => (await download(performance.id)).rows.map((row) => row[1]);
    expect(await purchaseIds()).toEqual([purchaseId]);
    expect((await call('POST', `/purchases/${purchaseId}/cancel`, { session: buyer })).statusCode).toBe(200);
    expect(await purchaseIds()).toEqual([]);
  });

  it('describes its 200 as text/csv and its errors as JSON in the OpenAPI document', async () => {
    const document = (await api.app.inject({ method: 'GET', url: '/docs-json' })).json();
    const { responses } = document.paths['/api/v1/performances/{id}/attendees'].get;
    expect(Object.keys(responses['200'].content)).toEqual(['text/csv']);
    for (const status of ['400', '401', '403', '404']) {
      expect(Object.keys(responses[status].content)).toEqual(['application/json']);
    }
  });

  it('cuts the download off and logs the cause with the request id when a later page fails', async () => {
    const performance = await createPerformance(api.app, admin, 100);
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    const pageOf = (after: number, limit: number): AttendeeRecord[] =>
      Array.from({ length: limit }, (_, index) => ({
        position: after + index + 1,
        ticketId: String(after + index + 1),
        purchaseId: '0b6f3f7e-3c1a-4a55-9a43-8f6c1d6d2a10',
        section: 'Floor',
        rowLabel: 'A',
        number: after + index + 1,
        price: 50,
        currency: 'KRW',
        purchasedAt: new Date('2030-01-02T03:04:05.678Z'),
        checkedInAt: null,
        checkedInByEmail: null,
        checkedInByName: null,
        presaleId: null,
        presaleName: null,
        buyerEmail: 'buyer@example.test',
        buyerName: 'A buyer',
        holderEmail: 'buyer@example.test',
        holderName: 'A buyer',
        compNote: null,
      }));
    let pages = 0;
    vi.spyOn(api.app.get(AttendeesRepository), 'page').mockImplementation(async (_id, after, limit) => {
      pages += 1;
      if (pages === 1) return pageOf(after, limit);
      throw new Error('simulated: terminating connection due to administrator command');
    });
    const url = await api.app.getUrl();
    const answer = await new Promise<{ status?: number; complete: boolean }>((resolve) => {
      const request = httpRequest(
        `${url}/api/v1/performances/${performance.id}/attendees`,
        { headers: { ...admin.headers, 'x-request-id': 'door-list-cut-off' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode, complete: res.complete }));
          res.on('close', () => resolve({ status: res.statusCode, complete: res.complete }));
        },
      );
      request.on('error', () => resolve({ complete: false }));
      request.end();
    });
    expect(answer).toEqual({ status: 200, complete: false });
    const logged = await waitForValue(
      () =>
        readdirSync(api.env.LOG_DIR)
          .filter((file) => file.endsWith('.log'))
          .flatMap((file) => readFileSync(join(api.env.LOG_DIR, file), 'utf8').split('\n'))
          .filter(Boolean)
          .map(
            (line) =>
              JSON.parse(line) as { 'log.level'?: string; message?: string; http?: { request?: { id?: string } } },
          )
          .find((line) => line['log.level'] === 'error' && line.http?.request?.id === 'door-list-cut-off'),
      'the error line of the cut-off door list',
    );
    expect(logged.message).toContain(`door list of performance ${performance.id} cut off`);
    expect(logged.message).toContain('administrator command');
  });
});
