import { createHash, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMigratedDatabase } from '@app/testing';
import { EmailVerificationTokensRepository } from './email-verification-tokens.repository';
import { PasswordResetTokensRepository } from './password-reset-tokens.repository';
import type { SingleUseTokenTable } from './single-use-tokens';

const LIMITS = { maxLiveTokens: 3, maxIssued: 3, windowMs: 15 * 60_000 };
/** An account the test made: its id and e-mail key (changed when its e-mail is). */
interface Account {
  id: string;
  key: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The per-account limit of both kinds of mailed single-use tokens (password reset, e-mail
 * verification) on real PostgreSQL: at most `maxIssued` tokens issued per window, however the
 * tokens issued in it ended. It counts what was issued (the account's auth events), so neither a
 * used token (a reset deletes every token of the account), nor an expired one, nor a change of
 * e-mail (which deletes both kinds) lets a caller ask again at full rate.
 */
describe('mailed single-use tokens: the per-account limit outlives the tokens (real PostgreSQL)', () => {
  let db: DataSource;
  let close: () => Promise<void>;
  let resets: PasswordResetTokensRepository;
  let verifications: EmailVerificationTokensRepository;

  beforeAll(async () => {
    ({ db, close } = await openMigratedDatabase());
    resets = new PasswordResetTokensRepository(db);
    verifications = new EmailVerificationTokensRepository(db);
  });
  afterAll(() => close?.());

  /** A fresh unverified account: its id and e-mail key. */
  async function account(): Promise<Account> {
    const key = `limit-${randomUUID()}@example.test`;
    const [{ id }] = await db.query(
      `INSERT INTO users (email, email_key, name, password_hash) VALUES ($1, $2, 'U', 'not-a-hash') RETURNING id`,
      [key, key],
    );
    return { id, key };
  }

  const message = (id: string) => ({ messageId: `test:${id}`, routingKey: 'test', payload: { id } });

  /** One request of `table`'s kind for the account (a token valid 30 minutes): whether it issued one, and the token. */
  async function request(table: SingleUseTokenTable, who: Account): Promise<{ issued: boolean; token: string }> {
    const token = randomUUID();
    const id = randomUUID();
    const now = new Date();
    const common = { ...LIMITS, tokenHash: sha256(token), now, expiresAt: new Date(now.getTime() + 30 * 60_000) };
    if (table === 'password_reset_tokens') {
      const issued = await resets.issue({
        ...common,
        emailKey: who.key,
        emailHash: sha256(who.key),
        resetId: id,
        message: message(id),
      });
      return { issued, token };
    }
    const outcome = await verifications.issue({ ...common, userId: who.id, verificationId: id, message: message(id) });
    return { issued: outcome.outcome === 'issued', token };
  }

  const liveTokens = async (table: SingleUseTokenTable, userId: string): Promise<number> =>
    (await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE user_id = $1`, [userId]))[0].n;

  /**
   * Each way the tokens issued so far end, with the kinds it applies to: a used verification
   * token verifies the account, whose requests then answer `verified`, so "used" is a reset's.
   */
  const endings: {
    name: string;
    kinds: SingleUseTokenTable[];
    end: (table: SingleUseTokenTable, who: Account, tokens: string[]) => Promise<void>;
  }[] = [
    {
      name: 'one of them is used (every token of the account goes)',
      kinds: ['password_reset_tokens'],
      end: async (_table, who, tokens) => {
        const used = await db.transaction((manager) => resets.consume(sha256(tokens[0]), new Date(), manager));
        expect(used).toBe(who.id);
      },
    },
    {
      name: 'they expire (and the next request drops them)',
      kinds: ['password_reset_tokens', 'email_verification_tokens'],
      end: async (table, who) => {
        await db.query(`UPDATE ${table} SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [who.id]);
      },
    },
    {
      name: 'the e-mail changes (an operator by hand; the trigger deletes both kinds)',
      kinds: ['password_reset_tokens', 'email_verification_tokens'],
      end: async (_table, who) => {
        const key = `moved-${randomUUID()}@example.test`;
        await db.query('UPDATE users SET email = $2, email_key = $3 WHERE id = $1', [who.id, key, key]);
        who.key = key;
      },
    },
  ];
  const cases = endings.flatMap((ending) => ending.kinds.map((table) => ({ table, ending })));

  it('issues nothing past the limit within the window, whatever ended the tokens issued in it (generated)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...cases), fc.integer({ min: 1, max: 3 }), async ({ table, ending }, extra) => {
        const who = await account();
        const tokens: string[] = [];
        for (let i = 0; i < LIMITS.maxIssued; i += 1) {
          const answer = await request(table, who);
          expect(answer.issued).toBe(true);
          tokens.push(answer.token);
        }
        await ending.end(table, who, tokens);
        expect(await liveTokens(table, who.id), ending.name).toBe(ending.name.startsWith('they expire') ? 3 : 0);
        for (let i = 0; i < extra; i += 1) {
          expect((await request(table, who)).issued, `${table}: ${ending.name}`).toBe(false);
        }
        const [{ n }] = await db.query(
          `SELECT count(*)::int AS n FROM auth_events WHERE user_id = $1 AND type = ANY($2)`,
          [who.id, ['PASSWORD_RESET_REQUESTED', 'EMAIL_VERIFICATION_REQUESTED']],
        );
        expect(n).toBe(LIMITS.maxIssued);
      }),
      { numRuns: 12 },
    );
  });

  it.each<SingleUseTokenTable>(['password_reset_tokens', 'email_verification_tokens'])(
    '%s: issues again once the window has passed, and counts only its own kind',
    async (table) => {
      const who = await account();
      for (let i = 0; i < LIMITS.maxIssued; i += 1) expect((await request(table, who)).issued).toBe(true);
      // The other kind has its own count.
      const other = table === 'password_reset_tokens' ? 'email_verification_tokens' : 'password_reset_tokens';
      expect((await request(other, who)).issued).toBe(true);
      expect((await request(table, who)).issued).toBe(false);

      await db.query(`UPDATE auth_events SET created_at = created_at - interval '16 minutes' WHERE user_id = $1`, [
        who.id,
      ]);
      expect((await request(table, who)).issued).toBe(true);
      // Still at most 3 live: the fourth replaced the oldest.
      expect(await liveTokens(table, who.id)).toBe(LIMITS.maxLiveTokens);
    },
  );

  it('answers a limited verification request the seconds until the 3rd newest request leaves the window', async () => {
    const who = await account();
    // Four in the window (an earlier, higher limit, say), 800, 600, 300 and 100 s ago: the count
    // drops below 3 when the one of 600 s ago leaves, 300 s from now.
    await db.query(
      `INSERT INTO auth_events (user_id, type, created_at)
       SELECT $1, 'EMAIL_VERIFICATION_REQUESTED', now() - make_interval(secs => age) FROM unnest($2::int[]) AS age`,
      [who.id, [800, 600, 300, 100]],
    );
    const now = new Date();
    const outcome = await verifications.issue({
      ...LIMITS,
      tokenHash: sha256(randomUUID()),
      now,
      expiresAt: new Date(now.getTime() + 30 * 60_000),
      userId: who.id,
      verificationId: randomUUID(),
      message: message(randomUUID()),
    });
    // Rounded up, from a PostgreSQL clock a moment past the insert's.
    expect(outcome).toEqual({ outcome: 'limited', retryAfterSeconds: expect.any(Number) });
    expect(outcome.outcome === 'limited' && outcome.retryAfterSeconds).toBeOneOf([299, 300]);
    expect(await liveTokens('email_verification_tokens', who.id)).toBe(0);
  });
});
