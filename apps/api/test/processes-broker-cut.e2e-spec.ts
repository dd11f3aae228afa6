import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  amqpMethodsIn,
  AppName,
  AppProcess,
  createTestEnv,
  destroyTestEnv,
  freePort,
  PROCESS_TEST_TIMEOUT_MS,
  RABBITMQ_URL,
  READY_LINES,
  TcpProxy,
  TestEnv,
} from '@app/testing';

/**
 * From the cut to the exit, at most (ms): the shutdown's broker steps end when the connection
 * drops, and the rest (PostgreSQL, Redis, the logs) takes well under a second on a quiet machine.
 * Well below the 15 s after which a process gives up and exits 1, which is what a shutdown
 * waiting for a reconnection came to.
 */
const EXIT_AFTER_CUT_MS = 8000;

/** AMQP 0-9-1 class and method ids of Channel.Close (20, 40) and Connection.Close (10, 50). */
const CLOSES = new Set(['20.40', '10.50']);

/** Whether `chunk` (whole frames, as a client writes them) holds a channel's or the connection's close. */
function sendsClose(chunk: Buffer): boolean {
  return amqpMethodsIn(chunk).some((method) => CLOSES.has(method));
}

/**
 * The SRE trial's drop: SIGTERM, and the broker connection cut while the process closes its
 * channels (the trial cut it 10 ms after the signal; here the proxy cuts the moment the process
 * sends its first close, so the cut lands in the window every run). amqplib settles a close only on
 * the broker's close-ok, and the connection manager reconnects meanwhile: the shutdown waited for
 * that until its 15 s bound, then exited 1. Each process reaches RabbitMQ through a proxy of its
 * own, so the cut is its alone; the proxy refuses new connections from then on. Every step of a
 * shutdown, cut in turn, is tested at the library level (libs/messaging/src/amqp.shutdown.int-spec.ts).
 */
describe('built apps stopped while the broker connection drops', () => {
  let env: TestEnv;
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.cut()));
    await destroyTestEnv(env);
  });

  it.concurrent(
    'each app exits 0 within seconds when the broker connection drops as it closes its first channel',
    async ({ expect }) => {
      const apps: AppName[] = ['mailer', 'api', 'batch'];
      const results = await Promise.all(
        apps.map(async (app) => {
          const proxy = await TcpProxy.create(Number(new URL(RABBITMQ_URL).port));
          proxies.push(proxy);
          const proc = new AppProcess(app, {
            ...env,
            PORT: String(await freePort()),
            RABBITMQ_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
          });
          await proc.waitForLine(READY_LINES[app]);
          await proc.waitForLine('rabbitmq connected');
          const cut = proxy.cutWhenClientSends(sendsClose);
          proc.kill('SIGTERM');
          const cutInTime = await Promise.race([cut.then(() => true), proc.exited.then(() => false)]);
          const cutAt = Date.now();
          const exit = await Promise.race([proc.exited, delay(EXIT_AFTER_CUT_MS, 'still running' as const)]);
          const inTime = Date.now() - cutAt < EXIT_AFTER_CUT_MS;
          await proc.forceStop();
          const log = proc.dump();
          return { app, cutInTime, exit, inTime, cleanly: log.includes('stopped cleanly'), log };
        }),
      );
      const logs = results.map(({ app, log }) => `--- ${app}\n${log}`).join('\n');
      expect(
        results.map(({ app, cutInTime, exit, inTime, cleanly }) => ({ app, cutInTime, exit, inTime, cleanly })),
        logs,
      ).toEqual(
        apps.map((app) => ({ app, cutInTime: true, exit: { code: 0, signal: null }, inTime: true, cleanly: true })),
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
