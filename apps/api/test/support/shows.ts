import { expect } from 'vitest';
import { TestSession } from '@app/testing';
import { doorsOpenNow } from '../purchase-helpers';
import { Caller } from './api';

/** A section as `POST /events/:id/performances` takes it (price in minor units). */
export interface SectionInput {
  name: string;
  grade: string;
  price: number;
  rows: number;
  seatsPerRow: number;
  /** What tickets and the seat map call each row, row 1 first (default: "A", "B", …). */
  rowLabels?: string[];
  /** Wheelchair spaces and companion seats, `{row, number}` of the section. */
  accessible?: { row: number; number: number }[];
  companions?: { row: number; number: number }[];
}

/** Performance fields of a show on sale since 2020-01-01T00:00:00Z, starting 2030-01-01T19:00:00Z. */
export const ON_SALE = { startsAt: '2030-01-01T19:00:00Z', salesOpenAt: '2020-01-01T00:00:00Z' } as const;

/**
 * An event (`title`, `currency` or the default one, venue "Hall") with one performance of `sections` (and the other
 * performance fields in `performance`, e.g. `startsAt`, `salesOpenAt`), made through the admin
 * routes; answers the performance id, each section's seat ids in layout order, by section name,
 * and the creation's answer (`created`: the performance as `POST /events/:id/performances` gave it).
 * At most 100 seats (one page of the seat list; more fail the assertion).
 */
export async function createShowOfSections(
  call: Caller,
  admin: TestSession,
  options: { title: string; currency?: string; performance: Record<string, unknown>; sections: SectionInput[] },
): Promise<{ id: number; seats: Record<string, number[]>; created: Record<string, unknown> }> {
  const event = await call('POST', '/events', {
    body: { title: options.title, venue: 'Hall', currency: options.currency },
    session: admin,
  });
  expect(event.statusCode, event.body).toBe(201);
  const created = await call('POST', `/events/${event.json().id}/performances`, {
    body: { ...options.performance, sections: options.sections },
    session: admin,
  });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().id as number;
  const listed = (await call('GET', `/performances/${id}/seats?limit=100`)).json().items as {
    id: number;
    section: string;
  }[];
  // One page of the seat list: a bigger layout would lose seats here unseen.
  const total = options.sections.reduce((sum, section) => sum + section.rows * section.seatsPerRow, 0);
  expect(listed, 'createShowOfSections lists at most 100 seats').toHaveLength(total);
  const seats = Object.fromEntries(
    options.sections.map((section) => [
      section.name,
      listed.filter((seat) => seat.section === section.name).map((seat) => seat.id),
    ]),
  );
  return { id, seats, created: created.json() };
}

/**
 * {@link createShowOfSections} with its doors open now: the performance starts when `doorsOpenNow`
 * says, with its check-in window open (the other performance fields in `options.performance`).
 * Answers as createShowOfSections does, and the start.
 */
export async function createDoorsOpenShow(
  call: Caller,
  admin: TestSession,
  options: { title: string; currency?: string; performance?: Record<string, unknown>; sections: SectionInput[] },
): Promise<{ id: number; seats: Record<string, number[]>; created: Record<string, unknown>; startsAt: Date }> {
  const { startsAt, checkInOpensBeforeMinutes } = doorsOpenNow();
  const show = await createShowOfSections(call, admin, {
    ...options,
    performance: { startsAt: startsAt.toISOString(), checkInOpensBeforeMinutes, ...options.performance },
  });
  return { ...show, startsAt };
}
