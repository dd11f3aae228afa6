import { AuthEventEntity } from './entities/auth-event.entity';
import { RefreshTokenEntity } from './entities/refresh-token.entity';
import { UserEntity } from './entities/user.entity';

/** Every entity, registered once here for the apps and the migration CLI. */
export const ENTITIES: Function[] = [UserEntity, RefreshTokenEntity, AuthEventEntity];
