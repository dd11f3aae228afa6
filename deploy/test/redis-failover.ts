import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { afterAll, expect, it } from 'vitest';
import { AppProcess, createTestEnv, destroyTestEnv, freePort, TestEnv, TestSmtpServer, waitUntil } from '@app/testing';
import { performanceKeys } from '@app/ticketing';
import { LocalRedisCluster, startRedisCluster } from '../../scripts/redis-cluster.mjs';
import { appStarter, DRILL_SETTINGS, pause } from './drill-support';

/**
 * The failover drill of issue #17: a scripted on-sale against built api, batch and mailer processes
 * on a local 3-primary, 3-replica Redis Cluster, purchases confirmed by a replica
 * (REDIS_WAIT_REPLICAS=1). Mid-sale the replica of the performance's slot lags (stopped until the
 * sale has answered purchases `503`, not confirmed), then the primary holding the slot is killed
 * (SIGKILL) and that replica promoted (CLUSTER FAILOVER TAKEOVER); the killed node comes back as the
 * new primary's replica, as an operator (or a supervisor) would bring it back. Afterwards: no seat
 * sold twice, every purchase answered 201 in PostgreSQL, at most one e-mail per purchase, and
 * Redis's seat state equal to what backs it, with every repair of the seat reconciler logged. The
 * figures (requests, 201s, 503s while the slot had no confirmed replica, time to recover, repairs)
 * are printed for docs/benchmarks.md. `npm test` runs a small sale (redis-failover.e2e-spec.ts,
 * project int-serial), `npm run drill` a larger one (redis-failover.drill-spec.ts). Needs a
 * current build (`npm run build`).
 */

/** How big the drill is; every phase ends on a count of answers, not after a time. */
export interface FailoverDrillScale {
  /** Buyers running at once. */
  buyers: number;
  /**
   * Seats of the performance on sale (whole rows of 100): enough that the sale is far from sold
   * out when it is checked to go on after the failover.
   */
  seats: number;
  /** Purchases answered `201` before the fault begins. */
  confirmedBefore: number;
  /**
   * Purchases answered `503` (not confirmed) while the replica is stopped, before its primary is
   * killed: sales that stand on the primary only, which the failover loses.
   */
  unconfirmedDuringLag: number;
  /** Purchases sent after the first one confirmed on the promoted primary and answered `201`. */
  confirmedAfterRecovery: number;
}

const ADMIN = { email: 'failover-admin@example.test', password: 'failover-admin-password' };
const PASSWORD = 'failover-buyer-password';

interface Answer {
  method: string;
  path: string;
  status: number;
  body: Record<string, unknown>;
  /** When the request was sent and when its answer came (epoch ms). */
  sentAt: number;
  at: number;
}

