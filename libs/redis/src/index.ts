export { OPERATOR_REDIS, PURCHASE_REDIS, RedisModule, createRedis } from './redis.module';
export { callScript, checkAllScriptKeys, defineScripts, loadLuaScript } from './lua-script';
export type { LoadedLuaScript, LoadOptions, LuaScript } from './lua-script';
export {
  isCluster,
  nodeOf,
  primaries,
  scanEveryPrimary,
  sendAcrossSlots,
  sendThenWaitForReplicas,
  waitForReplicas,
} from './cluster';
export type { RedisCommand } from './cluster';
export { probeScripts } from './readiness-probe';
export { REPLICA_WATCH_PERIOD_MS, replicaShortfall, ReplicaWatch } from './replica-watch';
export type { ReplicaShortfall } from './replica-watch';
export { hmgetMany, keyFirstCommand, RepeatedHmget } from './wide-commands';
export { perTurn } from './per-turn';
export { asStoreUnavailable, raiseStoreUnavailable, refusedForLackOfReplicas } from './unavailable';
