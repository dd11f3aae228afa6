import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import nodemailer, { Transporter } from 'nodemailer';
import { Env } from '@app/config';
import { Mailer, OutgoingEmail } from './mailer.port';

/** Sends through the SMTP server of `SMTP_URL`, from `MAIL_FROM`, over a small connection pool. */
@Injectable()
export class SmtpMailer extends Mailer implements OnApplicationShutdown {
  private readonly transport: Transporter;

  constructor(private readonly env: Env) {
    super();
    this.transport = nodemailer.createTransport({
      url: env.SMTP_URL,
      pool: true,
      maxConnections: 5,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(email: OutgoingEmail): Promise<{ smtpMessageId: string | null }> {
    const info = await this.transport.sendMail({
      from: this.env.MAIL_FROM,
      to: email.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      messageId: email.messageIdHeader,
    });
    return { smtpMessageId: typeof info.messageId === 'string' ? info.messageId : null };
  }

  onApplicationShutdown(): void {
    this.transport.close();
  }
}
