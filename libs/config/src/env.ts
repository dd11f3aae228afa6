import { createHmac } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsIP,
  IsOptional,
  IsString,
  Matches,
  Max,
  MinLength,
  Min,
  Validate,
  validateSync,
  ValidationError,
  ValidateBy,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { isCurrencyCode } from './currency';
import { TrustedProxies } from './trusted-proxies';

@ValidatorConstraint({ name: 'trustProxy' })
class TrustProxyRule implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string') return false;
    try {
      new TrustedProxies(value);
      return true;
    } catch {
      return false;
    }
  }
  defaultMessage(): string {
    return 'must be a comma-separated list of loopback, linklocal, uniquelocal, addresses and CIDR ranges';
  }
}

@ValidatorConstraint({ name: 'clusterNodes' })
class ClusterNodesRule implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value !== 'string' || redisClusterNodes(value).every(({ port }) => port >= 1 && port <= 65535);
  }
  defaultMessage(): string {
    return 'must name ports between 1 and 65535';
  }
}

/**
 * The nodes of REDIS_CLUSTER_NODES (`host:port,host:port,…`, already validated by parseEnv) as
 * ioredis Cluster takes them; an empty list when the value is empty or unset.
 */
export function redisClusterNodes(value: string | undefined): { host: string; port: number }[] {
  if (!value) return [];
  return value.split(',').map((node) => {
    const colon = node.lastIndexOf(':');
    return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
  });
}

/**
 * One web origin exactly as browsers send it in `Origin` (RFC 6454 serialisation): `http` or
 * `https`, a lowercase host name or a bracketed IPv6 address, a port only when it is not the
 * scheme's default; no path, no trailing slash. @fastify/cors compares origins as strings, so any
 * other spelling (`https://Shop.example.com`, `https://shop.example.com:443`) would never match.
 */
const WEB_ORIGIN = /^(https?):\/\/(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

@ValidatorConstraint({ name: 'corsOrigins' })
class CorsOriginsRule implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string') return false;
    return corsOrigins(value).every((origin) => {
      const match = WEB_ORIGIN.exec(origin);
      if (!match) return false;
      const [, scheme, port] = match;
      if (port === undefined) return true;
      const number = Number(port);
      return number >= 1 && number <= 65535 && number !== (scheme === 'https' ? 443 : 80) && !port.startsWith('0');
    });
  }
  defaultMessage(): string {
    return (
      'must be a comma-separated list of origins as browsers send them, such as ' +
      'https://shop.example.com or http://localhost:5173 (lowercase host, no default port, no path)'
    );
  }
}

/**
 * The origins of CORS_ORIGINS (already validated by parseEnv), in order; an empty list when the
 * value is empty or unset (no CORS answers).
 */
export function corsOrigins(value: string | undefined): string[] {
  return value ? value.split(',') : [];
}

/**
 * A URL of one of `schemes` (`postgres://postgres@127.0.0.1:5432/boxoffice`) that parses as a URL
 * (WHATWG, as `new URL()` and the clients read it): a port that is not a number, is 0 (no server
 * listens there) or is over 65535, a space or a broken address is refused here, at start, not by a
 * client later. The local stack scripts read the host and port of the validated value to check
 * that the service answers.
 */
function IsServiceUrl(schemes: string[], message: string): PropertyDecorator {
  const pattern = new RegExp(`^(${schemes.join('|')})://[^\\s]+$`);
  const portZero = (value: unknown) => typeof value === 'string' && URL.canParse(value) && new URL(value).port === '0';
  return ValidateBy({
    name: 'isServiceUrl',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' && pattern.test(value) && URL.canParse(value) && !portZero(value),
      defaultMessage: (args) => (portZero(args?.value) ? `${message} with a port other than 0` : message),
    },
  });
}

/** A retention period of env.ts: whole days, or `forever` (never pruned). */
export type RetentionDays = number | 'forever';

/**
 * Whole days from `min` to {@link RETENTION_MAX_DAYS}, or the word `forever`: how long `batch`
 * keeps a kind of row (its prune loop) before deleting it.
 */
function IsRetentionDays(min: number): PropertyDecorator {
  const message = `must be a whole number of days from ${min} to ${RETENTION_MAX_DAYS}, or forever`;
  return ValidateBy({
    name: 'isRetentionDays',
    validator: {
      validate: (value: unknown) =>
        value === 'forever' ||
        (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= RETENTION_MAX_DAYS),
      defaultMessage: () => message,
    },
  });
}

/** The longest retention period in days other than `forever`: about a century. */
export const RETENTION_MAX_DAYS = 36_500;

/** A retention period in milliseconds, or null for `forever`. */
export function retentionMs(days: RetentionDays): number | null {
  return days === 'forever' ? null : days * 24 * 3600_000;
}

/** Every environment variable boxoffice reads, with its default and its rule. */
/**
 * SMTP connections the mailer's nodemailer pool to SMTP_URL opens at most (`maxConnections` in
 * apps/mailer/src/smtp.mailer.ts); MAIL_BULK_PREFETCH stays below it while the bulk notices share
 * that server (SMTP_BULK_URL unset).
 */
export const SMTP_POOL_CONNECTIONS = 5;

/**
 * Unacknowledged messages of the urgent mail queue (`<ns>.purchase-completed`) a mailer works on at
 * once, beside MAIL_BULK_PREFETCH of the bulk queue.
 */
export const MAILER_PREFETCH = 8;

/**
 * Pool connections a mailer needs beyond one per message in hand ({@link MAILER_PREFETCH} +
 * MAIL_BULK_PREFETCH). A message holds at most one at a time: its reads before its delivery
 * transaction, the transaction (held while its e-mail is at the SMTP server), and, when that
 * transaction was lost after the server took the e-mail, the one that writes its row again, one
 * after the other; a copy of a message in hand waits for it holding none (deliverInTransaction).
 * The spare ones are for the moment after a broker reconnection, when the old channel's messages
 * finish beside the first ones of the new channel.
 */
export const MAILER_SPARE_DATABASE_CONNECTIONS = 2;

/**
 * Most bulk notices a mailer may send at once (MAIL_BULK_PREFETCH) when they have a server of
 * their own (SMTP_BULK_URL): its pool opens that many connections.
 */
