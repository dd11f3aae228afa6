export { startApi } from './api-harness';
export { createSession, TEST_PASSWORD } from './auth-helpers';
export type { TestSession } from './auth-helpers';
export type { ApiHarness } from './api-harness';
export { deleteRedisKeys, deleteTopology, destroyTestEnv, dropDatabase } from './services';
export { createTestEnv, RABBITMQ_URL, REDIS_URL, SERVER_DATABASE_URL } from './test-env';
export type { TestEnv } from './test-env';
export { AppProcess, builtEntry } from './processes';
export type { AppName } from './processes';
