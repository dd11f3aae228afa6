import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { CompiledValidationPipe, VALIDATION_OPTIONS } from '../common/compiled-validation';
import { inputProblems } from '../common/input-guard';
import { PresaleCreateDto, PresaleUpdateDto } from './presale.dto';

const pipe = new CompiledValidationPipe(VALIDATION_OPTIONS);

/** The pipe's field errors for `value` as a body of `metatype`, or 'accepted'. */
async function messagesOf(value: unknown, metatype: ArgumentMetadata['metatype']): Promise<string[] | 'accepted'> {
  try {
    await pipe.transform(value, { type: 'body', metatype });
    return 'accepted';
  } catch (error) {
    if (error instanceof BadRequestException) return (error.getResponse() as { message: string[] }).message;
    throw error;
  }
}

const create = {
  name: 'Fan club',
  opensAt: '2027-02-01T10:00:00+09:00',
  closesAt: '2027-02-02T10:00:00+09:00',
  code: 'FANCLUB-2027',
};

describe("a presale's maxSeats (its allocation)", () => {
  it.each([1, 500, 1_000_000])('takes %s on create and update', async (maxSeats) => {
    expect(await messagesOf({ ...create, maxSeats }, PresaleCreateDto)).toBe('accepted');
    expect(await messagesOf({ maxSeats }, PresaleUpdateDto)).toBe('accepted');
  });

  it('is optional on create (absent or null: no allocation) and required on update, where null removes it', async () => {
    expect(await messagesOf(create, PresaleCreateDto)).toBe('accepted');
    expect(await messagesOf({ ...create, maxSeats: null }, PresaleCreateDto)).toBe('accepted');
    expect(await messagesOf({ maxSeats: null }, PresaleUpdateDto)).toBe('accepted');
    expect(await messagesOf({}, PresaleUpdateDto)).toEqual([expect.stringMatching(/^maxSeats must be an integer/)]);
    // The input guard refuses null anywhere but in the fields whose null means something.
    expect(inputProblems({ maxSeats: null })).toEqual([]);
    expect(inputProblems({ name: null })).toEqual(['name must not be null (leave an optional field out instead)']);
  });

  it.each([
    [0, /maxSeats must not be less than 1/],
    [-5, /maxSeats must not be less than 1/],
    [1_000_001, /maxSeats must not be greater than 1000000/],
    [2.5, /maxSeats must be an integer/],
    ['50', /maxSeats must be an integer/],
    [true, /maxSeats must be an integer/],
  ])('refuses %o', async (maxSeats, message) => {
    for (const [body, dto] of [
      [{ ...create, maxSeats }, PresaleCreateDto],
      [{ maxSeats }, PresaleUpdateDto],
    ] as const) {
      const messages = await messagesOf(body, dto);
      expect(messages).not.toBe('accepted');
      expect((messages as string[]).join('; ')).toMatch(message);
    }
  });

  it('refuses an unknown field beside it on update', async () => {
    expect(await messagesOf({ maxSeats: 5, name: 'x' }, PresaleUpdateDto)).toEqual([expect.stringMatching(/name/)]);
  });
});
