import { defineRedisFailoverDrill } from './redis-failover';

/**
 * `npm run drill`: the Redis Cluster failover drill at full scale; `DRILL_BUYERS`, `DRILL_SEATS`,
 * `DRILL_CONFIRMED_BEFORE`, `DRILL_UNCONFIRMED`, `DRILL_CONFIRMED_AFTER` change it.
 */
defineRedisFailoverDrill({
  buyers: Number(process.env.DRILL_BUYERS ?? 40),
  seats: Number(process.env.DRILL_SEATS ?? 4000),
  confirmedBefore: Number(process.env.DRILL_CONFIRMED_BEFORE ?? 200),
  unconfirmedDuringLag: Number(process.env.DRILL_UNCONFIRMED ?? 8),
  confirmedAfterRecovery: Number(process.env.DRILL_CONFIRMED_AFTER ?? 200),
});
