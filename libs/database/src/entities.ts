import { EventEntity } from './entities/event.entity';
import { PerformanceEntity } from './entities/performance.entity';
import { SeatEntity } from './entities/seat.entity';

/** Every entity, registered once here for the apps and the migration CLI. */
export const ENTITIES: Function[] = [EventEntity, PerformanceEntity, SeatEntity];
