import { CanActivate, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { Env } from '@app/config';
import { AccountsService } from './accounts.service';
import { AuthenticatedUser } from './decorators';

/**
 * After the global access-token guard, on the routes that take seats or queue places (holds,
 * purchases, joining a waiting room):
 * - refuses (401, InvalidTokenError) a well-signed token whose account does not exist in
 *   PostgreSQL (or was deleted: `deleted_at`), which could otherwise hold seats and buy them, and whose purchase PostgreSQL would
 *   then refuse (purchases_user_fk);
 * - while EMAIL_VERIFICATION_REQUIRED, refuses (403, EmailNotVerifiedError) a buyer (role USER, as
 *   PostgreSQL has it: not the token's role, which names STAFF for up to its lifetime after an admin
 *   revoked it) who has not confirmed their e-mail address. Staff and admins are never refused for
 *   it: their accounts are made by an admin or the operator, not by anyone on the internet.
 *
 * Both answers come from one per-process memory of accounts (AccountsService), a Map lookup per
 * request once the account is known to this process, and one batched query when it is not: the
 * verification check rides on the lookup the existence check makes anyway.
 */
@Injectable()
export class BuyerAccountGuard implements CanActivate {
  private readonly verificationRequired: boolean;

  constructor(
    private readonly accounts: AccountsService,
    env: Env,
  ) {
    this.verificationRequired = env.EMAIL_VERIFICATION_REQUIRED;
  }

  canActivate(context: ExecutionContext): true | Promise<true> {
    const user = context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>().user;
    // A public route has no user: nothing to check.
    if (!user) return true;
    return this.verificationRequired ? this.accounts.ensureVerified(user.id) : this.accounts.ensureExists(user.id);
  }
}

/**
 * Marks a route whose caller's account must exist in PostgreSQL and, for a buyer while
 * EMAIL_VERIFICATION_REQUIRED, have a confirmed e-mail address (see BuyerAccountGuard).
 */
export const RequiresBuyerAccount = () => UseGuards(BuyerAccountGuard);
