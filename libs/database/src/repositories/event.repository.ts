import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
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

/** Events: the root of the catalog. Deleting one deletes its performances and seats. */
@Injectable()
export class EventRepository {
  private readonly events: Repository<EventEntity>;

  constructor(@InjectDataSource() dataSource: DataSource) {
    this.events = dataSource.getRepository(EventEntity);
  }

  create(fields: EventFields): Promise<EventEntity> {
    return this.events.save(this.events.create({ ...fields, description: fields.description ?? null }));
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
    return this.events.save(event);
  }

  async delete(id: number): Promise<boolean> {
    const result = await this.events.delete({ id });
    return (result.affected ?? 0) > 0;
  }
}
