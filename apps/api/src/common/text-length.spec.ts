import { validate } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { codePointLength, MaxLength, MinLength } from './text-length';

class Titled {
  @MinLength(2)
  @MaxLength(4)
  title: unknown;
}

async function messages(title: unknown): Promise<string[]> {
  const dto = Object.assign(new Titled(), { title });
  return (await validate(dto)).flatMap((error) => Object.values(error.constraints ?? {}));
}

describe('text length in code points (as PostgreSQL counts varchar)', () => {
  it('counts a surrogate pair once and every other UTF-16 unit, the variation selectors included', () => {
    expect(codePointLength('')).toBe(0);
    expect(codePointLength('abc')).toBe(3);
    expect(codePointLength('\u{1F600}')).toBe(1);
    expect(codePointLength('\u2764\uFE0F')).toBe(2);
    expect(codePointLength('\u{1F600}\uFE0F'.repeat(3))).toBe(6);
    expect(codePointLength('e\u0301')).toBe(2);
    // A lone surrogate (refused elsewhere as a character) counts as one, like any unit.
    expect(codePointLength('\uD83D')).toBe(1);
    expect(codePointLength('a\uDE00\uD83D')).toBe(3);
    expect(codePointLength('아이유 서울')).toBe(6);
  });

  it("refuses what class-validator's own checks let through, with their constraint names and messages", async () => {
    expect(await messages('\u2764\uFE0F'.repeat(2))).toEqual([]);
    // Three hearts are six code points: class-validator's MaxLength(4) counted three.
    expect(await messages('\u2764\uFE0F'.repeat(3))).toEqual(['title must be shorter than or equal to 4 characters']);
    expect(await messages('\u{1D400}'.repeat(4))).toEqual([]);
    expect(await messages('\u{1D400}')).toEqual(['title must be longer than or equal to 2 characters']);
    const dto = Object.assign(new Titled(), { title: 'abcde' });
    const [error] = await validate(dto);
    expect(Object.keys(error.constraints ?? {})).toEqual(['maxLength']);
  });

  it('refuses anything but a string', async () => {
    expect(await messages(1234)).toHaveLength(2);
    expect(await messages(['ab'])).toHaveLength(2);
  });
});
