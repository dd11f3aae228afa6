export { ConfigModule, loadEnv, mailCatcher, testRedisClusterRequested, warnUnknownEnvFileKeys } from './config.module';
export type { MailCatcher } from './config.module';
export { isCurrencyCode, minorUnitDigits } from './currency';
export {
  ConfigError,
  corsOrigins,
  Env,
  MAIL_LINK_TOKEN,
  MAIL_LINK_TRANSFER_ID,
  MAILER_PREFETCH,
  MAILER_SPARE_DATABASE_CONNECTIONS,
  MAX_SEATS_PER_RESERVATION_CEILING,
  parseEnv,
  redisClusterNodes,
  RETENTION_MAX_DAYS,
  retentionMs,
  SMTP_POOL_CONNECTIONS,
} from './env';
export type { EnvApp, EnvSource, RetentionDays } from './env';
export { parseRange, TrustedProxies } from './trusted-proxies';
