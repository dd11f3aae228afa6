import { describe, expect, it } from 'vitest';
import { Env, parseEnv } from '@app/config';
import { FakeClock } from '@app/testing';
import type {
  DeliveryClaim,
  EmailDeliveriesRepository,
  EmailVerificationTokensRepository,
  TransactionRunner,
} from '@app/database';
import {
  EMAIL_VERIFICATION_TYPE,
  emailVerificationMailKey,
  EmailVerificationMessage,
  MalformedMessageError,
  passwordResetMailKey,
  sealMailToken,
} from '@app/messaging/contracts';
import { EmailVerificationMailService } from './email-verification-mail.service';
import { Mailer, OutgoingEmail } from './mailer.port';

const VERIFICATION = '2c6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f';
const TOKEN = 'k3Jd8s0vQ2l1oPq9r8s7t6u5v4w3x2y1z0A9B8C7D6E';
const env = parseEnv({ EMAIL_VERIFICATION_URL: 'https://shop.example.com/verify#token={token}' }) as Env;

function message(key = emailVerificationMailKey(env.TICKET_SIGNING_SECRET!)): EmailVerificationMessage {
  return {
    type: EMAIL_VERIFICATION_TYPE,
    verificationId: VERIFICATION,
    userId: '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    sealedToken: sealMailToken(key, VERIFICATION, TOKEN),
    expiresAt: '2026-12-05T12:00:00.000Z',
  };
}

/** The service over fakes: the live request's recipient (null: stale), claims already taken. */
function serviceWith(options: { live?: boolean; claimed?: string[] }) {
  const sent: OutgoingEmail[] = [];
  const recorded: string[] = [];
  const claims = new Set(options.claimed ?? []);
  const tokens = {
    recipientOfLive: async () => (options.live === false ? null : { email: 'ana@example.test', name: 'Ana' }),
  } as unknown as EmailVerificationTokensRepository;
  const deliveries = {
    claim: async (_manager: unknown, claim: DeliveryClaim) => {
      expect(claim.purchaseId).toBeNull();
      if (claims.has(claim.messageId)) return false;
      claims.add(claim.messageId);
      return true;
    },
    recordSent: async (_manager: unknown, id: string, smtpId: string) => void recorded.push(`sent ${id} ${smtpId}`),
  } as unknown as EmailDeliveriesRepository;
  const transactions = {
    run: (work: (manager: unknown) => Promise<unknown>) => work({}),
  } as unknown as TransactionRunner;
  const mailer: Mailer = {
    send: async (email: OutgoingEmail) => {
      sent.push(email);
      return { smtpMessageId: '<smtp-1>' };
    },
  };
  const service = new EmailVerificationMailService(
    tokens,
    deliveries,
    transactions,
    mailer,
    new FakeClock(Date.parse('2026-12-04T12:00:00Z')),
    env,
  );
  return { service, sent, recorded };
}

describe('EmailVerificationMailService', () => {
  it('sends the opened token and the link to the account, and records the delivery', async () => {
    const { service, sent, recorded } = serviceWith({});
    await expect(service.deliver(message())).resolves.toBe('sent');
    expect(sent).toHaveLength(1);
    expect(sent[0].to).toEqual({ name: 'Ana', address: 'ana@example.test' });
    expect(sent[0].subject).toBe('Confirm your e-mail address for boxoffice');
    expect(sent[0].text).toContain(`Token:  ${TOKEN}`);
    expect(sent[0].text).toContain(`https://shop.example.com/verify#token=${TOKEN}`);
    expect(sent[0].messageIdHeader).toBe(`<email-verification.${VERIFICATION}@boxoffice.local>`);
    expect(recorded).toEqual([`sent email-verification:${VERIFICATION} <smtp-1>`]);
  });

  it('sends nothing for a token that no longer works (used, replaced, voided or expired)', async () => {
    const { service, sent } = serviceWith({ live: false });
    await expect(service.deliver(message())).resolves.toBe('stale');
    expect(sent).toEqual([]);
  });

  it('sends nothing twice for a redelivered message', async () => {
    const { service, sent } = serviceWith({ claimed: [`email-verification:${VERIFICATION}`] });
    await expect(service.deliver(message())).resolves.toBe('already-sent');
    expect(sent).toEqual([]);
  });

  it('refuses for good a token sealed under another key (the reset key included)', async () => {
    const { service, sent } = serviceWith({});
    await expect(service.deliver(message(passwordResetMailKey(env.TICKET_SIGNING_SECRET!)))).rejects.toThrow(
      MalformedMessageError,
    );
    expect(sent).toEqual([]);
  });
});
