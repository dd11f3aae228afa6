export { RedisModule, createRedis } from './redis.module';
export { callScript, defineScripts } from './lua-script';
export type { LuaScript } from './lua-script';
