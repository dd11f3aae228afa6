import { Transform } from 'node:stream';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import nodemailer, { SendMailOptions, Transporter } from 'nodemailer';
import { Counter } from 'prom-client';
import { Env, SMTP_POOL_CONNECTIONS } from '@app/config';
import { Mailer, MailMaybeSentError, MailStream, OutgoingEmail } from '@app/ticketing';

/** Where one send has got to: set once the whole message was handed to the connection. */
interface HandOver {
  messageSent: boolean;
}

/** The SMTP server a send went to, as the metrics name it: `main` (SMTP_URL) or `bulk` (SMTP_BULK_URL). */
type SmtpServerName = 'main' | 'bulk';

/** A pooled transport and the server name its sends are counted under. */
interface Pool {
  server: SmtpServerName;
  transport: Transporter;
}

/**
 * What became of one send: `accepted`, `refused` (the server answered with an error),
 * `unanswered` (the whole e-mail went out and no reply came: a {@link MailMaybeSentError}), or
 * `failed` (anything else: no connection, cut before the end).
 */
type SendResult = 'accepted' | 'refused' | 'unanswered' | 'failed';

/**
 * Sends through the SMTP server of `SMTP_URL`, from `MAIL_FROM`, over a small connection pool;
 * with `SMTP_BULK_URL` set, the bulk stream's e-mails (the `<ns>.mail-bulk` queue's notices) go
 * through a second pool to that server instead, of MAIL_BULK_PREFETCH connections (as many as the
 * mailer sends at once from that queue), from `MAIL_BULK_FROM` (default MAIL_FROM) either way.
 *
 * Connecting and the greeting fail fast (10 s); a reply may take SMTP_REPLY_TIMEOUT_MS, by default
 * the 10 minutes RFC 5321 (section 4.5.3.2) gives the reply to the end of the message, because
 * a client that gives up sooner makes a slow server deliver twice. A send that fails after the
 * whole message was handed over, with no reply from the server, is a {@link MailMaybeSentError}.
 * Both pools behave alike in all of this.
 */
@Injectable()
export class SmtpMailer extends Mailer implements OnApplicationShutdown {
  /** The pool of each stream: the same one (`main`) for both while SMTP_BULK_URL is unset. */
  private readonly pools: Record<MailStream, Pool>;
  /**
   * Sends to each SMTP server by result, so a failing or stalling server shows apart from the
   * other; in no registry until a process adds it (mailerMetrics).
   */
  readonly sends = new Counter({
    name: 'boxoffice_mail_smtp_sends_total',
    help: 'SMTP sends by server (main: SMTP_URL, bulk: SMTP_BULK_URL) and result (accepted, refused, unanswered, failed)',
    labelNames: ['server', 'result'] as const,
    registers: [],
  });

  constructor(private readonly env: Env) {
    super();
    // Sharing it, MAIL_BULK_PREFETCH stays below its size, so the bulk notices leave the urgent e-mails a connection.
    const main: Pool = { server: 'main', transport: this.transport(env.SMTP_URL, SMTP_POOL_CONNECTIONS) };
    this.pools = {
      urgent: main,
      bulk:
        env.SMTP_BULK_URL === undefined
          ? main
          : { server: 'bulk', transport: this.transport(env.SMTP_BULK_URL, env.MAIL_BULK_PREFETCH) },
    };
    for (const { server } of new Set(Object.values(this.pools))) {
      for (const result of SEND_RESULTS) this.sends.inc({ server, result }, 0);
    }
  }

  private transport(url: string, maxConnections: number): Transporter {
    const transport = nodemailer.createTransport({
      url,
      pool: true,
      maxConnections,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: this.env.SMTP_REPLY_TIMEOUT_MS,
    });
    // The composed message passes through this step as the connection reads it, after the
    // server accepted DATA: its end means the whole message went out.
    transport.use('stream', (mail, done) => {
      const handOver = (mail.data as { handOver?: HandOver }).handOver;
      if (handOver) {
        mail.message.transform(
          () =>
            new Transform({
              transform: (chunk, _encoding, next) => next(null, chunk),
              flush: (next) => {
                handOver.messageSent = true;
                next();
              },
            }),
        );
      }
      done();
    });
    return transport;
  }

  async send(email: OutgoingEmail): Promise<{ smtpMessageId: string | null }> {
    const handOver: HandOver = { messageSent: false };
    const options: SendMailOptions & { handOver: HandOver } = {
      from: email.stream === 'bulk' ? (this.env.MAIL_BULK_FROM ?? this.env.MAIL_FROM) : this.env.MAIL_FROM,
      to: email.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      // Inline parts: nodemailer puts them with the HTML in a multipart/related.
      attachments: email.attachments?.map(({ filename, contentType, content, cid }) => ({
        filename,
        contentType,
        content,
        cid,
      })),
      messageId: email.messageIdHeader,
      handOver,
    };
    const { server, transport } = this.pools[email.stream];
    try {
      const info = await transport.sendMail(options);
      this.sends.inc({ server, result: 'accepted' });
      return { smtpMessageId: typeof info.messageId === 'string' ? info.messageId : null };
    } catch (error) {
      // A server that answered (a 4xx or 5xx to the message) surely did not take it.
      const answered = typeof (error as { responseCode?: unknown }).responseCode === 'number';
      if (handOver.messageSent && !answered) {
        this.sends.inc({ server, result: 'unanswered' });
        throw new MailMaybeSentError(error instanceof Error ? error.message : String(error));
      }
      this.sends.inc({ server, result: answered ? 'refused' : 'failed' });
      throw error;
    }
  }

  onApplicationShutdown(): void {
    for (const { transport } of new Set(Object.values(this.pools))) transport.close();
  }
}

const SEND_RESULTS: readonly SendResult[] = ['accepted', 'refused', 'unanswered', 'failed'];
