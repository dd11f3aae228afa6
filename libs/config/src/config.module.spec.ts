import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigModule, loadEnv } from './config.module';
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

  it('gives the Nest apps the same values as the early loadEnv (logger, CLIs, migrations)', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ConfigModule.forRoot()] }).compile();
    expect(moduleRef.get(Env)).toEqual(loadEnv());
  });
});
