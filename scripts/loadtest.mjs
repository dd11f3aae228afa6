#!/usr/bin/env node
// `npm run loadtest -- --users U --seats S --duration D`: the on-sale of one fresh performance
// under Locust, then a check that it came out right. Prepares the performance and U buyers with
// their tokens, starts api + batch + mailer (and an SMTP catcher) when nothing answers at
// --target, runs Locust headless for D seconds writing CSV and HTML under loadtest/results/,
// waits for the write-behind flush and the e-mails, checks the outcome, prints a summary and
// exits non-zero if any check fails.
// `--max-duration M` keeps Locust on past D seconds until the first purchase is answered, M seconds
// at the most: on a loaded machine the buyers may not have bought anything in D seconds, and a run
// that sold nothing checks nothing (the test suite's runs use it).
// `--queue [--admit-per-second R]` runs the on-sale behind a waiting room opened at the start
// (admitting R buyers a second, 5 by default): Locust's QueueBuyer joins, polls, and holds and
// buys with its admission token; the check adds that the hold route saw no more new buyers
// than R a second (loadtest/check-outcome.mjs, holdRate).
// A stack it starts runs on a database, Redis key prefix and RabbitMQ namespace of the run's own,
// dropped at the end (scripts/stack.mjs, dropRun) unless `--keep`.
// Its configuration is the apps' (libs/config, from the build, scripts/config.mjs): a bad value stops
// it before anything starts, with the apps' message; --target defaults to this machine's PORT.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { checkOutcome } from '../loadtest/check-outcome.mjs';
import { buildIfStale } from './build-if-stale.mjs';
import { appConfig, childEnv, readConfig } from './config.mjs';
import { dropRun, redisKeys, startApp, stopApps } from './stack.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '200' },
    seats: { type: 'string', default: '2000' },
    duration: { type: 'string', default: '60' },
    'max-duration': { type: 'string' },
    // Default: http://127.0.0.1:PORT, the api's port as the apps read it.
    target: { type: 'string' },
    'spawn-rate': { type: 'string' },
    // Buyers log in before the run; behind Nginx (which rate-limits logins) point this at a replica.
    'prepare-target': { type: 'string' },
    // The stack this script starts runs the built apps, built first when dist is stale
    // (scripts/build-if-stale.mjs); --no-build runs dist as it is (the test suite built it).
    'no-build': { type: 'boolean', default: false },
    queue: { type: 'boolean', default: false },
    'admit-per-second': { type: 'string', default: '5' },
    // Leaves the run's database, keys and queues of a stack it started, for a look afterwards.
    keep: { type: 'boolean', default: false },
    // The Locust command; Debian's python3-locust installs /usr/bin/locust for the system Python.
    locust: { type: 'string', default: 'locust' },
  },
});
const users = Number(values.users);
const seats = Number(values.seats);
const duration = Number(values.duration);
const maxDuration = Number(values['max-duration'] ?? values.duration);
const admitPerSecond = Number(values['admit-per-second']);
if (
  ![users, seats, duration, maxDuration, admitPerSecond].every((n) => Number.isInteger(n) && n > 0) ||
  seats > 100_000 ||
  maxDuration < duration
) {
  console.error(
    'usage: npm run loadtest -- --users U --seats S --duration D [--max-duration M >= D] ' +
      '[--queue [--admit-per-second R]] ' +
      '[--target URL] [--prepare-target URL] [--no-build] [--keep] [--locust COMMAND]',
  );
  process.exit(2);
}
// The stack this script may start runs the built apps, and libs/config comes from the build.
if (!values['no-build']) buildIfStale();
const configured = readConfig().env;
const target = (values.target ?? `http://127.0.0.1:${configured.PORT}`).replace(/\/$/, '');
const prepareTarget = (values['prepare-target'] ?? target).replace(/\/$/, '');
const runId = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = join(root, 'loadtest', 'results', runId);
const outcomeDir = join(resultsDir, 'outcome');
mkdirSync(outcomeDir, { recursive: true });

const started = [];
let smtp;
let mailsReceived = 0;
/**
 * What the stack this script started runs on instead of the environment's database, key prefix and
 * namespace (its own, dropped at the end); empty against a running stack.
 */
