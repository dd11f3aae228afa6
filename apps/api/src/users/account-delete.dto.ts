import { IsString } from 'class-validator';
import { MaxLength, MinLength } from '../common/text-length';

export class AccountDeleteDto {
  /** The account's password now (counted as a login attempt from this address). @example "correct horse battery staple" */
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  password: string;
}
