import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppName, AppProcess, createTestEnv, destroyTestEnv, freePort, TestEnv } from '@app/testing';

const STARTED: Record<AppName, string> = { api: 'api listening', batch: 'batch started', mailer: 'mailer started' };

/** Series each process serves on its METRICS_PORT, beyond the default process metrics. */
const SERIES: Record<AppName, RegExp[]> = {
  api: [/^http_request_duration_seconds_bucket\{/m],
  batch: [
    /^boxoffice_purchases_flushed_total \d+$/m,
    /^boxoffice_purchase_flush_failures_total \d+$/m,
    /^boxoffice_purchase_flush_unreplicated_total 0$/m,
    /^boxoffice_purchase_flush_lag_seconds_bucket\{le="1"\} \d+$/m,
    /^boxoffice_outbox_published_total \d+$/m,
    /^boxoffice_outbox_backlog 0$/m,
    /^boxoffice_queue_admitted_total 0$/m,
    /^boxoffice_queue_eta_error_seconds_count 0$/m,
    /^# TYPE boxoffice_queue_waiting gauge$/m,
    /^# TYPE boxoffice_queue_active gauge$/m,
  ],
  mailer: [
    ...['sent', 'already-sent', 'canceled', 'uncertain', 'retried', 'failed'].map(
      (outcome) => new RegExp(`^boxoffice_mail_deliveries_total\\{outcome="${outcome}"\\} 0$`, 'm'),
    ),
    // Per mail queue: the urgent one and the bulk one.
    ...['urgent', 'bulk'].flatMap((queue) => [
      new RegExp(`^boxoffice_mail_queue_messages_total\\{queue="${queue}"\\} 0$`, 'm'),
      new RegExp(`^boxoffice_mail_queue_in_hand\\{queue="${queue}"\\} 0$`, 'm'),
    ]),
  ],
};

interface Running {
  app: AppName;
  port: number;
  metricsPort: number;
  proc: AppProcess;
}

describe('METRICS_PORT: /metrics and /health/live on a port of their own (built processes)', () => {
  let env: TestEnv;
  const running: Running[] = [];

  beforeAll(async () => {
    env = await createTestEnv();
    for (const app of ['api', 'batch', 'mailer'] as const) {
      const [port, metricsPort] = [await freePort(), await freePort()];
      const proc = new AppProcess(app, { ...env, PORT: String(port), METRICS_PORT: String(metricsPort) });
      running.push({ app, port, metricsPort, proc });
    }
    await Promise.all(running.map(({ app, proc }) => proc.waitForLine(STARTED[app])));
  });
  afterAll(async () => {
    for (const { proc } of running) proc.kill('SIGKILL');
    await Promise.all(running.map(({ proc }) => proc.exited));
    await destroyTestEnv(env);
  });

  it.each(['api', 'batch', 'mailer'] as const)('%s answers liveness and its metrics on METRICS_PORT', async (app) => {
    const { metricsPort } = running.find((entry) => entry.app === app)!;
    const base = `http://127.0.0.1:${metricsPort}`;
    if (app === 'api') await fetch(`http://127.0.0.1:${running[0].port}/health/live`).then((r) => r.arrayBuffer());

    const live = await fetch(`${base}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toContain('process_cpu_user_seconds_total');
    for (const series of SERIES[app]) expect(text).toMatch(series);

    const other = await fetch(`${base}/api/v1/events`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ statusCode: 404, error: 'Not Found', path: '/api/v1/events' });
  });

  it("the api's public port answers 404 with the uniform body for /metrics, and serves the rest", async () => {
    const { port } = running[0];
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.status).toBe(404);
    expect(await metrics.json()).toMatchObject({ statusCode: 404, error: 'Not Found', path: '/metrics' });
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
  });

  it('every process exits 0 on SIGTERM and closes its metrics port', async () => {
    for (const { proc } of running) proc.kill('SIGTERM');
    const exits = await Promise.all(running.map(({ proc }) => proc.exited));
    expect(exits).toEqual(running.map(() => ({ code: 0, signal: null })));
    for (const { metricsPort } of running) {
      await expect(fetch(`http://127.0.0.1:${metricsPort}/health/live`)).rejects.toThrow();
    }
  });
});
