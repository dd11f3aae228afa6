import { escapeHtml, RenderedEmail } from './email-layout';
import { renderTokenEmail, TokenEmailInput } from './token-email.template';

/** What a "confirm your new e-mail address" e-mail says: to which (new) address, the token, until when it works. */
export interface EmailChangeEmailInput extends TokenEmailInput {
  /** EMAIL_CHANGE_URL: the page that confirms the new address, `{token}` in it; none: the bare token only. */
  changeUrl?: string;
}

/**
 * The "confirm your new e-mail address" e-mail, to the new address: with `changeUrl`, the link that
 * confirms it; always the token to send to `POST /api/v1/auth/email/confirm`; until when it works
 * (UTC); that confirming signs the account out everywhere; and what to do when the reader did not
 * ask (ignore it: nothing changes without it).
 */
export function renderEmailChangeEmail(input: EmailChangeEmailInput): RenderedEmail {
  return renderTokenEmail(input, input.changeUrl, {
    subject: 'Confirm your new e-mail address for boxoffice',
    intro: [`someone signed in to a boxoffice account asked to make ${input.email} its e-mail address.`, ''],
    introHtml: `<p>someone signed in to a boxoffice account asked to make <strong>${escapeHtml(input.email)}</strong> its e-mail address.</p>
<p>`,
    linkLead: {
      text: 'If it was you, open this link to confirm it:',
      before: 'If it was you, ',
      anchor: 'confirm the new address',
    },
    sendOpening: 'If it was you, send',
    send: {
      text: [
        'this token to POST /api/v1/auth/email/confirm, signed in (Authorization: Bearer …)',
        'as {"token": "…"}, or not signed in as {"token": "…", "password": "…"}:',
      ],
      html: 'this token to <code>POST /api/v1/auth/email/confirm</code>, signed in (<code>Authorization: Bearer …</code>) as <code>{"token": "…"}</code>, or not signed in as <code>{"token": "…", "password": "…"}</code>:',
    },
    note: 'Confirming signs the account out everywhere: sign in again with this address.',
    ignore: 'If you did not ask for this, ignore this e-mail: nothing changes without it.',
  });
}
