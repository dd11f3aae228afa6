import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, TEST_PASSWORD, TestSession, waitForValue, waitUntil } from '@app/testing';
import type { ReceivedEmail } from '@app/testing';
import { dataSourceOf } from '../../mailer/test/mail-harness';
import { MailStack, startMailStack } from './support/mail';
import { expectUniform } from './support/http';

const NEW_PASSWORD = 'a changed password 77';
const INVALID_CHANGE_TOKEN = 'e-mail change token is invalid or expired; ask for a new one';
/** A client address of its own for each request, so no per-address limit gets in the way. */
let addresses = 0;
const nextAddress = () => `10.81.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

/**
 * The account's security e-mails (accounts trial A4) on real PostgreSQL, Redis and RabbitMQ, through
 * the outbox, the relay and the mailer to an SMTP server this file runs: the notice after a change
 * or reset of the password, and a change of the e-mail address (token to the new address, notice
 * to the old one, the address changed only by the token).
 */
describe('account notices and the change of e-mail address (API → outbox → RabbitMQ → mailer → SMTP)', () => {
  let { smtp, api, relay, mailer, call, close } = {} as MailStack;
  let db: DataSource;

  beforeAll(async () => {
    ({ smtp, api, relay, mailer, call, close } = await startMailStack());
    db = dataSourceOf(relay);
  });
  afterAll(async () => {
    await mailer?.close();
    await close?.();
  });

  const post = (url: string, body: object, session?: TestSession) =>
    call('POST', url, { body, session, headers: { 'x-forwarded-for': nextAddress() } });
  const login = (email: string, password = TEST_PASSWORD) => post('/auth/login', { email, password });
  const me = (accessToken: string) => call('GET', '/users/me', { headers: { authorization: `Bearer ${accessToken}` } });
  const mailsTo = (email: string, subject?: string) =>
    smtp.received.filter((mail) => mail.to.includes(email) && (subject === undefined || mail.subject === subject));
  const mailTo = (email: string, subject: string) =>
    waitForValue(() => mailsTo(email, subject)[0], `"${subject}" to ${email}`);
  const tokenOf = (mail: ReceivedEmail) => {
    const token = /Token: +([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
    expect(token, mail.text).toMatch(/^[A-Za-z0-9_-]{43}$/);
    return token!;
  };
  /** Every outbox row relayed. */
  const relayed = () =>
    waitUntil(async () => (await db.query('SELECT count(*)::int AS n FROM outbox'))[0].n === 0, 'outbox relayed');
  /** The account's auth events, oldest first, each with the message ids of its recorded e-mail deliveries. */
  const eventsOf = async (userId: string): Promise<{ id: string; type: string; deliveries: string[] }[]> =>
    db.query(
      `SELECT e.id::text, e.type,
              coalesce((SELECT array_agg(d.message_id) FROM email_deliveries d
                        WHERE d.message_id = 'account-notice:' || e.id), '{}') AS deliveries
       FROM auth_events e WHERE e.user_id = $1 ORDER BY e.id`,
      [userId],
    );
  const newAddress = (tag: string) => `${tag}-${randomBytes(6).toString('hex')}@example.test`;

  describe('"your password was changed"', () => {
    it('tells the account’s address after a change while signed in, once, with when and what to do, and no secret', async () => {
      const user = await createSession(api.app);
      const wrong = await post(
        '/auth/password',
        { currentPassword: 'not the password 1', newPassword: NEW_PASSWORD },
        user,
      );
      expectUniform(wrong, 401);
      const res = await post('/auth/password', { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }, user);
      expect(res.statusCode, res.body).toBe(200);
      const notice = await mailTo(user.email, 'Your boxoffice password was changed');
      expect(notice.text).toMatch(
        /^On \w+day, \d+ \w+ \d{4}, \d\d:\d\d UTC the password of your boxoffice account was changed/m,
      );
      expect(notice.text).toContain('POST /api/v1/auth/password-reset');
      expect(notice.text).toContain('reply to this e-mail');
      for (const part of [notice.text, notice.html, notice.raw]) {
        expect(part).not.toContain(NEW_PASSWORD);
        expect(part).not.toContain(TEST_PASSWORD);
      }
      // The wrong password recorded nothing; the change one event, its notice delivered once, named by it.
      const events = await waitForValue(async () => {
        const found = await eventsOf(user.id);
        return found[1]?.deliveries.length ? found : undefined;
      }, 'the notice recorded');
      expect(events.map(({ type, deliveries }) => [type, deliveries.length])).toEqual([
        ['SIGNED_UP', 0],
        ['PASSWORD_CHANGED', 1],
      ]);
      expect(events[1].deliveries).toEqual([`account-notice:${events[1].id}`]);
      expect(notice.messageIdHeader).toContain(`account-notice.${events[1].id}@`);
      await relayed();
      expect(mailsTo(user.email)).toHaveLength(1);
    });

    it('tells the account’s address after a completed reset, not after a request alone', async () => {
      const user = await createSession(api.app);
      expect((await post('/auth/password-reset', { email: user.email })).statusCode).toBe(202);
      const token = tokenOf(await mailTo(user.email, 'Reset your boxoffice password'));
      expect(mailsTo(user.email, 'Your boxoffice password was reset')).toEqual([]);
      const done = await post('/auth/password-reset/confirm', { token, password: NEW_PASSWORD });
      expect(done.statusCode, done.body).toBe(204);
      const notice = await mailTo(user.email, 'Your boxoffice password was reset');
      expect(notice.text).toContain('set with a password-reset link sent to this address');
      expect(notice.text).not.toContain(token);
      const reset = (await eventsOf(user.id)).filter((event) => event.type === 'PASSWORD_RESET');
      expect(reset).toHaveLength(1);
      expect(notice.messageIdHeader).toContain(`account-notice.${reset[0].id}@`);
    });
  });

  describe('"your account was deleted"', () => {
    it('tells the old address once the account is deleted, naming the ACCOUNT_DELETED record', async () => {
      const user = await createSession(api.app);
      const res = await call('DELETE', '/users/me', {
        body: { password: TEST_PASSWORD },
        session: user,
        headers: { 'x-forwarded-for': nextAddress() },
      });
      expect(res.statusCode, res.body).toBe(204);
      const notice = await mailTo(user.email, 'Your boxoffice account was deleted');
      expect(notice.text).toContain('this address is free to sign up with again');
      expect(notice.text).toContain('reply to this e-mail');
      expect(notice.text).not.toContain(TEST_PASSWORD);
      const deleted = (await eventsOf(user.id)).filter((event) => event.type === 'ACCOUNT_DELETED');
      expect(deleted).toHaveLength(1);
      expect(notice.messageIdHeader).toContain(`account-notice.${deleted[0].id}@`);
      // The outbox row, which held the address, is gone once relayed.
      await relayed();
      expect(mailsTo(user.email)).toHaveLength(1);
    });
  });

  describe('POST /auth/email and /auth/email/confirm', () => {
    const ask = (session: TestSession, newEmail: string, password = TEST_PASSWORD) =>
      post('/auth/email', { password, newEmail }, session);
    const confirm = (body: object, session?: TestSession) => post('/auth/email/confirm', body, session);

    it('mails a token to the new address and a notice to the old one; the token, with the account, changes the address', async () => {
      const user = await createSession(api.app);
      const other = await createSession(api.app);
      const otherLogin = (await login(user.email)).json();
      const target = newAddress('moved');
      const res = await ask(user, `  ${target.toUpperCase()} `);
      expect(res.statusCode, res.body).toBe(202);
      expect(res.json()).toEqual({
        message:
          'an e-mail to confirm the new address is on its way to it; the address changes once its token is sent back',
      });
      const tokenMail = await mailTo(target, 'Confirm your new e-mail address for boxoffice');
      expect(tokenMail.to).toEqual([target]);
      const token = tokenOf(tokenMail);
      const requested = await mailTo(user.email, 'A change of your boxoffice e-mail address was asked for');
      expect(requested.text).toContain(`to change its e-mail address to ${target}`);
      expect(requested.text).not.toContain(token);
      // Nothing changed yet: the old address still signs in, the account still has it.
      expect((await me(user.accessToken)).json()).toMatchObject({ email: user.email });
      expect((await login(user.email)).statusCode).toBe(200);

      // The token proves the inbox only: the account must be proven too, and another's session is no proof.
      const bare = await confirm({ token });
      expectUniform(bare, 401);
      expect(bare.json().details).toEqual({ code: 'VerificationOwnerRequired' });
      const foreign = await confirm({ token }, other);
      expectUniform(foreign, 400);
      expect(foreign.json().message).toBe(INVALID_CHANGE_TOKEN);
      expectUniform(await confirm({ token, password: 'not the password 1' }), 401);

      const done = await confirm({ token }, user);
      expect(done.statusCode, done.body).toBe(204);
      // Every session has ended, the confirming one's too: their tokens name the old address.
      expect((await me(user.accessToken)).statusCode).toBe(401);
      expect((await me(otherLogin.accessToken)).statusCode).toBe(401);
      expect((await post('/auth/refresh', { refreshToken: otherLogin.refreshToken })).statusCode).toBe(401);
      expect((await login(user.email)).statusCode).toBe(401);
      const fresh = await login(target);
      expect(fresh.statusCode).toBe(200);
      expect((await me(fresh.json().accessToken)).json()).toMatchObject({
        id: user.id,
        email: target,
        emailVerified: true,
      });
      const changed = await mailTo(user.email, 'Your boxoffice e-mail address was changed');
      expect(changed.text).toContain(`changed to ${target}`);
      // Used up (the session that used it has ended: the password proves the account now).
      const again = await confirm({ token, password: TEST_PASSWORD });
      expectUniform(again, 400);
      expect(again.json().message).toBe(INVALID_CHANGE_TOKEN);
      await relayed();
      expect(mailsTo(target)).toHaveLength(1);
      expect(mailsTo(user.email)).toHaveLength(2);
      // The request's one record names both of its e-mails' limits and its notice.
      const events = await waitForValue(async () => {
        const found = await eventsOf(user.id);
        return found.every((event) => event.type === 'SIGNED_UP' || event.deliveries.length > 0) ? found : undefined;
      }, 'both notices recorded');
      expect(events.map(({ type, deliveries }) => [type, deliveries.length])).toEqual([
        ['SIGNED_UP', 0],
        ['EMAIL_CHANGE_REQUESTED', 1],
        ['EMAIL_CHANGED', 1],
      ]);
    });

    it('refuses a wrong password (401), the own address (400), a taken one (409, as signup) and no session (401), sending nothing', async () => {
      const user = await createSession(api.app);
      const taken = await createSession(api.app);
      const target = newAddress('refused');
      expectUniform(await ask(user, target, 'not the password 1'), 401);
      const same = await ask(user, user.email.toUpperCase());
      expectUniform(same, 400);
      expect(same.json().message).toBe('the new e-mail address is the address of this account already');
      const conflict = await ask(user, taken.email);
      expectUniform(conflict, 409);
      expect(conflict.json().message).toBe('e-mail is already registered');
      const signup = await post('/auth/signup', { email: taken.email, password: 'another long password 5', name: 'x' });
      expect(signup.json().message).toBe(conflict.json().message);
      expectUniform(await ask(user, 'not an address'), 400);
      expectUniform(await post('/auth/email', { password: TEST_PASSWORD, newEmail: target }), 401);
      // Nothing stored, so nothing to send: no token, no record, no outbox row.
      expect((await eventsOf(user.id)).map((event) => event.type)).toEqual(['SIGNED_UP']);
      expect(await db.query('SELECT 1 FROM email_change_tokens WHERE user_id = $1', [user.id])).toEqual([]);
      expect((await me(user.accessToken)).json()).toMatchObject({ email: user.email });
    });

    it('refuses an expired token, and one voided by a change of the password (400), changing nothing', async () => {
      const user = await createSession(api.app);
      const expiring = newAddress('expired');
      expect((await ask(user, expiring)).statusCode).toBe(202);
      const expiredToken = tokenOf(await mailTo(expiring, 'Confirm your new e-mail address for boxoffice'));
      await db.query(`UPDATE email_change_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [
        user.id,
      ]);
      const expired = await confirm({ token: expiredToken }, user);
      expectUniform(expired, 400);
      expect(expired.json().message).toBe(INVALID_CHANGE_TOKEN);

      const voided = newAddress('voided');
      expect((await ask(user, voided)).statusCode).toBe(202);
      const voidedToken = tokenOf(await mailTo(voided, 'Confirm your new e-mail address for boxoffice'));
      const pair = await post('/auth/password', { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }, user);
      expect(pair.statusCode).toBe(200);
      expectUniform(await confirm({ token: voidedToken, password: NEW_PASSWORD }), 400);
      expect((await me(pair.json().accessToken)).json()).toMatchObject({ email: user.email });
    });

    it('asks at most 3 changes per account in 15 minutes (429 TooManyEmailChanges with Retry-After)', async () => {
      const user = await createSession(api.app);
      for (let i = 0; i < 3; i++) expect((await ask(user, newAddress(`limit${i}`))).statusCode).toBe(202);
      const over = await ask(user, newAddress('limit3'));
      expectUniform(over, 429);
      expect(over.json().details).toEqual({ code: 'TooManyEmailChanges' });
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('lets exactly one of two accounts confirming the same new address have it; the other gets 409 and keeps its own', async () => {
      const first = await createSession(api.app);
      const second = await createSession(api.app);
      const target = newAddress('contested');
      expect((await ask(first, target)).statusCode).toBe(202);
      expect((await ask(second, target)).statusCode).toBe(202);
      const mails = await waitForValue(
        () => (mailsTo(target).length >= 2 ? mailsTo(target) : undefined),
        `two tokens to ${target}`,
      );
      const tokens = mails.map(tokenOf);
      const [a, b] = await Promise.all([
        confirm({ token: tokens[0], password: TEST_PASSWORD }),
        confirm({ token: tokens[1], password: TEST_PASSWORD }),
      ]);
      expect([a.statusCode, b.statusCode].sort()).toEqual([204, 409]);
      const loser = a.statusCode === 409 ? a : b;
      expectUniform(loser, 409);
      expect(loser.json().message).toBe('e-mail is already registered');
      const owners = await db.query(`SELECT id, email FROM users WHERE email = $1`, [target]);
      expect(owners).toHaveLength(1);
      const losingId = owners[0].id === first.id ? second.id : first.id;
      const [kept] = await db.query(`SELECT email, email_verified_at FROM users WHERE id = $1`, [losingId]);
      expect(kept.email).toBe(losingId === first.id ? first.email : second.email);
      expect((await login(target)).statusCode).toBe(200);
    });
  });
});
