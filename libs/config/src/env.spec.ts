import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  corsOrigins,
  EnvApp,
  parseEnv,
  PRODUCTION_METRICS_PORT,
  productionSecretProblem,
  redisClusterNodes,
  retentionMs,
} from './env';

function problemsOf(source: Record<string, string>, app?: EnvApp): string[] {
  try {
    parseEnv(source, app);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('parseEnv', () => {
  it('gives the documented defaults for an empty environment', () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/boxoffice');
    expect(env.RESERVATION_TTL_SECONDS).toBe(300);
    expect(env.CHECK_IN_OPENS_BEFORE_MINUTES).toBe(180);
    expect(env.CHECK_IN_CLOSES_AFTER_MINUTES).toBe(240);
    expect(env.CHECK_IN_UNDO_MINUTES).toBe(10);
    expect(env.PASSWORD_RESET_TTL_MINUTES).toBe(30);
    expect(env.MAX_SEATS_PER_RESERVATION).toBe(4);
    expect(env.PURCHASE_FLUSH_AGE_SECONDS).toBe(5);
    expect(env.LOG_LEVEL).toBe('info');
    expect(env.DEFAULT_CURRENCY).toBe('KRW');
    expect(env.PAYMENT_RECONCILE_AFTER_SECONDS).toBe(60);
    expect(env.MAIL_BULK_PREFETCH).toBe(2);
    expect(env.FAULT_CRASH_AFTER_CHARGE).toBe(false);
    expect(env.JWT_ACCESS_SECRET).toBeTruthy();
  });

  it('listens with a backlog of LISTEN_BACKLOG, 2048 by default, in range only', () => {
    expect(parseEnv({}).LISTEN_BACKLOG).toBe(2048);
    expect(parseEnv({ LISTEN_BACKLOG: '4096' }).LISTEN_BACKLOG).toBe(4096);
    for (const value of ['0', '65536', '1.5', 'big']) {
      const problems = problemsOf({ LISTEN_BACKLOG: value });
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toContain('LISTEN_BACKLOG');
    }
  });

  it('sheds load past 256 requests in flight or 2 s queued by default, not on the event loop; 0 turns each trigger off', () => {
    const env = parseEnv({});
    expect(env.SHED_MAX_IN_FLIGHT).toBe(256);
    expect(env.SHED_MAX_QUEUE_MS).toBe(2000);
    expect(env.SHED_EVENT_LOOP_UTILIZATION_PERCENT).toBe(0);
    const off = parseEnv({ SHED_MAX_IN_FLIGHT: '0', SHED_EVENT_LOOP_UTILIZATION_PERCENT: '95' });
    expect([off.SHED_MAX_IN_FLIGHT, off.SHED_EVENT_LOOP_UTILIZATION_PERCENT]).toEqual([0, 95]);
    for (const [name, value] of [
      ['SHED_MAX_IN_FLIGHT', '-1'],
      ['SHED_MAX_IN_FLIGHT', '100001'],
      ['SHED_MAX_IN_FLIGHT', 'many'],
      ['SHED_MAX_QUEUE_MS', '-1'],
      ['SHED_MAX_QUEUE_MS', '1.5'],
      ['SHED_EVENT_LOOP_UTILIZATION_PERCENT', '100'],
      ['SHED_EVENT_LOOP_UTILIZATION_PERCENT', '0.9'],
    ]) {
      const problems = problemsOf({ [name]: value });
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toContain(name);
    }
  });

  it('leases an Idempotency-Key claim for IDEMPOTENCY_CLAIM_LEASE_MS, 5000 by default, in range only', () => {
    expect(parseEnv({}).IDEMPOTENCY_CLAIM_LEASE_MS).toBe(5000);
    expect(parseEnv({ IDEMPOTENCY_CLAIM_LEASE_MS: '1000' }).IDEMPOTENCY_CLAIM_LEASE_MS).toBe(1000);
    for (const value of ['499', '60001', '1.5', 'soon']) {
      const problems = problemsOf({ IDEMPOTENCY_CLAIM_LEASE_MS: value });
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toContain('IDEMPOTENCY_CLAIM_LEASE_MS');
    }
  });

  it('leases a closure to sales for SALES_CLOSURE_LEASE_MS, 30000 by default, in range only', () => {
    expect(parseEnv({}).SALES_CLOSURE_LEASE_MS).toBe(30_000);
    expect(parseEnv({ SALES_CLOSURE_LEASE_MS: '1000' }).SALES_CLOSURE_LEASE_MS).toBe(1000);
    for (const value of ['499', '600001', '1.5', 'soon']) {
      const problems = problemsOf({ SALES_CLOSURE_LEASE_MS: value });
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toContain('SALES_CLOSURE_LEASE_MS');
    }
  });

  it('bounds the wait for the answer to one statement by DATABASE_QUERY_TIMEOUT_MS, 15000 by default, in range only', () => {
    expect(parseEnv({}).DATABASE_QUERY_TIMEOUT_MS).toBe(15_000);
    expect(parseEnv({ DATABASE_QUERY_TIMEOUT_MS: '2000' }).DATABASE_QUERY_TIMEOUT_MS).toBe(2000);
    for (const value of ['999', '600001', '0', '1.5', 'soon']) {
      const problems = problemsOf({ DATABASE_QUERY_TIMEOUT_MS: value });
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toContain('DATABASE_QUERY_TIMEOUT_MS');
    }
  });

  it('bounds a batch write statement by PURCHASE_BATCH_STATEMENT_TIMEOUT_MS, 30000 by default, in range only', () => {
    expect(parseEnv({}).PURCHASE_BATCH_STATEMENT_TIMEOUT_MS).toBe(30_000);
    expect(parseEnv({ PURCHASE_BATCH_STATEMENT_TIMEOUT_MS: '300' }).PURCHASE_BATCH_STATEMENT_TIMEOUT_MS).toBe(300);
    for (const value of ['99', '600001', '1.5', 'soon']) {
      const problems = problemsOf({ PURCHASE_BATCH_STATEMENT_TIMEOUT_MS: value });
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toContain('PURCHASE_BATCH_STATEMENT_TIMEOUT_MS');
    }
  });

  it('takes PURCHASE_CLAIM_IDLE_SECONDS only at or above the flush statement bound, 40 by default (generated)', () => {
    const defaults = parseEnv({});
    expect(defaults.PURCHASE_CLAIM_IDLE_SECONDS).toBe(40);
    expect(defaults.PURCHASE_CLAIM_IDLE_SECONDS * 1000).toBeGreaterThanOrEqual(
      defaults.PURCHASE_BATCH_STATEMENT_TIMEOUT_MS,
    );
    // The trial's setting (O6): refused, the variable named, the bound given.
    expect(problemsOf({ PURCHASE_CLAIM_IDLE_SECONDS: '1' })).toEqual([
      'PURCHASE_CLAIM_IDLE_SECONDS must be at least 30 (PURCHASE_BATCH_STATEMENT_TIMEOUT_MS=30000 in seconds, rounded up), ' +
        'or a batch write still running is taken over by another batch and written twice (got 1)',
    ]);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3600 }),
        // Often near the bound: a whole number of seconds, one ms either side.
        fc.oneof(
          fc.integer({ min: 100, max: 600_000 }),
          fc.integer({ min: 1, max: 599 }).chain((s) => fc.constantFrom(s * 1000 - 1, s * 1000, s * 1000 + 1)),
        ),
        (idleSeconds, statementMs) => {
          const source = {
            PURCHASE_CLAIM_IDLE_SECONDS: String(idleSeconds),
            PURCHASE_BATCH_STATEMENT_TIMEOUT_MS: String(statementMs),
          };
          const problems = problemsOf(source);
          if (idleSeconds * 1000 >= statementMs) {
            expect(problems).toEqual([]);
            expect(parseEnv(source).PURCHASE_CLAIM_IDLE_SECONDS).toBe(idleSeconds);
          } else {
            expect(problems).toEqual([
              `PURCHASE_CLAIM_IDLE_SECONDS must be at least ${Math.ceil(statementMs / 1000)} ` +
                `(PURCHASE_BATCH_STATEMENT_TIMEOUT_MS=${statementMs} in seconds, rounded up), or a batch write ` +
                `still running is taken over by another batch and written twice (got ${idleSeconds})`,
            ]);
            // The bound given is one that is taken.
            expect(
              problemsOf({ ...source, PURCHASE_CLAIM_IDLE_SECONDS: String(Math.ceil(statementMs / 1000)) }),
            ).toEqual([]);
          }
        },
      ),
    );
  });

  it('bounds a reconciler gateway call by PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS, 10000 by default, in range only', () => {
    expect(parseEnv({}).PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS).toBe(10_000);
    expect(parseEnv({ PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS: '2000' }).PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS).toBe(2000);
    for (const value of ['99', '120001', '1.5', 'soon']) {
      const problems = problemsOf({ PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS: value });
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toContain('PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS');
    }
  });

  it('looks a charge found missing up once more PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS later, 1200 by default, in range only', () => {
    expect(parseEnv({}).PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS).toBe(1200);
    expect(parseEnv({ PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS: '5' }).PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS).toBe(5);
    for (const value of ['0', '86401', '1.5', 'later']) {
      const problems = problemsOf({ PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS: value });
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toContain('PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS');
    }
  });

  it('binds the approving payment gateway by default, the sandbox when asked, and refuses the sandbox in production', () => {
    expect(parseEnv({}).PAYMENT_GATEWAY).toBe('approve');
    expect(parseEnv({ PAYMENT_GATEWAY: 'approve' }).PAYMENT_GATEWAY).toBe('approve');
    for (const NODE_ENV of ['development', 'test']) {
      expect(parseEnv({ NODE_ENV, PAYMENT_GATEWAY: 'sandbox' }).PAYMENT_GATEWAY).toBe('sandbox');
    }
    for (const value of ['stripe', 'Sandbox', ' sandbox', 'approve,sandbox']) {
      expect(problemsOf({ PAYMENT_GATEWAY: value }), value).toEqual([
        `PAYMENT_GATEWAY must be approve or sandbox (got ${JSON.stringify(value)})`,
      ]);
    }
    const production = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: randomBytes(32).toString('base64'),
      JWT_REFRESH_SECRET: randomBytes(32).toString('base64'),
      TICKET_SIGNING_SECRET: randomBytes(32).toString('base64'),
    };
    expect(parseEnv({ ...production, PAYMENT_GATEWAY: 'approve' }).PAYMENT_GATEWAY).toBe('approve');
    expect(problemsOf({ ...production, PAYMENT_GATEWAY: 'sandbox' })).toEqual([
      'PAYMENT_GATEWAY=sandbox is refused when NODE_ENV=production (it moves no money)',
    ]);
  });

  it.each(['FAULT_CRASH_AFTER_CHARGE', 'FAULT_CRASH_AFTER_CANCEL'] as const)(
    'honours the test-only fault %s under NODE_ENV=test only',
    (fault) => {
      expect(parseEnv({ NODE_ENV: 'test', [fault]: 'true' })[fault]).toBe(true);
      for (const NODE_ENV of ['development', 'production']) {
        expect(problemsOf({ NODE_ENV, [fault]: 'true' })).toContain(
          `${fault} is a test-only fault: allowed only when NODE_ENV=test`,
        );
      }
    },
  );

  it("hashes passwords at OWASP's argon2id minimum by default (19456 KiB, 2 passes); cheaper only under NODE_ENV=test", () => {
    expect(parseEnv({}).PASSWORD_HASH_MEMORY_KIB).toBe(19_456);
    expect(parseEnv({}).PASSWORD_HASH_TIME_COST).toBe(2);
    const stronger = parseEnv({ PASSWORD_HASH_MEMORY_KIB: '65536', PASSWORD_HASH_TIME_COST: '3' });
    expect([stronger.PASSWORD_HASH_MEMORY_KIB, stronger.PASSWORD_HASH_TIME_COST]).toEqual([65_536, 3]);
    const cheapest = parseEnv({ NODE_ENV: 'test', PASSWORD_HASH_MEMORY_KIB: '8', PASSWORD_HASH_TIME_COST: '1' });
    expect([cheapest.PASSWORD_HASH_MEMORY_KIB, cheapest.PASSWORD_HASH_TIME_COST]).toEqual([8, 1]);
    for (const NODE_ENV of ['development', 'production']) {
      expect(problemsOf({ NODE_ENV, PASSWORD_HASH_MEMORY_KIB: '19455' })).toContain(
        'PASSWORD_HASH_MEMORY_KIB must be at least 19456 unless NODE_ENV=test',
      );
      expect(problemsOf({ NODE_ENV, PASSWORD_HASH_TIME_COST: '1' })).toContain(
        'PASSWORD_HASH_TIME_COST must be at least 2 unless NODE_ENV=test',
      );
    }
    for (const [name, value] of [
      ['PASSWORD_HASH_MEMORY_KIB', '7'],
      ['PASSWORD_HASH_MEMORY_KIB', '1048577'],
      ['PASSWORD_HASH_MEMORY_KIB', 'lots'],
      ['PASSWORD_HASH_TIME_COST', '0'],
      ['PASSWORD_HASH_TIME_COST', '11'],
      ['PASSWORD_HASH_TIME_COST', '1.5'],
    ]) {
      const problems = problemsOf({ NODE_ENV: 'test', [name]: value });
      expect(problems.length, `${name}=${value}`).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toContain(name);
    }
  });

  it('reads REDIS_CLUSTER_NODES as a list of host:port, and leaves it unset by default', () => {
    expect(parseEnv({}).REDIS_CLUSTER_NODES).toBeUndefined();
    const env = parseEnv({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,redis-2.internal:7001' });
    expect(redisClusterNodes(env.REDIS_CLUSTER_NODES)).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: 'redis-2.internal', port: 7001 },
    ]);
    expect(redisClusterNodes(undefined)).toEqual([]);
  });

  it('reads CORS_ORIGINS as a list of exact origins, empty by default; a path, a wildcard or a space is refused', () => {
    expect(corsOrigins(parseEnv({}).CORS_ORIGINS)).toEqual([]);
    const env = parseEnv({ CORS_ORIGINS: 'https://shop.example.com,http://localhost:5173' });
    expect(corsOrigins(env.CORS_ORIGINS)).toEqual(['https://shop.example.com', 'http://localhost:5173']);
    expect(
      corsOrigins(parseEnv({ CORS_ORIGINS: 'http://[::1]:5173,https://shop.example.com:8443' }).CORS_ORIGINS),
    ).toEqual(['http://[::1]:5173', 'https://shop.example.com:8443']);
    // Spellings a browser never sends would never match: refused at start.
    for (const bad of [
      'https://shop.example.com/',
      '*',
      'shop.example.com',
      'https://a.example, https://b.example',
      'https://Shop.example.com',
      'https://shop.example.com:443',
      'http://shop.example.com:80',
      'http://x:99999',
      'http://x:0',
      'http://x:08080',
      'https://a.example,',
    ]) {
      expect(problemsOf({ CORS_ORIGINS: bad }), bad).toEqual([
        expect.stringMatching(/^CORS_ORIGINS must be a comma-separated list of origins as browsers send them/),
      ]);
    }
  });

  it('waits for no replica by default, and takes REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT_MS in range only', () => {
    const defaults = parseEnv({});
    expect(defaults.REDIS_WAIT_REPLICAS).toBe(0);
    expect(defaults.REDIS_WAIT_TIMEOUT_MS).toBe(500);
    const env = parseEnv({ REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '250' });
    expect(env.REDIS_WAIT_REPLICAS).toBe(1);
    expect(env.REDIS_WAIT_TIMEOUT_MS).toBe(250);
    for (const [name, value] of [
      ['REDIS_WAIT_REPLICAS', '-1'],
      ['REDIS_WAIT_REPLICAS', '17'],
      ['REDIS_WAIT_REPLICAS', 'one'],
      ['REDIS_WAIT_TIMEOUT_MS', '0'],
      ['REDIS_WAIT_TIMEOUT_MS', '10001'],
      ['REDIS_WAIT_TIMEOUT_MS', '1.5'],
    ]) {
      const problems = problemsOf({ [name]: value });
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toContain(name);
    }
  });

  it('bounds every Redis command at REDIS_COMMAND_TIMEOUT_MS, 5000 by default, in range only', () => {
    expect(parseEnv({}).REDIS_COMMAND_TIMEOUT_MS).toBe(5000);
    expect(parseEnv({ REDIS_COMMAND_TIMEOUT_MS: '1500' }).REDIS_COMMAND_TIMEOUT_MS).toBe(1500);
    for (const value of ['99', '60001', 'soon']) {
      const problems = problemsOf({ REDIS_COMMAND_TIMEOUT_MS: value });
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(problem).toContain('REDIS_COMMAND_TIMEOUT_MS');
    }
  });

  it('converts numbers and keeps given values', () => {
    const env = parseEnv({ PORT: '8080', RESERVATION_TTL_SECONDS: '2', LOG_LEVEL: 'debug' });
    expect(env.PORT).toBe(8080);
    expect(env.RESERVATION_TTL_SECONDS).toBe(2);
    expect(env.LOG_LEVEL).toBe('debug');
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x/y'],
    ['REDIS_URL', 'localhost:6379'],
    ['REDIS_CLUSTER_NODES', 'redis://127.0.0.1:7000'],
    ['REDIS_CLUSTER_NODES', '127.0.0.1:7000,'],
    ['REDIS_CLUSTER_NODES', '127.0.0.1'],
    ['REDIS_CLUSTER_NODES', '127.0.0.1:70000'],
    ['RABBITMQ_URL', 'http://x'],
    ['RESERVATION_TTL_SECONDS', '0'],
    ['PASSWORD_RESET_TTL_MINUTES', '0'],
    ['PASSWORD_RESET_TTL_MINUTES', '1441'],
    ['MAX_SEATS_PER_RESERVATION', '2.5'],
    ['CHECK_IN_OPENS_BEFORE_MINUTES', '-1'],
    ['CHECK_IN_OPENS_BEFORE_MINUTES', '10081'],
    ['CHECK_IN_CLOSES_AFTER_MINUTES', '-30'],
    ['CHECK_IN_CLOSES_AFTER_MINUTES', '10081'],
    ['CHECK_IN_CLOSES_AFTER_MINUTES', '1.5'],
    ['CHECK_IN_UNDO_MINUTES', '-1'],
    ['CHECK_IN_UNDO_MINUTES', '1441'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['ADMIN_EMAIL', 'not-an-email'],
    ['DEFAULT_CURRENCY', 'eur'],
    ['DEFAULT_CURRENCY', 'EURO'],
    ['DEFAULT_CURRENCY', 'XYZ'],
    ['MAIL_BULK_PREFETCH', '0'],
    // Five SMTP connections a mailer: the bulk queue leaves one free for the urgent e-mails.
    ['MAIL_BULK_PREFETCH', '5'],
    ['SMTP_BULK_URL', 'http://x'],
  ])('rejects %s=%s and names the variable', (name, value) => {
    const problems = problemsOf({ [name]: value, ...(name === 'ADMIN_EMAIL' ? { ADMIN_PASSWORD: 'longenough' } : {}) });
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${name}`)));
  });

  it.each([
    ['DATABASE_URL', 'postgres://127.0.0.1:abc/boxoffice', 'must be a postgres:// URL'],
    ['DATABASE_URL', 'postgres://127.0.0.1:70000/boxoffice', 'must be a postgres:// URL'],
    ['REDIS_URL', 'redis://[::1/', 'must be a redis:// URL'],
    ['RABBITMQ_URL', 'amqp://guest:guest@rabbit mq:5672', 'must be an amqp:// URL'],
    ['SMTP_URL', 'smtp://mail.example.com:25x', 'must be an smtp:// URL'],
    ['SMTP_BULK_URL', 'smtp://bulk.example.com:25x', 'must be an smtp:// URL'],
    ['SMTP_BULK_URL', 'https://api.postmarkapp.com/email/batch', 'must be an smtp:// URL'],
    // Port 0: no server listens there (the start failed later on the connection).
    ['DATABASE_URL', 'postgres://h:0/x', 'must be a postgres:// URL with a port other than 0'],
    ['REDIS_URL', 'redis://127.0.0.1:0', 'must be a redis:// URL with a port other than 0'],
    ['RABBITMQ_URL', 'amqp://h:0', 'must be an amqp:// URL with a port other than 0'],
    ['SMTP_URL', 'smtp://h:00', 'must be an smtp:// URL with a port other than 0'],
  ])('refuses %s=%j, a URL that does not parse or names port 0, with the rule it breaks', (name, value, rule) => {
    expect(problemsOf({ [name]: value })).toEqual([`${name} ${rule} (got ${JSON.stringify(value)})`]);
  });

  it('sends the bulk notices through SMTP_URL and MAIL_FROM unless SMTP_BULK_URL and MAIL_BULK_FROM are set', () => {
    const shared = parseEnv({});
    expect(shared.SMTP_BULK_URL).toBeUndefined();
    expect(shared.MAIL_BULK_FROM).toBeUndefined();
    const split = parseEnv({
      SMTP_BULK_URL: 'smtp://user:token@smtp-broadcasts.example.com:587',
      MAIL_BULK_FROM: 'boxoffice <news@boxoffice.example>',
    });
    expect(split).toMatchObject({
      SMTP_BULK_URL: 'smtp://user:token@smtp-broadcasts.example.com:587',
      MAIL_BULK_FROM: 'boxoffice <news@boxoffice.example>',
    });
    // Empty counts as unset, as for every variable.
    expect(parseEnv({ SMTP_BULK_URL: '', MAIL_BULK_FROM: '' })).toMatchObject({
      SMTP_BULK_URL: undefined,
      MAIL_BULK_FROM: undefined,
    });
  });

  it('takes MAIL_FROM and MAIL_BULK_FROM as an address or "Name <address>", nothing else', () => {
    for (const from of [
      'tickets@example.com',
      'boxoffice <tickets@boxoffice.local>',
      '"Box, Office" <a@example.com>',
    ]) {
      expect(parseEnv({ MAIL_FROM: from, MAIL_BULK_FROM: from })).toMatchObject({
        MAIL_FROM: from,
        MAIL_BULK_FROM: from,
      });
    }
    for (const from of [
      'garbage',
      'Name <garbage>',
      '<a@example.com>',
      'a@example.com\nBcc: b@example.com',
      'x <a@example.com> y',
    ]) {
      expect(problemsOf({ MAIL_FROM: from, MAIL_BULK_FROM: from })).toEqual([
        `MAIL_FROM must be an e-mail address or "Name <address>" (got ${JSON.stringify(from)})`,
        `MAIL_BULK_FROM must be an e-mail address or "Name <address>" (got ${JSON.stringify(from)})`,
      ]);
    }
  });

  it("refuses a mailer's pool without a connection for each e-mail in hand and two spare, naming both settings", () => {
    // 8 urgent + MAIL_BULK_PREFETCH (2 by default) + 2 spare.
    expect(problemsOf({ DATABASE_POOL_SIZE: '12' }, 'mailer')).toEqual([]);
    expect(problemsOf({ DATABASE_POOL_SIZE: '11' }, 'mailer')).toEqual([
      'DATABASE_POOL_SIZE must be at least 12 for the mailer with MAIL_BULK_PREFETCH=2: each of its 8 urgent and ' +
        'MAIL_BULK_PREFETCH bulk e-mails in hand holds a database connection, and 2 are spare (got 11); ' +
        'raise DATABASE_POOL_SIZE or lower MAIL_BULK_PREFETCH',
    ]);
    const bulk = { SMTP_BULK_URL: 'smtp://127.0.0.1:2525', MAIL_BULK_PREFETCH: '32' };
    expect(problemsOf({ ...bulk, DATABASE_POOL_SIZE: '42' }, 'mailer')).toEqual([]);
    expect(problemsOf({ ...bulk }, 'mailer')).toEqual([
      expect.stringMatching(
        /^DATABASE_POOL_SIZE must be at least 42 for the mailer with MAIL_BULK_PREFETCH=32: .*\(got 20\)/,
      ),
    ]);
    // The default pool holds the default prefetch.
    expect(problemsOf({}, 'mailer')).toEqual([]);
  });

  it('lets the api and batch (no app rules) run a pool smaller than the mailer needs', () => {
    expect(parseEnv({ DATABASE_POOL_SIZE: '3' }).DATABASE_POOL_SIZE).toBe(3);
    expect(
      parseEnv({ DATABASE_POOL_SIZE: '1', SMTP_BULK_URL: 'smtp://127.0.0.1:2525', MAIL_BULK_PREFETCH: '32' })
        .DATABASE_POOL_SIZE,
    ).toBe(1);
  });

  it('bounds MAIL_BULK_PREFETCH by the shared SMTP pool only while SMTP_BULK_URL is unset', () => {
    expect(problemsOf({ MAIL_BULK_PREFETCH: '4' })).toEqual([]);
    expect(problemsOf({ MAIL_BULK_PREFETCH: '5' })).toEqual([
      "MAIL_BULK_PREFETCH must be at most 4 while the bulk notices share SMTP_URL's 5 connections (SMTP_BULK_URL unset), so the urgent e-mails keep one (got 5)",
    ]);
    const bulkUrl = 'smtp://127.0.0.1:2525';
    expect(parseEnv({ SMTP_BULK_URL: bulkUrl, MAIL_BULK_PREFETCH: '32' }).MAIL_BULK_PREFETCH).toBe(32);
    expect(problemsOf({ SMTP_BULK_URL: bulkUrl, MAIL_BULK_PREFETCH: '33' })).toEqual([
      'MAIL_BULK_PREFETCH must not be greater than 32 (got 33)',
    ]);
  });

  it('takes the service URLs the clients take: user, password, IPv6 host, no port, a socket directory', () => {
    const source = {
      DATABASE_URL: 'postgresql://app:s%40cret@db.internal/boxoffice?sslmode=require',
      REDIS_URL: 'rediss://:secret@[::1]:6380/2',
      RABBITMQ_URL: 'amqps://guest:guest@rabbitmq/vhost',
      SMTP_URL: 'smtps://user:pass@mail.example.com:465',
    };
    expect(parseEnv(source)).toMatchObject(source);
    expect(parseEnv({ DATABASE_URL: 'postgres:///boxoffice?host=/var/run/postgresql' }).DATABASE_URL).toBe(
      'postgres:///boxoffice?host=/var/run/postgresql',
    );
  });

  it.each(['abc', '+3199', '3199.0', '0x10', '1e3', ' 3199', '3199 ', '03199', '-0'])(
    'tells PORT=%j only that it is not an integer, not range rules it cannot meet',
    (value) => {
      expect(problemsOf({ PORT: value })).toEqual([`PORT must be an integer number (got ${JSON.stringify(value)})`]);
    },
  );

  it('takes every integer variable only as plain decimal digits, and names one problem otherwise (generated)', () => {
    // The retention periods take `forever` too, which their one message names (tested below).
    const integerNames = Object.entries(parseEnv({}))
      .filter(([name, value]) => Number.isInteger(value) && !name.endsWith('_RETENTION_DAYS'))
      .map(([name]) => name);
    expect(integerNames).toContain('PORT');
    fc.assert(
      fc.property(fc.constantFrom(...integerNames), fc.string({ maxLength: 12 }), (name, value) => {
        fc.pre(value !== '' && !/^(0|-?[1-9]\d*)$/.test(value));
        const shown = /PASSWORD|SECRET/.test(name) ? '(hidden)' : JSON.stringify(value);
        expect(problemsOf({ [name]: value })).toEqual([`${name} must be an integer number (got ${shown})`]);
      }),
    );
  });

  const RANDOM_SECRET = randomBytes(48).toString('base64');
  const RANDOM_SECRET_2 = randomBytes(48).toString('base64');
  const RANDOM_SECRET_3 = randomBytes(48).toString('base64');

  it('requires both JWT secrets and the ticket secret in production, and never prints them', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'JWT_ACCESS_SECRET is required when NODE_ENV=production',
      'JWT_REFRESH_SECRET is required when NODE_ENV=production',
      'TICKET_SIGNING_SECRET is required when NODE_ENV=production',
    ]);
    const short = problemsOf({
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: 'short-secret',
      JWT_REFRESH_SECRET: 'x'.repeat(40),
      TICKET_SIGNING_SECRET: RANDOM_SECRET_3,
    });
    expect(short.join()).toContain('JWT_ACCESS_SECRET');
    expect(short.join()).not.toContain('short-secret');
    expect(() =>
      parseEnv({
        NODE_ENV: 'production',
        JWT_ACCESS_SECRET: RANDOM_SECRET,
        JWT_REFRESH_SECRET: RANDOM_SECRET_2,
        TICKET_SIGNING_SECRET: RANDOM_SECRET_3,
      }),
    ).not.toThrow();
  });

  it('refuses a published, guessable or reused ticket secret in production', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: RANDOM_SECRET,
      JWT_REFRESH_SECRET: RANDOM_SECRET_2,
    };
    expect(problemsOf({ ...production, TICKET_SIGNING_SECRET: parseEnv({}).TICKET_SIGNING_SECRET! })).toEqual([
      'TICKET_SIGNING_SECRET is the published development value when NODE_ENV=production',
    ]);
    expect(problemsOf({ ...production, TICKET_SIGNING_SECRET: 'changeme'.repeat(8) })[0]).toMatch(
      /^TICKET_SIGNING_SECRET is guessable/,
    );
    expect(problemsOf({ ...production, TICKET_SIGNING_SECRET: RANDOM_SECRET })).toEqual([
      'TICKET_SIGNING_SECRET must differ from the JWT secrets',
    ]);
    expect(problemsOf({ TICKET_SIGNING_SECRET: 'short' })[0]).toMatch(/^TICKET_SIGNING_SECRET must be at least 32/);
  });

  it.each([
    ['the published development value', parseEnv({}).JWT_ACCESS_SECRET!],
    ['a repeated character', 'a'.repeat(64)],
    ['a repeated word', 'changeme'.repeat(8)],
    ['a short phrase padded', 'secret-secret-secret-secret-secret'],
  ])('refuses to start in production with %s as a JWT secret', (_, secret) => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: secret,
      JWT_REFRESH_SECRET: RANDOM_SECRET,
      TICKET_SIGNING_SECRET: RANDOM_SECRET_3,
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^JWT_ACCESS_SECRET is (the published development value|guessable)/);
    expect(problems[0]).not.toContain(secret);
  });

  it('accepts random secrets as openssl makes them (base64 and hex)', () => {
    for (const secret of [randomBytes(32).toString('base64'), randomBytes(32).toString('hex')]) {
      expect(productionSecretProblem(secret)).toBeUndefined();
    }
  });

  it('takes a known ISO 4217 code as DEFAULT_CURRENCY', () => {
    expect(parseEnv({ DEFAULT_CURRENCY: 'EUR' }).DEFAULT_CURRENCY).toBe('EUR');
  });

  it('takes PASSWORD_RESET_URL as an absolute http(s) URL with {token}, https only in production; unset by default', () => {
    expect(parseEnv({}).PASSWORD_RESET_URL).toBeUndefined();
    const fragment = 'https://shop.example.com/reset-password#token={token}';
    expect(parseEnv({ PASSWORD_RESET_URL: fragment }).PASSWORD_RESET_URL).toBe(fragment);
    expect(parseEnv({ PASSWORD_RESET_URL: 'http://localhost:5173/reset?token={token}' }).PASSWORD_RESET_URL).toBe(
      'http://localhost:5173/reset?token={token}',
    );
    for (const [value, problem] of [
      ['https://shop.example.com/reset-password', 'must contain {token}'],
      ['/reset-password#token={token}', 'must be an absolute http(s) URL'],
      ['shop.example.com/reset#{token}', 'must be an absolute http(s) URL'],
      ['javascript:alert(1)//{token}', 'must be an absolute http(s) URL'],
      ['ftp://shop.example.com/{token}', 'must be an absolute http(s) URL'],
      [
        'https://shop.example.com/a b#{token}',
        'must have no spaces, quotes, angle brackets, backslashes or control characters',
      ],
      [
        'https://shop.example.com/"#{token}',
        'must have no spaces, quotes, angle brackets, backslashes or control characters',
      ],
    ]) {
      expect(problemsOf({ PASSWORD_RESET_URL: value }), value).toEqual([`PASSWORD_RESET_URL ${problem}`]);
    }
    const production = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: RANDOM_SECRET,
      JWT_REFRESH_SECRET: RANDOM_SECRET_2,
      TICKET_SIGNING_SECRET: RANDOM_SECRET_3,
    };
    expect(problemsOf({ ...production, PASSWORD_RESET_URL: 'http://shop.example.com/reset#token={token}' })).toEqual([
      'PASSWORD_RESET_URL must be an https URL when NODE_ENV=production',
    ]);
    expect(parseEnv({ ...production, PASSWORD_RESET_URL: fragment }).PASSWORD_RESET_URL).toBe(fragment);
  });

  it('takes TICKET_TRANSFER_URL by the reset link rules, with {transferId} in place of {token}; unset by default', () => {
    expect(parseEnv({}).TICKET_TRANSFER_URL).toBeUndefined();
    const page = 'https://shop.example.com/transfers/{transferId}';
    expect(parseEnv({ TICKET_TRANSFER_URL: page }).TICKET_TRANSFER_URL).toBe(page);
    expect(parseEnv({ TICKET_TRANSFER_URL: 'http://localhost:5173/t#id={transferId}' }).TICKET_TRANSFER_URL).toBe(
      'http://localhost:5173/t#id={transferId}',
    );
    for (const [value, problem] of [
      ['https://shop.example.com/transfers', 'must contain {transferId}'],
      // A token link's placeholder: nothing would fill it.
      ['https://shop.example.com/transfers#{token}', 'must contain {transferId}'],
      ['/transfers/{transferId}', 'must be an absolute http(s) URL'],
      ['javascript:alert(1)//{transferId}', 'must be an absolute http(s) URL'],
      [
        'https://shop.example.com/<t>/{transferId}',
        'must have no spaces, quotes, angle brackets, backslashes or control characters',
      ],
    ]) {
      expect(problemsOf({ TICKET_TRANSFER_URL: value }), value).toEqual([`TICKET_TRANSFER_URL ${problem}`]);
    }
    const production = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: RANDOM_SECRET,
      JWT_REFRESH_SECRET: RANDOM_SECRET_2,
      TICKET_SIGNING_SECRET: RANDOM_SECRET_3,
    };
    expect(problemsOf({ ...production, TICKET_TRANSFER_URL: 'http://shop.example.com/t/{transferId}' })).toEqual([
      'TICKET_TRANSFER_URL must be an https URL when NODE_ENV=production',
    ]);
    expect(parseEnv({ ...production, TICKET_TRANSFER_URL: page }).TICKET_TRANSFER_URL).toBe(page);
    // The token links still want {token}, not {transferId}.
    expect(problemsOf({ PASSWORD_RESET_URL: 'https://shop.example.com/r#{transferId}' })).toEqual([
      'PASSWORD_RESET_URL must contain {token}',
    ]);
  });

  it('takes the e-mail verification settings: 24 h tokens, not required, a link by the reset link rules', () => {
    const env = parseEnv({});
    expect(env.EMAIL_VERIFICATION_TTL_HOURS).toBe(24);
    expect(env.EMAIL_VERIFICATION_REQUIRED).toBe(false);
    expect(env.EMAIL_VERIFICATION_URL).toBeUndefined();
    const link = 'https://shop.example.com/verify-email#token={token}';
    expect(parseEnv({ EMAIL_VERIFICATION_URL: link, EMAIL_VERIFICATION_REQUIRED: 'true' })).toMatchObject({
      EMAIL_VERIFICATION_URL: link,
      EMAIL_VERIFICATION_REQUIRED: true,
    });
    expect(parseEnv({ EMAIL_VERIFICATION_TTL_HOURS: '72' }).EMAIL_VERIFICATION_TTL_HOURS).toBe(72);
    expect(problemsOf({ EMAIL_VERIFICATION_URL: 'https://shop.example.com/verify' })).toEqual([
      'EMAIL_VERIFICATION_URL must contain {token}',
    ]);
    expect(env.EMAIL_CHANGE_URL).toBeUndefined();
    const change = 'https://shop.example.com/change-email#token={token}';
    expect(parseEnv({ EMAIL_CHANGE_URL: change }).EMAIL_CHANGE_URL).toBe(change);
    expect(problemsOf({ EMAIL_CHANGE_URL: 'https://shop.example.com/change' })).toEqual([
      'EMAIL_CHANGE_URL must contain {token}',
    ]);
    expect(problemsOf({ EMAIL_VERIFICATION_REQUIRED: 'yes' })).toEqual([
      'EMAIL_VERIFICATION_REQUIRED must be true or false (got "yes")',
    ]);
    expect(problemsOf({ EMAIL_VERIFICATION_TTL_HOURS: '0' })[0]).toMatch(/^EMAIL_VERIFICATION_TTL_HOURS /);
  });

  it('refuses an empty check-in window (both settings 0), and takes either one 0 alone', () => {
    expect(problemsOf({ CHECK_IN_OPENS_BEFORE_MINUTES: '0', CHECK_IN_CLOSES_AFTER_MINUTES: '0' })).toEqual([
      'CHECK_IN_OPENS_BEFORE_MINUTES and CHECK_IN_CLOSES_AFTER_MINUTES must not both be 0 (an empty check-in window admits no ticket)',
    ]);
    expect(parseEnv({ CHECK_IN_OPENS_BEFORE_MINUTES: '0' }).CHECK_IN_CLOSES_AFTER_MINUTES).toBe(240);
    expect(parseEnv({ CHECK_IN_CLOSES_AFTER_MINUTES: '0' }).CHECK_IN_OPENS_BEFORE_MINUTES).toBe(180);
  });

  it('wants ADMIN_EMAIL and ADMIN_PASSWORD together', () => {
    expect(problemsOf({ ADMIN_EMAIL: 'admin@example.com' })).toEqual([
      'ADMIN_EMAIL and ADMIN_PASSWORD must be set together',
    ]);
  });

  it('turns the docs off in production unless DOCS_ENABLED=true', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: RANDOM_SECRET,
      JWT_REFRESH_SECRET: RANDOM_SECRET_2,
      TICKET_SIGNING_SECRET: RANDOM_SECRET_3,
    };
    expect(parseEnv({}).DOCS_ENABLED).toBe(true);
    expect(parseEnv(production).DOCS_ENABLED).toBe(false);
    expect(parseEnv({ ...production, DOCS_ENABLED: 'true' }).DOCS_ENABLED).toBe(true);
    expect(parseEnv({ DOCS_ENABLED: 'false' }).DOCS_ENABLED).toBe(false);
    expect(problemsOf({ DOCS_ENABLED: 'yes' })[0]).toMatch(/^DOCS_ENABLED must be true or false/);
  });

  it('serves metrics on the public port in development, on METRICS_PORT (9464 unless set) in production', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: RANDOM_SECRET,
      JWT_REFRESH_SECRET: RANDOM_SECRET_2,
      TICKET_SIGNING_SECRET: RANDOM_SECRET_3,
    };
    expect(parseEnv({}).METRICS_PORT).toBeUndefined();
    expect(parseEnv({ METRICS_PORT: '9100' }).METRICS_PORT).toBe(9100);
    expect(parseEnv(production).METRICS_PORT).toBe(PRODUCTION_METRICS_PORT);
    expect(PRODUCTION_METRICS_PORT).toBe(9464);
    expect(parseEnv({ ...production, METRICS_PORT: '9100' }).METRICS_PORT).toBe(9100);
    expect(problemsOf({ PORT: '3000', METRICS_PORT: '3000' })).toEqual(['METRICS_PORT must differ from PORT']);
    expect(problemsOf({ METRICS_PORT: '0' })[0]).toMatch(/^METRICS_PORT must not be less than 1/);
  });

  it('takes PORT=0 (any free port) outside production only', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: RANDOM_SECRET,
      JWT_REFRESH_SECRET: RANDOM_SECRET_2,
      TICKET_SIGNING_SECRET: RANDOM_SECRET_3,
    };
    expect(parseEnv({ PORT: '0' }).PORT).toBe(0);
    expect(parseEnv({ NODE_ENV: 'test', PORT: '0' }).PORT).toBe(0);
    expect(problemsOf({ ...production, PORT: '0' })).toEqual([
      'PORT must be 1-65535 when NODE_ENV=production (0 binds a random free port, which no proxy finds)',
    ]);
    expect(parseEnv({ ...production, PORT: '1' }).PORT).toBe(1);
  });
  it('derives WAITING_ROOM_SECRET from JWT_ACCESS_SECRET when unset, and checks a given one like the JWT secrets', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: RANDOM_SECRET,
      JWT_REFRESH_SECRET: RANDOM_SECRET_2,
      TICKET_SIGNING_SECRET: RANDOM_SECRET_3,
    };
    const derived = parseEnv(production).WAITING_ROOM_SECRET;
    expect(derived).toMatch(/^[0-9a-f]{64}$/);
    expect(derived).not.toBe(parseEnv({}).WAITING_ROOM_SECRET);
    expect(parseEnv({ WAITING_ROOM_SECRET: 'w'.repeat(32) }).WAITING_ROOM_SECRET).toBe('w'.repeat(32));
    expect(problemsOf({ ...production, WAITING_ROOM_SECRET: 'changeme'.repeat(8) })).toEqual([
      expect.stringMatching(/^WAITING_ROOM_SECRET is guessable/),
    ]);
    expect(problemsOf({ WAITING_ROOM_SECRET: 'short' })[0]).toMatch(/^WAITING_ROOM_SECRET must be at least 32/);
    expect(problemsOf({ WAITING_ROOM_POLL_AFTER_SECONDS: '0' })[0]).toMatch(/^WAITING_ROOM_POLL_AFTER_SECONDS/);
  });

  it('caps the event streams of one account at WAITING_ROOM_STREAMS_PER_USER (3; 1-100)', () => {
    expect(parseEnv({}).WAITING_ROOM_STREAMS_PER_USER).toBe(3);
    expect(parseEnv({ WAITING_ROOM_STREAMS_PER_USER: '10' }).WAITING_ROOM_STREAMS_PER_USER).toBe(10);
    for (const bad of ['0', '101', '2.5', 'many']) {
      expect(problemsOf({ WAITING_ROOM_STREAMS_PER_USER: bad })[0], bad).toMatch(/^WAITING_ROOM_STREAMS_PER_USER/);
    }
  });
});

describe('TICKET_TRANSFER_OFFER_HOURS', () => {
  it('defaults to 72 hours and takes 1-720', () => {
    expect(parseEnv({}).TICKET_TRANSFER_OFFER_HOURS).toBe(72);
    expect(parseEnv({ TICKET_TRANSFER_OFFER_HOURS: '1' }).TICKET_TRANSFER_OFFER_HOURS).toBe(1);
    expect(parseEnv({ TICKET_TRANSFER_OFFER_HOURS: '720' }).TICKET_TRANSFER_OFFER_HOURS).toBe(720);
  });

  it.each(['0', '721', '1.5', 'x'])('refuses %s', (value) => {
    expect(problemsOf({ TICKET_TRANSFER_OFFER_HOURS: value })[0]).toMatch(/^TICKET_TRANSFER_OFFER_HOURS /);
  });
});

describe('TICKET_TRANSFER_OFFERS_PER_HOUR', () => {
  it('defaults to 10 and takes 1-10000', () => {
    expect(parseEnv({}).TICKET_TRANSFER_OFFERS_PER_HOUR).toBe(10);
    expect(parseEnv({ TICKET_TRANSFER_OFFERS_PER_HOUR: '1' }).TICKET_TRANSFER_OFFERS_PER_HOUR).toBe(1);
    expect(parseEnv({ TICKET_TRANSFER_OFFERS_PER_HOUR: '10000' }).TICKET_TRANSFER_OFFERS_PER_HOUR).toBe(10_000);
  });

  it.each(['0', '10001', '2.5', 'x'])('refuses %s', (value) => {
    expect(problemsOf({ TICKET_TRANSFER_OFFERS_PER_HOUR: value })[0]).toMatch(/^TICKET_TRANSFER_OFFERS_PER_HOUR /);
  });
});

describe('retention periods (AUTH_EVENT_RETENTION_DAYS, EMAIL_DELIVERY_RETENTION_DAYS)', () => {
  it('default to 90 and 180 days', () => {
    const env = parseEnv({});
    expect(env.AUTH_EVENT_RETENTION_DAYS).toBe(90);
    expect(env.EMAIL_DELIVERY_RETENTION_DAYS).toBe(180);
    expect(retentionMs(env.AUTH_EVENT_RETENTION_DAYS)).toBe(90 * 24 * 3600_000);
  });

  it('take whole days from their least to 36500, and forever (never pruned)', () => {
    expect(parseEnv({ AUTH_EVENT_RETENTION_DAYS: '1' }).AUTH_EVENT_RETENTION_DAYS).toBe(1);
    expect(parseEnv({ EMAIL_DELIVERY_RETENTION_DAYS: '30' }).EMAIL_DELIVERY_RETENTION_DAYS).toBe(30);
    expect(parseEnv({ AUTH_EVENT_RETENTION_DAYS: '36500' }).AUTH_EVENT_RETENTION_DAYS).toBe(36_500);
    const forever = parseEnv({ AUTH_EVENT_RETENTION_DAYS: 'forever', EMAIL_DELIVERY_RETENTION_DAYS: 'forever' });
    expect(forever.AUTH_EVENT_RETENTION_DAYS).toBe('forever');
    expect(retentionMs(forever.EMAIL_DELIVERY_RETENTION_DAYS)).toBeNull();
  });

  it.each([
    ['AUTH_EVENT_RETENTION_DAYS', '0', 1],
    ['AUTH_EVENT_RETENTION_DAYS', '-1', 1],
    ['AUTH_EVENT_RETENTION_DAYS', '36501', 1],
    ['AUTH_EVENT_RETENTION_DAYS', '1.5', 1],
    ['AUTH_EVENT_RETENTION_DAYS', 'Forever', 1],
    ['AUTH_EVENT_RETENTION_DAYS', 'never', 1],
    ['EMAIL_DELIVERY_RETENTION_DAYS', '29', 30],
    ['EMAIL_DELIVERY_RETENTION_DAYS', '90d', 30],
    ['EMAIL_DELIVERY_RETENTION_DAYS', ' 90', 30],
  ])('refuses %s=%s, naming the range', (name, value, least) => {
    expect(problemsOf({ [name]: value })).toEqual([
      // A value in decimal digits is shown as the number it was read as.
      `${name} must be a whole number of days from ${least} to 36500, or forever (got ${/^-?\d+$/.test(value) ? value : JSON.stringify(value)})`,
    ]);
  });
});
