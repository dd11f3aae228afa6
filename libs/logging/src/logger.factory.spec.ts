import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryFailedError } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AccessLog } from './access-log';
import { createLogger, createWinston } from './logger.factory';

describe('log files', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bo-log-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function today(): string {
    const now = new Date();
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
  }

  /** The lines of one file once it exists (lines are written right after the current turn). */
  function linesOf(name: string): Promise<Record<string, unknown>[]> {
    return vi.waitFor(() =>
      readFileSync(join(dir, name), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    );
  }

  it('writes each line into the file of its level, after the turn that logged it', async () => {
    const logger = createWinston({ app: 'api', level: 'info', dir, console: 'none' });
    logger.info('first');
    logger.warn('careful');
    expect(existsSync(join(dir, `api-info-${today()}.log`))).toBe(false);
    const info = await linesOf(`api-info-${today()}.log`);
    expect(info.map((line) => line.message)).toEqual(['first']);
    const [warn] = await linesOf(`api-warn-${today()}.log`);
    expect(warn).toMatchObject({ message: 'careful', 'log.level': 'warn', service: { name: 'boxoffice-api' } });
    logger.close();
  });

  it('writes no line below LOG_LEVEL, in any file', async () => {
    const logger = createWinston({ app: 'api', level: 'warn', dir, console: 'none' });
    logger.debug('noise');
    logger.info('chatter');
    logger.warn('careful');
    logger.error('broken');
    expect((await linesOf(`api-warn-${today()}.log`)).map((line) => line.message)).toEqual(['careful']);
    logger.close();
    expect(readdirSync(dir).sort()).toEqual([`api-error-${today()}.log`, `api-warn-${today()}.log`]);
    const quieter = createWinston({ app: 'api', level: 'info', dir, console: 'none' });
    quieter.debug('noise');
    quieter.info('chatter');
    quieter.close();
    expect(readdirSync(dir)).not.toContain(`api-debug-${today()}.log`);
    expect(readFileSync(join(dir, `api-info-${today()}.log`), 'utf8')).toContain('chatter');
  });

  it('writes what is queued when closed', () => {
    const logger = createWinston({ app: 'api', level: 'info', dir, console: 'none' });
    logger.info('last words');
    logger.close();
    expect(readFileSync(join(dir, `api-info-${today()}.log`), 'utf8')).toContain('last words');
  });

  it('deletes files older than 14 days and keeps the rest', async () => {
    const kept = `api-info-${today()}.log`;
    writeFileSync(join(dir, 'api-info-2001-01-01.log'), '{}\n');
    writeFileSync(join(dir, 'batch-info-2001-01-01.log'), '{}\n');
    const logger = createWinston({ app: 'api', level: 'info', dir, console: 'none' });
    logger.info('now');
    await linesOf(kept);
    expect(existsSync(join(dir, 'api-info-2001-01-01.log'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual([kept, 'batch-info-2001-01-01.log']);
    logger.close();
  });

  it('turns what Nest hands to error() into ECS fields: the context, or the trace', async () => {
    const logger = createLogger({ app: 'api', level: 'info', dir, console: 'none' });
    logger.error({ message: 'GET /x failed', err: new TypeError('refused') }, 'Errors');
    logger.error('shutdown failed', 'Error: boom\n    at main (main.js:1:1)', 'Main');
    logger.error('no trace', undefined, 'Main');
    const lines = (await linesOf(`api-error-${today()}.log`)) as Record<
      string,
      { stack_trace?: string; type?: string; logger?: string }
    >[];
    expect(lines.map((line) => 'stack' in line)).toEqual([false, false, false]);
    expect(lines[0].log.logger).toBe('Errors');
    expect(lines[0].error.type).toBe('TypeError');
    expect(lines[1].log.logger).toBe('Main');
    expect(lines[1].error.stack_trace).toBe('Error: boom\n    at main (main.js:1:1)');
    expect(lines[2].log.logger).toBe('Main');
  });

  it('keeps no statement parameters or driver details of a logged error, however it was logged', async () => {
    const logger = createLogger({ app: 'api', level: 'info', dir, console: 'none' });
    const secrets = ['someone@example.test', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA'];
    const failed = () =>
      new QueryFailedError(
        'INSERT INTO "users"("email", "password_hash") VALUES ($1, $2)',
        secrets,
        Object.assign(new Error('value too long for type character varying(100)'), {
          code: '22001',
          detail: `Failing row contains (${secrets[0]}).`,
          parameters: secrets,
        }),
      );
    logger.error({ message: 'POST /auth/signup failed', err: failed() }, 'Errors');
    logger.error(failed(), undefined, 'Errors');
    logger.warn({ message: 'retrying', err: failed() }, 'Flusher');
    // Forms no code of ours uses today, each of which once wrote the parameters (a stranger's review).
    logger.warn(failed() as unknown as string);
    logger.warn('retrying', failed() as unknown as string);
    logger.log(failed() as unknown as string);
    createWinston({ app: 'api', level: 'info', dir, console: 'none' }).error('flush failed', failed());
    const files = ['error', 'warn', 'info'].map((level) => `api-${level}-${today()}.log`);
    await vi.waitFor(() => {
      const count = files.map((file) => readFileSync(join(dir, file), 'utf8').trim().split('\n').length);
      expect(count).toEqual([3, 3, 1]);
    });
    const lines = (await Promise.all(files.map(linesOf))).flat() as { error?: Record<string, unknown> }[];
    const written = JSON.stringify(lines);
    for (const secret of secrets) expect(written).not.toContain(secret.slice(0, 12));
    // Where the logger kept the error (all but `warn(error)` and `log(error)`, which spread its
    // fields into the line without it), its type, message, stack, code and statement.
    const kept = lines.flatMap((line) => (line.error?.type === undefined ? [] : [line.error]));
    expect(kept).toHaveLength(5);
    for (const error of kept) {
      expect(error).toMatchObject({
        type: 'QueryFailedError',
        message: 'value too long for type character varying(100)',
        code: '22001',
        query: 'INSERT INTO "users"("email", "password_hash") VALUES ($1, $2)',
      });
      expect(error.stack_trace).toContain('QueryFailedError');
    }
  });

  it('writes access lines into the info file as ECS lines shaped like the Winston ones', async () => {
    const logger = createLogger({ app: 'api', level: 'info', dir, console: 'none', accessLog: true });
    logger.log('started', 'Main');
    AccessLog.of(logger)!.write({
      requestId: 'req-"1"',
      method: 'GET',
      route: '/things/:id',
      path: '/things/7',
      statusCode: 200,
      elapsedMs: 1.25,
      clientIp: '127.0.0.1',
    });
    const [started, access] = await linesOf(`api-info-${today()}.log`);
    expect(Object.keys(access).filter((key) => key in started)).toEqual(Object.keys(started));
    expect(access).toMatchObject({
      'log.level': 'info',
      log: { logger: 'Access' },
      service: { name: 'boxoffice-api' },
      message: 'GET /things/:id 200 1.3ms',
      http: { request: { id: 'req-"1"', method: 'GET' }, response: { status_code: 200 } },
      url: { path: '/things/7', route: '/things/:id' },
      event: { duration: 1_250_000 },
      client: { ip: '127.0.0.1' },
      'ecs.version': started['ecs.version'],
    });
  });

  it('has no access log when it is off or the level leaves out info', () => {
    expect(AccessLog.of(createLogger({ app: 'api', level: 'info', dir, console: 'none' }))).toBeUndefined();
    expect(
      AccessLog.of(createLogger({ app: 'api', level: 'warn', dir, console: 'none', accessLog: true })),
    ).toBeUndefined();
  });
});
