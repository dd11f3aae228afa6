import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import type { EventEntity } from './event.entity';

@Entity('performances')
@Index('performances_event_starts_at', ['eventId', 'startsAt', 'id'])
export class PerformanceEntity {
  @PrimaryGeneratedColumn('identity', { generatedIdentity: 'ALWAYS' })
  id: number;

  @Column({ name: 'event_id', type: 'int' })
  eventId: number;

  @ManyToOne('EventEntity', (event: EventEntity) => event.performances, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'event_id' })
  event?: EventEntity;

  @Column({ name: 'starts_at', type: 'timestamptz' })
  startsAt: Date;

  @Column({ name: 'sales_open_at', type: 'timestamptz' })
  salesOpenAt: Date;

  @Column({ name: 'total_seats', type: 'int' })
  totalSeats: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
