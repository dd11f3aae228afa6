import { Client } from 'pg';
import { ApiHarness } from '@app/testing';
import { PaymentReconciler, ReconcileOutcome } from '@app/ticketing';

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
