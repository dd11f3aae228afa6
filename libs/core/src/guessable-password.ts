import { InvalidInputError } from './domain-error';

/** The fewest characters a password has (the edge refuses shorter ones), visible ones when it has invisible ones. */
export const MIN_PASSWORD_LENGTH = 8;

/** A decimal digit of any script (Unicode `Nd`): each script's 0–9 are ten code points in a row. */
const DIGIT = /^\p{Nd}$/u;
/** Format characters (Unicode `Cf`: zero-width spaces and joiners, the BOM, direction marks): invisible. */
const INVISIBLE = /\p{Cf}/gu;
const WHITE_SPACE_ONLY = /^\p{White_Space}+$/u;

/**
 * Why `password` is too easily guessed to be set, in words fit for the client, or null when it is
 * not. NIST SP 800-63B §5.1.1.2 sets no composition rules but refuses repetitive and sequential
 * passwords; these are the three classes refused, checked on the password in Unicode NFKC (as it is
 * hashed, so a fullwidth "１２３４５６７８" is "12345678"), its invisible format characters (zero-width
 * spaces, a BOM) left out, as a reader of it would not see them:
 * - only white space (Unicode `White_Space`: spaces of every width, tabs, line breaks, U+0085) or
 *   nothing visible at all;
 * - one character repeated ("aaaaaaaa");
 * - a run of characters each one code point after the one before ("12345678", "abcdefgh"), or each
 *   one before it ("87654321"); digits of any script wrap 9 → 0 and 0 → 9 as on a keyboard's row
 *   ("1234567890", "0987654321", "٨٧٦٥٤٣٢١٠٩").
 * - fewer than MIN_PASSWORD_LENGTH visible characters, made up to the length with invisible ones
 *   ("\u200b" × 7 + "Z").
 * - a commonly used password: one of {@link COMMON_PASSWORD_STEMS} (in any letter case) with at
 *   most digits, punctuation, symbols or white space after it ("Password1!", "qwerty123"), or one
 *   of {@link COMMON_PASSWORDS} (the section's "passwords obtained from previous breach corpuses"
 *   and "dictionary words", at their head: a breach list's top entries, not the whole list);
 * - with `context`, the account's own e-mail address, its local part or its name (white space left
 *   out), followed by at most digits, punctuation or symbols ("ada.lovelace2024" for
 *   ada.lovelace@example.com: the section's "context-specific words, such as … the username").
 * Nothing else: mixed case ("aAaAaAaA"), a run with anything around it ("12345678!"), a common word
 * inside a longer password ("my qwerty keyboard") and every other password pass. The length limits
 * are the caller's; a password of fewer than 2 characters is neither repeated nor a run.
 */
export function guessablePasswordReason(password: string, context?: PasswordContext): string | null {
  const visible = password.normalize('NFKC').replace(INVISIBLE, '');
  if (password.length > 0 && (visible === '' || WHITE_SPACE_ONLY.test(visible))) {
    return 'password must not be only white space';
  }
  const codes = Array.from(visible, (character) => character.codePointAt(0)!);
  if (visible.length < password.normalize('NFKC').length && codes.length < MIN_PASSWORD_LENGTH) {
    return `password must have at least ${MIN_PASSWORD_LENGTH} visible characters: invisible ones (zero-width spaces, soft hyphens) do not count`;
  }
  if (codes.length < 2) return null;
  if (codes.every((code) => code === codes[0])) return 'password must not be one character repeated';
  const firstStep = step(codes[0], codes[1]);
  if (firstStep !== 0 && codes.every((code, i) => i === 0 || step(codes[i - 1], code) === firstStep)) {
    return 'password must not be a run of consecutive characters, such as 12345678 or abcdefgh';
  }
  const folded = visible.toLowerCase();
  // A word with only filler after it, matched from the word's start: a word that ends in a digit
  // itself ("q1w2e3r4", a local part "jsmith1985") lost it when the filler was stripped first.
  const followedByFiller = (text: string, word: string) =>
    text.startsWith(word) && ONLY_FILLER.test(text.slice(word.length));
  if (COMMON_PASSWORDS.has(folded) || [...COMMON_PASSWORD_STEMS].some((word) => followedByFiller(folded, word))) {
    return 'password must not be a commonly used password, such as "password1" or "qwerty123"';
  }
  const compact = folded.replace(WHITE_SPACE, '');
  if (context && [...contextWords(context)].some((word) => followedByFiller(compact, word))) {
    return 'password must not be your e-mail address or your name';
  }
  return null;
}

