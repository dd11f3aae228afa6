import Redis, { Cluster } from 'ioredis';

/** True when `redis` is an ioredis Cluster client (REDIS_CLUSTER_NODES), typed as `Redis`. */
export function isCluster(redis: Redis): boolean {
  return (redis as unknown as { isCluster?: boolean }).isCluster === true;
}

/**
 * The clients that hold keys: the client itself on a single Redis, each primary of a Cluster.
 * The node clients of a Cluster carry no key prefix: they see keys as Redis stores them.
 */
export function primaries(redis: Redis): Redis[] {
  return isCluster(redis) ? (redis as unknown as Cluster).nodes('master') : [redis];
}

/** A command and its arguments, keys without the deployment's prefix (the client adds it). */
export type RedisCommand = [name: string, ...args: (string | number)[]];

/**
 * Sends commands whose keys may lie in different Cluster slots, all at once, and answers
 * `[error, reply]` per command as `pipeline().exec()` does. On a single Redis this is one
 * pipeline (one round trip, as before); on a Cluster a pipeline must stay within one node, so
 * each command goes on its own to its slot's primary, all of them in flight together.
 */
export async function sendAcrossSlots(redis: Redis, commands: RedisCommand[]): Promise<[Error | null, unknown][]> {
  if (commands.length === 0) return [];
  if (!isCluster(redis)) return ((await redis.pipeline(commands).exec()) ?? []) as [Error | null, unknown][];
  return Promise.all(
    commands.map(([name, ...args]) =>
      redis.call(name, ...args).then(
        (reply): [null, unknown] => [null, reply],
        (error: Error): [Error, null] => [error, null],
      ),
    ),
  );
}

/**
 * Every key matching `pattern` (a SCAN MATCH pattern of full keys, prefix included), on every
 * primary: `onKeys` gets each batch of full keys with the node client that holds them.
 */
export async function scanEveryPrimary(
  redis: Redis,
  pattern: string,
  onKeys: (keys: string[], node: Redis) => Promise<void>,
): Promise<void> {
  for (const node of primaries(redis)) {
    let cursor = '0';
    do {
      // A node client of a Cluster has no prefix; a single client's prefix applies to keys, not to MATCH.
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await onKeys(keys, node);
    } while (cursor !== '0');
  }
}

/**
 * Redis `WAIT replicas timeoutMs` on the connection that wrote `routingKey` (a key without the
 * prefix): on a single Redis the client's one connection; on a Cluster the connection to the
 * primary of the key's slot. WAIT names no key, so on its own a Cluster client would send it to
 * any node; piped behind an `EXISTS routingKey` it goes to that slot's primary (and follows a
 * MOVED with it), the node whose script wrote. Answers how many replicas acknowledged every
 * earlier write of that connection (at most `timeoutMs` later). While it waits, that connection
 * runs nothing else.
 */
export async function waitForReplicas(
  redis: Redis,
  routingKey: string,
  replicas: number,
  timeoutMs: number,
): Promise<number> {
  if (!isCluster(redis)) return redis.wait(replicas, timeoutMs);
  const replies = (await redis.pipeline().exists(routingKey).wait(replicas, timeoutMs).exec()) ?? [];
  const [error, acked] = replies[1] ?? [new Error('WAIT got no reply'), null];
  if (error) throw error;
  return acked as number;
}
