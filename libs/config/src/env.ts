import { plainToInstance, Transform } from 'class-transformer';
import {
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MinLength,
  Min,
  validateSync,
  ValidationError,
  ValidateBy,
} from 'class-validator';
import { isCurrencyCode } from './currency';

const URL_WITH_SCHEME = (schemes: string[]) => new RegExp(`^(${schemes.join('|')})://[^\\s]+$`);

/** Every environment variable boxoffice reads, with its default and its rule. */
export class Env {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @Matches(URL_WITH_SCHEME(['postgres', 'postgresql']), { message: 'must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/boxoffice';

  @Matches(URL_WITH_SCHEME(['redis', 'rediss']), { message: 'must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Prefix of every Redis key, so several deployments (or test runs) can share one Redis. */
  @Matches(/^[A-Za-z0-9_.-]{0,40}:?$/, { message: 'must be letters, digits, _ . - and may end with :' })
  REDIS_KEY_PREFIX = 'bo:';

  @Matches(URL_WITH_SCHEME(['amqp', 'amqps']), { message: 'must be an amqp:// URL' })
  RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

  /** Prefix of the RabbitMQ exchange and queue names. */
  @Matches(/^[A-Za-z0-9_.-]{1,40}$/, { message: 'must be 1-40 letters, digits, _ . -' })
  RABBITMQ_NAMESPACE = 'boxoffice';

  @Matches(URL_WITH_SCHEME(['smtp', 'smtps']), { message: 'must be an smtp:// URL' })
  SMTP_URL = 'smtp://127.0.0.1:1025';

  @IsString()
  MAIL_FROM = 'boxoffice <tickets@boxoffice.local>';

  /** Tries of one purchase e-mail before its message is parked in the dead-letter queue. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(50)
  MAIL_MAX_ATTEMPTS = 8;

  /** Wait before the first retry of a failed e-mail; doubled at each further try. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  MAIL_RETRY_BASE_MS = 1000;

  /** Longest wait between two tries of one e-mail. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(10)
  @Max(86_400_000)
  MAIL_RETRY_MAX_MS = 60_000;

  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  JWT_ACCESS_SECRET?: string;

  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  JWT_REFRESH_SECRET?: string;

  @IsOptional()
  @IsEmail()
  ADMIN_EMAIL?: string;

  @IsOptional()
  @IsString()
  @MinLength(8, { message: 'must be at least 8 characters' })
  ADMIN_PASSWORD?: string;

  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(86400)
  RESERVATION_TTL_SECONDS = 300;

  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(20)
  MAX_SEATS_PER_RESERVATION = 4;

  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(3600)
  PURCHASE_FLUSH_AGE_SECONDS = 5;

  /**
   * A buffered purchase delivered to a flusher and not acknowledged for this long is taken over
   * by another: the flusher died. Keep it well above the time one batch takes to write.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(3600)
  PURCHASE_CLAIM_IDLE_SECONDS = 10;

  /** ISO 4217 code of an event created without a `currency`. */
  @ValidateBy({
    name: 'isCurrencyCode',
    validator: {
      validate: isCurrencyCode,
      defaultMessage: () => 'DEFAULT_CURRENCY must be an ISO 4217 currency code in upper case, such as KRW or EUR',
    },
  })
  DEFAULT_CURRENCY = 'KRW';

  @IsIn(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'])
  LOG_LEVEL = 'info';

  @IsString()
  LOG_DIR = './logs';

  /** Console output: readable lines for people, or the same ECS JSON as the files. */
  @IsIn(['pretty', 'json', 'none'])
  LOG_CONSOLE: 'pretty' | 'json' | 'none' = 'pretty';
}

export type EnvSource = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DEV_ACCESS_SECRET = 'dev-only-access-secret-change-me-0123456789';
const DEV_REFRESH_SECRET = 'dev-only-refresh-secret-change-me-0123456789';

/** Validates the environment once; throws a ConfigError naming every bad variable. */
export function parseEnv(source: EnvSource): Readonly<Env> {
  const known = Object.keys(new Env());
  const picked: EnvSource = {};
  for (const key of [...known, 'JWT_ACCESS_SECRET', 'JWT_REFRESH_SECRET', 'ADMIN_EMAIL', 'ADMIN_PASSWORD']) {
    const value = source[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const env = plainToInstance(Env, picked, { exposeDefaultValues: true });
  const problems = validateSync(env, { forbidUnknownValues: true }).flatMap(describe);

  if (env.NODE_ENV === 'production') {
    if (!env.JWT_ACCESS_SECRET) problems.push('JWT_ACCESS_SECRET is required when NODE_ENV=production');
    if (!env.JWT_REFRESH_SECRET) problems.push('JWT_REFRESH_SECRET is required when NODE_ENV=production');
  }
  if (env.JWT_ACCESS_SECRET && env.JWT_ACCESS_SECRET === env.JWT_REFRESH_SECRET) {
    problems.push('JWT_REFRESH_SECRET must differ from JWT_ACCESS_SECRET');
  }
  if (Boolean(env.ADMIN_EMAIL) !== Boolean(env.ADMIN_PASSWORD)) {
    problems.push('ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
  }
  if (env.MAIL_RETRY_MAX_MS < env.MAIL_RETRY_BASE_MS) {
    problems.push('MAIL_RETRY_MAX_MS must not be below MAIL_RETRY_BASE_MS');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  env.JWT_ACCESS_SECRET ??= DEV_ACCESS_SECRET;
  env.JWT_REFRESH_SECRET ??= DEV_REFRESH_SECRET;
  return Object.freeze(env);
}

function toInt(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
}

function describe(error: ValidationError): string[] {
  const shown =
    error.property.includes('PASSWORD') || error.property.includes('SECRET') ? '(hidden)' : JSON.stringify(error.value);
  return Object.values(error.constraints ?? {}).map((c) =>
    c.startsWith(error.property) ? `${c} (got ${shown})` : `${error.property} ${c} (got ${shown})`,
  );
}
