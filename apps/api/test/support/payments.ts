import { Client } from 'pg';
import { expect, MockInstance, vi } from 'vitest';
import { ApiHarness } from '@app/testing';
import type { ChargeLookup, ChargeRequest, PaymentGateway, RefundRequest } from '@app/ticketing';
import { PaymentReconciler, ReconcileOutcome } from '@app/ticketing';

/** One refund the ledger made: the request that made it, and how often its key was asked. */
export interface LedgerRefund {
  request: RefundRequest;
  asks: number;
}

/**
 * A payment processor's books, as a gateway bound for real sees them, installed over an app's
 * PaymentGateway (`install`): charges keyed as ApprovingPaymentGateway keys them (`ch_<key>`), found
 * by `findCharge` only once made (a key never charged is null, as at a real processor), and
 * refunds keyed by their idempotency key. A repeated key answers the first refund and moves no
 * money (the contract of PaymentGateway.refund); refunds of one charge under several keys (an
 * operator's partial refunds, then the rest) that together give back more than the charge, or in
 * another currency, would move money twice (or wrongly) at a real processor and are noted in
 * `violations` (a charge the ledger did not see made: any second key is), which
 * `expectMoneyMovedOnce` fails on. `loseNextAnswer` makes the next refund go through at the
 * processor with its answer lost (an error, or no answer at all), as a timeout leaves it.
 */
export class RefundLedger {
  /** Refunds made, by idempotency key. */
  readonly refunds = new Map<string, LedgerRefund>();
  /** What money moved wrongly, one line each. */
  readonly violations: string[] = [];
  private readonly charges = new Map<string, { amount: number; currency: string }>();
  private lostAnswers: ('error' | 'silence')[] = [];

  /**
   * Replaces `gateway`'s charge, findCharge and refund with the ledger's (spies on the live
   * instance, so a test may still stack `mockImplementationOnce` on them); answers the spies.
   */
  install(gateway: PaymentGateway): {
    charge: MockInstance<PaymentGateway['charge']>;
    findCharge: MockInstance<PaymentGateway['findCharge']>;
    refund: MockInstance<PaymentGateway['refund']>;
  } {
    return {
      charge: vi.spyOn(gateway, 'charge').mockImplementation(async (request) => this.charge(request)),
      findCharge: vi.spyOn(gateway, 'findCharge').mockImplementation(async (lookup) => this.findCharge(lookup)),
      refund: vi.spyOn(gateway, 'refund').mockImplementation(async (request) => this.refund(request)),
    };
  }

  /** The next refund is made, and its caller hears an error (`error`) or nothing ever (`silence`). */
  loseNextAnswer(how: 'error' | 'silence'): void {
    this.lostAnswers.push(how);
  }

  /** The refunds made of one charge (each moved its money once). */
  refundsOf(chargeId: string): LedgerRefund[] {
    return [...this.refunds.values()].filter((refund) => refund.request.chargeId === chargeId);
  }

  /** Fails unless every refund moved its charge's money once and whole. */
  expectMoneyMovedOnce(): void {
    expect(this.violations, 'refunds that moved money twice or wrongly').toEqual([]);
  }

  private charge(request: ChargeRequest): { chargeId: string } {
    const chargeId = `ch_${request.idempotencyKey}`;
    if (!this.charges.has(chargeId)) this.charges.set(chargeId, { amount: request.amount, currency: request.currency });
    return { chargeId };
  }

  private findCharge(lookup: ChargeLookup): { chargeId: string } | null {
    const chargeId = `ch_${lookup.idempotencyKey}`;
    return this.charges.has(chargeId) ? { chargeId } : null;
  }

  private async refund(request: RefundRequest): Promise<void> {
    const first = this.refunds.get(request.idempotencyKey);
    if (first) {
      first.asks += 1;
      if (JSON.stringify(first.request) !== JSON.stringify(request)) {
        this.violations.push(`key ${request.idempotencyKey} asked for another refund: ${JSON.stringify(request)}`);
      }
      return;
    }
    const charged = this.charges.get(request.chargeId);
    const earlier = this.refundsOf(request.chargeId);
    const given = earlier.reduce((sum, refund) => sum + refund.request.amount, 0);
    if (charged && (given + request.amount > charged.amount || charged.currency !== request.currency)) {
      this.violations.push(
        `refund ${JSON.stringify(request)} after ${given} given back exceeds its charge's ${JSON.stringify(charged)}` +
          (earlier.length > 0 ? `: keys ${earlier.map((refund) => refund.request.idempotencyKey).join(', ')}` : ''),
      );
    }
    if (!Number.isInteger(request.amount) || request.amount <= 0) {
      this.violations.push(`refund ${JSON.stringify(request)}: amount is not a positive integer`);
    }
    if (!charged) {
      for (const refund of earlier) {
        this.violations.push(
          `charge ${request.chargeId} refunded twice, money moved twice: keys ${refund.request.idempotencyKey} and ${request.idempotencyKey}`,
        );
      }
    }
    this.refunds.set(request.idempotencyKey, { request, asks: 1 });
    const lost = this.lostAnswers.shift();
    if (lost === 'error') throw new Error('the refund’s answer was lost');
    if (lost === 'silence') await new Promise<never>(() => undefined);
  }
}

