import type Redis from 'ioredis';
import { StoreUnavailableError, UNREACHABLE_SOCKET_CODES } from '@app/core';

/**
 * Replies of a Redis server that cannot serve now but will soon, by their first word: a Cluster
 * without all slots covered or failing over (`CLUSTERDOWN`, `TRYAGAIN`, `MASTERDOWN`), a server
 * loading its data set after a restart (`LOADING`), a former primary now a replica (`READONLY`,
 * after a failover), a primary refusing writes for lack of replicas (`NOREPLICAS`,
 * `min-replicas-to-write`), a server blocked by a long script (`BUSY`; not `BUSYGROUP`, which is
 * a stream group that exists), and a Cluster slot moving or moved (`ASK`, `MOVED`) that reaches the
 * caller: ioredis follows both for a single command and for a pipeline whose every reply is that
 * redirection, but hands them back in a pipeline where another command answered (a command and
 * `WAIT`, a read and `TIME`) while `redis-cli --cluster reshard` moves the slot's keys or after.
 */
const TRANSIENT_REPLIES = new Set([
  'CLUSTERDOWN',
  'TRYAGAIN',
  'ASK',
  'MOVED',
  'MASTERDOWN',
  'LOADING',
  'READONLY',
  'NOREPLICAS',
  'BUSY',
]);

/**
 * ioredis' own errors for a connection that is down, by exact message or its start. A pipeline's
 * commands still unanswered when their connection closes (a node killed under a purchase's
 * `WAIT`) are rejected with an `AbortError`: whether they ran is unknown, as for a reset socket.
 */
const CLIENT_MESSAGES = [
  'Connection is closed.',
  'Command timed out',
  'Node is disconnected',
  'Command aborted due to connection close',
];
const CLIENT_MESSAGE_STARTS = [
  "Stream isn't writeable", // enableOfflineQueue: false, connection down
  "Cluster isn't ready", // the same for a Cluster
  'Cluster is disconnect', // "...ed." / "...ing."
  'None of startup nodes is available',
  'Failed to refresh slots cache',
  'Too many Cluster redirections', // slots kept moving: a failover in progress
  'Socket timeout',
  'connect ETIMEDOUT',
];
/** ioredis' error classes that only ever mean the server could not be reached. */
const CLIENT_ERROR_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError']);

/**
 * `error` as the domain sees it: a `StoreUnavailableError` (store `"redis"`, the original as
 * `cause`) when it says Redis cannot answer now (unreachable, reconnecting, failing over, loading,
 * refusing writes, a command timed out), else `error` itself, unchanged: a script's own error, a
 * `WRONGTYPE`, a `NOSCRIPT` ioredis handles, anything else is a bug, not an outage. Already
 * classified errors pass through as they are.
 */
export function asStoreUnavailable(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || !(error instanceof Error)) return error;
  return isUnavailable(error) ? new StoreUnavailableError('redis', error) : error;
}

function isUnavailable(error: Error): boolean {
  if (CLIENT_ERROR_NAMES.has(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNREACHABLE_SOCKET_CODES.has(code)) return true;
  const message = error.message;
  if (CLIENT_MESSAGES.includes(message) || CLIENT_MESSAGE_STARTS.some((start) => message.startsWith(start))) {
    return true;
  }
  // A server's error reply: ioredis' ReplyError, the message opening with the error's word.
  return error.name === 'ReplyError' && TRANSIENT_REPLIES.has(message.split(' ', 1)[0]);
}

/**
 * True when Redis refused a write because too few replicas are connected (`NOREPLICAS`,
 * `min-replicas-to-write`), before or after `asStoreUnavailable`: nothing was written.
 */
export function refusedForLackOfReplicas(error: unknown): boolean {
  const cause = error instanceof StoreUnavailableError ? error.cause : error;
  return cause instanceof Error && cause.message.startsWith('NOREPLICAS');
}

const CLASSIFIED = Symbol('boxoffice.storeUnavailable');

interface ClientCommand {
  reject: (error: unknown) => void;
  [CLASSIFIED]?: true;
}

interface ClientPipeline {
  resolve: (results: [unknown, unknown][]) => void;
  reject: (error: unknown) => void;
  exec: unknown;
}

type Patched = {
  sendCommand: (command: ClientCommand, stream?: { isPipeline?: boolean }, node?: unknown) => unknown;
  pipeline: (...args: unknown[]) => unknown;
  multi: (...args: unknown[]) => unknown;
};

/**
 * Makes every command, script call, pipeline and transaction of `client` (a Redis or a Cluster
 * client) fail with `StoreUnavailableError` where `asStoreUnavailable` says so, so the stores and
 * services above see the domain's error, not ioredis' (the HTTP edge answers 503 with
 * Retry-After). One place instead of a catch at each of the stores' calls.
 *
 * It replaces the rejection of each command as it is first sent, before a Cluster client wraps it
 * with its own retries: the Cluster still sees `TRYAGAIN`, `CLUSTERDOWN` or `MOVED` and retries
 * first; only the final error is classified. Commands of a pipeline are left alone (a Cluster
 * pipeline retries on their raw errors too); the pipeline's result is classified, each `[error,
 * reply]` pair and its rejection alike, and a transaction's `EXECABORT` when every command it
 * queued failed so (on a Cluster: redirected while a slot moves). The promises handed out stay those
 * of ioredis, so nothing
 * ever rejects unobserved. (One path is left as ioredis raises it: a transaction, `multi()`, on a
 * Cluster client that never got its slot map rejects with ioredis' error from its own promise;
 * wrapping that promise would leave ioredis' internal retries of `exec` unobserved.)
 */
export function raiseStoreUnavailable(client: Redis): void {
  const target = client as unknown as Patched;
  const send = target.sendCommand;
  target.sendCommand = function (this: unknown, command, stream, node) {
    // A command sent again (offline queue, Cluster retry) is classified already.
    if (!command[CLASSIFIED] && !stream?.isPipeline) {
      command[CLASSIFIED] = true;
      const reject = command.reject;
      command.reject = (error) => reject(asStoreUnavailable(error));
    }
    return send.call(this, command, stream, node);
  };
  for (const name of ['pipeline', 'multi'] as const) {
    const create = target[name];
    target[name] = function (this: unknown, ...args: unknown[]) {
      const made = create.apply(this, args);
      if (isPipeline(made)) classifyPipeline(made);
      return made;
    };
  }
}

function isExecAbort(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('EXECABORT');
}

function isPipeline(value: unknown): value is ClientPipeline {
  const pipeline = value as Partial<ClientPipeline> | null;
  return typeof pipeline?.resolve === 'function' && typeof pipeline.reject === 'function' && !!pipeline.exec;
}

function classifyPipeline(pipeline: ClientPipeline): void {
  const { resolve, reject } = pipeline;
  pipeline.resolve = (results) => {
    const classified = results.map(([error, reply]): [unknown, unknown] =>
      error ? [asStoreUnavailable(error), reply] : [error, reply],
    );
    // A transaction whose queued commands Redis refused for an outage (on a Cluster: ASK or MOVED
    // while a slot moves) ends `EXECABORT`: that EXEC failed for the same reason, not for a bug.
    const queuedErrors = classified.map(([error]) => error).filter((error) => error && !isExecAbort(error));
    const outage = queuedErrors.length > 0 && queuedErrors.every((error) => error instanceof StoreUnavailableError);
    resolve(
      classified.map(([error, reply]) =>
        outage && isExecAbort(error) ? [new StoreUnavailableError('redis', error), reply] : [error, reply],
      ),
    );
  };
  pipeline.reject = (error) => reject(asStoreUnavailable(error));
}
