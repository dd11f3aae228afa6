import { createHash, randomBytes } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccountsService, Role } from '@app/auth';
import { Clock, emailKey } from '@app/core';
import { ApiHarness, createSession, TEST_PASSWORD, TestSmtpServer, waitForValue, waitUntil } from '@app/testing';
import { dataSourceOf, startMailer, startRelay } from '../../mailer/test/mail-harness';
import { caller } from './purchase-helpers';
import { startTestApi } from './support/api';
import { expectUniform } from './support/http';

const ACCEPTED = { message: 'if an account has this e-mail, a password reset e-mail is on its way' };
const INVALID_TOKEN = 'password reset token is invalid or expired; ask for a new one';
const NEW_PASSWORD = 'a brand new password 42';

/**
 * Password reset by e-mail on real PostgreSQL, Redis and RabbitMQ: the request goes through the
 * outbox, the relay and the mailer to an SMTP server this file runs, and the token is read from
 * the e-mail it received.
 */
describe('password reset by e-mail (API → outbox → RabbitMQ → mailer → SMTP)', () => {
  let smtp: TestSmtpServer;
  let api: ApiHarness;
  let relay: INestApplicationContext;
  let mailer: INestApplicationContext;
  let db: DataSource;
  let call: ReturnType<typeof caller>;
  /** A client address of its own for each request that does not test the per-address limit. */
  let addresses = 0;
  const nextAddress = () => `10.77.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

  beforeAll(async () => {
    smtp = await TestSmtpServer.create();
    api = await startTestApi({ SMTP_URL: smtp.url });
    relay = await startRelay(api.env);
    mailer = await startMailer(api.env);
    call = caller(api.app);
    db = dataSourceOf(relay);
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await mailer?.close();
    await relay?.close();
    await api?.close();
    await smtp?.stop();
  });

  const requestReset = (email: unknown, address = nextAddress()) =>
    call('POST', '/auth/password-reset', { body: { email }, headers: { 'x-forwarded-for': address } });
  const confirm = (body: object) => call('POST', '/auth/password-reset/confirm', { body });
  const login = (email: string, password: string) =>
    call('POST', '/auth/login', { body: { email, password }, headers: { 'x-forwarded-for': nextAddress() } });
  /** The reset e-mails to `email` (a completed reset also sends a notice: account-mail.e2e-spec.ts). */
  const mailsTo = (email: string) =>
    smtp.received.filter((mail) => mail.to.includes(email) && mail.subject === 'Reset your boxoffice password');

  /** The token of the `nth` (1-based) reset e-mail to `email`, once it arrived. */
  async function tokenFromMail(email: string, nth = 1): Promise<string> {
    const mail = await waitForValue(() => mailsTo(email)[nth - 1], `reset e-mail ${nth} to ${email}`);
    const token = /Token: +([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
    expect(token, mail.text).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(mail.html).toContain(token);
    return token!;
  }

  it('mails a single-use token that sets a new password and ends every session', async () => {
    const user = await createSession(api.app);
    const asked = await requestReset(user.email.toUpperCase());
    expect(asked.statusCode, asked.body).toBe(202);
    expect(asked.json()).toEqual(ACCEPTED);

    const token = await tokenFromMail(user.email);
    const mail = mailsTo(user.email)[0];
    expect(mail.subject).toBe('Reset your boxoffice password');
    // Only the token's SHA-256 is in PostgreSQL, and the message carried it sealed.
    const [row] = await db.query('SELECT id, token_hash FROM password_reset_tokens WHERE user_id = $1', [user.id]);
    expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(mail.messageIdHeader).toContain(`password-reset.${row.id}`);
    // The mailer records the delivery after SMTP accepted the mail: waited for, not read at once.
    const delivery = await waitForValue(
      async () =>
        (
          (await db.query('SELECT purchase_id, recipient FROM email_deliveries WHERE message_id = $1', [
            `password-reset:${row.id}`,
          ])) as unknown[]
        )[0],
      'the delivery record',
    );
    expect(delivery).toEqual({ purchase_id: null, recipient: user.email });
    // Only a password-reset e-mail may be of no purchase.
    await expect(
      db.query(`INSERT INTO email_deliveries (message_id, purchase_id, recipient) VALUES ($1, NULL, $2)`, [
        `purchase-completed:${randomBytes(8).toString('hex')}`,
        user.email,
      ]),
    ).rejects.toThrow(/email_deliveries_purchase_id_check/);

    const done = await confirm({ token, password: NEW_PASSWORD });
    expect(done.statusCode, done.body).toBe(204);
    expect(done.body).toBe('');

    expect((await login(user.email, TEST_PASSWORD)).statusCode).toBe(401);
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
    const refreshed = await call('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expectUniform(refreshed, 401);
    const events = await db.query('SELECT type FROM auth_events WHERE user_id = $1 ORDER BY id', [user.id]);
    expect(events.map((event: { type: string }) => event.type)).toEqual([
      'SIGNED_UP',
      'PASSWORD_RESET_REQUESTED',
      'PASSWORD_RESET',
      // The token came to the inbox: the unconfirmed address is confirmed by the reset.
      'EMAIL_VERIFIED',
    ]);

    // Used once, it is gone: the same answer as a token that never was.
    const again = expectUniform(await confirm({ token, password: 'yet another password' }), 400);
    expect(again.message).toBe(INVALID_TOKEN);
    const unknown = expectUniform(
      await confirm({ token: randomBytes(32).toString('base64url'), password: NEW_PASSWORD }),
      400,
    );
    expect(unknown.message).toBe(INVALID_TOKEN);
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('refuses a new password of only white space, one character repeated or a run with 400, keeping the token and the sessions', async () => {
    const user = await createSession(api.app);
    expect((await requestReset(user.email)).statusCode).toBe(202);
    const token = await tokenFromMail(user.email);
    for (const [password, reason] of [
      ['        ', 'password must not be only white space'],
      ['11111111', 'password must not be one character repeated'],
      ['9876543210', 'password must not be a run of consecutive characters, such as 12345678 or abcdefgh'],
    ]) {
      expect(expectUniform(await confirm({ token, password }), 400).message, password).toEqual([reason]);
    }
    // Nothing changed: the old password and session still work, and the token still sets a good password.
    expect((await login(user.email, TEST_PASSWORD)).statusCode).toBe(200);
    const refreshed = await call('POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    expect((await confirm({ token, password: NEW_PASSWORD })).statusCode).toBe(204);
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it("refuses the token's own account's e-mail, local part or name with 400, keeping the token", async () => {
    const user = await createSession(api.app, { name: 'Ada Lovelace' });
    expect((await requestReset(user.email)).statusCode).toBe(202);
    const token = await tokenFromMail(user.email);
    const localPart = user.email.slice(0, user.email.indexOf('@'));
    for (const password of [user.email.toUpperCase(), `${localPart}2024!`, 'Ada Lovelace 1815']) {
      expect([expectUniform(await confirm({ token, password }), 400).message].flat(), password).toEqual([
        'password must not be your e-mail address or your name',
      ]);
    }
    expect((await login(user.email, TEST_PASSWORD)).statusCode).toBe(200);
    expect((await confirm({ token, password: NEW_PASSWORD })).statusCode).toBe(204);
  });

  it('takes a token pasted with white space and line breaks around it; a space inside makes it unknown', async () => {
    const user = await createSession(api.app);
    expect((await requestReset(user.email)).statusCode).toBe(202);
    const token = await tokenFromMail(user.email);
    const split = `${token.slice(0, 20)}\n${token.slice(20)}`;
    expect(expectUniform(await confirm({ token: split, password: NEW_PASSWORD }), 400).message).toBe(INVALID_TOKEN);
    expect((await confirm({ token: `\t${token} \r\n`, password: NEW_PASSWORD })).statusCode).toBe(204);
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('answers an unknown e-mail exactly as a known one, and mails no one', async () => {
    const unknownEmail = `nobody-${Date.now()}@example.test`;
    const unknown = await requestReset(unknownEmail);
    expect(unknown.statusCode).toBe(202);
    expect(unknown.json()).toEqual(ACCEPTED);
    // A known account's request after it: once its e-mail arrived, the first had its turn.
    const user = await createSession(api.app);
    const known = await requestReset(user.email);
    expect(known.statusCode).toBe(202);
    expect(known.body).toBe(unknown.body);
    expect(Object.keys(known.headers).sort()).toEqual(Object.keys(unknown.headers).sort());
    await tokenFromMail(user.email);
    expect(mailsTo(unknownEmail)).toEqual([]);
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM email_deliveries WHERE recipient = $1`, [
      unknownEmail,
    ]);
    expect(n).toBe(0);
  });

  it('keeps the request rows about a day deep: each request prunes up to two rows older than a day', async () => {
    const count = async () =>
      ((await db.query(`SELECT count(*)::int AS n FROM password_reset_requests`)) as { n: number }[])[0].n;
    for (const n of [1, 2, 3])
      expect((await requestReset(`prune-${n}-${Date.now()}@example.test`)).statusCode).toBe(202);
    // Every row so far made older than a day, but the newest.
    await db.query(
      `UPDATE password_reset_requests SET created_at = now() - interval '2 days'
        WHERE id < (SELECT max(id) FROM password_reset_requests)`,
    );
    const old = async () =>
      (
        (await db.query(
          `SELECT count(*)::int AS n FROM password_reset_requests WHERE created_at < now() - interval '1 day'`,
        )) as { n: number }[]
      )[0].n;
    const before = { all: await count(), old: await old() };
    expect(before.old).toBeGreaterThanOrEqual(2);
    expect((await requestReset(`prune-b-${Date.now()}@example.test`)).statusCode).toBe(202);
    expect(await old()).toBe(before.old - 2);
    expect(await count()).toBe(before.all - 1);
  });

  it('refuses an expired token with the same message, and takes it while still valid', async () => {
    const user = await createSession(api.app);
    expect((await requestReset(user.email)).statusCode).toBe(202);
    const token = await tokenFromMail(user.email);

    // PASSWORD_RESET_TTL_MINUTES (30) and a second later, on the api's clock.
    const clock = api.app.get(Clock);
    const later = new Date(Date.now() + 30 * 60_000 + 1000);
    vi.spyOn(clock, 'now').mockImplementation(() => later);
    const expired = expectUniform(await confirm({ token, password: NEW_PASSWORD }), 400);
    expect(expired.message).toBe(INVALID_TOKEN);
    expect((await login(user.email, TEST_PASSWORD)).statusCode).toBe(200);

    vi.restoreAllMocks();
    expect((await confirm({ token, password: NEW_PASSWORD })).statusCode).toBe(204);
  });

  it('lets exactly one of 50 concurrent confirms of one token through', async () => {
    const user = await createSession(api.app);
    expect((await requestReset(user.email)).statusCode).toBe(202);
    const token = await tokenFromMail(user.email);

    const passwords = Array.from({ length: 50 }, (_, i) => `concurrent password ${i}`);
    const answers = await Promise.all(passwords.map((password) => confirm({ token, password })));
    const codes = answers.map((answer) => answer.statusCode);
    expect(codes.filter((code) => code === 204)).toHaveLength(1);
    // The others are refused: the token is used (400), or, on a starved host, the api gave up
    // waiting for a PostgreSQL connection (503, DATABASE_ACQUIRE_TIMEOUT_MS) while 49 argon2
    // hashes and the winner's transaction ran. Nothing else, and none of them changed anything.
    expect(codes.filter((code) => code !== 204 && code !== 400 && code !== 503)).toEqual([]);
    for (const answer of answers.filter((a) => a.statusCode === 400)) {
      expect(expectUniform(answer, 400).message).toBe(INVALID_TOKEN);
    }
    for (const answer of answers.filter((a) => a.statusCode === 503)) expectUniform(answer, 503);
    const winner = passwords[codes.indexOf(204)];
    expect((await login(user.email, winner)).statusCode).toBe(200);
    const [{ n }] = await db.query(
      `SELECT count(*)::int AS n FROM auth_events WHERE user_id = $1 AND type = 'PASSWORD_RESET'`,
      [user.id],
    );
    expect(n).toBe(1);
  });

  /** The outbox is empty: every e-mail asked for so far went out (or never was asked for). */
  const outboxRelayed = () =>
    waitUntil(async () => (await db.query('SELECT count(*)::int AS n FROM outbox'))[0].n === 0, 'outbox relayed');
  const tokensOf = async (userId: string): Promise<number> =>
    (await db.query('SELECT count(*)::int AS n FROM password_reset_tokens WHERE user_id = $1', [userId]))[0].n;

  it('keeps earlier tokens working when newer ones are asked for; any one confirms, and uses up all', async () => {
    const user = await createSession(api.app);
    const tokens: string[] = [];
    for (let nth = 1; nth <= 3; nth += 1) {
      expect((await requestReset(user.email)).statusCode).toBe(202);
      tokens.push(await tokenFromMail(user.email, nth));
    }
    expect(new Set(tokens).size).toBe(3);
    expect(await tokensOf(user.id)).toBe(3);

    // The first mailed token still works after the second and third requests.
    expect((await confirm({ token: tokens[0], password: NEW_PASSWORD })).statusCode).toBe(204);
    for (const token of tokens) {
      expect(expectUniform(await confirm({ token, password: 'yet another password' }), 400).message).toBe(
        INVALID_TOKEN,
      );
    }
    expect(await tokensOf(user.id)).toBe(0);
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('lets exactly one of concurrent confirms with different tokens of one account through', async () => {
    const user = await createSession(api.app);
    const tokens: string[] = [];
    for (let nth = 1; nth <= 3; nth += 1) {
      expect((await requestReset(user.email)).statusCode).toBe(202);
      tokens.push(await tokenFromMail(user.email, nth));
    }
    const answers = await Promise.all(
      [...tokens, ...tokens].map((token, i) => confirm({ token, password: `concurrent password ${i}` })),
    );
    const codes = answers.map((answer) => answer.statusCode).sort();
    expect(codes).toEqual([204, 400, 400, 400, 400, 400]);
    expect(await tokensOf(user.id)).toBe(0);
  });

  it("past 3 requests in 15 minutes answers the same 202 and issues nothing; someone else's requests void no token", async () => {
    const victim = await createSession(api.app);
    expect((await requestReset(victim.email)).statusCode).toBe(202);
    const own = await tokenFromMail(victim.email, 1);
    // Someone else asks for the victim's account, from one address, in other letter cases.
    for (const spelling of [victim.email.toUpperCase(), ` ${victim.email}`]) {
      expect((await requestReset(spelling, '203.0.113.1')).statusCode).toBe(202);
    }
    await tokenFromMail(victim.email, 3);
    const past = await requestReset(victim.email, '203.0.113.1');
    expect(past.statusCode).toBe(202);
    expect(past.json()).toEqual(ACCEPTED);
    expect(past.headers['retry-after']).toBeUndefined();
    // The victim's own request, from its own address: the same answer, no lock-out, no new mail.
    expect((await requestReset(victim.email, '198.51.100.7')).statusCode).toBe(202);
    await outboxRelayed();
    expect(mailsTo(victim.email)).toHaveLength(3);
    expect(await tokensOf(victim.id)).toBe(3);
    const requested = await db.query(
      `SELECT count(*)::int AS n FROM auth_events WHERE user_id = $1 AND type = 'PASSWORD_RESET_REQUESTED'`,
      [victim.id],
    );
    expect(requested[0].n).toBe(3);
    // Every request is recorded, by the hash of the e-mail key, never the address.
    const key = emailKey(victim.email);
    const [{ n }] = await db.query('SELECT count(*)::int AS n FROM password_reset_requests WHERE email_hash = $1', [
      createHash('sha256').update(key).digest('hex'),
    ]);
    expect(n).toBe(5);

    // The victim's mailed token still works.
    expect((await confirm({ token: own, password: NEW_PASSWORD })).statusCode).toBe(204);
  });

  /** Moves the account's reset requests (their auth events and tokens) 16 minutes back: past the 15-minute window. */
  async function windowPassed(userId: string): Promise<void> {
    for (const table of ['auth_events', 'password_reset_tokens']) {
      await db.query(`UPDATE ${table} SET created_at = created_at - interval '16 minutes' WHERE user_id = $1`, [
        userId,
      ]);
    }
  }

  it('keeps counting the window after a successful reset: no fresh run of 3 e-mails until it has passed', async () => {
    const user = await createSession(api.app);
    for (let nth = 1; nth <= 3; nth += 1) expect((await requestReset(user.email)).statusCode).toBe(202);
    const token = await tokenFromMail(user.email, 3);
    expect((await confirm({ token, password: NEW_PASSWORD })).statusCode).toBe(204);
    expect(await tokensOf(user.id)).toBe(0);

    // The reset used up every token of the account; the requests in the window still count.
    const again = await requestReset(user.email, '203.0.113.9');
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual(ACCEPTED);
    await outboxRelayed();
    expect(mailsTo(user.email)).toHaveLength(3);
    expect(await tokensOf(user.id)).toBe(0);

    await windowPassed(user.id);
    expect((await requestReset(user.email)).statusCode).toBe(202);
    const next = await tokenFromMail(user.email, 4);
    expect((await confirm({ token: next, password: 'yet another password' })).statusCode).toBe(204);
  });

  it('past 3 live tokens, a request after the window replaces the oldest; the others keep working', async () => {
    const user = await createSession(api.app);
    const tokens: string[] = [];
    for (let nth = 1; nth <= 3; nth += 1) {
      expect((await requestReset(user.email)).statusCode).toBe(202);
      tokens.push(await tokenFromMail(user.email, nth));
    }
    // The window has passed (the tokens, 30 minutes long, are still live): the limit counts the
    // requests' auth events, and the tokens' rows age with them.
    await windowPassed(user.id);
    expect((await requestReset(user.email)).statusCode).toBe(202);
    const fourth = await tokenFromMail(user.email, 4);
    expect(await tokensOf(user.id)).toBe(3);
    expect(expectUniform(await confirm({ token: tokens[0], password: NEW_PASSWORD }), 400).message).toBe(INVALID_TOKEN);
    expect((await confirm({ token: tokens[1], password: NEW_PASSWORD })).statusCode).toBe(204);
    expect((await confirm({ token: fourth, password: 'yet another password' })).statusCode).toBe(400);
  });

  it('resets staff and admin accounts too', async () => {
    const admin = await createSession(api.app, { role: Role.Admin });
    const staffEmail = `door-${Date.now()}@example.test`;
    await api.app.get(AccountsService).signup({ email: staffEmail, password: TEST_PASSWORD, name: 'Door' }, Role.Staff);
    for (const email of [admin.email, staffEmail]) {
      expect((await requestReset(email)).statusCode).toBe(202);
      const token = await tokenFromMail(email);
      expect((await confirm({ token, password: NEW_PASSWORD })).statusCode).toBe(204);
      const session = await login(email, NEW_PASSWORD);
      expect(session.statusCode).toBe(200);
      const me = await call('GET', '/users/me', {
        headers: { authorization: `Bearer ${session.json().accessToken}` },
      });
      expect(me.json().role).toBe(email === staffEmail ? 'STAFF' : 'ADMIN');
    }
  });

  describe('throttling', () => {
    it('answers 429 past 10 requests a minute from one client address, whatever the e-mails', async () => {
      const address = '10.78.0.1';
      for (let i = 0; i < 10; i += 1) {
        expect((await requestReset(`probe-${i}-${Date.now()}@example.test`, address)).statusCode).toBe(202);
      }
      const blocked = await requestReset(`probe-last-${Date.now()}@example.test`, address);
      expect(expectUniform(blocked, 429).message).toBe('too many password reset requests, try again later');
      expect(blocked.headers['retry-after']).toBeDefined();
      expect((await requestReset(`probe-elsewhere-${Date.now()}@example.test`, '10.78.0.2')).statusCode).toBe(202);
    });
  });

  describe('bad bodies', () => {
    it('refuses bad requests with the uniform 400', async () => {
      for (const body of [
        {},
        { email: 'not-an-email' },
        { email: 42 },
        { email: 'a\u200b@example.test' },
        { email: null },
      ]) {
        expectUniform(
          await call('POST', '/auth/password-reset', { body, headers: { 'x-forwarded-for': nextAddress() } }),
          400,
        );
      }
    });

    it("holds the new password to signup's rules, with signup's messages", async () => {
      const token = randomBytes(32).toString('base64url');
      for (const password of ['short', 'x'.repeat(129), 42, '        ', 'abcdefgh']) {
        const reset = expectUniform(await confirm({ token, password }), 400);
        const signup = expectUniform(
          await call('POST', '/auth/signup', {
            body: { email: `rules-${Date.now()}@example.test`, password, name: 'Rules' },
            headers: { 'x-forwarded-for': nextAddress() },
          }),
          400,
        );
        expect(reset.message).toEqual(signup.message);
      }
      for (const body of [
        {},
        { password: NEW_PASSWORD },
        { token: 7, password: NEW_PASSWORD },
        { token: '', password: NEW_PASSWORD },
      ]) {
        expectUniform(await confirm(body), 400);
      }
    });

    it('answers any body a 4xx with the uniform body, never a 5xx (generated)', async () => {
      const value = fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.constantFrom('', ' ', '\u0000', 'a@b.co', 'A'.repeat(43), 'x'.repeat(5000)),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('/auth/password-reset', '/auth/password-reset/confirm'),
          fc.record({ email: value, token: value, password: value }, { requiredKeys: [] }),
          async (route, body) => {
            const answer = await call('POST', route, { body, headers: { 'x-forwarded-for': nextAddress() } });
            if (answer.statusCode === 202) {
              expect(answer.json()).toEqual(ACCEPTED);
              return;
            }
            expect(answer.statusCode).toBeGreaterThanOrEqual(400);
            expect(answer.statusCode).toBeLessThan(500);
            expectUniform(answer, answer.statusCode);
          },
        ),
        { numRuns: 150 },
      );
    });
  });

  it('documents both routes and their answers in the OpenAPI document', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs-json' })).json();
    const requestOp = doc.paths['/api/v1/auth/password-reset'].post;
    const confirmOp = doc.paths['/api/v1/auth/password-reset/confirm'].post;
    expect(Object.keys(requestOp.responses)).toEqual(expect.arrayContaining(['202', '429']));
    expect(Object.keys(confirmOp.responses)).toEqual(expect.arrayContaining(['204', '400']));
  });

  it('leaves no message on its way once every e-mail went out', async () => {
    await waitUntil(async () => (await db.query('SELECT count(*)::int AS n FROM outbox'))[0].n === 0, 'outbox relayed');
  });
});
