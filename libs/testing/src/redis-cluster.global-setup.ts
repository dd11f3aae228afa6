import type { TestProject } from 'vitest/node';
import { testRedisClusterRequested } from '@app/config';
import { startTestRedisCluster } from './redis-cluster';

declare module 'vitest' {
  export interface ProvidedContext {
    /** REDIS_CLUSTER_NODES of the shared local cluster when the run has TEST_REDIS_CLUSTER=1, else ''. */
    testRedisClusterNodes: string;
  }
}

/**
 * `TEST_REDIS_CLUSTER=1 npx vitest run --project int …`: starts one local 3-primary, 3-replica
 * Redis Cluster for the whole run and hands its nodes to every test file, whose createTestEnv
 * then sets REDIS_CLUSTER_NODES (the switch is read once, for the test runner, by libs/config). Without it,
 * nothing starts and the tests use the single Redis.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  if (!testRedisClusterRequested()) {
    project.provide('testRedisClusterNodes', '');
    return;
  }
  const cluster = await startTestRedisCluster();
  project.provide('testRedisClusterNodes', cluster.nodes);
  return () => cluster.stop();
}
