import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule as NestConfigModule, ConfigService } from '@nestjs/config';
import { Env, EnvSource, parseEnv } from './env';

const ENV_KEY = 'boxoffice';

/**
 * The only reader of process.env (and of a `.env` file, when present). Everything else injects
 * the validated, typed `Env`. `overrides` lets tests and scripts change single values.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(overrides: EnvSource = {}): DynamicModule {
    return {
      module: ConfigModule,
      imports: [
        NestConfigModule.forRoot({
          envFilePath: '.env',
          validate: (raw: EnvSource) => ({ [ENV_KEY]: parseEnv({ ...raw, ...overrides }) }),
        }),
      ],
      providers: [
        {
          provide: Env,
          inject: [ConfigService],
          useFactory: (config: ConfigService) => config.getOrThrow<Env>(ENV_KEY),
        },
      ],
      exports: [Env],
    };
  }
}

/** For code that runs outside Nest (CLI scripts, the migration DataSource). */
export function loadEnv(overrides: EnvSource = {}): Readonly<Env> {
  return parseEnv({ ...process.env, ...overrides });
}
