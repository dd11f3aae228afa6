import { describe, expect, it } from 'vitest';
import { Env, parseEnv } from '@app/config';
import { FakeClock } from '@app/testing';
import type { DeliveryClaim, EmailDeliveriesRepository, TransactionRunner } from '@app/database';
import {
  EMAIL_VERIFICATION_TYPE,
  emailVerificationMailKey,
  EmailVerificationMessage,
  MalformedMessageError,
  PASSWORD_RESET_TYPE,
  passwordResetMailKey,
  PasswordResetMessage,
  sealMailToken,
} from '@app/messaging/contracts';
import { EmailVerificationMailService } from './email-verification-mail.service';
import { Mailer, MailMaybeSentError, OutgoingEmail } from './mailer.port';
import { PasswordResetMailService } from './password-reset-mail.service';
import { LiveTokenRecipients, TokenMailOutcome } from './token-mail';

const REQUEST = '2c6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f';
const USER = '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const TOKEN = 'k3Jd8s0vQ2l1oPq9r8s7t6u5v4w3x2y1z0A9B8C7D6E';

/**
 * The two token mail services, each with its message sealed under a key: the verification one
 * with its link configured, the reset one without.
 */
const KINDS = [
  {
    Service: EmailVerificationMailService,
    messageId: `email-verification:${REQUEST}`,
    subject: 'Confirm your e-mail address for boxoffice',
    link: `https://shop.example.com/verify#token=${TOKEN}`,
    env: parseEnv({ EMAIL_VERIFICATION_URL: 'https://shop.example.com/verify#token={token}' }) as Env,
    ownKey: emailVerificationMailKey,
    otherKindKey: passwordResetMailKey,
    message: (key: Buffer): EmailVerificationMessage => ({
      type: EMAIL_VERIFICATION_TYPE,
      verificationId: REQUEST,
      userId: USER,
      sealedToken: sealMailToken(key, REQUEST, TOKEN),
      expiresAt: '2026-12-05T12:00:00.000Z',
    }),
  },
  {
    Service: PasswordResetMailService,
    messageId: `password-reset:${REQUEST}`,
    subject: 'Reset your boxoffice password',
    link: null,
    env: parseEnv({}) as Env,
    ownKey: passwordResetMailKey,
    otherKindKey: emailVerificationMailKey,
    message: (key: Buffer): PasswordResetMessage => ({
      type: PASSWORD_RESET_TYPE,
      resetId: REQUEST,
      userId: USER,
      sealedToken: sealMailToken(key, REQUEST, TOKEN),
      expiresAt: '2026-12-04T12:30:00.000Z',
    }),
  },
];

describe.each(KINDS)('$service', (kind) => {
  const ownKey = kind.ownKey(kind.env.TICKET_SIGNING_SECRET!);

  /** The service over fakes: the live request's recipient (none: stale), claims already taken, what the mailer does. */
  function serviceWith(options: {
    live?: boolean;
    claimed?: string[];
    send?: () => Promise<{ smtpMessageId: string }>;
  }): { deliver: (key: Buffer) => Promise<TokenMailOutcome>; sent: OutgoingEmail[]; recorded: string[] } {
    const sent: OutgoingEmail[] = [];
    const recorded: string[] = [];
    const claims = new Set(options.claimed ?? []);
    const tokens: LiveTokenRecipients = {
      recipientOfLive: async () => (options.live === false ? null : { email: 'ana@example.test' }),
    };
    const deliveries = {
      claim: async (_manager: unknown, claim: DeliveryClaim) => {
        expect(claim.purchaseId).toBeNull();
        if (claims.has(claim.messageId)) return false;
        claims.add(claim.messageId);
        return true;
      },
      recordSent: async (_manager: unknown, id: string, smtpId: string) => void recorded.push(`sent ${id} ${smtpId}`),
      recordUncertain: async (_manager: unknown, id: string) => void recorded.push(`uncertain ${id}`),
    } as unknown as EmailDeliveriesRepository;
    const transactions = {
      run: (work: (manager: unknown) => Promise<unknown>) => work({}),
    } as unknown as TransactionRunner;
    const mailer: Mailer = {
      send: async (email: OutgoingEmail) => {
        sent.push(email);
        return options.send ? options.send() : { smtpMessageId: '<smtp-1>' };
      },
    };
    const clock = new FakeClock(Date.parse('2026-12-04T12:00:00Z'));
    // Each service's own repository and message type; the fake answers as either.
    const service = new kind.Service(tokens as never, deliveries, transactions, mailer, clock, kind.env);
    return { deliver: (key) => service.deliver(kind.message(key) as never), sent, recorded };
  }

  it('sends the opened token (and the link, when configured) to the account, and records the delivery', async () => {
    const { deliver, sent, recorded } = serviceWith({});
    await expect(deliver(ownKey)).resolves.toBe('sent');
    expect(sent).toHaveLength(1);
    // The address alone: the name was chosen by whoever signed up (accounts trial A6).
    expect(sent[0].to).toEqual({ name: '', address: 'ana@example.test' });
    expect(sent[0].subject).toBe(kind.subject);
    expect(sent[0].stream).toBe('urgent');
    expect(sent[0].text).toContain(`Token:  ${TOKEN}`);
    expect(sent[0].html).toContain(TOKEN);
    expect(sent[0].html).toContain('<p>Hello,</p>');
    if (kind.link === null) expect(sent[0].text).not.toContain('http');
    else expect(sent[0].text).toContain(kind.link);
    expect(sent[0].messageIdHeader).toBe(`<${kind.messageId.replace(':', '.')}@boxoffice.local>`);
    expect(recorded).toEqual([`sent ${kind.messageId} <smtp-1>`]);
  });

  it('sends nothing for a token that no longer works (used, replaced, voided or expired)', async () => {
    const { deliver, sent } = serviceWith({ live: false });
    await expect(deliver(ownKey)).resolves.toBe('stale');
    expect(sent).toEqual([]);
  });

  it('sends nothing twice for a redelivered message', async () => {
    const { deliver, sent } = serviceWith({ claimed: [kind.messageId] });
    await expect(deliver(ownKey)).resolves.toBe('already-sent');
    expect(sent).toEqual([]);
  });

  it('keeps the claim of an e-mail that reached the server unanswered', async () => {
    const { deliver, recorded } = serviceWith({
      send: async () => {
        throw new MailMaybeSentError('timeout');
      },
    });
    await expect(deliver(ownKey)).resolves.toBe('uncertain');
    expect(recorded).toEqual([`uncertain ${kind.messageId}`]);
  });

  it("refuses for good a token sealed under another key (the other kind's, another secret's)", async () => {
    const { deliver, sent } = serviceWith({});
    await expect(deliver(kind.otherKindKey(kind.env.TICKET_SIGNING_SECRET!))).rejects.toThrow(MalformedMessageError);
    await expect(deliver(kind.ownKey('y'.repeat(40)))).rejects.toThrow(MalformedMessageError);
    expect(sent).toEqual([]);
  });
});
