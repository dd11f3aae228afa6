import 'reflect-metadata';
import { ConfigError, Env, loadEnv } from '@app/config';
import { createLogger, MetricsServer, ShutdownSignals } from '@app/logging';
import { ApiModule } from './api.module';
import { createApiApp, drainConnections, listen } from './bootstrap';
import { HttpMetrics } from './metrics/http-metrics';

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
  // With METRICS_PORT, /metrics is served there only (the public port answers 404 for it).
  const metricsPort = app.get(Env).METRICS_PORT;
  const metrics =
    metricsPort === undefined
      ? undefined
      : await MetricsServer.start(app.get(HttpMetrics).registry, metricsPort, app.get(Env).HOST);
  logger.log(
    `api listening on http://127.0.0.1:${env.PORT} (docs at /docs, metrics ${metrics ? `on port ${metricsPort}` : 'at /metrics'})`,
    'Main',
  );
  // Connections drained first: a rolling restart behind Nginx cuts no request (drainConnections).
  const drainThenClose = {
    close: async () => {
      await drainConnections(app);
      await app.close();
    },
  };
  await signals.closeOnSignal(drainThenClose, metrics);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
