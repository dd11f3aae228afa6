import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from './free-port';
import { waitUntil } from './wait-until';

/**
 * A redis-server of a test's own on 127.0.0.1 and a port from `freePort` (20000-31999), no
 * persistence, its files (a replica's full sync writes an RDB) in a temporary directory: one a
 * test may stop, or give replicas (`replicaOf`), without touching the shared Redis on 6379.
 * `stop()` it in afterAll; a test process that exits without it kills it on the way out.
 */
export class PrivateRedis {
  private readonly killOnExit = () => this.server.kill('SIGKILL');

  private constructor(
    private readonly server: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {
    process.once('exit', this.killOnExit);
  }

  /** `redis://127.0.0.1:<port>`, for REDIS_URL. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Starts a server and resolves once it answers PING; `replicaOf`: as a replica of that server
   * (resolves before it is in sync: see {@link waitForReplicas}); `port`: the port of a server
   * this test stopped, to start it again where its clients reconnect (else a free one).
   */
  static async start(options: { replicaOf?: PrivateRedis; port?: number } = {}): Promise<PrivateRedis> {
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'bo-private-redis-'));
    const replicaOf = options.replicaOf ? ['--replicaof', '127.0.0.1', String(options.replicaOf.port)] : [];
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    const server = spawn('redis-server', [...args, ...replicaOf], { stdio: 'ignore' });
    const redis = new PrivateRedis(server, dir, port);
    const exited = new Promise<never>((_, reject) =>
      server.once('exit', (code) => reject(new Error(`redis-server on ${port} exited (${code})`))),
    );
    exited.catch(() => undefined);
    try {
      await Promise.race([
        redis.withClient(async (client) =>
          waitUntil(async () => (await client.ping().catch(() => '')) === 'PONG', `redis-server on ${port}`),
        ),
        exited,
      ]);
    } catch (error) {
      await redis.stop();
      throw error;
    }
    return redis;
  }

  /** Resolves once this server, a primary, has `count` replicas online (INFO replication). */
  waitForReplicas(count: number): Promise<void> {
    return this.withClient((client) =>
      waitUntil(
        async () => ((await client.info('replication')).match(/^slave\d+:.*state=online/gm) ?? []).length >= count,
        `${count} replicas online on ${this.port}`,
      ),
    );
  }

  /** Kills the server (SIGKILL: nothing of it is kept) and removes its files. */
  async stop(): Promise<void> {
    process.off('exit', this.killOnExit);
    if (this.server.exitCode === null && this.server.signalCode === null) {
      const exited = new Promise((resolve) => this.server.once('exit', resolve));
      this.server.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** `work` with a plain client of this server (retrying while it does not listen yet), disconnected after. */
  private async withClient<T>(work: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis({ port: this.port, host: '127.0.0.1', retryStrategy: () => 50 });
    client.on('error', () => undefined);
    try {
      return await work(client);
    } finally {
      client.disconnect();
    }
  }
}
