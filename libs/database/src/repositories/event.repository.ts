import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { translatingConstraintViolations } from '../constraint-violations';
import { EventEntity } from '../entities/event.entity';

export interface EventFields {
  title: string;
  description?: string | null;
  venue: string;
  /** ISO 4217 code of the event's prices; fixed once the event exists. */
  currency: string;
}

/** What an update may change: everything but the currency, which the prices already sold were in. */
export type EventChanges = Partial<Omit<EventFields, 'currency'>>;

/**
 * Events: the root of the catalog. Deleting one deletes its performances and seats. Writes raise
 * a unique or foreign-key violation as a ConflictError of @app/core.
 */
@Injectable()
export class EventRepository {
  private readonly events: Repository<EventEntity>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.events = dataSource.getRepository(EventEntity);
  }

  /**
   * Deletes an event with its performances and seats, in one transaction that first locks the
   * event row: a performance being created for it (its insert holds a key-share lock on the row)
   * commits before, and is listed; one created after waits, then finds no event. `beforeDelete`
   * gets the ids of every performance of the event and may throw to keep everything. False when
   * there is no such event.
   */
  deleteWithPerformances(id: number, beforeDelete: (performanceIds: number[]) => Promise<void>): Promise<boolean> {
    return translatingConstraintViolations(() =>
      this.dataSource.transaction(async (manager) => {
        const locked: unknown[] = await manager.query('SELECT id FROM events WHERE id = $1 FOR UPDATE', [id]);
        if (locked.length === 0) return false;
        const performances: { id: number }[] = await manager.query(
          'SELECT id FROM performances WHERE event_id = $1 ORDER BY id',
          [id],
        );
        await beforeDelete(performances.map((row) => row.id));
        await manager.query('DELETE FROM events WHERE id = $1', [id]);
        return true;
      }),
    );
  }

  create(fields: EventFields): Promise<EventEntity> {
    return translatingConstraintViolations(() =>
      this.events.save(this.events.create({ ...fields, description: fields.description ?? null })),
    );
  }

  findById(id: number): Promise<EventEntity | null> {
    return this.events.findOneBy({ id });
  }

  /** Keyset page in id order: new events land at the end, so a walk never skips or repeats. */
  pageAfter(afterId: number, limit: number): Promise<EventEntity[]> {
    return this.events
      .createQueryBuilder('e')
      .where('e.id > :afterId', { afterId })
      .orderBy('e.id', 'ASC')
      .limit(limit)
      .getMany();
  }

  async update(id: number, fields: EventChanges): Promise<EventEntity | null> {
    const event = await this.findById(id);
    if (!event) return null;
    Object.assign(event, fields);
    return translatingConstraintViolations(() => this.events.save(event));
  }
}
