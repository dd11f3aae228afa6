import { LoggerService } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { EnvSource } from '@app/config';
import { createLogger } from '@app/logging';
import { createTestEnv, TestEnv } from './test-env';
import { destroyTestEnv } from './services';
import { recordAnswers, reportUndocumented, undocumentedAnswers } from './documented-statuses';

type ApiFactory = (options: { overrides: EnvSource; logger: LoggerService }) => Promise<NestFastifyApplication>;

export interface ApiHarness {
  app: NestFastifyApplication;
  env: TestEnv;
  /**
   * Stops the app and drops its database, Redis keys and RabbitMQ topology; then fails when the
   * app answered a status its OpenAPI document does not list for the operation (see
   * documented-statuses.ts).
   */
  close(): Promise<void>;
}

/** Starts the API in-process on its own test environment, logging to the env's LOG_DIR. */
export async function startApi(factory: ApiFactory, overrides: EnvSource = {}): Promise<ApiHarness> {
  const env = await createTestEnv(overrides);
  const logger = createLogger({ app: 'api', level: env.LOG_LEVEL, dir: env.LOG_DIR, console: 'none', accessLog: true });
  const app = await factory({ overrides: env, logger });
  const answers = recordAnswers(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    env,
    close: async () => {
      const missing = await undocumentedAnswers(app, answers).catch(() => []);
      await app.close();
      await destroyTestEnv(env);
      reportUndocumented(missing);
    },
  };
}
