import { Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { EmailDeliveriesRepository, TransactionRunner } from '@app/database';
import { AccountNoticeMessage, accountNoticeMessageId } from '@app/messaging/contracts';
import { renderAccountNoticeEmail } from './account-notice-email.template';
import { Mailer } from './mailer.port';
import { deliverInTransaction, sendClaimed } from './send-claimed';

/** What became of an account notice: sent, already sent (a redelivered message), or `uncertain` (see `sendClaimed`). */
export type AccountNoticeOutcome = 'sent' | 'already-sent' | 'uncertain' | 'no-recipient';

/** Sends the notice of a change to an account (its password, its address), once. */
@Injectable()
export class AccountNoticeMailService {
  constructor(
    private readonly deliveries: EmailDeliveriesRepository,
    private readonly transactions: TransactionRunner,
    private readonly mailer: Mailer,
    private readonly env: Env,
  ) {}

  /**
   * Sends the notice of `message` to the address it names (the account's when the change was made:
   * whatever changed since, the owner of that address is told), claimed in `email_deliveries` as
   * `account-notice:<auth event id>`, so a redelivered message sends nothing (`already-sent`). To
   * the address alone (no display name: the account's name was chosen by whoever made it), on the
   * urgent stream. Always sent: a notice of a change is news even when a later change followed.
   */
  async deliver(message: AccountNoticeMessage): Promise<AccountNoticeOutcome> {
    const deps = {
      deliveries: this.deliveries,
      transactions: this.transactions,
      mailer: this.mailer,
      mailFrom: this.env.MAIL_FROM,
    };
    const messageId = accountNoticeMessageId(message.eventId);
    return deliverInTransaction(deps, messageId, (manager) =>
      sendClaimed(deps, manager, { messageId, purchaseId: null, recipient: message.email }, () => ({
        ...renderAccountNoticeEmail({
          event: message.event,
          email: message.email,
          at: new Date(message.at),
          newEmail: message.newEmail,
        }),
        to: { name: '', address: message.email },
        stream: 'urgent',
      })),
    );
  }
}
