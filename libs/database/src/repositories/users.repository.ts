import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { emailKey } from '@app/core';
import { Role, UserEntity } from '../entities/user.entity';

export interface NewUser {
  email: string;
  name: string;
  role: Role;
  passwordHash: string;
}

interface UserRow {
  id: string;
  email: string;
  email_key: string;
  name: string;
  role: Role;
  password_hash: string;
  email_verified_at: Date | null;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const USER_COLUMNS =
  'id, email, email_key, name, role, password_hash, email_verified_at, deleted_at, created_at, updated_at';

/** Users in PostgreSQL. Methods take the transaction's manager when they are part of one. */
@Injectable()
export class UsersRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Inserts the user unless its e-mail is taken in any letter case (same {@link emailKey});
   * `null` when it was taken.
   */
  async insertIfEmailFree(user: NewUser, manager: EntityManager = this.dataSource.manager): Promise<UserEntity | null> {
    const rows: UserRow[] = await manager.query(
      `INSERT INTO users (email, email_key, name, role, password_hash) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (email_key) DO NOTHING
       RETURNING ${USER_COLUMNS}`,
      [user.email, emailKey(user.email), user.name, user.role, user.passwordHash],
    );
    return rows[0] ? toEntity(rows[0]) : null;
  }

  /**
   * Makes the account with this e-mail (in any letter case) an admin with this password, creating it when missing.
   * One statement, so replicas running it at the same moment cannot collide. `name` replaces the
   * stored name only when given.
   */
  async upsertAdmin(
    admin: { email: string; passwordHash: string; name: string | null },
    defaultName: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<{ user: UserEntity; wasAdmin: boolean }> {
    const rows: (UserRow & { was_admin: boolean })[] = await manager.query(
      `WITH previous AS (SELECT role FROM users WHERE email_key = $5)
       INSERT INTO users (email, email_key, name, role, password_hash) VALUES ($1, $5, coalesce($3, $4), 'ADMIN', $2)
       ON CONFLICT (email_key) DO UPDATE
         SET role = 'ADMIN', password_hash = EXCLUDED.password_hash, name = coalesce($3, users.name), updated_at = now()
       RETURNING ${USER_COLUMNS}, coalesce((SELECT role = 'ADMIN' FROM previous), false) AS was_admin`,
      [admin.email, admin.passwordHash, admin.name, defaultName, emailKey(admin.email)],
    );
    return { user: toEntity(rows[0]), wasAdmin: rows[0].was_admin };
  }

  /**
   * The start's admin bootstrap record (table `admin_bootstrap`), its one row locked FOR UPDATE
   * until the caller's transaction ends, so that bootstraps starting together take turns: the
   * account it made or promoted (null: none yet, or the account is gone) and the key
   * (`emailKey`) of the ADMIN_EMAIL it did so for.
   */
  async lockBootstrapAdmin(manager: EntityManager): Promise<{ userId: string | null; emailKey: string | null }> {
    const rows: { user_id: string | null; email_key: string | null }[] = await manager.query(
      'SELECT user_id, email_key FROM admin_bootstrap FOR UPDATE',
    );
    return { userId: rows[0]?.user_id ?? null, emailKey: rows[0]?.email_key ?? null };
  }

  /** Records account `userId` as the admin the bootstrap made for ADMIN_EMAIL `email`, in the caller's transaction. */
  async recordBootstrapAdmin(userId: string, email: string, manager: EntityManager): Promise<void> {
    await manager.query('UPDATE admin_bootstrap SET user_id = $1, email_key = $2, updated_at = now()', [
      userId,
      emailKey(email),
    ]);
  }

  /** The account whose e-mail is `email` in any letter case (same {@link emailKey}), or null. */
  async findByEmail(email: string): Promise<UserEntity | null> {
    const rows: UserRow[] = await this.dataSource.query(`SELECT ${USER_COLUMNS} FROM users WHERE email_key = $1`, [
      emailKey(email),
    ]);
    return rows[0] ? toEntity(rows[0]) : null;
  }

  /** `manager`: the transaction to read in; without one, any pool connection. */
  findById(id: string, manager: EntityManager = this.dataSource.manager): Promise<UserEntity | null> {
    return manager.getRepository(UserEntity).findOneBy({ id });
  }

  /**
   * Accounts of `role` in (created_at, id) order after the keyset `after` (exclusive; null: from
   * the start), at most `limit`, each with its own keyset (`key`: created_at to the microsecond, as
   * PostgreSQL keeps it, and the id; a Date's milliseconds would repeat the last item of a page).
   * Staff pages read the partial index `users_staff` (migration 1798600000000-UsersStaffIndex),
   * not the whole table of buyers.
   */
  async pageOfRole(
    role: Role,
    after: { createdAt: string; id: string } | null,
    limit: number,
  ): Promise<{ user: UserEntity; key: { createdAt: string; id: string } }[]> {
    const key = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key`;
    const rows: (UserRow & { created_key: string })[] = after
      ? await this.dataSource.query(
          `SELECT ${USER_COLUMNS}, ${key} FROM users WHERE role = $1 AND (created_at, id) > ($2::timestamptz, $3)
            ORDER BY created_at, id LIMIT $4`,
          [role, after.createdAt, after.id, limit],
        )
      : await this.dataSource.query(
          `SELECT ${USER_COLUMNS}, ${key} FROM users WHERE role = $1 ORDER BY created_at, id LIMIT $2`,
          [role, limit],
        );
    return rows.map((row) => ({ user: toEntity(row), key: { createdAt: row.created_key, id: row.id } }));
  }

  /** The account's role now (null: no such account), read from PostgreSQL, not from a token. */
  async roleOf(id: string): Promise<Role | null> {
    const rows: { role: Role }[] = await this.dataSource.query('SELECT role FROM users WHERE id = $1', [id]);
    return rows[0]?.role ?? null;
  }

  /**
   * Account `id` as it is once its row is locked FOR NO KEY UPDATE until the caller's transaction
   * ends (the lock an UPDATE of the row takes, and a token's consume: a change of the account's
   * address, password or role committed meanwhile is waited for and read); null when there is no
   * such account.
   */
  async lockForChange(id: string, manager: EntityManager): Promise<UserEntity | null> {
    const rows: UserRow[] = await manager.query(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1 FOR NO KEY UPDATE`, [
      id,
    ]);
    return rows[0] ? toEntity(rows[0]) : null;
  }

