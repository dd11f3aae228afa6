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

/** A command whose bytes were encoded before: ioredis writes them as they are. */
class EncodedCommand extends Command {
  constructor(
    name: string,
    args: string[],
    private readonly bytes: Buffer,
  ) {
    super(name, [], { replyEncoding: 'utf8' });
    // Read by a Cluster client for the slot (the key first); the bytes are what is sent.
    this.args = args;
  }

  override toWritable(): Buffer {
    return this.bytes;
  }
}

interface EncodedHmget {
  fields: readonly number[];
  /** The prefixed key alone: what a Cluster client reads for the slot. */
  args: string[];
  bytes: Buffer;
}

/**
 * `HMGET key ...fields` for reads a process repeats with the same key and fields (a seat page's
 * status letters, read by every buyer looking at that page): the command's bytes are kept, and a
 * repeat sends them without building or encoding the ~100 arguments again (~12–15 µs a page on
 * this machine, docs/performance.md). Answers as `hmgetMany` does (a value or null per field, in
 * order), with the client's key prefix. A kept command is used only when its fields equal the
 * ones asked for, number by number. Bounded: reads of more than `maxFields` fields (a whole seat
 * map) are sent as `hmgetMany` sends them and not kept, and at most `maxEntries` commands are kept
 * (the oldest dropped first): by default 1,024 of at most 1,000 fields, ~2 KB each for a page of
 * 100, ~21 MB at the very most. One instance per client (the bytes carry its key prefix).
 */
export class RepeatedHmget {
  private readonly kept = new Map<string, EncodedHmget>();

  constructor(
    private readonly redis: Redis,
    private readonly maxEntries = 1_024,
    private readonly maxFields = 1_000,
  ) {}

  /** `fields`: integers (seat ids); at least one. */
  read(key: string, fields: readonly number[]): Promise<(string | null)[]> {
    if (fields.length > this.maxFields) return hmgetMany(this.redis, key, fields.map(String));
    const name = `${key}\u0000${fields[0]}\u0000${fields.length}`;
    let encoded = this.kept.get(name);
    if (!encoded || !sameFields(encoded.fields, fields)) {
      encoded = this.encode(key, fields);
      this.kept.delete(name);
      if (this.kept.size >= this.maxEntries) this.kept.delete(this.kept.keys().next().value as string);
      this.kept.set(name, encoded);
    }
    return this.redis.sendCommand(new EncodedCommand('hmget', encoded.args, encoded.bytes)) as Promise<
      (string | null)[]
    >;
  }

  private encode(key: string, fields: readonly number[]): EncodedHmget {
    const prefixed = `${this.redis.options.keyPrefix ?? ''}${key}`;
    let text = `*${fields.length + 2}\r\n$5\r\nhmget\r\n$${Buffer.byteLength(prefixed)}\r\n${prefixed}\r\n`;
    for (const field of fields) {
      const arg = String(field);
      text += `$${arg.length}\r\n${arg}\r\n`;
    }
    return { fields: [...fields], args: [prefixed], bytes: Buffer.from(text) };
  }
}

function sameFields(kept: readonly number[], asked: readonly number[]): boolean {
  if (kept.length !== asked.length) return false;
  for (let i = 0; i < kept.length; i += 1) if (kept[i] !== asked[i]) return false;
  return true;
}
