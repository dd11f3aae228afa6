import http from 'node:http';
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
import { API_SERVER_PARAMETERS } from '../nginx/render.mjs';
import { LocalNginx } from './nginx';

interface Answer {
  status: number;
  upstream: string;
}

/**
 * A POST Nginx must never resend once a replica got it: unauthenticated, so the api answers it at
 * once with its own 401, from whichever replica gets it. A connection of its own each (as many
 * buyers' browsers): an old Nginx worker closing a kept-alive client connection during the reload
 * is not what is tested.
 */
function post(port: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/reservations',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, upstream: String(response.headers['x-upstream'] ?? '') }),
        );
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify({ performanceId: 1, seatIds: [1] }));
  });
}

// A rolling restart (ops trial 2026-12-07, O1; README "Rolling upgrade"): the replica is taken out
// of Nginx's rotation (`down`, reload), then stopped with SIGTERM while POSTs flow. It finishes what
// Nginx's old workers still send it, drains their kept-alive connections, and exits 0; no buyer sees
// a 502. Stopped without the reload, a connection Nginx opened in the instant before the replica
// closed its listening socket (still in the kernel's accept queue) is reset, and Nginx does not
// resend a POST on it: the residual the README's procedure avoids.
describe('a replica taken out of rotation and stopped with SIGTERM behind Nginx while POSTs flow', () => {
  let env: TestEnv;
  let ports: number[];
  let replicas: AppProcess[];
  let nginx: LocalNginx;

  beforeAll(async () => {
    env = await createTestEnv();
    ports = [await freePort(), await freePort()];
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
      const stoppedUpstream = `127.0.0.1:${ports[0]}`;
      let exited = false;
      const answers: Answer[] = [];
      const traffic = Promise.all(
        Array.from({ length: 24 }, async () => {
          while (!exited) answers.push(await post(nginx.port));
        }),
      );
      await waitUntil(
        () => new Set(answers.map((answer) => answer.upstream)).size === 2,
        'both replicas answering',
        60_000,
        20,
      );
      const server = `server ${stoppedUpstream} ${API_SERVER_PARAMETERS};`;
      nginx.reload((config) => {
        if (!config.includes(server)) throw new Error(`no "${server}" in the rendered configuration`);
        return config.replace(server, `server ${stoppedUpstream} ${API_SERVER_PARAMETERS} down;`);
      });
      // The new workers took the configuration once 50 answers in a row came from the other replica.
      await waitUntil(
        () => answers.length >= 50 && answers.slice(-50).every((answer) => answer.upstream !== stoppedUpstream),
        'the reloaded Nginx sending nothing more to the replica',
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
