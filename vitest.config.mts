import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { configDefaults, defineConfig } from 'vitest/config';

const libs = ['core', 'config', 'database', 'redis', 'messaging', 'logging', 'ticketing', 'testing', 'auth'];
const alias = Object.fromEntries(libs.map((lib) => [`@app/${lib}`, resolve(import.meta.dirname, `libs/${lib}/src`)]));

// SWC keeps decorator metadata, which Nest's dependency injection needs.
const plugins = [swc.vite({ module: { type: 'es6' }, jsc: { target: 'es2022' } })];

const INTEGRATION_FILES = [
  '{apps,libs,loadtest,deploy,bench}/**/*.int-spec.ts',
  '{apps,libs,loadtest,deploy,bench}/**/*.e2e-spec.ts',
];
/**
 * Integration files that need the machine to themselves: the load test (Locust and three app
 * processes at full speed), the short fault drill (a whole stack under faults, with latency
 * bounds), the short Redis Cluster failover drill (a whole stack and a private six-node cluster
 * whose primary it kills), the reshard trial (a sale of 40 buyers while a private eight-node
 * cluster's slot moves to an added primary and back, 3–10 min on a loaded host). `npm test` runs
 * them after the others, one at a time.
 */
const EXCLUSIVE_FILES = [
  'loadtest/loadtest.e2e-spec.ts',
  'deploy/test/fault-drill.e2e-spec.ts',
  'deploy/test/redis-failover.e2e-spec.ts',
  'apps/api/test/redis-reshard.e2e-spec.ts',
];
/**
 * Integration files the `int-cluster` project leaves out, each for its reason; every other
 * integration file runs twice, on the single Redis (`int`) and on the run's local Redis Cluster.
 */
const NOT_ON_CLUSTER = [
  // Need the machine to themselves (int-serial runs them); the fault drill kills the single Redis,
  // the failover drill starts its own Cluster.
  ...EXCLUSIVE_FILES,
  // Starts its own single Redis with AOF and SIGKILLs it: a fault of one Redis, not of a Cluster.
  'apps/api/test/purchase-faults.e2e-spec.ts',
  // Counts the writes on the client's one socket; a Cluster client has a socket per node.
  'libs/redis/src/coalesced-writes.int-spec.ts',
  // Cuts a TCP proxy in front of the single Redis; a Cluster client learns the nodes' own
  // addresses from CLUSTER SLOTS and would go around it (a Cluster's faults: the failover drill).
  'apps/api/test/redis-outage.e2e-spec.ts',
  'libs/ticketing/src/catalog/catalog-cache.outage.int-spec.ts',
  // Reads CLIENT ID and CLIENT LIST of the one server (on a Cluster they reach any node); the
  // module's wiring it checks is the same for a Cluster client.
  'libs/redis/src/redis.module.int-spec.ts',
  // Starts its own single Redis primary and replica and stops the replica (SIGSTOP): what it checks,
  // the flusher's wait for a replica, is the same on the primary of a Cluster slot.
  'libs/ticketing/src/purchases/purchase-flusher.int-spec.ts',
  // Runs the bench's helpers on a private redis-server of its own: the same test twice.
  'bench/bench-helpers.int-spec.ts',
  // Kills and restarts a private redis-server of its own: the same test twice.
  'apps/batch/src/loops/seat-reconcile.loop.int-spec.ts',
  // Times block-seats.lua on a private redis-server of its own (SLOWLOG): the same test twice.
  'libs/ticketing/src/blocks/block-seats-timing.int-spec.ts',
  // Start their own private Cluster already (int runs them): the same test twice.
  'apps/api/test/redis-cluster.e2e-spec.ts',
  'apps/api/test/purchase-durability.e2e-spec.ts',
  'apps/api/test/redis-wait-replicas.e2e-spec.ts',
  // Stops a private redis-server of its own under the api: the same test twice.
  'apps/api/test/unavailable-error-log.e2e-spec.ts',
  'apps/batch/src/batch-readiness.int-spec.ts',
  'libs/redis/src/cluster.int-spec.ts',
  'libs/redis/src/bounded-commands.int-spec.ts',
  // Use no Redis at all: on the Cluster, the same test twice (admin-cli: seven starts of the built
  // CLI, which only reaches PostgreSQL; 87 s of the int project at a load average of 18).
  'apps/api/test/admin-cli.e2e-spec.ts',
  'apps/api/test/migration-cli.e2e-spec.ts',
  'libs/database/src/database-bootstrap.int-spec.ts',
  'libs/database/src/constraint-violations.int-spec.ts',
  'libs/database/src/database-unavailable.int-spec.ts',
  'libs/database/src/repositories/purchase.repository.int-spec.ts',
  'libs/database/src/migrations/1795630000000-MoneyInMinorUnits.int-spec.ts',
  'libs/database/src/migrations/1796800000000-SeatGeometry.int-spec.ts',
  'libs/database/src/migrations/1798000000000-PurchasesPerformanceIndex.int-spec.ts',
  'libs/database/src/migrations/1798100000000-EmailCaseFoldKey.int-spec.ts',
  'libs/database/src/migrations/1798400000000-PaymentAttemptRefundOwed.int-spec.ts',
  'libs/database/src/migrations/1799300000000-EmailVerification.int-spec.ts',
  'libs/database/src/migrations/1799450000000-TicketTransferDecline.int-spec.ts',
  'libs/database/src/migrations/1799670000000-PurchaseRefundsPurchaseFk.int-spec.ts',
  'libs/database/src/repositories/refund-owed.int-spec.ts',
  'libs/database/src/repositories/single-use-tokens.int-spec.ts',
  'libs/ticketing/src/notifications/send-claimed.int-spec.ts',
  'libs/messaging/src/amqp.connection.int-spec.ts',
  'libs/messaging/src/amqp.shutdown.int-spec.ts',
  'libs/messaging/src/amqp.shutdown-cut.int-spec.ts',
  // Cuts the broker connection of three built apps at their shutdown: what it checks is the AMQP
  // side alone, the same whichever Redis they run on (three process starts twice for nothing).
  'apps/api/test/processes-broker-cut.e2e-spec.ts',
];
/**
 * One worker per core, and at least two: integration files mostly wait on services and child
 * processes, so two files share a two-core machine well (measured in README "Tests").
 */
