import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  HealthCheckResult,
} from '@nestjs/terminus';
import Redis from 'ioredis';
import { AmqpConnection } from '@app/messaging';
import { Public } from '@app/auth';
import { ErrorBodyDto } from '../common/error-body.dto';

const CHECK_TIMEOUT_MS = 1500;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly redis: Redis,
    private readonly amqp: AmqpConnection,
  ) {}

  /** The process is up (for a liveness probe: never checks dependencies). */
  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** PostgreSQL, Redis and RabbitMQ are reachable; 503 names the ones that are not. */
  @Get('ready')
  @ApiOkResponse({ description: 'All dependencies are reachable' })
  @ApiServiceUnavailableResponse({ type: ErrorBodyDto })
  async ready(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.db.pingCheck('postgres', { timeout: CHECK_TIMEOUT_MS }),
        () => this.checkRedis(),
        () => this.checkRabbit(),
      ]);
    } catch (error) {
      if (error instanceof ServiceUnavailableException) {
        const failed = (error.getResponse() as HealthCheckResult).error ?? {};
        const names = Object.entries(failed).map(([name, info]) =>
          info?.message ? `${name} (${String(info.message)})` : name,
        );
        throw new ServiceUnavailableException(`not ready: ${names.join(', ')} down`);
      }
      throw error;
    }
  }

  private async checkRedis() {
    const check = this.indicator.check('redis');
    try {
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS).unref(),
      );
      await Promise.race([this.redis.ping(), timeout]);
      return check.up();
    } catch (error) {
      return check.down({ message: error instanceof Error ? error.message : 'unreachable' });
    }
  }

  private checkRabbit() {
    const check = this.indicator.check('rabbitmq');
    return this.amqp.isConnected() ? check.up() : check.down({ message: 'not connected' });
  }
}
