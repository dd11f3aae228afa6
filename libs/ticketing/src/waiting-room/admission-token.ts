import { createHmac, timingSafeEqual } from 'node:crypto';

/** What an admission token says: who was admitted, to which performance, until when. */
export interface AdmissionClaims {
  performanceId: number;
  userId: string;
  ticketId: string;
  /**
   * The admission's last moment on its room's clock (ms; room-clock.lua: Redis TIME less the time
   * the sale stood PAUSED): use-admission.lua refuses the token from then on.
   */
  expiresAt: number;
}

const VERSION = 'a1';

/**
 * Admission tokens: `a1.<base64url(JSON {p, u, t, exp})>.<base64url(HMAC-SHA256(secret, "a1." + payload))>`.
 * Signed with WAITING_ROOM_SECRET, so checking one costs one HMAC and no storage read; the
 * holder's slot is still checked in Redis (a token outlives a place lost to idleness).
 */
export class AdmissionTokens {
  constructor(private readonly secret: string) {}

  /** A token for `claims`. */
  sign(claims: AdmissionClaims): string {
    const payload = Buffer.from(
      JSON.stringify({ p: claims.performanceId, u: claims.userId, t: claims.ticketId, exp: claims.expiresAt }),
    ).toString('base64url');
    return `${VERSION}.${payload}.${this.mac(`${VERSION}.${payload}`)}`;
  }

  /**
   * The claims of a token this secret signed, or `null` for a missing, malformed or forged one.
   * Its expiry is not checked here: it is on the room's clock, which only Redis reads
   * (use-admission.lua). Never throws.
   */
  verify(token: unknown): AdmissionClaims | null {
    if (typeof token !== 'string' || token.length > 1000) return null;
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION) return null;
    const given = Buffer.from(parts[2]);
    const expected = Buffer.from(this.mac(`${parts[0]}.${parts[1]}`));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const body = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
      const { p, u, t, exp } = body;
      if (typeof p !== 'number' || typeof u !== 'string' || typeof t !== 'string' || typeof exp !== 'number') {
        return null;
      }
      return { performanceId: p, userId: u, ticketId: t, expiresAt: exp };
    } catch {
      return null;
    }
  }

  private mac(text: string): string {
    return createHmac('sha256', this.secret).update(text).digest('base64url');
  }
}
