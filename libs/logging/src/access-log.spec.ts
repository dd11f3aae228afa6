import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessEntry, AccessLog } from './access-log';
import type { DailyFile } from './daily-file';

/** An access log whose file keeps its lines in memory. */
function capturing(): { log: AccessLog; lines: string[] } {
  const lines: string[] = [];
  const file = { append: (line: string) => lines.push(line) } as unknown as DailyFile;
  return { log: new AccessLog('api', file, 'none'), lines };
}

describe('AccessLog', () => {
  it('writes every entry as one JSON line that gives back its fields, whatever the text in them', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const entry: fc.Arbitrary<AccessEntry> = fc.record(
      {
        requestId: text,
        method: text,
        route: text,
        path: text,
        statusCode: fc.integer({ min: 100, max: 599 }),
        elapsedMs: fc.double({ min: 0, max: 1e7, noNaN: true }),
        clientIp: text,
        created: text,
      },
      { requiredKeys: ['requestId', 'method', 'route', 'path', 'statusCode', 'elapsedMs'] },
    );
    fc.assert(
      fc.property(entry, (written) => {
        const { log, lines } = capturing();
        log.write(written);
        expect(lines).toHaveLength(1);
        const line = JSON.parse(lines[0]);
        expect(line.http).toEqual({
          request: { id: written.requestId, method: written.method },
          response: { status_code: written.statusCode },
        });
        expect(line.url).toEqual({ path: written.path, route: written.route });
        expect(line.client).toEqual(written.clientIp === undefined ? undefined : { ip: written.clientIp });
        expect(line.boxoffice).toEqual(written.created === undefined ? undefined : { created: written.created });
        expect(line.event.duration).toBe(Math.round(written.elapsedMs * 1e6));
        expect(Date.parse(line['@timestamp'])).not.toBeNaN();
      }),
    );
  });

  it('leaves the client out when its address is gone (the client closed before the answer)', () => {
    const { log, lines } = capturing();
    log.write({ requestId: 'r1', method: 'GET', route: '/events', path: '/events', statusCode: 200, elapsedMs: 2 });
    expect(JSON.parse(lines[0])).not.toHaveProperty('client');
  });
});