const WORKERS = Math.max(2, availableParallelism());
const integration = {
  environment: 'node' as const,
  pool: 'forks' as const,
  testTimeout: 60_000,
  // Hooks start built processes (metrics-port, ecs-logs, …): a start may take up to 180 s on a
  // loaded machine (PROCESS_TEST_TIMEOUT_MS in libs/testing, which tests that start them use).
  hookTimeout: 300_000,
  // Checks the services, then migrates the template database every test database is cloned from.
  globalSetup: ['libs/testing/src/global-setup.ts', 'libs/testing/src/redis-cluster.global-setup.ts'],
  // Every Lua script runs checked: a script touching a key it was not given in KEYS fails. Nest's
  // static logger is reset before each file (a worker runs several, see `isolate` below). Built app
  // processes a file left running are killed after it (app-process-cleanup.setup.ts).
  setupFiles: [
    'libs/testing/src/lua-key-check.setup.ts',
    'libs/testing/src/nest-logger.setup.ts',
    'libs/testing/src/app-process-cleanup.setup.ts',
  ],
};

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    projects: [
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['{apps,libs,loadtest,deploy}/**/*.spec.ts', 'eslint.config.spec.ts'],
          environment: 'node',
          // The same as the int project: vitest runs the two together, in one pool.
          maxWorkers: WORKERS,
          // A worker runs file after file without a fresh module graph each: importing Nest and the
          // libraries cost more than most unit files' tests (59 files: 63-78 s of wall alone on a
          // loaded two-core machine, 14-25 s so). Unit files keep no state between them; the one
          // that mocks a module loads what it tests afresh (password-hasher.spec.ts).
          isolate: false,
          // The property tests and the lint-rule tests are CPU-bound: 5 s (the default) is too
          // little for them on a loaded machine, where the suite must stay green.
          testTimeout: 30_000,
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          ...integration,
          name: 'int',
          // And, at the end of a run of every file, every operation of the api's OpenAPI document
          // answered a success to an e2e story, each answer checked against it (see the file).
          globalSetup: [...integration.globalSetup, 'libs/testing/src/openapi-coverage.global-setup.ts'],
          include: INTEGRATION_FILES,
          exclude: [...configDefaults.exclude, ...EXCLUSIVE_FILES],
          // Every file has its own database, Redis prefix, RabbitMQ namespace and ports (see
          // libs/testing), so files run side by side.
          maxWorkers: WORKERS,
          // A worker runs file after file in one module graph: Nest, TypeORM, ioredis and the
          // libraries are imported once per worker instead of once per file. No file leaves state
          // another reads: each closes what it opened (apps, clients, servers, processes) and
          // restores what it spied on or changed; Nest's static logger, which an app sets for the
          // process, is reset before each file (nest-logger.setup.ts). See README "Tests".
          isolate: false,
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          ...integration,
          // The same files on one local 3-primary, 3-replica Redis Cluster started for the run
          // (redis-cluster.global-setup.ts): createTestEnv sets REDIS_CLUSTER_NODES for every
          // client, app processes included.
          name: 'int-cluster',
          include: INTEGRATION_FILES,
          exclude: [...configDefaults.exclude, ...NOT_ON_CLUSTER],
          maxWorkers: WORKERS,
          // As `int`.
          isolate: false,
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          ...integration,
          name: 'int-serial',
          include: EXCLUSIVE_FILES,
          // Files that load the whole machine run alone, after the others (vitest runs projects
          // without file parallelism last, one file at a time). Isolated, unlike `int`: its three
          // files would save one import of the libraries, and vitest runs a single-worker project
          // last only when it is isolated.
          fileParallelism: false,
        },
      },
      {
        // `npm run drill` only (the full-scale fault drill and Redis Cluster failover drill):
        // `npm test` runs the projects above, the short variants among them.
        plugins,
        resolve: { alias },
        test: {
          name: 'drill',
          include: ['deploy/test/*.drill-spec.ts'],
          environment: 'node',
          pool: 'forks',
          hookTimeout: 120_000,
          globalSetup: ['libs/testing/src/global-setup.ts', 'libs/testing/src/redis-cluster.global-setup.ts'],
          setupFiles: ['libs/testing/src/app-process-cleanup.setup.ts'],
        },
      },
    ],
  },
});
