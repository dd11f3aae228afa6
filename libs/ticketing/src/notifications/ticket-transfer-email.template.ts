import { MAIL_LINK_TRANSFER_ID } from '@app/config';
import { escapeHtml, htmlPage, RenderedEmail } from './email-layout';
import { EmailTicket, formatSeat, formatStartTime, ticketBlocks } from './purchase-email.template';
import { mailLink } from './mail-link';

/** What every transfer e-mail names: the show, the seat, and the transfer. */
export interface TicketTransferEmailInput {
  transferId: string;
  eventTitle: string;
  venue: string;
  /** The venue's IANA zone: the start is written on its wall clock. */
  timeZone: string;
  startsAt: Date;
  seat: { section: string; rowLabel: string; number: number };
  sender: { name: string; email: string };
  /** Until when the offer can be accepted (offer and new-date e-mails): its effective expiry. */
  expiresAt: Date;
  /**
   * TICKET_TRANSFER_URL (offer and new-date e-mails): the shop's page of the offer, `{transferId}`
   * in it; none: the API routes only.
   */
  offerUrl?: string;
  /** The start the recipient was told before the move (new-date e-mail), when known. */
  previousStartsAt?: Date | null;
  /** Who accepted it (accepted and received e-mails), or declined it (declined e-mail). */
  recipient?: { name: string; email: string };
  /** The address the offer went to (declined and withdrawn e-mails). */
  recipientEmail: string;
  /**
   * Why the offer ended (withdrawn e-mail): `SENDER` (its sender canceled it), `CHECKED_IN` (the
   * ticket was checked in at the door), `PURCHASE_CANCELED` (the ticket was canceled with its
   * purchase, or its show) or `TICKET_CANCELED` (its seat refunded by a partial refund).
   */
  cancelReason?: string | null;
  /**
   * Whether the ticket can still be used (declined e-mail): ACTIVE, not checked in, its performance
   * not canceled. Unless false, the sender is told its code still admits it and it may offer it again.
   */
  ticketUsable?: boolean;
}

/** The show and the seat, as text lines and as an HTML paragraph. */
function showLines(input: TicketTransferEmailInput): { text: string[]; html: string } {
  const start = formatStartTime(input.startsAt, input.timeZone);
  const seat = formatSeat(input.seat);
  return {
    text: [`Event:  ${input.eventTitle}`, `Venue:  ${input.venue}`, `When:   ${start}`, `Seat:   ${seat}`],
    html: `<strong>${escapeHtml(input.eventTitle)}</strong><br>${escapeHtml(input.venue)}<br>${escapeHtml(start)}<br>Seat: ${escapeHtml(seat)}`,
  };
}

/**
 * The frame every transfer e-mail shares: the greeting (`Hello <name>,`, or `Hello,` without a
 * name), `intro` (text lines; one HTML paragraph), the show and the seat, `body` (text lines, HTML
 * paragraphs: HTML already), the transfer id and the signature; in HTML, `after` (a block such as
 * the ticket's) below them.
 */
function transferEmail(
  input: TicketTransferEmailInput,
  subject: string,
  name: string | null,
  intro: string[],
  body: { text: string[]; html: string[] },
  after = '',
): RenderedEmail {
  const show = showLines(input);
  const text = [
    name === null ? 'Hello,' : `Hello ${name},`,
    '',
    ...intro,
    '',
    ...show.text,
    '',
    ...body.text,
    '',
    `Transfer: ${input.transferId}`,
    'boxoffice',
    '',
  ].join('\n');
  const paragraphs = [
    name === null ? 'Hello,' : `Hello ${escapeHtml(name)},`,
    escapeHtml(intro.join(' ')),
    show.html,
    ...body.html,
    `Transfer: ${escapeHtml(input.transferId)}<br>boxoffice`,
  ];
  const html = htmlPage(subject, `${paragraphs.map((paragraph) => `<p>${paragraph}</p>`).join('\n')}\n${after}`);
  return { subject, text, html };
}

/**
 * How the reader of an offer takes it or leaves it, as text lines and HTML paragraphs: with
 * `offerUrl` (TICKET_TRANSFER_URL) the link to the shop's page of the offer (the transfer id
 * URL-encoded in it), and, as the way without a link or a fallback beside it, the API routes to
 * accept (`POST /api/v1/ticket-transfers/<id>/accept`) and decline (`…/decline`).
 */
