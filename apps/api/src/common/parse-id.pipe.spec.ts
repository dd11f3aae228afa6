import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUuid } from '@app/core';
import { ParseIdPipe, ParseUuidPipe } from './parse-id.pipe';

const param = (data: string): ArgumentMetadata => ({ type: 'param', data });

describe('ParseUuidPipe', () => {
  const pipe = new ParseUuidPipe();

  it('answers any UUID in lower case, the spelling ids are stored in', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.boolean(), (uuid, upper) => {
        expect(pipe.transform(upper ? uuid.toUpperCase() : uuid, param('id'))).toBe(uuid.toLowerCase());
      }),
    );
  });

  it('refuses anything else with a 400 naming the parameter', () => {
    const notUuid = fc.oneof(
      fc.string(),
      fc.uuid().map((uuid) => ` ${uuid}`),
      fc.uuid().map((uuid) => uuid.slice(1)),
    );
    fc.assert(
      fc.property(
        notUuid.filter((value) => !isUuid(value)),
        fc.constantFrom('id', 'ticketId'),
        (value, name) => {
          const refused = () => pipe.transform(value, param(name));
          expect(refused).toThrow(BadRequestException);
          try {
            refused();
          } catch (error) {
            expect((error as BadRequestException).getResponse()).toMatchObject({
              message: [expect.stringMatching(new RegExp(`^${name} must be a UUID`))],
            });
          }
        },
      ),
    );
  });
});

describe('ParseIdPipe', () => {
  const pipe = new ParseIdPipe();

  it('answers positive 32-bit integers in canonical decimal, refuses the rest', () => {
    expect(pipe.transform('42')).toBe(42);
    expect(pipe.transform('2147483647')).toBe(2_147_483_647);
    for (const bad of ['0', '042', '+1', '1e3', '0x10', ' 1', '2147483648', '', '1.0']) {
      expect(() => pipe.transform(bad), bad).toThrow(BadRequestException);
    }
  });
});
