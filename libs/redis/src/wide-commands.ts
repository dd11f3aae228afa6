import { Command } from 'ioredis';
import type Redis from 'ioredis';

/**
 * `HMGET key ...fields`, answered as `redis.hmget(key, ...fields)` is (a value or null per field,
 * in order), on a Redis or a Cluster client alike, with the client's key prefix.
 *
 * Why not `redis.hmget`: ioredis' `Command` flattens its arguments with `Array.prototype.flat`,
 * which on Node 20 costs ~0.25 µs an argument (measured: 24 µs of the ~31 µs it takes to build a
 * 100-field HMGET, 2 µs for a GET); a seat page asks for 100–800 fields. Here the command is
 * built empty and given its arguments already flat: ioredis reads them only when it writes the
 * command and when a Cluster client asks for its slot, both after this. `fields` must be strings
 * (ioredis' conversion of other values has run on the empty arguments).
 */
export function hmgetMany(redis: Redis, key: string, fields: readonly string[]): Promise<(string | null)[]> {
  const command = new Command('hmget', [], { replyEncoding: 'utf8' });
  command.args = [`${redis.options.keyPrefix ?? ''}${key}`, ...fields];
  return redis.sendCommand(command) as Promise<(string | null)[]>;
}