export const MAIL_BULK_PREFETCH_MAX = 32;

/**
 * The highest MAX_SEATS_PER_RESERVATION the configuration takes. Request bodies refuse as
 * malformed (400) only counts above every limit it could allow; a count above the configured limit
 * but within this is the per-user limit's 409 (POST /reservations).
 */
export const MAX_SEATS_PER_RESERVATION_CEILING = 20;

/** What MAIL_FROM and MAIL_BULK_FROM must be. */
const MAIL_ADDRESS_RULE = 'must be an e-mail address or "Name <address>"';

export class Env {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  /** 0 (any free port, which the OS picks) only outside production: a proxy could not find it. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  /**
   * Port of a small HTTP server of its own for `/metrics` and `/health/live` (api, batch,
   * mailer); the api's public port then answers 404 for `/metrics`. Unset: the api serves
   * `/metrics` on PORT and batch and mailer serve no HTTP; default 9464 in production.
   */
  @IsOptional()
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(65535)
  METRICS_PORT?: number;

  /** Address the API binds: loopback on a developer machine; `0.0.0.0` in a container. */
  @IsIP()
  HOST = '127.0.0.1';

  /**
   * The api's listen backlog: connections the kernel holds, accepted but not yet taken by the
   * process (Node's default is 511). Past it the kernel drops new SYNs and a proxy's connect times
   * out (Nginx's 504 after 2 s). The kernel caps it at `net.core.somaxconn` (4096 on Linux 5.4
   * and later): raise that too for more. Keep it above Nginx's `max_conns` per replica, if one is set.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(65_535)
  LISTEN_BACKLOG = 2048;

  /**
   * Load shedding: requests the api works on at once (from `onRequest` to the answer, each
   * replica on its own) beyond which a new one is answered 503 with Retry-After at once, before
   * its body is read or any work is done. The health probes, `/metrics` and the waiting room's
   * event streams are never shed nor counted. 0 turns this trigger off.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(100_000)
  SHED_MAX_IN_FLIGHT = 256;

  /**
   * Load shedding's second trigger: the longest a request may have waited, in milliseconds, from
   * Nginx sending it (its `X-Request-Start`) to the api reading it, before it is shed as with
   * SHED_MAX_IN_FLIGHT: the wait in the kernel's queues that the count in flight does not see
   * (a CPU-bound api). Needs the proxy's and the api's clocks in step (NTP). Requests without the
   * header (not through Nginx) are not judged by it. 0 turns it off.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHED_MAX_QUEUE_MS = 2000;

  /**
   * Load shedding's third trigger: the event loop's utilisation, in percent of the last half
   * second, above which new requests are shed as with SHED_MAX_IN_FLIGHT. 0 (the default) turns
   * it off: on a shared host it fired on a few CPU-heavy sign-ups (docs/trials/overload-2026-12-07.md).
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(99)
  SHED_EVENT_LOOP_UTILIZATION_PERCENT = 0;

  /**
   * Proxies whose X-Forwarded-For is believed (the client address of rate limits and logs):
   * comma-separated `loopback`, `linklocal`, `uniquelocal`, addresses and CIDR ranges.
   */
  @Validate(TrustProxyRule)
  TRUST_PROXY = 'loopback';

  /**
   * Web origins whose browser pages may call the API (CORS), comma-separated, each exactly as the
   * browser sends it (`https://shop.example.com`, `http://localhost:5173`); empty (the default):
   * no CORS headers, so only pages of the API's own origin (or behind the same proxy) can call it.
   */
  @Validate(CorsOriginsRule)
  CORS_ORIGINS = '';

  @IsServiceUrl(['postgres', 'postgresql'], 'must be a postgres:// URL')
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/boxoffice';

  /** Most PostgreSQL connections one process opens. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(1000)
  DATABASE_POOL_SIZE = 20;

  /**
   * Longest wait for a free pool connection, in milliseconds; a request that waits longer is
   * answered 503 with Retry-After.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(10)
  @Max(60_000)
  DATABASE_ACQUIRE_TIMEOUT_MS = 5000;

  /**
   * Longest wait for PostgreSQL's answer to one statement, in milliseconds, measured by this
   * process (pg's `query_timeout`): a server that stopped answering without closing its
   * connections (hung, frozen, cut off by the network) fails the statement then, and the request
   * is answered 503 with Retry-After, instead of waiting for as long as the server stays silent;
   * the connection is closed, never reused. Keep it above the longest statement the processes run
   * (a row lock is waited for up to 10 s; `batch`'s flush raises it for its own statements to
   * PURCHASE_BATCH_STATEMENT_TIMEOUT_MS plus 5 s; migrations are not bounded) and below the
   * clients' own timeout.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1000)
  @Max(600_000)
  DATABASE_QUERY_TIMEOUT_MS = 15_000;

  @IsServiceUrl(['redis', 'rediss'], 'must be a redis:// URL')
  REDIS_URL = 'redis://127.0.0.1:6379';

  /**
   * Seed nodes of a Redis Cluster, `host:port,host:port,…` (a few primaries are enough: the client
   * learns the rest). When set, every process runs on a Redis Cluster client and REDIS_URL is ignored.
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/, {
    message: 'must be a comma-separated list of host:port',
  })
  @Validate(ClusterNodesRule)
  REDIS_CLUSTER_NODES?: string;

  /**
   * Replicas a purchase must reach (Redis `WAIT`) before the api answers 201; 0 (the default) waits
   * for none and adds no round trip. On a Cluster with one replica per primary, 1.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(16)
  REDIS_WAIT_REPLICAS = 0;

  /** Longest wait (ms) for REDIS_WAIT_REPLICAS; past it the purchase answers 503 (it stands, see README). */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(10_000)
  REDIS_WAIT_TIMEOUT_MS = 500;

