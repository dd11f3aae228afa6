import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '@app/core';
import { createTestEnvWithoutDatabase, deleteRedisKeys, REDIS_URL, TestEnv } from '@app/testing';
import { primaries } from './cluster';
import { callScript, defineScripts, LuaScript } from './lua-script';
import { createRedis } from './redis.module';

/** Writes `files` (path relative to a fresh folder → text) and returns the folder. */
function scriptFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'bo-lua-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('Lua scripts on the real Redis', () => {
  let env: TestEnv;
  let redis: Redis;

  beforeAll(() => {
    env = createTestEnvWithoutDatabase();
    redis = createRedis(env);
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  });

  it('registers once, runs with the key prefix applied, and survives a script cache flush', async () => {
    const dir = scriptFolder({
      'add-to-both.lua':
        '-- KEYS[1], KEYS[2]: counters; ARGV[1]: amount. Returns both new values.\n--- @keys 2\n' +
        "return { redis.call('INCRBY', KEYS[1], ARGV[1]), redis.call('INCRBY', KEYS[2], ARGV[1]) }\n",
    });
    const script: LuaScript = { name: 'addToBoth', file: join(dir, 'add-to-both.lua') };
    defineScripts(redis, [script]);
    defineScripts(redis, [script]);
    expect(await callScript(redis, 'addToBoth', ['{t}:a', '{t}:b'], [5])).toEqual([5, 5]);

    const raw = createRedis({ ...env, REDIS_KEY_PREFIX: '' }, 'test-peek');
    expect(await raw.get(`${env.REDIS_KEY_PREFIX}{t}:a`)).toBe('5');
    // A restarted Redis has no scripts cached: ioredis must fall back from EVALSHA to EVAL.
    for (const node of primaries(raw)) await node.script('FLUSH');
    raw.disconnect();

    expect(await callScript(redis, 'addToBoth', ['{t}:a', '{t}:b'], [2])).toEqual([7, 7]);
  });

  it('passes the key count itself for a script whose number of keys varies', async () => {
    const dir = scriptFolder({
      'count-keys.lua':
        '-- KEYS: any; ARGV: any. Returns {#KEYS, #ARGV}.\n--- @keys variable\nreturn { #KEYS, #ARGV }\n',
    });
    defineScripts(redis, [{ name: 'countKeys', file: join(dir, 'count-keys.lua') }]);
    expect(await callScript(redis, 'countKeys', ['{t}:a'], ['x', 'y'])).toEqual([1, 2]);
    expect(await callScript(redis, 'countKeys', ['{t}:a', '{t}:b', '{t}:c'], ['x'])).toEqual([3, 1]);
  });

  it('passes Buffer arguments as their bytes beside text ones, also after a script cache flush', async () => {
    const dir = scriptFolder({
      'set-bytes.lua':
        '-- KEYS[1]: a string; ARGV[1]: text, ARGV[2]: bytes. Sets KEYS[1] to ARGV[2], returns {ARGV[1], #ARGV[2]}.\n' +
        "--- @keys 1\nredis.call('SET', KEYS[1], ARGV[2])\nreturn { ARGV[1], #ARGV[2] }\n",
    });
    defineScripts(redis, [{ name: 'setBytes', file: join(dir, 'set-bytes.lua') }]);
    // Not UTF-8: written as text, these would change length and leave the connection waiting.
    const bytes = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x80, 0xfe]);
    expect(await callScript(redis, 'setBytes', ['{t}:bytes'], ['ü', bytes])).toEqual(['ü', 6]);
    expect(await redis.getBuffer('{t}:bytes')).toEqual(bytes);
    const raw = createRedis({ ...env, REDIS_KEY_PREFIX: '' }, 'test-peek');
    for (const node of primaries(raw)) await node.script('FLUSH');
    raw.disconnect();
    const more = Buffer.concat([bytes, bytes]);
    expect(await callScript(redis, 'setBytes', ['{t}:bytes'], ['x', more])).toEqual(['x', 12]);
    expect(await redis.getBuffer('{t}:bytes')).toEqual(more);
    // The connection still answers in step.
    expect(await redis.ping()).toBe('PONG');
  });

  it('inlines includes found in lua-includes/ folders above the script', async () => {
    const dir = scriptFolder({
      'lua-includes/double.lua': 'local function double(n) return n * 2 end\n',
      'lua-includes/quadruple.lua': '--- @include "double"\nlocal function quadruple(n) return double(double(n)) end\n',
      'deep/quad.lua':
        '-- ARGV[1]: n. Returns {4n, 2n}.\n--- @keys 0\n--- @include "quadruple"\n--- @include "double"\n' +
        'return { quadruple(tonumber(ARGV[1])), double(tonumber(ARGV[1])) }\n',
    });
    defineScripts(redis, [{ name: 'quad', file: join(dir, 'deep/quad.lua') }]);
    expect(await callScript(redis, 'quad', [], [3])).toEqual([12, 6]);
  });

  it("keeps a script's own error and WRONGTYPE as Redis raised them: a bug, not an outage", async () => {
    const dir = scriptFolder({
      'fail.lua':
        "-- KEYS[1]: any. Fails on purpose.\n--- @keys 1\nreturn redis.error_reply('ERR broken on purpose')\n",
    });
    defineScripts(redis, [{ name: 'failOnPurpose', file: join(dir, 'fail.lua') }]);
    const scriptError = await callScript(redis, 'failOnPurpose', ['{t}:f'], []).catch((e: unknown) => e);
    expect(scriptError).not.toBeInstanceOf(StoreUnavailableError);
    expect(scriptError).toMatchObject({ name: 'ReplyError', message: 'ERR broken on purpose' });

    await redis.set('{t}:string', 'x');
    const wrongType = await redis.hget('{t}:string', 'f').catch((e: unknown) => e);
    expect(wrongType).not.toBeInstanceOf(StoreUnavailableError);
    expect((wrongType as Error).message).toMatch(/^WRONGTYPE/);
    const [[inPipeline]] = (await redis.pipeline().hget('{t}:string', 'f').exec()) ?? [[null]];
    expect(inPipeline).not.toBeInstanceOf(StoreUnavailableError);
    expect((inPipeline as Error).message).toMatch(/^WRONGTYPE/);
  });

  it('refuses to call a script that was never registered', () => {
    expect(() => callScript(redis, 'neverDefined', [], [])).toThrow(/not registered/);
  });
});

