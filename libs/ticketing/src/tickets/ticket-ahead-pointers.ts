import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { sendAcrossSlots } from '@app/redis';
import { ticketAheadPointerKey } from '../redis-keys';

/**
 * How long (seconds) a ticket's pointer to its box office sale lives: a sale is written to
 * PostgreSQL within seconds (PURCHASE_FLUSH_AGE_SECONDS and a flush), where its tickets are then
 * found; a week covers a flush stopped for days, and the pointers of a busy window stay few.
 */
export const TICKET_AHEAD_POINTER_TTL_SECONDS = 7 * 24 * 60 * 60;

/**
 * The ticket id → box office sale pointers: a window sale signs its tickets' codes with ids taken
 * ahead of its flush, and an admin may ask for one ticket by its id before PostgreSQL has its row.
 * One key a ticket, outside any performance's slot (the id alone is known), each set by a single
 * command (sendAcrossSlots on a Cluster).
 */
@Injectable()
export class TicketAheadPointers {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  /**
   * Points each of `ticketIds` (decimal strings) at sale `purchaseId` for
   * TICKET_AHEAD_POINTER_TTL_SECONDS. Throws the Redis error of the first command that failed.
   */
  async point(ticketIds: readonly string[], purchaseId: string): Promise<void> {
    const replies = await sendAcrossSlots(
      this.redis,
      ticketIds.map((ticketId) => [
        'set',
        ticketAheadPointerKey(ticketId),
        purchaseId,
        'EX',
        TICKET_AHEAD_POINTER_TTL_SECONDS,
      ]),
    );
    const failed = replies.find(([error]) => error !== null);
    if (failed) throw failed[0];
  }

  /** The id of the box office sale that took ticket id `ticketId` ahead; null when none did (or long ago). */
  purchaseOf(ticketId: string): Promise<string | null> {
    return this.redis.get(ticketAheadPointerKey(ticketId));
  }
}
