import Redis from 'ioredis';
import { defineScripts, LuaScript } from '@app/redis';
import { BLOCK_SEATS, RELEASE_SEAT_BLOCKS } from './blocks/seat-block-scripts';
import { FREE_SEATS_AFTER } from './catalog/free-seats-scripts';
import { SECTION_AVAILABILITY } from './catalog/section-scripts';
import { HOLD_BEST_AVAILABLE } from './holds/best-available-scripts';
import { PUT_PRESALE } from './presales/presale-scripts';
import {
  END_CANCELED_HOLDS,
  EXPIRE_HOLDS,
  HOLD_COMP_SEATS,
  HOLD_SEATS,
  INDEX_HOLD,
  RELEASE_HOLD,
} from './holds/hold-scripts';
import {
  ACK_FLUSHED,
  CANCEL_PURCHASE,
  CANCELED_PURCHASES,
  CLAIM_HOLD,
  CLAIM_IDEMPOTENCY_KEY,
  DELIVER_DUE_PURCHASES,
  ENSURE_FLUSH_GROUP,
  FORGET_FLUSHED,
  PARK_PURCHASE,
  PURCHASE,
  REFUND_SEATS,
  RELEASE_HOLD_CLAIM,
  RELEASE_IDEMPOTENCY_CLAIM,
  RENEW_HOLD_CLAIM,
  RENEW_IDEMPOTENCY_CLAIM,
} from './purchases/purchase-scripts';
import { RECONCILE_SEATS, STREAM_MARK } from './seats/reconcile-scripts';
import {
  CLOSE_SALES,
  FINISH_REGISTRATION,
  RAISE_TICKETS_BOUGHT,
  REBUILD_LEASE,
  REGISTER_SEATS,
  RENEW_SALES_CLOSURE,
  REOPEN_SALES,
} from './seats/seat-scripts';
import { REBUILD_SEATING, SEATING_FORMAT_STEP, WRITE_SEATING_LAYOUT } from './seats/seating-scripts';
import { CHECK_IN_MARK, CHECK_IN_UNDO, TRANSFER_MARK, UNMARK_TRANSFERS } from './tickets/ticket-scripts';
import { WAITING_ROOM_SCRIPTS } from './waiting-room/waiting-room-scripts';

/**
 * Every Lua script of the ticketing rules. Each `.lua` file says its number of KEYS
 * (`--- @keys`) and takes the shared helpers of `lua-includes/` with `--- @include`.
 */
export const TICKETING_SCRIPTS: readonly LuaScript[] = [
  REGISTER_SEATS,
  FINISH_REGISTRATION,
  REBUILD_LEASE,
  CLOSE_SALES,
  RENEW_SALES_CLOSURE,
  REOPEN_SALES,
  RAISE_TICKETS_BOUGHT,
  HOLD_SEATS,
  HOLD_COMP_SEATS,
  RELEASE_HOLD,
  EXPIRE_HOLDS,
  END_CANCELED_HOLDS,
  INDEX_HOLD,
  CLAIM_HOLD,
  RELEASE_HOLD_CLAIM,
  RENEW_HOLD_CLAIM,
  PURCHASE,
  CANCEL_PURCHASE,
  REFUND_SEATS,
  CLAIM_IDEMPOTENCY_KEY,
  RENEW_IDEMPOTENCY_CLAIM,
  RELEASE_IDEMPOTENCY_CLAIM,
  ENSURE_FLUSH_GROUP,
  DELIVER_DUE_PURCHASES,
  CANCELED_PURCHASES,
  ACK_FLUSHED,
  PARK_PURCHASE,
  FORGET_FLUSHED,
  CHECK_IN_MARK,
  CHECK_IN_UNDO,
  TRANSFER_MARK,
  UNMARK_TRANSFERS,
  ...WAITING_ROOM_SCRIPTS,
  SECTION_AVAILABILITY,
  FREE_SEATS_AFTER,
  RECONCILE_SEATS,
  STREAM_MARK,
  HOLD_BEST_AVAILABLE,
  REBUILD_SEATING,
  SEATING_FORMAT_STEP,
  WRITE_SEATING_LAYOUT,
  BLOCK_SEATS,
  RELEASE_SEAT_BLOCKS,
  PUT_PRESALE,
];

/**
 * Registers all of TICKETING_SCRIPTS on `redis`; every service that runs one calls this.
 * Registration happens once per connection, later calls change nothing.
 */
export function defineTicketingScripts(redis: Redis): void {
  defineScripts(redis, [...TICKETING_SCRIPTS]);
}