describe('the key check of Lua scripts', () => {
  let env: TestEnv;
  let redis: Redis;

  beforeAll(() => {
    env = createTestEnvWithoutDatabase();
    redis = createRedis(env);
  });
  afterAll(async () => {
    redis.disconnect();
    await deleteRedisKeys(REDIS_URL, env.REDIS_KEY_PREFIX);
  });

  function checked(name: string, body: string): void {
    const dir = scriptFolder({ [`${name}.lua`]: `-- KEYS: any; ARGV: any.\n--- @keys variable\n${body}\n` });
    defineScripts(redis, [{ name, file: join(dir, `${name}.lua`) }], { checked: true });
  }

  it('fails a script that builds a key it was not given, and changes nothing', async () => {
    checked(
      'badPrefix',
      "redis.call('SET', KEYS[1], 'given')\nreturn redis.call('SET', KEYS[1] .. ':built', 'not given')",
    );
    await expect(callScript(redis, 'badPrefix', ['{t}:k'], [])).rejects.toThrow(
      /SET touched .*\{t\}:k:built, not in KEYS/,
    );
    const raw = createRedis({ ...env, REDIS_KEY_PREFIX: '' }, 'test-peek');
    // A script that fails part-way keeps its earlier writes: the check stops the bad write itself.
    expect(await raw.get(`${env.REDIS_KEY_PREFIX}{t}:k`)).toBe('given');
    expect(await raw.exists(`${env.REDIS_KEY_PREFIX}{t}:k:built`)).toBe(0);
    raw.disconnect();
  });

  it('checks redis.pcall and every key of a multi-key command', async () => {
    checked('badPcall', "return redis.pcall('GET', ARGV[1])");
    await expect(callScript(redis, 'badPcall', ['{t}:a'], ['{t}:b'])).rejects.toThrow(/GET touched .*, not in KEYS/);
    checked('badDel', "return redis.call('DEL', KEYS[1], KEYS[1] .. 'x')");
    await expect(callScript(redis, 'badDel', ['{t}:a'], [])).rejects.toThrow(/DEL touched .*\{t\}:ax, not in KEYS/);
    checked('badStream', "return redis.call('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', KEYS[1], 'other', '>', '>')");
    await expect(callScript(redis, 'badStream', ['{t}:s'], [])).rejects.toThrow(
      /XREADGROUP touched other, not in KEYS/,
    );
  });

  it('fails a command whose key positions it does not know', async () => {
    checked('unknownCommand', "return redis.call('LPUSH', KEYS[1], 'x')");
    await expect(callScript(redis, 'unknownCommand', ['{t}:l'], [])).rejects.toThrow(/does not know the keys of LPUSH/);
  });

  it('lets a script that keeps to its KEYS run as it would unchecked', async () => {
    checked(
      'goodScript',
      "redis.call('HSET', KEYS[1], 'f', ARGV[1])\n" +
        "redis.pcall('XGROUP', 'CREATE', KEYS[2], 'g', '0', 'MKSTREAM')\n" +
        "redis.call('XADD', KEYS[2], '*', 'f', 'v')\n" +
        "local read = redis.call('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', 5, 'STREAMS', KEYS[2], '>')\n" +
        "redis.call('TIME')\n" +
        "return { redis.call('HGET', KEYS[1], 'f'), #read[1][2], redis.error_reply ~= nil and 1 or 0 }",
    );
    expect(await callScript(redis, 'goodScript', ['{t}:h', '{t}:s'], ['value'])).toEqual(['value', 1, 1]);
  });
});
