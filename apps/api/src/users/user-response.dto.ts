import { Role, UserEntity } from '@app/database';

/** An account as clients see it: never its password hash. */
export class UserResponseDto {
  /** @example 9b2f6c1e-6a43-4a0e-9d1c-2f4e8b7a1c33 */
  id: string;

  /** Lower-cased. @example ada@example.com */
  email: string;

  /** @example "Ada Lovelace" */
  name: string;

  role: Role;

  /**
   * Whether the account confirmed its e-mail address (a token from the "confirm your e-mail
   * address" e-mail came back to `POST /auth/email-verification/confirm`). While
   * EMAIL_VERIFICATION_REQUIRED, a buyer (`USER`) with `false` cannot hold seats, buy or join a
   * waiting room (403 EmailNotVerified). @example false
   */
  emailVerified: boolean;
}

export function mapUser(user: UserEntity): UserResponseDto {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    emailVerified: user.emailVerifiedAt !== null,
  };
}
