import Redis, { Cluster, Command } from 'ioredis';
import { StoreUnavailableError } from '@app/core';

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
  const [, acked] = await sendThenWaitForReplicas(redis, ['exists', routingKey], replicas, timeoutMs);
  return acked;
}

/**
 * Sends `command` (its first argument a key without the prefix) and right behind it, in one
 * pipeline on the same connection, `WAIT replicas timeoutMs`: on a Cluster both go to the primary
 * of the key's slot, so WAIT runs on the node that ran the command. Answers `[the command's reply,
 * how many replicas acknowledged]`. WAIT counts up to the connection's last write that Redis
 * propagated to its replicas (from Redis 7.2 on, a command that propagated nothing leaves that
 * mark where it was, even on a fresh connection); when `command` is such a write, the count
 * covers everything the node held when it ran. On a Cluster, a slot that moved (MOVED) is
 * followed, at most twice; a slot whose keys are moving (ASK) is not. Throws the command's or
 * WAIT's error: a redirection not followed, and one still met after two, as a
 * `StoreUnavailableError` (`./unavailable.ts`). While it waits, that connection runs nothing else.
 */
export async function sendThenWaitForReplicas(
  redis: Redis,
  command: RedisCommand,
  replicas: number,
  timeoutMs: number,
): Promise<[reply: unknown, acked: number]> {
  for (let attempt = 1; ; attempt++) {
    const replies = (await redis.pipeline([command, ['wait', replicas, timeoutMs]]).exec()) ?? [];
    const [commandError, reply] = replies[0] ?? [new Error(`${command[0]} got no reply`), null];
    // An ASK (the slot's keys moving to another primary, `redis-cli --cluster reshard`) is not
    // followed: WAIT would count the writes of this connection to the source, not of the node
    // that holds the key now. It fails as Redis unavailable (a StoreUnavailableError, as below);
    // the caller's retry runs once the slot has moved.
    if (
      commandError &&
      isCluster(redis) &&
      redirection(commandError) === 'MOVED' &&
      attempt < MAX_PIPELINE_REDIRECTIONS
    ) {
      // A Cluster client follows a redirection in a pipeline only when every reply is that same
      // error; WAIT answers on the node it reached (or fails otherwise), so the MOVED comes back
      // unfollowed and the client's slot map stays as it was, for every later pipeline too (a
      // client that sends nothing else, as the flusher's waits, would never learn the failover).
      // A plain command to the key follows it and corrects the map.
      await redis.exists(String(command[1]));
      continue;
    }
    if (commandError) throw commandError;
    const [waitError, acked] = replies[1] ?? [new Error('WAIT got no reply'), null];
    if (waitError) throw waitError;
    return [reply, acked as number];
  }
}

/**
 * `host:port` of the node a command on `key` (without the prefix) goes to: a single Redis's own
 * address, or the primary of the key's slot in a Cluster client's slot map (`unknown` before the
 * client has one). Asks no server. Right after `sendThenWaitForReplicas` it names the node that
 * pipeline ran on (it leaves a slot that moved corrected in the map), unless the map changed in between.
 */
export function nodeOf(redis: Redis, key: string): string {
  if (!isCluster(redis)) return `${redis.options.host}:${redis.options.port}`;
  const slot = new Command('exists', [`${redis.options.keyPrefix ?? ''}${key}`]).getSlot();
  return (redis as unknown as Cluster).slots[slot]?.[0] ?? 'unknown';
}

/** Tries of `sendThenWaitForReplicas` on a Cluster whose slot moved (a failover), the first included. */
const MAX_PIPELINE_REDIRECTIONS = 3;

/** `MOVED` or `ASK` when `error` (or the Redis reply behind a StoreUnavailableError) is that redirection. */
function redirection(error: Error): 'MOVED' | 'ASK' | undefined {
  const reply = error instanceof StoreUnavailableError && error.cause instanceof Error ? error.cause : error;
  const word = reply.message.split(' ', 1)[0];
  return word === 'MOVED' || word === 'ASK' ? word : undefined;
}
