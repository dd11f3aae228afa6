import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv as parseEnvFile } from 'node:util';
import { DynamicModule, Global, Logger, Module } from '@nestjs/common';
import { Env, EnvApp, EnvSource, parseEnv } from './env';
import { unknownEnvFileKeyWarnings } from './env-file-keys';

/**
 * The only reader of process.env and of the `.env` file: every entry point (the apps, their
 * loggers, the CLIs, the migration DataSource) gets its configuration from {@link loadEnv}, so all
 * of them see the same values. Everything else injects the validated, typed `Env`.
 */
@Global()
@Module({})
export class ConfigModule {
  /**
   * `Env` from {@link loadEnv}, with the rules of `app` when given; `overrides` lets tests and
   * scripts change single values. Throws ConfigError.
   */
  static forRoot(overrides: EnvSource = {}, app?: EnvApp): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        {
          provide: Env,
          useFactory: () => {
            const env = loadEnv(overrides, app);
            // Here, not in the early loadEnv of a main: the warning goes to the app's own logs.
            warnUnknownEnvFileKeys();
            return env;
          },
        },
      ],
      exports: [Env],
    };
  }
}

/**
 * The configuration, validated: `overrides` over process.env over the `.env` file of the working
 * directory (when there is one; a variable set in the environment wins, as with Nest's
 * ConfigModule), checked with the rules of `app` when given (the mailer's pool). Throws ConfigError
 * naming every invalid variable.
 */
export function loadEnv(overrides: EnvSource = {}, app?: EnvApp): Readonly<Env> {
  return parseEnv({ ...envFile(), ...process.env, ...overrides }, app);
}

/** Where the local stack's mail catcher listens, and whether to run one (see {@link mailCatcher}). */
export interface MailCatcher {
  /** False when SMTP_URL is set: the e-mails go to that server, and no catcher runs. */
  run: boolean;
  smtpPort: number;
  webPort: number;
  /** The SMTP_URL the apps send to: the catcher's when it runs. */
  smtpUrl: string;
}

/**
 * The mail catcher of `npm start` and `npm run start:cluster` (scripts/local-stack.mjs), read as
 * {@link loadEnv} reads the configuration: its ports (MAIL_CATCHER_SMTP_PORT,
 * MAIL_CATCHER_WEB_PORT), and whether SMTP_URL was set (in the environment or `.env`), which only
 * the unvalidated source tells: SMTP_URL has a default. Throws ConfigError.
 */
export function mailCatcher(overrides: EnvSource = {}): MailCatcher {
  const source = { ...envFile(), ...process.env, ...overrides };
  const env = parseEnv(source);
  const run = source.SMTP_URL === undefined || source.SMTP_URL === '';
  return {
    run,
    smtpPort: env.MAIL_CATCHER_SMTP_PORT,
    webPort: env.MAIL_CATCHER_WEB_PORT,
    smtpUrl: run ? `smtp://127.0.0.1:${env.MAIL_CATCHER_SMTP_PORT}` : env.SMTP_URL,
  };
}

/** The warnings logged so far: each once per process, however many modules load the configuration. */
const warned = new Set<string>();

/**
 * Warns (logger context `Config`), once per process, of each key of the `.env` file of the working
 * directory that no setting reads and that is not one of Docker Compose's, naming the nearest
 * known key when one is close (`.env sets REDIS_ULR, which no setting reads (ignored); did you mean
 * REDIS_URL?`). A warning, not a refusal: Compose reads the same file. Only the file's keys: the
 * process environment holds every other program's variables. Every Nest process does it when its
 * ConfigModule loads; a CLI without one (migrate.js) calls it itself.
 */
export function warnUnknownEnvFileKeys(): void {
  const logger = new Logger('Config');
  for (const line of unknownEnvFileKeyWarnings(Object.keys(envFile()))) {
    if (warned.has(line)) continue;
    warned.add(line);
    logger.warn(line);
  }
}

function envFile(): EnvSource {
  const path = resolve('.env');
  return existsSync(path) ? parseEnvFile(readFileSync(path, 'utf8')) : {};
}

/**
 * Whether the test run asked for one shared local Redis Cluster (`TEST_REDIS_CLUSTER=1`): a switch
 * of the test runner, not of the apps, read here with the rest of the environment.
 */
export function testRedisClusterRequested(): boolean {
  return process.env.TEST_REDIS_CLUSTER === '1';
}
