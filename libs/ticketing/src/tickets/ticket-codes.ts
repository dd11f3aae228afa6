import { createHmac, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import type { TicketIdentity } from '@app/database';
import { InvalidTicketCodeError } from './ticket.errors';

/** Layout version, the first byte: a future layout or key gets a new one. */
const VERSION = 1;
/** version (1) · ticket id (8, big-endian) · purchase uuid (16) · performance id (4) · seat id (4). */
const PAYLOAD_BYTES = 33;
/** HMAC-SHA256 truncated to 128 bits (RFC 2104 §5 allows truncation to at least half). */
const TAG_BYTES = 16;
/** 49 bytes in unpadded base64url. */
export const TICKET_CODE_LENGTH = Math.ceil(((PAYLOAD_BYTES + TAG_BYTES) * 8) / 6);
const CODE = new RegExp(`^[A-Za-z0-9_-]{${TICKET_CODE_LENGTH}}$`);
const MAX_UINT32 = 2 ** 32 - 1;

/**
 * Signs and verifies ticket codes: the ticket's identity (ticket id, purchase, performance, seat)
 * and an HMAC-SHA256 tag with TICKET_SIGNING_SECRET, as one base64url string of
 * {@link TICKET_CODE_LENGTH} (66) characters, small enough for a QR code a phone camera reads
 * from a screen (version 5, 37×37 modules at level M). The code is derived from the ticket row,
 * not stored: the flusher writes tickets without it, and every read signs it again.
 */
@Injectable()
export class TicketCodes {
  private readonly key: Buffer;

  constructor(@Inject(Env) env: Pick<Env, 'TICKET_SIGNING_SECRET'>) {
    if (!env.TICKET_SIGNING_SECRET) throw new Error('TICKET_SIGNING_SECRET is not set');
    this.key = Buffer.from(env.TICKET_SIGNING_SECRET, 'utf8');
  }

  /** The code of a ticket. Throws RangeError for ids outside the layout (never from the database's). */
  sign(ticket: TicketIdentity): string {
    const payload = Buffer.alloc(PAYLOAD_BYTES);
    payload.writeUInt8(VERSION, 0);
    payload.writeBigUInt64BE(BigInt(ticket.ticketId), 1);
    const uuid = Buffer.from(ticket.purchaseId.replace(/-/g, ''), 'hex');
    if (uuid.length !== 16) throw new RangeError(`purchase id is not a UUID: ${ticket.purchaseId}`);
    uuid.copy(payload, 9);
    payload.writeUInt32BE(ticket.performanceId, 25);
    payload.writeUInt32BE(ticket.seatId, 29);
    return Buffer.concat([payload, this.tag(payload)]).toString('base64url');
  }

  /**
   * The identity a code names, once its signature checks out. Throws InvalidTicketCodeError for
   * anything else: not a string, wrong length or alphabet, a non-canonical encoding, an unknown
   * version, or a tag that does not match (compared in constant time).
   */
  verify(code: unknown): TicketIdentity {
    if (typeof code !== 'string' || !CODE.test(code)) throw new InvalidTicketCodeError();
    const bytes = Buffer.from(code, 'base64url');
    // Two spellings of one byte string (the last character's unused bits) are not both valid.
    if (bytes.length !== PAYLOAD_BYTES + TAG_BYTES || bytes.toString('base64url') !== code) {
      throw new InvalidTicketCodeError();
    }
    const payload = bytes.subarray(0, PAYLOAD_BYTES);
    if (!timingSafeEqual(bytes.subarray(PAYLOAD_BYTES), this.tag(payload)) || payload.readUInt8(0) !== VERSION) {
      throw new InvalidTicketCodeError();
    }
    const hex = payload.subarray(9, 25).toString('hex');
    const performanceId = payload.readUInt32BE(25);
    const seatId = payload.readUInt32BE(29);
    const ticketId = payload.readBigUInt64BE(1);
    // Signed by us, so in range; checked anyway, cheaply, before it reaches SQL as int/bigint.
    if (performanceId > MAX_UINT32 >>> 1 || seatId > MAX_UINT32 >>> 1 || ticketId >= 2n ** 63n) {
      throw new InvalidTicketCodeError();
    }
    return {
      ticketId: ticketId.toString(),
      purchaseId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      performanceId,
      seatId,
    };
  }

  private tag(payload: Buffer): Buffer {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, TAG_BYTES);
  }
}
