import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_INT4 } from '@app/core';
import type { AdmissionGate } from '@app/ticketing';
import { AdmissionGuard } from './admission';

/**
 * The guard runs before the body is validated, so it sees any value a client sends. It must ask
 * the gate (which may ask PostgreSQL, `integer` ids) only of a performance id that can exist:
 * found by hand (2026-12-03), `{"performanceId":2147483648}` on POST /reservations, and a
 * reservationId whose performance field was 0x80000000 on POST /purchases, answered 500.
 */
function guardFor(use: 'hold' | 'purchase') {
  const asked: number[] = [];
  const gate = {
    knownOff: () => false,
    admit: (_user: string, performanceId: number) => {
      asked.push(performanceId);
      return Promise.resolve(null);
    },
  } as unknown as AdmissionGate;
  const reflector = { get: () => use } as unknown as Reflector;
  const guard = new AdmissionGuard(reflector, gate);
  const handler = () => undefined;
  const run = (body: unknown) =>
    guard.canActivate({
      getHandler: () => handler,
      switchToHttp: () => ({ getRequest: () => ({ user: { id: 'u' }, body, headers: {} }) }),
    } as unknown as ExecutionContext);
  return { run, asked };
}

/** A reservation id in the layout of ids.ts, its performance field any 32-bit value. */
const layoutId = fc.tuple(fc.integer({ min: 0, max: 0xffff_ffff }), fc.uuid({ version: 4 })).map(([field, uuid]) => {
  const hex = field.toString(16).padStart(8, '0');
  return `b0f1${hex.slice(0, 4)}-${hex.slice(4)}-8${uuid.slice(15)}`;
});

const isPerformanceId = (id: number) => Number.isInteger(id) && id >= 1 && id <= MAX_INT4;

describe('AdmissionGuard', () => {
  it('asks the gate only of performance ids a PostgreSQL integer holds, whatever a hold body says', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer(), fc.double(), fc.integer({ min: MAX_INT4 - 2, max: 2 ** 33 }), fc.anything()),
        async (performanceId) => {
          const { run, asked } = guardFor('hold');
          await run({ performanceId, quantity: 1 });
          expect(asked.filter((id) => !isPerformanceId(id))).toEqual([]);
          if (isPerformanceId(performanceId as number)) expect(asked).toEqual([performanceId]);
        },
      ),
    );
    const { run, asked } = guardFor('hold');
    await run({ performanceId: 2 ** 31, quantity: 1 });
    await run({ performanceId: 0xffff_ffff, seatIds: [1] });
    expect(asked).toEqual([]);
  });

  it('asks the gate only of performance ids a PostgreSQL integer holds, whatever reservation id a purchase names', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(layoutId, fc.string(), fc.anything()), async (reservationId) => {
        const { run, asked } = guardFor('purchase');
        await run({ reservationId });
        expect(asked.filter((id) => !isPerformanceId(id))).toEqual([]);
      }),
    );
    const { run, asked } = guardFor('purchase');
    await run({ reservationId: 'b0f18000-0000-8000-8000-000000000000' });
    await run({ reservationId: 'B0F17FFF-FFFF-8000-8000-000000000000' });
    expect(asked).toEqual([MAX_INT4]);
  });
});
