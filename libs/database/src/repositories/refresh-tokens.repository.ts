import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { RefreshTokenEntity } from '../entities/refresh-token.entity';

export interface NewRefreshToken {
  id: string;
  userId: string;
  familyId: string;
  tokenHash: string;
  expiresAt: Date;
}

/** Issued refresh tokens (their hashes) in PostgreSQL. */
@Injectable()
export class RefreshTokensRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(token: NewRefreshToken, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await manager.getRepository(RefreshTokenEntity).insert({ ...token, revokedAt: null, replacedById: null });
  }

  /**
   * Locks a token family until the transaction ends (a transaction-scoped advisory lock on the
   * family id), so a refresh, a reuse's revocation and a logout of one family take turns: a
   * revocation then sees every token a rotation of the family minted before it.
   */
  async lockFamily(familyId: string, manager: EntityManager): Promise<void> {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('token-family:' || $1, 0))`, [familyId]);
  }

  /** Finds a token and locks its row until the transaction ends, so two refreshes of it take turns. */
  findByHashForUpdate(tokenHash: string, manager: EntityManager): Promise<RefreshTokenEntity | null> {
    return manager
      .getRepository(RefreshTokenEntity)
      .findOne({ where: { tokenHash }, lock: { mode: 'pessimistic_write' } });
  }

  async markRotated(id: string, replacedById: string, at: Date, manager: EntityManager): Promise<void> {
    await manager.getRepository(RefreshTokenEntity).update({ id }, { revokedAt: at, replacedById });
  }

  /**
   * Revokes every still-valid token of the user, in every family (all its sessions); returns how
   * many. Update (or lock FOR UPDATE) the user's row earlier in the same transaction: a refresh
   * holds that row FOR SHARE while it mints a token, so this statement then sees every token a
   * refresh minted (a token inserted after its snapshot would otherwise outlive the revocation).
   */
  async revokeUser(userId: string, at: Date, manager: EntityManager = this.dataSource.manager): Promise<number> {
    const result = await manager
      .getRepository(RefreshTokenEntity)
      .update({ userId, revokedAt: IsNull() }, { revokedAt: at });
    return result.affected ?? 0;
  }

  /** Revokes every still-valid token of the family; returns how many it revoked. */
  async revokeFamily(familyId: string, at: Date, manager: EntityManager = this.dataSource.manager): Promise<number> {
    const result = await manager
      .getRepository(RefreshTokenEntity)
      .update({ familyId, revokedAt: IsNull() }, { revokedAt: at });
    return result.affected ?? 0;
  }

  /**
   * Deletes at most `limit` tokens that expired before `before` (any family, revoked or not), rows
   * another statement has locked skipped (a refresh of one of them waits for nothing); answers how
   * many it deleted. Such a token is refused before its row is read (its signed `exp` has passed),
   * so its row only took room. Reads `refresh_tokens_expires_at` (RefreshTokenExpiryIndex).
   */
  async deleteExpired(before: Date, limit: number): Promise<number> {
    const rows: unknown[] = await this.dataSource.query(
      `DELETE FROM refresh_tokens WHERE id IN (
         SELECT id FROM refresh_tokens WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ) RETURNING 1`,
      [before, limit],
    );
    return rows.length;
  }
}
