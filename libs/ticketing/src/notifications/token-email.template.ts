import { escapeHtml, htmlPage, RenderedEmail } from './email-layout';
import { mailLink } from './mail-link';
import { formatStartTime } from './purchase-email.template';

/**
 * What an e-mail of a single-use token (e-mail verification, password reset) says: to which address,
 * the token, and until when it works. No name: whoever signed up chose it, and need not own the
 * address the e-mail goes to (a lure in a name would reach any inbox under the shop's sender).
 */
export interface TokenEmailInput {
  email: string;
  /** The token, base64url. */
  token: string;
  expiresAt: Date;
}

/** The words of one kind of token e-mail, around what every token e-mail says alike. */
export interface TokenEmailWording {
  subject: string;
  /** The text lines after the greeting, up to where the e-mail says how to use the token. */
  intro: string[];
  /** The same in HTML, escaped, ending inside the paragraph that goes on with how to use the token. */
  introHtml: string;
  /** With a link: the text line leading to it; in HTML, the words before the link and the link's own. */
  linkLead: { text: string; before: string; anchor: string };
  /** Without a link, the words opening the sentence on where the token goes (with one: "Or, without the link, send"). */
  sendOpening: string;
  /** The rest of that sentence, from "this token": as text lines, and in HTML (escaped). */
  send: { text: string[]; html: string };
  /** Said after until when the token works, if anything: a text line; in HTML, in the same paragraph. */
  note?: string;
  /** What a reader who did not ask for the e-mail should do. */
  ignore: string;
}

/**
 * A token e-mail: the greeting (no name), the intro; with `url` (its `{token}` replaced by the URL-encoded
 * token) the link, and always the token to send to the API (the way without a link, or a fallback
 * beside it); that it works once, until `expiresAt` (UTC); what to do when the reader did not ask.
 */
export function renderTokenEmail(
  input: TokenEmailInput,
  url: string | undefined,
  wording: TokenEmailWording,
): RenderedEmail {
  const until = formatStartTime(input.expiresAt);
  const link = url === undefined ? null : mailLink(url, input.token);
  const [sendFirst, ...sendRest] = wording.send.text;
  const text = [
    'Hello,',
    '',
    ...wording.intro,
    ...(link === null ? [] : [wording.linkLead.text, '', link, '', 'Or, without the link,']),
    `${link === null ? wording.sendOpening : 'send'} ${sendFirst}`,
    ...sendRest,
    '',
    `Token:  ${input.token}`,
    `Valid:  once, until ${until}`,
    '',
    ...(wording.note === undefined ? [] : [wording.note]),
    wording.ignore,
    '',
    'boxoffice',
    '',
  ].join('\n');
  const href = link === null ? null : escapeHtml(link);
  const html = htmlPage(
    wording.subject,
    `<p>Hello,</p>
${wording.introHtml}${
      href === null
        ? escapeHtml(wording.sendOpening)
        : `${escapeHtml(wording.linkLead.before)}<a href="${href}">${escapeHtml(wording.linkLead.anchor)}</a>:</p>
<p><a href="${href}">${href}</a></p>
<p>Or, without the link, send`
    } ${wording.send.html}</p>
<p><code style="font-size: 1.1em">${escapeHtml(input.token)}</code></p>
<p>It works once, until ${escapeHtml(until)}.${wording.note === undefined ? '' : ` ${escapeHtml(wording.note)}`}</p>
<p>${escapeHtml(wording.ignore)}</p>
<p>boxoffice</p>`,
  );
  return { subject: wording.subject, text, html };
}
