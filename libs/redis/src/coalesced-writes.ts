import type { Writable } from 'node:stream';
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';

const COALESCED = Symbol('boxoffice.coalescedWrites');

type CoalescedStream = Writable & { [COALESCED]?: true };

/**
 * Makes every command a client sends during one event-loop turn leave in one `write(2)`: the
 * first write of a turn corks the connection's socket and a `setImmediate` uncorks it once the
 * turn's I/O callbacks (every request that arrived in it) have run, so Node hands the buffered
 * commands to the kernel together (`writev`). ioredis writes each command on its own otherwise
 * (one syscall per command, ~12 % of the api's busy time under load in the profile of
 * docs/performance.md); its `enableAutoPipelining` only groups commands of one synchronous run,
 * which is one request. Order is kept (cork buffers in order) and so is every reply's matching;
 * the delay is the rest of the current turn, microseconds. `end()` uncorks, so `quit()` still
 * sends QUIT at once.
 *
 * Applies to each connection as it connects (a reconnect brings a new socket); on a Cluster, to
 * every node's connection.
 */
export function coalesceWrites(client: Redis | Cluster): void {
  if (isClusterClient(client)) {
    for (const node of client.nodes()) coalesceWrites(node);
    client.on('+node', (node: Redis) => coalesceWrites(node));
    return;
  }
  const patch = () => coalesceStream(client.stream as unknown as CoalescedStream);
  if (client.stream) patch();
  client.on('connect', patch);
}

function coalesceStream(stream: CoalescedStream | undefined): void {
  if (!stream || stream[COALESCED]) return;
  stream[COALESCED] = true;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((...args: unknown[]) => {
    if (!corked && !stream.destroyed) {
      corked = true;
      stream.cork();
      setImmediate(uncork);
    }
    return write(...args);
  }) as Writable['write'];
}

function isClusterClient(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}