  /**
   * Locks account `id`'s row FOR SHARE until the caller's transaction ends: it waits for, and
   * holds off, any UPDATE of the row (a password reset, a role change), but not other sharers.
   */
  async lockForShare(id: string, manager: EntityManager): Promise<void> {
    await manager.query('SELECT 1 FROM users WHERE id = $1 FOR SHARE', [id]);
  }

  /**
   * Account `id` read inside the caller's transaction (after its row is locked FOR SHARE: see
   * lockForShare) with PostgreSQL's clock at the read (`nowUs`, epoch microseconds), in one
   * statement: a token minted with that time is later than every ending of the account's sessions
   * committed before the lock was had, and earlier than any committed after (see endSessions).
   * Null when there is no such account.
   */
  async findForSession(id: string, manager: EntityManager): Promise<{ user: UserEntity; nowUs: number } | null> {
    const rows: (UserRow & { now_us: string })[] = await manager.query(
      `SELECT ${USER_COLUMNS}, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us FROM users WHERE id = $1`,
      [id],
    );
    return rows[0] ? { user: toEntity(rows[0]), nowUs: Number(rows[0].now_us) } : null;
  }

  /**
   * Ends every session of account `id` from now on, inside the caller's transaction, which must have
   * locked (updated) the row already: sets `sessions_valid_from` to PostgreSQL's clock now and answers
   * it as epoch microseconds (null: no such account). Sessions minted holding the row FOR SHARE
   * before this transaction took it carry an earlier time; those minted after it commits, a later one.
   */
  async endSessions(id: string, manager: EntityManager): Promise<number | null> {
    // Through a CTE: TypeORM answers a bare UPDATE … RETURNING as [rows, count].
    const rows: { at_us: string }[] = await manager.query(
      `WITH ended AS (UPDATE users SET sessions_valid_from = clock_timestamp() WHERE id = $1 RETURNING sessions_valid_from)
       SELECT (extract(epoch FROM sessions_valid_from) * 1000000)::bigint AS at_us FROM ended`,
      [id],
    );
    return rows[0] ? Number(rows[0].at_us) : null;
  }

