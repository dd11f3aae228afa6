import { Inject, Injectable } from '@nestjs/common';
import { Env } from '@app/config';
import { EventChanges, EventEntity, EventFields, EventRepository } from '@app/database';
import { DomainError, NotFoundError } from '../errors';
import { assertCurrency } from '../input';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { SeatStateStore } from '../seats/seat-state.store';
import { CatalogCache } from './catalog-cache';
import { CatalogEvent, Page, reviveEvent } from './catalog.types';
import { decodeCursor, encodeCursor } from './cursor';

/** Events of the catalog; reads come from the cache, writes invalidate it. */
@Injectable()
export class EventService {
  constructor(
    private readonly events: EventRepository,
    private readonly seatState: SeatStateStore,
    private readonly rebuilder: SeatStateRebuilder,
    private readonly cache: CatalogCache,
    @Inject(Env) private readonly env: Env,
  ) {}

  /**
   * `currency` (ISO 4217) defaults to DEFAULT_CURRENCY; every price of the event is in it.
   * Throws InvalidInputError for an unknown currency.
   */
  async createEvent(fields: Omit<EventFields, 'currency'> & { currency?: string }): Promise<CatalogEvent> {
    const currency = fields.currency ?? this.env.DEFAULT_CURRENCY;
    assertCurrency(currency);
    const event = await this.events.create({ ...fields, currency });
    await this.cache.invalidate();
    return toEvent(event);
  }

  /** Changes the given fields. Throws NotFoundError('event'). */
  async updateEvent(id: number, fields: EventChanges): Promise<CatalogEvent> {
    const event = await this.events.update(id, fields);
    if (!event) throw new NotFoundError('event');
    await this.cache.invalidate();
    return toEvent(event);
  }

  /**
   * Refused (409 EventHasSales) while any of its performances has a sold seat: buyers hold
   * tickets for it. Each performance is first closed to sales atomically with its seat state, so
   * no purchase can land between the check and the delete; the counts read at closing are final.
   * A refused delete opens them again. Holds of a deleted performance end with it.
   */
  async deleteEvent(id: number): Promise<void> {
    const closed: number[] = [];
    let performanceIds: number[] = [];
    try {
      const deleted = await this.events.deleteWithPerformances(id, async (ids) => {
        performanceIds = ids;
        for (const performanceId of ids) {
          await this.rebuilder.ensure(performanceId);
          const atClose = await this.seatState.closeSales(performanceId);
          if (atClose) closed.push(performanceId);
          if ((atClose?.sold ?? 0) > 0) {
            throw new DomainError('conflict', 'EventHasSales', 'event has sold seats and cannot be deleted', {
              performanceId,
            });
          }
        }
      });
      if (!deleted) throw new NotFoundError('event');
    } catch (error) {
      for (const performanceId of closed) await this.seatState.reopenSales(performanceId);
      throw error;
    }
    for (const performanceId of performanceIds) await this.seatState.removePerformance(performanceId);
    await this.cache.invalidate();
  }

  /** Throws NotFoundError('event'). */
  async getEvent(id: number): Promise<CatalogEvent> {
    const event = await this.cache.getOrLoad(`event:${id}`, async () => {
      const row = await this.events.findById(id);
      return row ? toEvent(row) : null;
    });
    if (!event) throw new NotFoundError('event');
    return reviveEvent(event);
  }

  /** Events by id, keyset-paginated. Throws InvalidInputError (cursor). */
  async listEvents(cursor: string | undefined, limit: number): Promise<Page<CatalogEvent>> {
    const after = decodeCursor<{ i: number }>(cursor, { i: 'int4' });
    const page = await this.cache.getOrLoad(`events:${after?.i ?? 0}:${limit}`, async () => {
      const rows = await this.events.pageAfter(after?.i ?? 0, limit + 1);
      const items = rows.slice(0, limit).map(toEvent);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor({ i: last.id }) : null };
    });
    return { items: page.items.map(reviveEvent), nextCursor: page.nextCursor };
  }
}

function toEvent(event: EventEntity): CatalogEvent {
  return {
    id: event.id,
    title: event.title,
    description: event.description,
    venue: event.venue,
    currency: event.currency,
    createdAt: event.createdAt,
    updatedAt: event.updatedAt,
  };
}
