import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadEnv } from '@app/config';
import { createLogger, ShutdownSignals } from '@app/logging';
import { PurchaseMailConsumer } from '@app/ticketing';
import { MailerModule } from './mailer.module';

async function main(): Promise<void> {
  const env = loadEnv();
  const logger = createLogger({ app: 'mailer', level: env.LOG_LEVEL, dir: env.LOG_DIR, console: env.LOG_CONSOLE });
  const signals = ShutdownSignals.listen(logger);
  const app = await NestFactory.createApplicationContext(MailerModule.forRoot(), { logger, abortOnError: false });
  await app.init();
  // On SIGTERM it stops taking messages and finishes the e-mails in hand before closing.
  await app.get(PurchaseMailConsumer).start();
  logger.log('mailer started', 'Main');
  await signals.closeOnSignal(app);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
