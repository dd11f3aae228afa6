import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, Env, loadEnv } from '@app/config';
import { createLogger, MetricsServer, ShutdownSignals } from '@app/logging';
import { PurchaseMailConsumer } from './purchase-mail.consumer';
import { mailerMetrics } from './mailer-metrics';
import { MailerModule } from './mailer.module';

async function main(): Promise<void> {
  const env = loadEnv({}, 'mailer');
  const logger = createLogger({ app: 'mailer', level: env.LOG_LEVEL, dir: env.LOG_DIR, console: env.LOG_CONSOLE });
  const signals = ShutdownSignals.listen(logger);
  const app = await NestFactory.createApplicationContext(MailerModule.forRoot(), { logger, abortOnError: false });
  await app.init();
  // On SIGTERM it stops taking messages and finishes the e-mails in hand before closing.
  await app.get(PurchaseMailConsumer).start();
  // Liveness and metrics for Docker's health check and Prometheus, when METRICS_PORT is set.
  const metricsPort = app.get(Env).METRICS_PORT;
  const metrics =
    metricsPort === undefined
      ? undefined
      : await MetricsServer.start(mailerMetrics(app), metricsPort, app.get(Env).HOST);
  logger.log(`mailer started${metrics ? ` (metrics and liveness on port ${metricsPort})` : ''}`, 'Main');
  await signals.closeOnSignal(app, metrics);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
