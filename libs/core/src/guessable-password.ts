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
 * Nothing else: mixed case ("aAaAaAaA"), a run with anything around it ("12345678!") and every
 * other password pass. The length limits are the caller's; a password of fewer than 2 characters
 * is neither repeated nor a run.
 */
export function guessablePasswordReason(password: string): string | null {
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
  return null;
}

/**
 * Throws InvalidInputError (400) with {@link guessablePasswordReason}'s words when `password` may
 * not be set; the services that set a password call it, whatever route or command brought it.
 */
export function assertSettablePassword(password: string): void {
  const reason = guessablePasswordReason(password);
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
