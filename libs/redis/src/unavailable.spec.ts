import Redis, { RedisOptions, ReplyError } from 'ioredis';
import ClusterAllFailedError from 'ioredis/built/errors/ClusterAllFailedError';
import MaxRetriesPerRequestError from 'ioredis/built/errors/MaxRetriesPerRequestError';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '@app/core';
import { freePort } from '@app/testing';
import { asStoreUnavailable, raiseStoreUnavailable, refusedForLackOfReplicas } from './unavailable';

/** A Node socket error as `net` raises it. */
function systemError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, syscall: 'connect' });
}

/** Errors ioredis raises (its own classes and messages) while Redis cannot answer now. */
const OUTAGES: [string, Error][] = [
  ['MaxRetriesPerRequestError', new MaxRetriesPerRequestError(2)],
  ['connection closed', new Error('Connection is closed.')],
  [
    'pipeline aborted by a closed connection',
    Object.assign(new Error('Command aborted due to connection close'), { name: 'AbortError' }),
  ],
  ['offline queue disabled', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
  ['Cluster offline queue disabled', new Error("Cluster isn't ready and enableOfflineQueue options is false")],
  ['command timeout', new Error('Command timed out')],
  ['socket timeout', new Error("Socket timeout. Expecting data, but didn't receive any in 5000ms.")],
  ['Cluster: slots cache', new ClusterAllFailedError('Failed to refresh slots cache.', new Error('x'))],
  ['Cluster: no startup node', new Error('None of startup nodes is available')],
  ['Cluster: disconnected', new Error('Cluster is disconnected.')],
  ['Cluster: node disconnected', new Error('Node is disconnected')],
  ['Cluster: redirections', new Error('Too many Cluster redirections. Last error: ReplyError: TRYAGAIN Multiple keys')],
  ['CLUSTERDOWN', new ReplyError('CLUSTERDOWN The cluster is down')],
  ['TRYAGAIN', new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot')],
  ['ASK left in a pipeline (a slot moving)', new ReplyError('ASK 4576 127.0.0.1:7001')],
  ['MOVED left in a pipeline (a slot moved)', new ReplyError('MOVED 4576 127.0.0.1:7001')],
  ['MASTERDOWN', new ReplyError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")],
  ['LOADING', new ReplyError('LOADING Redis is loading the dataset in memory')],
  ['READONLY (after a failover)', new ReplyError("READONLY You can't write against a read only replica.")],
  ['NOREPLICAS', new ReplyError('NOREPLICAS Not enough good replicas to write.')],
  ['BUSY (a long script)', new ReplyError('BUSY Redis is busy running a script. You can only call SCRIPT KILL.')],
  ['connection refused', systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6379')],
  ['connection reset', systemError('ECONNRESET', 'read ECONNRESET')],
  ['broken pipe', systemError('EPIPE', 'write EPIPE')],
];

/** Errors that are bugs or the caller's own state: they must stay as they are (a 500, or handled). */
const NOT_OUTAGES: [string, unknown][] = [
  ['a Lua script error', new ReplyError('ERR user_script:12: Script attempted to access nonexistent global variable')],
  ['a script error reply', new ReplyError('ERR Error running script (call to f_3a1b): @user_script:5: oops')],
  ['WRONGTYPE', new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
  ['NOSCRIPT (ioredis falls back to EVAL)', new ReplyError('NOSCRIPT No matching script. Please use EVAL.')],
  ['BUSYGROUP (the stream group exists)', new ReplyError('BUSYGROUP Consumer Group name already exists')],
  ['NOGROUP', new ReplyError('NOGROUP No such key or consumer group')],
  ['EXECABORT', new ReplyError('EXECABORT Transaction discarded because of previous errors.')],
  ['OOM', new ReplyError("OOM command not allowed when used memory > 'maxmemory'.")],
  ['unknown command', new ReplyError("ERR unknown command 'FOO'")],
  ['a cross-slot pipeline', new Error('All keys in the pipeline should belong to the same slots allocation group')],
  ['a plain Error that mentions a word', new Error('READONLY is a word in this message')],
  ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'x')")],
  ['not an Error', 'Connection is closed.'],
  ['undefined', undefined],
];

describe('asStoreUnavailable', () => {
  it.each(OUTAGES)('classifies %s as StoreUnavailableError, keeping the cause', (_name, error) => {
    const classified = asStoreUnavailable(error);
    expect(classified).toBeInstanceOf(StoreUnavailableError);
    expect(classified).toMatchObject({
      kind: 'unavailable',
      code: 'ServiceUnavailable',
      store: 'redis',
      cause: error,
      retryAfterSeconds: 1,
    });
    // The message goes to clients: nothing of the cause in it.
    expect((classified as Error).message).toBe('the service is temporarily unavailable; retry shortly');
  });

  it.each(NOT_OUTAGES)('leaves %s as it is', (_name, error) => {
    expect(asStoreUnavailable(error)).toBe(error);
  });

  it('passes an error classified already through unchanged', () => {
    const once = asStoreUnavailable(new Error('Connection is closed.'));
    expect(asStoreUnavailable(once)).toBe(once);
  });

  it('tells a refusal for lack of replicas, raw or classified', () => {
    const raw = new ReplyError('NOREPLICAS Not enough good replicas to write.');
    expect(refusedForLackOfReplicas(raw)).toBe(true);
    expect(refusedForLackOfReplicas(asStoreUnavailable(raw))).toBe(true);
    expect(refusedForLackOfReplicas(asStoreUnavailable(new Error('Connection is closed.')))).toBe(false);
    expect(refusedForLackOfReplicas(new ReplyError('WRONGTYPE x'))).toBe(false);
  });
});

describe('raiseStoreUnavailable on a client whose Redis is down (nothing listens on its port)', () => {
  const clients: Redis[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  /** A client as ioredis raises its real errors; `options` pick the failure. */
  async function downClient(options: RedisOptions): Promise<Redis> {
    const client = new Redis(await freePort(), '127.0.0.1', {
      retryStrategy: () => 10,
      lazyConnect: true,
      ...options,
    });
    client.on('error', () => undefined);
    raiseStoreUnavailable(client);
    clients.push(client);
    return client;
  }

  it('rejects a command with StoreUnavailableError caused by MaxRetriesPerRequestError', async () => {
    const client = await downClient({ maxRetriesPerRequest: 1 });
    const error = await client.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).cause).toMatchObject({ name: 'MaxRetriesPerRequestError' });
  });

  it('rejects with StoreUnavailableError when the offline queue is off', async () => {
    const client = await downClient({ enableOfflineQueue: false, lazyConnect: false });
    const error = await client.set('k', 'v').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(((error as StoreUnavailableError).cause as Error).message).toMatch(/^Stream isn't writeable/);
  });

  it('rejects a script call', async () => {
    const client = await downClient({ maxRetriesPerRequest: 0 });
    client.defineCommand('probe', { numberOfKeys: 1, lua: 'return 1' });
    const error = await (client as unknown as { probe(key: string): Promise<number> })
      .probe('k')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });

  it('rejects a command of a closed client', async () => {
    const client = await downClient({});
    client.disconnect();
    const error = await client.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(((error as StoreUnavailableError).cause as Error).message).toBe('Connection is closed.');
  });

  it('classifies every [error, reply] of a pipeline and of a transaction', async () => {
    const client = await downClient({ maxRetriesPerRequest: 0 });
    const replies = await client.pipeline().get('a').hgetall('b').exec();
    expect(replies).toHaveLength(2);
    for (const [error] of replies ?? []) expect(error).toBeInstanceOf(StoreUnavailableError);
    const transaction = await client
      .multi()
      .set('a', '1')
      .exec()
      .catch((e: unknown) => e);
    expect(transaction).toBeInstanceOf(StoreUnavailableError);
  });
});
