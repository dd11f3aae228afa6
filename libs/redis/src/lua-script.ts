import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Redis, { Command } from 'ioredis';

/**
 * A Lua script kept as a `.lua` file beside the code that calls it. The file says how many
 * KEYS each call passes, on a line `--- @keys <n>` (or `--- @keys variable` when it differs
 * from call to call), and pulls shared helpers in with `--- @include "<name>"`.
 */
export interface LuaScript {
  /** The command name it is registered under on the client. */
  name: string;
  /** Absolute path of the `.lua` file (build it with `join(__dirname, 'x.lua')`). */
  file: string;
}

/** A script as Redis runs it: includes inlined, key count read from the file. */
export interface LoadedLuaScript {
  /** Fixed number of KEYS, or `'variable'`: the caller then passes the count with each call. */
  numberOfKeys: number | 'variable';
  lua: string;
}

export interface LoadOptions {
  /**
   * Test-only: wraps `redis.call` and `redis.pcall` so the script fails with `not in KEYS`
   * when a command touches a key the caller did not pass in KEYS (see KEY_CHECK_PRELUDE).
   */
  checked?: boolean;
}

const KEYS_DIRECTIVE = /^--- @keys[ \t]+(\S+)[ \t]*$/gm;
const INCLUDE_DIRECTIVE = /^--- @include[ \t]+"([\w-]+)"[ \t]*$/gm;
/** Where includes live: the nearest folder of this name at or above the including file. */
const INCLUDES_FOLDER = 'lua-includes';

/**
 * Reads a script file and inlines its includes, each once, in place of its first
 * `--- @include "<name>"` line: `<name>.lua` is looked up in `lua-includes/` beside the file, then
 * in each parent folder's `lua-includes/`. Includes may include others. Throws when the file
 * has no single valid `--- @keys` line or an include is missing or circular.
 */
export function loadLuaScript(file: string, options: LoadOptions = {}): LoadedLuaScript {
  const source = readFileSync(file, 'utf8');
  const declared = [...source.matchAll(KEYS_DIRECTIVE)].map((match) => match[1]);
  if (declared.length !== 1) throw new Error(`${file}: needs exactly one "--- @keys <n|variable>" line`);
  const numberOfKeys = declared[0] === 'variable' ? 'variable' : Number(declared[0]);
  if (numberOfKeys !== 'variable' && !(Number.isInteger(numberOfKeys) && numberOfKeys >= 0)) {
    throw new Error(`${file}: "--- @keys ${declared[0]}" is neither a count nor "variable"`);
  }
  const lua = inlineIncludes(file, source, new Set(), []);
  return { numberOfKeys, lua: options.checked ? KEY_CHECK_PRELUDE + lua : lua };
}

function inlineIncludes(file: string, source: string, included: Set<string>, stack: string[]): string {
  return source.replace(INCLUDE_DIRECTIVE, (_line, name: string) => {
    const path = findInclude(dirname(file), name);
    if (!path) throw new Error(`${file}: include "${name}" not found in any ${INCLUDES_FOLDER}/ above it`);
    if (stack.includes(path)) throw new Error(`${file}: include "${name}" includes itself`);
    if (included.has(path)) return `-- (${name} included above)`;
    included.add(path);
    return inlineIncludes(path, readFileSync(path, 'utf8'), included, [...stack, path]).trimEnd();
  });
}

function findInclude(from: string, name: string): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, INCLUDES_FOLDER, `${name}.lua`);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/**
 * Prepended in checked mode. A local `redis` shadows the global one for the whole script
 * (includes are inlined into it); Redis 7 keeps globals read-only, so the global cannot be
 * replaced. Key positions are known only for the commands our scripts use: any other command
 * fails the check, so a new command is looked at before it is trusted.
 */
const KEY_CHECK_PRELUDE = `
local redis = (function(real)
  local given = {}
  for _, key in ipairs(KEYS) do given[key] = true end
  local none = { TIME = true, PUBLISH = true }
  local first = {}
  for _, c in ipairs({ 'GET', 'SET', 'INCR', 'INCRBY', 'PTTL', 'PEXPIRE', 'PEXPIREAT', 'PERSIST', 'HGET', 'HSET',
    'HMGET', 'HGETALL', 'HDEL', 'HINCRBY', 'ZADD', 'ZREM', 'ZSCORE', 'ZMSCORE', 'ZRANGEBYSCORE', 'XADD', 'XACK', 'XDEL',
    'XRANGE', 'XREVRANGE', 'XLEN', 'HEXISTS', 'HSETNX', 'ZCARD', 'ZPOPMIN', 'ZRANGE', 'ZRANK', 'SADD', 'SMEMBERS', 'EXPIRE', 'HSCAN',
    'SETBIT', 'GETBIT', 'GETRANGE', 'SETRANGE', 'BITCOUNT', 'SREM', 'SISMEMBER', 'ZREMRANGEBYSCORE', 'HLEN', 'XPENDING',
    'XTRIM' }) do
    first[c] = true
  end
  local every = { DEL = true, EXISTS = true }
  local function keysOf(command, args)
    local c = string.upper(command)
    if none[c] then return {} end
    if first[c] then return { args[1] } end
    if every[c] then return args end
    if c == 'XGROUP' or c == 'XINFO' then return { args[2] } end
    if c == 'XREADGROUP' then
      for i = 1, #args do
        if string.upper(args[i]) == 'STREAMS' then
          local keys = {}
          for j = i + 1, i + (#args - i) / 2 do keys[#keys + 1] = args[j] end
          return keys
        end
      end
    end
    error('key check: does not know the keys of ' .. c, 0)
  end
  local function check(command, ...)
    for _, key in ipairs(keysOf(command, { ... })) do
      if not given[key] then error('key check: ' .. string.upper(command) .. ' touched ' .. tostring(key) .. ', not in KEYS', 0) end
    end
  end
  return setmetatable({
    call = function(...) check(...) return real.call(...) end,
    pcall = function(...) check(...) return real.pcall(...) end,
  }, { __index = real })
end)(redis)
`;

