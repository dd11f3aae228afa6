import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Controller, DynamicModule, Get, Module } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AdminAccountsService, Role, Roles } from '@app/auth';
import { Clock, InvalidInputError } from '@app/core';
import type { EnvSource } from '@app/config';
import { createLogger } from '@app/logging';
import { ApiHarness, createSession, createTestEnv, destroyTestEnv, keysMatching, startApi } from '@app/testing';
import { ApiModule } from '../src/api.module';
import { createApiApp } from '../src/bootstrap';
import { ERROR_KEYS } from './support/http';

const ADMIN = { email: 'root@boxoffice.test', password: 'admin-password-123' };
const PASSWORD = 'correct horse battery';
const DAY_MS = 24 * 3600 * 1000;

@Controller('test-admin')
class AdminOnlyController {
  @Roles(Role.Admin)
  @Get()
  secret(): { ok: true } {
    return { ok: true };
  }
}

@Module({})
class TestApiModule {
  static forRoot(overrides: EnvSource = {}): DynamicModule {
    return { module: TestApiModule, imports: [ApiModule.forRoot(overrides)], controllers: [AdminOnlyController] };
  }
}

type InjectOptions = Parameters<NestFastifyApplication['inject']>[0];

describe('accounts and auth (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let db: DataSource;
  /** How far the app's Clock runs ahead of real time. */
  let clockOffsetMs = 0;
  let emails = 0;

  beforeAll(async () => {
    api = await startApi(({ overrides, logger }) => createApiApp(TestApiModule, { overrides, logger }), {
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      // Every signup of this file comes from one address; the limit has its own test.
      SIGNUP_RATE_LIMIT: '0',
    });
    db = api.app.get(DataSource);
    vi.spyOn(api.app.get(Clock), 'now').mockImplementation(() => new Date(Date.now() + clockOffsetMs));
  });
  afterEach(() => {
    clockOffsetMs = 0;
  });
  afterAll(async () => api?.close());

  /** Every response of this file is checked: no password and no hash ever leaves the API. */
  async function call(app: NestFastifyApplication, options: InjectOptions) {
    const res = await app.inject(options);
    expect(res.body).not.toMatch(/argon2|password_?hash|"password"/i);
    return res;
  }
  const inject = (options: InjectOptions) => call(api.app, options);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const newEmail = () => `user${++emails}-${Date.now()}@example.com`;

  const signup = (payload: Record<string, unknown>) => inject({ method: 'POST', url: '/api/v1/auth/signup', payload });
  const login = (email: string, password = PASSWORD, ip = '10.0.0.1', app = api.app) =>
    call(app, {
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password },
      headers: { 'x-forwarded-for': ip },
    });
  const refresh = (refreshToken: string) =>
    inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refreshToken } });
  const me = (token: string) => inject({ method: 'GET', url: '/api/v1/users/me', headers: bearer(token) });

  async function newSession(): Promise<{ email: string; accessToken: string; refreshToken: string }> {
    const email = newEmail();
    expect((await signup({ email, password: PASSWORD, name: 'Ada' })).statusCode).toBe(201);
    const res = await login(email);
    expect(res.statusCode).toBe(200);
    return { email, ...res.json() };
  }

  function expectUniformError(res: { statusCode: number; json(): Record<string, unknown> }, status: number) {
    expect(res.statusCode).toBe(status);
    expect(Object.keys(res.json()).sort()).toEqual(ERROR_KEYS);
  }

  describe('signup', () => {
    it('creates a user with a lower-cased e-mail and answers without any secret', async () => {
      const res = await signup({ email: '  Ada.Lovelace@Example.COM ', password: PASSWORD, name: 'Ada Lovelace' });
      expect(res.statusCode).toBe(201);
      const body = res.json();
      expect(Object.keys(body).sort()).toEqual(['email', 'emailVerified', 'id', 'name', 'role']);
      expect(body).toMatchObject({
        email: 'ada.lovelace@example.com',
        name: 'Ada Lovelace',
        role: 'USER',
        emailVerified: false,
      });
      expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
      const [row] = await db.query('SELECT password_hash FROM users WHERE id = $1', [body.id]);
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
    });

    it('answers 409 for a taken e-mail, in any letter case', async () => {
      const email = newEmail();
      expect((await signup({ email, password: PASSWORD, name: 'A' })).statusCode).toBe(201);
      expectUniformError(await signup({ email, password: PASSWORD, name: 'B' }), 409);
      const upper = await signup({ email: email.toUpperCase(), password: PASSWORD, name: 'C' });
      expectUniformError(upper, 409);
      expect(upper.json().message).toBe('e-mail is already registered');
    });

    it('keys accounts by the NFC form: a decomposed spelling of a taken address is taken too', async () => {
      const tag = newEmail().split('@')[0];
      expect((await signup({ email: `jos\u00e9-${tag}@example.com`, password: PASSWORD, name: 'A' })).statusCode).toBe(
        201,
      );
      const decomposed = await signup({ email: `jose\u0301-${tag}@example.com`, password: PASSWORD, name: 'B' });
      expectUniformError(decomposed, 409);
      const login = await inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: `JOSE\u0301-${tag}@example.com`, password: PASSWORD },
      });
      expect(login.statusCode).toBe(200);
    });

    it('takes a password typed with combining accents or precomposed as one (NFKC), a wrong one still 401', async () => {
      const email = newEmail();
      expect((await signup({ email, password: 'caf\u00e9 pass x', name: 'A' })).statusCode).toBe(201);
      expect((await login(email, 'cafe\u0301 pass x')).statusCode).toBe(200);
      expect((await login(email, 'caf\u00e9 pass x')).statusCode).toBe(200);
      expectUniformError(await login(email, 'cafe pass x'), 401);
    });

    it('keys accounts by the NFKC form: a fullwidth spelling of a taken address is taken too', async () => {
      const tag = newEmail().split('@')[0];
      expect((await signup({ email: `alice-${tag}@example.com`, password: PASSWORD, name: 'A' })).statusCode).toBe(201);
      expectUniformError(await signup({ email: `\uff41lice-${tag}@example.com`, password: PASSWORD, name: 'B' }), 409);
    });

    it.each([
      ['ΟΔΥΣΣΕΑΣ', 'οδυσσεασ'],
      ['Σ1Σ', 'σ1ς'],
      ['ß', 'SS'],
      ['ẞ', 'ss'],
      ['ﬀ', 'FF'],
    ])('keys accounts by the full case fold: %s@… taken, %s@… is taken too and logs in', async (first, second) => {
      const tag = newEmail().split('@')[0];
      // The tag after a hyphen: a capital sigma before it ends a word (lower-cased to the final ς).
      const created = await signup({ email: `${first}-${tag}@example.com`, password: PASSWORD, name: 'A' });
      expect(created.statusCode).toBe(201);
      expectUniformError(
        await signup({ email: `${second}-${tag}@example.com`, password: 'other password', name: 'B' }),
        409,
      );
      const res = await login(`${second}-${tag}@example.com`);
      expect(res.statusCode).toBe(200);
      expect((await me(res.json().accessToken)).json().id).toBe(created.json().id);
    });

    it('keeps one account for random case variants of random Unicode addresses (property)', async () => {
      const letters = fc.constantFrom(...'aBzßẞſKıΣσςΟΔΥΕΑοδυεαДжЖǅǄǆﬀÅåÆæ');
      // Each address holds a letter that lower-casing alone keys apart from one of its case variants.
      const hard = fc.constantFrom(...'ßẞΣσςſı');
      await fc.assert(
        fc.asyncProperty(
          fc
            .tuple(fc.string({ unit: letters, maxLength: 4 }), hard, fc.string({ unit: letters, maxLength: 4 }))
            .map((parts) => parts.join('')),
          fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
          async (local, upper) => {
            const tag = newEmail().split('@')[0];
            const variant = [...local].map((c, i) => (upper[i % upper.length] ? c.toUpperCase() : c.toLowerCase()));
            const created = await signup({ email: `${local}.${tag}@example.com`, password: PASSWORD, name: 'A' });
            expect(created.statusCode).toBe(201);
            const email = `${variant.join('')}.${tag.toUpperCase()}@EXAMPLE.com`;
            expectUniformError(await signup({ email, password: PASSWORD, name: 'B' }), 409);
            const res = await login(email);
            expect(res.statusCode).toBe(200);
            expect((await me(res.json().accessToken)).json().id).toBe(created.json().id);
          },
        ),
        { numRuns: 20 },
      );
    });

    it.each([
      ['a dotless ı', 'gma\u0131l.com', 'gmail.com'],
      ['a sharp s', 'stra\u00dfe.example', 'strasse.example'],
    ])(
      'keeps an address at a look-alike domain (%s) apart from the ASCII one: two accounts, each its own login',
      async (_name, lookAlike, ascii) => {
        const local = newEmail().split('@')[0];
        const squatter = await signup({ email: `${local}@${lookAlike}`, password: 'squatter password', name: 'S' });
        expect(squatter.statusCode).toBe(201);
        const owner = await signup({ email: `${local}@${ascii}`, password: PASSWORD, name: 'O' });
        expect(owner.statusCode).toBe(201);
        expectUniformError(await login(`${local}@${ascii}`, 'squatter password'), 401);
        const res = await login(`${local.toUpperCase()}@${ascii.toUpperCase()}`);
        expect(res.statusCode).toBe(200);
        expect((await me(res.json().accessToken)).json().id).toBe(owner.json().id);
      },
    );

    it.each([
      ['a zero-width space', '\u200b'],
      ['a zero-width joiner', '\u200d'],
      ['a soft hyphen', '\u00ad'],
      ['a right-to-left mark', '\u200f'],
      ['a no-break space', '\u00a0'],
      ['a control character', '\u0007'],
      ['a combining dot that has no precomposed letter', 'q\u0307'],
    ])('refuses an e-mail with %s, so no lookalike of another address can be made', async (_, invisible) => {
      const [local, domain] = newEmail().split('@');
      const res = await signup({ email: `${local}${invisible}x@${domain}`, password: PASSWORD, name: 'L' });
      expectUniformError(res, 400);
      expect(JSON.stringify(res.json().message)).toContain('email');
    });

    it('gives one 201 and one 409 to concurrent signups with the same e-mail, never a 500', async () => {
      for (let round = 0; round < 3; round++) {
        const email = newEmail();
        const results = await Promise.all([
          signup({ email, password: PASSWORD, name: 'First' }),
          signup({ email: email.toUpperCase(), password: PASSWORD, name: 'Second' }),
        ]);
        expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
      }
    });

    it.each([
      ['email missing', { password: PASSWORD, name: 'A' }, 'email must be an email'],
      ['email invalid', { email: 'not-an-email', password: PASSWORD, name: 'A' }, 'email must be an email'],
      ['email not a string', { email: 42, password: PASSWORD, name: 'A' }, 'email must be an email'],
      ['password too short', { email: 'a@b.io', password: 'x'.repeat(7), name: 'A' }, 'password must be longer'],
      ['password too long', { email: 'a@b.io', password: 'x'.repeat(129), name: 'A' }, 'password must be shorter'],
      ['password missing', { email: 'a@b.io', name: 'A' }, 'password must be a string'],
      ['name empty', { email: 'a@b.io', password: PASSWORD, name: '' }, 'name must not be blank'],
      ['name blank', { email: 'a@b.io', password: PASSWORD, name: '   ' }, 'name must not be blank'],
      ['name too long', { email: 'a@b.io', password: PASSWORD, name: 'n'.repeat(101) }, 'name must be shorter'],
      ['name missing', { email: 'a@b.io', password: PASSWORD }, 'name must be a string'],
      ['unknown field', { email: 'a@b.io', password: PASSWORD, name: 'A', role: 'ADMIN' }, 'property role'],
    ])('answers 400 when %s', async (_case, payload, expected) => {
      const res = await signup(payload);
      expectUniformError(res, 400);
      expect(res.json().message.join('\n')).toContain(expected);
    });

    it('refuses a password of only white space, one character repeated or a run with a clear 400, storing nothing (generated)', async () => {
      /** NIST SP 800-63B §5.1.1.2's repetitive and sequential passwords, 8–128 characters. */
      const guessable = fc.oneof(
        fc
          .array(fc.constantFrom(' ', '\t', '\n', '\u00a0', '\u3000'), { minLength: 8, maxLength: 128 })
          .map((chars) => ({ password: chars.join(''), reason: 'password must not be only white space' })),
        fc.tuple(fc.constantFrom(...'a1Z.ß€😀'), fc.integer({ min: 8, max: 128 })).map(([char, times]) => ({
          password: char.repeat(times),
          reason: 'password must not be one character repeated',
        })),
        fc
          .tuple(
            fc.constantFrom('0123456789'.repeat(13), 'abcdefghijklmnopqrstuvwxyz'),
            fc.nat(),
            fc.integer({ min: 8, max: 26 }),
            fc.boolean(),
          )
          .map(([alphabet, at, length, up]) => {
            const start = at % (alphabet.length - length + 1);
            const run = alphabet.slice(start, start + length);
            return {
              password: up ? run : [...run].reverse().join(''),
              reason: 'password must not be a run of consecutive characters, such as 12345678 or abcdefgh',
            };
          }),
      );
      await fc.assert(
        fc.asyncProperty(guessable, async ({ password, reason }) => {
          const email = newEmail();
          const res = await signup({ email, password, name: 'Guessable' });
          expectUniformError(res, 400);
          expect(res.json().message).toEqual([reason]);
          expect(await db.query('SELECT 1 FROM users WHERE email = $1', [email])).toHaveLength(0);
        }),
        { numRuns: 40 },
      );
      // The same rule for staff an admin makes, and for an admin the operator makes.
      const admin = (await login(ADMIN.email, ADMIN.password, '10.0.0.9')).json();
      const staff = await inject({
        method: 'POST',
        url: '/api/v1/admin/staff',
        headers: bearer(admin.accessToken),
        payload: { email: newEmail(), password: '87654321', name: 'Door' },
      });
      expectUniformError(staff, 400);
      expect(staff.json().message).toEqual([
        'password must not be a run of consecutive characters, such as 12345678 or abcdefgh',
      ]);
      const operator = newEmail();
      await expect(
        api.app.get(AdminAccountsService).ensureAdmin({ email: operator, password: 'zzzzzzzz' }),
      ).rejects.toThrow(new InvalidInputError('password must not be one character repeated'));
      expect(await db.query('SELECT 1 FROM users WHERE email = $1', [operator])).toHaveLength(0);
      // Near misses stay valid, as every password taken before is.
      for (const password of ['12345678!', 'aaaaaaab', ' 1234567 8']) {
        expect((await signup({ email: newEmail(), password, name: 'Near' })).statusCode, password).toBe(201);
      }
    });

    it('refuses a commonly used password, or one that is the e-mail address or the name, with a clear 400, storing nothing (accounts trial A2)', async () => {
      for (const [payload, reason] of [
        [
          { email: newEmail(), password: 'Password1', name: 'Common' },
          'password must not be a commonly used password, such as "password1" or "qwerty123"',
        ],
        [
          { email: newEmail(), password: 'qwerty123!', name: 'Common' },
          'password must not be a commonly used password, such as "password1" or "qwerty123"',
        ],
        [
          { email: 'ada.lovelace.a2@example.test', password: 'Ada.Lovelace.A2', name: 'Ada' },
          'password must not be your e-mail address or your name',
        ],
        [
          { email: newEmail(), password: 'Grace Hopper 1906', name: 'Grace Hopper 1906' },
          'password must not be your e-mail address or your name',
        ],
      ] as const) {
        const res = await signup(payload);
        expectUniformError(res, 400);
        expect(res.json().message).toEqual([reason]);
        expect(await db.query('SELECT 1 FROM users WHERE email = $1', [payload.email])).toHaveLength(0);
      }
      const admin = (await login(ADMIN.email, ADMIN.password, '10.0.0.9')).json();
      const staffEmail = newEmail();
      const staff = await inject({
        method: 'POST',
        url: '/api/v1/admin/staff',
        headers: bearer(admin.accessToken),
        payload: { email: staffEmail, password: staffEmail.toUpperCase(), name: 'Door' },
      });
      expectUniformError(staff, 400);
      expect(staff.json().message).toEqual(['password must not be your e-mail address or your name']);
    });

    it('rolls everything back when a step after the first insert fails', async () => {
      const email = newEmail();
      // Makes the second insert of the signup transaction (its audit record) fail.
      await db.query(`CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'forced failure'; END $$`);
      await db.query(
        `CREATE TRIGGER refuse_event BEFORE INSERT ON auth_events FOR EACH ROW EXECUTE FUNCTION refuse_event()`,
      );
      try {
        const res = await signup({ email, password: PASSWORD, name: 'Rolled Back' });
        expectUniformError(res, 500);
      } finally {
        await db.query('DROP TRIGGER refuse_event ON auth_events');
        await db.query('DROP FUNCTION refuse_event()');
      }
      expect(await db.query('SELECT 1 FROM users WHERE email = $1', [email])).toHaveLength(0);
      expect((await signup({ email, password: PASSWORD, name: 'Second Try' })).statusCode).toBe(201);
    });
  });

  describe('login', () => {
    it('answers a token pair for the right password; the access token opens /users/me', async () => {
      const email = newEmail();
      await signup({ email, password: PASSWORD, name: 'Grace' });
      const res = await login(email.toUpperCase());
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(Object.keys(body).sort()).toEqual([
        'accessToken',
        'expiresIn',
        'refreshExpiresIn',
        'refreshToken',
        'tokenType',
      ]);
      expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 600, refreshExpiresIn: 2592000 });
      const profile = await me(body.accessToken);
      expect(profile.statusCode).toBe(200);
      expect(profile.json()).toEqual({
        id: expect.any(String),
        email,
        name: 'Grace',
        role: 'USER',
        emailVerified: false,
      });
    });

    it('keeps only the sha256 of the refresh token', async () => {
      const session = await newSession();
      const hash = createHash('sha256').update(session.refreshToken).digest('hex');
      const rows = await db.query('SELECT token_hash FROM refresh_tokens WHERE token_hash = $1', [hash]);
      expect(rows).toHaveLength(1);
      const raw = await db.query(`SELECT 1 FROM refresh_tokens WHERE row_to_json(refresh_tokens)::text LIKE $1`, [
        `%${session.refreshToken.slice(-20)}%`,
      ]);
      expect(raw).toHaveLength(0);
    });

    it('answers the same 401 for a wrong password and for an unknown e-mail', async () => {
      const email = newEmail();
      await signup({ email, password: PASSWORD, name: 'A' });
      const wrong = await login(email, 'wrong password!');
      const unknown = await login(newEmail());
      expectUniformError(wrong, 401);
      expectUniformError(unknown, 401);
      expect(wrong.json().message).toBe(unknown.json().message);
    });
  });

  describe('refresh tokens', () => {
    it('rotate: the new pair works and the old refresh token stops working', async () => {
      const session = await newSession();
      const first = await refresh(session.refreshToken);
      expect(first.statusCode).toBe(200);
      const rotated = first.json();
      expect(rotated.refreshToken).not.toBe(session.refreshToken);
      expect((await me(rotated.accessToken)).statusCode).toBe(200);
      expectUniformError(await refresh(session.refreshToken), 401);
    });

    it('revoke the whole family when an already-rotated token is presented again', async () => {
      const session = await newSession();
      const second = (await refresh(session.refreshToken)).json();
      const third = (await refresh(second.refreshToken)).json();
      expectUniformError(await refresh(session.refreshToken), 401);
      expectUniformError(await refresh(third.refreshToken), 401);
      const [user] = await db.query('SELECT id FROM users WHERE email = $1', [session.email]);
      const live = await db.query('SELECT 1 FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL', [user.id]);
      expect(live).toHaveLength(0);
      const events = await db.query(`SELECT type FROM auth_events WHERE user_id = $1 ORDER BY id`, [user.id]);
      // Signup's verification e-mail was issued in its transaction.
      expect(events.map((e: { type: string }) => e.type)).toEqual([
        'SIGNED_UP',
        'EMAIL_VERIFICATION_REQUESTED',
        'REFRESH_TOKEN_REUSED',
      ]);
    });

    it('revoke what a refresh racing the reuse mints: no token of the family survives (20 rounds)', async () => {
      for (let round = 0; round < 20; round++) {
        const session = await newSession();
        const second = (await refresh(session.refreshToken)).json();
        // The thief's reuse of the first token and the owner's refresh of the second, at once.
        const [reuse, rotated] = await Promise.all([refresh(session.refreshToken), refresh(second.refreshToken)]);
        expectUniformError(reuse, 401);
        if (rotated.statusCode === 200) {
          const answer = await refresh(rotated.json().refreshToken);
          expect(answer.statusCode, `round ${round}: the token minted beside the reuse still refreshes`).toBe(401);
        }
        const [user] = await db.query('SELECT id FROM users WHERE email = $1', [session.email]);
        const live = await db.query('SELECT id FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL', [
          user.id,
        ]);
        expect(live, `round ${round}: live tokens of a revoked family`).toEqual([]);
      }
    });

    it('leave other sessions of the same user alone when one family is revoked', async () => {
      const session = await newSession();
      const other = (await login(session.email, PASSWORD, '10.0.0.2')).json();
      await refresh(session.refreshToken);
      await refresh(session.refreshToken);
      expect((await refresh(other.refreshToken)).statusCode).toBe(200);
    });

    it('let only one of two concurrent refreshes with the same token succeed', async () => {
      const session = await newSession();
      const results = await Promise.all([refresh(session.refreshToken), refresh(session.refreshToken)]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
    });

    it('expire after 30 days', async () => {
      const session = await newSession();
      clockOffsetMs = 30 * DAY_MS + 1000;
      expectUniformError(await refresh(session.refreshToken), 401);
      clockOffsetMs = 29 * DAY_MS;
      expect((await refresh(session.refreshToken)).statusCode).toBe(200);
    });

    it('are refused as access tokens, and access tokens are refused as refresh tokens', async () => {
      const session = await newSession();
      expectUniformError(await me(session.refreshToken), 401);
      expectUniformError(await refresh(session.accessToken), 401);
    });
  });

  describe('logout (OAuth 2.0 token revocation, RFC 7009: the refresh token is the credential)', () => {
    const logout = (refreshToken: unknown, headers: Record<string, string> = {}) =>
      inject({ method: 'POST', url: '/api/v1/auth/logout', headers, payload: { refreshToken } });
    /** The account's refresh tokens not revoked, by e-mail. */
    const liveTokens = async (email: string) =>
      (
        await db.query(
          'SELECT count(*)::int AS n FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = $1 AND t.revoked_at IS NULL',
          [email],
        )
      )[0].n;

    it('revokes the refresh token: 204, then refresh answers 401 and a second logout 204 again', async () => {
      const session = await newSession();
      const res = await logout(session.refreshToken, bearer(session.accessToken));
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
      expectUniformError(await refresh(session.refreshToken), 401);
      const again = await logout(session.refreshToken, bearer(session.accessToken));
      expect(again.statusCode).toBe(204);
      expect(again.body).toBe('');
    });

    it('needs no access token: a client whose access token ran out logs out without refreshing first', async () => {
      const session = await newSession();
      const other = (await login(session.email, PASSWORD, '10.0.0.2')).json();
      clockOffsetMs = 11 * 60 * 1000;
      expectUniformError(await me(session.accessToken), 401);
      expect((await logout(session.refreshToken, bearer(session.accessToken))).statusCode).toBe(204);
      expectUniformError(await refresh(session.refreshToken), 401);
      // Without any Authorization header too; and only the session of the token ends.
      expect((await logout(other.refreshToken)).statusCode).toBe(204);
      expectUniformError(await refresh(other.refreshToken), 401);
      expect(await liveTokens(session.email)).toBe(0);
    });

    it('ends the session with a token already rotated: the newer one stops working too (a stranger’s review)', async () => {
      const session = await newSession();
      const rotated = await refresh(session.refreshToken);
      expect(rotated.statusCode).toBe(200);
      expect((await logout(session.refreshToken)).statusCode).toBe(204);
      expectUniformError(await refresh(rotated.json().refreshToken), 401);
    });

    it('ends the session of whoever holds the refresh token, whatever access token comes with it', async () => {
      const session = await newSession();
      const other = await newSession();
      // The header is not read: the refresh token alone names (and proves) the session.
      expect((await logout(session.refreshToken, bearer(other.accessToken))).statusCode).toBe(204);
      expectUniformError(await refresh(session.refreshToken), 401);
      expect(await liveTokens(other.email)).toBe(1);
      expect((await refresh(other.refreshToken)).statusCode).toBe(200);
    });

    it('answers 204 to a token unknown, expired, forged or of the other type, and ends no session', async () => {
      const session = await newSession();
      const claims = JSON.parse(Buffer.from(session.refreshToken.split('.')[1], 'base64url').toString());
      const forged = new JwtService().sign(
        { sub: claims.sub, fam: claims.fam, jti: claims.jti, typ: 'refresh' },
        { secret: 'some-other-secret-of-at-least-32-chars!!', expiresIn: 3600 },
      );
      for (const token of ['not.a.jwt', 'Zm9v', forged, session.accessToken]) {
        const res = await logout(token);
        expect(res.statusCode, token).toBe(204);
        expect(res.body).toBe('');
      }
      // A token of the session, presented once it has expired (30 days on).
      clockOffsetMs = 30 * DAY_MS + 1000;
      expect((await logout(session.refreshToken)).statusCode).toBe(204);
      clockOffsetMs = 0;
      expect(await liveTokens(session.email)).toBe(1);
      expect((await refresh(session.refreshToken)).statusCode).toBe(200);
    });

    it('keeps reuse detection: a rotated token reused after a logout is refused, and a logout leaves the reuse answer alone', async () => {
      const session = await newSession();
      const second = (await refresh(session.refreshToken)).json();
      // The thief's copy of the first token is reused: the family is revoked.
      expectUniformError(await refresh(session.refreshToken), 401);
      expectUniformError(await refresh(second.refreshToken), 401);
      // The owner's logout afterwards is a 204 that changes nothing.
      expect((await logout(second.refreshToken)).statusCode).toBe(204);
      const [user] = await db.query('SELECT id FROM users WHERE email = $1', [session.email]);
      const events = await db.query(`SELECT type FROM auth_events WHERE user_id = $1 ORDER BY id`, [user.id]);
      expect(events.map((e: { type: string }) => e.type)).toContain('REFRESH_TOKEN_REUSED');
      expect(await liveTokens(session.email)).toBe(0);
    });

    it('refuses a body without a refresh token with 400', async () => {
      for (const payload of [{}, { refreshToken: '' }, { refreshToken: 42 }]) {
        expectUniformError(await inject({ method: 'POST', url: '/api/v1/auth/logout', payload }), 400);
      }
    });
  });

  describe('an account made admin by ADMIN_EMAIL or admin:create', () => {
    it('loses every session it had, so whoever signed up with that address first gets no admin token', async () => {
      const squatter = await newSession();
      const admins = api.app.get(AdminAccountsService);
      const { granted } = await admins.ensureAdmin({ email: squatter.email, password: 'operator passphrase 9' });
      expect(granted).toBe(true);
      expectUniformError(await refresh(squatter.refreshToken), 401);
      expectUniformError(await login(squatter.email), 401);
      expect((await login(squatter.email, 'operator passphrase 9')).statusCode).toBe(200);
    });

    it('refuses the name the promoted account keeps as its password, promoting nothing', async () => {
      const email = newEmail();
      expect((await signup({ email, password: 'a fine passphrase 7', name: 'Grace Hopper' })).statusCode).toBe(201);
      const admins = api.app.get(AdminAccountsService);
      await expect(admins.ensureAdmin({ email, password: 'Grace Hopper 1906' })).rejects.toThrow(
        'password must not be your e-mail address or your name',
      );
      const [{ role }] = await db.query('SELECT role FROM users WHERE email = $1', [email]);
      expect(role).toBe('USER');
    });

    it('keeps its sessions when the same password is given again (every start), ends them when it changes', async () => {
      const email = newEmail();
      const admins = api.app.get(AdminAccountsService);
      await admins.ensureAdmin({ email, password: 'operator passphrase 9' });
      const session = (await login(email, 'operator passphrase 9')).json();
      const [{ password_hash: before }] = await db.query('SELECT password_hash FROM users WHERE email = $1', [email]);
      await admins.ensureAdmin({ email, password: 'operator passphrase 9' });
      const [{ password_hash: after }] = await db.query('SELECT password_hash FROM users WHERE email = $1', [email]);
      expect(after).toBe(before);
      const kept = await refresh(session.refreshToken);
      expect(kept.statusCode).toBe(200);
      await admins.ensureAdmin({ email, password: 'another passphrase 10' });
      expectUniformError(await refresh(kept.json().refreshToken), 401);
    });
  });

  describe('access tokens', () => {
    it('stop working on /users/me once the account is deleted', async () => {
      const session = await newSession();
      await db.query('DELETE FROM users WHERE email = $1', [session.email]);
      expectUniformError(await me(session.accessToken), 401);
      expectUniformError(await refresh(session.refreshToken), 401);
    });

    const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

    it('expire after 10 minutes', async () => {
      const session = await newSession();
      clockOffsetMs = 9 * 60 * 1000;
      expect((await me(session.accessToken)).statusCode).toBe(200);
      clockOffsetMs = 10 * 60 * 1000 + 1000;
      expectUniformError(await me(session.accessToken), 401);
    });

    it.each([
      ['no token', () => ({})],
      ['another scheme', (t: string) => ({ authorization: `Basic ${t}` })],
      ['a malformed token', () => bearer('not.a.jwt')],
      ['garbage', () => bearer('Zm9v')],
      [
        'a token signed with another key',
        (_t: string, claims: Record<string, unknown>) =>
          bearer(new JwtService().sign(claims, { secret: 'some-other-secret-of-at-least-32-chars!!' })),
      ],
      [
        'an altered token',
        (t: string, claims: Record<string, unknown>) => {
          const [header, , signature] = t.split('.');
          return bearer(`${header}.${base64url({ ...claims, role: 'ADMIN' })}.${signature}`);
        },
      ],
      [
        'an alg:none token',
        (_t: string, claims: Record<string, unknown>) =>
          bearer(`${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`),
      ],
    ])('answer 401 for %s', async (_case, makeHeaders) => {
      const session = await newSession();
      const claims = JSON.parse(Buffer.from(session.accessToken.split('.')[1], 'base64url').toString());
      const res = await inject({
        method: 'GET',
        url: '/api/v1/users/me',
        headers: makeHeaders(session.accessToken, claims),
      });
      expectUniformError(res, 401);
    });
  });

  describe('roles', () => {
    it('let an admin through and answer 403 to a user and 401 to nobody', async () => {
      const user = await createSession(api.app);
      expectUniformError(await inject({ method: 'GET', url: '/api/v1/test-admin', headers: user.headers }), 403);
      expectUniformError(await inject({ method: 'GET', url: '/api/v1/test-admin' }), 401);
      const admin = await createSession(api.app, { role: Role.Admin });
      const res = await inject({ method: 'GET', url: '/api/v1/test-admin', headers: admin.headers });
      expect(res.statusCode).toBe(200);
    });
  });

  describe('admin bootstrap', () => {
    it('creates the admin of ADMIN_EMAIL at start, and a restart changes nothing', async () => {
      const admins = () => db.query(`SELECT id, role FROM users WHERE lower(email) = $1`, [ADMIN.email]);
      const before = await admins();
      expect(before).toEqual([{ id: expect.any(String), role: 'ADMIN' }]);
      const again = await createApiApp(TestApiModule, { overrides: api.env, logger: false });
      await again.init();
      await again.close();
      expect(await admins()).toEqual(before);
      const admin = await login(ADMIN.email, ADMIN.password, '10.0.0.3');
      expect(admin.statusCode).toBe(200);
      expect((await me(admin.json().accessToken)).json()).toMatchObject({ email: ADMIN.email, role: 'ADMIN' });
    });
  });

  describe('login rate limit', () => {
    it('answers 429 with Retry-After after 5 attempts per IP and e-mail, even for the right password', async () => {
      const email = newEmail();
      await signup({ email, password: PASSWORD, name: 'A' });
      for (let i = 0; i < 5; i++) expect((await login(email, 'wrong password!', '10.1.0.1')).statusCode).toBe(401);
      const blocked = await login(email, PASSWORD, '10.1.0.1');
      expectUniformError(blocked, 429);
      const retryAfter = Number(blocked.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect((await login(email.toUpperCase(), PASSWORD, '10.1.0.1')).statusCode).toBe(429);
      expect((await login(email, PASSWORD, '10.1.0.2')).statusCode).toBe(200);
      expect((await login(newEmail(), PASSWORD, '10.1.0.1')).statusCode).toBe(401);
    });

    it('holds across two API instances on the same Redis', async () => {
      const second = await createApiApp(TestApiModule, {
        overrides: api.env,
        logger: createLogger({ app: 'api', level: 'error', dir: api.env.LOG_DIR, console: 'none' }),
      });
      await second.init();
      await second.getHttpAdapter().getInstance().ready();
      try {
        const email = newEmail();
        for (let i = 0; i < 5; i++) {
          const app = i % 2 === 0 ? api.app : second;
          expect((await login(email, 'wrong password!', '10.2.0.1', app)).statusCode).toBe(401);
        }
        const blocked = await login(email, 'wrong password!', '10.2.0.1', second);
        expect(blocked.statusCode).toBe(429);
        expect(blocked.headers['retry-after']).toBeDefined();
        expect((await login(email, 'wrong password!', '10.2.0.1', api.app)).statusCode).toBe(429);
      } finally {
        await second.close();
      }
      const redis = api.app.get(Redis);
      const keys = await keysMatching(redis, `${api.env.REDIS_KEY_PREFIX}throttle:*`);
      expect(keys.length).toBeGreaterThan(0);
    });
  });
});

describe('admin bootstrap on replicas starting together', () => {
  it('leaves exactly one admin when two API instances start at once, then again on restart', async () => {
    const env = await createTestEnv({ ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password });
    const start = async () => {
      const app = await createApiApp(ApiModule, { overrides: env, logger: false });
      await app.init();
      return app;
    };
    try {
      const apps = await Promise.all([start(), start()]);
      const restarted = await start();
      const rows = await restarted
        .get(DataSource)
        .query(`SELECT role FROM users WHERE lower(email) = $1`, [ADMIN.email]);
      expect(rows).toEqual([{ role: 'ADMIN' }]);
      await Promise.all([...apps, restarted].map((app) => app.close()));
    } finally {
      await destroyTestEnv(env);
    }
  });
});