function offerActions(input: TicketTransferEmailInput): { text: string[]; html: string[] } {
  const accept = `POST /api/v1/ticket-transfers/${input.transferId}/accept`;
  const decline = `POST /api/v1/ticket-transfers/${input.transferId}/decline`;
  // In the venue's time zone, as the start: an expiry at the start (EFFECTIVE_EXPIRY) reads as that start.
  const until = formatStartTime(input.expiresAt, input.timeZone);
  const link = input.offerUrl === undefined ? null : mailLink(input.offerUrl, input.transferId, MAIL_LINK_TRANSFER_ID);
  const signIn =
    'sign in to boxoffice with this e-mail address (sign up with it if you have no account, and confirm the address)';
  const text = [
    ...(link === null
      ? [
          'To accept it, sign in to boxoffice with this e-mail address (sign up with it if you have no',
          `account, and confirm the address), then accept the transfer: ${accept}`,
        ]
      : [
          // Wrapped as the other lines: a mail client shows text parts as they are.
          'To accept or decline it, sign in to boxoffice with this e-mail address (sign up with it if',
          'you have no account, and confirm the address), then open the offer:',
          '',
          link,
          '',
          `Or, without the link, accept it with ${accept}`,
          `(decline: ${decline}).`,
          '',
        ]),
    `The offer stands until ${until}.`,
    'Once you accept, the ticket and a new QR code are yours (GET /api/v1/tickets), and the code',
    'the sender had no longer admits anyone.',
    '',
    link === null
      ? `Not for you? Decline it the same way (${decline}) and the sender is told; or ignore this`
      : 'Not for you? Decline it and the sender is told; or ignore this',
    'e-mail: nothing happens without you.',
  ];
  const html = [
    ...(link === null
      ? [`To accept it, ${escapeHtml(signIn)}, then accept the transfer: <code>${escapeHtml(accept)}</code>`]
      : [
          `To accept or decline it, ${escapeHtml(signIn)}, then <a href="${escapeHtml(link)}">open the offer</a>:`,
          `<a href="${escapeHtml(link)}">${escapeHtml(link)}</a>`,
          `Or, without the link, accept it with <code>${escapeHtml(accept)}</code> (decline: <code>${escapeHtml(decline)}</code>).`,
        ]),
    `The offer stands until ${escapeHtml(until)}. Once you accept, the ticket and a new QR code are yours (<code>GET /api/v1/tickets</code>), and the code the sender had no longer admits anyone.`,
    link === null
      ? `Not for you? Decline it the same way (<code>${escapeHtml(decline)}</code>) and the sender is told; or ignore this e-mail: nothing happens without you.`
      : 'Not for you? Decline it and the sender is told; or ignore this e-mail: nothing happens without you.',
  ];
  return { text, html };
}

/**
 * The offer, to the recipient's address (which may have no account yet): who offers which seat of
 * which show, until when, and how to accept or decline it (offerActions: the shop's page when
 * `offerUrl` is set, the API routes always). It carries no code: the ticket's new code is issued to
 * the account that accepts, and the link holds nothing but the transfer id.
 */
export function renderTicketTransferOfferEmail(input: TicketTransferEmailInput): RenderedEmail {
  return transferEmail(
    input,
    `${input.sender.name} sent you a ticket for ${input.eventTitle}`,
    null,
    [`${input.sender.name} (${input.sender.email}) wants to give you a ticket:`],
    offerActions(input),
  );
}

/**
 * The offer again, to the recipient's address, once the performance of a pending offer moved: the
 * new start (and the one the reader was told before, when known), the offer's expiry as the accept
 * now applies it (its own, or the new start if that is sooner), and how to accept or decline it, as
 * the offer e-mail says. No code, as the offer.
 */
export function renderTicketTransferRescheduledEmail(input: TicketTransferEmailInput): RenderedEmail {
  const now = formatStartTime(input.startsAt, input.timeZone);
  const before = input.previousStartsAt ? formatStartTime(input.previousStartsAt, input.timeZone) : null;
  return transferEmail(
    input,
    `New date: the ticket ${input.sender.name} offered you for ${input.eventTitle}`,
    null,
    [
      `${input.sender.name} (${input.sender.email}) offered you a ticket, and the offer still stands.`,
      `The performance moved: it now starts ${now}${before === null ? '' : `; it was to start ${before}`}.`,
    ],
    offerActions(input),
  );
}

