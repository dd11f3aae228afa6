import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

export enum TicketStatus {
  Active = 'ACTIVE',
  Canceled = 'CANCELED',
}

/**
 * One seat of one purchase. At most one ACTIVE ticket per seat (partial unique index
 * `tickets_seat_active_key`): the database refuses a seat sold twice even if everything else failed.
 */
@Entity('tickets')
@Unique('tickets_purchase_seat_key', ['purchaseId', 'seatId'])
@Index('tickets_seat_active_key', { synchronize: false })
export class TicketEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ name: 'purchase_id', type: 'uuid' })
  purchaseId: string;

  @Column({ name: 'performance_id', type: 'int' })
  performanceId: number;

  @Column({ name: 'seat_id', type: 'int' })
  seatId: number;

  /**
   * What the buyer paid for the seat (its hold's price), an integer in minor units of the
   * purchase's currency; null for tickets written before prices were recorded.
   */
  @Column({ type: 'int', nullable: true })
  price: number | null;

  @Column({ type: 'enum', enum: TicketStatus, enumName: 'ticket_status', default: TicketStatus.Active })
  status: TicketStatus;

  /** When the ticket was scanned in at the door; set once. */
  @Column({ name: 'checked_in_at', type: 'timestamptz', nullable: true })
  checkedInAt: Date | null;

  /** The staff member (or admin) who checked it in; null once that account is deleted. */
  @Column({ name: 'checked_in_by', type: 'uuid', nullable: true })
  checkedInBy: string | null;

  /**
   * The token of the scan that checked it in, carried by its Redis mark (check-in-mark.lua), so an
   * undo takes back that mark alone; null before the check-in, and for check-ins made before it existed.
   */
  @Column({ name: 'check_in_mark', type: 'text', nullable: true })
  checkInMark: string | null;

  /**
   * Who holds the ticket when it was transferred (the account that accepted the last transfer);
   * null: its purchase's buyer holds it. Set only by an accepted transfer (TicketTransfersRepository).
   */
  @Index('tickets_holder_id_idx', { synchronize: false })
  @Column({ name: 'holder_id', type: 'uuid', nullable: true })
  holderId: string | null;

  /**
   * Version of the ticket's signed code (0-65535): raised by every accepted transfer, so a code
   * signed before it (which names the old version) no longer admits.
   */
  @Column({ name: 'code_version', type: 'int', default: 0 })
  codeVersion: number;
}
