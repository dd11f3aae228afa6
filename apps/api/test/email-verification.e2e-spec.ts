import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccountsService, Role, SessionsService, TokenService } from '@app/auth';
import { Clock, emailKey } from '@app/core';
import { ApiHarness, createSession, TEST_PASSWORD, TestSession, waitForValue, waitUntil } from '@app/testing';
import { dataSourceOf } from '../../mailer/test/mail-harness';
import { caller, createPerformance } from './purchase-helpers';
import { openWaitingRoom, startTestApi } from './support/api';
import { MailStack, startMailStack } from './support/mail';
import { expectUniform } from './support/http';

const INVALID_TOKEN = 'e-mail verification token is invalid or expired; ask for a new one';
const ACCEPTED = { message: 'a new e-mail to confirm your address is on its way' };
/** A client address of its own for each HTTP signup, so SIGNUP_RATE_LIMIT never gets in the way. */
let addresses = 0;
const nextAddress = () => `10.79.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

/** Expects the 403 of an unverified buyer while EMAIL_VERIFICATION_REQUIRED. */
function expectNotVerified(res: { statusCode: number; json(): Record<string, unknown> }) {
  const body = expectUniform(res, 403);
  expect(body.details).toEqual({ code: 'EmailNotVerified' });
  expect(body.message).toMatch(/confirm your e-mail address first/);
}

/**
 * E-mail verification on real PostgreSQL, Redis and RabbitMQ, with EMAIL_VERIFICATION_REQUIRED:
 * signup's e-mail goes through the outbox, the relay and the mailer to an SMTP server this file
 * runs, and the token is read from the e-mail it received.
 */
describe('e-mail verification, required (API → outbox → RabbitMQ → mailer → SMTP)', () => {
  let { smtp, api, relay, mailer, admin, call, close } = {} as MailStack;
  let db: DataSource;
  /** Seats for holds, and a performance behind a waiting room for joins. */
  let performance: { id: number; seatIds: number[] };
  let queued: { id: number };
  let nextSeat = 0;

  beforeAll(async () => {
    ({ smtp, api, relay, mailer, admin, call, close } = await startMailStack({ EMAIL_VERIFICATION_REQUIRED: 'true' }));
    db = dataSourceOf(relay);
    performance = await createPerformance(api.app, admin, 100);
    queued = await createPerformance(api.app, admin, 10);
    await openWaitingRoom(call, admin, queued.id);
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await mailer?.close();
    await close?.();
  });

  /** Signs up over HTTP (the route that mails the token) and signs in. */
  async function signUp(): Promise<TestSession & { answer: Record<string, unknown> }> {
    const email = `verify-${randomBytes(6).toString('hex')}@example.test`;
    const answer = await call('POST', '/auth/signup', {
      body: { email, password: TEST_PASSWORD, name: 'Vera' },
      headers: { 'x-forwarded-for': nextAddress() },
    });
    expect(answer.statusCode, answer.body).toBe(201);
    return { ...(await sessionOf(email, answer.json().id, Role.User)), answer: answer.json() };
  }

  async function sessionOf(email: string, id: string, role: Role): Promise<TestSession> {
    const tokens = await api.app.get(SessionsService).login(email, TEST_PASSWORD);
    const headers = { authorization: `Bearer ${tokens.accessToken}` };
    return { id, email, role, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, headers };
  }

  const mailsTo = (email: string) => smtp.received.filter((mail) => mail.to.includes(email));

  /** The token of the `nth` (1-based) verification e-mail to `email`, once it arrived. */
  async function tokenFromMail(email: string, nth = 1): Promise<string> {
    const mail = await waitForValue(() => mailsTo(email)[nth - 1], `verification e-mail ${nth} to ${email}`);
    expect(mail.subject).toBe('Confirm your e-mail address for boxoffice');
    const token = /Token: +([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
    expect(token, mail.text).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(mail.html).toContain(token);
    return token!;
  }

  /** A confirm, by default without sign-in (a link opened where no session is): `session` signs it. */
  const confirm = (body: object, session?: TestSession, headers?: object) =>
    call('POST', '/auth/email-verification/confirm', { body, session, headers });
  const askAgain = (session: TestSession) => call('POST', '/auth/email-verification', { session });
  const me = async (session: TestSession) => (await call('GET', '/users/me', { session })).json();
  const holdOne = (session: TestSession) =>
    call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[nextSeat++]] },
      session,
    });
  const holdBest = (session: TestSession) =>
    call('POST', '/reservations', { body: { performanceId: performance.id, quantity: 1 }, session });
  const joinQueue = (session: TestSession) => call('POST', `/performances/${queued.id}/queue`, { session });
  const outboxRelayed = () =>
    waitUntil(async () => (await db.query('SELECT count(*)::int AS n FROM outbox'))[0].n === 0, 'outbox relayed');

  it("puts no name in the token e-mails: whoever signed up chose it, and may not be the address's owner (accounts trial A6)", async () => {
    const email = `lure-${randomBytes(6).toString('hex')}@example.test`;
    const lure = 'Win a prize at http://evil.example';
    const answer = await call('POST', '/auth/signup', {
      body: { email, password: TEST_PASSWORD, name: lure },
      headers: { 'x-forwarded-for': nextAddress() },
    });
    expect(answer.statusCode, answer.body).toBe(201);
    const reset = await call('POST', '/auth/password-reset', {
      body: { email },
      headers: { 'x-forwarded-for': nextAddress() },
    });
    expect(reset.statusCode).toBe(202);
    const mails = await waitForValue(
      () => (mailsTo(email).length >= 2 ? mailsTo(email) : undefined),
      `two e-mails to ${email}`,
    );
    for (const mail of mails) {
      expect(mail.text).toMatch(/^Hello,$/m);
      for (const part of [mail.text, mail.html, mail.raw]) expect(part).not.toContain('evil.example');
    }
  });

  it('signup mails a single-use token; confirming it verifies the account and lifts the gate at once', async () => {
    const buyer = await signUp();
    expect(buyer.answer).toMatchObject({ email: buyer.email, role: 'USER', emailVerified: false });
    expect(await me(buyer)).toMatchObject({ emailVerified: false });

    // Gated: both forms of hold, a purchase (before its hold is even looked at) and a queue join.
    expectNotVerified(await holdOne(buyer));
    expectNotVerified(await holdBest(buyer));
    expectNotVerified(await call('POST', '/purchases', { body: { reservationId: randomUUID() }, session: buyer }));
    expectNotVerified(await joinQueue(buyer));

    const token = await tokenFromMail(buyer.email);
    // Only the token's SHA-256 is in PostgreSQL; the message carried it sealed.
    const [row] = await db.query('SELECT id, token_hash FROM email_verification_tokens WHERE user_id = $1', [buyer.id]);
    expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(mailsTo(buyer.email)[0].messageIdHeader).toContain(`email-verification.${row.id}`);
    const delivery = await waitForValue(
      async () =>
        (
          (await db.query('SELECT purchase_id, recipient FROM email_deliveries WHERE message_id = $1', [
            `email-verification:${row.id}`,
          ])) as unknown[]
        )[0],
      'the delivery record',
    );
    expect(delivery).toEqual({ purchase_id: null, recipient: buyer.email });

    const done = await confirm({ token }, buyer);
    expect(done.statusCode, done.body).toBe(204);
    expect(done.body).toBe('');
    expect(await me(buyer)).toMatchObject({ emailVerified: true });
    const events = await db.query('SELECT type FROM auth_events WHERE user_id = $1 ORDER BY id', [buyer.id]);
    expect(events.map((event: { type: string }) => event.type)).toEqual([
      'SIGNED_UP',
      'EMAIL_VERIFICATION_REQUESTED',
      'EMAIL_VERIFIED',
    ]);

    // Let in at once: this api process took the confirm.
    const held = await holdOne(buyer);
    expect(held.statusCode, held.body).toBe(201);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session: buyer });
    expect(bought.statusCode, bought.body).toBe(201);
    expect((await holdBest(buyer)).statusCode).toBe(201);
    expect((await joinQueue(buyer)).statusCode).toBe(201);

    // Used once, it is gone: the same answer as a token that never was.
    expect(expectUniform(await confirm({ token }, buyer), 400).message).toBe(INVALID_TOKEN);
    expect(expectUniform(await askAgain(buyer), 409).details).toEqual({ code: 'EmailAlreadyVerified' });
  });

  it("answers in one order: a body the parser refuses, 401, the gate's 403, then the body's field errors (400)", async () => {
    const buyer = await signUp();
    const raw = (url: string, payload: string, headers: object) =>
      api.app.inject({
        method: 'POST',
        url: `/api/v1${url}`,
        payload,
        headers: { 'content-type': 'application/json', ...headers },
      });
    // Field errors of a well-formed JSON body, on each gated route that takes one.
    const malformed: [string, object, RegExp][] = [
      ['/reservations', { performanceId: 'one', seatIds: 'all' }, /performanceId/],
      ['/reservations', { performanceId: performance.id, quantity: 0, together: 'yes' }, /quantity|together/],
      ['/purchases', { reservationId: 'not-a-uuid' }, /reservationId must be a UUID/],
    ];
    for (const [url, body] of malformed) {
      // Who is asking comes first: no token is a 401, an unconfirmed buyer a 403, whatever the body.
      expectUniform(await call('POST', url, { body }), 401);
      expectNotVerified(await call('POST', url, { body, session: buyer }));
      // JSON the parser cannot read is refused before anyone is asked (400 for everyone).
      expectUniform(await raw(url, '{"performanceId":', buyer.headers), 400);
      expectUniform(await raw(url, '{"performanceId":', {}), 400);
    }
    // A confirmed buyer gets the body's 400 with its field errors.
    await api.app.get(DataSource).query('UPDATE users SET email_verified_at = now() WHERE id = $1', [buyer.id]);
    const verified = await sessionOf(buyer.email, buyer.id, Role.User);
    // A purchase of no hold: 404 once the gate has read the account again (UNVERIFIED_ACCOUNT_MS).
    const noHold = { reservationId: randomUUID() };
    await waitUntil(
      async () => (await call('POST', '/purchases', { body: noHold, session: verified })).statusCode === 404,
      'the gate reads the account again',
    );
    for (const [url, body, names] of malformed) {
      const refused = expectUniform(await call('POST', url, { body, session: verified }), 400);
      expect(JSON.stringify(refused.message)).toMatch(names);
    }
  });

  it('lets in a buyer confirmed on another api process once this one reads the account again', async () => {
    const buyer = await signUp();
    expectNotVerified(await holdOne(buyer));
    // Another process took the confirm: only PostgreSQL knows. This process reads the account
    // again once its memory of "unconfirmed" runs out (UNVERIFIED_ACCOUNT_MS, 2 s).
    await db.query('UPDATE users SET email_verified_at = now() WHERE id = $1', [buyer.id]);
    await waitUntil(async () => (await holdOne(buyer)).statusCode === 201, 'the hold of a buyer confirmed elsewhere');
  });

  it('refuses an unknown, a garbage and an expired token with one 400, and takes a valid one', async () => {
    const buyer = await signUp();
    const token = await tokenFromMail(buyer.email);
    for (const bad of [randomBytes(32).toString('base64url'), 'not a token', token.toUpperCase()]) {
      expect(expectUniform(await confirm({ token: bad }, buyer), 400).message).toBe(INVALID_TOKEN);
    }
    for (const body of [{}, { token: '' }, { token: 7 }, { token: 'x'.repeat(257) }, { token, extra: 1 }]) {
      expectUniform(await confirm(body, buyer), 400);
    }

    // EMAIL_VERIFICATION_TTL_HOURS (24) and a second later, on the api's clock.
    const clock = api.app.get(Clock);
    const later = new Date(Date.now() + 24 * 3_600_000 + 1000);
    vi.spyOn(clock, 'now').mockImplementation(() => later);
    // The access token has expired by then too: the password proves the account (no attempt is
    // counted for a token that is not live).
    const late = await confirm({ token, password: TEST_PASSWORD }, undefined, { 'x-forwarded-for': nextAddress() });
    expect(expectUniform(late, 400).message).toBe(INVALID_TOKEN);
    vi.restoreAllMocks();
    expect(await me(buyer)).toMatchObject({ emailVerified: false });

    // Pasted from an e-mail client: white space and line breaks around it are not part of it; a
    // space inside is (the token is then unknown).
    const split = `${token.slice(0, 20)} ${token.slice(20)}`;
    expect(expectUniform(await confirm({ token: split }, buyer), 400).message).toBe(INVALID_TOKEN);
    expect((await confirm({ token: `\r\n  ${token}\u00a0\n` }, buyer)).statusCode).toBe(204);
    expect(await me(buyer)).toMatchObject({ emailVerified: true });
  });

  it('sends a new e-mail when asked; past 3 in 15 minutes 429 with Retry-After and no e-mail; earlier tokens keep working', async () => {
    const buyer = await signUp();
    const first = await tokenFromMail(buyer.email, 1);
    for (let nth = 2; nth <= 3; nth += 1) {
      const asked = await askAgain(buyer);
      expect(asked.statusCode, asked.body).toBe(202);
      expect(asked.json()).toEqual(ACCEPTED);
      await tokenFromMail(buyer.email, nth);
    }
    // Signup's e-mail counts: this is the fourth in the window. The seconds until the oldest of the
    // three leaves the window, read on PostgreSQL's clock before and after the request, bound the answer.
    const untilOldestLeaves = async (): Promise<number> =>
      (
        await db.query(
          `SELECT ceil(extract(epoch FROM min(created_at) + interval '15 minutes' - clock_timestamp()))::int AS s
           FROM auth_events WHERE user_id = $1 AND type = 'EMAIL_VERIFICATION_REQUESTED'`,
          [buyer.id],
        )
      )[0].s;
    const stored = async () =>
      (
        await db.query(
          `SELECT (SELECT count(*)::int FROM auth_events WHERE user_id = $1 AND type = 'EMAIL_VERIFICATION_REQUESTED') AS events,
                  (SELECT count(*)::int FROM email_verification_tokens WHERE user_id = $1) AS tokens`,
          [buyer.id],
        )
      )[0];
    const before = await stored();
    const atMost = await untilOldestLeaves();
    const past = await askAgain(buyer);
    const atLeast = await untilOldestLeaves();
    const body = expectUniform(past, 429);
    expect(body.details).toEqual({ code: 'TooManyVerificationEmails' });
    const retryAfter = Number(past.headers['retry-after']);
    expect(Number.isInteger(retryAfter), String(past.headers['retry-after'])).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(Math.max(1, atLeast));
    expect(retryAfter).toBeLessThanOrEqual(atMost);
    expect(body.message).toBe(
      `at most 3 e-mails to confirm your address are sent per 15 minutes; ask again in ${retryAfter} seconds`,
    );
    // Nothing changed: no event, token or e-mail more.
    expect(await stored()).toEqual(before);
    expect(before.events).toBe(3);
    await outboxRelayed();
    expect(mailsTo(buyer.email)).toHaveLength(3);

    // The first mailed token still works, and uses up the others.
    expect((await confirm({ token: first }, buyer)).statusCode).toBe(204);
    const [{ left }] = await db.query(
      'SELECT count(*)::int AS left FROM email_verification_tokens WHERE user_id = $1',
      [buyer.id],
    );
    expect(left).toBe(0);
  });

  it('sends again once Retry-After seconds have passed', async () => {
    const buyer = await signUp();
    await tokenFromMail(buyer.email, 1);
    for (let nth = 2; nth <= 3; nth += 1) expect((await askAgain(buyer)).statusCode).toBe(202);
    const past = await askAgain(buyer);
    expect(past.statusCode, past.body).toBe(429);
    // As if that long had passed: the account's e-mails were asked for Retry-After seconds earlier.
    await db.query(
      `UPDATE auth_events SET created_at = created_at - make_interval(secs => $2)
       WHERE user_id = $1 AND type = 'EMAIL_VERIFICATION_REQUESTED'`,
      [buyer.id, Number(past.headers['retry-after'])],
    );
    const again = await askAgain(buyer);
    expect(again.statusCode, again.body).toBe(202);
    expect(again.json()).toEqual(ACCEPTED);
    await tokenFromMail(buyer.email, 4);
  });

  it('takes no token of the other kind: a reset token does not verify, a verification token sets no password', async () => {
    const buyer = await signUp();
    const verification = await tokenFromMail(buyer.email);
    const asked = await call('POST', '/auth/password-reset', {
      body: { email: buyer.email },
      headers: { 'x-forwarded-for': nextAddress() },
    });
    expect(asked.statusCode, asked.body).toBe(202);
    const resetMail = await waitForValue(
      () => mailsTo(buyer.email).find((mail) => mail.subject === 'Reset your boxoffice password'),
      'the reset e-mail',
    );
    const reset = /Token: +([A-Za-z0-9_-]+)/.exec(resetMail.text)![1];
    expect(expectUniform(await confirm({ token: reset }, buyer), 400).message).toBe(INVALID_TOKEN);
    const wrongKind = await call('POST', '/auth/password-reset/confirm', {
      body: { token: verification, password: 'another-Passw0rd!' },
    });
    expect(expectUniform(wrongKind, 400).message).toBe('password reset token is invalid or expired; ask for a new one');
    expect(await me(buyer)).toMatchObject({ emailVerified: false });
    // Each still works for its own kind.
    expect((await confirm({ token: verification }, buyer)).statusCode).toBe(204);
  });

  it('refuses the request route a body, and a caller without a token', async () => {
    const buyer = await signUp();
    expectUniform(
      await call('POST', '/auth/email-verification', { body: { email: buyer.email }, session: buyer }),
      400,
    );
    expectUniform(await call('POST', '/auth/email-verification'), 401);
  });

  it('lets exactly one of concurrent confirms with the tokens of one account through', async () => {
    const buyer = await signUp();
    const tokens = [await tokenFromMail(buyer.email, 1)];
    for (let nth = 2; nth <= 3; nth += 1) {
      expect((await askAgain(buyer)).statusCode).toBe(202);
      tokens.push(await tokenFromMail(buyer.email, nth));
    }
    const answers = await Promise.all([...tokens, ...tokens].map((token) => confirm({ token }, buyer)));
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([204, 400, 400, 400, 400, 400]);
    const [{ n }] = await db.query(
      `SELECT count(*)::int AS n FROM auth_events WHERE user_id = $1 AND type = 'EMAIL_VERIFIED'`,
      [buyer.id],
    );
    expect(n).toBe(1);
  });

  describe("account pre-hijacking (an account made with someone else's address)", () => {
    const OWNER_REQUIRED = /confirming an e-mail address needs its account/;
    const verificationEvents = async (userId: string): Promise<number> =>
      (
        await db.query(`SELECT count(*)::int AS n FROM auth_events WHERE user_id = $1 AND type = 'EMAIL_VERIFIED'`, [
          userId,
        ])
      )[0].n;

    it("does not verify the attacker's account when the address's owner clicks the link without signing in", async () => {
      // The attacker signs up with the victim's address and a password of their own, and signs in.
      const attacker = await signUp();
      // The victim's click: the token from their inbox, no session, no password.
      const token = await tokenFromMail(attacker.email);
      const clicked = await confirm({ token });
      expect(clicked.statusCode, 'the click without sign-in or password').toBe(401);
      const click = expectUniform(clicked, 401);
      expect(click.message).toMatch(OWNER_REQUIRED);
      expect(click.details).toEqual({ code: 'VerificationOwnerRequired' });
      // Nothing changed: the attacker's session is still unverified (and so gated), nothing recorded.
      expect(await me(attacker)).toMatchObject({ emailVerified: false });
      expectNotVerified(await holdOne(attacker));
      expect(await verificationEvents(attacker.id)).toBe(0);
      // The token still works for whoever proves the account: its own session.
      expect((await confirm({ token }, attacker)).statusCode).toBe(204);
      expect(await me(attacker)).toMatchObject({ emailVerified: true });
    });

    it("takes the account's password instead of a session (a page opened on a phone)", async () => {
      const buyer = await signUp();
      const token = await tokenFromMail(buyer.email);
      const done = await confirm({ token, password: TEST_PASSWORD }, undefined, {
        'x-forwarded-for': nextAddress(),
      });
      expect(done.statusCode, done.body).toBe(204);
      expect(await me(buyer)).toMatchObject({ emailVerified: true });
      expect(await verificationEvents(buyer.id)).toBe(1);
    });

    it("refuses another account's access token as an invalid token, changing nothing", async () => {
      const owner = await signUp();
      const stranger = await signUp();
      const token = await tokenFromMail(owner.email);
      expect(expectUniform(await confirm({ token }, stranger), 400).message).toBe(INVALID_TOKEN);
      for (const account of [owner, stranger]) expect(await me(account)).toMatchObject({ emailVerified: false });
      // An access token that is not valid is a 401, as on any route; the token still works after.
      const forged = { ...owner, headers: { authorization: 'Bearer not.a.token' } };
      expectUniform(await confirm({ token }, forged), 401);
      expect((await confirm({ token }, owner)).statusCode).toBe(204);
      expect(await me(stranger)).toMatchObject({ emailVerified: false });
    });

    it("refuses a wrong password with 401, and counts password attempts with the login's (429 with Retry-After)", async () => {
      const buyer = await signUp();
      const token = await tokenFromMail(buyer.email);
      const from = { 'x-forwarded-for': nextAddress() };
      // LOGIN_RATE_LIMIT: 5 attempts a minute per client address and account, the login's included.
      const login = await call('POST', '/auth/login', {
        body: { email: buyer.email, password: 'a wrong one' },
        headers: from,
      });
      expectUniform(login, 401);
      for (let attempt = 2; attempt <= 5; attempt += 1) {
        const wrong = expectUniform(
          await confirm({ token, password: `wrong password ${attempt}` }, undefined, from),
          401,
        );
        expect(wrong.message).toBe("the password is not this account's");
      }
      const blocked = await confirm({ token, password: TEST_PASSWORD }, undefined, from);
      expect(expectUniform(blocked, 429).message).toBe('too many password attempts, try again later');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      // The login from that address is blocked too: one counter.
      const relogin = await call('POST', '/auth/login', {
        body: { email: buyer.email, password: TEST_PASSWORD },
        headers: from,
      });
      expectUniform(relogin, 429);
      expect(await me(buyer)).toMatchObject({ emailVerified: false });
      // Nothing was used up: the right password from elsewhere confirms.
      const elsewhere = await confirm({ token, password: TEST_PASSWORD }, undefined, {
        'x-forwarded-for': nextAddress(),
      });
      expect(elsewhere.statusCode, elsewhere.body).toBe(204);
    });

    it("verifies the address by a completed password reset, and ends the attacker's sessions", async () => {
      const attacker = await signUp();
      const verification = await tokenFromMail(attacker.email);
      // The owner never signed up: they take the account by a reset, which proves the inbox.
      const asked = await call('POST', '/auth/password-reset', {
        body: { email: attacker.email },
        headers: { 'x-forwarded-for': nextAddress() },
      });
      expect(asked.statusCode, asked.body).toBe(202);
      const resetMail = await waitForValue(
        () => mailsTo(attacker.email).find((mail) => mail.subject === 'Reset your boxoffice password'),
        'the reset e-mail',
      );
      const resetToken = /Token: +([A-Za-z0-9_-]+)/.exec(resetMail.text)![1];
      const newPassword = 'the owner takes it back';
      const reset = await call('POST', '/auth/password-reset/confirm', {
        body: { token: resetToken, password: newPassword },
      });
      expect(reset.statusCode, reset.body).toBe(204);
      // The attacker's session has ended; the owner's is verified, and let in at once.
      expectUniform(await call('GET', '/users/me', { session: attacker }), 401);
      const tokens = await api.app.get(SessionsService).login(attacker.email, newPassword);
      const owner = { ...attacker, headers: { authorization: `Bearer ${tokens.accessToken}` } };
      expect(await me(owner)).toMatchObject({ emailVerified: true });
      expect((await holdOne(owner)).statusCode).toBe(201);
      const events = await db.query('SELECT type FROM auth_events WHERE user_id = $1 ORDER BY id', [attacker.id]);
      expect(events.map((event: { type: string }) => event.type).slice(-2)).toEqual([
        'PASSWORD_RESET',
        'EMAIL_VERIFIED',
      ]);
      // The verification tokens are gone with it.
      expect(expectUniform(await confirm({ token: verification }, owner), 400).message).toBe(INVALID_TOKEN);
    });

    it('records no second EMAIL_VERIFIED when a verified account resets its password', async () => {
      const buyer = await signUp();
      expect((await confirm({ token: await tokenFromMail(buyer.email) }, buyer)).statusCode).toBe(204);
      await call('POST', '/auth/password-reset', {
        body: { email: buyer.email },
        headers: { 'x-forwarded-for': nextAddress() },
      });
      const resetMail = await waitForValue(
        () => mailsTo(buyer.email).find((mail) => mail.subject === 'Reset your boxoffice password'),
        'the reset e-mail',
      );
      const resetToken = /Token: +([A-Za-z0-9_-]+)/.exec(resetMail.text)![1];
      const reset = await call('POST', '/auth/password-reset/confirm', {
        body: { token: resetToken, password: 'another long passphrase' },
      });
      expect(reset.statusCode, reset.body).toBe(204);
      expect(await verificationEvents(buyer.id)).toBe(1);
    });
  });

  it('never gates staff or admins, verified or not', async () => {
    const staffEmail = `door-${randomBytes(6).toString('hex')}@example.test`;
    const staff = await api.app
      .get(AccountsService)
      .signup({ email: staffEmail, password: TEST_PASSWORD, name: 'Door' }, Role.Staff);
    const door = await sessionOf(staffEmail, staff.id, Role.Staff);
    for (const session of [admin, door]) {
      expect(await me(session)).toMatchObject({ emailVerified: false });
      const held = await holdOne(session);
      expect(held.statusCode, held.body).toBe(201);
      const bought = await call('POST', '/purchases', { body: { reservationId: held.json().id }, session });
      expect(bought.statusCode, bought.body).toBe(201);
    }
  });

  it('gates a demoted staff account by its role in PostgreSQL, not the STAFF an access token names', async () => {
    const staffEmail = `demoted-${randomBytes(6).toString('hex')}@example.test`;
    const staff = await api.app
      .get(AccountsService)
      .signup({ email: staffEmail, password: TEST_PASSWORD, name: 'Door' }, Role.Staff);
    const door = await sessionOf(staffEmail, staff.id, Role.Staff);
    const revoked = await call('DELETE', `/admin/staff/${staff.id}`, { session: admin });
    expect(revoked.statusCode, revoked.body).toBe(204);
    // Its session has ended; a token naming STAFF minted after the revocation (as one an api
    // never told of it would take) still meets the gate: an unconfirmed buyer's account now.
    expectUniform(await holdOne(door), 401);
    const token = await api.app.get(TokenService).signAccess({ id: staff.id, email: staff.email, role: Role.Staff });
    Object.assign(door, { accessToken: token, headers: { authorization: `Bearer ${token}` } });
    expectNotVerified(await holdOne(door));
    expectNotVerified(await holdBest(door));
    expectNotVerified(await call('POST', '/purchases', { body: { reservationId: randomUUID() }, session: door }));
    expectNotVerified(await joinQueue(door));
  });

  it('unverifies an account whose e-mail changes, and voids the tokens mailed to the old address', async () => {
    const buyer = await signUp();
    const token = await tokenFromMail(buyer.email);
    const other = await signUp();
    expect((await confirm({ token: await tokenFromMail(other.email) }, other)).statusCode).toBe(204);
    // No route changes an e-mail; an operator may, by hand: the trigger holds for any UPDATE.
    for (const account of [buyer, other]) {
      const moved = `moved-${account.email}`;
      await db.query('UPDATE users SET email = $2, email_key = $3 WHERE id = $1', [account.id, moved, emailKey(moved)]);
      expect(await me(account)).toMatchObject({ emailVerified: false });
    }
    expect(expectUniform(await confirm({ token }, buyer), 400).message).toBe(INVALID_TOKEN);
    // A change of anything else leaves it alone.
    expect((await askAgain(other)).statusCode).toBe(202);
    await db.query(`UPDATE users SET email_verified_at = now(), name = 'Renamed' WHERE id = $1`, [other.id]);
    expect(await me(other)).toMatchObject({ emailVerified: true, name: 'Renamed' });
  });

  it('answers any confirm body a 4xx with the uniform body, never a 5xx (generated)', async () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.constantFrom('', ' ', '\u0000', 'A'.repeat(43), 'x'.repeat(5000), '../../etc/passwd', "' OR 1=1 --"),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ token: value }, { requiredKeys: [] }),
          fc.record({ token: value, password: value }, { requiredKeys: ['token'] }),
          value,
        ),
        async (body) => {
          const answer = await api.app.inject({
            method: 'POST',
            url: '/api/v1/auth/email-verification/confirm',
            payload: JSON.stringify(body),
            headers: { 'content-type': 'application/json' },
          });
          expect(answer.statusCode).toBeGreaterThanOrEqual(400);
          expect(answer.statusCode).toBeLessThan(500);
          expectUniform(answer, answer.statusCode);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('documents both routes, their answers, and the 403 of the gated routes (the schemas: openapi-document.e2e-spec.ts)', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/docs-json' })).json();
    const requestOp = doc.paths['/api/v1/auth/email-verification'].post;
    const confirmOp = doc.paths['/api/v1/auth/email-verification/confirm'].post;
    expect(Object.keys(requestOp.responses)).toEqual(expect.arrayContaining(['202', '401', '409', '429']));
    expect(requestOp.responses['429'].headers['Retry-After']).toBeDefined();
    expect(requestOp.responses['429'].description).toMatch(/TooManyVerificationEmails/);
    expect(Object.keys(confirmOp.responses)).toEqual(expect.arrayContaining(['204', '400', '401', '429']));
    expect(confirmOp.responses['401'].description).toMatch(/VerificationOwnerRequired/);
    // Signed in, or not (then with the body's password).
    expect(confirmOp.security).toEqual(expect.arrayContaining([{}, { bearer: [] }]));
    for (const [path, method] of [
      ['/api/v1/reservations', 'post'],
      ['/api/v1/purchases', 'post'],
      ['/api/v1/performances/{id}/queue', 'post'],
    ]) {
      expect(doc.paths[path][method].responses['403'].description, path).toMatch(/EmailNotVerified/);
    }
  });

  it('leaves no message on its way once every e-mail went out', async () => {
    await outboxRelayed();
  });
});

describe('e-mail verification, not required (the default)', () => {
  let api: ApiHarness;
  let call: ReturnType<typeof caller>;

  beforeAll(async () => {
    api = await startTestApi();
    call = caller(api.app);
  });
  afterAll(async () => api?.close());

  it('lets an unverified buyer hold, buy and join a queue, and still tells them emailVerified: false', async () => {
    const admin = await createSession(api.app, { role: Role.Admin });
    const performance = await createPerformance(api.app, admin, 10);
    const queued = await createPerformance(api.app, admin, 10);
    await openWaitingRoom(call, admin, queued.id);
    const email = `unverified-${randomBytes(6).toString('hex')}@example.test`;
    const signup = await call('POST', '/auth/signup', {
      body: { email, password: TEST_PASSWORD, name: 'Una' },
      headers: { 'x-forwarded-for': nextAddress() },
    });
    expect(signup.json()).toMatchObject({ emailVerified: false });
    const tokens = await api.app.get(SessionsService).login(email, TEST_PASSWORD);
    const headers = { authorization: `Bearer ${tokens.accessToken}` };
    const held = await call('POST', '/reservations', {
      body: { performanceId: performance.id, seatIds: [performance.seatIds[0]] },
      headers,
    });
    expect(held.statusCode, held.body).toBe(201);
    const bought = await call('POST', '/purchases', { body: { reservationId: held.json().id }, headers });
    expect(bought.statusCode, bought.body).toBe(201);
    expect((await call('POST', `/performances/${queued.id}/queue`, { headers })).statusCode).toBe(201);
  });
});
