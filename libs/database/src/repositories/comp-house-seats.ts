import type { EntityManager } from 'typeorm';

/**
 * Gives the house seats lent to comps among `purchaseIds` (`comp_house_seats`, written by the comp's
 * transaction: SeatBlocksRepository.takeForComp) back to their blocks, in the caller's transaction:
 * the one that writes the comp's cancellation or the refund of such a seat. A lent seat goes back
 * once its purchase is in PostgreSQL and has no ACTIVE ticket for it (canceled, or refunded from
 * it): its `seat_blocks` row comes back as it was (reason, who and when), as cancel-purchase.lua and
 * refund-seats.lua made the seat BLOCKED in Redis. A checked-in seat an operator kept sold leaves
 * the table without a block (sold for good, as in Redis). A replay finds nothing left to move.
 */
export async function returnHouseSeats(manager: EntityManager, purchaseIds: readonly string[]): Promise<void> {
  if (purchaseIds.length === 0) return;
  await manager.query(
    `WITH returned AS (
       DELETE FROM comp_house_seats h
        WHERE h.purchase_id = ANY($1::uuid[])
          AND EXISTS (SELECT 1 FROM purchases p WHERE p.id = h.purchase_id)
          AND NOT EXISTS (SELECT 1 FROM tickets t
                           WHERE t.purchase_id = h.purchase_id AND t.seat_id = h.seat_id AND t.status = 'ACTIVE')
       RETURNING h.*
     )
     INSERT INTO seat_blocks (seat_id, performance_id, reason, blocked_by, blocked_by_email, blocked_at)
     SELECT r.seat_id, r.performance_id, r.reason, r.blocked_by, r.blocked_by_email, r.blocked_at FROM returned r
      WHERE NOT EXISTS (SELECT 1 FROM tickets t
                         WHERE t.purchase_id = r.purchase_id AND t.seat_id = r.seat_id AND t.checked_in_at IS NOT NULL)
     ON CONFLICT (seat_id) DO NOTHING`,
    [purchaseIds],
  );
}
