import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, EnvSource } from '@app/config';
import { CoreModule } from '@app/core';
import { DatabaseModule } from '@app/database';
import { MessagingModule } from '@app/messaging';
import { NotificationsModule } from '@app/ticketing';
import { PurchaseMailConsumer } from './purchase-mail.consumer';
import { SmtpMailer } from './smtp.mailer';

/** Consumes purchase-completed messages and sends the e-mails over SMTP. */
@Module({})
export class MailerModule {
  static forRoot(overrides: EnvSource = {}): DynamicModule {
    return {
      module: MailerModule,
      imports: [
        ConfigModule.forRoot(overrides, 'mailer'),
        CoreModule,
        DatabaseModule,
        MessagingModule,
        NotificationsModule.withMailer(SmtpMailer),
      ],
      providers: [PurchaseMailConsumer],
    };
  }
}
