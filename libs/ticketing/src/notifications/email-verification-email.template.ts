import { escapeHtml, RenderedEmail } from './email-layout';
import { renderTokenEmail, TokenEmailInput } from './token-email.template';

/** What a "confirm your e-mail address" e-mail says: to whom, the token (the verification token), and until when it works. */
export interface EmailVerificationEmailInput extends TokenEmailInput {
  /** EMAIL_VERIFICATION_URL: the page that confirms the address, `{token}` in it; none: the bare token only. */
  verifyUrl?: string;
}

/**
 * The "confirm your e-mail address" e-mail: with `verifyUrl`, the link that confirms it; always the
 * token to send to `POST /api/v1/auth/email-verification/confirm` (the way without a link, or a
 * fallback beside it); until when it works (UTC); why it matters (tickets and notices go to this
 * address) and what to do when the reader did not sign up (ignore it, or take the account by a
 * password reset: the confirm needs the account's sign-in or password, which they do not have).
 */
export function renderEmailVerificationEmail(input: EmailVerificationEmailInput): RenderedEmail {
  return renderTokenEmail(input, input.verifyUrl, {
    subject: 'Confirm your e-mail address for boxoffice',
    intro: [
      `please confirm that ${input.email} is your address: your tickets and every notice about them`,
      'go there, and some sales only sell to confirmed addresses.',
      '',
    ],
    introHtml: `<p>please confirm that <strong>${escapeHtml(input.email)}</strong> is your address: your tickets and every notice about them go there, and some sales only sell to confirmed addresses.</p>
<p>`,
    linkLead: { text: 'Open this link to confirm it:', before: '', anchor: 'Confirm your address' },
    sendOpening: 'Send',
    send: {
      text: [
        'this token to POST /api/v1/auth/email-verification/confirm, signed in (Authorization: Bearer …)',
        'as {"token": "…"}, or not signed in as {"token": "…", "password": "…"}:',
      ],
      html: 'this token to <code>POST /api/v1/auth/email-verification/confirm</code>, signed in (<code>Authorization: Bearer …</code>) as <code>{"token": "…"}</code>, or not signed in as <code>{"token": "…", "password": "…"}</code>:',
    },
    // Confirming needs the account's sign-in or password: a reader who never signed up (someone
    // else used this address) cannot, and takes the account over by a password reset instead.
    note: "Confirming asks you to be signed in to this account, or for the account's password.",
    ignore:
      'If you did not sign up for boxoffice, ignore this e-mail (nothing happens without it), or, if you want the account, reset its password (POST /api/v1/auth/password-reset {"email": "…"}): that confirms the address and signs out whoever else is signed in to it.',
  });
}
