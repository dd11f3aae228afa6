import { createHmac, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import type { TicketIdentity } from '@app/database';
import { InvalidTicketCodeError } from './ticket.errors';

/**
 * Layout versions, the first byte. 1: the first layout, for a ticket's first code (code version 0:
 * every code sent before transfers existed stays as it was). 2: the same fields and the ticket's
 * code version (2 bytes), for a code reissued by an accepted transfer.
 */
const LAYOUT_V1 = 1;
const LAYOUT_V2 = 2;
/** version (1) · ticket id (8, big-endian) · purchase uuid (16) · performance id (4) · seat id (4). */
const PAYLOAD_V1_BYTES = 33;
/** Layout 1's fields · code version (2, big-endian). */
const PAYLOAD_V2_BYTES = 35;
/** HMAC-SHA256 truncated to 128 bits (RFC 2104 §5 allows truncation to at least half). */
const TAG_BYTES = 16;
/** A first code: 49 bytes in unpadded base64url. */
export const TICKET_CODE_LENGTH = Math.ceil(((PAYLOAD_V1_BYTES + TAG_BYTES) * 8) / 6);
/** A reissued code (code version 1 and up): 51 bytes in unpadded base64url. */
export const REISSUED_TICKET_CODE_LENGTH = Math.ceil(((PAYLOAD_V2_BYTES + TAG_BYTES) * 8) / 6);
const CODE = new RegExp(`^(?:[A-Za-z0-9_-]{${TICKET_CODE_LENGTH}}|[A-Za-z0-9_-]{${REISSUED_TICKET_CODE_LENGTH}})$`);
const MAX_UINT32 = 2 ** 32 - 1;
/** The highest code version a code can carry (`tickets.code_version` is checked to it too). */
export const MAX_CODE_VERSION = 0xffff;

/**
 * Signs and verifies ticket codes: the ticket's identity (ticket id, purchase, performance, seat,
 * and from its first transfer on its code version) and an HMAC-SHA256 tag with
 * TICKET_SIGNING_SECRET, as one base64url string of {@link TICKET_CODE_LENGTH} (66) characters, or
 * {@link REISSUED_TICKET_CODE_LENGTH} (68) for a reissued code: small enough for a QR code a phone
 * camera reads from a screen (version 5, 37×37 modules at level M, takes 84 bytes). The code is
 * derived from the ticket row, not stored: the flusher writes tickets without it, and every read
 * signs it again. The door compares the code version a code names with the row's: a code signed
 * before a transfer names an older one and admits no one (TicketTransferred).
 */
@Injectable()
export class TicketCodes {
  private readonly key: Buffer;

  constructor(@Inject(Env) env: Pick<Env, 'TICKET_SIGNING_SECRET'>) {
    if (!env.TICKET_SIGNING_SECRET) throw new Error('TICKET_SIGNING_SECRET is not set');
    this.key = Buffer.from(env.TICKET_SIGNING_SECRET, 'utf8');
  }

  /**
   * The code of a ticket: layout 1 for code version 0 (the code it was first issued with), layout
   * 2 from version 1 on. Throws RangeError for ids or a version outside the layout (never from the
   * database's).
   */
  sign(ticket: TicketIdentity): string {
    const version = ticket.codeVersion;
    if (!Number.isInteger(version) || version < 0 || version > MAX_CODE_VERSION) {
      throw new RangeError(`code version out of range: ${version}`);
    }
    const payload = Buffer.alloc(version === 0 ? PAYLOAD_V1_BYTES : PAYLOAD_V2_BYTES);
    payload.writeUInt8(version === 0 ? LAYOUT_V1 : LAYOUT_V2, 0);
    payload.writeBigUInt64BE(BigInt(ticket.ticketId), 1);
    const uuid = Buffer.from(ticket.purchaseId.replace(/-/g, ''), 'hex');
    if (uuid.length !== 16) throw new RangeError(`purchase id is not a UUID: ${ticket.purchaseId}`);
    uuid.copy(payload, 9);
    payload.writeUInt32BE(ticket.performanceId, 25);
    payload.writeUInt32BE(ticket.seatId, 29);
    if (version !== 0) payload.writeUInt16BE(version, 33);
    return Buffer.concat([payload, this.tag(payload)]).toString('base64url');
  }

  /**
   * The identity a code names, once its signature checks out. Throws InvalidTicketCodeError for
   * anything else: not a string, wrong length or alphabet, a non-canonical encoding, an unknown
   * layout or one that does not fit the length, a layout-2 code naming version 0 (that version's
   * one code is layout 1), or a tag that does not match (compared in constant time).
   */
  verify(code: unknown): TicketIdentity {
    if (typeof code !== 'string' || !CODE.test(code)) throw new InvalidTicketCodeError();
    const bytes = Buffer.from(code, 'base64url');
    const payloadBytes = bytes.length - TAG_BYTES;
    // Two spellings of one byte string (the last character's unused bits) are not both valid.
    if (
      (payloadBytes !== PAYLOAD_V1_BYTES && payloadBytes !== PAYLOAD_V2_BYTES) ||
      bytes.toString('base64url') !== code
    ) {
      throw new InvalidTicketCodeError();
    }
    const payload = bytes.subarray(0, payloadBytes);
    const layout = payload.readUInt8(0);
    if (
      !timingSafeEqual(bytes.subarray(payloadBytes), this.tag(payload)) ||
      layout !== (payloadBytes === PAYLOAD_V1_BYTES ? LAYOUT_V1 : LAYOUT_V2)
    ) {
      throw new InvalidTicketCodeError();
    }
    const codeVersion = layout === LAYOUT_V1 ? 0 : payload.readUInt16BE(33);
    if (layout === LAYOUT_V2 && codeVersion === 0) throw new InvalidTicketCodeError();
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
      codeVersion,
    };
  }

  private tag(payload: Buffer): Buffer {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, TAG_BYTES);
  }
}
