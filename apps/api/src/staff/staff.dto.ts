import { AuthSignupDto } from '../auth/auth.dto';

/** The body of `POST /admin/staff`: the new staff account, with the rules of a signup. */
export class StaffCreateDto extends AuthSignupDto {}
