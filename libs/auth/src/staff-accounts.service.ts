import { Injectable } from '@nestjs/common';
import { Clock, ConflictError, decodeCursor, encodeCursor, isUuid, NotFoundError } from '@app/core';
import {
  AdminAuditRepository,
  AuthEventsRepository,
  AuthEventType,
  RefreshTokensRepository,
  Role,
  STAFF_CREATE_ACTION,
  STAFF_GRANT_ACTION,
  STAFF_REVOKE_ACTION,
  TransactionRunner,
  UserEntity,
  UsersRepository,
} from '@app/database';
import { AccountsService, SignupInput } from './accounts.service';
import { AccountOperator, auditEntry } from './account-audit';
import { SessionRevocations } from './session-revocations';

/** A page of staff accounts and the cursor of the next one (null on the last). */
export interface StaffPage {
  items: UserEntity[];
  nextCursor: string | null;
}

/**
 * The admins' management of door staff (role STAFF): creating a staff account, listing them, making
 * a buyer's account staff, and revoking an account's staff role. Each change is recorded in the
 * admin audit log (`staff.create`, `staff.grant`, `staff.revoke`, subject `account:<id>`, the
 * admin the actor) in its own transaction, beside the account's auth event.
 */
@Injectable()
export class StaffAccountsService {
  constructor(
    private readonly users: UsersRepository,
    private readonly events: AuthEventsRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly sessions: SessionRevocations,
    private readonly transactions: TransactionRunner,
    private readonly clock: Clock,
    private readonly accounts: AccountsService,
    private readonly audit: AdminAuditRepository,
  ) {}

  /**
   * Creates a door-staff account for `input` (as AccountsService.signup with Role.Staff: the same
   * password rules, STAFF_CREATED recorded) and records `staff.create` by `operator` in the same
   * transaction (details: nothing of the account's own; its id is the subject). Throws what signup
   * throws (EmailTakenError 409, a password refused 400), recording nothing.
   */
  create(input: SignupInput, operator: AccountOperator): Promise<UserEntity> {
    return this.accounts.signup(input, Role.Staff, (user, manager) =>
      this.audit.recordIn(auditEntry(operator, STAFF_CREATE_ACTION, user.id), manager),
    );
  }

  /**
   * Staff accounts, oldest first, `limit` (1–100) a page after `cursor` (the previous page's
   * `nextCursor`). Throws DomainError 'invalid' (InvalidCursor) for a cursor this list did not make.
   */
  async list(cursor: string | undefined, limit: number): Promise<StaffPage> {
    const rows = await this.users.pageOfRole(Role.Staff, decodeStaffCursor(cursor), limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => row.user),
      nextCursor: rows.length > limit && last ? encodeStaffCursor(last.key) : null,
    };
  }

  /**
   * Makes account `id` door staff: a buyer's account becomes STAFF, every session it had ends (its
   * refresh tokens are revoked, so its next login's tokens carry the role; its access tokens are
   * refused on every api at once: SessionRevocations) and STAFF_GRANTED is
   * recorded, in one transaction. A staff account is left as it is (idempotent: no event, its
   * sessions kept). `staff.grant` by `operator` is recorded in the same transaction when the role
   * changed. Answers the account as the grant's transaction read it, its row locked.
   * Throws NotFoundError('account') for no such account, ConflictError for an admin's (an admin is
   * not made staff: that would take its role).
   */
  async grant(id: string, operator: AccountOperator): Promise<UserEntity> {
    const outcome = await this.transactions.run(async (manager) => {
      const role = await this.users.promoteToStaff(id, manager);
      if (role === Role.User) {
        await this.refreshTokens.revokeUser(id, this.clock.now(), manager);
        await this.sessions.endAll(id, manager);
        await this.events.record(id, AuthEventType.StaffGranted, manager);
        await this.audit.recordIn(auditEntry(operator, STAFF_GRANT_ACTION, id), manager);
      }
      // Read while this transaction holds the row locked: the answer is the account as this grant
      // left it, not as a change committed right after it would show it.
      const user = role === null || role === Role.Admin ? null : await this.users.findById(id, manager);
      return { role, user };
    });
    if (outcome.role === Role.Admin) throw new ConflictError('an admin account cannot be made door staff');
    if (!outcome.user) throw new NotFoundError('account', { id });
    return outcome.user;
  }

  /**
   * Takes the staff role from account `id`: it becomes a USER (its purchases and tickets stay),
   * every session it had ends (its refresh tokens are revoked, its access tokens refused on every
   * api at once: SessionRevocations), and STAFF_REVOKED is recorded, in one transaction. The
   * check-in reads the role from PostgreSQL too (CurrentRoleGuard), so it admits no one from this
   * answer on, whatever token reaches it. `staff.revoke` by `operator` is recorded in the same
   * transaction. Throws NotFoundError('staff account') when `id` is no staff account (a buyer, an
   * admin, none), recording nothing.
   */
  async revoke(id: string, operator: AccountOperator): Promise<void> {
    const revoked = await this.transactions.run(async (manager) => {
      if (!(await this.users.demoteStaff(id, manager))) return false;
      await this.refreshTokens.revokeUser(id, this.clock.now(), manager);
      await this.sessions.endAll(id, manager);
      await this.events.record(id, AuthEventType.StaffRevoked, manager);
      await this.audit.recordIn(auditEntry(operator, STAFF_REVOKE_ACTION, id), manager);
      return true;
    });
    if (!revoked) throw new NotFoundError('staff account', { id });
  }
}

/** The keyset of the last item of a page: its created_at (to the microsecond, UTC) and id, as an opaque cursor. */
function encodeStaffCursor(key: { createdAt: string; id: string }): string {
  return encodeCursor({ c: key.createdAt, i: key.id });
}

/** created_at as pageOfRole spells it: UTC, six fractional digits, `Z`. */
const CREATED_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * A created_at key as pageOfRole spells it, of a date that exists: one that does not (Feb 30,
 * year 0) would reach PostgreSQL and fail there, so it must read back the same (Date rolls Feb 30
 * over to Mar 1).
 */
function isCreatedKey(value: unknown): boolean {
  if (typeof value !== 'string' || !CREATED_KEY.test(value) || value.startsWith('0000')) return false;
  const parsed = new Date(value);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 23) === value.slice(0, 23);
}

/** null for no cursor; the keyset otherwise; DomainError 'invalid' (InvalidCursor) for anything else. */
function decodeStaffCursor(cursor: string | undefined): { createdAt: string; id: string } | null {
  const key = decodeCursor<{ c: string; i: string }>(cursor, { c: isCreatedKey, i: isUuid });
  return key && { createdAt: key.c, id: key.i };
}
