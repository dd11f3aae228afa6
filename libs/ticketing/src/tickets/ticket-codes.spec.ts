import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TicketIdentity } from '@app/database';
import { TICKET_CODE_LENGTH, TicketCodes } from './ticket-codes';
import { InvalidTicketCodeError } from './ticket.errors';

const codes = new TicketCodes({ TICKET_SIGNING_SECRET: 'unit-test-ticket-secret-0123456789abcdef' });
const ticket: TicketIdentity = {
  ticketId: '9007199254740993',
  purchaseId: '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f',
  performanceId: 42,
  seatId: 1401,
};

describe('ticket codes (HMAC-SHA256, base64url)', () => {
  it('signs a compact base64url code and reads the same identity back', () => {
    const code = codes.sign(ticket);
    expect(code).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(code).toHaveLength(TICKET_CODE_LENGTH);
    expect(TICKET_CODE_LENGTH).toBe(66);
    expect(codes.verify(code)).toEqual(ticket);
    expect(codes.sign(ticket)).toBe(code);
  });

  it('round-trips any identity in range', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
        fc.uuid(),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (id, purchaseId, performanceId, seatId) => {
          const identity = { ticketId: id.toString(), purchaseId, performanceId, seatId };
          expect(codes.verify(codes.sign(identity))).toEqual(identity);
        },
      ),
    );
  });

  it('refuses a code with any one character changed', () => {
    const code = codes.sign(ticket);
    for (let position = 0; position < code.length; position += 1) {
      const swapped = code[position] === 'A' ? 'B' : 'A';
      const forged = `${code.slice(0, position)}${swapped}${code.slice(position + 1)}`;
      expect(() => codes.verify(forged), `position ${position}`).toThrow(InvalidTicketCodeError);
    }
  });

  it('refuses a code signed with another secret, and another seat under the same tag', () => {
    const other = new TicketCodes({ TICKET_SIGNING_SECRET: 'another-box-office-secret-0123456789abcd' });
    expect(() => codes.verify(other.sign(ticket))).toThrow(InvalidTicketCodeError);
    const genuine = Buffer.from(codes.sign(ticket), 'base64url');
    const moved = Buffer.from(codes.sign({ ...ticket, seatId: 1402 }), 'base64url');
    genuine.copy(moved, 33, 33);
    expect(() => codes.verify(moved.toString('base64url'))).toThrow(InvalidTicketCodeError);
  });

  it.each([
    ['not a string', 42],
    ['empty', ''],
    ['too short', 'abc'],
    ['padded', `${'A'.repeat(64)}==`],
    ['outside the alphabet', `${'A'.repeat(65)}+`],
    ['too long', 'A'.repeat(67)],
  ])('refuses a malformed code (%s)', (_, code) => {
    expect(() => codes.verify(code)).toThrow(InvalidTicketCodeError);
  });

  it('refuses a second spelling of the same bytes', () => {
    const code = codes.sign(ticket);
    // 66 characters carry 396 bits for 392: the last one's low 4 bits are unused and must be 0.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(code[code.length - 1]);
    const respelled = `${code.slice(0, -1)}${alphabet[last | 1]}`;
    expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(code, 'base64url'));
    expect(() => codes.verify(respelled)).toThrow(InvalidTicketCodeError);
  });
});
