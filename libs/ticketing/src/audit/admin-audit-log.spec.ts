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

  it('refuses a cursor that holds anything but a positive safe audit id', async () => {
    const { log } = fakeLog(3);
    for (const key of [{ i: '0' }, { i: '01' }, { i: 5 }, { i: '12345678901234567' }, { p: 3 }, { i: '1', p: 2 }]) {
      await expect(log.list({}, encodeCursor(key as Record<string, string | number>), 10)).rejects.toMatchObject({
        code: 'InvalidCursor',
      });
    }
  });
});
