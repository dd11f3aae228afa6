import { DomainError } from '@app/core';

export class EmailTakenError extends DomainError {
  constructor() {
    super('conflict', 'EmailTaken', 'e-mail is already registered');
  }
}

/** The same answer for an unknown e-mail and a wrong password, so neither can be probed. */
export class InvalidCredentialsError extends DomainError {
  constructor() {
    super('unauthorized', 'InvalidCredentials', 'invalid e-mail or password');
  }
}

export class InvalidTokenError extends DomainError {
  constructor(message = 'invalid or expired token') {
    super('unauthorized', 'InvalidToken', message);
  }
}

/**
 * An access token minted before every session of its account ended (a password reset, a role
 * change): 401, saying so, so a client knows to sign in again rather than retry.
 */
export class SessionEndedError extends InvalidTokenError {
  constructor() {
    super('this session has ended (the password was reset or the account changed): sign in again');
  }
}

export class MissingRoleError extends DomainError {
  constructor() {
    super('forbidden', 'MissingRole', 'your role does not allow this');
  }
}

/** One answer for a reset token unknown, used, replaced or expired, so none of these can be told apart. */
export class InvalidResetTokenError extends DomainError {
  constructor() {
    super('invalid', 'InvalidResetToken', 'password reset token is invalid or expired; ask for a new one');
  }
}

/**
 * A buyer who has not confirmed their e-mail address, while EMAIL_VERIFICATION_REQUIRED: 403 with
 * `details.code` `EmailNotVerified`, so a client can tell it from the other 403s and offer to send
 * the e-mail again.
 */
export class EmailNotVerifiedError extends DomainError {
  constructor() {
    super(
      'forbidden',
      'EmailNotVerified',
      'confirm your e-mail address first: use the link or token in the e-mail we sent, or ask for a new one (POST /api/v1/auth/email-verification)',
      { code: 'EmailNotVerified' },
    );
  }
}

/** One answer for a verification token unknown, used, replaced or expired, so none of these can be told apart. */
export class InvalidVerificationTokenError extends DomainError {
  constructor() {
    super('invalid', 'InvalidVerificationToken', 'e-mail verification token is invalid or expired; ask for a new one');
  }
}

/**
 * A confirm of an e-mail address that came with neither the account's access token nor its
 * password: the token proves the inbox, not who made the account, and an account made by someone
 * else with this address (pre-hijacking) must not become verified by the owner's click.
 */
export class VerificationOwnerRequiredError extends DomainError {
  constructor() {
    super(
      'unauthorized',
      'VerificationOwnerRequired',
      "confirming an e-mail address needs its account: sign in (Authorization: Bearer <access token>) or send the account's password with the token; if you did not sign up, ignore the e-mail, or reset the password (POST /api/v1/auth/password-reset) to take the account",
      { code: 'VerificationOwnerRequired' },
    );
  }
}

/** A confirm of an e-mail address with a password that is not its account's: nothing changed. */
export class WrongAccountPasswordError extends DomainError {
  constructor() {
    super('unauthorized', 'InvalidCredentials', "the password is not this account's");
  }
}

/**
 * Too many password attempts for one account from one client address, counted with the login's
 * (LOGIN_RATE_LIMIT): 429 with Retry-After, the seconds until the block ends.
 */
export class TooManyPasswordAttemptsError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super(
      'too_many',
      'TooManyPasswordAttempts',
      'too many password attempts, try again later',
      undefined,
      retryAfterSeconds,
    );
  }
}

/** A request for a verification e-mail by an account whose address is confirmed already: nothing to send. */
export class EmailAlreadyVerifiedError extends DomainError {
  constructor() {
    super('conflict', 'EmailAlreadyVerified', 'your e-mail address is already confirmed', {
      code: 'EmailAlreadyVerified',
    });
  }
}

/**
 * A request for a verification e-mail past the account's limit (`issuedPerWindow` e-mails per
 * `windowMs` milliseconds, signup's included): 429 with Retry-After, the seconds until one may be
 * sent again, and `details.code` `TooManyVerificationEmails`. Only the signed-in owner asks, so the
 * limit is no secret to keep (a password reset's is: anyone may ask for one of any address).
 */
export class TooManyVerificationEmailsError extends DomainError {
  constructor(retryAfterSeconds: number, limit: { issuedPerWindow: number; windowMs: number }) {
    super(
      'too_many',
      'TooManyVerificationEmails',
      `at most ${limit.issuedPerWindow} e-mails to confirm your address are sent per ${limit.windowMs / 60_000} minutes; ask again in ${retryAfterSeconds} seconds`,
      { code: 'TooManyVerificationEmails' },
      retryAfterSeconds,
    );
  }
}

/** One answer for an e-mail-change token unknown, used, replaced, voided or expired, so none of these can be told apart. */
export class InvalidEmailChangeTokenError extends DomainError {
  constructor() {
    super('invalid', 'InvalidEmailChangeToken', 'e-mail change token is invalid or expired; ask for a new one');
  }
}

/** A change of the account's address to the address it has already (in any letter case): nothing to change. */
export class SameEmailError extends DomainError {
  constructor() {
    super('invalid', 'SameEmail', 'the new e-mail address is the address of this account already');
  }
}

/**
 * A change of address past the account's limit (`issuedPerWindow` requests per `windowMs`
 * milliseconds): 429 with Retry-After and `details.code` `TooManyEmailChanges`; nothing sent.
 */
export class TooManyEmailChangesError extends DomainError {
  constructor(retryAfterSeconds: number, limit: { issuedPerWindow: number; windowMs: number }) {
    super(
      'too_many',
      'TooManyEmailChanges',
      `at most ${limit.issuedPerWindow} changes of address are asked for per ${limit.windowMs / 60_000} minutes; ask again in ${retryAfterSeconds} seconds`,
      { code: 'TooManyEmailChanges' },
      retryAfterSeconds,
    );
  }
}

/**
 * An account that may not be deleted yet, for what it still has (409, `details.code`
 * `AccountHasOpenPurchases`): paid purchases of performances not yet played nor canceled whose
 * tickets it holds (`details.purchaseIds`; some may not be written to PostgreSQL yet), tickets of
 * such performances transferred to it (`details.ticketIds`), payments in flight
 * (`details.paymentsInProgress`, purchase ids). Nothing changed.
 */
export class AccountHasOpenPurchasesError extends DomainError {
  constructor(open: { purchaseIds: string[]; ticketIds: string[]; paymentsInProgress: string[] }) {
    super(
      'conflict',
      'AccountHasOpenPurchases',
      'the account has purchases or tickets of performances still to come (or a payment in progress): ' +
        'they must be played, canceled or transferred before the account can be deleted',
      { code: 'AccountHasOpenPurchases', ...open },
    );
  }
}

/**
 * The deletion of the admin account of ADMIN_EMAIL (made again at every start) or of the last admin
 * account (409, `details.code` `BootstrapAdmin` or `LastAdmin`). Nothing changed.
 */
export class AdminAccountKeptError extends DomainError {
  constructor(reason: 'BootstrapAdmin' | 'LastAdmin') {
    super(
      'conflict',
      reason,
      reason === 'BootstrapAdmin'
        ? 'the admin account of ADMIN_EMAIL cannot be deleted (the api makes it again at every start)'
        : 'the last admin account cannot be deleted',
      { code: reason },
    );
  }
}
