import { join } from 'node:path';
import Redis from 'ioredis';
import { callScript, defineScripts, LuaScript } from './lua-script';

const READINESS_PROBE: LuaScript = { name: 'boxofficeReadinessProbe', file: join(__dirname, 'readiness-probe.lua') };
const PROBE_KEY = 'health:probe';

/**
 * Runs a real (read-only) Lua script through `redis`, as the ticketing scripts run: resolves when
 * Redis answered it, rejects with Redis's error otherwise. One round trip, as PING is.
 */
export async function probeScripts(redis: Redis): Promise<void> {
  defineScripts(redis, [READINESS_PROBE]);
  const reply = await callScript<number>(redis, READINESS_PROBE.name, [PROBE_KEY], []);
  if (reply !== 0) throw new Error(`readiness probe answered ${JSON.stringify(reply)}`);
}
