import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as config from '@app/config';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { childEnv, readConfig } from '../../scripts/config.mjs';

/** What process.exit was called with, thrown so the code after it does not run. */
class Exit extends Error {
  constructor(readonly code: number | undefined) {
    super(`exit ${code}`);
  }
}

// The scripts (npm start, start:cluster, loadtest) read their configuration through libs/config
// (the build's; its sources here), as the apps do: same values, same refusals, same message.
describe('scripts/config.mjs readConfig: the scripts read the configuration as the apps read it', () => {
  const cwd = process.cwd();
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bo-script-config-'));
    process.chdir(dir);
    for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'RABBITMQ_URL', 'SMTP_URL', 'MAIL_CATCHER_SMTP_PORT'])
      vi.stubEnv(name, undefined);
    vi.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Exit(code as number | undefined);
    });
  });
  afterEach(() => {
    process.chdir(cwd);
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives libs/config's defaults, and the mail catcher of the local stack", () => {
    const { env, mailCatcher } = readConfig({}, config);
    expect(env).toEqual(config.loadEnv());
    expect(env).toMatchObject({
      PORT: 3000,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/boxoffice',
      REDIS_URL: 'redis://127.0.0.1:6379',
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
    });
    expect(mailCatcher).toEqual({ run: true, smtpPort: 1025, webPort: 1080, smtpUrl: 'smtp://127.0.0.1:1025' });
  });

  it('reads .env under the environment, and the overrides over both', () => {
    writeFileSync(join(dir, '.env'), 'PORT=4321\nREDIS_URL=redis://127.0.0.1:6390\nMAIL_CATCHER_SMTP_PORT=3972\n');
    vi.stubEnv('PORT', '4322');
    const { env, mailCatcher } = readConfig({ RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5673' }, config);
    expect(env).toMatchObject({
      PORT: 4322,
      REDIS_URL: 'redis://127.0.0.1:6390',
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5673',
    });
    expect(mailCatcher).toMatchObject({ smtpPort: 3972, smtpUrl: 'smtp://127.0.0.1:3972' });
  });

  it.each([
    ['PORT', 'abc'],
    ['DATABASE_URL', 'postgres://127.0.0.1:abc/boxoffice'],
    ['REDIS_URL', 'localhost:6379'],
    ['RABBITMQ_URL', 'amqp://guest:guest@127.0.0.1:99999'],
  ])('stops at %s=%j with the message the apps print, exit code 1', (name, value) => {
    vi.stubEnv(name, value);
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(() => readConfig({}, config)).toThrow(new Exit(1));
    // What apps/*/src/main.ts print for a ConfigError: its message.
    const apps = (() => {
      try {
        config.loadEnv();
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(apps).toMatch(new RegExp(`^Invalid configuration:\\n  - ${name} must be `));
    expect(printed.mock.calls).toEqual([[apps]]);
  });

  it('names every bad variable at once, from .env too', () => {
    writeFileSync(join(dir, '.env'), 'DATABASE_URL=mysql://x/y\n');
    vi.stubEnv('PORT', '70000');
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(() => readConfig({}, config)).toThrow(new Exit(1));
    expect(printed.mock.calls[0][0]).toMatch(
      /PORT must not be greater than 65535[\s\S]*DATABASE_URL must be a postgres/,
    );
  });

  it('lets any other error through', () => {
    const broken = {
      ...config,
      loadEnv: () => {
        throw new Error('not a configuration problem');
      },
    };
    expect(() => readConfig({}, broken)).toThrow('not a configuration problem');
    expect(process.exit).not.toHaveBeenCalled();
  });
});

describe('scripts/config.mjs childEnv: the environment handed on to a started process', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('is the whole environment, the extra values over it', () => {
    vi.stubEnv('BO_SCRIPT_CONFIG_TEST', 'inherited');
    vi.stubEnv('PORT', '3100');
    expect(childEnv({ PORT: '3101' })).toMatchObject({ BO_SCRIPT_CONFIG_TEST: 'inherited', PORT: '3101' });
    expect(childEnv()).toMatchObject({ BO_SCRIPT_CONFIG_TEST: 'inherited', PORT: '3100' });
  });
});
