import { Injectable, Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { PerformanceRepository, PriceChange, SectionRepository, SectionRow } from '@app/database';
import { NotFoundError } from '../errors';
import type { Operator } from '../purchases/admin-purchases';
import { SeatStateRebuilder } from '../seats/seat-state-rebuilder';
import { CatalogCache } from './catalog-cache';
import { CatalogCopies, READ_ATTEMPTS } from './catalog-copies';
import { assertPriceChange, assertSectionPrice, SECTION_PRICE_ACTION } from './section-rules';
import { findSectionName } from './section-names';
import { SectionStore } from './section.store';

/** A section of a performance as buyers see it. */
export interface Section {
  name: string;
  grade: string;
  /** Price of each of its seats a new hold pays, an integer in minor units of `currency`. */
  price: number;
  /** ISO 4217 code of the event. */
  currency: string;
  seatsTotal: number;
}

/** A section with its live count of available seats (a few seconds old at most while read; SECTION_COUNTING). */
export interface SectionAvailability extends Section {
  available: number;
}

/**
 * Sections kept in this process, in performances: past it the least recently read performance's are
 * dropped (an LRU, so a busy on-sale's sections stay while a crawl over old performances passes).
 */
export const KEPT_PERFORMANCES = 1000;

type KeptSections = { currency: string; sections: SectionRow[] };

/** Sections of performances: their prices (operators) and their live availability (buyers). */
@Injectable()
export class SectionService {
  private readonly logger = new Logger(SectionService.name);
  /** Sections per performance, loaded under catalog version `version` (dropped when it moves). */
  private kept: { version: string; sections: LRUCache<number, KeptSections> } = {
    version: '',
    sections: new LRUCache({ max: KEPT_PERFORMANCES }),
  };

  constructor(
    private readonly sections: SectionRepository,
    private readonly store: SectionStore,
    private readonly copies: CatalogCopies,
    private readonly cache: CatalogCache,
    private readonly rebuilder: SeatStateRebuilder,
    private readonly performances: PerformanceRepository,
  ) {}

  /**
   * The performance's sections in layout order with their live available counts. Usually one
   * Redis round trip (the catalog version and the counts together), the static part coming from
   * this process's copy or the catalog cache under the current catalog version, so a price change
   * shows on every replica as soon as its PATCH answered. Throws NotFoundError('performance').
   */
  async listSections(performanceId: number): Promise<SectionAvailability[]> {
    for (let attempt = 1; ; attempt += 1) {
      const version = await this.copies.version();
      const layout = await this.layout(version, performanceId);
      const [current, available] = await Promise.all([
        this.copies.currentVersion(),
        this.store.available(performanceId, layout.sections),
      ]);
      if (current !== version && attempt < READ_ATTEMPTS) {
        this.copies.observe(current);
        continue;
      }
      if (available === null) {
        if (attempt >= READ_ATTEMPTS) throw new NotFoundError('performance');
        await this.rebuilder.ensure(performanceId);
        continue;
      }
      return layout.sections.map((section, i) => ({
        name: section.name,
        grade: section.grade,
        price: section.price,
        currency: layout.currency,
        seatsTotal: section.seatsTotal,
        available: available[i] ?? 0,
      }));
    }
  }

  /**
   * Sets the price (minor units of the event's currency) of every seat of the section for the
   * holds made from now on. PostgreSQL and the live prices the hold script reads change inside
   * the performance's row lock, the latter in one atomic HSET; then the catalog version is bumped,
   * so every replica's seat pages and sections show the new price once this answers. A hold
   * made before keeps its amount and its purchase charges it; sold seats' purchases keep theirs;
   * a seat freed later (expiry, release, cancel, refund) sells at the new price. Recorded in the
   * admin audit log (`section.price`) with the operator; the price the section already has is no
   * change (not audited, the catalog kept; the live prices are written again). Should the commit fail after Redis took
   * the new prices, PostgreSQL's price is written back under the row's share lock (holds made in
   * between keep what they were priced). `requestedName` names the section in any casing (sectionNameKey); the answer and the
   * audit carry its name as stored. Throws InvalidInputError (price),
   * NotFoundError('performance' | 'section'), DomainError 'conflict' (PerformanceClosed,
   * PerformanceStarted).
   */
  async changePrice(performanceId: number, requestedName: string, price: number, operator: Operator): Promise<Section> {
    assertSectionPrice(price);
    // Names are unique ignoring case (sectionNameKey): change the section as its name is stored.
    const stored = await this.sections.sectionsOf(performanceId);
    if (!stored) throw new NotFoundError('performance');
    const sectionName = findSectionName(
      stored.sections.map((section) => section.name),
      requestedName,
    );
    if (sectionName === undefined) throw new NotFoundError('section', { performanceId, section: requestedName });
    // The live state must exist before the lock: a rebuild racing the change would write PostgreSQL's old prices.
    await this.rebuilder.ensure(performanceId);
    let writtenSeatIds: number[] | null = null;
    const change = await this.sections
      .changePrice(
        performanceId,
        sectionName,
        price,
        (subject) => assertPriceChange(subject, price, performanceId),
        async (seatIds) => {
          writtenSeatIds = seatIds;
          await this.store.setPrices(performanceId, seatIds, price);
        },
        (done: PriceChange) => ({
          actorId: operator.id,
          actorEmail: operator.email,
          action: SECTION_PRICE_ACTION,
          subjectId: `performance:${performanceId}:section:${sectionName}`,
          details: {
            performanceId,
            section: sectionName,
            previousPrice: done.previousPrice,
            price,
            currency: done.currency,
            seats: done.section.seatsTotal,
          },
        }),
      )
      .catch(async (error: unknown) => {
        // The transaction failed after Redis took the new prices (its COMMIT refused or cut off).
        const seatIds = writtenSeatIds as number[] | null;
        if (seatIds) await this.restorePrices(performanceId, sectionName, seatIds);
        throw error;
      });
    if (change === null) throw new NotFoundError('performance');
    if (change === 'no-section') throw new NotFoundError('section', { performanceId, section: sectionName });
    if (change.changed) await this.cache.invalidate();
    const { name, grade, seatsTotal } = change.section;
    return { name, grade, price, currency: change.currency, seatsTotal };
  }

  /**
   * Writes the section's price in PostgreSQL to the live prices of its seats `seatIds` in Redis,
   * under the performance's row share lock: after a change under way committed and before the next
   * one writes its own, so a second PATCH that took the lock after this one's failed commit is
   * never overwritten by an older price (catalog trial, 2026-12-07). What changePrice does when its
   * transaction failed after its Redis write; a COMMIT whose outcome was unknown is read as it
   * ended. When PostgreSQL cannot be read either, the live prices keep the failed change until the
   * section's next price PATCH (a retry writes them again, also when it changes nothing) or a
   * rebuild; logged as an error naming the section. Never throws.
   */
  private async restorePrices(performanceId: number, sectionName: string, seatIds: number[]): Promise<void> {
    try {
      await this.performances.whileRowShared(performanceId, async (manager) => {
        const price = await this.sections.priceOf(performanceId, sectionName, manager);
        if (price !== null) await this.store.setPrices(performanceId, seatIds, price);
      });
    } catch (error) {
      this.logger.error(
        `performance ${performanceId}, section ${sectionName}: a price change failed after its Redis write and PostgreSQL's price could not be written back (${String(error)}): PATCH the section's price again`,
      );
    }
  }

  /**
   * The performance's static sections (name, grade, price, seat ids) in layout order, kept in this
   * process under catalog version `version`: no round trip once kept, else one read of the catalog
   * cache (or PostgreSQL). Throws NotFoundError('performance').
   */
  async layout(version: string, performanceId: number): Promise<KeptSections> {
    if (this.kept.version !== version) this.kept = { version, sections: new LRUCache({ max: KEPT_PERFORMANCES }) };
    const known = this.kept.sections.get(performanceId);
    if (known) return known;
    const loaded = await this.cache.getOrLoadAt(version, `performance:${performanceId}:sections`, () =>
      this.sections.sectionsOf(performanceId),
    );
    if (!loaded) throw new NotFoundError('performance');
    if (this.kept.version === version) this.kept.sections.set(performanceId, loaded);
    return loaded;
  }
}
