import type Redis from 'ioredis';

/** The message of ioredis' own command timeout, so callers see one error for both (see `unavailable.ts`). */
const TIMED_OUT = 'Command timed out';

interface ClientCommand {
  setTimeout: (ms: number) => void;
}

interface ClientPipeline {
  promise: Promise<unknown>;
  reject: (error: unknown) => void;
  exec: (...args: unknown[]) => unknown;
}

type Patched = {
  isCluster?: boolean;
  sendCommand: (command: ClientCommand, stream?: unknown, node?: unknown) => unknown;
  pipeline: (...args: unknown[]) => unknown;
  multi: (...args: unknown[]) => unknown;
};

/**
 * Makes every command, pipeline and transaction of a Cluster `client` settle within `timeoutMs` of being
 * called, whatever the client does with it meanwhile. ioredis' `commandTimeout` arms a command's
 * timer only when a node's connection takes it (`Redis#sendCommand`); a Cluster client keeps
 * commands in places no node's timer covers:
 * - its own offline queue (`Cluster#sendCommand`: `offlineQueue.push` when it is not `ready`, e.g.
 *   reconnecting after every node connection closed, or its slots refresh failing on every node),
 *   sent only once it is `ready` again, for ever if it never is;
 * - a pipeline between tries: after an error every command shares (`Connection is closed.`,
 *   `CLUSTERDOWN`, `TRYAGAIN`), `Pipeline#fillResult` re-sends it from `DelayQueue` once a slots
 *   refresh has called back, and until then none of its commands has a timer;
 * - a pipeline before the Cluster's first slot map (`Pipeline#exec`: `delayUntilReady`).
 * So a command's timer here starts when the client gets it (`Command#setTimeout` keeps the first
 * timer: the node's does not restart it), and a pipeline (or transaction) fails `timeoutMs` after
 * its `exec`, with ioredis' `Command timed out`, whatever its commands' state. A command that
 * failed so may still run later (as after any command timeout); a caller that tries again must
 * only send what is safe to send twice.
 */
export function boundCommands(client: Redis, timeoutMs: number): void {
  const target = client as unknown as Patched;
  // A single Redis client arms `commandTimeout` in `Redis#sendCommand` before it queues a command
  // offline, and sends a pipeline's commands through it: already bounded, no timer more per call.
  if (!target.isCluster) return;
  const send = target.sendCommand;
  target.sendCommand = function (this: unknown, command, stream, node) {
    command.setTimeout(timeoutMs);
    return send.call(this, command, stream, node);
  };
  for (const name of ['pipeline', 'multi'] as const) {
    const create = target[name];
    target[name] = function (this: unknown, ...args: unknown[]) {
      const made = create.apply(this, args);
      if (isPipeline(made)) boundPipeline(made, timeoutMs);
      return made;
    };
  }
}

function isPipeline(value: unknown): value is ClientPipeline {
  const pipeline = value as Partial<ClientPipeline> | null;
  return typeof pipeline?.reject === 'function' && typeof pipeline.exec === 'function' && !!pipeline.promise;
}

function boundPipeline(pipeline: ClientPipeline, timeoutMs: number): void {
  const exec = pipeline.exec;
  let armed = false;
  pipeline.exec = function (this: unknown, ...args: unknown[]) {
    // ioredis calls `exec` again for each retry of a Cluster pipeline: the deadline is the first call's.
    if (!armed) {
      armed = true;
      const timer = setTimeout(() => pipeline.reject(new Error(TIMED_OUT)), timeoutMs);
      const clear = () => clearTimeout(timer);
      pipeline.promise.then(clear, clear);
    }
    return exec.apply(this, args);
  };
}
