import { Controller, Get, Header, NotFoundException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@app/auth';
import { Env } from '@app/config';
import { HttpMetrics } from './http-metrics';

/** `/metrics` on the public port, unless METRICS_PORT serves it on a port of its own (see main.ts). */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: HttpMetrics,
    private readonly env: Env,
  ) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    if (this.env.METRICS_PORT !== undefined) throw new NotFoundException('Cannot GET /metrics');
    return this.metrics.registry.metrics();
  }
}