  /**
   * Longest wait (ms) for the reply to any Redis command, on every client of api and batch; a
   * `WAIT` for REDIS_WAIT_REPLICAS may take REDIS_WAIT_TIMEOUT_MS more. Past it the command fails as
   * Redis being unavailable (the api answers 503 with Retry-After): a command sent to a node that
   * died (killed, cut off) never waits on a reply that will not come. Whether it ran is unknown,
   * as for a connection reset. On a Cluster client it counts from the call, also while the client
   * holds the command itself (reconnecting, its slot map not refreshed), and a pipeline or
   * transaction fails as a whole once it has waited that long (libs/redis bounded-commands.ts).
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(100)
  @Max(60_000)
  REDIS_COMMAND_TIMEOUT_MS = 5000;

  /** Prefix of every Redis key, so several deployments (or test runs) can share one Redis. */
  @Matches(/^[A-Za-z0-9_.-]{0,40}:?$/, { message: 'must be letters, digits, _ . - and may end with :' })
  REDIS_KEY_PREFIX = 'bo:';

  @IsServiceUrl(['amqp', 'amqps'], 'must be an amqp:// URL')
  RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

  /** Prefix of the RabbitMQ exchange and queue names. */
  @Matches(/^[A-Za-z0-9_.-]{1,40}$/, { message: 'must be 1-40 letters, digits, _ . -' })
  RABBITMQ_NAMESPACE = 'boxoffice';

  @IsServiceUrl(['smtp', 'smtps'], 'must be an smtp:// URL')
  SMTP_URL = 'smtp://127.0.0.1:1025';

  /**
   * Port the mail catcher (MailDev) of `npm start` and `npm run start:cluster` takes e-mails on,
   * when SMTP_URL is not set (the apps then send to it); the apps themselves do not read it.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(65535)
  MAIL_CATCHER_SMTP_PORT = 1025;

  /** Port of the mail catcher's web viewer (`npm start`, `npm run start:cluster`). */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(65535)
  MAIL_CATCHER_WEB_PORT = 1080;

  /**
   * SMTP server of the bulk notices only (the `<ns>.mail-bulk` queue: new dates, a canceled show's
   * notices), e.g. a provider's broadcast stream or a separate IP pool, so their volume neither
   * delays nor taints the reputation of SMTP_URL's confirmations and password resets. The mailer
   * opens a pool of MAIL_BULK_PREFETCH connections to it. Unset: the bulk notices share SMTP_URL's pool.
   */
  @IsOptional()
  @IsServiceUrl(['smtp', 'smtps'], 'must be an smtp:// URL')
  SMTP_BULK_URL?: string;

  /**
   * `From` of the e-mails: an address, or `Name <address>`; its domain is also the one of every
   * `Message-ID` the mailer makes.
   */
  @IsEmail({ allow_display_name: true }, { message: MAIL_ADDRESS_RULE })
  MAIL_FROM = 'boxoffice <tickets@boxoffice.local>';

  /**
   * `From` of the bulk notices (a broadcast stream may want its own sender), by MAIL_FROM's rule;
   * unset: MAIL_FROM. Their `Message-ID` stays on MAIL_FROM's domain, the same whichever queue
   * carried them.
   */
  @IsOptional()
  @IsEmail({ allow_display_name: true }, { message: MAIL_ADDRESS_RULE })
  MAIL_BULK_FROM?: string;

