// What bench/run.mjs and bench/compare.mjs share to load the hot POST routes the way the bench
// does: buyers with tokens (signed up and logged in through the public API), fresh performances,
// fresh seats for every hold, and autocannon's requests for seat-id holds, best-available holds
// and purchases (the same paths, headers and bodies in both scripts).

/**
 * Live seats one buyer may hold per performance (MAX_SEATS_PER_RESERVATION, its default): hold
 * and purchase runs spread over performances of buyers × HOLD_LIMIT seats, each buyer holding
 * HOLD_LIMIT seats of each.
 */
export const HOLD_LIMIT = 4;
/**
 * The api's MAX_SEATS_PER_RESERVATION in the best-available runs: 20 (the most it takes), so that
 * each buyer may make BEST_LIMIT / 2 best-available holds of 2 seats on each 80,000-seat
 * performance; the other runs keep each buyer within HOLD_LIMIT seats of a performance, so the
 * larger limit changes nothing there.
 */
export const BEST_LIMIT = 20;
const BUYER_PASSWORD = 'bench-buyer-password';
/** Access tokens live 10 minutes: the buyers' are refreshed through the API before a phase once older than this (ms). */
const TOKEN_REFRESH_AFTER_MS = 4 * 60_000;

/** Shuffles `list` in place (Fisher–Yates). */
export function shuffle(list) {
  for (let i = list.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
}

/** The best-available bench's venue: 8 sections (2 VIP, 6 R) of `rows` rows × 100 seats (prices in minor units). */
export function bestAvailableSections(rows) {
  return Array.from({ length: 8 }, (_, i) => ({
    name: `S${i + 1}`,
    grade: i < 2 ? 'VIP' : 'R',
    price: i < 2 ? 220000 : 150000,
    rows,
    seatsPerRow: 100,
  }));
}

/**
 * autocannon's request for best-available holds of 2 seats: the i-th goes to performance
 * i mod n of `performanceIds`, buyers in turn on each (each buyer within BEST_LIMIT seats of a
 * performance for the first buyers.length × BEST_LIMIT / 2 holds of each).
 */
export function bestAvailableHolds(buyers, performanceIds) {
  let next = 0;
  return {
    method: 'POST',
    setupRequest: (req) => {
      const i = next++;
      const buyer = buyers[Math.floor(i / performanceIds.length) % buyers.length];
      return {
        ...req,
        path: '/api/v1/reservations',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${buyer.token}` },
        body: JSON.stringify({ performanceId: performanceIds[i % performanceIds.length], quantity: 2 }),
      };
    },
  };
}

/**
 * autocannon's request for seat-id holds, one a request along `plan` (from holdPlan), each seat
 * asked for once while the plan lasts (past its end every hold would be a 409).
 */
export function seatHolds(plan) {
  let next = 0;
  return {
    method: 'POST',
    setupRequest: (req) => {
      const { performanceId, seatId, buyer } = plan[next++ % plan.length];
      return {
        ...req,
        path: '/api/v1/reservations',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${buyer.token}` },
        body: JSON.stringify({ performanceId, seatIds: [seatId] }),
      };
    },
  };
}

/**
 * autocannon's request for purchases, one a request along `holds` (`{ buyer, holdId }`, from
 * `holdAll`): each buys its own live hold as the buyer who made it. No `Idempotency-Key` (as a
 * client that does not retry).
 */
