import { get, IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSession, TestSession, waitUntil } from '@app/testing';
import { WaitingRoomService } from '@app/ticketing';
import { drainConnections } from '../src/bootstrap';
import { createPerformance } from './purchase-helpers';
import { AdminApi, startAdminApi } from './support/api';

/** A GET over a connection of its own, read as it comes: its status, headers, body so far, and whether it ended. */
interface Streamed {
  status?: number;
  headers?: IncomingMessage['headers'];
  body: string;
  ended: boolean;
  destroy(): void;
}

function stream(url: string, session: TestSession): Streamed {
  const streamed: Streamed = { body: '', ended: false, destroy: () => request.destroy() };
  const request = get(url, { headers: session.headers }, (res) => {
    streamed.status = res.statusCode;
    streamed.headers = res.headers;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (streamed.body += chunk));
    res.on('end', () => (streamed.ended = true));
  });
  request.on('error', () => (streamed.ended = true));
  return streamed;
}

/**
 * `drainConnections` (what the api runs on SIGTERM before closing) on a listening api, real
 * PostgreSQL and Redis: it must end, within the supervisor's grace, whatever a client holds open.
 */
describe('drainConnections (an api stopping on SIGTERM)', () => {
  let { api, admin, call, close } = {} as AdminApi;
  let base: string;

  beforeAll(async () => {
    ({ api, admin, call, close } = await startAdminApi());
    await api.app.listen({ port: 0, host: '127.0.0.1' });
    base = `${await api.app.getUrl()}/api/v1`;
  });
  afterAll(() => close?.());

  it('answers a request in flight, ends an open waiting-room event stream, and is over', async () => {
    const performance = await createPerformance(api.app, admin, 10);
    const opensAt = new Date(Date.now() + 3_600_000).toISOString();
    const settings = { opensAt, admitPerSecond: 100, maxActive: 10, admissionTtlSeconds: 60, sessionTtlSeconds: 600 };
    expect(
      (await call('PUT', `/performances/${performance.id}/queue`, { body: settings, session: admin })).statusCode,
    ).toBe(200);
    const buyer = await createSession(api.app);
    const joined = await call('POST', `/performances/${performance.id}/queue`, { session: buyer });
    expect(joined.statusCode, joined.body).toBe(201);
    const { ticketId } = joined.json();

    // A stream open (a buyer waiting for the queue to open: it would run for an hour).
    const events = stream(`${base}/queue/${ticketId}/events`, buyer);
    await waitUntil(() => events.body.includes('data: '), 'the first event', 10_000, 20);

    // A plain GET held in its handler until the drain has begun.
    const rooms = api.app.get(WaitingRoomService);
    const read = rooms.get.bind(rooms);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    const spy = vi.spyOn(rooms, 'get').mockImplementation(async (userId, id) => {
      entered = true;
      await held;
      return read(userId, id);
    });
    try {
      const inFlight = stream(`${base}/queue/${ticketId}`, buyer);
      await waitUntil(() => entered, 'the GET in its handler', 10_000, 20);

      let drained = false;
      const drain = drainConnections(api.app, 500).then(() => (drained = true));
      release();
      await waitUntil(() => inFlight.ended, 'the GET in flight answered', 10_000, 20);
      expect(inFlight.status, inFlight.body).toBe(200);
      expect(JSON.parse(inFlight.body)).toMatchObject({ ticketId, status: 'WAITING' });
      expect(inFlight.headers?.connection).toBe('close');

      // The stream ends (EventSource then reconnects, through Nginx to another replica), so the drain ends.
      await waitUntil(() => events.ended, 'the event stream ended by the drain', 10_000, 20);
      await waitUntil(() => drained, 'the drain over', 10_000, 20);
      await drain;
      expect(events.status).toBe(200);
      expect(events.body).toContain(`"ticketId":"${ticketId}"`);
      expect(events.body).not.toContain('event: error');
    } finally {
      spy.mockRestore();
      release();
      events.destroy();
    }
  });
});
