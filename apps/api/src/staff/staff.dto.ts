import { AuthSignupDto } from '../auth/auth.dto';
import { UserResponseDto } from '../users/user-response.dto';

/** The body of `POST /admin/staff`: the new staff account, with the rules of a signup. */
export class StaffCreateDto extends AuthSignupDto {}

/** A page of `GET /admin/staff`: staff accounts, oldest first. */
export class StaffPageDto {
  items: UserResponseDto[];
  /** Pass as `?cursor=` for the next page; null on the last. */
  nextCursor: string | null;
}
