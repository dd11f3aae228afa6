import { Controller, Get, HttpCode, Logger, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, HealthCheckResult } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { DependencyUnavailableError, StoreUnavailableError } from '@app/core';
import { AmqpConnection } from '@app/messaging';
import { probeScripts, ReplicaWatch } from '@app/redis';
import { Public } from '@app/auth';
import { ErrorBodyDto } from '../common/error-body.dto';
import { IndicatorState, LivenessDto, ReadinessDto } from './health.dto';

const CHECK_TIMEOUT_MS = 1500;

/** Retry-After (seconds) of a 503 "not ready": a probe or client asks again then. */
const NOT_READY_RETRY_AFTER_S = 5;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: Redis,
    private readonly amqp: AmqpConnection,
    private readonly replicas: ReplicaWatch,
  ) {}

  /** The process is up (for a liveness probe: never checks dependencies). */
  @Get('live')
  @HttpCode(200)
  @ApiOkResponse({ type: LivenessDto, description: 'The process is up' })
  live(): LivenessDto {
    return { status: 'ok' };
  }

  /**
   * Ready to serve the sale: PostgreSQL is reachable and Redis runs a Lua script, and with
   * REDIS_WAIT_REPLICAS every Redis primary has that many connected replicas (ReplicaWatch); 503
   * (with Retry-After: 5) names the ones that are not, and only them: why each is down (an address,
   * a driver's message) goes to the log, not to whoever asks, except a replica shortfall, which
   * the message gives ("not ready: redis down: REDIS_WAIT_REPLICAS=1 but the primary has 0
   * connected replicas"). RabbitMQ is not needed to serve (purchases reach it later through the outbox): while it
   * is unreachable the answer is still 200, with `status: "degraded"` and the broker under
   * `degraded`.
   */
  @Get('ready')
  @ApiOkResponse({
    type: ReadinessDto,
    description:
      'PostgreSQL and Redis are reachable (with REDIS_WAIT_REPLICAS, every Redis primary has that many connected replicas); `status` is `degraded` (and `degraded` names RabbitMQ) while the broker is not',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorBodyDto,
    description:
      'PostgreSQL or Redis is down: the message names which (why: in the log), and the setting Redis cannot meet when that is why (`not ready: redis down: REDIS_WAIT_REPLICAS=1 but the primary has 0 connected replicas`); see Retry-After',
  })
  async ready(): Promise<ReadinessDto> {
    let result: HealthCheckResult;
    try {
      result = await this.health.check([() => this.checkPostgres(), () => this.checkRedis()]);
    } catch (error) {
      if (error instanceof ServiceUnavailableException) {
        const failed = Object.entries((error.getResponse() as HealthCheckResult).error ?? {});
        const why = failed.map(([name, info]) => (info?.message ? `${name} (${String(info.message)})` : name));
        this.logger.warn(`not ready: ${why.join(', ')} down`);
        // A setting the deployment cannot meet is said to whoever asks; an address or a driver's message is not.
        const settings = failed.flatMap(([, info]) => (info?.setting ? [String(info.setting)] : []));
        throw new ServiceUnavailableException({
          message: `not ready: ${failed.map(([name]) => name).join(', ')} down${settings.length > 0 ? `: ${settings.join('; ')}` : ''}`,
          retryAfter: NOT_READY_RETRY_AFTER_S,
        });
      }
      throw error;
    }
    const details = { ...result.details };
    if (this.amqp.isConnected()) {
      const rabbitmq: IndicatorState = { status: 'up' };
      return { status: 'ok', info: { ...result.info, rabbitmq }, degraded: {}, details: { ...details, rabbitmq } };
    }
    const rabbitmq: IndicatorState = { status: 'down', message: 'not connected' };
    return { status: 'degraded', info: result.info ?? {}, degraded: { rabbitmq }, details: { ...details, rabbitmq } };
  }

  /**
   * terminus' ping of PostgreSQL (`SELECT 1`, `responseTime` in ms), down with what pg said (its
   * connect error, a timeout) as the message for the log, not the generic message of the
   * DatabaseUnavailableError wrapping it.
   */
  private checkPostgres() {
    return this.indicator
      .check('postgres')
      .attempt(async () => {
        try {
          await this.dataSource.query('SELECT 1');
        } catch (error) {
          const cause = error instanceof DependencyUnavailableError ? error.cause : error;
          throw cause instanceof Error && cause.message ? cause : error;
        }
      })
      .withTimeout(CHECK_TIMEOUT_MS);
  }

  private async checkRedis() {
    const check = this.indicator.check('redis');
    try {
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS).unref(),
      );
      // A real script, not PING: a Redis that answers PING but cannot run scripts cannot sell.
      await Promise.race([probeScripts(this.redis), timeout]);
      // Every purchase would answer 503 while REDIS_WAIT_REPLICAS cannot be met: not ready to sell.
      const shortfall = await Promise.race([this.replicas.check(), timeout]);
      if (shortfall !== null) return check.down({ message: shortfall, setting: shortfall });
      return check.up();
    } catch (error) {
      // For the operator: what Redis or ioredis said, behind the domain's StoreUnavailableError.
      const cause = error instanceof StoreUnavailableError ? error.cause : error;
      return check.down({ message: cause instanceof Error ? cause.message : 'unreachable' });
    }
  }
}
