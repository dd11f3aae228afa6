import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from './domain-error';
import { assertSettablePassword, guessablePasswordReason } from './guessable-password';

const WHITE_SPACE = 'password must not be only white space';
const REPEATED = 'password must not be one character repeated';
const RUN = 'password must not be a run of consecutive characters, such as 12345678 or abcdefgh';
const PADDED =
  'password must have at least 8 visible characters: invisible ones (zero-width spaces, soft hyphens) do not count';

/** White space by JavaScript's `\s`, of every kind a keyboard, a paste or an IME gives. */
const SPACES = [...' \t\n\r\v\f\u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\ufeff'];

/**
 * The classes refused, written out another way than the code under test: which class `password`
 * (in NFKC, without its invisible format characters) belongs to, or null.
 */
function classOf(password: string): string | null {
  const all = [...password.normalize('NFKC')];
  const chars = all.filter((char) => !/^\p{Cf}$/u.test(char));
  if (password.length > 0 && chars.every((char) => /^\p{White_Space}$/u.test(char))) return WHITE_SPACE;
  if (chars.length < all.length && chars.length < 8) return PADDED;
  if (chars.length < 2) return null;
  if (new Set(chars).size === 1) return REPEATED;
  const zero = zeroOf(chars[0]);
  const allDigits = zero !== null && chars.every((char) => zeroOf(char) === zero);
  const first = chars[0].codePointAt(0)!;
  for (const direction of [1, -1]) {
    const expected = (i: number) =>
      allDigits
        ? String.fromCodePoint(zero + ((((first - zero + direction * i) % 10) + 10) % 10))
        : first + direction * i >= 0 && first + direction * i <= 0x10ffff
          ? String.fromCodePoint(first + direction * i)
          : '';
    if (chars.every((char, i) => char === expected(i))) return RUN;
  }
  return null;
}

/** The zero of a decimal digit's ten, read off the digit's value as `parseInt` cannot: by name in a table, or null. */
function zeroOf(char: string): number | null {
  const code = char.codePointAt(0)!;
  const run = DIGIT_RUNS.find(([start, length]) => code >= start && code < start + length);
  return run ? run[0] + Math.floor((code - run[0]) / 10) * 10 : null;
}

/** Every run of decimal digits (Unicode `Nd`) in the code space: its start and length. */
const DIGIT_RUNS: [number, number][] = (() => {
  const runs: [number, number][] = [];
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue;
    if (!/^\p{Nd}$/u.test(String.fromCodePoint(code))) continue;
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === code) last[1]++;
    else runs.push([code, 1]);
  }
  return runs;
})();

/** Only white space, 8–128 characters. */
const onlySpace = fc.array(fc.constantFrom(...SPACES), { minLength: 8, maxLength: 128 }).map((chars) => chars.join(''));

/** One character (any code point but a lone surrogate) 8–128 times. */
const repeated = fc
  .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.integer({ min: 8, max: 128 }))
  .map(([char, times]) => char.repeat(times));

/**
 * A run of 8–128 code points, each one after (or one before) the last, from anywhere in the BMP
 * below the surrogates or among the digits (which wrap: "7890123456"). None is an invisible format
 * character: the run is read without them, and one inside it is a gap ("៳…᠍\u180e᠏" reads "៳…᠍᠏").
 */
const run = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0x21, max: 0xd7ff - 130 }), fc.integer({ min: 8, max: 128 }), fc.boolean())
    .map(([start, length, up]) =>
      Array.from({ length }, (_, i) => String.fromCodePoint(up ? start + i : start + 130 - i)).join(''),
    )
    .filter((password) => !/\p{Cf}/u.test(password)),
  fc
    .tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 8, max: 128 }), fc.boolean())
    .map(([start, length, up]) =>
      Array.from({ length }, (_, i) => String((((start + (up ? i : -i)) % 10) + 10) % 10)).join(''),
    ),
);

/** Passwords of the classes as typed, and as hashed: NFKC changes none of their characters. */
const guessable = fc.oneof(onlySpace, repeated, run).filter((password) => password.normalize('NFKC') === password);

/** A guessable password with one character changed, inserted or added: mostly no longer guessable. */
const nearlyGuessable = fc
  .tuple(guessable, fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.constantFrom(0, 1, 2))
  .map(([password, at, char, how]) => {
    const chars = [...password];
    const i = at % chars.length;
    if (how === 0) chars[i] = char;
    else if (how === 1) chars.splice(i, 0, char);
    else chars.push(char);
    return chars.join('');
  });

