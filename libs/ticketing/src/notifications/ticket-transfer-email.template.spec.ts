import { describe, expect, it } from 'vitest';
import { mailLink } from './mail-link';
import {
  renderTicketTransferOfferEmail,
  renderTicketTransferRescheduledEmail,
  TicketTransferEmailInput,
} from './ticket-transfer-email.template';

const TRANSFER = '6c1f9a6e-2f1b-4d8e-9c3a-1b2c3d4e5f60';

const input: TicketTransferEmailInput = {
  transferId: TRANSFER,
  eventTitle: 'Concert',
  venue: 'Hall',
  timeZone: 'Europe/Berlin',
  startsAt: new Date('2026-12-10T19:00:00Z'),
  seat: { section: 'Floor', rowLabel: 'C', number: 7 },
  sender: { name: 'Grace <Buyer>', email: 'grace@example.test' },
  expiresAt: new Date('2026-12-08T10:00:00Z'),
  recipientEmail: 'friend@example.test',
};
const accept = `POST /api/v1/ticket-transfers/${TRANSFER}/accept`;
const decline = `POST /api/v1/ticket-transfers/${TRANSFER}/decline`;

describe('ticket transfer offer template', () => {
  it('without TICKET_TRANSFER_URL names the routes to accept and decline, and no link', () => {
    const email = renderTicketTransferOfferEmail(input);
    expect(email.text).toContain(`then accept the transfer: ${accept}`);
    expect(email.text).toContain(`Decline it the same way (${decline})`);
    expect(email.text).not.toContain('http');
    expect(email.html).toContain(`<code>${accept}</code>`);
    expect(email.html).not.toContain('<a ');
  });

  it('with TICKET_TRANSFER_URL gives the link with the transfer id in it, and still the routes', () => {
    const offerUrl = 'https://shop.example.com/transfers?a=1&id={transferId}';
    const link = `https://shop.example.com/transfers?a=1&id=${TRANSFER}`;
    const email = renderTicketTransferOfferEmail({ ...input, offerUrl });
    expect(email.text).toContain(`then open the offer:\n\n${link}\n`);
    expect(email.text).toContain(`Or, without the link, accept it with ${accept}\n(decline: ${decline}).\n\n`);
    // Every line of the text part wrapped, but the link's and the routes' own.
    const long = email.text.split('\n').filter((line) => line.length > 100 && !line.includes(TRANSFER));
    expect(long).toEqual([]);
    expect(email.html).toContain(`<a href="https://shop.example.com/transfers?a=1&amp;id=${TRANSFER}">`);
    expect(email.html).toContain(`<code>${accept}</code>`);
    expect(email.html).toContain(`<code>${decline}</code>`);
    // Nothing but the id: no ticket code, no token.
    expect(email.text).not.toMatch(/code=|token/i);
  });

  it("writes the offer's expiry in the venue's time zone, as its start", () => {
    const email = renderTicketTransferOfferEmail(input);
    expect(email.text).toContain('When:   Thursday, 10 December 2026, 20:00 UTC+01:00 (Europe/Berlin)');
    expect(email.text).toContain('The offer stands until Tuesday, 8 December 2026, 11:00 UTC+01:00 (Europe/Berlin).');
    expect(email.html).toContain('The offer stands until Tuesday, 8 December 2026, 11:00 UTC+01:00 (Europe/Berlin).');
  });

  it('URL-encodes the transfer id into every {transferId} (the token placeholder stays)', () => {
    expect(mailLink('https://x.example/t/{transferId}#{transferId}{token}', 'a b/&', '{transferId}')).toBe(
      'https://x.example/t/a%20b%2F%26#a%20b%2F%26{token}',
    );
  });

  it('re-offers after a move: the new start, the one told before, the effective expiry, the link and the routes', () => {
    const email = renderTicketTransferRescheduledEmail({
      ...input,
      startsAt: new Date('2026-12-07T19:00:00Z'),
      expiresAt: new Date('2026-12-07T19:00:00Z'),
      previousStartsAt: new Date('2026-12-10T19:00:00Z'),
      offerUrl: 'https://shop.example.com/t/{transferId}',
    });
    expect(email.subject).toBe('New date: the ticket Grace <Buyer> offered you for Concert');
    expect(email.text).toContain('it now starts Monday, 7 December 2026, 20:00 UTC+01:00 (Europe/Berlin);');
    expect(email.text).toContain('it was to start Thursday, 10 December 2026, 20:00 UTC+01:00 (Europe/Berlin).');
    // The expiry is the new start here: written as the start is, in the venue's time zone.
    expect(email.text).toContain('The offer stands until Monday, 7 December 2026, 20:00 UTC+01:00 (Europe/Berlin).');
    expect(email.text).toContain(`https://shop.example.com/t/${TRANSFER}`);
    expect(email.text).toContain(accept);
    expect(email.html).toContain('Grace &lt;Buyer&gt;');
    const unknown = renderTicketTransferRescheduledEmail({ ...input, previousStartsAt: null });
    expect(unknown.text).not.toContain('it was to start');
    expect(unknown.text).toContain(`then accept the transfer: ${accept}`);
  });
});