const registered = new WeakMap<Redis, Map<string, LoadedLuaScript>>();
let checkEveryScript = false;

/**
 * Registers scripts on a client once with `defineCommand`: ioredis then calls EVALSHA and
 * falls back to EVAL by itself when Redis has lost its script cache (restart, SCRIPT FLUSH).
 * A name already registered on the client is skipped. Throws as `loadLuaScript` does.
 */
export function defineScripts(redis: Redis, scripts: LuaScript[], options: LoadOptions = {}): void {
  const byName = registered.get(redis) ?? new Map<string, LoadedLuaScript>();
  const checked = options.checked === true || checkEveryScript;
  for (const script of scripts) {
    if (byName.has(script.name)) continue;
    const loaded = loadLuaScript(script.file, { checked });
    redis.defineCommand(script.name, {
      // Without a fixed count, ioredis takes the count as the first argument of each call.
      numberOfKeys: loaded.numberOfKeys === 'variable' ? undefined : loaded.numberOfKeys,
      lua: loaded.lua,
    });
    byName.set(script.name, loaded);
  }
  registered.set(redis, byName);
}

/**
 * Test-only: every script this process defines from now on runs checked (see `LoadOptions.checked`).
 * The int tests turn it on for every file (libs/testing/src/lua-key-check.setup.ts).
 */
export function checkAllScriptKeys(): void {
  checkEveryScript = true;
}

/**
 * ioredis' own record of a script given to `defineCommand` (`redis.scriptsSet[name]`, ioredis 5
 * internals): its SHA1, fixed key count (null when variable), the client's key prefix, and the
 * `Command` class that sends `EVAL` instead of `EVALSHA` on a connection that has not run it yet.
 */
interface DefinedScript {
  sha: string;
  numberOfKeys: number | null;
  keyPrefix: string;
  Command: new (name: string, args: unknown[], options: { replyEncoding: 'utf8' }) => Command;
}

/**
 * Calls a script registered with `defineScripts`. Throws when it is not registered.
 *
 * Sends what `redis[name](...keys, ...args)` sends (`EVALSHA sha numkeys` then the keys with the
 * client's prefix, then the arguments as strings, a Buffer as its bytes; `EVAL` on a connection that has not run the
 * script, `EVALSHA` again after a `NOSCRIPT`), but builds ioredis' `Command` empty and gives it
 * its arguments already flat and prefixed, as `hmgetMany` does: the `Command` constructor's
 * `Array.prototype.flat` costs ~0.25 µs an argument on Node 20 (~5 µs of a hold's ~20-argument
 * script, docs/performance.md). A Cluster client reads the slot from these arguments when it sends.
 */
export function callScript<T>(
  redis: Redis,
  name: string,
  keys: string[],
  args: (string | number | Buffer)[],
): Promise<T> {
  const defined = registered.get(redis)?.has(name)
    ? (redis as unknown as { scriptsSet: Record<string, DefinedScript | undefined> }).scriptsSet[name]
    : undefined;
  if (!defined) throw new Error(`Lua script ${name} is not registered`);
  const keyCount = defined.numberOfKeys ?? keys.length;
  const prefix = defined.keyPrefix ?? '';
  // As ioredis does: the first `keyCount` of keys-then-arguments are the keys it prefixes. Sized
  // once: a two-element literal grown by `push` to a hold's ~26 made the command's strings outlive
  // two scavenges (~1.2 KB promoted a hold; why is not pinned, docs/performance.md, "Hold route:
  // what a hold allocates").
  const argv = new Array<string | Buffer>(2 + keys.length + args.length);
  argv[0] = defined.sha;
  argv[1] = String(keyCount);
  for (let i = 0; i < keys.length; i++) argv[2 + i] = i < keyCount ? prefix + keys[i] : keys[i];
  let bytes = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (Buffer.isBuffer(arg)) {
      // A Buffer argument (bytes: a bitmap, a layout's packed records) goes as it is; never a key.
      argv[2 + keys.length + i] = arg;
      bytes = true;
    } else {
      const text = String(arg);
      argv[2 + keys.length + i] = keys.length + i < keyCount ? prefix + text : text;
    }
  }
  const command = scriptCommand(defined, argv, bytes);
  command.promise = command.promise.catch((error: Error) => {
    // Redis lost its script cache (restart, SCRIPT FLUSH): this connection now sends EVAL.
    if (!error.message.includes('NOSCRIPT')) throw error;
    return redis.sendCommand(scriptCommand(defined, [defined.sha, ...argv.slice(1)], bytes));
  });
  return redis.sendCommand(command) as Promise<T>;
}

/**
 * The Command of a call; `bytes`: some argument is a Buffer. Given its arguments after it was built,
 * the Command learns that only from `stringifyArguments` (which then writes every argument as bytes:
 * written as text, a Buffer's bytes that are not UTF-8 would change length and desynchronise the
 * connection).
 */
function scriptCommand(defined: DefinedScript, argv: (string | Buffer)[], bytes: boolean): Command {
  const command = new defined.Command('evalsha', [], { replyEncoding: 'utf8' });
  command.args = argv;
  if (bytes) command.stringifyArguments();
  return command;
}