  /**
   * Longest wait for an SMTP reply, in milliseconds; by default the 10 minutes RFC 5321 gives the
   * reply to the end of a message. An e-mail left unanswered after it was sent is not sent again.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  SMTP_REPLY_TIMEOUT_MS = 600_000;

  /** Tries of one purchase e-mail before its message is parked in the dead-letter queue. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(50)
  MAIL_MAX_ATTEMPTS = 8;

  /** Wait before the first retry of a failed e-mail; doubled at each further try. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  MAIL_RETRY_BASE_MS = 1000;

  /** Longest wait between two tries of one e-mail. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(10)
  @Max(86_400_000)
  MAIL_RETRY_MAX_MS = 60_000;

  /**
   * Bulk notices (new dates, a canceled show's notices: the `<ns>.mail-bulk` queue) each mailer
   * works on at once, beside the 8 urgent e-mails of `<ns>.purchase-completed`. Each holds a
   * database connection and an SMTP connection while it sends. Sharing SMTP_URL's
   * {@link SMTP_POOL_CONNECTIONS} connections (SMTP_BULK_URL unset), at most one fewer, so an
   * urgent e-mail always finds a free one (checked in parseEnv); with SMTP_BULK_URL, up to
   * {@link MAIL_BULK_PREFETCH_MAX}, the size of the bulk server's pool. The mailer's
   * DATABASE_POOL_SIZE must hold 8 + this + 2 (checked for the mailer only: parseEnv's `app`; the
   * variable is every process's, and an api may run a smaller pool).
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(MAIL_BULK_PREFETCH_MAX)
  MAIL_BULK_PREFETCH = 2;

  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  JWT_ACCESS_SECRET?: string;

  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  JWT_REFRESH_SECRET?: string;

  /**
   * Key of the HMAC-SHA256 that signs ticket codes (the QR codes scanned at the door): whoever
   * holds it can make valid tickets. Required when NODE_ENV=production.
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  TICKET_SIGNING_SECRET?: string;

  @IsOptional()
  @IsEmail()
  ADMIN_EMAIL?: string;

  @IsOptional()
  @IsString()
  @MinLength(8, { message: 'must be at least 8 characters' })
  ADMIN_PASSWORD?: string;

  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(86400)
  RESERVATION_TTL_SECONDS = 300;

  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(MAX_SEATS_PER_RESERVATION_CEILING)
  MAX_SEATS_PER_RESERVATION = 4;

  /**
   * Doors open: how many minutes before a performance's `startsAt` its tickets may be checked in
   * (a scan earlier is refused, 409 CheckInNotOpen). 3 h: early enough for a standing crowd that
   * queues for the floor, late enough that a ticket for tomorrow, or for tonight's show scanned at
   * the matinee, is refused. At most 7 days (10080), as a performance's own setting.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(10_080)
  CHECK_IN_OPENS_BEFORE_MINUTES = 180;

  /**
   * Doors close: how many minutes after a performance's `startsAt` its tickets may still be
   * checked in (from then on, 409 CheckInClosed). Performances have no end time: 4 h covers
   * latecomers to all but the longest shows. A matinee's check-in closes before the evening
   * show's doors open only when the evening show starts at least this plus
   * CHECK_IN_OPENS_BEFORE_MINUTES later (7 h with the defaults); closer shows of one venue need
   * doors that send their `performanceId`, or per-performance windows. At most 7 days. Not 0
   * together with CHECK_IN_OPENS_BEFORE_MINUTES (an empty window: a ConfigError).
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(10_080)
  CHECK_IN_CLOSES_AFTER_MINUTES = 240;

  /**
   * How long, in minutes after a check-in (its `checked_in_at`, PostgreSQL's clock), the staff
   * account that scanned it may undo it (`DELETE /check-in/:ticketId`): a wrong ticket scanned, a
   * holder turned back after the scan. Later, or a check-in another account made, only an admin
   * undoes. 0: staff undo nothing. At most a day (1440).
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(1440)
  CHECK_IN_UNDO_MINUTES = 10;

  /**
   * How long, in seconds, a scan of a ticket whose sale Redis has and PostgreSQL not yet (a walk-up
   * scanned right after the window or the web shop sold it: `batch` writes a sale behind within
   * PURCHASE_FLUSH_AGE_SECONDS and a pass) waits for that sale's write before it is answered: the
   * door then admits (or refuses) it as any written ticket, and the gate is not told to scan again.
   * Only a sale whose write is due within this bound is waited for; past it (the flusher behind or
   * stopped) the scan hears 409 TicketNotWrittenYet. 0: never wait (the answer before 2026-12).
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(60)
  CHECK_IN_WAIT_FOR_SALE_SECONDS = 10;

  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(3600)
  PURCHASE_FLUSH_AGE_SECONDS = 5;

  /**
   * Most purchase-stream entries `batch` reads from one performance at once, and writes to
   * PostgreSQL in one statement (or transaction), of one performance or of several.
   * 2000 rather than 1000: ~10 % less batch CPU and less PostgreSQL CPU per purchase in four
   * alternating pairs (docs/performance.md, "Flush, fifth slice").
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(10000)
  PURCHASE_FLUSH_BATCH_SIZE = 2000;

  /**
   * Flush statements `batch` runs at once (each on its own PostgreSQL connection) while it reads the
   * next batches: twice as many performances are read side by side, and batches of several
   * performances read while the statements run share the next one (up to
   * PURCHASE_FLUSH_BATCH_SIZE entries); keep it below DATABASE_POOL_SIZE.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(16)
  PURCHASE_FLUSH_IN_FLIGHT = 4;

  /**
   * A buffered purchase delivered to a flusher and not acknowledged for this long is taken over
   * by another: the flusher died. At least PURCHASE_BATCH_STATEMENT_TIMEOUT_MS (in seconds, rounded
   * up; refused at start below it), so a write still running within its bound is not taken over
   * and written a second time beside it; keep it well above the time one batch takes to write.
   * 40 by default: the default statement bound (30 s), the 5 s the flusher waits past it for the
   * server's cancel, and a margin.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(3600)
  PURCHASE_CLAIM_IDLE_SECONDS = 40;

  /**
   * Longest time, in milliseconds, one statement of a purchase batch write may run in PostgreSQL,
   * whatever it waits on (a lock is also bounded, 5 s each; this bounds the rest: I/O, a stalled
   * trigger, a slow disk). Then the statement is canceled, the batch writes nothing, stays pending
   * and is written on a later pass. Keep it well above the time one batch takes to write.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(100)
  @Max(600_000)
  PURCHASE_BATCH_STATEMENT_TIMEOUT_MS = 30_000;

  /**
   * Lease of an Idempotency-Key claim, in milliseconds: the claim of a request that died (process
   * killed, Redis restarted under it) lapses this long after its request last renewed it, and the
   * next retry takes over; a live request renews it every fifth of a lease.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(500)
  @Max(60_000)
  IDEMPOTENCY_CLAIM_LEASE_MS = 5000;

  /**
   * Lease, in milliseconds, of a closure to sales (a performance's or event's delete, an event's
   * time zone change): a closure whose request died (process killed, Redis lost under it) lapses
   * this long after its request last renewed it, and sales resume; a live request renews it every
   * fifth of a lease while it works, and one that finds it lapsed commits nothing (503).
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(500)
  @Max(600_000)
  SALES_CLOSURE_LEASE_MS = 30_000;

  /**
   * Seconds a payment attempt stays untouched before `batch` reconciles it (P9): refunded when its
   * purchase did not happen, completed when it did. Keep it well above the longest purchase
   * request (a few seconds), so no charge is refunded while its request is still working.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(86_400)
  PAYMENT_RECONCILE_AFTER_SECONDS = 60;

  /**
   * Longest wait, in milliseconds, for one payment gateway call (findCharge or refund) that `batch`'s
   * reconciler makes while it holds the attempt's row: past it the attempt is left open and tried
   * again PAYMENT_RECONCILE_AFTER_SECONDS later, so a gateway that stops answering never keeps the
   * row (and the purchase flush that completes it) locked. Twice it is the lease of a purchase
   * attempt's claim on its hold (holdClaimLeaseMs): how long the hold of an api that died while
   * charging refuses other purchase attempts.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(100)
  @Max(120_000)
  PAYMENT_RECONCILE_GATEWAY_TIMEOUT_MS = 10_000;

  /**
   * Seconds after `batch`'s reconciler settled an attempt DECLINED because the gateway had no charge
   * under its key (`uncharged`) until it looks that key up once more, refunding a charge found then:
   * the api's own charge may still have been in flight at the first look (a charge call slower than
   * PAYMENT_RECONCILE_AFTER_SECONDS, a process stalled before it sent it), and land after it, with
   * the api dead before noting it. Long enough for any charge request sent to have landed or died:
   * 1,200 s by default, above the ~925 s Linux keeps retransmitting an unacknowledged request
   * (tcp_retries2 = 15) before it drops the connection, and a processor's own handling time.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(86_400)
  PAYMENT_RECONCILE_RECHECK_AFTER_SECONDS = 1_200;

  /**
   * Seconds between two passes of `batch`'s seat reconciler, which repairs seats a lost Redis write
   * (a failover, say) left shown sold or held with nothing behind them, or shown free while
   * PostgreSQL has them sold. Each pass reads every registered performance's seats and sold seats,
   * each performance between two of the process's flush passes (waiting at most this long a pass).
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(86_400)
  SEAT_RECONCILE_INTERVAL_SECONDS = 10;

  /** Seats the seat reconciler reads (and checks in one script call) at a time. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(10)
  @Max(10_000)
  SEAT_RECONCILE_CHUNK_SIZE = 1000;

  /**
   * The payment gateway the api and `batch` bind when the code binds none of its own: `approve`
   * (ApprovingPaymentGateway: approves everything, moves no money) or `sandbox`
   * (SandboxPaymentGateway: reads the buyer's `paymentToken` as test cards, `tok_decline` declined,
   * `tok_timeout` an answer lost; moves no money). `sandbox` is refused when NODE_ENV=production.
   */
  @IsIn(['approve', 'sandbox'], { message: 'must be approve or sandbox' })
  PAYMENT_GATEWAY: 'approve' | 'sandbox' = 'approve';

