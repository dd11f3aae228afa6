import { Column, CreateDateColumn, Entity, OneToMany, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { PerformanceEntity } from './performance.entity';

@Entity('events')
export class EventEntity {
  @PrimaryGeneratedColumn('identity', { generatedIdentity: 'ALWAYS' })
  id: number;

  @Column({ type: 'varchar', length: 200 })
  title: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  @Column({ type: 'varchar', length: 200 })
  venue: string;

  /** ISO 4217 code of every price and amount of the event; set when the event is created. */
  @Column({ type: 'char', length: 3 })
  currency: string;

  /** IANA name of the venue's time zone (`Asia/Seoul`): the wall clock its performance times are shown on. */
  @Column({ name: 'time_zone', type: 'varchar', length: 64, default: 'UTC' })
  timeZone: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @OneToMany('PerformanceEntity', (performance: PerformanceEntity) => performance.event)
  performances?: PerformanceEntity[];
}
