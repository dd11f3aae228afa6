export { AccessLog } from './access-log';
export type { AccessEntry } from './access-log';
export { createLogger, createWinston } from './logger.factory';
export type { LoggerOptions } from './logger.factory';
export { RequestContext } from './request-context';
export type { RequestContextStore } from './request-context';
export { SHUTDOWN_GRACE_MS, ShutdownSignals } from './shutdown';
export { MetricsServer } from './metrics-server';
export type { Readiness } from './metrics-server';
