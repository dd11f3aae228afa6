import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Registry } from 'prom-client';

/** Retry-After (seconds) of a 503 "not ready", as the api's `GET /health/ready` answers it. */
const NOT_READY_RETRY_AFTER_S = 5;

/**
 * What a process's readiness check found (`GET /health/ready` of a MetricsServer given one):
 * `details` each dependency checked by name, `message` (when not ready) the answer's message,
 * naming what is down and nothing a stranger should not read (no address).
 */
export interface Readiness {
  ready: boolean;
  message?: string;
  details: Record<string, { status: 'up' | 'down'; message?: string }>;
}

/**
 * The HTTP server of METRICS_PORT: `GET /metrics` (the process's Prometheus registry),
 * `GET /health/live` (the process is up; no dependency is checked) and, when the process gives a
 * readiness check (`batch`), `GET /health/ready`: 200 `{status: "ok", details}`, or 503 with the
 * uniform error body, its message from the check, and `Retry-After: 5`. Nothing else. It keeps
 * Prometheus and Docker's health checks off the api's public port, and gives `batch` and
 * `mailer`, which serve no other HTTP, something to be checked on.
 */
export class MetricsServer {
  private constructor(private readonly server: http.Server) {}

  /** Listens on `host`:`port` until {@link close}; `ready`, when given, answers `GET /health/ready`. */
  static async start(
    registry: Registry,
    port: number,
    host: string,
    ready?: () => Promise<Readiness>,
  ): Promise<MetricsServer> {
    const served = `GET /metrics${ready ? ', GET /health/live and GET /health/ready' : ' and GET /health/live'}`;
    const server = http.createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0];
      if (request.method === 'GET' && path === '/metrics') {
        registry.metrics().then(
          (text) => answer(response, 200, registry.contentType, text),
          (error: unknown) => answer(response, 500, 'text/plain; charset=utf-8', `metrics failed: ${String(error)}\n`),
        );
      } else if (request.method === 'GET' && path === '/health/live') {
        answer(response, 200, 'application/json; charset=utf-8', JSON.stringify({ status: 'ok' }));
      } else if (ready && request.method === 'GET' && path === '/health/ready') {
        ready().then(
          (readiness) =>
            readiness.ready
              ? answer(response, 200, JSON_TYPE, JSON.stringify({ status: 'ok', details: readiness.details }))
              : answer(response, 503, JSON_TYPE, errorBody(503, readiness.message ?? 'not ready', path), {
                  'retry-after': String(NOT_READY_RETRY_AFTER_S),
                }),
          () =>
            answer(response, 503, JSON_TYPE, errorBody(503, 'not ready', path), {
              'retry-after': String(NOT_READY_RETRY_AFTER_S),
            }),
        );
      } else {
        answer(response, 404, JSON_TYPE, errorBody(404, `Only ${served} are served here`, path));
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new MetricsServer(server);
  }

  /** Stops listening and drops the scrapers' keep-alive connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The uniform error body (`{statusCode, error, message, requestId, path, timestamp}`), as JSON. */
function errorBody(statusCode: 404 | 503, message: string, path: string): string {
  return JSON.stringify({
    statusCode,
    error: statusCode === 404 ? 'Not Found' : 'Service Unavailable',
    message,
    requestId: randomUUID(),
    path: /^\/[\x21-\x7e]*$/.test(path) ? path.slice(0, 2048) : '',
    timestamp: new Date().toISOString(),
  });
}

function answer(
  response: http.ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
