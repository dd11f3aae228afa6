import { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { expect } from 'vitest';
import { Role } from '@app/auth';
import { EnvSource } from '@app/config';
import { ApiHarness, createSession, ReceivedEmail, TestSession, TestSmtpServer, waitForValue } from '@app/testing';
import { startMailer, startRelay } from '../../../mailer/test/mail-harness';
import { caller } from '../purchase-helpers';
import { Caller, startTestApi } from './api';
import { buyTickets as buyTicketsOn, createStaffSession } from './door';

/**
 * What the API e2e files that read e-mails share: the API with the outbox relay and the mailer in
 * this process, sending to a test SMTP server, with a box office clerk when they sell at the
 * window; a purchase made and written through; the e-mails of a purchase and of a ticket transfer.
 */

/** See {@link startMailStack}. */
export interface MailStack {
  smtp: TestSmtpServer;
  api: ApiHarness;
  /** A batch process's outbox relay (every 50 ms). */
  relay: INestApplicationContext;
  /**
   * The mailer, consuming; undefined when started without it. Not closed by `close`: tests stop
   * and start it (their own variable), so a file closes the one it has before `close`.
   */
  mailer: INestApplicationContext | undefined;
  /** An operator signed in (Role.Admin). */
  admin: TestSession;
  call: Caller;
  /** Closes the relay and the API, then stops the SMTP server. */
  close(): Promise<void>;
}

/**
 * A test SMTP server, the API on it (SMTP_URL) with env `overrides`, the outbox relay and (unless
 * `mailer: false`, for a file that starts it later itself) the mailer, with a caller and an admin
 * session. What started is closed again when a later step fails. In a `describe`:
 *
 * ```ts
 * let { smtp, api, mailer, admin, call, close } = {} as MailStack; // set before the first test
 * beforeAll(async () => ({ smtp, api, mailer, admin, call, close } = await startMailStack({ PURCHASE_FLUSH_AGE_SECONDS: '0' })));
 * afterAll(async () => {
 *   await mailer?.close();
 *   await close?.();
 * });
 * ```
 */
export async function startMailStack(
  overrides: EnvSource = {},
  options: { mailer?: boolean } = {},
): Promise<MailStack> {
  const started: { close(): Promise<unknown> }[] = [];
  const close = async () => {
    for (const part of [...started].reverse()) await part.close();
  };
  try {
    const smtp = await TestSmtpServer.create();
    started.push({ close: () => smtp.stop() });
    const api = await startTestApi({ ...overrides, SMTP_URL: smtp.url });
    started.push(api);
    const relay = await startRelay(api.env);
    started.push(relay);
    const mailer = options.mailer === false ? undefined : await startMailer(api.env);
    try {
      const admin = await createSession(api.app, { role: Role.Admin });
      return { smtp, api, relay, mailer, admin, call: caller(api.app), close };
    } catch (error) {
      await mailer?.close();
      throw error;
    }
  } catch (error) {
    await close();
    throw error;
  }
}

/** See {@link startWindowMailStack}. */
export interface WindowMailStack extends MailStack {
  /** The box office clerk: a STAFF account the admin made, signed in. */
  staff: TestSession;
}

/**
 * {@link startMailStack} with every purchase due for the flush at once (PURCHASE_FLUSH_AGE_SECONDS
 * 0) and a box office clerk to sell at the window: a STAFF account `staffEmail`, named Window, that
 * the admin makes through `POST /admin/staff` (201), signed in. What started (the mailer too) is
 * closed again when the clerk's account fails. In a `describe`, as startMailStack's with `staff`.
 */
export async function startWindowMailStack(staffEmail: string): Promise<WindowMailStack> {
  const stack = await startMailStack({ PURCHASE_FLUSH_AGE_SECONDS: '0' });
  try {
    return { ...stack, staff: await createStaffSession(stack.api.app, stack.admin, staffEmail, 'Window') };
  } catch (error) {
    await stack.mailer?.close();
    await stack.close();
    throw error;
  }
}

/**
 * `session` buys `seatIds` of performance `performanceId` on `api`: `buyTickets` of ./door (the
 * purchase flushed to PostgreSQL; its id and its tickets as `GET /purchases/:id/tickets` lists them).
 */
export function buyTickets<Ticket>(
  api: ApiHarness,
  session: TestSession,
  performanceId: number,
  seatIds: number[],
): Promise<{ purchaseId: string; tickets: Ticket[] }> {
  return buyTicketsOn<Ticket>(api.app, session, performanceId, seatIds);
}

/**
 * The e-mail to `address` whose Message-ID names `what` (`purchase-completed`, `purchase-canceled`,
 * …) of purchase `purchaseId`, once it arrived (waits up to 30 s, then throws).
 */
export function purchaseMail(
  smtp: TestSmtpServer,
  address: string,
  what: string,
  purchaseId: string,
): Promise<ReceivedEmail> {
  return waitForValue(
    () =>
      smtp.received.find((mail) => mail.to.includes(address) && mail.messageIdHeader.includes(`${what}.${purchaseId}`)),
    `the ${what} e-mail of purchase ${purchaseId} to ${address}`,
    { timeoutMs: 30_000 },
  );
}

/**
 * The e-mail whose Message-ID names `what` of ticket transfer `transferId` (`offered`, `received`,
 * `rescheduled.<move id>`, …), once it arrived (waits up to 60 s, then throws).
 */
export function transferMail(smtp: TestSmtpServer, what: string, transferId: string): Promise<ReceivedEmail> {
  return waitForValue(
    () => smtp.received.find((mail) => mail.messageIdHeader.includes(`ticket-transfer-${what}.${transferId}`)),
    `the ${what} e-mail of transfer ${transferId}`,
    { timeoutMs: 60_000 },
  );
}

/**
 * Moves performance `performanceId` to `startsAt` by `PATCH /performances/:id` as `admin` (its
 * cancelUntil a day before; expects 200); answers the id of the move it recorded
 * (`performance_reschedules`), whose notices `batch` fans out.
 */
export async function movePerformance(
  api: ApiHarness,
  admin: TestSession,
  performanceId: number,
  startsAt: Date,
): Promise<string> {
  const moved = await caller(api.app)('PATCH', `/performances/${performanceId}`, {
    session: admin,
    body: {
      startsAt: startsAt.toISOString(),
      cancelUntil: new Date(startsAt.getTime() - 24 * 3_600_000).toISOString(),
    },
  });
  expect(moved.statusCode, moved.body).toBe(200);
  const [row] = await api.app
    .get(DataSource)
    .query('SELECT id::text AS id FROM performance_reschedules WHERE performance_id = $1 ORDER BY id DESC LIMIT 1', [
      performanceId,
    ]);
  return row.id;
}