let runOverrides = {};

/** The configuration the apps read (libs/config's `loadEnv`, from the build), with the run's overrides. */
const config = () => readConfig(runOverrides).env;

async function api(method, path, body, token) {
  const res = await fetch(`${prepareTarget}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function reachable() {
  try {
    return (await fetch(`${target}/health/ready`)).ok;
  } catch {
    return false;
  }
}

async function startStack() {
  console.log(`nothing answers at ${target}: starting api, batch and mailer`);
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        mailsReceived += 1;
        callback();
      });
    },
  });
  await new Promise((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const name = `bo_loadtest_${Date.now().toString(36)}`;
  const database = new URL(config().DATABASE_URL);
  database.pathname = `/${name}`;
  runOverrides = { DATABASE_URL: database.toString(), REDIS_KEY_PREFIX: `${name}:`, RABBITMQ_NAMESPACE: name };
  const port = new URL(target).port || '80';
  const admin = { email: `loadtest-admin@boxoffice.local`, password: randomBytes(12).toString('hex') };
  const appEnv = childEnv({
    ...runOverrides,
    PORT: port,
    SMTP_URL: `smtp://127.0.0.1:${smtp.server.address().port}`,
    // Every e-mail to the run's own SMTP server, the bulk notices too, whatever `.env` says.
    SMTP_BULK_URL: '',
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    LOG_CONSOLE: 'none',
    // The run signs its buyers up from one address.
    SIGNUP_RATE_LIMIT: '0',
    // Queued buyers poll every second, so they reach the hold route soon after their admission.
    ...(values.queue ? { WAITING_ROOM_POLL_AFTER_SECONDS: '1' } : {}),
  });
  for (const app of ['api', 'batch', 'mailer'])
    started.push(startApp(app, appEnv, { stdio: ['ignore', 'ignore', 'inherit'] }));
  // A loaded machine (CI beside other suites) can take well over 30 s to start three apps; an
  // app that exits ends the wait at once.
  const deadline = Date.now() + 180_000;
  while (!(await reachable())) {
    const exited = started.find((child) => child.exitCode !== null || child.signalCode !== null);
    if (exited) throw new Error(`the stack did not become ready: ${exited.spawnargs.at(-1)} exited`);
    if (Date.now() > deadline) throw new Error('the stack did not become ready in 180 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  return admin;
}

async function stopStack() {
  await stopApps(started);
  if (smtp) await new Promise((resolve) => smtp.close(resolve));
  if (!runOverrides.DATABASE_URL) return;
  const { DATABASE_URL, REDIS_KEY_PREFIX, RABBITMQ_NAMESPACE, REDIS_URL, RABBITMQ_URL } = config();
  if (values.keep) {
    console.log(`kept: database ${DATABASE_URL}, Redis keys ${REDIS_KEY_PREFIX}*, RabbitMQ ${RABBITMQ_NAMESPACE}.*`);
    return;
  }
  // On a Redis Cluster (REDIS_CLUSTER_NODES) the run's keys stay, under its own prefix.
  await dropRun({
    database: new URL(DATABASE_URL).pathname.slice(1),
    keyPrefix: REDIS_KEY_PREFIX,
    namespace: RABBITMQ_NAMESPACE,
    serverUrl: DATABASE_URL,
    redisUrl: REDIS_URL,
    rabbitmqUrl: RABBITMQ_URL,
  });
}

function layout(count) {
  const seatsPerRow = Math.min(50, count);
  const rows = Math.ceil(count / seatsPerRow);
  return [{ name: 'Main', grade: 'R', price: 99000, rows, seatsPerRow }];
}

async function prepare(admin) {
  const { accessToken } = await api('POST', '/api/v1/auth/login', admin);
  const event = await api(
    'POST',
    '/api/v1/events',
    { title: `Load test ${runId}`, venue: 'Loopback Arena' },
    accessToken,
  );
  const performance = await api(
    'POST',
    `/api/v1/events/${event.id}/performances`,
    { startsAt: new Date(Date.now() + 7 * 86_400_000).toISOString(), sections: layout(seats) },
    accessToken,
  );
  process.stdout.write(`preparing ${users} buyers `);
  const tokens = [];
  for (let i = 0; i < users; i += 8) {
    const batch = Array.from({ length: Math.min(8, users - i) }, async (_, j) => {
      const email = `buyer-${runId}-${i + j}@loadtest.local`.toLowerCase();
      const password = 'loadtest-password';
      await api('POST', '/api/v1/auth/signup', { email, password, name: `Buyer ${i + j}` });
      // Signup, not login, is the step with a per-e-mail rate limit: log in once per buyer.
      return (await api('POST', '/api/v1/auth/login', { email, password })).accessToken;
    });
    tokens.push(...(await Promise.all(batch)));
    process.stdout.write('.');
  }
  process.stdout.write('\n');
  const queue = values.queue
    ? await api(
        'PUT',
        `/api/v1/performances/${performance.id}/queue`,
        {
          opensAt: new Date().toISOString(),
          admitPerSecond,
          maxActive: users,
          admissionTtlSeconds: 60,
          sessionTtlSeconds: 300,
        },
        accessToken,
      )
    : undefined;
  const fixture = {
    eventId: event.id,
    performanceId: performance.id,
    seats: performance.totalSeats,
    tokens,
    ...(queue ? { queue: { admitPerSecond, pollAfterSeconds: queue.pollAfterSeconds } } : {}),
  };
  writeFileSync(join(resultsDir, 'fixture.json'), JSON.stringify(fixture));
  return fixture;
}

function runLocust() {
  const spawnRate = values['spawn-rate'] ?? String(Math.max(1, Math.ceil(users / 5)));
  const args = [
    '-f',
    join(root, 'loadtest', 'locustfile.py'),
    '--headless',
    '--users',
    String(users),
    '--spawn-rate',
    spawnRate,
    '--run-time',
    `${maxDuration}s`,
    '--stop-timeout',
    '5',
    '--host',
    target,
    '--csv',
    join(resultsDir, 'locust'),
    '--html',
    join(resultsDir, 'report.html'),
    '--only-summary',
    '--exit-code-on-error',
    '0',
    values.queue ? 'QueueBuyer' : 'Buyer',
  ];
  const length = maxDuration > duration ? `${duration}-${maxDuration} s (until a purchase)` : `${duration} s`;
  console.log(`locust: ${users} ${values.queue ? 'queued ' : ''}buyers for ${length} against ${target}`);
  const run = spawnSync(values.locust, args, {
    cwd: root,
    stdio: 'inherit',
    env: childEnv({
      LOADTEST_FIXTURE: join(resultsDir, 'fixture.json'),
      LOADTEST_OUTCOME_DIR: outcomeDir,
      // Locust stops by itself after --run-time (the most); before that once both are reached.
      ...(maxDuration > duration ? { LOADTEST_MIN_SECONDS: String(duration), LOADTEST_MIN_PURCHASES: '1' } : {}),
    }),
    timeout: (maxDuration + 60) * 1000,
  });
  if (run.error || run.status !== 0) {
    throw new Error(`locust failed (${run.error?.message ?? `exit ${run.status}`}); is python3-locust installed?`);
  }
}

function readCsv(path) {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const names = header.split(',');
  return lines.map((line) => {
    const cells = line.match(/("([^"]|"")*"|[^,]*)(,|$)/g).map((c) => c.replace(/,$/, '').replace(/^"|"$/g, ''));
    return Object.fromEntries(names.map((n, i) => [n, cells[i]]));
  });
}

function answeredOutcome() {
  const purchases = [];
  const cancels = [];
  const cancelsSent = [];
  const purchasesSent = [];
  const firstHolds = [];
  for (const file of readdirSync(outcomeDir)) {
    for (const line of readFileSync(join(outcomeDir, file), 'utf8').split('\n').filter(Boolean)) {
      const entry = JSON.parse(line);
      if (entry.kind === 'purchase') {
        purchases.push({ id: entry.id, seatIds: entry.seatIds, reservationId: entry.reservationId });
      } else if (entry.kind === 'cancel') cancels.push(entry.id);
      else if (entry.kind === 'cancel-sent') cancelsSent.push(entry.id);
      else if (entry.kind === 'purchase-sent') purchasesSent.push(entry.reservationId);
      else if (entry.kind === 'first-hold') firstHolds.push(entry.at);
    }
  }
  const answered = new Set(cancels);
  const bought = new Set(purchases.map((p) => p.reservationId));
  return {
    purchases,
    cancels,
    firstHolds,
    unansweredCancels: cancelsSent.filter((id) => !answered.has(id)),
    unansweredPurchases: purchasesSent.filter((reservationId) => !bought.has(reservationId)),
  };
}

async function observed(performanceId, answered) {
  const { redisClusterNodes } = appConfig();
  const settings = config();
  const db = new pg.Client({ connectionString: settings.DATABASE_URL });
  await db.connect();
  // REDIS_CLUSTER_NODES as the apps read it: a Cluster client, REDIS_URL ignored.
  const nodes = redisClusterNodes(settings.REDIS_CLUSTER_NODES);
  const redis =
    nodes.length > 0
      ? new Redis.Cluster(nodes, { keyPrefix: settings.REDIS_KEY_PREFIX })
      : new Redis(settings.REDIS_URL, { keyPrefix: settings.REDIS_KEY_PREFIX });
  try {
    // Wait for the write-behind flush (and the e-mails) to catch up with what was answered.
    const until = Date.now() + (settings.PURCHASE_FLUSH_AGE_SECONDS + 60) * 1000;
    let snapshot;
    for (;;) {
      const purchases = await db.query(
        'SELECT id, status, reservation_id, created_at FROM purchases WHERE performance_id = $1',
        [performanceId],
      );
      const deliveries = await db.query(
        // Cancellation notices carry the message id purchaseCanceledMessageId gives (libs/messaging).
        `SELECT d.purchase_id AS "purchaseId",
                CASE WHEN d.message_id LIKE 'purchase-canceled:%' THEN 'cancellation' ELSE 'confirmation' END AS kind
         FROM email_deliveries d
         JOIN purchases p ON p.id = d.purchase_id WHERE p.performance_id = $1`,
        [performanceId],
      );
      snapshot = { purchases: purchases.rows, deliveries: deliveries.rows };
      const canceledWritten = purchases.rows.filter((r) => r.status === 'CANCELED').length >= answered.cancels.length;
      // Every paid purchase confirmed, and every confirmed canceled one sent its notice (a purchase
      // canceled before its confirmation went out gets no e-mail at all).
      const sent = (kind) => new Set(deliveries.rows.filter((d) => d.kind === kind).map((d) => d.purchaseId));
      const [confirmed, noticed] = [sent('confirmation'), sent('cancellation')];
      const mailsDone = purchases.rows.every((r) =>
        r.status === 'CANCELED' ? !confirmed.has(r.id) || noticed.has(r.id) : confirmed.has(r.id),
      );
      if ((purchases.rowCount >= answered.purchases.length && canceledWritten && mailsDone) || Date.now() > until) {
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    // Every e-mail the run's mailer recorded, the signups' address confirmations included: what
    // the run's own SMTP server must have received (the run has its database to itself).
    const recorded = await db.query('SELECT count(*)::int AS count FROM email_deliveries');
    const tickets = await db.query(
      `SELECT seat_id AS "seatId", purchase_id AS "purchaseId" FROM tickets
       WHERE performance_id = $1 AND status = 'ACTIVE'`,
      [performanceId],
    );
    const counts = await redis.hgetall(redisKeys().performanceKeys(performanceId).counts);
    // Seats sold over time, cancellations aside: when the sale reached 95 % and 100 % of the house.
    const sales = await db.query(
      `SELECT p.created_at AS at, count(*)::int AS seats FROM purchases p JOIN tickets t ON t.purchase_id = p.id
       WHERE p.performance_id = $1 GROUP BY p.id ORDER BY p.created_at`,
      [performanceId],
    );
    const total = Number(counts.total);
    const reached = (share) => {
      let sold = 0;
      for (const row of sales.rows) {
        sold += row.seats;
        if (sold >= share * total) return row.at.getTime();
      }
      return undefined;
    };
    return {
      salesMilestones: { p95: reached(0.95), p100: reached(1) },
      dbPurchases: snapshot.purchases.map((r) => ({ id: r.id, status: r.status, reservationId: r.reservation_id })),
      emailDeliveries: snapshot.deliveries,
      emailsRecorded: recorded.rows[0].count,
      dbActiveTickets: tickets.rows,
      redisCounts: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Number(v)])),
    };
  } finally {
    redis.disconnect();
    await db.end();
  }
}

