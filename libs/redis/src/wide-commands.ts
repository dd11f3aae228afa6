import { Command } from 'ioredis';
import type Redis from 'ioredis';

/**
 * `name key ...args` of a command whose only key comes first (`HMGET`, `ZADD`, …), answered as
 * ioredis' own method answers it (replies as utf8 strings), on a Redis or a Cluster client alike,
 * with the client's key prefix.
 *
 * Why not `redis[name]`: ioredis' `Command` flattens its arguments with `Array.prototype.flat`,
 * which on Node 20 costs ~0.25 µs an argument and ~2 µs even for two (measured: 24 µs of the
 * ~31 µs it takes to build a 100-field HMGET). Here the command is built empty and given its
 * arguments already flat: ioredis reads them only when it writes the command and when a Cluster
 * client asks for its slot, both after this. `args` must be strings (ioredis' conversion of
 * other values has run on the empty arguments). No argument transformer of ioredis runs: only
 * for commands that have none (not `HSET`/`HMSET`/`MSET` with an object).
 */
export function keyFirstCommand(redis: Redis, name: string, key: string, args: readonly string[]): Promise<unknown> {
  const command = new Command(name, [], { replyEncoding: 'utf8' });
  command.args = [`${redis.options.keyPrefix ?? ''}${key}`, ...args];
  return redis.sendCommand(command) as Promise<unknown>;
}

/**
 * `HMGET key ...fields`, answered as `redis.hmget(key, ...fields)` is (a value or null per field,
 * in order), with the client's key prefix, without ioredis' flattening (see `keyFirstCommand`):
 * a seat page asks for 100–800 fields.
 */
export function hmgetMany(redis: Redis, key: string, fields: readonly string[]): Promise<(string | null)[]> {
  return keyFirstCommand(redis, 'hmget', key, fields) as Promise<(string | null)[]>;
}
