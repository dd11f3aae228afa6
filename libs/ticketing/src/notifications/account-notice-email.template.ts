import type { AccountNoticeEvent } from '@app/messaging/contracts';
import { escapeHtml, htmlPage, RenderedEmail } from './email-layout';
import { formatStartTime } from './purchase-email.template';

/** What an account notice says: which change, when, and for the e-mail changes the new address. */
export interface AccountNoticeEmailInput {
  event: AccountNoticeEvent;
  /** The address the notice goes to: the account's when the change was made. */
  email: string;
  at: Date;
  newEmail?: string;
}

/** The route that sends a reset e-mail to the account's address, as the notices name it. */
const RESET_ROUTE = 'POST /api/v1/auth/password-reset {"email": "…"}';

/** The words of each notice: subject, what happened (one sentence, no address in it), what to do if it was not the reader. */
function wordingOf(input: AccountNoticeEmailInput): { subject: string; what: string; ifNot: string[] } {
  const reply = 'or reply to this e-mail to reach the shop.';
  switch (input.event) {
    case 'password-changed':
      return {
        subject: 'Your boxoffice password was changed',
        what: 'the password of your boxoffice account was changed by someone signed in to it. Every other session of the account was signed out.',
        ifNot: [
          'If this was not you, someone knows your password: set a new one at once with a password reset',
          `(${RESET_ROUTE}, or the shop's "forgot password" page), ${reply}`,
        ],
      };
    case 'password-reset':
      return {
        subject: 'Your boxoffice password was reset',
        what: 'the password of your boxoffice account was set with a password-reset link sent to this address. Every session of the account was signed out.',
        ifNot: [
          'If this was not you, someone can read this mailbox: secure it, then reset the password again',
          `(${RESET_ROUTE}, or the shop's "forgot password" page), ${reply}`,
        ],
      };
    case 'email-change-requested':
      return {
        subject: 'A change of your boxoffice e-mail address was asked for',
        what: `someone signed in to your boxoffice account asked to change its e-mail address to ${input.newEmail}. Nothing changes until the link sent to that address is used.`,
        ifNot: [
          'If this was not you, someone knows your password: reset it now',
          `(${RESET_ROUTE}, or the shop's "forgot password" page), which also cancels the change, ${reply}`,
        ],
      };
    case 'email-changed':
      return {
        subject: 'Your boxoffice e-mail address was changed',
        what: `the e-mail address of your boxoffice account was changed to ${input.newEmail}. Tickets, notices and password resets go there now, and every session of the account was signed out.`,
        ifNot: [
          'If this was not you, reply to this e-mail at once to reach the shop: a password reset now goes to',
          'the new address, so the shop has to give the account back.',
        ],
      };
    case 'account-deleted':
      return {
        subject: 'Your boxoffice account was deleted',
        what: 'your boxoffice account was deleted: its e-mail address and name were removed, and every session of it was signed out. Past purchases stay in the books without them, and this address is free to sign up with again.',
        ifNot: [
          'If you did not ask for this, someone knew your password or asked the shop in your name:',
          'reply to this e-mail at once to reach the shop.',
        ],
      };
  }
}

/**
 * A notice of a change to an account (its password changed or reset, a change of its address asked
 * for or made): what happened and when (UTC), and what to do if the reader did not do it (reset the
 * password, or reply to reach the shop). No secret, no link carrying a token, and no name (the
 * account's name was chosen by whoever made it).
 */
export function renderAccountNoticeEmail(input: AccountNoticeEmailInput): RenderedEmail {
  const { subject, what, ifNot } = wordingOf(input);
  const when = formatStartTime(input.at);
  const text = [
    'Hello,',
    '',
    `On ${when} ${what}`,
    '',
    ...ifNot,
    '',
    'If it was you, there is nothing to do.',
    '',
    'boxoffice',
    '',
  ].join('\n');
  const html = htmlPage(
    subject,
    `<p>Hello,</p>
<p>On ${escapeHtml(when)} ${escapeHtml(what)}</p>
<p>${escapeHtml(ifNot.join(' '))}</p>
<p>If it was you, there is nothing to do.</p>
<p>boxoffice</p>`,
  );
  return { subject, text, html };
}
