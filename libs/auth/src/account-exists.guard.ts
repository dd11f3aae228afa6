import { CanActivate, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import { AccountsService } from './accounts.service';
import { AuthenticatedUser } from './decorators';

/**
 * After the global access-token guard: refuses (401, InvalidTokenError) a well-signed token whose
 * account does not exist in PostgreSQL, which could otherwise hold seats and buy them, and whose
 * purchase PostgreSQL would then refuse (purchases_user_fk). Tokens are checked without the
 * database; this adds a Set lookup per request once the account is known to this process.
 */
@Injectable()
export class AccountExistsGuard implements CanActivate {
  constructor(private readonly accounts: AccountsService) {}

  canActivate(context: ExecutionContext): true | Promise<true> {
    const user = context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>().user;
    // A public route has no user: nothing to check.
    return user ? this.accounts.ensureExists(user.id) : true;
  }
}

/** Marks a route whose caller's account must exist in PostgreSQL (see AccountExistsGuard). */
export const RequiresExistingAccount = () => UseGuards(AccountExistsGuard);
