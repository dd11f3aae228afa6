import { ApiProperty } from '@nestjs/swagger';

/**
 * What one dependency's check found: `message` says why when it is down; `responseTime`, in
 * milliseconds, how long the check took, where Terminus times it (PostgreSQL's ping).
 */
export interface IndicatorState {
  status: 'up' | 'down';
  message?: string;
  responseTime?: number;
}

/** The schema of `IndicatorState`, the values of `info`, `degraded` and `details` (keyed by dependency). */
const INDICATOR_STATE = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['up', 'down'] },
    message: { type: 'string' },
    responseTime: { type: 'integer', description: 'How long the check took, in milliseconds (PostgreSQL only).' },
  },
  required: ['status'],
};

/** `GET /health/live`: the process is up. */
export class LivenessDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status: 'ok';
}

/** `GET /health/ready` when ready: `info` what is up, `degraded` what is down but not needed to serve. */
export class ReadinessDto {
  /** `degraded` while a dependency not needed to serve (RabbitMQ) is down. */
  @ApiProperty({ enum: ['ok', 'degraded'], example: 'ok' })
  status: 'ok' | 'degraded';

  /** The dependencies that are up, by name (`postgres`, `redis`, `rabbitmq`). */
  @ApiProperty({
    type: 'object',
    additionalProperties: INDICATOR_STATE,
    example: { postgres: { status: 'up' }, redis: { status: 'up' } },
  })
  info: Record<string, unknown>;

  /** The dependencies that are down but not needed to serve; empty when `status` is `ok`. */
  @ApiProperty({ type: 'object', additionalProperties: INDICATOR_STATE, example: {} })
  degraded: Record<string, IndicatorState>;

  /** Every dependency checked, up or down. */
  @ApiProperty({ type: 'object', additionalProperties: INDICATOR_STATE })
  details: Record<string, unknown>;
}
