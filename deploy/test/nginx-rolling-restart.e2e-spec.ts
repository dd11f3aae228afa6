import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppProcess,
  createTestEnv,
  destroyTestEnv,
  freePort,
  PROCESS_TEST_TIMEOUT_MS,
  TestEnv,
  waitUntil,
} from '@app/testing';
import { LocalNginx } from './nginx';

interface Answer {
  status: number;
  upstream: string;
  body: string;
}

/**
 * A POST Nginx must never resend once a replica got it: unauthenticated, so the api answers it at
 * once with its own 401, from whichever replica gets it.
 */
async function post(url: string): Promise<Answer> {
  const response = await fetch(`${url}/api/v1/reservations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ performanceId: 1, seatIds: [1] }),
  });
  return { status: response.status, upstream: response.headers.get('x-upstream') ?? '', body: await response.text() };
}

// A rolling restart (ops trial 2026-12-07, O1): the replica being stopped with SIGTERM used to
// drop the kept-alive connections it took for idle at once, also those Nginx had just sent a
// request on that the busy process had not read yet: the connection was reset, Nginx may not
// resend a POST it sent, and the buyer got 502 "No api replica could be reached".
describe('a replica stopped with SIGTERM behind Nginx while POSTs flow', () => {
  let env: TestEnv;
  let replicas: AppProcess[];
  let nginx: LocalNginx;

  beforeAll(async () => {
    env = await createTestEnv();
    const ports = [await freePort(), await freePort()];
    replicas = ports.map((port) => new AppProcess('api', { ...env, PORT: String(port) }));
    await Promise.all(replicas.map((replica) => replica.waitForLine('api listening')));
    nginx = await LocalNginx.start(ports, { upstreamHeader: true });
  }, PROCESS_TEST_TIMEOUT_MS);

  afterAll(async () => {
    await nginx?.stop();
    for (const replica of replicas ?? []) replica.kill('SIGKILL');
    await destroyTestEnv(env);
  });

  it(
    'every POST is answered by an api (401 here), none 502 or 503, and the replica exits 0',
    async () => {
      const [stopped] = replicas;
      let exited = false;
      const answers: Answer[] = [];
      const traffic = Promise.all(
        Array.from({ length: 24 }, async () => {
          while (!exited) answers.push(await post(nginx.url));
        }),
      );
      // Both replicas hold kept-alive connections from Nginx before the stop.
      await waitUntil(
        () => new Set(answers.map((answer) => answer.upstream)).size === 2,
        'both replicas answering',
        60_000,
        20,
      );
      stopped.kill('SIGTERM');
      const exit = await stopped.exited;
      exited = true;
      await traffic;

      expect(answers.filter((answer) => answer.status !== 401)).toEqual([]);
      expect(exit).toEqual({ code: 0, signal: null });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
