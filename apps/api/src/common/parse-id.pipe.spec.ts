import { BadRequestException } from '@nestjs/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseIdPipe, ParseTicketIdPipe } from './parse-id.pipe';

/** The 400's messages, or null when the pipe takes `value`. */
function refusal(pipe: { transform(value: unknown, metadata: never): unknown }, value: unknown): unknown {
  try {
    pipe.transform(value, { type: 'param', data: 'ticketId' } as never);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestException);
    return ((error as BadRequestException).getResponse() as { message: unknown }).message;
  }
}

describe('ParseIdPipe', () => {
  it('takes every id from 1 to 2147483647 as its number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (id) => new ParseIdPipe().transform(String(id)) === id),
    );
  });

  it.each(['0', '-1', '2147483648', '99999999999', '042', '4e2', '0x2a', ' 42', '42.0', ''])(
    'refuses %j naming the range it takes',
    (value) => {
      expect(refusal(new ParseIdPipe(), value)).toEqual([
        'id must be an integer from 1 to 2147483647 in decimal digits, such as 42',
      ]);
    },
  );
});

describe('ParseTicketIdPipe', () => {
  it('takes ids up to 2^63 - 1, kept as their digits', () => {
    expect(new ParseTicketIdPipe().transform('9223372036854775807', { type: 'param', data: 'ticketId' })).toBe(
      '9223372036854775807',
    );
  });

  it.each(['0', '9223372036854775808', '99999999999999999999', '01', '-5'])('refuses %j naming the range', (value) => {
    expect(refusal(new ParseTicketIdPipe(), value)).toEqual([
      'ticketId must be a ticket id: an integer from 1 to 9223372036854775807 in decimal digits, such as 1024',
    ]);
  });
});
