import { freePort } from './free-port';
import { SMTPServer } from 'smtp-server';

/** An e-mail as the test SMTP server received it, with its text and HTML parts decoded. */
export interface ReceivedEmail {
  from: string;
  to: string[];
  subject: string;
  messageIdHeader: string;
  text: string;
  html: string;
  raw: string;
}

/**
 * A real SMTP server on a spare port that keeps every e-mail it accepts. `stop()` and `start()`
 * simulate the mail server going down and coming back on the same port.
 */
export class TestSmtpServer {
  readonly received: ReceivedEmail[] = [];
  private server?: SMTPServer;
  private holding = false;
  private keepAbandoned = false;
  /** Which e-mails are withheld while holding: all unless `holdReplies` was given `only`. */
  private holds: (email: ReceivedEmail) => boolean = () => true;
  /** What the `beforeAnswering` hook threw, in order. */
  readonly hookFailures: unknown[] = [];
  /** Run with each e-mail before it is answered (taken): see `beforeAnswering`. */
  private beforeAnswer?: (email: ReceivedEmail) => Promise<void>;
  /** E-mails whose final reply is being withheld, by SMTP session. */
  private readonly held = new Map<string, { email: ReceivedEmail; accept: () => void }[]>();

  private constructor(readonly port: number) {}

  static async create(options: { listening?: boolean } = {}): Promise<TestSmtpServer> {
    const smtp = new TestSmtpServer(await freePort());
    if (options.listening !== false) await smtp.start();
    return smtp;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      closeTimeout: 100,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const email = parseEmail(
            raw,
            session.envelope.rcptTo.map((rcpt) => rcpt.address),
          );
          const accept = () => {
            this.received.push(email);
            callback();
          };
          if (this.beforeAnswer) {
            // A failing hook is kept for the test to see; the e-mail is taken all the same.
            void this.beforeAnswer(email).then(accept, (error: unknown) => {
              this.hookFailures.push(error);
              accept();
            });
            return;
          }
          if (!this.holding || !this.holds(email)) return accept();
          this.held.set(session.id, [...(this.held.get(session.id) ?? []), { email, accept }]);
        });
      },
      // A client gone before the final reply did not hand the e-mail over: it is discarded,
      // unless this server plays one that delivers what it took, answered or not.
      onClose: (session, callback) => {
        const abandoned = this.held.get(session.id) ?? [];
        this.held.delete(session.id);
        if (this.keepAbandoned) for (const { email } of abandoned) this.received.push(email);
        callback?.();
      },
    });
    server.on('error', () => undefined);
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * From now on, takes each e-mail's data but withholds the final reply, as a stalled server
   * would; the sender waits. An e-mail counts as received only once it is answered, or, with
   * `deliverAbandoned`, also when its sender gives up waiting (a slow server that queued it).
   * With `only`, just the e-mails it picks are withheld; the others are answered at once.
   */
  holdReplies(options: { deliverAbandoned?: boolean; only?: (email: ReceivedEmail) => boolean } = {}): void {
    this.holding = true;
    this.keepAbandoned = options.deliverAbandoned ?? false;
    this.holds = options.only ?? (() => true);
  }

  /**
   * From now on, runs `hook` with each e-mail once its data is in, and answers (takes) the e-mail
   * when the hook is done: something to happen between the moment the server has an e-mail and
   * the moment its sender learns it was taken. `undefined` ends it. Not with `holdReplies`.
   */
  beforeAnswering(hook: ((email: ReceivedEmail) => Promise<void>) | undefined): void {
    this.beforeAnswer = hook;
  }

  /** E-mails waiting for their reply (their senders still connected). */
  get heldCount(): number {
    return [...this.held.values()].reduce((sum, emails) => sum + emails.length, 0);
  }

  /** Answers the e-mails withheld so far and goes on withholding; the number answered. */
  answerHeld(): number {
    const waiting = [...this.held.values()].flat();
    this.held.clear();
    for (const { accept } of waiting) accept();
    return waiting.length;
  }

  /** Answers the withheld e-mails and stops withholding. */
  releaseReplies(): void {
    this.holding = false;
    this.keepAbandoned = false;
    this.holds = () => true;
    this.answerHeld();
  }

  /** How many e-mails each `Message-ID` header got. */
  countsByMessageId(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const email of this.received) counts.set(email.messageIdHeader, (counts.get(email.messageIdHeader) ?? 0) + 1);
    return counts;
  }
}

/** Just enough MIME for tests: headers, and the text/plain and text/html parts of a multipart body. */
function parseEmail(raw: string, to: string[]): ReceivedEmail {
  const { headers, body } = splitHeaders(raw);
  const parts: { type: string; content: string }[] = [];
  collectParts(headers, body, parts);
  return {
    from: headers.get('from') ?? '',
    to,
    subject: decodeEncodedWords(headers.get('subject') ?? ''),
    messageIdHeader: headers.get('message-id') ?? '',
    text: parts.find((part) => part.type === 'text/plain')?.content ?? '',
    html: parts.find((part) => part.type === 'text/html')?.content ?? '',
    raw,
  };
}

function splitHeaders(entity: string): { headers: Map<string, string>; body: string } {
  const end = entity.search(/\r?\n\r?\n/);
  const head = end === -1 ? entity : entity.slice(0, end);
  const body = end === -1 ? '' : entity.slice(end).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function collectParts(headers: Map<string, string>, body: string, parts: { type: string; content: string }[]): void {
  const contentType = headers.get('content-type') ?? 'text/plain';
  const type = contentType.split(';')[0].trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
    if (!boundary) return;
    for (const section of body.split(`--${boundary}`).slice(1)) {
      if (section.startsWith('--')) break;
      const part = splitHeaders(section.replace(/^\r?\n/, ''));
      collectParts(part.headers, part.body, parts);
    }
    return;
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  parts.push({ type, content: decodeBody(body, encoding) });
}

function decodeBody(body: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

function decodeQuotedPrintable(body: string): string {
  const joined = body.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let index = 0; index < joined.length; index += 1) {
    const hex = joined.slice(index + 1, index + 3);
    if (joined[index] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      index += 2;
    } else {
      bytes.push(...Buffer.from(joined[index], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeEncodedWords(value: string): string {
  return value.replace(/=\?utf-8\?([BQ])\?([^?]*)\?=/gi, (_match, kind: string, text: string) =>
    kind.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : decodeQuotedPrintable(text.replace(/_/g, ' ')),
  );
}