  /**
   * Test-only fault: the api exits (SIGKILL of itself) right after a charge, before the purchase
   * step, as a crash there would. Refused unless NODE_ENV=test.
   */
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'must be true or false' })
  FAULT_CRASH_AFTER_CHARGE = false;

  /**
   * Test-only fault: the api exits (SIGKILL of itself) right after a cancel script canceled a
   * purchase, before its refund, as a crash there would. Refused unless NODE_ENV=test.
   */
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'must be true or false' })
  FAULT_CRASH_AFTER_CANCEL = false;

  /**
   * Key of the HMAC that signs waiting-room admission tokens (at least 32 characters; checked
   * like the JWT secrets in production). Unset: derived from JWT_ACCESS_SECRET (an HMAC of it),
   * so a deployment needs no new secret.
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters' })
  WAITING_ROOM_SECRET?: string;

  /** Seconds a waiting user is told to wait between polls; silent for twice as long, the user drops out. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(300)
  WAITING_ROOM_POLL_AFTER_SECONDS = 5;

  /** Pause of the admission loop of `batch` between two steps, in milliseconds. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(5)
  @Max(10_000)
  WAITING_ROOM_ADMIT_PAUSE_MS = 20;

  /**
   * How long an api process trusts what it read of a performance's queue being on or off, in
   * milliseconds: setting or removing a queue reaches the other api processes within it.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(60_000)
  WAITING_ROOM_CACHE_MS = 1000;

  /**
   * Waiting-room event streams (`GET /queue/:ticketId/events`) one account may have open at once
   * on one api process (counted per process, not across replicas): past it, 429. Each open stream
   * holds a connection and a timer; a buyer needs one per tab.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(100)
  WAITING_ROOM_STREAMS_PER_USER = 3;

  /**
   * Minutes a password-reset token stays valid after it was asked for (1-1440): long enough to
   * read the e-mail, short enough that an old inbox or a forwarded mail is of little use.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(1440)
  PASSWORD_RESET_TTL_MINUTES = 30;

  /**
   * Where a reader of the password-reset e-mail sets a new password: an absolute http(s) URL with
   * `{token}` in it, which the e-mail fills with the token (URL-encoded), e.g.
   * `https://shop.example.com/reset-password#token={token}` (in the fragment the token stays out
   * of server logs and Referer headers). https is required when NODE_ENV=production. Unset, the
   * e-mail gives the bare token only; set, it gives the link and the token as a fallback.
   */
  @IsOptional()
  @IsString()
  PASSWORD_RESET_URL?: string;

  /**
   * Hours an e-mail verification token stays valid after it was sent (1-720): a buyer signs up
   * days before an on-sale and may open the e-mail late; a new one can be asked for any time.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(720)
  EMAIL_VERIFICATION_TTL_HOURS = 24;

  /**
   * Where a reader of the "confirm your e-mail address" e-mail confirms it: an absolute http(s)
   * URL with `{token}` in it, as PASSWORD_RESET_URL (same rules), e.g.
   * `https://shop.example.com/verify-email#token={token}`. Unset, the e-mail gives the bare token.
   */
  @IsOptional()
  @IsString()
  EMAIL_VERIFICATION_URL?: string;

  /**
   * Where a reader of the "confirm your new e-mail address" e-mail (`POST /auth/email`) confirms
   * it: an absolute http(s) URL with `{token}` in it, as PASSWORD_RESET_URL (same rules), e.g.
   * `https://shop.example.com/change-email#token={token}`. Unset, the e-mail gives the bare token.
   * Its token lives EMAIL_VERIFICATION_TTL_HOURS, as a verification token: it proves an address alike.
   */
  @IsOptional()
  @IsString()
  EMAIL_CHANGE_URL?: string;

  /**
   * The shop's page for a ticket-transfer offer, where its recipient (signed in) accepts or
   * declines it: an absolute http(s) URL with `{transferId}` in it, which the offer e-mail fills
   * with the transfer's id (URL-encoded), by the rules of PASSWORD_RESET_URL (https when
   * NODE_ENV=production), e.g. `https://shop.example.com/transfers/{transferId}`. The id is no
   * credential (only the recipient's confirmed account can use it), and no code goes in the link.
   * Unset, the offer e-mail names the API routes only; set, it gives the link and the routes as a
   * fallback.
   */
  @IsOptional()
  @IsString()
  TICKET_TRANSFER_URL?: string;

  /**
   * Hours (1-720) a ticket-transfer offer waits for its recipient before it expires; an offer also
   * expires at its performance's start, whichever comes first.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(720)
  TICKET_TRANSFER_OFFER_HOURS = 72;

  /**
   * Ticket-transfer offers (1-10000) one sender may make in any hour, and different senders one
   * address may be sent offers by in any hour; three times as many offers one address may be sent in
   * any hour by all senders together (429 TooManyTransferOffers past any): each offer e-mails the
   * address its sender typed.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(10_000)
  TICKET_TRANSFER_OFFERS_PER_HOUR = 10;

  /**
   * Days (1-36500, or `forever`) `batch` keeps an account's security events (`auth_events`: signups,
   * password resets and changes, e-mail changes, tokens mailed, role changes, reused refresh tokens,
   * deletions) before deleting them (AuthEventPruneLoop). The limits that count them (e-mails
   * mailed, resends, prints) look back 15 minutes, so a day keeps them whole; 90 days leave time to
   * look into an incident.
   */
  @Transform(({ value }) => (value === 'forever' ? value : toInt(value)))
  @IsRetentionDays(1)
  AUTH_EVENT_RETENTION_DAYS: RetentionDays = 90;

  /**
   * Days (30-36500, or `forever`) `batch` keeps the record of an e-mail sent (`email_deliveries`:
   * its address, the server's Message-ID) before deleting it (EmailDeliveryPruneLoop), counted from
   * the sending and, for an e-mail about a purchase or a ticket, from its performance's start too;
   * a purchase's confirmation record stays as long as the purchase (later e-mails of the purchase
   * ask whether it went out). At least 30: a message parked in a dead-letter queue and replayed
   * after its record is gone would be sent again.
   */
  @Transform(({ value }) => (value === 'forever' ? value : toInt(value)))
  @IsRetentionDays(30)
  EMAIL_DELIVERY_RETENTION_DAYS: RetentionDays = 180;

  /**
   * Whether a buyer (role USER) must have confirmed their e-mail address to hold seats, buy, or
   * join a waiting room (403 EmailNotVerified otherwise); staff and admins never need to. Off by
   * default so that an upgrade changes nothing; on is what an on-sale wants (bots, mistyped
   * addresses that would never get their tickets).
   */
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'must be true or false' })
  EMAIL_VERIFICATION_REQUIRED = false;

  /** Signups allowed per client address per minute; 0 turns the limit off. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(0)
  @Max(100_000)
  SIGNUP_RATE_LIMIT = 10;

  /**
   * Memory of one argon2id password hash, in KiB (default 19456 = 19 MiB, OWASP's minimum with 2
   * passes). Below 19456 refused unless NODE_ENV=test, where the suite hashes at the cheapest cost.
   * Stored hashes keep the cost they were made with: changing it needs no migration.
   */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(8)
  @Max(1_048_576)
  PASSWORD_HASH_MEMORY_KIB = 19_456;

  /** Passes of one argon2id password hash (default 2); below 2 refused unless NODE_ENV=test. */
  @Transform(({ value }) => toInt(value))
  @IsInt()
  @Min(1)
  @Max(10)
  PASSWORD_HASH_TIME_COST = 2;

  /** ISO 4217 code of an event created without a `currency`. */
  @ValidateBy({
    name: 'isCurrencyCode',
    validator: {
      validate: isCurrencyCode,
      defaultMessage: () => 'DEFAULT_CURRENCY must be an ISO 4217 currency code in upper case, such as KRW or EUR',
    },
  })
  DEFAULT_CURRENCY = 'KRW';

  @IsIn(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'])
  LOG_LEVEL = 'info';

  @IsString()
  LOG_DIR = './logs';

  /** One line per answered request into the api's info file (and console); needs LOG_LEVEL ≥ info. */
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'must be true or false' })
  ACCESS_LOG = true;

  /** Swagger UI at /docs and the OpenAPI document at /docs-json; default: on, off in production. */
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'must be true or false' })
  DOCS_ENABLED?: boolean;

  /** Console output: readable lines for people, or the same ECS JSON as the files. */
  @IsIn(['pretty', 'json', 'none'])
  LOG_CONSOLE: 'pretty' | 'json' | 'none' = 'pretty';
}

