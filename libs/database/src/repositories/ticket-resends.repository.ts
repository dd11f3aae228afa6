import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuthEventType } from '../entities/auth-event.entity';
import { NewAdminAudit, recordAuditIn } from './admin-audit.repository';
import { secondsUntilIssuable } from './single-use-tokens';

/** One request to e-mail a purchase's tickets again, as {@link TicketResendsRepository.queue} stores it. */
export interface TicketResendRequest {
  /** The purchase's buyer: whose requests take turns and, for a buyer's request, are counted. */
  buyerId: string;
  /** Its e-mail's outbox row (the contract `PurchaseTicketsResentMessage` of `@app/messaging/contracts`). */
  message: { messageId: string; routingKey: string; payload: Record<string, unknown> };
  /**
   * A buyer's request: at most `maxIssued` in any `windowMs` (milliseconds) per account, counted
   * from its TICKETS_RESENT auth events, as the mailed tokens are (single-use-tokens.ts); each one
   * queued records one. Absent for an operator's, which is not limited and counts nothing.
   */
  limit?: { maxIssued: number; windowMs: number };
  /** An operator's request: its audit row, written in the same transaction. */
  audit?: NewAdminAudit;
}

/**
 * A resend request's outcome: `queued` (its outbox row written), or `limited` (the buyer's limit
 * reached, nothing written; `retryAfterSeconds` until one more may be queued).
 */
export type TicketResendQueued = { outcome: 'queued' } | { outcome: 'limited'; retryAfterSeconds: number };

/** Requests to e-mail a purchase's tickets again: their outbox rows, limited per buyer. */
@Injectable()
export class TicketResendsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * In one transaction: takes the buyer's account row (FOR NO KEY UPDATE, as the verification
   * e-mail's request does), so the buyer's requests take turns and the limit holds under
   * concurrency; refuses a buyer's request past `request.limit` (`limited`, with the seconds until
   * one is counted out of the window, by secondsUntilIssuable, the database's clock); else writes the
   * e-mail's outbox row, and the buyer's TICKETS_RESENT event or the operator's audit row.
   */
  queue(request: TicketResendRequest): Promise<TicketResendQueued> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [request.buyerId]);
      const event = AuthEventType.TicketsResent;
      if (request.limit) {
        const wait = await secondsUntilIssuable(manager, request.buyerId, event, request.limit);
        if (wait !== null) return { outcome: 'limited', retryAfterSeconds: wait };
      }
      await manager.query('INSERT INTO outbox (message_id, routing_key, payload) VALUES ($1, $2, $3::jsonb)', [
        request.message.messageId,
        request.message.routingKey,
        JSON.stringify(request.message.payload),
      ]);
      if (request.limit) {
        await manager.query('INSERT INTO auth_events (user_id, type) VALUES ($1, $2)', [request.buyerId, event]);
      }
      if (request.audit) await recordAuditIn(manager, request.audit);
      return { outcome: 'queued' };
    });
  }
}