describe('guessablePasswordReason (NIST SP 800-63B §5.1.1.2: repetitive and sequential passwords)', () => {
  it.each([
    ['        ', WHITE_SPACE],
    ['\t \u3000 \u00a0  \n', WHITE_SPACE],
    ['aaaaaaaa', REPEATED],
    ['ＡＡＡＡＡＡＡＡ', REPEATED],
    ['12345678', RUN],
    ['1234567890', RUN],
    ['0987654321', RUN],
    ['87654321', RUN],
    ['abcdefgh', RUN],
    ['hgfedcba', RUN],
    ['ABCDEFGHIJ', RUN],
    ['１２３４５６７８', RUN],
    ['٨٧٦٥٤٣٢١٠٩', RUN],
    ['12345678\u200b', RUN],
    ['\u0085\u0085 \u0085 \u0085 ', WHITE_SPACE],
    ['\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b', WHITE_SPACE],
    ['\u200b\u200b\u200b\u200b\u200b\u200b\u200bZ', PADDED],
    ['\u00ad\u00ada\u00adb\u00adc\u00ad', PADDED],
  ])('refuses %j', (password, reason) => {
    expect(guessablePasswordReason(password)).toBe(reason);
    expect(() => assertSettablePassword(password)).toThrow(new InvalidInputError(reason));
  });

  it.each([
    // Every password the test suite, the bench, the load test and the drills sign up or sign in with.
    'correct horse battery',
    'correct horse',
    'a brand new password 42',
    'the victim new password 42',
    'another passphrase 10',
    'another-Passw0rd!',
    'operator passphrase 9',
    'admin-password-123',
    'test-password-123',
    'bench-buyer-password',
    'loadtest-password',
    'longenough',
    'long-enough-1',
    'caf\u00e9 pass x',
    'wrong-password-1',
    'yet another password',
    // Near the classes, outside them.
    'aaaaaaab',
    'aAaAaAaA',
    '12345678!',
    ' 12345678',
    '13579135',
    '12345679',
    'abcdefgg',
    '1234321',
    '        x',
    // A run of code points but for its invisible U+180E (Mongolian vowel separator): read without it, a gap.
    '\u1806\u1807\u1808\u1809\u180a\u180b\u180c\u180d\u180e\u180f',
  ])('takes %j', (password) => {
    expect(guessablePasswordReason(password)).toBeNull();
    expect(() => assertSettablePassword(password)).not.toThrow();
  });

  it('refuses every password of the classes, with its reason (generated)', () => {
    fc.assert(
      fc.property(guessable, (password) => {
        expect(guessablePasswordReason(password)).toBe(classOf(password));
        expect(classOf(password)).not.toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses nothing outside the classes (generated: any string, and near misses)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', minLength: 8, maxLength: 128 }), nearlyGuessable),
        (password) => {
          expect(guessablePasswordReason(password)).toBe(classOf(password));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('guessablePasswordReason (NIST SP 800-63B §5.1.1.2: commonly used and context-specific passwords; accounts trial A2)', () => {
  const COMMON = 'password must not be a commonly used password, such as "password1" or "qwerty123"';
  const CONTEXT = 'password must not be your e-mail address or your name';

  it.each([
    'password',
    'Password1',
    'PASSWORD123!',
    'passw0rd',
    'P@ssw0rd!',
    'qwerty123',
    'qwertyuiop',
    '1q2w3e4r5t',
    'iloveyou!',
    'letmein123',
    'welcome2024',
    'ｐａｓｓｗｏｒｄ１', // fullwidth, as NFKC reads it
    'pass\u200bword1', // an invisible character left out
    'boxoffice1',
    '12341234',
    // A stem that ends in a digit itself, alone and with more after it.
    'q1w2e3r4',
    'Q1W2E3R4!',
  ])('refuses the common %j', (password) => {
    expect(guessablePasswordReason(password)).toBe(COMMON);
    expect(() => assertSettablePassword(password)).toThrow(new InvalidInputError(COMMON));
  });

  it.each([
    ['ada.lovelace@example.com', 'Ada Lovelace', 'ada.lovelace'],
    ['ada.lovelace@example.com', 'Ada Lovelace', 'Ada.Lovelace2024'],
    ['ada.lovelace@example.com', 'Ada Lovelace', 'ada.lovelace@example.com'],
    ['ada@example.com', 'Ada Lovelace', 'adalovelace1'],
    ['ada@example.com', 'Ada Lovelace', 'Ada Lovelace!'],
    // A local part or name ending in digits, then more after it (the digits are not the stem's).
    ['jsmith1985@example.com', 'John Smith', 'jsmith1985!'],
    ['jsmith1985@example.com', 'John Smith', 'JSmith1985 2024'],
    ['grace@example.com', 'Grace Hopper 1906', 'Grace Hopper 1906!'],
    ['r2d2@example.com', 'Artoo', 'R2D2!!'],
  ])('refuses, for %j named %j, %j', (email, name, password) => {
    expect(guessablePasswordReason(password, { email, name })).toBe(CONTEXT);
    expect(() => assertSettablePassword(password, { email, name })).toThrow(new InvalidInputError(CONTEXT));
    // Without the context it is not a common password.
    expect(guessablePasswordReason(password)).toBeNull();
  });

  it.each([
    'correct horse battery',
    'password manager made this: 7Gk2',
    'my qwerty keyboard is loud',
    'another-Passw0rd!',
    'test-password-123',
    'ada lovelace was first',
    'ada lovelace-byron',
    'adalovelaces',
  ])('takes %j', (password) => {
    expect(guessablePasswordReason(password, { email: 'ada@example.com', name: 'Ada Lovelace' })).toBeNull();
  });
});
