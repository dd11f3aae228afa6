import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { emailKey } from '@app/core';
import { Role } from '../entities/user.entity';

/** Most purchases or tickets an {@link AccountObligations} lists of each kind (the rest are counted out). */
export const OBLIGATIONS_LISTED = 100;

/**
 * What keeps an account from being deleted now: paid online purchases of performances not yet
 * played nor canceled whose tickets it still holds (`purchaseIds`), tickets of such performances
 * others transferred to it (`ticketIds`, as decimal strings), and payments of its purchases in
 * flight (`paymentsInProgress`: purchase ids whose payment attempt is PENDING or CHARGED). Each at
 * most {@link OBLIGATIONS_LISTED}, oldest first.
 */
export interface AccountObligations {
  purchaseIds: string[];
  ticketIds: string[];
  paymentsInProgress: string[];
}

/** The account row a deletion holds locked. */
export interface AccountToDelete {
  id: string;
  email: string;
  emailKey: string;
  role: Role;
  passwordHash: string;
  deletedAt: Date | null;
}

/**
 * A key of `pg_advisory_xact_lock` that deletions of admin accounts take in turn, so two admins
 * deleting each other at once cannot both find another admin left ('acct' in ASCII, and 1).
 */
const ADMIN_DELETION_LOCK = [0x61636374, 1] as const;

/**
 * The PostgreSQL side of deleting an account (GDPR Art. 17; libs/auth AccountDeletionService): its
 * row locked, what keeps it, and the anonymisation. Methods run in the caller's transaction (`manager`).
 */
@Injectable()
export class AccountDeletionsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Locks account `id`'s row FOR UPDATE until the transaction ends (as a password reset's UPDATE
   * does): a login or refresh, which read it FOR SHARE, and any change of the account wait for the
   * deletion, or it waits for them. Null when there is no such account.
   */
  async lock(id: string, manager: EntityManager): Promise<AccountToDelete | null> {
    const rows: {
      id: string;
      email: string;
      email_key: string;
      role: Role;
      password_hash: string;
      deleted_at: Date | null;
    }[] = await manager.query(
      'SELECT id, email, email_key, role, password_hash, deleted_at FROM users WHERE id = $1 FOR UPDATE',
      [id],
    );
    const row = rows[0];
    return row
      ? {
          id: row.id,
          email: row.email,
          emailKey: row.email_key,
          role: row.role,
          passwordHash: row.password_hash,
          deletedAt: row.deleted_at,
        }
      : null;
  }

  /**
   * How many admin accounts there are besides `id`, counted after taking the admins' deletion lock
   * (a transaction-level advisory lock): of two deletions of admins at once, the second counts after
   * the first committed.
   */
  async otherAdmins(id: string, manager: EntityManager): Promise<number> {
    await manager.query('SELECT pg_advisory_xact_lock($1, $2)', [...ADMIN_DELETION_LOCK]);
    const rows: { n: number }[] = await manager.query(
      `SELECT count(*)::int AS n FROM users WHERE role = 'ADMIN' AND deleted_at IS NULL AND id <> $1`,
      [id],
    );
    return rows[0].n;
  }

  /**
   * What keeps account `id` from being deleted (see {@link AccountObligations}), read in the
   * caller's transaction (without one, on any pool connection): a performance counts as played from its `starts_at` on (PostgreSQL's
   * clock); a purchase whose tickets were all transferred to others, canceled or refunded counts no
   * more; a purchase not written to PostgreSQL yet (Redis) is the caller's to find.
   */
  async obligations(id: string, manager: EntityManager = this.dataSource.manager): Promise<AccountObligations> {
    const purchases: { id: string }[] = await manager.query(
      `SELECT p.id FROM purchases p JOIN performances f ON f.id = p.performance_id
        WHERE p.user_id = $1 AND p.status = 'PAID' AND p.sale_channel = 'ONLINE'
          AND f.starts_at > now() AND f.status <> 'CANCELED'
          AND (EXISTS (SELECT 1 FROM tickets t WHERE t.purchase_id = p.id AND t.status = 'ACTIVE'
                         AND (t.holder_id IS NULL OR t.holder_id = $1))
               OR NOT EXISTS (SELECT 1 FROM tickets t WHERE t.purchase_id = p.id))
        ORDER BY p.created_at, p.id LIMIT ${OBLIGATIONS_LISTED}`,
      [id],
    );
    const tickets: { id: string }[] = await manager.query(
      `SELECT t.id::text AS id FROM tickets t
         JOIN performances f ON f.id = t.performance_id
         JOIN purchases p ON p.id = t.purchase_id
        WHERE t.holder_id = $1 AND p.user_id <> $1 AND t.status = 'ACTIVE'
          AND f.starts_at > now() AND f.status <> 'CANCELED'
        ORDER BY t.id LIMIT ${OBLIGATIONS_LISTED}`,
      [id],
    );
    const payments: { purchase_id: string }[] = await manager.query(
      `SELECT purchase_id FROM payment_attempts WHERE user_id = $1 AND status IN ('PENDING', 'CHARGED')
        ORDER BY purchase_id LIMIT ${OBLIGATIONS_LISTED}`,
      [id],
    );
    return {
      purchaseIds: purchases.map((row) => row.id),
      ticketIds: tickets.map((row) => row.id),
      paymentsInProgress: payments.map((row) => row.purchase_id),
    };
  }

  /**
   * Anonymises account `id` (its row locked by {@link lock}): e-mail `deleted-<id>@invalid` (its
   * key too, so the old address is free to sign up with again), no name, `passwordHash` (a hash of
   * a secret no one keeps), role USER (a deleted admin or staff account is no longer one),
   * `deleted_at` PostgreSQL's clock; and deletes its e-mail verification, password reset and e-mail
   * change tokens. The trigger `users_email_change_unverifies` clears `email_verified_at`.
   */
  async anonymise(id: string, passwordHash: string, manager: EntityManager): Promise<void> {
    const email = deletedAccountEmail(id);
    await manager.query(
      `UPDATE users SET email = $2, email_key = $3, name = '', password_hash = $4, role = 'USER',
              deleted_at = clock_timestamp(), updated_at = now()
        WHERE id = $1`,
      [id, email, emailKey(email), passwordHash],
    );
    await manager.query('DELETE FROM email_verification_tokens WHERE user_id = $1', [id]);
    await manager.query('DELETE FROM password_reset_tokens WHERE user_id = $1', [id]);
    await manager.query('DELETE FROM email_change_tokens WHERE user_id = $1', [id]);
  }
}

/** The address a deleted account keeps: `deleted-<id>@invalid` (RFC 2606's `.invalid`: no mail goes there). */
export function deletedAccountEmail(id: string): string {
  return `deleted-${id}@invalid`;
}
