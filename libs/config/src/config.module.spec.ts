import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigModule, loadEnv, mailCatcher } from './config.module';
import { Env } from './env';

describe('loadEnv and ConfigModule: one source of configuration for every entry point', () => {
  const cwd = process.cwd();
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bo-config-'));
    writeFileSync(join(dir, '.env'), 'PORT=4321\nLOG_LEVEL=warn\n');
    process.chdir(dir);
    vi.stubEnv('PORT', undefined);
    vi.stubEnv('LOG_LEVEL', 'debug');
  });
  afterEach(() => {
    process.chdir(cwd);
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the .env file of the working directory, under process.env and the overrides', () => {
    expect(loadEnv()).toMatchObject({ PORT: 4321, LOG_LEVEL: 'debug' });
    expect(loadEnv({ PORT: '5555' })).toMatchObject({ PORT: 5555 });
  });

  it("warns once of a key of the .env file that nothing reads, naming the nearest, not of the environment's", async () => {
    writeFileSync(join(dir, '.env'), 'PORT=4321\nREDIS_ULR=redis://cache.internal:6379\nPOSTGRES_USER=boxoffice\n');
    vi.stubEnv('REDIS_ULR_OF_ANOTHER_PROGRAM', 'x');
    vi.stubEnv('REDIS_URL', undefined);
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      for (let i = 0; i < 2; i += 1) await Test.createTestingModule({ imports: [ConfigModule.forRoot()] }).compile();
      expect(warn.mock.calls).toEqual([
        ['.env sets REDIS_ULR, which no setting reads (ignored); did you mean REDIS_URL?'],
      ]);
      // A warning, not a refusal: the default stands.
      expect(loadEnv().REDIS_URL).toBe('redis://127.0.0.1:6379');
    } finally {
      warn.mockRestore();
    }
  });

  it('gives the Nest apps the same values as the early loadEnv (logger, CLIs, migrations)', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ConfigModule.forRoot()] }).compile();
    expect(moduleRef.get(Env)).toEqual(loadEnv());
  });
});

describe('mailCatcher: the local stack scripts read its settings as the apps read theirs', () => {
  const cwd = process.cwd();
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bo-config-'));
    process.chdir(dir);
    for (const name of ['SMTP_URL', 'MAIL_CATCHER_SMTP_PORT', 'MAIL_CATCHER_WEB_PORT']) vi.stubEnv(name, undefined);
  });
  afterEach(() => {
    process.chdir(cwd);
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs on 1025 and 1080 by default, the apps sending to it', () => {
    expect(mailCatcher()).toEqual({ run: true, smtpPort: 1025, webPort: 1080, smtpUrl: 'smtp://127.0.0.1:1025' });
  });

  it('takes its ports from the environment or .env, the apps sending to the chosen one', () => {
    writeFileSync(join(dir, '.env'), 'MAIL_CATCHER_SMTP_PORT=3972\n');
    vi.stubEnv('MAIL_CATCHER_WEB_PORT', '3971');
    expect(mailCatcher()).toEqual({ run: true, smtpPort: 3972, webPort: 3971, smtpUrl: 'smtp://127.0.0.1:3972' });
  });

  it('does not run when SMTP_URL is set, in the environment or .env', () => {
    vi.stubEnv('SMTP_URL', 'smtp://mail.example.com:25');
    expect(mailCatcher()).toMatchObject({ run: false, smtpUrl: 'smtp://mail.example.com:25' });
    vi.stubEnv('SMTP_URL', undefined);
    writeFileSync(join(dir, '.env'), 'SMTP_URL=smtp://127.0.0.1:1025\n');
    expect(mailCatcher()).toMatchObject({ run: false, smtpUrl: 'smtp://127.0.0.1:1025' });
  });

  it('refuses a port out of range, or the same port for both', () => {
    expect(() => mailCatcher({ MAIL_CATCHER_SMTP_PORT: '70000' })).toThrow(/MAIL_CATCHER_SMTP_PORT/);
    expect(() => mailCatcher({ MAIL_CATCHER_SMTP_PORT: '2000', MAIL_CATCHER_WEB_PORT: '2000' })).toThrow(
      /MAIL_CATCHER_WEB_PORT must differ from MAIL_CATCHER_SMTP_PORT/,
    );
  });
});
