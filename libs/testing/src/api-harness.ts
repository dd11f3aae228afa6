import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoggerService } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { inject } from 'vitest';
import type { EnvSource } from '@app/config';
import { createLogger } from '@app/logging';
import { createTestEnv, TestEnv } from './test-env';
import { destroyTestEnv } from './services';
import { checkAnswers, reportMismatches } from './answer-contract';
import { builtApiContract } from './built-openapi';

type ApiFactory = (options: { overrides: EnvSource; logger: LoggerService }) => Promise<NestFastifyApplication>;

export interface ApiHarness {
  app: NestFastifyApplication;
  env: TestEnv;
  /**
   * Stops the app and drops its database, Redis keys and RabbitMQ topology; then fails when an
   * answer the app gave does not match the built api's OpenAPI document (operation, status, content
   * type, body: see answer-contract.ts).
   */
  close(): Promise<void>;
}

/** Starts the API in-process on its own test environment, logging to the env's LOG_DIR. */
export async function startApi(factory: ApiFactory, overrides: EnvSource = {}): Promise<ApiHarness> {
  const contract = await builtApiContract();
  const env = await createTestEnv(overrides);
  const logger = createLogger({ app: 'api', level: env.LOG_LEVEL, dir: env.LOG_DIR, console: 'none', accessLog: true });
  const app = await factory({ overrides: env, logger });
  const ledger = checkAnswers(app, contract);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    env,
    close: async () => {
      await app.close();
      await destroyTestEnv(env);
      // The `int` project's coverage check (openapi-coverage.global-setup.ts) reads these.
      const coverage = inject('openapiCoverageDir');
      if (coverage && ledger.answered.size > 0) {
        appendFileSync(join(coverage, `${process.pid}.txt`), [...ledger.answered].map((line) => `${line}\n`).join(''));
      }
      reportMismatches(ledger.mismatches);
    },
  };
}
