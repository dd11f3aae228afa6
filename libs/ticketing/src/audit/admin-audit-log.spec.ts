import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AdminAuditFilter, AdminAuditRecord, AdminAuditRepository } from '@app/database';
import { encodeCursor } from '@app/core';
import { AdminAuditLog, auditedActions } from './admin-audit-log';

/** A log of `count` rows with ids 1…count, paged as the repository pages it (newest first). */
function fakeLog(count: number) {
  const rows: AdminAuditRecord[] = Array.from({ length: count }, (_, i) => ({
    id: String(i + 1),
    actorId: '5b0c3b8e-8f7e-4c0e-9f0e-2d3c4b5a6978',
    actorEmail: 'ops@example.com',
    action: 'seat.block',
    subjectId: 'performance:1',
    details: {},
    createdAt: new Date(0),
  }));
  const asked: { filter: AdminAuditFilter; beforeId: string | null; limit: number }[] = [];
  const repository = {
    page: async (filter: AdminAuditFilter, beforeId: string | null, limit: number) => {
      asked.push({ filter, beforeId, limit });
      return rows
        .filter((row) => beforeId === null || BigInt(row.id) < BigInt(beforeId))
        .reverse()
        .slice(0, limit);
    },
  } as unknown as AdminAuditRepository;
  return { log: new AdminAuditLog(repository), asked };
}

describe('AdminAuditLog', () => {
  it('pages through any log at any page size: every row once, newest first, the last page without a cursor', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 7 }), async (count, limit) => {
        const { log } = fakeLog(count);
        const seen: string[] = [];
        let cursor: string | undefined;
        for (;;) {
          const page = await log.list({}, cursor, limit);
          expect(page.items.length).toBeLessThanOrEqual(limit);
          seen.push(...page.items.map((item) => item.id));
          if (page.nextCursor === null) break;
          cursor = page.nextCursor;
        }
        expect(seen).toEqual(Array.from({ length: count }, (_, i) => String(count - i)));
      }),
    );
  });

  it('refuses an action it never records, naming those it does, before reading anything', async () => {
    const { log, asked } = fakeLog(3);
    await expect(log.list({ action: 'seat.steal' }, undefined, 10)).rejects.toMatchObject({
      kind: 'invalid',
      message: `action must be one of ${auditedActions().join(', ')}`,
    });
    expect(asked).toEqual([]);
    await expect(log.list({ action: 'purchase.refund' }, undefined, 10)).resolves.toBeDefined();
  });

  it("takes a page's cursor with the filter it was made with only; another filter's is a 400 (generated)", async () => {
    const filter = fc.record(
      {
        performanceId: fc.integer({ min: 1, max: 3 }),
        subjectId: fc.constantFrom('0b6f3a52-8d1e-4c4a-9a57-2f1b3c4d5e6f', '7a1d9c3e-5b2f-4e8a-9c0d-1e2f3a4b5c6d'),
        action: fc.constantFrom(...auditedActions()),
      },
      { requiredKeys: [] },
    );
    const same = (a: AdminAuditFilter, b: AdminAuditFilter) =>
      a.performanceId === b.performanceId && a.subjectId === b.subjectId && a.action === b.action;
    await fc.assert(
      fc.asyncProperty(filter, filter, async (made, followed) => {
        const { log, asked } = fakeLog(5);
        const { nextCursor } = await log.list(made, undefined, 2);
        const answer = log.list(followed, nextCursor!, 2);
        if (same(made, followed)) {
          expect((await answer).items.map((item) => item.id)).toEqual(['3', '2']);
        } else {
          await expect(answer).rejects.toMatchObject({
            code: 'InvalidCursor',
            message: 'cursor was made with other filters: send the same filters',
          });
          expect(asked).toHaveLength(1);
        }
      }),
    );
  });

  it('refuses a cursor that holds anything but a positive safe audit id and a filter digest', async () => {
    const { log } = fakeLog(3);
    const f = 'AAAAAAAAAAAAAAAA';
    const keys: Record<string, string | number>[] = [
      { i: '0', f },
      { i: '01', f },
      { i: 5, f },
      { i: '12345678901234567', f },
      { i: '1', f: 'short' },
      { i: '1' },
      { p: 3 },
      { i: '1', p: 2 },
    ];
    for (const key of keys) {
      await expect(log.list({}, encodeCursor(key), 10)).rejects.toMatchObject({
        code: 'InvalidCursor',
      });
    }
  });
});