/** See {@link spyOnPaymentGateway}. */
export interface GatewaySpies {
  charge: MockInstance<PaymentGateway['charge']>;
  findCharge: MockInstance<PaymentGateway['findCharge']>;
  refund: MockInstance<PaymentGateway['refund']>;
  /** Forgets the calls seen so far (a file's `beforeEach`). */
  clear(): void;
  /** Puts the gateway's own charge, findCharge and refund back (a file's `afterAll`). */
  restore(): void;
}

/**
 * Spies on `gateway`'s charge, findCharge and refund (the gateway's own still run), so a test can
 * tell whether money moved through it. In a `describe`:
 *
 * ```ts
 * let gateway: GatewaySpies;
 * beforeAll(async () => { ...; gateway = spyOnPaymentGateway(api.app.get(PaymentGateway)); });
 * beforeEach(() => gateway.clear());
 * afterAll(async () => { gateway?.restore(); ... });
 * ```
 */
export function spyOnPaymentGateway(gateway: PaymentGateway): GatewaySpies {
  const charge = vi.spyOn(gateway, 'charge');
  const findCharge = vi.spyOn(gateway, 'findCharge');
  const refund = vi.spyOn(gateway, 'refund');
  return {
    charge,
    findCharge,
    refund,
    clear() {
      charge.mockClear();
      findCharge.mockClear();
      refund.mockClear();
    },
    restore() {
      charge.mockRestore();
      findCharge.mockRestore();
      refund.mockRestore();
    },
  };
}

/**
 * Runs the api's payment reconciler in passes until none of the payment attempts of `purchaseIds`
 * (uuids) is open (PENDING, CHARGED or REFUND_OWED); returns every outcome of every pass, in order, including
 * those of other attempts that were due. Each pass first makes those attempts due at once (their
 * `touched_at` a minute back, past any PAYMENT_RECONCILE_AFTER_SECONDS a test sets: no wait for the
 * clock), then runs `reconcilers` reconcile loops side by side, each until nothing is due. An
 * attempt can outlive a pass (two reconcilers at once: one's claim may find the row locked for an
 * instant by the other's look for a stale attempt, and leave it due again later); a later pass
 * settles it. Fails when attempts are still open after `passes` passes.
 */
export async function reconcileUntilSettled(
  api: ApiHarness,
  db: Client,
  purchaseIds: string[],
  { reconcilers = 1, passes = 5 }: { reconcilers?: number; passes?: number } = {},
): Promise<ReconcileOutcome[]> {
  const reconciler = api.app.get(PaymentReconciler);
  const outcomes: ReconcileOutcome[] = [];
  const drain = async () => {
    for (let outcome = await reconciler.reconcileOnce(); outcome; outcome = await reconciler.reconcileOnce()) {
      outcomes.push(outcome);
    }
  };
  const open = async () =>
    (
      await db.query(
        `SELECT purchase_id FROM payment_attempts WHERE purchase_id = ANY($1::uuid[]) AND status IN ('PENDING', 'CHARGED', 'REFUND_OWED')`,
        [purchaseIds],
      )
    ).rows.map((row: { purchase_id: string }) => row.purchase_id);
  for (let pass = 0; pass < passes; pass++) {
    await db.query(
      `UPDATE payment_attempts SET touched_at = touched_at - interval '1 minute' WHERE purchase_id = ANY($1::uuid[])`,
      [purchaseIds],
    );
    await Promise.all(Array.from({ length: reconcilers }, drain));
    if ((await open()).length === 0) return outcomes;
  }
  throw new Error(`payment attempts still open after ${passes} reconcile passes: ${(await open()).join(', ')}`);
}
