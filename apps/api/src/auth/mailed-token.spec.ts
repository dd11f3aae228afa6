import { BadRequestException } from '@nestjs/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompiledValidationPipe, VALIDATION_OPTIONS } from '../common/compiled-validation';
import { AuthEmailVerificationConfirmDto, AuthPasswordResetConfirmDto } from './auth.dto';

const pipe = new CompiledValidationPipe(VALIDATION_OPTIONS);

/** Every body that carries a mailed single-use token, with the rest of it valid. */
const ROUTES = [
  { dto: AuthPasswordResetConfirmDto, base: { password: 'a brand new password 42' } },
  { dto: AuthEmailVerificationConfirmDto, base: {} },
];

/** A token as mailed: 32 random bytes in base64url, 43 characters. */
const token = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('base64url'));
/** What e-mail clients and copies put around a token: spaces, tabs, line breaks, no-break spaces, a BOM. */
const around = fc.string({ unit: fc.constantFrom(' ', '\t', '\r', '\n', '\u00a0', '\u2003', '\ufeff'), maxLength: 6 });

const validate = (dto: (typeof ROUTES)[number]['dto'], body: object) =>
  pipe.transform(body, { type: 'body', metatype: dto }) as Promise<{ token: string }>;

describe('mailed tokens in request bodies (password reset and e-mail verification confirms)', () => {
  it('takes a token with white space and line breaks around it as the token itself (generated)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), token, around, around, async ({ dto, base }, raw, before, after) => {
        const body = await validate(dto, { ...base, token: `${before}${raw}${after}` });
        expect(body.token).toBe(raw);
      }),
    );
  });

  it('refuses a token that is nothing but white space, or no string, with a 400 naming the field', async () => {
    for (const { dto, base } of ROUTES) {
      for (const value of [' ', '\r\n', '\u00a0\t', 42, ['x']]) {
        const refused = await validate(dto, { ...base, token: value }).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(BadRequestException);
        const message = ((refused as BadRequestException).getResponse() as { message: string[] }).message;
        expect(message.join('; ')).toMatch(/^token must /);
      }
    }
  });
});