/** To the sender: the recipient accepted; the sender's code of the ticket is void now. */
export function renderTicketTransferAcceptedEmail(input: TicketTransferEmailInput): RenderedEmail {
  const who = input.recipient ? `${input.recipient.name} (${input.recipient.email})` : 'The recipient';
  const after = 'The ticket is theirs now, with a new QR code; the code you had no longer admits anyone.';
  return transferEmail(
    input,
    `Your ticket for ${input.eventTitle} was accepted`,
    input.sender.name,
    [`${who} accepted the ticket you sent:`],
    { text: [after], html: [after] },
  );
}

/**
 * To the account holding a ticket it received, once the ticket's purchase was canceled or refunded,
 * or its show canceled: the ticket and its code are void. The buyer's refund is the buyer's (the
 * purchase's own notice tells the buyer).
 */
export function renderTicketTransferCanceledEmail(input: TicketTransferEmailInput): RenderedEmail {
  return transferEmail(
    input,
    `Canceled: the ticket you received for ${input.eventTitle}`,
    input.recipient?.name ?? 'there',
    [`the ticket ${input.sender.name} (${input.sender.email}) sent you was canceled:`],
    {
      text: [
        'Its QR code no longer admits anyone. The purchase it came from was canceled or refunded (or the',
        'performance canceled); any refund goes to whoever paid for it.',
      ],
      html: [
        'Its QR code no longer admits anyone. The purchase it came from was canceled or refunded (or the performance canceled); any refund goes to whoever paid for it.',
      ],
    },
  );
}

/**
 * To the account that accepted a transfer: the ticket is theirs, with its new code as the buyer's
 * confirmation shows tickets (the QR code, an inline image the HTML refers to by `ticket.qrCid`, and
 * the code written out under it).
 */
export function renderTicketTransferReceivedEmail(input: TicketTransferEmailInput, ticket: EmailTicket): RenderedEmail {
  return transferEmail(
    input,
    `Your ticket for ${input.eventTitle}`,
    input.recipient?.name ?? 'there',
    [`you accepted the ticket ${input.sender.name} (${input.sender.email}) sent you. It is yours now:`],
    {
      text: [
        'Your ticket: show its QR code (in the HTML version of this e-mail) at the entrance; one scan',
        'admits one person. Staff can also type the code:',
        '',
        `  ${formatSeat(ticket.seat)}: ${ticket.code}`,
        '',
        'The same ticket is at GET /api/v1/tickets. The code the sender had no longer admits anyone.',
      ],
      html: [
        'The same ticket is at <code>GET /api/v1/tickets</code>. The code the sender had no longer admits anyone.',
      ],
    },
    ticketBlocks([ticket]),
  );
}

/** To the sender: the recipient declined the offer; the ticket is still the sender's, to keep or offer again. */
export function renderTicketTransferDeclinedEmail(input: TicketTransferEmailInput): RenderedEmail {
  const who = input.recipient ? `${input.recipient.name} (${input.recipient.email})` : input.recipientEmail;
  // A decline does not look at the ticket: it may have been canceled (its purchase, or its show) or
  // checked in meanwhile, and then its code admits no one.
  const after =
    input.ticketUsable === false
      ? 'The ticket stays with you, but it can no longer be used or offered: it was checked in or canceled, or its performance was canceled.'
      : 'The ticket is still yours and your code still admits you. You may offer it to someone else.';
  return transferEmail(
    input,
    `Your ticket for ${input.eventTitle} was declined`,
    input.sender.name,
    [`${who} declined the ticket you offered:`],
    { text: [after], html: [escapeHtml(after)] },
  );
}

/**
 * To the address an offer went to, once the pending offer ended without them: its sender canceled
 * it, the ticket was checked in at the door, or the ticket was canceled (its purchase canceled or refunded, or its show canceled). Nothing
 * is left to accept.
 */
export function renderTicketTransferWithdrawnEmail(input: TicketTransferEmailInput): RenderedEmail {
  const why =
    input.cancelReason === 'SENDER'
      ? `${input.sender.name} (${input.sender.email}) withdrew the ticket offered to you:`
      : input.cancelReason === 'CHECKED_IN'
        ? `The ticket ${input.sender.name} (${input.sender.email}) offered you was checked in at the door, so the offer is withdrawn:`
        : `The ticket ${input.sender.name} (${input.sender.email}) offered you was canceled (its purchase was canceled or refunded, its seat refunded, or the performance canceled), so the offer is withdrawn:`;
  const after = 'There is nothing to accept any more; you need not do anything.';
  return transferEmail(input, `Withdrawn: the ticket offered to you for ${input.eventTitle}`, null, [why], {
    text: [after],
    html: [after],
  });
}
