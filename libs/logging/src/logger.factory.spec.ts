import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

  it('has the line in the file of its level as soon as the log call returns', () => {
    const logger = createWinston({ app: 'api', level: 'info', dir, console: 'none' });
    logger.info('first');
    logger.warn('careful');
    const info = readFileSync(join(dir, `api-info-${today()}.log`), 'utf8')
      .trim()
      .split('\n');
    expect(info.map((line) => (JSON.parse(line) as { message: string }).message)).toEqual(['first']);
    const warn = JSON.parse(readFileSync(join(dir, `api-warn-${today()}.log`), 'utf8')) as Record<string, unknown>;
    expect(warn).toMatchObject({ message: 'careful', 'log.level': 'warn', service: { name: 'boxoffice-api' } });
    logger.close();
  });

  it('deletes files older than 14 days and keeps the rest', () => {
    const kept = `api-info-${today()}.log`;
    writeFileSync(join(dir, 'api-info-2001-01-01.log'), '{}\n');
    writeFileSync(join(dir, 'batch-info-2001-01-01.log'), '{}\n');
    const logger = createWinston({ app: 'api', level: 'info', dir, console: 'none' });
    logger.info('now');
    expect(existsSync(join(dir, 'api-info-2001-01-01.log'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual([kept, 'batch-info-2001-01-01.log']);
    logger.close();
  });

  it('turns what Nest hands to error() into ECS fields: the context, or the trace', () => {
    const logger = createLogger({ app: 'api', level: 'info', dir, console: 'none' });
    logger.error({ message: 'GET /x failed', err: new TypeError('refused') }, 'Errors');
    logger.error('shutdown failed', 'Error: boom\n    at main (main.js:1:1)', 'Main');
    logger.error('no trace', undefined, 'Main');
    const lines = readFileSync(join(dir, `api-error-${today()}.log`), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, { stack_trace?: string; type?: string; logger?: string }>);
    expect(lines.map((line) => 'stack' in line)).toEqual([false, false, false]);
    expect(lines[0].log.logger).toBe('Errors');
    expect(lines[0].error.type).toBe('TypeError');
    expect(lines[1].log.logger).toBe('Main');
    expect(lines[1].error.stack_trace).toBe('Error: boom\n    at main (main.js:1:1)');
    expect(lines[2].log.logger).toBe('Main');
  });
});
