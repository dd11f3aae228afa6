import { Global, Module } from '@nestjs/common';
import { Clock, SystemClock } from './clock';

/**
 * The process-wide ports of libs/core, global: each app's root module (and a CLI's) imports it
 * once. Provides `Clock` as the system clock.
 */
@Global()
@Module({
  providers: [{ provide: Clock, useClass: SystemClock }],
  exports: [Clock],
})
export class CoreModule {}
