import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_EVENT_SEARCH_LENGTH } from '@app/ticketing';
import { AuthSignupDto } from '../auth/auth.dto';
import { EventCreateDto, EventQueryDto, EventUpdateDto } from '../events/event.dto';
import { PerformanceCreateDto, SeatQueryDto } from '../performances/performance.dto';
import { ReservationCreateDto } from '../reservations/reservation.dto';
import { StaffCreateDto } from '../staff/staff.dto';
import { CompiledValidationPipe, VALIDATION_OPTIONS } from './compiled-validation';
import { forbiddenCharacter } from './free-text';

const pipe = new CompiledValidationPipe(VALIDATION_OPTIONS);

/** One free-text field of a request DTO: a valid request around it, and where the field sits in it. */
interface Field {
  dto: ArgumentMetadata['metatype'];
  type: 'body' | 'query';
  name: string;
  put: (text: string) => object;
  get: (value: Record<string, unknown>) => unknown;
  multiline?: boolean;
  /** The field's own alphabet, narrower than free text (section and grade names). */
  alphabet?: RegExp;
  minLength: number;
  maxLength: number;
  /** How its 400 messages name it (a nested field by its path). */
  label: string;
}

const top = (
  dto: Field['dto'],
  type: Field['type'],
  name: string,
  base: object,
  extra: Partial<Field> & Pick<Field, 'maxLength'>,
): Field => ({
  dto,
  type,
  name,
  label: name,
  minLength: 1,
  put: (text: string) => ({ ...base, [name]: text }),
  get: (value: Record<string, unknown>) => value[name],
  ...extra,
});
const NAME = /^(?!.*\p{Default_Ignorable_Code_Point})[\p{L}\p{M}\p{N} _-]+$/u;
const SECTION = { name: 'A', grade: 'R', price: 1, rows: 1, seatsPerRow: 1 };
const inSection = (name: 'name' | 'grade'): Field => ({
  dto: PerformanceCreateDto,
  type: 'body',
  name,
  put: (text) => ({ startsAt: '2030-03-01T19:00:00Z', sections: [{ ...SECTION, [name]: text }] }),
  get: (value) => (value.sections as Record<string, unknown>[])[0][name],
  alphabet: NAME,
  minLength: 1,
  maxLength: name === 'name' ? 50 : 20,
  label: `sections.0.${name}`,
});
const EVENT = { title: 'T', venue: 'V' };
const SIGNUP = { email: 'ada@example.com', password: 'correct horse', name: 'Ada' };
const HOLD = { performanceId: 1, quantity: 2 };

/** Every free-text field the API takes (the FreeText decorator's users). */
const FIELDS: Field[] = [
  top(EventCreateDto, 'body', 'title', EVENT, { maxLength: 200 }),
  top(EventCreateDto, 'body', 'venue', EVENT, { maxLength: 200 }),
  top(EventCreateDto, 'body', 'description', EVENT, { multiline: true, minLength: 0, maxLength: 5000 }),
  top(EventUpdateDto, 'body', 'title', {}, { maxLength: 200 }),
  top(EventUpdateDto, 'body', 'venue', {}, { maxLength: 200 }),
  top(EventUpdateDto, 'body', 'description', {}, { multiline: true, minLength: 0, maxLength: 5000 }),
  top(EventQueryDto, 'query', 'q', {}, { minLength: 0, maxLength: MAX_EVENT_SEARCH_LENGTH }),
  top(AuthSignupDto, 'body', 'name', SIGNUP, { maxLength: 100 }),
  top(StaffCreateDto, 'body', 'name', SIGNUP, { maxLength: 100 }),
  inSection('name'),
  inSection('grade'),
  top(SeatQueryDto, 'query', 'section', {}, { alphabet: NAME, maxLength: 50 }),
  top(SeatQueryDto, 'query', 'grade', {}, { alphabet: NAME, maxLength: 20 }),
  top(ReservationCreateDto, 'body', 'section', HOLD, { alphabet: NAME, maxLength: 50 }),
  top(ReservationCreateDto, 'body', 'grade', HOLD, { alphabet: NAME, maxLength: 20 }),
];

const BIDI = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069'];
// The Hangul fillers, the braille blank and the combining grapheme joiner draw as nothing too.
const FILLERS = ['\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800', '\u034F'];
const INVISIBLE = [...BIDI, '\u200E', '\u200F', '\u061C', '\u200B', '\u200D', '\u2060', '\uFEFF', '\u00AD', ...FILLERS];
const CONTROL = ['\u0000', '\u0007', '\u001B', '\u007F', '\u0085', '\u2028', '\u2029', '\uD800'];
const SPACE = [' ', '\t', '\n', '\u00A0', '\u3000', '\u2003'];
// Text that looks alike in several spellings: é composed and decomposed, Hangul as syllable and jamo.
// A combining acute alone combines with what comes before it, or, first, with nothing (refused).
const LETTERS = ['A', 'b', 'é', 'e\u0301', '\u0301', '한', '\u1112\u1161\u11AB', 'Ω', '7', '_', '-', ' '];

