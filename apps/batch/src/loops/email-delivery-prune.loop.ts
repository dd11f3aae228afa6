import { Inject, Injectable } from '@nestjs/common';
import { Env, retentionMs } from '@app/config';
import { Clock } from '@app/core';
import { EmailDeliveriesRepository } from '@app/database';
import { PruneLoop } from './prune.loop';

/**
 * Deletes the records of e-mails sent (`email_deliveries`: the address, the server's Message-ID)
 * more than EMAIL_DELIVERY_RETENTION_DAYS ago that no e-mail to come can read ({@link PruneLoop}:
 * 1,000 a statement, at start then hourly; `forever`: none). A record of mail about a purchase or a
 * ticket waits for its performance to be that long past too, and a purchase's confirmation stays
 * as long as the purchase (EmailDeliveriesRepository.deleteUnreadSentBefore says why).
 */
@Injectable()
export class EmailDeliveryPruneLoop extends PruneLoop {
  constructor(deliveries: EmailDeliveriesRepository, clock: Clock, @Inject(Env) env: Env) {
    super(
      {
        rows: 'e-mail delivery record(s) sent',
        keptMs: retentionMs(env.EMAIL_DELIVERY_RETENTION_DAYS),
        deleteBefore: (before, limit) => deliveries.deleteUnreadSentBefore(before, limit),
      },
      clock,
    );
  }
}