function serverErrorsFrom(failures) {
  const fromFailures = failures
    .filter((f) => /\b5\d\d\b/.test(f.Error ?? ''))
    .reduce((sum, f) => sum + Number(f.Occurrences ?? 0), 0);
  return fromFailures;
}

function summarize(stats, checks, sellOut) {
  const rows = stats.filter((s) => s.Name !== 'Aggregated');
  const table = [
    ['endpoint', 'requests', 'failures', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms'],
    ...rows.map((s) => [
      `${s.Type} ${s.Name}`,
      s['Request Count'],
      s['Failure Count'],
      Number(s['Requests/s']).toFixed(1),
      s['50%'],
      s['95%'],
      s['99%'],
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => String(r[i]).length)));
  console.log('\n' + table.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ')).join('\n'));
  console.log('');
  for (const [milestone, when] of Object.entries(sellOut)) console.log(`${milestone}: ${when}`);
  console.log('\nchecks:');
  for (const check of checks) console.log(`  ${check.ok ? 'PASS' : 'FAIL'}  ${check.name}: ${check.detail}`);
  console.log(`\nreport: ${join(resultsDir, 'report.html')}`);
}

let exitCode = 1;
try {
  const admin = (await reachable())
    ? { email: configured.ADMIN_EMAIL, password: configured.ADMIN_PASSWORD }
    : await startStack();
  if (!admin.email || !admin.password) {
    throw new Error('the running stack needs admin credentials: set ADMIN_EMAIL and ADMIN_PASSWORD');
  }
  const fixture = await prepare(admin);
  const startedAt = Date.now();
  runLocust();
  const answered = answeredOutcome();
  const stats = readCsv(join(resultsDir, 'locust_stats.csv'));
  const failures = readCsv(join(resultsDir, 'locust_failures.csv'));
  const seen = await observed(fixture.performanceId, answered);
  const { salesMilestones, emailsRecorded, ...observations } = seen;
  const checks = checkOutcome({
    answeredPurchases: answered.purchases,
    answeredCancels: answered.cancels,
    unansweredCancels: answered.unansweredCancels,
    unansweredPurchases: answered.unansweredPurchases,
    ...observations,
    serverErrors: serverErrorsFrom(failures),
    ...(fixture.queue ? { queue: { ...fixture.queue, firstHolds: answered.firstHolds } } : {}),
  });
  if (smtp) {
    const ok = mailsReceived === emailsRecorded;
    checks.push({
      name: 'the SMTP server received each recorded e-mail once',
      ok,
      detail: `${mailsReceived} received, ${emailsRecorded} recorded (${seen.emailDeliveries.length} of the performance's purchases)`,
    });
  }
  const after = (at) =>
    at === undefined ? 'not reached' : `${((at - startedAt) / 1000).toFixed(1)} s after the start`;
  const sellOut = {
    '95 % of the seats sold': after(salesMilestones.p95),
    'every seat sold once': after(salesMilestones.p100),
  };
  summarize(stats, checks, sellOut);
  writeFileSync(
    join(resultsDir, 'summary.json'),
    JSON.stringify(
      { users, seats, duration, queue: fixture.queue, checks, counts: seen.redisCounts, sellOut },
      null,
      2,
    ),
  );
  exitCode = checks.every((c) => c.ok) ? 0 : 1;
} catch (error) {
  console.error(`loadtest: ${error instanceof Error ? error.message : error}`);
} finally {
  await stopStack();
}
process.exit(exitCode);
