import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvWithoutDatabase, deleteRedisKeys, REDIS_URL, TestEnv } from '@app/testing';
import { callScript, defineScripts, LuaScript } from './lua-script';
import { createRedis } from './redis.module';

describe('Lua scripts on the real Redis', () => {
  let env: TestEnv;
  let redis: Redis;
  let script: LuaScript;

  beforeAll(() => {
    env = createTestEnvWithoutDatabase();
    redis = createRedis(env);
    const dir = mkdtempSync(join(tmpdir(), 'bo-lua-'));
    script = { name: 'addToBoth', numberOfKeys: 2, file: join(dir, 'add-to-both-2.lua') };
    writeFileSync(
      script.file,
      '-- KEYS[1], KEYS[2]: counters; ARGV[1]: amount. Returns both new values.\n' +
        "return { redis.call('INCRBY', KEYS[1], ARGV[1]), redis.call('INCRBY', KEYS[2], ARGV[1]) }\n",
    );
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  });

  it('registers once, runs with the key prefix applied, and survives a script cache flush', async () => {
    defineScripts(redis, [script]);
    defineScripts(redis, [script]);
    expect(await callScript(redis, 'addToBoth', ['{t}:a', '{t}:b'], [5])).toEqual([5, 5]);

    const raw = new Redis(REDIS_URL);
    expect(await raw.get(`${env.REDIS_KEY_PREFIX}{t}:a`)).toBe('5');
    // A restarted Redis has no scripts cached: ioredis must fall back from EVALSHA to EVAL.
    await raw.script('FLUSH');
    raw.disconnect();

    expect(await callScript(redis, 'addToBoth', ['{t}:a', '{t}:b'], [2])).toEqual([7, 7]);
  });

  it('passes the key count itself for a script whose number of keys varies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bo-lua-'));
    const variable: LuaScript = { name: 'countKeys', numberOfKeys: 'variable', file: join(dir, 'count-keys.lua') };
    writeFileSync(variable.file, '-- KEYS: any; ARGV: any. Returns {#KEYS, #ARGV}.\nreturn { #KEYS, #ARGV }\n');
    defineScripts(redis, [variable]);
    expect(await callScript(redis, 'countKeys', ['{t}:a'], ['x', 'y'])).toEqual([1, 2]);
    expect(await callScript(redis, 'countKeys', ['{t}:a', '{t}:b', '{t}:c'], ['x'])).toEqual([3, 1]);
  });

  it('refuses to call a script that was never registered', () => {
    expect(() => callScript(redis, 'neverDefined', [], [])).toThrow(/not registered/);
  });
});
