import { Module } from '@nestjs/common';
import { Mailer } from './mailer.port';
import { PurchaseMailConsumer } from './purchase-mail.consumer';
import { PurchaseMailService } from './purchase-mail.service';
import { SmtpMailer } from './smtp.mailer';

/** Purchase e-mails. Needs the global Env, DatabaseModule and MessagingModule. */
@Module({
  providers: [{ provide: Mailer, useClass: SmtpMailer }, PurchaseMailService, PurchaseMailConsumer],
  exports: [Mailer, PurchaseMailService, PurchaseMailConsumer],
})
export class NotificationsModule {}
