import Redis, { Command } from 'ioredis';
import { defineScripts, LuaScript } from '@app/redis';

/**
 * A client that never connects, with `scripts` defined, whose `sendCommand` answers each script
 * call with the next of `answers` and keeps its arguments as strings (`EVALSHA sha numkeys keys…
 * args…`, one array a call, in `calls`): for unit tests of a script wrapper's rounds with the
 * script's answers faked. What the scripts do on a real Redis is in the int-specs.
 */
export function fakeScriptClient(scripts: LuaScript[], answers: unknown[][]): { redis: Redis; calls: string[][] } {
  const redis = new Redis({ lazyConnect: true });
  defineScripts(redis, scripts);
  const calls: string[][] = [];
  redis.sendCommand = ((command: Command) => {
    calls.push(command.args.map(String));
    (command as unknown as { resolve(value: unknown): void }).resolve(answers.shift());
    return command.promise;
  }) as Redis['sendCommand'];
  return { redis, calls };
}

/** A script call's ARGV (after `sha numkeys` and the keys), as kept in `fakeScriptClient`'s `calls`. */
export const scriptArgv = (call: string[]): string[] => call.slice(2 + Number(call[1]));
