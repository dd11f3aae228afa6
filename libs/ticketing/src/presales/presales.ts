import { Injectable, Logger } from '@nestjs/common';
import { Clock, ConflictError } from '@app/core';
import { PRESALE_DELETE_ACTION, PresaleRecord, PresalesRepository } from '@app/database';
import { operatorAudit } from '../audit/audit-details';
import { CatalogCache } from '../catalog/catalog-cache';
import { InvalidInputError, NotFoundError, PerformanceCanceledError } from '../errors';
import { assertPerformanceId } from '../input';
import type { Operator } from '../purchases/admin-purchases';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { accessCodeDigest, assertPresaleCode } from './access-code';
import { PresaleStore } from './presale.store';

/**
 * The audit actions of an admin's creation and deletion of a presale (`admin_audit_log`, subject
 * `performance:<id>`). The deletion's is the database's: its row keeps a deleted presale's name for
 * the purchases made in it.
 */
export const PRESALE_CREATE_ACTION = 'presale.create';
export { PRESALE_DELETE_ACTION };
/** The audit action of an admin's change of a presale's allocation (maxSeats). */
export const PRESALE_UPDATE_ACTION = 'presale.update';

/** Presales one performance may have: each is read by every hold before its on-sale. */
export const MAX_PRESALES_PER_PERFORMANCE = 20;
/** Longest presale name (characters). */
export const PRESALE_NAME_MAX = 100;
/** The largest allocation a presale may have (seats): PostgreSQL's `integer`, far above any hall. */
export const PRESALE_MAX_SEATS_LIMIT = 1_000_000;

/** A presale as operators and buyers see it: never its code. */
export interface Presale {
  /** Decimal digits. */
  id: string;
  performanceId: number;
  name: string;
  /** The window: from opensAt (inclusive) to closesAt (exclusive), at or before the performance's salesOpenAt. */
  opensAt: Date;
  closesAt: Date;
  /** The seats its code may take in all, held and sold together; null = no allocation (the hall is the limit). */
  maxSeats: number | null;
}

/** A presale as operators list it: with the seats taken under it. */
export interface PresaleWithSeats extends Presale {
  /**
   * Seats taken under the presale now: held by live holds its code made and sold in their purchases,
   * less those given back (released, expired, canceled, refunded). May exceed `maxSeats` after the
   * allocation was lowered below it (no more holds are let in then).
   */
  seatsTaken: number;
}

/** An operator's new presale: its access code is given once and kept only as its digest. */
export interface NewPresale {
  name: string;
  opensAt: Date;
  closesAt: Date;
  /** 8–64 printable ASCII characters without spaces (PRESALE_CODE_PATTERN); compared case-insensitively. */
  code: string;
  /** The seats its code may take in all (1–PRESALE_MAX_SEATS_LIMIT); absent or null = no allocation. */
  maxSeats?: number | null;
}

/**
 * Presales with access codes: windows before a performance's general on-sale (`salesOpenAt`) in
 * which a buyer sending a presale's code may hold (and then buy) as after the on-sale. Stored in
 * PostgreSQL (`performance_presales`) and mirrored, under the performance's row lock, into its
 * meta hash in Redis, where the hold scripts check the code (PresaleStore; a rebuild writes them
 * again). Changes are allowed only before the on-sale: from salesOpenAt on a presale no longer
 * matters, and its record stays as it was sold under.
 */
@Injectable()
export class PresaleService {
  private readonly logger = new Logger(PresaleService.name);

  constructor(
    private readonly presales: PresalesRepository,
    private readonly store: PresaleStore,
    private readonly cache: CatalogCache,
    private readonly clock: Clock,
    private readonly rebuilder: SeatStateRebuilder,
  ) {}

