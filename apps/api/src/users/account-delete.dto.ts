import { IsString, MaxLength, MinLength } from 'class-validator';

export class AccountDeleteDto {
  /** The account's password now (counted as a login attempt from this address). @example "correct horse battery staple" */
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password: string;
}
