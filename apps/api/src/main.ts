import 'reflect-metadata';
import { ConfigError, loadEnv } from '@app/config';
import { createLogger, ShutdownSignals } from '@app/logging';
import { ApiModule } from './api.module';
import { createApiApp, listen } from './bootstrap';

async function main(): Promise<void> {
  const env = loadEnv();
  const logger = createLogger({
    app: 'api',
    level: env.LOG_LEVEL,
    dir: env.LOG_DIR,
    console: env.LOG_CONSOLE,
    accessLog: env.ACCESS_LOG,
  });
  const signals = ShutdownSignals.listen(logger);
  const app = await createApiApp(ApiModule, { logger });
  await listen(app);
  logger.log(`api listening on http://127.0.0.1:${env.PORT} (docs at /docs)`, 'Main');
  await signals.closeOnSignal(app);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