export type EnvSource = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** OWASP's minimum argon2id cost (19 MiB, 2 passes): cheaper is refused outside NODE_ENV=test. */
export const PASSWORD_HASH_MIN_MEMORY_KIB = 19_456;
export const PASSWORD_HASH_MIN_TIME_COST = 2;

/** METRICS_PORT when unset in production: /metrics never on the public port there. */
export const PRODUCTION_METRICS_PORT = 9464;

const DEV_ACCESS_SECRET = 'dev-only-access-secret-change-me-0123456789';
const DEV_REFRESH_SECRET = 'dev-only-refresh-secret-change-me-0123456789';
const DEV_TICKET_SECRET = 'dev-only-ticket-secret-change-me-0123456789';

/**
 * The process a configuration is for, when it has rules of its own beyond every process's: the
 * mailer's pool must hold a connection for every mail message it works on at once.
 */
export type EnvApp = 'mailer';

/** Every variable the configuration reads: those of {@link Env}, and those it has no default for. */
export const ENV_KEYS: readonly string[] = [
  ...Object.keys(new Env()),
  'JWT_ACCESS_SECRET',
  'JWT_REFRESH_SECRET',
  'TICKET_SIGNING_SECRET',
  'WAITING_ROOM_SECRET',
  'ADMIN_EMAIL',
  'ADMIN_PASSWORD',
  'DOCS_ENABLED',
  'METRICS_PORT',
  'REDIS_CLUSTER_NODES',
  'PASSWORD_RESET_URL',
  'EMAIL_VERIFICATION_URL',
  'EMAIL_CHANGE_URL',
  'TICKET_TRANSFER_URL',
  'SMTP_BULK_URL',
  'MAIL_BULK_FROM',
];

/**
 * Why PURCHASE_CLAIM_IDLE_SECONDS is refused beside PURCHASE_BATCH_STATEMENT_TIMEOUT_MS, or null:
 * a flusher's write may run a statement that long, and entries idle for PURCHASE_CLAIM_IDLE_SECONDS
 * are taken over by another flusher, which would write them again while the first still works
 * (harmless, the write is idempotent, but double work, and the most of it while PostgreSQL is slow).
 */
export function purchaseClaimIdleProblem(
  env: Pick<Env, 'PURCHASE_CLAIM_IDLE_SECONDS' | 'PURCHASE_BATCH_STATEMENT_TIMEOUT_MS'>,
): string | null {
  if (env.PURCHASE_CLAIM_IDLE_SECONDS * 1000 >= env.PURCHASE_BATCH_STATEMENT_TIMEOUT_MS) return null;
  const least = Math.ceil(env.PURCHASE_BATCH_STATEMENT_TIMEOUT_MS / 1000);
  return (
    `PURCHASE_CLAIM_IDLE_SECONDS must be at least ${least} (PURCHASE_BATCH_STATEMENT_TIMEOUT_MS=` +
    `${env.PURCHASE_BATCH_STATEMENT_TIMEOUT_MS} in seconds, rounded up), or a batch write still running is ` +
    `taken over by another batch and written twice (got ${env.PURCHASE_CLAIM_IDLE_SECONDS})`
  );
}