/** What a password is set for, read by {@link guessablePasswordReason}'s context-specific check. */
export interface PasswordContext {
  /** The account's e-mail address. */
  email?: string;
  /** The account's display name. */
  name?: string;
}

/**
 * Nothing, or only digits, punctuation, symbols and white space: what people add after a word to
 * pass a rule.
 */
const ONLY_FILLER = /^[\p{N}\p{P}\p{S}\p{White_Space}]*$/u;
const WHITE_SPACE = /\p{White_Space}+/gu;

/**
 * Words that, alone or with digits and symbols after them, make up most of the passwords breach
 * corpuses show (the top of the Have I Been Pwned and RockYou lists, and their keyboard walks),
 * lower case; and the service's own name.
 */
const COMMON_PASSWORD_STEMS = new Set([
  'password',
  'passw0rd',
  'p@ssword',
  'p@ssw0rd',
  'pa$$word',
  'passwort',
  'motdepasse',
  'contraseña',
  'qwerty',
  'qwertyuiop',
  'qwertz',
  'azerty',
  'asdfgh',
  'asdfghjkl',
  'zxcvbn',
  'zxcvbnm',
  'qazwsx',
  'qazwsxedc',
  '1q2w3e4r',
  '1q2w3e4r5t',
  '1qaz2wsx',
  'q1w2e3r4',
  'zaq12wsx',
  'qwe',
  'abc',
  'abcd',
  'letmein',
  'welcome',
  'iloveyou',
  'admin',
  'administrator',
  'changeme',
  'trustno',
  'secret',
  'login',
  'guest',
  'test',
  'user',
  'hello',
  'monkey',
  'dragon',
  'master',
  'shadow',
  'sunshine',
  'princess',
  'football',
  'baseball',
  'soccer',
  'hockey',
  'basketball',
  'superman',
  'batman',
  'starwars',
  'pokemon',
  'whatever',
  'freedom',
  'computer',
  'internet',
  'michael',
  'jennifer',
  'jordan',
  'charlie',
  'boxoffice',
  'tickets',
]);

/** Whole passwords of breach lists' top entries that no stem above covers (digits only, mostly). */
const COMMON_PASSWORDS = new Set([
  '12341234',
  '11223344',
  '12121212',
  '12344321',
  '123123123',
  '1234512345',
  '147258369',
]);

/** The e-mail address, its local part and the name (white space left out), lower case, in NFKC. */
function contextWords({ email, name }: PasswordContext): Set<string> {
  const words = new Set<string>();
  if (email) {
    const address = email.normalize('NFKC').toLowerCase().trim();
    words.add(address);
    words.add(address.slice(0, address.lastIndexOf('@')));
  }
  if (name) words.add(name.normalize('NFKC').toLowerCase().replace(WHITE_SPACE, ''));
  words.delete('');
  return words;
}

/**
 * Throws InvalidInputError (400) with {@link guessablePasswordReason}'s words when `password` may
 * not be set; the services that set a password call it, whatever route or command brought it.
 */
export function assertSettablePassword(password: string, context?: PasswordContext): void {
  const reason = guessablePasswordReason(password, context);
  if (reason !== null) throw new InvalidInputError(reason);
}

/** +1 when `next` follows `previous` in a run, -1 when it precedes it (digits of one script wrapping), else 0. */
function step(previous: number, next: number): -1 | 0 | 1 {
  const zero = zeroOf(previous);
  const digits = zero !== null && zero === zeroOf(next);
  const difference = digits ? (next - previous + 10) % 10 : next - previous;
  if (difference === 1) return 1;
  if (difference === -1 || (digits && difference === 9)) return -1;
  return 0;
}

/**
 * The code point of the zero of `code`'s ten digits, or null when it is no decimal digit. Unicode
 * puts each script's 0–9 in ten code points in a row; a few scripts have two or more tens back to
 * back (U+116D0, 20 digits), so the ten is counted from the start of the run of digits.
 */
function zeroOf(code: number): number | null {
  if (!isDigit(code)) return null;
  let start = code;
  while (isDigit(start - 1)) start--;
  return start + Math.floor((code - start) / 10) * 10;
}

function isDigit(code: number): boolean {
  return code > 0 && DIGIT.test(String.fromCodePoint(code));
}
