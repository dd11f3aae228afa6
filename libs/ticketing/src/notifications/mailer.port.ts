/** One e-mail, ready to send. */
export interface OutgoingEmail {
  to: { name: string; address: string };
  subject: string;
  text: string;
  html: string;
  /** `Message-ID` header: the same for every try of one message, so mail clients can fold repeats. */
  messageIdHeader: string;
}

/** Sends e-mails. The SMTP implementation is the default; tests put a fake in its place. */
export abstract class Mailer {
  /** Resolves once the mail server accepted the e-mail, with the id it answered. */
  abstract send(email: OutgoingEmail): Promise<{ smtpMessageId: string | null }>;
}
