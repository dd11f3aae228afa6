import { describe, expect, it } from 'vitest';
import { Env, parseEnv } from '@app/config';
import { FakeClock } from '@app/testing';
import type {
  DeliveryClaim,
  EmailDeliveriesRepository,
  PasswordResetTokensRepository,
  TransactionRunner,
} from '@app/database';
import {
  MalformedMessageError,
  PASSWORD_RESET_TYPE,
  PasswordResetMessage,
  passwordResetMailKey,
  sealMailToken,
} from '@app/messaging/contracts';
import { Mailer, MailMaybeSentError, OutgoingEmail } from './mailer.port';
import { PasswordResetMailService } from './password-reset-mail.service';

const RESET = '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f';
const TOKEN = 'k3Jd8s0vQ2l1oPq9r8s7t6u5v4w3x2y1z0A9B8C7D6E';
const env = parseEnv({}) as Env;

function message(key = passwordResetMailKey(env.TICKET_SIGNING_SECRET!)): PasswordResetMessage {
  return {
    type: PASSWORD_RESET_TYPE,
    resetId: RESET,
    userId: '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    sealedToken: sealMailToken(key, RESET, TOKEN),
    expiresAt: '2026-12-04T12:30:00.000Z',
  };
}

/** The service over fakes: the live request's recipient (null: stale), claims already taken, what the mailer does. */
function serviceWith(options: { live?: boolean; claimed?: string[]; send?: () => Promise<{ smtpMessageId: string }> }) {
  const sent: OutgoingEmail[] = [];
  const recorded: string[] = [];
  const claims = new Set(options.claimed ?? []);
  const resets = {
    recipientOfLive: async () => (options.live === false ? null : { email: 'ana@example.test', name: 'Ana <b>' }),
  } as unknown as PasswordResetTokensRepository;
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
  const service = new PasswordResetMailService(
    resets,
    deliveries,
    transactions,
    mailer,
    new FakeClock(Date.parse('2026-12-04T12:00:00Z')),
    env,
  );
  return { service, sent, recorded };
}

describe('PasswordResetMailService', () => {
  it('sends the opened token to the account and records the delivery', async () => {
    const { service, sent, recorded } = serviceWith({});
    await expect(service.deliver(message())).resolves.toBe('sent');
    expect(sent).toHaveLength(1);
    expect(sent[0].to).toEqual({ name: 'Ana <b>', address: 'ana@example.test' });
    expect(sent[0].text).toContain(`Token:  ${TOKEN}`);
    expect(sent[0].html).toContain(TOKEN);
    expect(sent[0].html).toContain('Ana &lt;b&gt;');
    expect(sent[0].messageIdHeader).toBe(`<password-reset.${RESET}@boxoffice.local>`);
    expect(recorded).toEqual([`sent password-reset:${RESET} <smtp-1>`]);
  });

  it('sends nothing for a request no longer live (used, replaced or expired)', async () => {
    const { service, sent } = serviceWith({ live: false });
    await expect(service.deliver(message())).resolves.toBe('stale');
    expect(sent).toEqual([]);
  });

  it('sends nothing twice for a redelivered message', async () => {
    const { service, sent } = serviceWith({ claimed: [`password-reset:${RESET}`] });
    await expect(service.deliver(message())).resolves.toBe('already-sent');
    expect(sent).toEqual([]);
  });

  it('keeps the claim of an e-mail that reached the server unanswered', async () => {
    const { service, recorded } = serviceWith({
      send: async () => {
        throw new MailMaybeSentError('timeout');
      },
    });
    await expect(service.deliver(message())).resolves.toBe('uncertain');
    expect(recorded).toEqual([`uncertain password-reset:${RESET}`]);
  });

  it('refuses for good a token sealed under another key', async () => {
    const { service, sent } = serviceWith({});
    await expect(service.deliver(message(passwordResetMailKey('y'.repeat(40))))).rejects.toThrow(MalformedMessageError);
    expect(sent).toEqual([]);
  });
});
