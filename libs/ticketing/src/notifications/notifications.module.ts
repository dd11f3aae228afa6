import { DynamicModule, Module, Type } from '@nestjs/common';
import { AccountNoticeMailService } from './account-notice-mail.service';
import { EmailChangeMailService } from './email-change-mail.service';
import { EmailVerificationMailService } from './email-verification-mail.service';
import { Mailer } from './mailer.port';
import { PasswordResetMailService } from './password-reset-mail.service';
import { PaymentRefundedMailService } from './payment-refunded-mail.service';
import { PurchaseMailService } from './purchase-mail.service';
import { TicketTransferMailService } from './ticket-transfer-mail.service';
import { TicketCodes } from '../tickets/ticket-codes';

/**
 * Purchase e-mails, with the tickets' signed codes as QR images, password-reset, "confirm your
 * e-mail address", "confirm your new e-mail address", account notices, notices of a charge refunded because its purchase was lost, and ticket-transfer e-mails. Needs the global Env and DatabaseModule. The process that sends binds the
 * `Mailer` port to its adapter (the mailer's SMTP one), so the rules load no mail transport.
 */
@Module({})
export class NotificationsModule {
  /** `mailer`: the class that implements the {@link Mailer} port. */
  static withMailer(mailer: Type<Mailer>): DynamicModule {
    return {
      module: NotificationsModule,
      providers: [
        { provide: Mailer, useClass: mailer },
        TicketCodes,
        PurchaseMailService,
        PasswordResetMailService,
        EmailVerificationMailService,
        EmailChangeMailService,
        AccountNoticeMailService,
        PaymentRefundedMailService,
        TicketTransferMailService,
      ],
      exports: [
        Mailer,
        PurchaseMailService,
        PasswordResetMailService,
        EmailVerificationMailService,
        EmailChangeMailService,
        AccountNoticeMailService,
        PaymentRefundedMailService,
        TicketTransferMailService,
      ],
    };
  }
}