  /**
   * Creates a presale of performance `performanceId`. Rules: `opensAt < closesAt <= salesOpenAt`,
   * `closesAt` after now; presales of a performance may overlap (each code lets its holders in
   * during its own window); a code is one presale's of the performance at most (compared
   * case-insensitively). Throws InvalidInputError (400: name, times, code), NotFoundError (no
   * such performance), PerformanceCanceledError (409), ConflictError (409: sales have opened; the
   * code is another presale's of the performance; MAX_PRESALES_PER_PERFORMANCE reached);
   * InvalidInputError too for a `maxSeats` not an integer 1–PRESALE_MAX_SEATS_LIMIT. Audit
   * log: `presale.create` naming `operator`, with the presale (never its code), in the
   * transaction of the change. The catalog version is renewed, so reads show it.
   */
  async create(performanceId: number, input: NewPresale, operator: Operator): Promise<Presale> {
    assertPerformanceId(performanceId);
    const { name, opensAt, closesAt, code } = input;
    if (typeof name !== 'string' || name.length < 1 || name.length > PRESALE_NAME_MAX) {
      throw new InvalidInputError(`name must be 1-${PRESALE_NAME_MAX} characters`);
    }
    for (const [field, value] of [
      ['opensAt', opensAt],
      ['closesAt', closesAt],
    ] as const) {
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
        throw new InvalidInputError(`${field} must be a date-time`);
      }
    }
    if (opensAt.getTime() >= closesAt.getTime()) {
      throw new InvalidInputError('opensAt must be before closesAt', {
        opensAt: opensAt.toISOString(),
        closesAt: closesAt.toISOString(),
      });
    }
    assertPresaleCode(code);
    const maxSeats = input.maxSeats ?? null;
    assertMaxSeats(maxSeats);
    const codeDigest = accessCodeDigest(performanceId, code);
    let written: PresaleRecord | undefined;
    const created = await this.presales
      .whileLocked(performanceId, async (performance, writes) => {
        this.assertChangeable(performanceId, performance);
        if (closesAt.getTime() > performance.salesOpenAt.getTime()) {
          throw new InvalidInputError("closesAt must be at or before the performance's salesOpenAt", {
            closesAt: closesAt.toISOString(),
            salesOpenAt: performance.salesOpenAt.toISOString(),
          });
        }
        if (closesAt.getTime() <= this.clock.nowMs()) {
          throw new InvalidInputError('closesAt must be in the future', { closesAt: closesAt.toISOString() });
        }
        const existing = await writes.list();
        if (existing.some((presale) => presale.codeDigest === codeDigest)) {
          throw new ConflictError('another presale of this performance has this access code');
        }
        if (existing.length >= MAX_PRESALES_PER_PERFORMANCE) {
          throw new ConflictError(`a performance has at most ${MAX_PRESALES_PER_PERFORMANCE} presales`, {
            limit: MAX_PRESALES_PER_PERFORMANCE,
          });
        }
        const stored = await writes.insert({ name, opensAt, closesAt, codeDigest, maxSeats });
        await writes.record(
          operatorAudit(operator, PRESALE_CREATE_ACTION, `performance:${performanceId}`, auditOf(stored)),
        );
        // Before the commit, under the row lock: a rebuild (FOR SHARE) reads the presales after it.
        written = stored;
        await this.store.put(performanceId, stored);
        return stored;
      })
      .catch(async (error: unknown) => {
        // A commit that failed after the write must not leave a code that works but that no read
        // lists and no delete finds (fail closed: a commit that did land shows the presale listed
        // without a working code until its delete, or the performance's next rebuild).
        if (written) await this.store.remove(performanceId, written.id).catch(() => undefined);
        throw error;
      });
    if (!created) throw new NotFoundError('performance', { performanceId });
    await this.cache.invalidateAfterCommit();
    return publicPresale(created);
  }

  /**
   * The performance's presales in opening order (never their codes), each with the seats taken
   * under it (Redis's count, rebuilt from PostgreSQL first when Redis lost the performance).
   * NotFoundError when there is no such performance; StoreUnavailableError (503) as
   * SeatStateRebuilder.ensure.
   */
  async list(performanceId: number): Promise<PresaleWithSeats[]> {
    assertPerformanceId(performanceId);
    const presales = await this.presales.list(performanceId);
    if (presales.length === 0) {
      if (!(await this.presales.performanceExists(performanceId))) {
        throw new NotFoundError('performance', { performanceId });
      }
      return [];
    }
    await this.rebuilder.ensure(performanceId);
    const taken = await this.store.seatsTaken(
      performanceId,
      presales.map((presale) => presale.id),
    );
    return presales.map((presale, i) => ({ ...publicPresale(presale), seatsTaken: taken[i] }));
  }

  /**
   * Sets the allocation of the performance's presale `presaleId` (decimal digits): `maxSeats` a
   * positive integer (1–PRESALE_MAX_SEATS_LIMIT), or null for none. The seats taken so far stay
   * counted; an allocation lowered to them or below lets no further hold in (nothing held is
   * taken back). Written into Redis under the row lock, as create. Throws InvalidInputError (400:
   * maxSeats), NotFoundError (no such performance, or no such presale of it),
   * PerformanceCanceledError (409), ConflictError (409: sales have opened). Audit log:
   * `presale.update` with the allocation before and after. Answers the presale with its seats taken.
   */
  async update(
    performanceId: number,
    presaleId: string,
    maxSeats: number | null,
    operator: Operator,
  ): Promise<PresaleWithSeats> {
    assertPerformanceId(performanceId);
    if (!/^[1-9][0-9]{0,15}$/.test(presaleId)) throw new NotFoundError('presale', { presaleId });
    assertMaxSeats(maxSeats);
    // Registered first (a rebuild reads the presales under the row's share lock, which this waits for).
    await this.rebuilder.ensure(performanceId);
    let written = false;
    const updated = await this.presales
      .whileLocked(performanceId, async (performance, writes) => {
        this.assertChangeable(performanceId, performance);
        const changed = await writes.setMaxSeats(presaleId, maxSeats);
        if (!changed) throw new NotFoundError('presale', { performanceId, presaleId });
        await writes.record(
          operatorAudit(operator, PRESALE_UPDATE_ACTION, `performance:${performanceId}`, {
            ...auditOf(changed.after),
            maxSeatsBefore: changed.before.maxSeats,
          }),
        );
        // Before the commit, under the row lock, as create; a failed commit is written back below.
        written = true;
        await this.store.put(performanceId, changed.after);
        return changed.after;
      })
      .catch(async (error: unknown) => {
        if (written) await this.restore(performanceId, presaleId);
        throw error;
      });
    if (!updated) throw new NotFoundError('performance', { performanceId });
    await this.cache.invalidateAfterCommit();
    const [seatsTaken] = await this.store.seatsTaken(performanceId, [updated.id]);
    return { ...publicPresale(updated), seatsTaken };
  }

  /**
   * Deletes the performance's presale `presaleId` (decimal digits): from then on its code lets no
   * new hold in. A hold its code let in stays the buyer's until it expires, and its purchase
   * goes through (it passed the check when it was made). Throws NotFoundError (no such
   * performance, or no such presale of it), PerformanceCanceledError (409), ConflictError (409:
   * sales have opened; the presale is kept as it was). Audit log: `presale.delete`, with the
   * presale as it was.
   */
  async remove(performanceId: number, presaleId: string, operator: Operator): Promise<void> {
    assertPerformanceId(performanceId);
    if (!/^[1-9][0-9]{0,15}$/.test(presaleId)) throw new NotFoundError('presale', { presaleId });
    let removedTaken: number | undefined;
    const deleted = await this.presales
      .whileLocked(performanceId, async (performance, writes) => {
        this.assertChangeable(performanceId, performance);
        const presale = await writes.delete(presaleId);
        if (!presale) throw new NotFoundError('presale', { performanceId, presaleId });
        await writes.record(
          operatorAudit(operator, PRESALE_DELETE_ACTION, `performance:${performanceId}`, auditOf(presale)),
        );
        // Its count, to put back should the commit fail (a rebuild alone could recount it).
        [removedTaken] = await this.store.seatsTaken(performanceId, [presaleId]);
        await this.store.remove(performanceId, presaleId);
        return presale;
      })
      .catch(async (error: unknown) => {
        if (removedTaken !== undefined) await this.restore(performanceId, presaleId, removedTaken);
        throw error;
      });
    if (!deleted) throw new NotFoundError('performance', { performanceId });
    await this.cache.invalidateAfterCommit();
  }

  /**
   * Writes presale `presaleId` back into Redis as PostgreSQL has it, under the performance's row
   * lock (after a change under way committed, before the next one writes): what update and remove
   * do when their transaction failed after their Redis write (the COMMIT refused or cut off), so
   * that no allocation or deletion PostgreSQL does not have is in force. A presale PostgreSQL no
   * longer has is removed; one put back after a failed delete gets `taken`, its count before the
   * delete (seats given back while its field was gone are not in it: the count errs high, letting
   * fewer in, until a rebuild recounts it). When PostgreSQL cannot be read, logs an error naming the
   * presale (the next change of it, or a rebuild, mends it). Never throws.
   */
  private async restore(performanceId: number, presaleId: string, taken?: number): Promise<void> {
    try {
      await this.presales.whileLocked(performanceId, async (_performance, writes) => {
        const stored = (await writes.list()).find((presale) => presale.id === presaleId);
        if (stored) await this.store.put(performanceId, stored, taken);
        else await this.store.remove(performanceId, presaleId);
      });
    } catch (error) {
      this.logger.error(
        `presale ${presaleId} of performance ${performanceId}: a change failed after its Redis write and could not be written back from PostgreSQL (${String(error)})`,
      );
    }
  }

  /** A presale changes only before the on-sale of a performance not canceled. */
  private assertChangeable(performanceId: number, performance: { status: string; salesOpenAt: Date }): void {
    if (performance.status === 'CANCELED') {
      throw new PerformanceCanceledError(performanceId, 'its presales no longer change');
    }
    if (this.clock.nowMs() >= performance.salesOpenAt.getTime()) {
      throw new ConflictError('sales have opened: presales no longer change', {
        salesOpenAt: performance.salesOpenAt.toISOString(),
      });
    }
  }
}

/** A stored presale without its code's digest. */
export function publicPresale(record: PresaleRecord): Presale {
  return {
    id: record.id,
    performanceId: record.performanceId,
    name: record.name,
    opensAt: record.opensAt,
    closesAt: record.closesAt,
    maxSeats: record.maxSeats,
  };
}

/** A presale's allocation: null (none) or an integer 1–PRESALE_MAX_SEATS_LIMIT; InvalidInputError otherwise. */
function assertMaxSeats(maxSeats: unknown): asserts maxSeats is number | null {
  if (maxSeats === null) return;
  if (!Number.isSafeInteger(maxSeats) || (maxSeats as number) < 1 || (maxSeats as number) > PRESALE_MAX_SEATS_LIMIT) {
    throw new InvalidInputError(`maxSeats must be an integer from 1 to ${PRESALE_MAX_SEATS_LIMIT}, or null for none`);
  }
}

function auditOf(presale: PresaleRecord): Record<string, unknown> {
  return {
    performanceId: presale.performanceId,
    presaleId: presale.id,
    name: presale.name,
    opensAt: presale.opensAt.toISOString(),
    closesAt: presale.closesAt.toISOString(),
    maxSeats: presale.maxSeats,
  };
}
