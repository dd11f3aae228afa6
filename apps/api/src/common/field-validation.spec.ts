import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { PerformanceCreateDto } from '../performances/performance.dto';
import { ReservationCreateDto } from '../reservations/reservation.dto';
import { CheckInCreateDto } from '../tickets/ticket.dto';
import { CompiledValidationPipe, VALIDATION_OPTIONS } from './compiled-validation';

const pipe = new CompiledValidationPipe(VALIDATION_OPTIONS);

async function messagesOf(value: unknown, metatype: ArgumentMetadata['metatype']): Promise<string[]> {
  try {
    await pipe.transform(value, { type: 'body', metatype });
  } catch (error) {
    if (error instanceof BadRequestException) return (error.getResponse() as { message: string[] }).message;
    throw error;
  }
  throw new Error('accepted');
}

describe('a field of the wrong type is told its type alone', () => {
  it.each([
    [
      'reservation',
      ReservationCreateDto,
      { performanceId: '1', seatIds: [1] },
      ['performanceId must be an integer number'],
    ],
    [
      'reservation',
      ReservationCreateDto,
      { performanceId: 1.5, seatIds: [1] },
      ['performanceId must be an integer number'],
    ],
    ['check-in', CheckInCreateDto, { code: 1 }, ['code must be a string']],
    ['check-in', CheckInCreateDto, { code: ['x'] }, ['code must be a string']],
  ])('%s %o', async (_name, dto, body, expected) => {
    expect(await messagesOf(body, dto)).toEqual(expected);
  });

  it('a layout that is not an array is told so once', async () => {
    const messages = await messagesOf({ startsAt: '2027-03-01T19:00:00Z', sections: 'A' }, PerformanceCreateDto);
    expect(messages).toEqual(['sections must be an array']);
  });

  it('a value of the right type keeps every rule it breaks', async () => {
    expect(await messagesOf({ performanceId: 0, seatIds: [1] }, ReservationCreateDto)).toEqual([
      'performanceId must not be less than 1',
    ]);
    expect(await messagesOf({ code: 'x'.repeat(513) }, CheckInCreateDto)).toEqual([
      'code must be shorter than or equal to 512 characters',
    ]);
  });
});
