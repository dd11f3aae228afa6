import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRedisCluster, startRedisCluster } from '../../../scripts/redis-cluster.mjs';
import { freePort } from './free-port';

export type { LocalRedisCluster };

/**
 * A private Redis Cluster for a test: 3 primaries and 3 replicas of Debian's redis-server on
 * free loopback ports (client and cluster bus ports both from `freePort`), no persistence.
 * Resolves once every node reports cluster_state:ok; call `stop()` in afterAll. `options` pass
 * on to startRedisCluster (e.g. `minReplicasToWrite`, as `npm start -- --redis-cluster` runs).
 */
export async function startTestRedisCluster(
  options: { minReplicasToWrite?: number; minReplicasMaxLag?: number } = {},
): Promise<LocalRedisCluster> {
  const ports: number[] = [];
  const busPorts: number[] = [];
  for (let i = 0; i < 6; i++) {
    ports.push(await freePort());
    busPorts.push(await freePort());
  }
  return startRedisCluster({
    ports,
    busPorts,
    dir: mkdtempSync(join(tmpdir(), 'bo-redis-cluster-')),
    replicas: 1,
    ...options,
  });
}