export function purchases(holds) {
  let next = 0;
  return {
    method: 'POST',
    setupRequest: (req) => {
      const hold = holds[next++ % holds.length];
      return {
        ...req,
        path: '/api/v1/purchases',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${hold.buyer.token}` },
        body: JSON.stringify({ reservationId: hold.holdId }),
      };
    },
  };
}

/**
 * The bench's client of one api: `target.base` (e.g. `http://127.0.0.1:3900`) is read on every
 * call, so a script may point it at another api between phases; `admin` is the api's ADMIN_EMAIL
 * and ADMIN_PASSWORD. Every method throws on a non-2xx answer.
 * @param {{ base: string }} target
 * @param {{ email: string, password: string }} admin
 */
export function benchApi(target, admin) {
  // The admin's session (see adminToken).
  const session = { token: '', at: 0, login: undefined };

  /** One JSON request; its parsed answer (undefined when empty). */
  async function request(method, path, body, token) {
    const send = () =>
      fetch(`${target.base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    // A kept-alive socket the api closed while it sat idle (after a load phase) fails before any
    // answer: sent again once, on a new socket. Set-up requests only, on the bench's own database.
    const res = await send().catch((error) => {
      if (error?.cause?.code !== 'UND_ERR_SOCKET') throw error;
      return send();
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  /**
   * The admin's access token, logged in again through the API once older than TOKEN_REFRESH_AFTER_MS.
   * Callers that find it stale at once share one login: eight parallel logins trip the api's login
   * throttle (429).
   */
  async function adminToken() {
    if (Date.now() - session.at > TOKEN_REFRESH_AFTER_MS) {
      session.login ??= request('POST', '/api/v1/auth/login', { email: admin.email, password: admin.password })
        .then((answer) => Object.assign(session, { token: answer.accessToken, at: Date.now() }))
        .finally(() => (session.login = undefined));
      await session.login;
    }
    return session.token;
  }

  /**
   * Signs up and logs in `count` buyers through the public API, 32 at a time (each costs the api
   * two argon2 hashes, outside every measured window; the api needs SIGNUP_RATE_LIMIT=0). Each
   * buyer: `{ email, token, refreshToken, at }`; `tag` keeps the e-mails of several sets apart.
   */
  async function signUpBuyers(count, tag = '') {
    const started = Date.now();
    const buyers = [];
    process.stdout.write(`\nsigning up and logging in ${count} buyers `);
    for (let i = 0; i < count; i += 32) {
      const slice = Array.from({ length: Math.min(32, count - i) }, async (_, j) => {
        const email = `bench-buyer-${tag}${i + j}@bench.local`;
        await request('POST', '/api/v1/auth/signup', { email, password: BUYER_PASSWORD, name: `Bench buyer ${i + j}` });
        const answer = await request('POST', '/api/v1/auth/login', { email, password: BUYER_PASSWORD });
        return { email, token: answer.accessToken, refreshToken: answer.refreshToken, at: Date.now() };
      });
      buyers.push(...(await Promise.all(slice)));
      process.stdout.write('.');
    }
    console.log(` ${Date.now() - started} ms`);
    return buyers;
  }

  /** Refreshes (POST /auth/refresh) the tokens of the buyers whose access token is older than TOKEN_REFRESH_AFTER_MS. */
  async function freshTokens(buyers) {
    const stale = buyers.filter((buyer) => Date.now() - buyer.at > TOKEN_REFRESH_AFTER_MS);
    for (let i = 0; i < stale.length; i += 32) {
      await Promise.all(
        stale.slice(i, i + 32).map(async (buyer) => {
          const answer = await request('POST', '/api/v1/auth/refresh', { refreshToken: buyer.refreshToken });
          Object.assign(buyer, { token: answer.accessToken, refreshToken: answer.refreshToken, at: Date.now() });
        }),
      );
    }
  }

  /** Creates `count` performances of one event with `sections`, 8 at a time; their ids. */
  async function createPerformances(title, count, sections) {
    const event = await request('POST', '/api/v1/events', { title, venue: 'Bench' }, await adminToken());
    const ids = [];
    for (let i = 0; i < count; i += 8) {
      const slice = Array.from({ length: Math.min(8, count - i) }, async () => {
        const performance = await request(
          'POST',
          `/api/v1/events/${event.id}/performances`,
          { startsAt: new Date(Date.now() + 2 * 86_400_000).toISOString(), sections },
          await adminToken(),
        );
        return performance.id;
      });
      ids.push(...(await Promise.all(slice)));
    }
    return ids;
  }

  /** Every seat id of a performance, in the seat list's order. */
  async function allSeatIds(performanceId) {
    const ids = [];
    let cursor = null;
    do {
      const page = await request(
        'GET',
        `/api/v1/performances/${performanceId}/seats?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      ids.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor);
    return ids;
  }

  /**
   * `count` holds of one seat each, as `{ performanceId, seatId, buyer }`, in the order to send
   * them: buyers may hold HOLD_LIMIT live seats of a performance, so the seats are spread over
   * performances of `buyers.length × HOLD_LIMIT` seats, each buyer getting HOLD_LIMIT random seats
   * of each; no seat appears twice.
   */
  async function holdPlan(title, count, buyers) {
    const perPerformance = buyers.length * HOLD_LIMIT;
    const performanceIds = await createPerformances(title, Math.ceil(count / perPerformance), [
      { name: 'Hall', grade: 'R', price: 50000, rows: buyers.length, seatsPerRow: HOLD_LIMIT },
    ]);
    const plan = [];
    for (let i = 0; i < performanceIds.length; i += 8) {
      const group = performanceIds.slice(i, i + 8);
      const seatIdsOf = await Promise.all(group.map((performanceId) => allSeatIds(performanceId)));
      group.forEach((performanceId, g) => {
        const seatIds = seatIdsOf[g];
        shuffle(seatIds);
        seatIds.forEach((seatId, k) => plan.push({ performanceId, seatId, buyer: buyers[k % buyers.length] }));
      });
    }
    return plan.slice(0, count);
  }

  /**
   * Holds every seat of `plan` (from holdPlan) through the API, 200 at a time, as its buyer; the
   * holds as `{ buyer, holdId }`, in the plan's order, for `purchases`.
   */
  async function holdAll(plan, buyers) {
    const holds = [];
    for (let i = 0; i < plan.length; i += 200) {
      await freshTokens(buyers);
      const slice = plan.slice(i, i + 200).map(async ({ performanceId, seatId, buyer }) => {
        const hold = await request('POST', '/api/v1/reservations', { performanceId, seatIds: [seatId] }, buyer.token);
        return { buyer, holdId: hold.id };
      });
      holds.push(...(await Promise.all(slice)));
      process.stdout.write('.');
    }
    return holds;
  }

  return { request, adminToken, signUpBuyers, freshTokens, createPerformances, allSeatIds, holdPlan, holdAll };
}
