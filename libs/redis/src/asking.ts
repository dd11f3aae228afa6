import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';

const HANDLED = Symbol('boxoffice.askingHandled');

type NodeClient = Redis & { [HANDLED]?: true };

/**
 * Gives a handler to the `ASKING` a Cluster client sends before a command an `ASK` redirected
 * (`Cluster#sendCommand` in ioredis 5 calls `redis.asking()` and drops its promise). When that
 * node's connection closes before it answers, the promise rejects "Connection is closed." with no
 * handler: an unhandled rejection, which ends a Node process. It happens in a reshard to a node
 * that holds no slot yet (`redis-cli --cluster add-node`, then `reshard`): CLUSTER SLOTS does not
 * list such a node, so the client's next slot refresh closes the connection the ASK opened. The
 * command behind ASKING fails on the same connection and is retried (or answered) by the client;
 * ASKING's own failure says nothing more, so it is dropped. Applies to every node's client, those
 * the client opens later included.
 */
export function handleAskingReplies(cluster: Cluster): void {
  for (const node of cluster.nodes()) handleAsking(node);
  cluster.on('+node', (node: Redis) => handleAsking(node));
}

function handleAsking(node: NodeClient): void {
  if (node[HANDLED]) return;
  node[HANDLED] = true;
  const asking = node.asking.bind(node);
  node.asking = ((...args: Parameters<Redis['asking']>) => {
    const reply = asking(...args);
    reply.catch(() => undefined);
    return reply;
  }) as Redis['asking'];
}