/** Whether process `pid` still exists (a signal 0 reaches it). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Declares the drill, at `scale`, as one test of the calling file. */
export function defineRedisFailoverDrill(scale: FailoverDrillScale): void {
  let env: TestEnv | undefined;
  let cluster: LocalRedisCluster | undefined;
  let smtp: TestSmtpServer | undefined;
  let revived: ChildProcess | undefined;
  const processes: AppProcess[] = [];
  let stopped = false;

  afterAll(async () => {
    stopped = true;
    for (const process of processes) process.kill('SIGKILL');
    await Promise.all(processes.map((process) => process.exited));
    if (revived && revived.exitCode === null) {
      const exited = new Promise((resolve) => revived!.once('exit', resolve));
      revived.kill('SIGKILL');
      await exited;
    }
    await cluster?.stop();
    await smtp?.stop();
    if (env) await destroyTestEnv(env);
  });

  it('keeps selling through the loss of the primary of the sale’s slot, and keeps every promise', async () => {
    const startedAt = Date.now();
    const ports: number[] = [];
    const busPorts: number[] = [];
    for (let i = 0; i < 6; i++) {
      ports.push(await freePort());
      busPorts.push(await freePort());
    }
    const dir = mkdtempSync(join(tmpdir(), 'bo-redis-failover-'));
    cluster = await startRedisCluster({ ports, busPorts, dir, replicas: 1 });
    smtp = await TestSmtpServer.create();
    env = await createTestEnv({
      REDIS_CLUSTER_NODES: cluster.nodes,
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '300',
      SMTP_URL: smtp.url,
      ...DRILL_SETTINGS,
      PURCHASE_FLUSH_AGE_SECONDS: '1',
      RESERVATION_TTL_SECONDS: '30',
      PAYMENT_RECONCILE_AFTER_SECONDS: '5',
      SEAT_RECONCILE_INTERVAL_SECONDS: '1',
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
    });
    const base = env;
    const start = appStarter(base, processes, 90_000);
    const apiPort = await freePort();
    // The api first: it creates the admin. batch and mailer start while the catalog and the buyers
    // are set up; the sale waits for them.
    const api = await start('api', { PORT: String(apiPort) });
    const others = Promise.all([start('batch'), start('mailer')]);
    const url = `http://127.0.0.1:${apiPort}/api/v1`;

    const call = async (
      method: string,
      path: string,
      options: { body?: object; token?: string; key?: string } = {},
    ): Promise<Answer> => {
      const headers: Record<string, string> = {};
      if (options.body) headers['content-type'] = 'application/json';
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (options.key) headers['idempotency-key'] = options.key;
      const sentAt = Date.now();
      try {
        const response = await fetch(`${url}${path}`, {
          method,
          headers,
          body: options.body ? JSON.stringify(options.body) : undefined,
          signal: AbortSignal.timeout(15_000),
        });
        const text = await response.text();
        const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        return { method, path, status: response.status, body, sentAt, at: Date.now() };
      } catch {
        // No answer (connection refused, timeout): counted apart from the statuses.
        return { method, path, status: 0, body: {}, sentAt, at: Date.now() };
      }
    };
    const login = async (email: string, password: string) => {
      const answer = await call('POST', '/auth/login', { body: { email, password } });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return String(answer.body.accessToken);
    };

    // The catalog and the buyers.
    const adminToken = await login(ADMIN.email, ADMIN.password);
    const event = await call('POST', '/events', { body: { title: 'Failover', venue: 'Hall' }, token: adminToken });
    expect(event.status).toBe(201);
    const created = await call('POST', `/events/${String(event.body.id)}/performances`, {
      token: adminToken,
      body: {
        startsAt: '2030-03-01T19:00:00Z',
        salesOpenAt: '2020-01-01T00:00:00Z',
        sections: [{ name: 'Floor', grade: 'A', price: 50, rows: Math.ceil(scale.seats / 100), seatsPerRow: 100 }],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const performanceId = Number(created.body.id);
    const seatIds: number[] = [];
    let cursor: unknown = null;
    do {
      const page = await call(
        'GET',
        `/performances/${performanceId}/seats?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seatIds.push(...(page.body.items as { id: number }[]).map((seat) => seat.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    const tokens = await Promise.all(
      Array.from({ length: scale.buyers }, async (_, index) => {
        const email = `failover-buyer-${index}@example.test`;
        const signup = await call('POST', '/auth/signup', { body: { email, password: PASSWORD, name: 'Buyer' } });
        expect(signup.status, JSON.stringify(signup.body)).toBe(201);
        return login(email, PASSWORD);
      }),
    );

    // The primary of the performance's slot and its replica.
    const keyOf = `${base.REDIS_KEY_PREFIX}${performanceKeys(performanceId).meta}`;
    const probe = new Redis({ port: ports[0], host: '127.0.0.1' });
    const slot = (await probe.cluster('KEYSLOT', keyOf)) as number;
    const range = (await probe.cluster('SLOTS')).find(([from, to]) => from <= slot && slot <= to)!;
    probe.disconnect();
    const primaryPort = range[2][1];
    const primary = new Redis({ port: primaryPort, host: '127.0.0.1' });
    const replicaPort = Number(/^slave0:.*port=(\d+)/m.exec(await primary.info('replication'))![1]);
    primary.disconnect();

    // The on-sale: each buyer holds one or two free seats and buys them with an Idempotency-Key,
    // retrying with the same key while the answer is a 5xx or none (a 503 is "not confirmed").
    const answers: Answer[] = [];
    const confirmed: { id: string; seatIds: number[] }[] = [];
    const sold = new Set<number>();
    const recorded = (answer: Answer) => {
      answers.push(answer);
      return answer;
    };
    const buyer = async (token: string) => {
      while (!stopped) {
        const free = seatIds.filter((seat) => !sold.has(seat));
        if (free.length === 0) return;
        const first = free[Math.floor(Math.random() * free.length)];
        const wanted = [...new Set([first, free[Math.floor(Math.random() * free.length)]])].slice(
          0,
          1 + Math.floor(Math.random() * 2),
        );
        const hold = recorded(await call('POST', '/reservations', { body: { performanceId, seatIds: wanted }, token }));
        if (hold.status !== 201) {
          await pause(hold.status === 409 ? 20 : 100);
          continue;
        }
        const key = randomUUID();
        let bought = recorded(await call('POST', '/purchases', { body: { reservationId: hold.body.id }, token, key }));
        const until = Date.now() + 30_000;
        while ((bought.status >= 500 || bought.status === 0) && Date.now() < until && !stopped) {
          await pause(250);
          bought = recorded(await call('POST', '/purchases', { body: { reservationId: hold.body.id }, token, key }));
        }
        if (bought.status === 201) {
          const seats = (bought.body.seatIds as number[]).map(Number);
          confirmed.push({ id: String(bought.body.id), seatIds: seats });
          for (const seat of seats) sold.add(seat);
        }
      }
    };
    const [batch] = await others;
    const loadStarted = Date.now();
    const load = Promise.all(tokens.map((token) => buyer(token)));
    const isPurchase = (a: Answer) => a.method === 'POST' && a.path === '/purchases';
    await waitUntil(
      () => confirmed.length >= scale.confirmedBefore,
      `${scale.confirmedBefore} purchases confirmed before the fault`,
      120_000,
    );

    // The fault. First the replica lags (stopped until purchases answered 503, not confirmed): those
    // sales stand on the primary, where the flusher leaves them pending (no replica has
    // them); holds made meanwhile are not on the replica either. Then the primary dies with them, its replica takes
    // over at once, and the dead node comes back (empty: no persistence in this cluster) as the new
    // primary's replica. What the lag lost is what the seat reconciler has to repair.
    const replicaPid = cluster.pids[ports.indexOf(replicaPort)];
    process.kill(replicaPid, 'SIGSTOP');
    const lagFrom = Date.now();
    await waitUntil(
      () =>
        answers.filter((a) => isPurchase(a) && a.status === 503 && a.sentAt >= lagFrom).length >=
        scale.unconfirmedDuringLag,
      `${scale.unconfirmedDuringLag} purchases not confirmed while the replica lags`,
      60_000,
    );
    const killedAt = Date.now();
    process.kill(cluster.pids[ports.indexOf(primaryPort)], 'SIGKILL');
    process.kill(replicaPid, 'SIGCONT');
    const replica = new Redis({ port: replicaPort, host: '127.0.0.1' });
    await waitUntil(async () => (await replica.ping().catch(() => '')) === 'PONG', 'the replica answering', 10_000);
    await replica.cluster('FAILOVER', 'TAKEOVER');
    await waitUntil(async () => ((await replica.role()) as string[])[0] === 'master', 'the replica promoted', 30_000);
    const promotedAt = Date.now();
    const index = ports.indexOf(primaryPort);
    const nodeDir = join(dir, String(primaryPort));
    // The killed process must be gone (its port and the lock on its nodes.conf released) before
    // the node starts again: a start that comes too early exits at once ("Address already in use",
    // nodes.conf locked), and the node would never come back.
    const killedPid = cluster.pids[index];
    await waitUntil(async () => !isAlive(killedPid), 'the killed primary gone', 10_000, 10);
    const revivedOutput: string[] = [];
    const revive = () => {
      const child = spawn(
        'redis-server',
        [
          ...['--port', String(primaryPort), '--bind', '127.0.0.1', '--protected-mode', 'no'],
          ...['--cluster-enabled', 'yes', '--cluster-port', String(busPorts[index])],
          ...['--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', '2000'],
          ...['--dir', nodeDir, '--save', '', '--daemonize', 'no', '--loglevel', 'warning', '--appendonly', 'no'],
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      for (const stream of [child.stdout, child.stderr]) {
        stream.on('data', (chunk: Buffer) => revivedOutput.push(...chunk.toString().split('\n').filter(Boolean)));
      }
      return child;
    };
    revived = revive();
    try {
      await waitUntil(
        async () => {
          // A start that failed (the port or nodes.conf still held a moment longer): once more.
          if (revived!.exitCode !== null) revived = revive();
          return /^slave0:.*state=online/m.test(await replica.info('replication'));
        },
        'the killed node back as the replica of the promoted one',
        60_000,
      );
    } catch (error) {
      console.log(`restarted node's output:\n${revivedOutput.join('\n')}`);
      throw error;
    }
    const replicaBackAt = Date.now();
    replica.disconnect();
    // Recovered: the first purchase sent once the killed slot has a replica again (seen after the
    // promotion) and confirmed (201) by a replica. Not the first after the promotion alone: a purchase in another shard's slot can
    // be confirmed while the revived node is still attaching, and the next one in this slot gets 503.
    const confirmedAfter = (from: number) => answers.find((a) => isPurchase(a) && a.status === 201 && a.sentAt > from);
    await waitUntil(
      async () => confirmedAfter(replicaBackAt) !== undefined,
      'a purchase confirmed after the failover',
      60_000,
    );
    const recoveredAt = confirmedAfter(replicaBackAt)!.at;
    const firstHoldAfter = answers.find((a) => a.path === '/reservations' && a.status === 201 && a.sentAt > promotedAt);
    // The sale goes on on the new primary.
    await waitUntil(
      () =>
        answers.filter((a) => isPurchase(a) && a.status === 201 && a.sentAt > recoveredAt).length >=
        scale.confirmedAfterRecovery,
      `${scale.confirmedAfterRecovery} purchases confirmed after the recovery`,
      120_000,
    );
    stopped = true;
    await load;
    const loadEnded = Date.now();
    // The cause of any 5xx, as the api logged it (with its stack), printed before the checks below.
    const errors = api.lines.filter((line) => line['log.level'] === 'error' || line.stderr);
    if (errors.length > 0) console.log(`api errors:\n${errors.map((line) => JSON.stringify(line)).join('\n')}`);

    // Everything confirmed reaches PostgreSQL, paid once, each seat in at most one active ticket.
    const db = new Client({ connectionString: base.DATABASE_URL });
    await db.connect();
    try {
      const ids = confirmed.map((purchase) => purchase.id);
      const paidOf = async () =>
        (
          await db.query<{ id: string }>(`SELECT id FROM purchases WHERE id = ANY($1::uuid[]) AND status = 'PAID'`, [
            ids,
          ])
        ).rows.map((row) => row.id);
      try {
        await waitUntil(
          async () => (await paidOf()).length === ids.length,
          'every purchase answered 201 in PostgreSQL',
          120_000,
        );
      } catch (error) {
        // What the report needs: which 201s are missing, and what `batch` said meanwhile.
        const paid = new Set(await paidOf());
        const missing = confirmed.filter((purchase) => !paid.has(purchase.id));
        const said = batch.lines.filter((line) => ['warn', 'error'].includes(String(line['log.level'])) || line.stderr);
        // Each live node's view of the slot: role, the flushers' pending entries, replication, the
        // clients of sales and replica waits and their last command.
        for (const port of ports) {
          const node = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
          try {
            await node.connect();
            const stream = `${base.REDIS_KEY_PREFIX}${performanceKeys(performanceId).purchaseStream}`;
            const role = ((await node.role()) as unknown[]).slice(0, 2);
            const view = {
              port,
              role,
              pending: await node.xpending(stream, 'flusher').catch((e: Error) => e.message),
              // The stream and its group where the slot lives: entries past last-delivered-id are
              // unread by any flusher; missing purchases without an entry were never on this node.
              stream:
                role[0] === 'master'
                  ? await node.call('XINFO', 'STREAM', stream).catch((e: Error) => e.message)
                  : undefined,
              groups:
                role[0] === 'master'
                  ? await node.call('XINFO', 'GROUPS', stream).catch((e: Error) => e.message)
                  : undefined,
              missingInStream:
                role[0] === 'master'
                  ? await node.xrange(stream, '-', '+').then(
                      (entries) =>
                        missing.map((purchase) => ({
                          id: purchase.id,
                          entry: entries.find(([, fields]) => fields.includes(purchase.id))?.[0] ?? null,
                        })),
                      (e: Error) => e.message,
                    )
                  : undefined,
              replication: (await node.info('replication'))
                .split('\r\n')
                .filter((l) => /^(slave0|master_repl_offset|role)/.test(l)),
              clients: String(await node.client('LIST'))
                .split('\n')
                .filter((l) => l.includes('name=boxoffice')),
            };
            console.log(`node ${JSON.stringify(view)}`);
          } catch (nodeError) {
            console.log(`node ${port}: ${String(nodeError)}`);
          } finally {
            node.disconnect();
          }
        }
        // When each missing purchase was answered, and what the flusher logged last.
        const answered = missing.map((purchase) => {
          const tries = answers.filter((a) => isPurchase(a) && a.body.id === purchase.id);
          return {
            id: purchase.id,
            answers: tries.map((a) => `${a.status} at ${a.sentAt - killedAt}..${a.at - killedAt} ms`),
          };
        });
        const flusherLines = batch.lines
          .filter((l) =>
            ['PurchaseFlusher', 'PurchaseFlushLoop'].includes(String((l.log as { logger?: string })?.logger)),
          )
          .slice(-20);
        console.log(
          `missing 201s: ${JSON.stringify(answered)}\nbatch warnings:\n${said.map((l) => JSON.stringify(l)).join('\n')}` +
            `\nlast flusher lines:\n${flusherLines.map((l) => JSON.stringify(l)).join('\n')}`,
        );
        throw error;
      }
      const tickets = (
        await db.query<{ seat_id: number; purchase_id: string }>(
          `SELECT seat_id, purchase_id FROM tickets WHERE performance_id = $1 AND status = 'ACTIVE'`,
          [performanceId],
        )
      ).rows;
      expect(new Set(tickets.map((t) => t.seat_id)).size).toBe(tickets.length);
      for (const purchase of confirmed) {
        expect(
          tickets
            .filter((t) => t.purchase_id === purchase.id)
            .map((t) => t.seat_id)
            .sort((a, b) => a - b),
        ).toEqual([...purchase.seatIds].sort((a, b) => a - b));
      }

      // Redis agrees with PostgreSQL once the reconciler has had its passes: sold seats are exactly
      // the active tickets, the counts match the letters.
      const redis = new Redis.Cluster([{ host: '127.0.0.1', port: replicaPort }], {
        keyPrefix: base.REDIS_KEY_PREFIX,
      });
      const keys = performanceKeys(performanceId);
      try {
        await waitUntil(
          async () => {
            const [letters, stream] = await Promise.all([redis.hgetall(keys.seats), redis.xlen(keys.purchaseStream)]);
            const soldInRedis = Object.keys(letters).filter((seat) => letters[seat] === 'S');
            const active = new Set(
              (
                await db.query<{ seat_id: number }>(
                  `SELECT seat_id FROM tickets WHERE performance_id = $1 AND status = 'ACTIVE'`,
                  [performanceId],
                )
              ).rows.map((row) => String(row.seat_id)),
            );
            return stream === 0 && soldInRedis.length === active.size && soldInRedis.every((seat) => active.has(seat));
          },
          'Redis sold seats equal to PostgreSQL active tickets',
          60_000,
        );
        const letters = Object.values(await redis.hgetall(keys.seats));
        const counts = await redis.hgetall(keys.counts);
        expect({ available: Number(counts.available), held: Number(counts.held), sold: Number(counts.sold) }).toEqual({
          available: letters.filter((l) => l === 'A').length,
          held: letters.filter((l) => l === 'H').length,
          sold: letters.filter((l) => l === 'S').length,
        });
      } finally {
        redis.disconnect();
      }

      // One e-mail per paid purchase, none twice.
      const paid = (
        await db.query<{ id: string }>(`SELECT id FROM purchases WHERE performance_id = $1 AND status = 'PAID'`, [
          performanceId,
        ])
      ).rows.map((row) => row.id);
      const mailsOf = (id: string) => smtp!.received.filter((email) => email.text.includes(id));
      await waitUntil(async () => paid.every((id) => mailsOf(id).length >= 1), 'an e-mail for every purchase', 120_000);
      for (const id of paid) expect(mailsOf(id), id).toHaveLength(1);

      // Every repair the seat reconciler made is logged with its kind.
      const repairs = batch.lines.filter(
        (line) => (line.boxoffice as { seat_repair?: unknown } | undefined)?.seat_repair,
      );
      for (const line of repairs) {
        expect(['sold_unbacked', 'held_without_hold', 'sold_restored']).toContain(
          (line.boxoffice as { seat_repair: { kind: string } }).seat_repair.kind,
        );
      }

      const window = answers.filter((a) => a.sentAt >= lagFrom && a.at < recoveredAt);
      const count = (list: Answer[], status: number) => list.filter((a) => a.status === status).length;
      const figures = {
        seats: scale.seats,
        buyers: scale.buyers,
        requests: answers.length,
        requestsPerSecond: Math.round(answers.length / ((loadEnded - loadStarted) / 1000)),
        purchaseRequests: answers.filter(isPurchase).length,
        purchases201: confirmed.length,
        answers503: count(answers, 503),
        noAnswer: count(answers, 0),
        otherFailures: answers
          .filter((a) => a.status === 0 || (a.status >= 500 && a.status !== 503))
          .map((a) => `${a.method} ${a.path} ${a.status} at ${a.sentAt - killedAt} ms`),
        windowRequests: window.length,
        window503: count(window, 503),
        window201: count(window, 201),
        window404: count(window, 404),
        window409: count(window, 409),
        setupMs: loadStarted - startedAt,
        saleMs: loadEnded - loadStarted,
        checksMs: Date.now() - loadEnded,
        lagMs: killedAt - lagFrom,
        promotedAfterMs: promotedAt - killedAt,
        firstHoldAfterMs: firstHoldAfter ? firstHoldAfter.at - killedAt : null,
        replicaBackAfterMs: replicaBackAt - killedAt,
        firstConfirmedPurchaseAfterMs: recoveredAt - killedAt,
        paidInPostgres: paid.length,
        emails: smtp.received.length,
        repairs: repairs.length,
        repairKinds: repairs.map((line) => (line.boxoffice as { seat_repair: { kind: string } }).seat_repair.kind),
      };
      console.log(`redis failover drill: ${JSON.stringify(figures)}`);
      // Failures only while the slot had no confirmed replica: none before the lag, none after recovery.
      const outside = answers.filter(
        (a) => (a.status === 0 || a.status >= 500) && (a.at < lagFrom || a.sentAt > recoveredAt),
      );
      expect(outside).toEqual([]);
      expect(confirmed.length).toBeGreaterThan(0);
      expect(answers.filter((a) => a.at > recoveredAt).map((a) => a.status)).toContain(201);
    } finally {
      await db.end();
    }
  }, 600_000);
}