  /**
   * Accounts whose sessions ended after `since`, with when (epoch microseconds), read through the
   * partial index `users_sessions_valid_from` (only accounts whose sessions ever ended have one).
   */
  async sessionsEndedSince(since: Date): Promise<{ userId: string; atUs: number }[]> {
    const rows: { id: string; at_us: string }[] = await this.dataSource.query(
      `SELECT id, (extract(epoch FROM sessions_valid_from) * 1000000)::bigint AS at_us FROM users
        WHERE sessions_valid_from > $1`,
      [since],
    );
    return rows.map((row) => ({ userId: row.id, atUs: Number(row.at_us) }));
  }

  /** Replaces the password hash of account `id` (argon2id, as PasswordHasher makes it). */
  async setPasswordHash(
    id: string,
    passwordHash: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.query('UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1', [id, passwordHash]);
  }

  /**
   * Replaces the password hash of account `id` with `passwordHash` only while it is still
   * `expectedHash` (the one the caller verified the current password against), inside the caller's
   * transaction: one UPDATE, so of concurrent changes from one hash exactly one applies (the other
   * waits for the row, then finds another hash). True when it applied.
   */
  async replacePasswordHash(
    id: string,
    expectedHash: string,
    passwordHash: string,
    manager: EntityManager,
  ): Promise<boolean> {
    // Through a CTE: TypeORM answers a bare UPDATE … RETURNING as [rows, count].
    const rows: unknown[] = await manager.query(
      `WITH changed AS (UPDATE users SET password_hash = $3, updated_at = now() WHERE id = $1 AND password_hash = $2 RETURNING 1)
       SELECT 1 FROM changed`,
      [id, expectedHash, passwordHash],
    );
    return rows.length === 1;
  }

  /**
   * Makes account `id` STAFF if it is a USER, inside the caller's transaction, having locked its
   * row: answers the role it had before (`USER` when this changed it), or null when there is no
   * such account (a deleted one is none). A STAFF or ADMIN account is left as it is.
   */
  async promoteToStaff(id: string, manager: EntityManager): Promise<Role | null> {
    const rows: { role: Role }[] = await manager.query(
      'SELECT role FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE',
      [id],
    );
    const before = rows[0]?.role ?? null;
    if (before === Role.User) {
      await manager.query(`UPDATE users SET role = 'STAFF', updated_at = now() WHERE id = $1`, [id]);
    }
    return before;
  }

  /** Makes the STAFF account `id` a USER; false when `id` is no STAFF account (nothing changed). */
  async demoteStaff(id: string, manager: EntityManager = this.dataSource.manager): Promise<boolean> {
    // Through a CTE: TypeORM answers a bare UPDATE … RETURNING as [rows, count], never empty.
    const rows: unknown[] = await manager.query(
      `WITH demoted AS (UPDATE users SET role = 'USER', updated_at = now() WHERE id = $1 AND role = 'STAFF' RETURNING id)
       SELECT id FROM demoted`,
      [id],
    );
    return rows.length > 0;
  }

  /**
   * Which of `ids` (UUIDs in text form) are live accounts (a deleted one is not), whether each confirmed its e-mail, and its
   * role as stored (not as an older access token names it): one query for the whole list, whatever
   * its length (the caller bounds it). Answers the subset that exists, as a map by id.
   */
  async existingAccounts(ids: readonly string[]): Promise<Map<string, { emailVerified: boolean; role: Role }>> {
    const rows: { id: string; verified: boolean; role: Role }[] = await this.dataSource.query(
      'SELECT id, email_verified_at IS NOT NULL AS verified, role FROM users WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL',
      [ids],
    );
    return new Map(rows.map((row) => [row.id, { emailVerified: row.verified, role: row.role }]));
  }
}

function toEntity(row: UserRow): UserEntity {
  return Object.assign(new UserEntity(), {
    id: row.id,
    email: row.email,
    emailKey: row.email_key,
    name: row.name,
    role: row.role,
    passwordHash: row.password_hash,
    emailVerifiedAt: row.email_verified_at,
    deletedAt: row.deleted_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}
