import { Transform } from 'class-transformer';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';

const lowerCaseTrimmed = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

export class AuthSignupDto {
  /** Stored lower-cased; unique regardless of case. @example ada@example.com */
  @Transform(lowerCaseTrimmed)
  @IsEmail()
  @MaxLength(320)
  email: string;

  /** 8 to 128 characters. @example "correct horse battery staple" */
  @IsString()
  @MinLength(8)
  @MaxLength(128)
  password: string;

  /** @example "Ada Lovelace" */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name: string;
}

export class AuthLoginDto {
  /** @example ada@example.com */
  @Transform(lowerCaseTrimmed)
  @IsEmail()
  @MaxLength(320)
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

export class AuthTokensResponseDto {
  /** JWT for `Authorization: Bearer`, valid `expiresIn` seconds. */
  accessToken: string;

  /** Single use: trade it at /auth/refresh for a new pair. Valid `refreshExpiresIn` seconds. */
  refreshToken: string;

  /** @example Bearer */
  tokenType: 'Bearer';

  /** @example 600 */
  expiresIn: number;

  /** @example 2592000 */
  refreshExpiresIn: number;
}
