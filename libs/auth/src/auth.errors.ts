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
