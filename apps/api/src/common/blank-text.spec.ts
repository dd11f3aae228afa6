import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validate } from 'class-validator';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

/** Every DTO module of the API (each `*.dto.ts` under apps/api/src): the test finds their length-checked fields itself. */
const DTO_FILES = readdirSync(join(__dirname, '..'), { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.dto.ts'))
  .map((file) => join(__dirname, '..', file));

/** White space `String.prototype.trim` drops: spaces of every script, tabs, line ends, U+FEFF. */
const WHITE = [' ', '\t', '\n', '\r', '\u00A0', '\u3000', '\u2003', '\uFEFF'];

/** Each DTO class with a property checked by `minLength`, with those properties. */
async function lengthCheckedFields(): Promise<{ dto: new () => object; property: string }[]> {
  const modules = (await Promise.all(DTO_FILES.map((file) => import(file)))) as Record<string, unknown>[];
  const fields: { dto: new () => object; property: string }[] = [];
  for (const exported of modules.flatMap((module) => Object.values(module))) {
    if (typeof exported !== 'function') continue;
    const dto = exported as new () => object;
    const metadata = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
    const properties = new Set(metadata.filter((m) => m.name === 'minLength').map((m) => m.propertyName));
    for (const property of properties) fields.push({ dto, property });
  }
  return fields;
}

/**
 * Every string field of a request DTO that is trimmed before its length is checked (FreeText,
 * MailedToken) tells white space alone as `<field> must not be blank`, never as a length it was
 * not sent in; fields not trimmed (passwords) keep white space as characters.
 */
describe('blank text fields (generated over the DTOs)', () => {
  let fields: { dto: new () => object; property: string }[];
  // Imports every DTO module and what they import (Swagger, class-validator, the libraries): slow on a loaded machine.
  beforeAll(async () => {
    fields = await lengthCheckedFields();
  }, 120_000);

  it('finds the trimmed fields of every kind', () => {
    const names = fields.map(({ dto, property }) => `${dto.name}.${property}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'EventCreateDto.title',
        'EventCreateDto.venue',
        'EventUpdateDto.title',
        'AuthSignupDto.name',
        'AuthPasswordResetConfirmDto.token',
      ]),
    );
  });

  it('answers white space alone in a trimmed field with "must not be blank"', async () => {
    let trimmed = 0;
    for (const { dto, property } of fields) {
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: fc.constantFrom(...WHITE), minLength: 1, maxLength: 8 }), async (blank) => {
          const instance = plainToInstance(dto, { [property]: blank }) as Record<string, unknown>;
          const errors = await validate(instance);
          const messages = Object.values(errors.find((error) => error.property === property)?.constraints ?? {});
          if (instance[property] !== '') return;
          trimmed += 1;
          expect(messages, `${dto.name}.${property}`).toEqual([`${property} must not be blank`]);
        }),
        { numRuns: 20 },
      );
    }
    expect(trimmed).toBeGreaterThan(0);
  });
});
