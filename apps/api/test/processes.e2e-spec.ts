import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  AppName,
  AppProcess,
  createTestEnv,
  destroyTestEnv,
  freePort,
  PROCESS_TEST_TIMEOUT_MS,
  TestEnv,
} from '@app/testing';

const STARTED: Record<AppName, string> = { api: 'api listening', batch: 'batch started', mailer: 'mailer started' };

describe('built apps as processes', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv({ PORT: '0' });
  });
  afterAll(async () => destroyTestEnv(env));

  // The signal arrives the moment each process says it started, while its RabbitMQ channels may
  // still be declaring the topology: nothing may be cut off unhandled, and the exit code is 0. Where
  // in its start a process is stopped varies from run to run; every point of it, deterministically,
  // is tested at the library level (libs/messaging/src/amqp.shutdown.int-spec.ts). Here: that each
  // built process hears both signals from the start and shuts down whole, once with each.
  // The two tests start processes of their own on the same env and read nothing of each other's:
  // they run at once (the refusal's start, ~1-30 s by the load, no longer comes after the six).
  it.concurrent(
    'every app starts on its own and exits 0 on SIGTERM, and on SIGTERM + SIGINT',
    async ({ expect }) => {
      const apps = ['api', 'batch', 'mailer'] as const;
      // Both rounds at once: six processes of their own, each stopped as it says it started.
      const results = await Promise.all(
        [false, true].flatMap((twoSignals, round) =>
          apps.map(async (app) => {
            const proc = new AppProcess(app, { ...env, PORT: String(await freePort()) });
            await proc.waitForLine(STARTED[app]);
            proc.kill('SIGTERM');
            if (twoSignals) proc.kill('SIGINT');
            const exit = await proc.exited;
            const log = proc.dump();
            // Two signals pending at once are delivered lowest number first: SIGINT may come before SIGTERM.
            const heard = twoSignals ? /(SIGTERM|SIGINT) received, shutting down/ : /SIGTERM received, shutting down/;
            const cleanly = heard.test(log) && log.includes('stopped cleanly');
            return { app, round, twoSignals, exit, cleanly, log };
          }),
        ),
      );
      expect(results.map(({ app, round }) => `${app} ${round}`)).toEqual([
        'api 0',
        'batch 0',
        'mailer 0',
        'api 1',
        'batch 1',
        'mailer 1',
      ]);
      for (const result of results) {
        expect({ ...result, log: undefined }, result.log).toEqual({
          app: result.app,
          round: result.round,
          twoSignals: result.round === 1,
          exit: { code: 0, signal: null },
          cleanly: true,
          log: undefined,
        });
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it.concurrent(
    'refuses to start with a bad variable and names it',
    async ({ expect }) => {
      const proc = new AppProcess('api', { ...env, PORT: 'eighty' });
      const exit = await proc.exited;
      expect(exit.code).toBe(1);
      expect(proc.dump()).toContain('PORT');
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
