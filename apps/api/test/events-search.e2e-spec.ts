import fc from 'fast-check';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '@app/auth';
import { ApiHarness, createSession, TestSession } from '@app/testing';
import { caller } from './purchase-helpers';
import { ERROR_KEYS } from './support/http';
import { startTestApi } from './support/api';

const DAY = 24 * 3600_000;
const SECTIONS = [{ name: 'Floor', grade: 'A', price: 50, rows: 1, seatsPerRow: 2 }];

interface Listed {
  id: number;
  title: string;
  firstStartsAt: string | null;
  lastStartsAt: string | null;
  performanceCount: number;
}

/**
 * `GET /events?from=&to=&q=` on real PostgreSQL (pg_trgm, full-text GIN indexes) and Redis: upcoming
 * by default, date ranges, text search in Korean and English with partial words and typos, keyset
 * pages in first-date order, the dates on `GET /events/:id`, and 400 for every kind of bad parameter.
 */
describe('finding events by date and text (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  let admin: TestSession;
  let call: ReturnType<typeof caller>;
  const now = Date.now();
  const at = (days: number) => new Date(now + days * DAY).toISOString();
  const ids: Record<string, number> = {};

  async function event(key: string, title: string, venue: string, days: number[]): Promise<void> {
    const created = await call('POST', '/events', { body: { title, venue }, session: admin });
    expect(created.statusCode, created.body).toBe(201);
    ids[key] = created.json().id;
    for (const offset of days) {
      const performance = await call('POST', `/events/${ids[key]}/performances`, {
        // Some start within a day or are past: their default cancel limit would be past (a 400), so none.
        body: { startsAt: at(offset), salesOpenAt: at(-30), cancelUntil: null, sections: SECTIONS },
        session: admin,
      });
      expect(performance.statusCode, performance.body).toBe(201);
    }
  }

  const list = async (query: string): Promise<{ items: Listed[]; nextCursor: string | null }> => {
    const res = await call('GET', `/events?${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const titlesOf = async (query: string) => (await list(query)).items.map((item) => item.title);
  const q = (text: string) => `q=${encodeURIComponent(text)}`;
  const range = (from?: string, to?: string) =>
    [from && `from=${encodeURIComponent(from)}`, to && `to=${encodeURIComponent(to)}`].filter(Boolean).join('&');

  beforeAll(async () => {
    api = await startTestApi();
    admin = await createSession(api.app, { role: Role.Admin });
    call = caller(api.app);
    await event('iu', '아이유 2027 월드투어 — 서울', '서울 올림픽 주경기장', [3, 2]);
    await event('mahler', 'Seoul Philharmonic: Mahler 5', 'Seoul Arts Center', [-2, 10]);
    await event('old', 'Old Show', 'Hall', [-5]);
    await event('empty', 'Announced', 'Somewhere', []);
    await event('jazz', 'Jazz Night', 'Blue Note', [1]);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('lists upcoming events by default, by first performance then id, each with its dates', async () => {
    const page = await list('');
    expect(page.items.map((item) => item.id)).toEqual([ids.mahler, ids.jazz, ids.iu]);
    expect(page.nextCursor).toBeNull();
    const iu = page.items[2];
    expect(iu).toMatchObject({
      title: '아이유 2027 월드투어 — 서울',
      firstStartsAt: at(2),
      lastStartsAt: at(3),
      performanceCount: 2,
      currency: 'KRW',
    });
    expect(page.items[0]).toMatchObject({ firstStartsAt: at(-2), lastStartsAt: at(10), performanceCount: 2 });
  });

  it('selects events with a performance in [from, to], both ends included', async () => {
    expect(await titlesOf(range(at(2.5), at(4)))).toEqual(['아이유 2027 월드투어 — 서울']);
    expect(await titlesOf(range(at(-6), at(-4)))).toEqual(['Old Show']);
    // Ends are inclusive: a range of one instant finds the performance starting then.
    expect(await titlesOf(range(at(1), at(1)))).toEqual(['Jazz Night']);
    // Only `to`: from now on.
    expect(await titlesOf(range(undefined, at(1.5)))).toEqual(['Jazz Night']);
    // A range over the past and the future finds what plays in it, the past-only show too.
    expect(await titlesOf(range(at(-10)))).toEqual([
      'Old Show',
      'Seoul Philharmonic: Mahler 5',
      'Jazz Night',
      '아이유 2027 월드투어 — 서울',
    ]);
    // Offsets other than Z name the same instants.
    const plusNine = new Date(now + 2.5 * DAY + 9 * 3600_000).toISOString().replace('Z', '+09:00');
    expect(await titlesOf(range(plusNine, at(4)))).toEqual(['아이유 2027 월드투어 — 서울']);
    expect(await titlesOf(range(at(20), at(30)))).toEqual([]);
  });

  it.each([
    ['아이유', 'a whole Korean word'],
    ['아이', 'the start of a Korean word'],
    ['아이우', 'a Korean word with a wrong syllable'],
    ['월드투어 서울', 'Korean words in another order'],
    ['주경기장', 'a word of the venue'],
  ])('finds the Korean title by %s (%s)', async (text) => {
    expect(await titlesOf(q(text))).toEqual(['아이유 2027 월드투어 — 서울']);
  });

  it.each([
    ['mahler', 'a word in another case'],
    ['Philharmonc', 'a misspelt word'],
    ['arts center', 'the venue'],
    ['harmon', 'part of a word'],
  ])('finds the English title by %s (%s)', async (text) => {
    expect(await titlesOf(q(text))).toEqual(['Seoul Philharmonic: Mahler 5']);
  });

  it('combines text with dates, matches both titles for a word they share, and nothing for wildcards', async () => {
    expect(await titlesOf(q('서울'))).toEqual(['아이유 2027 월드투어 — 서울']);
    expect(await titlesOf(q('seoul'))).toEqual(['Seoul Philharmonic: Mahler 5']);
    expect(await titlesOf(`${q('Seoul')}&${range(at(2.5), at(4))}`)).toEqual([]);
    // The past-only show is found by text only with a range that covers it.
    expect(await titlesOf(q('old show'))).toEqual([]);
    expect(await titlesOf(`${q('old show')}&${range(at(-30))}`)).toEqual(['Old Show']);
    // LIKE wildcards are literal; blank text is no filter.
    expect(await titlesOf(q('%'))).toEqual([]);
    expect(await titlesOf(q('_'))).toEqual([]);
    expect(await titlesOf(q('   '))).toHaveLength(3);
    expect(await titlesOf(q('zzzzqqq'))).toEqual([]);
  });

  it.each([
    ['bjork', 'without the accent'],
    ['BJORK', 'in capitals without the accent'],
    ['björk', 'as written'],
    ['BJÖRK', 'in capitals'],
    ['ＢＪＯＲＫ', 'in full-width letters (NFKC)'],
  ])('finds "Björk — Live ✨" by %s (%s)', async (text) => {
    await event('bjork', 'Björk — Live ✨', 'Harpa', [12]);
    try {
      expect(await titlesOf(q(text))).toEqual(['Björk — Live ✨']);
    } finally {
      await call('DELETE', `/events/${ids.bjork}`, { session: admin });
    }
  });

  it('finds generated titles searched without their diacritics and in another case', async () => {
    const letters = [...'aeiounczsy', ...'áéíóúàèìòùäëïöüâêîôûãõñçčšžýåøæœłß'];
    const word = fc.string({ unit: fc.constantFrom(...letters), minLength: 3, maxLength: 9 });
    // What a buyer without those keys types: accents dropped (ø, ł, æ, œ, ß as their base letters).
    const plain = (text: string) =>
      text
        .normalize('NFD')
        .replace(/\p{Mn}/gu, '')
        .replace(/ø/g, 'o')
        .replace(/ł/g, 'l')
        .replace(/æ/g, 'ae')
        .replace(/œ/g, 'oe')
        .replace(/ß/g, 'ss');
    await fc.assert(
      fc.asyncProperty(fc.array(word, { minLength: 1, maxLength: 3 }), fc.boolean(), async (words, upper) => {
        const title = words.map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
        await event('generated', title, 'Venue', [15]);
        try {
          const typed = upper ? plain(title).toUpperCase() : plain(title).toLowerCase();
          const found = (await list(`limit=100&${q(typed)}`)).items.map((item) => item.id);
          expect(found, `${title} by ${typed}`).toContain(ids.generated);
        } finally {
          await call('DELETE', `/events/${ids.generated}`, { session: admin });
        }
      }),
      { numRuns: 25 },
    );
  });

  it('walks keyset pages without repeats or gaps, in the order of the whole list', async () => {
    const whole = (await list(`limit=100&${range(at(-30))}`)).items.map((item) => item.id);
    const walked: number[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 10; guard += 1) {
      const page = await list(`limit=1&${range(at(-30))}${cursor ? `&cursor=${cursor}` : ''}`);
      walked.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(walked).toEqual(whole);
    expect(whole).toHaveLength(4);
  });

  it('shows the dates on GET /events/:id, fresh after a performance is added', async () => {
    const empty = await call('GET', `/events/${ids.empty}`);
    expect(empty.statusCode).toBe(200);
    expect(empty.json()).toMatchObject({
      title: 'Announced',
      firstStartsAt: null,
      lastStartsAt: null,
      performanceCount: 0,
    });
    expect((await list(q('announced'))).items).toEqual([]);
    const added = await call('POST', `/events/${ids.empty}/performances`, {
      body: { startsAt: at(40), salesOpenAt: at(-1), sections: SECTIONS },
      session: admin,
    });
    expect(added.statusCode, added.body).toBe(201);
    expect((await call('GET', `/events/${ids.empty}`)).json()).toMatchObject({
      firstStartsAt: at(40),
      lastStartsAt: at(40),
      performanceCount: 1,
    });
    expect(await titlesOf(q('announced'))).toEqual(['Announced']);
  });

  it('leaves canceled performances out: not counted nor dated, and an event with no other is not listed as upcoming', async () => {
    await event('tour', 'Zephyrine Tour', 'Arena', [4, 5, 6]);
    await event('gig', 'Zephyrine Gig', 'Club', [7]);
    const performanceAt = async (key: string, days: number): Promise<number> => {
      const listed = await call('GET', `/events/${ids[key]}/performances`);
      expect(listed.statusCode, listed.body).toBe(200);
      return (listed.json().items as { id: number; startsAt: string }[]).find((p) => p.startsAt === at(days))!.id;
    };
    for (const performanceId of [await performanceAt('tour', 4), await performanceAt('gig', 7)]) {
      const canceled = await call('POST', `/admin/performances/${performanceId}/cancel`, { session: admin });
      expect(canceled.statusCode, canceled.body).toBe(202);
    }

    const found = await list(q('zephyrine'));
    expect(found.items).toEqual([
      expect.objectContaining({ id: ids.tour, firstStartsAt: at(5), lastStartsAt: at(6), performanceCount: 2 }),
    ]);
    expect(await titlesOf(range(at(3.5), at(4.5)))).not.toContain('Zephyrine Tour');
    expect((await call('GET', `/events/${ids.tour}`)).json()).toMatchObject({
      firstStartsAt: at(5),
      lastStartsAt: at(6),
      performanceCount: 2,
    });
    expect((await call('GET', `/events/${ids.gig}`)).json()).toMatchObject({
      firstStartsAt: null,
      lastStartsAt: null,
      performanceCount: 0,
    });
    // Still listed by the event's performances, each with its salesState.
    const gigShows = await call('GET', `/events/${ids.gig}/performances`);
    expect(gigShows.json().items).toEqual([expect.objectContaining({ salesState: 'CANCELED' })]);
  });

  it('lets PostgreSQL use the GIN indexes for every kind of text match', async () => {
    const db = new Client({ connectionString: api.env.DATABASE_URL });
    await db.connect();
    try {
      await db.query('SET enable_seqscan = off');
      const plan = (
        await db.query(
          `EXPLAIN SELECT id FROM events e
            WHERE to_tsvector('simple', search_fold(e.title || ' ' || e.venue)) @@ plainto_tsquery('simple', $1)
               OR search_fold(e.title || ' ' || e.venue) LIKE $2
               OR $1 <% search_fold(e.title || ' ' || e.venue)`,
          ['아이유', '%아이유%'],
        )
      ).rows
        .map((row: { 'QUERY PLAN': string }) => row['QUERY PLAN'])
        .join('\n');
      expect(plan).toContain('events_search_fts');
      expect(plan).toContain('events_search_trgm');
    } finally {
      await db.end();
    }
  });

  describe('bad parameters', () => {
    const expectUniform400 = async (url: string) => {
      const res = await call('GET', url);
      expect(res.statusCode, `${url} -> ${res.body}`).toBe(400);
      expect(Object.keys(res.json()).sort(), url).toEqual(ERROR_KEYS);
    };

    it.each([
      `/events?${range(at(2), at(1))}`,
      '/events?from=2027-03-01T00:00:00',
      '/events?from=2027-02-30T00:00:00Z',
      '/events?to=tomorrow',
      '/events?from=2027-03-01T00:00:00+09:00',
      `/events?${q('가'.repeat(101))}`,
      '/events?q=a&q=b',
      '/events?from=2027-03-01T00:00:00Z&from=2027-03-02T00:00:00Z',
      `/events?cursor=${Buffer.from('{"s":"x","i":1}').toString('base64url')}`,
      `/events?cursor=${Buffer.from('{"i":1}').toString('base64url')}`,
    ])('GET %s answers 400 with the uniform body', expectUniform400);

    it('tells a raw + in a time parameter (read as a space) to be sent as %2B, in every time parameter', async () => {
      for (const name of ['from', 'to']) {
        for (const [sent, fixed] of [
          ['2027-03-01T00:00:00+09:00', '2027-03-01T00:00:00%2B09:00'],
          ['2027-03-01T00:00:00.250+05:30', '2027-03-01T00:00:00.250%2B05:30'],
        ]) {
          const res = await call('GET', `/events?${name}=${sent}`);
          expect(res.statusCode, res.body).toBe(400);
          expect(res.json().message).toEqual([
            `${name} has a space where its offset's sign should be: a + in a query string reads as a space, so send it as %2B (${name}=${fixed})`,
          ]);
        }
        // Not a date-time with a + either: the format, as before.
        const other = await call('GET', `/events?${name}=2027-03-01 09:00`);
        expect(other.json().message, other.body).toEqual([
          expect.stringMatching(new RegExp(`^${name} must be an RFC 3339`)),
        ]);
        const sent = await call('GET', `/events?${name}=2027-03-01T00:00:00%2B09:00`);
        expect(sent.statusCode, sent.body).toBe(200);
      }
    });

    it('answers 400 with the uniform body to generated bad dates, reversed ranges and long texts', async () => {
      const instant = fc.date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      });
      const reversed = fc
        .tuple(instant, fc.integer({ min: 1, max: 10 * 365 * DAY }))
        .map(([to, gap]) => range(new Date(to.getTime() + gap).toISOString(), to.toISOString()));
      const badDate = fc
        .oneof(
          fc.string({ maxLength: 40 }).filter((text) => text.trim() !== '' && Number.isNaN(Date.parse(text))),
          instant.map((date) => date.toISOString().replace('Z', '')),
          instant.map((date) => date.toISOString().slice(0, 10)),
          instant.map((date) => date.toISOString().replace('T', ' ')),
        )
        .chain((text) => fc.constantFrom(`from=${encodeURIComponent(text)}`, `to=${encodeURIComponent(text)}`));
      const longText = fc
        .string({ unit: fc.constantFrom('가', '아', 'a', 'Z', '9', '-', '한'), minLength: 101, maxLength: 300 })
        .map((text) => q(text));
      await fc.assert(
        fc.asyncProperty(fc.oneof(reversed, badDate, longText), (query) => expectUniform400(`/events?${query}`)),
        { numRuns: 60 },
      );
    });
  });
});
