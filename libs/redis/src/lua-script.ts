import { readFileSync } from 'node:fs';
import Redis from 'ioredis';

/** A Lua script kept as a `.lua` file beside the code that calls it. */
export interface LuaScript {
  /** The command name it is registered under on the client. */
  name: string;
  /** Absolute path of the `.lua` file (build it with `join(__dirname, 'x.lua')`). */
  file: string;
  /** How many KEYS every call passes; `'variable'` when it differs from call to call. */
  numberOfKeys: number | 'variable';
}

const registered = new WeakMap<Redis, Map<string, LuaScript>>();

/**
 * Registers scripts on a client once with `defineCommand`: ioredis then calls EVALSHA and
 * falls back to EVAL by itself when Redis has lost its script cache (restart, SCRIPT FLUSH).
 */
export function defineScripts(redis: Redis, scripts: LuaScript[]): void {
  const byName = registered.get(redis) ?? new Map<string, LuaScript>();
  for (const script of scripts) {
    if (byName.has(script.name)) continue;
    redis.defineCommand(script.name, {
      // Without a fixed count, ioredis takes the count as the first argument of each call.
      numberOfKeys: script.numberOfKeys === 'variable' ? undefined : script.numberOfKeys,
      lua: readFileSync(script.file, 'utf8'),
    });
    byName.set(script.name, script);
  }
  registered.set(redis, byName);
}

/** Calls a script registered with `defineScripts`. */
export function callScript<T>(redis: Redis, name: string, keys: string[], args: (string | number)[]): Promise<T> {
  const script = registered.get(redis)?.get(name);
  const command = (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<T>>)[name];
  if (!script || typeof command !== 'function') throw new Error(`Lua script ${name} is not registered`);
  if (script.numberOfKeys === 'variable') return command.call(redis, keys.length, ...keys, ...args);
  return command.call(redis, ...keys, ...args);
}
