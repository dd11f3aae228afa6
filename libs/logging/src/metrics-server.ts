import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Registry } from 'prom-client';

/**
 * The HTTP server of METRICS_PORT: `GET /metrics` (the process's Prometheus registry) and
 * `GET /health/live` (the process is up; no dependency is checked), nothing else. It keeps
 * Prometheus and Docker's health checks off the api's public port, and gives `batch` and
 * `mailer`, which serve no other HTTP, something to be checked on.
 */
export class MetricsServer {
  private constructor(private readonly server: http.Server) {}

  /** Listens on `host`:`port` until {@link close}. */
  static async start(registry: Registry, port: number, host: string): Promise<MetricsServer> {
    const server = http.createServer((request, response) => {
      const path = (request.url ?? '').split('?')[0];
      if (request.method === 'GET' && path === '/metrics') {
        registry.metrics().then(
          (text) => answer(response, 200, registry.contentType, text),
          (error: unknown) => answer(response, 500, 'text/plain; charset=utf-8', `metrics failed: ${String(error)}\n`),
        );
      } else if (request.method === 'GET' && path === '/health/live') {
        answer(response, 200, 'application/json; charset=utf-8', JSON.stringify({ status: 'ok' }));
      } else {
        const body = {
          statusCode: 404,
          error: 'Not Found',
          message: 'Only GET /metrics and GET /health/live are served here',
          requestId: randomUUID(),
          path: /^\/[\x21-\x7e]*$/.test(path) ? path.slice(0, 2048) : '',
          timestamp: new Date().toISOString(),
        };
        answer(response, 404, 'application/json; charset=utf-8', JSON.stringify(body));
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

function answer(response: http.ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