const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...LETTERS) },
  { weight: 2, arbitrary: fc.constantFrom(...SPACE) },
  { weight: 1, arbitrary: fc.constantFrom(...INVISIBLE, ...CONTROL) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 2 }) },
);
const text = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(''));

async function validate(
  field: Field,
  input: string,
): Promise<{ ok: true; value: unknown } | { ok: false; messages: string[] }> {
  try {
    const value = await pipe.transform(field.put(input), { type: field.type, metatype: field.dto });
    return { ok: true, value: field.get(value as Record<string, unknown>) };
  } catch (error) {
    if (!(error instanceof BadRequestException)) throw error;
    return { ok: false, messages: (error.getResponse() as { message: string[] }).message };
  }
}

describe('FreeText: one rule for every free-text field', () => {
  it.each(FIELDS.map((field) => [`${field.dto?.name}.${field.name}`, field] as const))(
    '%s: what passes is NFC, trimmed and free of control and format characters; the rest is a 400 naming the field',
    async (_, field) => {
      await fc.assert(
        fc.asyncProperty(text, async (input) => {
          const expected = input.normalize('NFC').trim();
          const answer = await validate(field, input);
          const forbidden = forbiddenCharacter(expected, field.multiline);
          const inLength = expected.length >= field.minLength && expected.length <= field.maxLength;
          const inAlphabet = !field.alphabet || field.alphabet.test(expected);
          // Accepted exactly when nothing forbidden is left after normalising and the length and
          // the field's alphabet fit; the normalised text is what the route gets.
          expect({ expected, ok: answer.ok }).toEqual({ expected, ok: forbidden === null && inLength && inAlphabet });
          if (answer.ok) {
            expect(answer.value).toBe(expected);
          } else {
            expect(answer.messages.filter((message) => !message.startsWith(`${field.label} `))).toEqual([]);
            if (forbidden !== null) expect(answer.messages).toContainEqual(expect.stringContaining(forbidden));
          }
        }),
        { numRuns: 300 },
      );
    },
    60_000,
  );

  it.each(
    BIDI.concat('\u200E', '\u200F', '\u061C').map((c) => [
      `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`,
      c,
    ]),
  )('refuses %s inside a title with the field and the character named', async (code, c) => {
    const answer = await validate(FIELDS[0], `Concert${c}Night`);
    expect(answer).toEqual({
      ok: false,
      messages: [
        `title must not contain control, bidirectional or invisible format characters (${code} at position 7)`,
      ],
    });
  });

  it.each([...FILLERS, '\u0301'].map((c) => [`U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`, c]))(
    'refuses %s, which draws as nothing, alone or inside a name',
    async (code, c) => {
      // After a letter a combining acute is that letter's accent: only alone is it refused.
      const inputs: [string, number][] =
        c === '\u0301'
          ? [[c, 0]]
          : [
              [c, 0],
              [`A${c}B`, 1],
            ];
      for (const [input, position] of inputs) {
        const answer = await validate(FIELDS[7], input);
        expect(answer).toEqual({
          ok: false,
          messages: [
            `name must not contain control, bidirectional or invisible format characters (${code} at position ${position})`,
          ],
        });
      }
    },
  );

  it('keeps an emoji with its variation selector', async () => {
    expect(await validate(FIELDS[0], 'Hearts \u2764\uFE0F')).toEqual({ ok: true, value: 'Hearts \u2764\uFE0F' });
  });

  it('keeps line breaks and tabs in a description only', async () => {
    expect(await validate(FIELDS[2], ' Line 1\r\n\tLine 2 ')).toEqual({ ok: true, value: 'Line 1\r\n\tLine 2' });
    expect(await validate(FIELDS[0], 'Line 1\nLine 2')).toMatchObject({ ok: false });
  });

  it('makes `A ` and `A` one section name, and refuses them side by side', async () => {
    const sections = [SECTION, { ...SECTION, name: 'A ' }];
    await expect(
      pipe.transform({ startsAt: '2030-03-01T19:00:00Z', sections }, { type: 'body', metatype: PerformanceCreateDto }),
    ).resolves.toMatchObject({ sections: [{ name: 'A' }, { name: 'A' }] });
  });
});
