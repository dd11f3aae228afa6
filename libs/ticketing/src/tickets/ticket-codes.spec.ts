import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TicketIdentity } from '@app/database';
import { MAX_CODE_VERSION, REISSUED_TICKET_CODE_LENGTH, TICKET_CODE_LENGTH, TicketCodes } from './ticket-codes';
import { InvalidTicketCodeError } from './ticket.errors';

const codes = new TicketCodes({ TICKET_SIGNING_SECRET: 'unit-test-ticket-secret-0123456789abcdef' });
const ticket: TicketIdentity = {
  ticketId: '9007199254740993',
  purchaseId: '0b6f3f5e-6d2c-4a43-9d55-2f0b0c1d2e3f',
  performanceId: 42,
  seatId: 1401,
  codeVersion: 0,
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
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: MAX_CODE_VERSION })),
        (id, purchaseId, performanceId, seatId, codeVersion) => {
          const identity = { ticketId: id.toString(), purchaseId, performanceId, seatId, codeVersion };
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

  describe('reissued codes (a transfer raised the code version)', () => {
    it('signs version 0 in the first layout (codes sent before transfers stay valid) and later ones in layout 2', () => {
      const reissued = codes.sign({ ...ticket, codeVersion: 1 });
      expect(reissued).toHaveLength(REISSUED_TICKET_CODE_LENGTH);
      expect(REISSUED_TICKET_CODE_LENGTH).toBe(68);
      expect(reissued.slice(0, 2)).toBe('Ag');
      expect(codes.sign(ticket).slice(0, 2)).toBe('AQ');
      expect(codes.verify(reissued)).toEqual({ ...ticket, codeVersion: 1 });
      expect(codes.verify(codes.sign({ ...ticket, codeVersion: MAX_CODE_VERSION })).codeVersion).toBe(MAX_CODE_VERSION);
    });

    it('gives every version its own code, and refuses a version moved under another tag', () => {
      const first = codes.sign({ ...ticket, codeVersion: 1 });
      const second = codes.sign({ ...ticket, codeVersion: 2 });
      expect(first).not.toBe(second);
      const moved = Buffer.from(second, 'base64url');
      Buffer.from(first, 'base64url').copy(moved, 35, 35);
      expect(() => codes.verify(moved.toString('base64url'))).toThrow(InvalidTicketCodeError);
    });

    it('refuses a layout byte that does not fit the length, and version 0 in layout 2', () => {
      const v1 = Buffer.from(codes.sign(ticket), 'base64url');
      v1.writeUInt8(2, 0);
      expect(() => codes.verify(v1.toString('base64url'))).toThrow(InvalidTicketCodeError);
      const secret = 'unit-test-ticket-secret-0123456789abcdef';
      const payload = Buffer.alloc(35);
      Buffer.from(codes.sign({ ...ticket, codeVersion: 1 }), 'base64url').copy(payload, 0, 0, 35);
      payload.writeUInt16BE(0, 33);
      const tag = createHmac('sha256', secret).update(payload).digest().subarray(0, 16);
      expect(() => codes.verify(Buffer.concat([payload, tag]).toString('base64url'))).toThrow(InvalidTicketCodeError);
    });

    it('refuses a version out of range when signing', () => {
      expect(() => codes.sign({ ...ticket, codeVersion: MAX_CODE_VERSION + 1 })).toThrow(RangeError);
      expect(() => codes.sign({ ...ticket, codeVersion: -1 })).toThrow(RangeError);
    });
  });
});
