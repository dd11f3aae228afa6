export { ConfigModule, loadEnv, testRedisClusterRequested } from './config.module';
export { isCurrencyCode, minorUnitDigits } from './currency';
export { ConfigError, corsOrigins, Env, parseEnv, redisClusterNodes } from './env';
export type { EnvSource } from './env';
export { parseRange, TrustedProxies } from './trusted-proxies';
