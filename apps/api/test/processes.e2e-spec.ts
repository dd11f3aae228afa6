import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppName, AppProcess, createTestEnv, destroyTestEnv, TestEnv } from '@app/testing';

const STARTED: Record<AppName, string> = { api: 'api listening', batch: 'batch started', mailer: 'mailer started' };

describe('built apps as processes', () => {
  let env: TestEnv;

  beforeAll(() => {
    env = createTestEnv({ PORT: '0' });
  });
  afterAll(async () => destroyTestEnv(env));

  it.each(['api', 'batch', 'mailer'] as const)('%s starts on its own, then stops cleanly on SIGTERM', async (app) => {
    const proc = new AppProcess(app, { ...env, PORT: String(38000 + Math.floor(Math.random() * 1000)) });
    await proc.waitForLine(STARTED[app]);
    proc.kill('SIGTERM');
    const exit = await proc.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(proc.dump()).toContain('SIGTERM received, shutting down');
    expect(proc.dump()).toContain('stopped cleanly');
  });

  it('survives a second signal during its shutdown and still exits cleanly', async () => {
    const proc = new AppProcess('api', { ...env, PORT: String(38000 + Math.floor(Math.random() * 1000)) });
    await proc.waitForLine(STARTED.api);
    proc.kill('SIGINT');
    proc.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.dump()).toContain('stopped cleanly');
  });

  it('refuses to start with a bad variable and names it', async () => {
    const proc = new AppProcess('api', { ...env, PORT: 'eighty' });
    const exit = await proc.exited;
    expect(exit.code).toBe(1);
    expect(proc.dump()).toContain('PORT');
  });
});
