/**
 * A file sent with an e-mail. With `cid` it is an inline part the HTML shows as `<img src="cid:…">`
 * (multipart/related), the way Gmail, Outlook and Apple Mail show images without fetching anything.
 */
export interface EmailAttachment {
  filename: string;
  /** MIME type, e.g. `image/png`. */
  contentType: string;
  content: Buffer;
  /** Content-ID the HTML refers to, without angle brackets. */
  cid: string;
}

/**
 * The mail queue an e-mail's message came through, and so the mail stream it leaves by: `urgent`
 * (confirmations, a single cancellation, password resets: someone is waiting) or `bulk` (the
 * notices one operator action fans out to a show's buyers). A Mailer may send the two through
 * different servers or senders (a provider's transactional and broadcast streams); what is sent
 * is the same.
 */
export type MailStream = 'urgent' | 'bulk';

/** One e-mail, ready to send. */
export interface OutgoingEmail {
  stream: MailStream;
  to: { name: string; address: string };
  subject: string;
  text: string;
  html: string;
  /** Inline images (the tickets' QR codes); none when absent. */
  attachments?: EmailAttachment[];
  /** `Message-ID` header: the same for every try of one message, so mail clients can fold repeats. */
  messageIdHeader: string;
}

/**
 * The whole e-mail reached the mail server, and its reply did not come back (a timeout, a cut
 * connection). The server may have delivered it: sending it again could give the buyer two.
 */
export class MailMaybeSentError extends Error {
  constructor(reason: string) {
    super(`the e-mail reached the server but its reply did not come back (${reason})`);
    this.name = 'MailMaybeSentError';
  }
}

/** Sends e-mails: the port the mailer process binds to its SMTP adapter (NotificationsModule.withMailer). */
export abstract class Mailer {
  /**
   * Resolves once the mail server accepted the e-mail, with the id it answered. Rejects with
   * {@link MailMaybeSentError} when the e-mail reached the server unanswered, with any other
   * error when it surely was not delivered.
   */
  abstract send(email: OutgoingEmail): Promise<{ smtpMessageId: string | null }>;
}
