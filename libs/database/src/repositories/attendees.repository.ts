import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { rethrowAsDatabaseError } from '../database-unavailable';
import { presaleNameSql } from './presales.repository';

/** One active ticket of a performance with its seat and buyer: a line of the door list. */
export interface AttendeeRecord {
  /** The seat's layout position (1..N): the list's order and its keyset cursor. */
  position: number;
  ticketId: string;
  purchaseId: string;
  section: string;
  rowLabel: string;
  number: number;
  /** What the buyer paid for the seat, in minor units of `currency`; null for tickets written before prices were recorded. */
  price: number | null;
  /** ISO 4217 code of the purchase. */
  currency: string;
  /** When the purchase was made (the sale in Redis), not when it was written to PostgreSQL. */
  purchasedAt: Date;
  /** When the ticket was scanned in at the door; null until then. */
  checkedInAt: Date | null;
  /**
   * The buyer's account; null when the account was deleted since. For a box office sale, the
   * walk-up as the window took them (`purchases.delivery_email`, `delivery_name`), each null when
   * not given: never the selling account (the sale is the venue's), as the door's scan answers it.
   */
  buyerEmail: string | null;
  buyerName: string | null;
  /**
   * Who holds the ticket now: the account of its last accepted transfer, else the buyer (then the
   * same as `buyerEmail` and `buyerName`); null when that account was deleted since.
   */
  holderEmail: string | null;
  holderName: string | null;
  /** A comp's note (complimentary tickets an operator gave: who and why); null for a ticket sold. */
  compNote: string | null;
  /**
   * The account that checked the ticket in (`tickets.checked_in_by`: the door's staff account, or
   * an admin): the door it went in at, for counting heads per door; null until it was checked in,
   * or once that account was deleted.
   */
  checkedInByEmail: string | null;
  checkedInByName: string | null;
  /**
   * The presale the purchase was made in (`purchases.presale_id`, decimal digits) and its name (a
   * deleted presale's as its deletion's audit row kept it: presaleNameSql); both null for a sale of
   * the general on-sale, a comp or a box office sale.
   */
  presaleId: string | null;
  presaleName: string | null;
}

/** The performance's door list, read from PostgreSQL a page at a time. */
@Injectable()
export class AttendeesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Up to `limit` active tickets of the performance whose seats come after layout position
   * `afterPosition` (0: from the first seat), in layout order. Each page is its own short query
   * (no connection or snapshot held between pages): a seat sold or refunded between two pages
   * shows as of the page that reads it. Reads the seats' layout index and the one-active-ticket-
   * per-seat index, so a page costs the seats it passes over, not the performance's tickets.
   * Rejects with DatabaseUnavailableError while PostgreSQL does not answer.
   */
  async page(performanceId: number, afterPosition: number, limit: number): Promise<AttendeeRecord[]> {
    // int4 columns arrive as numbers, timestamptz as Dates (pg's parsers).
    const rows: AttendeeRecord[] = await this.dataSource
      .query(
        `SELECT s.position, t.id::text AS "ticketId", t.purchase_id AS "purchaseId", s.section, s.row_label AS "rowLabel",
                s."number", t.price, p.currency, p.created_at AS "purchasedAt", t.checked_in_at AS "checkedInAt",
                CASE WHEN p.sale_channel = 'BOX_OFFICE' THEN p.delivery_email ELSE u.email END AS "buyerEmail",
                CASE WHEN p.sale_channel = 'BOX_OFFICE' THEN p.delivery_name ELSE u.name END AS "buyerName",
                CASE WHEN h.id IS NOT NULL THEN h.email
                     WHEN p.sale_channel = 'BOX_OFFICE' THEN p.delivery_email
                     ELSE u.email END AS "holderEmail",
                CASE WHEN h.id IS NOT NULL THEN h.name
                     WHEN p.sale_channel = 'BOX_OFFICE' THEN p.delivery_name
                     ELSE u.name END AS "holderName",
                p.comp_note AS "compNote", d.email AS "checkedInByEmail", d.name AS "checkedInByName",
                p.presale_id::text AS "presaleId", ${presaleNameSql('p.presale_id', 'p.performance_id')} AS "presaleName"
         FROM seats s
         JOIN tickets t ON t.seat_id = s.id AND t.status = 'ACTIVE'
         JOIN purchases p ON p.id = t.purchase_id
         LEFT JOIN users u ON u.id = p.user_id
         LEFT JOIN users h ON h.id = t.holder_id
         LEFT JOIN users d ON d.id = t.checked_in_by AND t.checked_in_at IS NOT NULL
         WHERE s.performance_id = $1 AND s.position > $2
         ORDER BY s.position
         LIMIT $3`,
        [performanceId, afterPosition, limit],
      )
      .catch(rethrowAsDatabaseError);
    return rows.map((row) => ({ ...row, currency: row.currency.trim() }));
  }
}
