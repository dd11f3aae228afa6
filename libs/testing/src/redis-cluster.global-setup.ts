import type { TestProject } from 'vitest/node';
import { testRedisClusterRequested } from '@app/config';
import { startTestRedisCluster } from './redis-cluster';

declare module 'vitest' {
  export interface ProvidedContext {
    /** REDIS_CLUSTER_NODES of the shared local cluster when the run has TEST_REDIS_CLUSTER=1, else ''. */
    testRedisClusterNodes: string;
  }
}

/** The vitest project that runs the integration files on a Redis Cluster (vitest.config.mts). */
export const CLUSTER_PROJECT = 'int-cluster';

/**
 * For the `int-cluster` project, or any project of a `TEST_REDIS_CLUSTER=1` run: starts one local
 * 3-primary, 3-replica Redis Cluster for the project's whole run and hands its nodes to every test
 * file, whose createTestEnv then sets REDIS_CLUSTER_NODES (the switch is read once, for the test
 * runner, by libs/config). Otherwise nothing starts and the tests use the single Redis.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  if (project.name !== CLUSTER_PROJECT && !testRedisClusterRequested()) {
    project.provide('testRedisClusterNodes', '');
    return;
  }
  const cluster = await startTestRedisCluster();
  project.provide('testRedisClusterNodes', cluster.nodes);
  return () => cluster.stop();
}
