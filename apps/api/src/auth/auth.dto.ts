import { ApiProperty } from '@nestjs/swagger';
import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, ValidateBy } from 'class-validator';
import { INVISIBLE_IN_EMAIL, normalizeEmail } from '@app/auth';
import { guessablePasswordReason, MIN_PASSWORD_LENGTH, PasswordContext } from '@app/core';
import { FreeText } from '../common/free-text';
import { MaxLength, MinLength } from '../common/text-length';

/** An e-mail address in its one spelling (trimmed, NFC, lower case), with nothing invisible in it. */
export const NormalizedEmail = () =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? normalizeEmail(value) : value)),
    ValidateBy({
      name: 'visibleEmail',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && !INVISIBLE_IN_EMAIL.test(value),
        defaultMessage: () => 'email must not contain spaces, control, invisible or combining characters',
      },
    }),
    IsEmail(),
    MaxLength(320),
  );

/**
 * A password being set (signup, staff, password reset) that is not too easily guessed: not only
 * white space, not one character repeated, not a run such as 12345678, not a commonly used one,
 * nor the body's own `email` or `name` (`guessablePasswordReason`, NIST SP 800-63B §5.1.1.2), with
 * its reason as the field's message. Beside IsString, MinLength and MaxLength on the property,
 * which Swagger's compiler plugin reads by name.
 */
export const NotGuessable = () =>
  ValidateBy({
    name: 'notGuessable',
    validator: {
      validate: (value: unknown, args) =>
        typeof value !== 'string' || guessablePasswordReason(value, contextOf(args?.object)) === null,
      defaultMessage: (args) =>
        guessablePasswordReason(String(args?.value), contextOf(args?.object)) ?? 'password is too easily guessed',
    },
  });

/** The `email` and `name` of the body a password came in, those that are strings. */
function contextOf(body: object | undefined): PasswordContext {
  const { email, name } = (body ?? {}) as { email?: unknown; name?: unknown };
  return {
    ...(typeof email === 'string' ? { email } : {}),
    ...(typeof name === 'string' ? { name } : {}),
  };
}

/**
 * The token of a mailed link (password reset, e-mail verification): a string of 1–256 characters
 * once trimmed. White space and line breaks around it (what an e-mail client or a copy adds:
 * spaces, tabs, CR/LF, no-break spaces, a BOM; `String.prototype.trim`) are dropped before it is
 * checked and looked up, so a pasted token works as the link's does; anything else in it makes it
 * a token that is not valid (the route's one 400 for a token unknown, used or expired).
 */
export const MailedToken = () =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value)),
    IsString(),
    MinLength(1),
    MaxLength(256),
  );

export class AuthSignupDto {
  /** Stored trimmed, in Unicode NFKC and lower-cased (`ｕ@Example.com` is `u@example.com`); unique by its full Unicode case fold. @example ada@example.com */
  @NormalizedEmail()
  email: string;

  /** 8 to 128 characters (8 visible ones, when it has invisible ones such as zero-width spaces); not only white space, one character repeated ("aaaaaaaa"), a run of consecutive characters ("12345678", "abcdefgh", "87654321"), a commonly used password ("Password1!", "qwerty123"), or the e-mail address or name of the body ("ada.lovelace2024"). @example "correct horse battery staple" */
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(128)
  @NotGuessable()
  password: string;

  /** @example "Ada Lovelace" */
  @FreeText()
  @MinLength(1)
  @MaxLength(100)
  name: string;
}

export class AuthPasswordChangeDto {
  /** The account's password now (counted as a login attempt from this address). @example "correct horse battery staple" */
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  currentPassword: string;

  /** The new password, by signup's rules (also not the account's e-mail address or name). @example "a new long passphrase 42" */
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(128)
  @NotGuessable()
  newPassword: string;
}

export class AuthLoginDto {
  /** @example ada@example.com */
  @NormalizedEmail()
  email: string;

  /** @example "correct horse battery staple" */
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password: string;
}

export class AuthRefreshDto {
  /** The refresh token from login or the last refresh. */
  @IsString()
  @MinLength(1)
  @MaxLength(2048)
  refreshToken: string;
}

export class AuthPasswordResetRequestDto {
  /** The account's e-mail, in any letter case. @example ada@example.com */
  @NormalizedEmail()
  email: string;
}

export class AuthPasswordResetAcceptedDto {
  /** The same words whether or not an account has this e-mail. */
  message: string;
}

export class AuthPasswordResetConfirmDto {
  /** The token from the password-reset e-mail (base64url, 43 characters); it works once. White space around it is ignored. */
  @MailedToken()
  token: string;

  /** The new password, by signup's rules: 8 to 128 characters (8 visible ones, when it has invisible ones); not only white space, one character repeated, a run of consecutive characters, or a commonly used password. @example "correct horse battery staple" */
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(128)
  @NotGuessable()
  password: string;
}

export class AuthEmailVerificationConfirmDto {
  /** The token from the "confirm your e-mail address" e-mail (base64url, 43 characters); it works once. White space around it is ignored. */
  @MailedToken()
  token: string;

  /** The account's password, when the request carries no access token of the account (a page opened on another device); counted as a login attempt. @example "correct horse battery staple" */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password?: string;
}

export class AuthEmailChangeDto {
  /** The account's password now (counted as a login attempt from this address). @example "correct horse battery staple" */
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password: string;

  /** The new address, normalized as signup's (`ｕ@Example.com` is `u@example.com`); not one another account has. @example ada.new@example.com */
  @NormalizedEmail()
  newEmail: string;
}

export class AuthEmailChangeAcceptedDto {
  /** The e-mail with the token went to the new address, a notice to the current one. */
  message: string;
}

export class AuthEmailChangeConfirmDto {
  /** The token from the "confirm your new e-mail address" e-mail (base64url, 43 characters); it works once. White space around it is ignored. */
  @MailedToken()
  token: string;

  /** The account's password, when the request carries no access token of the account (a page opened on another device); counted as a login attempt. @example "correct horse battery staple" */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password?: string;
}

export class AuthEmailVerificationAcceptedDto {
  /** The e-mail went out. */
  message: string;
}

export class AuthTokensResponseDto {
  /** JWT for `Authorization: Bearer`, valid `expiresIn` seconds. */
  accessToken: string;

  /** Single use: trade it at /auth/refresh for a new pair. Valid `refreshExpiresIn` seconds. */
  refreshToken: string;

  /** @example Bearer */
  tokenType: 'Bearer';

  /** @example 600 */
  @ApiProperty({ type: 'integer' })
  expiresIn: number;

  /** @example 2592000 */
  @ApiProperty({ type: 'integer' })
  refreshExpiresIn: number;
}
