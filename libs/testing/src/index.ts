export { startApi } from './api-harness';
export { createSession, TEST_PASSWORD } from './auth-helpers';
export type { TestSession } from './auth-helpers';
export type { ApiHarness } from './api-harness';
export { apiContract, builtApiContract } from './built-openapi';
export { OpenApiContract } from './openapi-contract';
export type { ContractAnswer, ContractDocument, ContractVerdict } from './openapi-contract';
export { deleteRedisKeys, deleteTopology, destroyTestEnv, dropDatabase, keysMatching } from './services';
export {
  createTestEnv,
  createTestEnvWithoutDatabase,
  RABBITMQ_URL,
  REDIS_URL,
  SERVER_DATABASE_URL,
  testRedisClusterNodes,
} from './test-env';
export type { TestEnv } from './test-env';
export { AppProcess, builtEntry, killRunningAppProcesses, PROCESS_TEST_TIMEOUT_MS, READY_LINES } from './processes';
export type { AppName } from './processes';
export { FakeClock } from './fake-clock';
export { PrivatePostgres } from './private-postgres';
export { PrivateRedis } from './private-redis';
export { freePort } from './free-port';
export { TestSmtpServer } from './test-smtp-server';
export type { ReceivedEmail } from './test-smtp-server';
export { TcpProxy } from './tcp-proxy';
export { amqpMethodsIn } from './amqp-frames';
export { waitForValue, waitUntil } from './wait-until';
export { startTestRedisCluster } from './redis-cluster';
export type { LocalRedisCluster } from './redis-cluster';
export {
  insertShow,
  insertUser,
  migrationDataSource,
  openDatabaseWith,
  openMigratedDatabase,
  writePaidPurchase,
} from './database-rows';
export type { MigratedDatabase } from './database-rows';
export { expectGivesUpOnLockedTable, insertAccountAndPerformance, openDatabaseBefore } from './migration-spec';
export { explainAnalyzed, pagesTouched, planNodes, rowsRead, scansOf } from './query-plans';
export type { PlanNode } from './query-plans';
export { refuseCommitsOn } from './refuse-commits';
export type { RefuseOptions, RowEvent, SqlRunner } from './refuse-commits';
