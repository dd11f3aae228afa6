import { defineRedisFailoverDrill } from './redis-failover';

/**
 * The Redis Cluster failover drill as `npm test` runs it (project int-serial): the same fault and
 * checks as `npm run drill`, a smaller sale.
 */
defineRedisFailoverDrill({
  buyers: 12,
  seats: 1200,
  confirmedBefore: 30,
  unconfirmedDuringLag: 4,
  confirmedAfterRecovery: 30,
});
