import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { Env } from '@app/config';
import { isCluster, primaries } from './cluster';

/** How often (ms) the watch asks the primaries for their replicas between readiness checks. */
export const REPLICA_WATCH_PERIOD_MS = 10_000;

/**
 * Why REDIS_WAIT_REPLICAS cannot be met now: `reason` names the setting and the replica counts,
 * no address (readiness answers it to whoever asks); `detail` names the primaries too (the log).
 */
export interface ReplicaShortfall {
  reason: string;
  detail: string;
}

/**
 * Whether every primary (the one Redis of REDIS_URL, or each primary of a Cluster in the client's
 * slot map) has at least `wanted` connected replicas (`connected_slaves` of `INFO replication`, as
 * the primary counts them): null when each has, else why not. A purchase's `WAIT` for `wanted`
 * replicas cannot succeed on a primary with fewer, so every sale there answers 503. Rejects with
 * the client's error when a primary does not answer, or when a Cluster client knows no primary yet.
 */
export async function replicaShortfall(redis: Redis, wanted: number): Promise<ReplicaShortfall | null> {
  if (wanted === 0) return null;
  const nodes = primaries(redis);
  // A Cluster client without its slot map yet knows no primary: nothing is known, not "enough".
  if (nodes.length === 0) throw new Error('no Redis primary known yet');
  const counts = await Promise.all(nodes.map(async (node) => connectedReplicas(await node.info('replication'))));
  const short = nodes
    .map((node, index) => ({ node: `${node.options.host ?? '?'}:${node.options.port ?? '?'}`, count: counts[index] }))
    .filter(({ count }) => count < wanted);
  if (short.length === 0) return null;
  const setting = `REDIS_WAIT_REPLICAS=${wanted}`;
  if (!isCluster(redis)) {
    const has = `the primary has ${replicas(short[0].count)}`;
    return { reason: `${setting} but ${has}`, detail: `${setting} but ${has} (${short[0].node})` };
  }
  const verb = short.length === 1 ? 'has' : 'have';
  return {
    reason: `${setting} but ${short.length} of ${nodes.length} primaries ${verb} fewer connected replicas (${short.map(({ count }) => count).join(', ')})`,
    detail: `${setting} but ${short.map(({ node, count }) => `primary ${node} has ${replicas(count)}`).join(', ')}`,
  };
}

function replicas(count: number): string {
  return `${count} connected ${count === 1 ? 'replica' : 'replicas'}`;
}

/** `connected_slaves` of an `INFO replication` reply (0 when absent, as on a replica). */
function connectedReplicas(info: string): number {
  const match = /^connected_slaves:(\d+)/m.exec(info);
  return match ? Number(match[1]) : 0;
}

/**
 * Keeps an eye on REDIS_WAIT_REPLICAS against the replicas the primaries have (replicaShortfall),
 * in api and batch: a setting the deployment cannot meet (a single Redis without a replica, a
 * replica gone) does not stop the process, since replicas may connect after it started, but is
 * logged as a warning at start and whenever it changes (and once at `log` level when it is met
 * again), and readiness reports Redis down with the reason (`check`). Idle with
 * REDIS_WAIT_REPLICAS=0. Between readiness checks it asks every REPLICA_WATCH_PERIOD_MS.
 */
@Injectable()
export class ReplicaWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');
  /** The last answer: undefined before the first, null while the replicas suffice. */
  private last: ReplicaShortfall | null | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly env: Env,
    @Inject(Redis) private readonly redis: Redis,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.env.REDIS_WAIT_REPLICAS === 0) return;
    await this.check().catch((error: Error) => this.couldNotCheck(error));
    this.timer = setInterval(
      () => void this.check().catch((error: Error) => this.couldNotCheck(error)),
      REPLICA_WATCH_PERIOD_MS,
    );
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * Asks the primaries now (replicaShortfall); answers the reason (no address) when
   * REDIS_WAIT_REPLICAS cannot be met, else null. Logs when the answer changed. Rejects with the
   * client's error when Redis does not answer (readiness reports that on its own).
   */
  async check(): Promise<string | null> {
    if (this.env.REDIS_WAIT_REPLICAS === 0) return null;
    const shortfall = await replicaShortfall(this.redis, this.env.REDIS_WAIT_REPLICAS);
    const before = this.last;
    this.last = shortfall;
    if (shortfall && shortfall.detail !== before?.detail) {
      this.logger.warn(
        `${shortfall.detail}: every purchase answers 503 until enough replicas connect (or set REDIS_WAIT_REPLICAS lower)`,
      );
    } else if (!shortfall && before !== null) {
      this.logger.log(
        `REDIS_WAIT_REPLICAS=${this.env.REDIS_WAIT_REPLICAS}: every primary has enough connected replicas`,
      );
    }
    return shortfall?.reason ?? null;
  }

  private couldNotCheck(error: Error): void {
    this.logger.debug(`replicas of REDIS_WAIT_REPLICAS not checked: ${error.message}`);
  }
}
