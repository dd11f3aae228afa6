export { ConfigModule, loadEnv } from './config.module';
export { isCurrencyCode, minorUnitDigits } from './currency';
export { ConfigError, Env, parseEnv } from './env';
export type { EnvSource } from './env';
export { parseRange, TrustedProxies } from './trusted-proxies';
