import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@app/logging';
import { AppName, AppProcess, createTestEnv, destroyTestEnv, freePort, TestEnv } from '@app/testing';
import { accessLines, field, LogLine, readLogFiles } from './app-logs';
import { fieldProblem, flatten } from './ecs';

const APPS: AppName[] = ['api', 'batch', 'mailer'];
const STARTED: Record<AppName, string> = { api: 'api listening', batch: 'batch started', mailer: 'mailer started' };

/** Each line's fields that Filebeat would pass on wrongly typed or unknown to ECS. */
function ecsProblems(lines: LogLine[]): string[] {
  const problems = new Set<string>();
  for (const line of lines) {
    for (const [name, value] of flatten(line)) {
      const problem = fieldProblem(name, value);
      if (problem) problems.add(problem);
    }
  }
  return [...problems];
}

describe('log lines of api, batch and mailer, field by field against ECS', () => {
  let env: TestEnv;
  const lines = new Map<AppName, LogLine[]>();

  beforeAll(async () => {
    env = await createTestEnv();
    const port = await freePort();
    const processes = APPS.map((app) => new AppProcess(app, { ...env, PORT: String(port) }));
    await Promise.all(processes.map((proc, i) => proc.waitForLine(STARTED[APPS[i]])));

    const base = `http://127.0.0.1:${port}`;
    await fetch(`${base}/health/live`, { headers: { 'x-request-id': 'ecs-check-1' } });
    await fetch(`${base}/health/ready`);
    await fetch(`${base}/api/v1/events?limit=2`);
    await fetch(`${base}/api/v1/no-such-route`);
    await fetch(`${base}/api/v1/users/me`);
    await fetch(`${base}/api/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'not-an-email' }),
    });

    for (const proc of processes) proc.kill('SIGTERM');
    await Promise.all(processes.map((proc) => proc.exited));
    for (const app of APPS) lines.set(app, readLogFiles(env.LOG_DIR, app));
  });

  afterAll(async () => destroyTestEnv(env));

  it.each(APPS)('%s writes ECS lines with the base fields', (app) => {
    const own = lines.get(app)!;
    expect(own.length).toBeGreaterThan(0);
    for (const line of own) {
      const fields = flatten(line);
      expect(fields.get('service.name')).toBe(`boxoffice-${app}`);
      expect(typeof fields.get('ecs.version')).toBe('string');
      expect(['error', 'warn', 'info', 'http', 'debug']).toContain(fields.get('log.level'));
      expect(typeof fields.get('message')).toBe('string');
      expect(Date.parse(String(fields.get('@timestamp')))).not.toBeNaN();
    }
  });

  it.each(APPS)('every field %s logs is in ECS with a compatible type, or documented as custom', (app) => {
    expect(ecsProblems(lines.get(app)!)).toEqual([]);
  });

  it('api access lines carry what the dashboard reads', () => {
    const access = accessLines(lines.get('api')!);
    expect(access.length).toBeGreaterThanOrEqual(6);
    const first = access.find((line) => field(line, 'http.request.id') === 'ecs-check-1')!;
    expect(first).toBeDefined();
    for (const line of access) {
      const fields = flatten(line);
      for (const name of [
        'http.request.id',
        'http.request.method',
        'http.response.status_code',
        'url.path',
        'url.route',
        'event.duration',
        'client.ip',
      ]) {
        expect(fields.has(name), `${name} in ${JSON.stringify(line)}`).toBe(true);
      }
    }
    const statuses = access.map((line) => field(line, 'http.response.status_code'));
    expect(statuses).toEqual(expect.arrayContaining([200, 404, 401, 400]));
  });

  it('an error logged as the api logs a 5xx cause has ECS error fields', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bo-ecs-error-'));
    try {
      const logger = createLogger({ app: 'api', level: 'info', dir, console: 'none' });
      // What `new Logger('Errors').error({ message, err })` in AllExceptionsFilter hands the app logger.
      logger.error(
        { message: 'GET /api/v1/events failed: connection refused', err: new TypeError('connection refused') },
        'Errors',
      );
      // Lines are written right after the turn that logged them.
      const line = await vi.waitFor(() => {
        const [written] = readLogFiles(dir, 'api');
        expect(written).toBeDefined();
        return written;
      });
      const fields = flatten(line);
      expect(fields.get('error.type')).toBe('TypeError');
      expect(fields.get('error.message')).toBe('connection refused');
      expect(String(fields.get('error.stack_trace'))).toContain('TypeError: connection refused');
      expect(ecsProblems([line])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
