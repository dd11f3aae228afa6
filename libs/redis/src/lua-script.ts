import { readFileSync } from 'node:fs';
import Redis from 'ioredis';

/** A Lua script kept as a `.lua` file beside the code that calls it. */
export interface LuaScript {
  /** The command name it is registered under on the client. */
  name: string;
  /** Absolute path of the `.lua` file (build it with `join(__dirname, 'x.lua')`). */
  file: string;
  numberOfKeys: number;
}

const registered = new WeakMap<Redis, Set<string>>();

/**
 * Registers scripts on a client once with `defineCommand`: ioredis then calls EVALSHA and
 * falls back to EVAL by itself when Redis has lost its script cache (restart, SCRIPT FLUSH).
 */
export function defineScripts(redis: Redis, scripts: LuaScript[]): void {
  const names = registered.get(redis) ?? new Set<string>();
  for (const script of scripts) {
    if (names.has(script.name)) continue;
    redis.defineCommand(script.name, {
      numberOfKeys: script.numberOfKeys,
      lua: readFileSync(script.file, 'utf8'),
    });
    names.add(script.name);
  }
  registered.set(redis, names);
}

/** Calls a script registered with `defineScripts`. */
export function callScript<T>(redis: Redis, name: string, keys: string[], args: (string | number)[]): Promise<T> {
  const command = (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<T>>)[name];
  if (typeof command !== 'function') throw new Error(`Lua script ${name} is not registered`);
  return command.call(redis, ...keys, ...args);
}