/**
 * Validates the environment once, with the rules of `app` when given (the mailer: see
 * {@link mailerPoolProblem}); throws a ConfigError naming every bad variable.
 */
export function parseEnv(source: EnvSource, app?: EnvApp): Readonly<Env> {
  const picked: EnvSource = {};
  for (const key of ENV_KEYS) {
    const value = source[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const env = plainToInstance(Env, picked, { exposeDefaultValues: true });
  const problems = validateSync(env, { forbidUnknownValues: true }).flatMap(describe);
  // The rules between variables below read values of the right type only.
  if (problems.length > 0) throw new ConfigError(problems);

  if (env.NODE_ENV === 'production') {
    for (const name of ['JWT_ACCESS_SECRET', 'JWT_REFRESH_SECRET', 'TICKET_SIGNING_SECRET'] as const) {
      const problem = productionSecretProblem(env[name]);
      if (problem) problems.push(`${name} ${problem} when NODE_ENV=production`);
    }
  }
  if (env.NODE_ENV === 'production' && env.WAITING_ROOM_SECRET !== undefined) {
    const problem = productionSecretProblem(env.WAITING_ROOM_SECRET);
    if (problem) problems.push(`WAITING_ROOM_SECRET ${problem} when NODE_ENV=production`);
  }
  if (env.JWT_ACCESS_SECRET && env.JWT_ACCESS_SECRET === env.JWT_REFRESH_SECRET) {
    problems.push('JWT_REFRESH_SECRET must differ from JWT_ACCESS_SECRET');
  }
  if (
    env.TICKET_SIGNING_SECRET &&
    (env.TICKET_SIGNING_SECRET === env.JWT_ACCESS_SECRET || env.TICKET_SIGNING_SECRET === env.JWT_REFRESH_SECRET)
  ) {
    problems.push('TICKET_SIGNING_SECRET must differ from the JWT secrets');
  }
  if (Boolean(env.ADMIN_EMAIL) !== Boolean(env.ADMIN_PASSWORD)) {
    problems.push('ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
  }
  if (env.NODE_ENV === 'production' && env.PORT === 0) {
    problems.push('PORT must be 1-65535 when NODE_ENV=production (0 binds a random free port, which no proxy finds)');
  }
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.PORT) {
    problems.push('METRICS_PORT must differ from PORT');
  }
  if (env.MAIL_CATCHER_SMTP_PORT === env.MAIL_CATCHER_WEB_PORT) {
    problems.push('MAIL_CATCHER_WEB_PORT must differ from MAIL_CATCHER_SMTP_PORT');
  }
  if (env.CHECK_IN_OPENS_BEFORE_MINUTES === 0 && env.CHECK_IN_CLOSES_AFTER_MINUTES === 0) {
    problems.push(
      'CHECK_IN_OPENS_BEFORE_MINUTES and CHECK_IN_CLOSES_AFTER_MINUTES must not both be 0 (an empty check-in window admits no ticket)',
    );
  }
  if (env.SMTP_BULK_URL === undefined && env.MAIL_BULK_PREFETCH > SMTP_POOL_CONNECTIONS - 1) {
    problems.push(
      `MAIL_BULK_PREFETCH must be at most ${SMTP_POOL_CONNECTIONS - 1} while the bulk notices share SMTP_URL's ` +
        `${SMTP_POOL_CONNECTIONS} connections (SMTP_BULK_URL unset), so the urgent e-mails keep one (got ${env.MAIL_BULK_PREFETCH})`,
    );
  }
  const poolProblem = app === 'mailer' ? mailerPoolProblem(env) : null;
  if (poolProblem) problems.push(poolProblem);
  const claimIdleProblem = purchaseClaimIdleProblem(env);
  if (claimIdleProblem) problems.push(claimIdleProblem);
  if (env.MAIL_RETRY_MAX_MS < env.MAIL_RETRY_BASE_MS) {
    problems.push('MAIL_RETRY_MAX_MS must not be below MAIL_RETRY_BASE_MS');
  }
  // OWASP's minimum argon2id cost; only the test suite may hash cheaper (a hash per signup and login).
  if (env.NODE_ENV !== 'test' && env.PASSWORD_HASH_MEMORY_KIB < PASSWORD_HASH_MIN_MEMORY_KIB) {
    problems.push(`PASSWORD_HASH_MEMORY_KIB must be at least ${PASSWORD_HASH_MIN_MEMORY_KIB} unless NODE_ENV=test`);
  }
  if (env.NODE_ENV !== 'test' && env.PASSWORD_HASH_TIME_COST < PASSWORD_HASH_MIN_TIME_COST) {
    problems.push(`PASSWORD_HASH_TIME_COST must be at least ${PASSWORD_HASH_MIN_TIME_COST} unless NODE_ENV=test`);
  }
  for (const [name, placeholder] of MAIL_LINK_SETTINGS) {
    const value = env[name];
    const problem = value === undefined ? null : mailLinkUrlProblem(value, env.NODE_ENV === 'production', placeholder);
    if (problem) problems.push(`${name} ${problem}`);
  }
  // A production process selling with test tokens would give tickets to anyone who sends any token.
  if (env.NODE_ENV === 'production' && env.PAYMENT_GATEWAY === 'sandbox') {
    problems.push('PAYMENT_GATEWAY=sandbox is refused when NODE_ENV=production (it moves no money)');
  }
  for (const fault of ['FAULT_CRASH_AFTER_CHARGE', 'FAULT_CRASH_AFTER_CANCEL'] as const) {
    if (env[fault] && env.NODE_ENV !== 'test')
      problems.push(`${fault} is a test-only fault: allowed only when NODE_ENV=test`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  env.DOCS_ENABLED ??= env.NODE_ENV !== 'production';
  if (env.NODE_ENV === 'production') env.METRICS_PORT ??= PRODUCTION_METRICS_PORT;
  env.JWT_ACCESS_SECRET ??= DEV_ACCESS_SECRET;
  env.JWT_REFRESH_SECRET ??= DEV_REFRESH_SECRET;
  env.TICKET_SIGNING_SECRET ??= DEV_TICKET_SECRET;
  env.WAITING_ROOM_SECRET ??= createHmac('sha256', env.JWT_ACCESS_SECRET)
    .update('boxoffice waiting room')
    .digest('hex');
  return Object.freeze(env);
}

/**
 * Why the mailer's DATABASE_POOL_SIZE is too small, or null: each of the {@link MAILER_PREFETCH}
 * urgent and MAIL_BULK_PREFETCH bulk messages it works on at once holds a connection while its
 * e-mail is at the SMTP server, and {@link MAILER_SPARE_DATABASE_CONNECTIONS} more are kept spare.
 * With fewer, the e-mails in hand wait DATABASE_ACQUIRE_TIMEOUT_MS for a connection and fail,
 * again and again, under any backlog.
 */
function mailerPoolProblem(env: Env): string | null {
  const needed = MAILER_PREFETCH + env.MAIL_BULK_PREFETCH + MAILER_SPARE_DATABASE_CONNECTIONS;
  if (env.DATABASE_POOL_SIZE >= needed) return null;
  return (
    `DATABASE_POOL_SIZE must be at least ${needed} for the mailer with MAIL_BULK_PREFETCH=${env.MAIL_BULK_PREFETCH}: ` +
    `each of its ${MAILER_PREFETCH} urgent and MAIL_BULK_PREFETCH bulk e-mails in hand holds a database connection, ` +
    `and ${MAILER_SPARE_DATABASE_CONNECTIONS} are spare (got ${env.DATABASE_POOL_SIZE}); ` +
    'raise DATABASE_POOL_SIZE or lower MAIL_BULK_PREFETCH'
  );
}

/**
 * The placeholder a token link setting (PASSWORD_RESET_URL, EMAIL_VERIFICATION_URL) must hold: the
 * e-mail puts the (URL-encoded) token there.
 */
export const MAIL_LINK_TOKEN = '{token}';

/** The placeholder TICKET_TRANSFER_URL must hold: the offer e-mail puts the (URL-encoded) transfer id there. */
export const MAIL_LINK_TRANSFER_ID = '{transferId}';

/** The link settings, each with the placeholder it must hold: all checked by {@link mailLinkUrlProblem}. */
const MAIL_LINK_SETTINGS = [
  ['PASSWORD_RESET_URL', MAIL_LINK_TOKEN],
  ['EMAIL_VERIFICATION_URL', MAIL_LINK_TOKEN],
  ['EMAIL_CHANGE_URL', MAIL_LINK_TOKEN],
  ['TICKET_TRANSFER_URL', MAIL_LINK_TRANSFER_ID],
] as const;

/**
 * What is wrong with `value` as a link setting (PASSWORD_RESET_URL, EMAIL_VERIFICATION_URL with
 * `{token}`, TICKET_TRANSFER_URL with `{transferId}`), or null: it must be an absolute http(s) URL
 * (https when `production`) with `placeholder` in it, and nothing a mail client would break on.
 */
export function mailLinkUrlProblem(value: string, production: boolean, placeholder = MAIL_LINK_TOKEN): string | null {
  if (!value.includes(placeholder)) return `must contain ${placeholder}`;
  const control = [...value].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f);
  if (control || /[\s<>"'\\]/.test(value)) {
    return 'must have no spaces, quotes, angle brackets, backslashes or control characters';
  }
  let url: URL;
  try {
    url = new URL(value.replaceAll(placeholder, 'placeholder'));
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an absolute http(s) URL';
  if (url.hostname === '') return 'must be an absolute http(s) URL';
  if (production && url.protocol !== 'https:') return 'must be an https URL when NODE_ENV=production';
  return null;
}

/** Secrets that are public (in this source), so a token signed with them proves nothing. */
const PUBLISHED_SECRETS = new Set([DEV_ACCESS_SECRET, DEV_REFRESH_SECRET, DEV_TICKET_SECRET]);
/** Least estimated entropy of a production secret, in bits (a random 32-byte base64 or hex secret has ~200). */
const MIN_SECRET_BITS = 128;

/**
 * Why a production signing secret is unsafe, or undefined when it is fine: missing, published,
 * or guessable. Entropy is estimated twice, and the lower estimate counts: length × the Shannon
 * entropy of its characters (fails a small alphabet), and the size of its DEFLATE compression
 * (fails a repeated phrase, "changeme" × 8). `openssl rand -base64 32` passes both.
 */
export function productionSecretProblem(secret: string | undefined): string | undefined {
  if (!secret) return 'is required';
  if (PUBLISHED_SECRETS.has(secret)) return 'is the published development value';
  if (estimatedEntropyBits(secret) < MIN_SECRET_BITS) {
    return `is guessable (under ${MIN_SECRET_BITS} bits); make one with: openssl rand -base64 48`;
  }
  return undefined;
}

function estimatedEntropyBits(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  const length = [...text].length;
  let perChar = 0;
  for (const count of counts.values()) perChar -= (count / length) * Math.log2(count / length);
  // Raw DEFLATE has no header; its last few bits pad the final byte.
  const compressedBits = deflateRawSync(Buffer.from(text), { level: 9 }).length * 8 - 8;
  return Math.min(perChar * length, compressedBits);
}

/**
 * An integer written plainly in decimal (`3000`, `-1`), else the string itself for IsInt to
 * refuse: no spaces, sign `+`, `-0`, leading zeros, fraction, exponent or hex, which Number() would take.
 */
function toInt(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return /^(0|-?[1-9]\d*)$/.test(value) ? Number(value) : value;
}

/**
 * One line per broken rule of a variable; a value that is not an integer at all is told only
 * that (as the API edge does for a field of the wrong type), not the range rules it cannot meet.
 */
function describe(error: ValidationError): string[] {
  const shown =
    error.property.includes('PASSWORD') || error.property.includes('SECRET') ? '(hidden)' : JSON.stringify(error.value);
  const constraints = error.constraints ?? {};
  const messages =
    constraints.isInt !== undefined && typeof error.value !== 'number'
      ? [constraints.isInt]
      : Object.values(constraints);
  return messages.map((c) =>
    c.startsWith(error.property) ? `${c} (got ${shown})` : `${error.property} ${c} (got ${shown})`,
  );
}
