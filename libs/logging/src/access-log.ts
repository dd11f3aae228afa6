import type { LoggerService } from '@nestjs/common';
import { DailyFile } from './daily-file';

/** What one answered request's access line says. */
export interface AccessEntry {
  requestId: string;
  method: string;
  /** The matched route pattern, or `unmatched`. */
  route: string;
  /** The URL path, without its query string. */
  path: string;
  statusCode: number;
  /** Time from receiving the request to sending the answer, in milliseconds. */
  elapsedMs: number;
  /** The client's address; absent when it is no longer known (the client closed before the answer). */
  clientIp?: string;
  /**
   * The path of what the request created (a `201`'s `Location`, e.g. `/api/v1/purchases/<id>`),
   * logged as `boxoffice.created`: it ties the request id to the hold or purchase id that the
   * batch's and mailer's lines name.
   */
  created?: string;
  /** Why the api shed the request (answered 503 at once, past capacity), if it did: in the message. */
  shed?: string;
}

/** The ECS version @elastic/ecs-winston-format writes on the other lines. */
const ECS_VERSION = '8.10.0';
const byLogger = new WeakMap<LoggerService, AccessLog>();

/**
 * `new Date(ms).toISOString()`, kept for the last millisecond seen: under load many lines share
 * one (the text has millisecond precision), and building it was half of a line's cost.
 */
const timestamps = { ms: Number.NaN, iso: '' };
function isoTimestamp(ms: number): string {
  if (ms !== timestamps.ms) {
    timestamps.ms = ms;
    timestamps.iso = new Date(ms).toISOString();
  }
  return timestamps.iso;
}

/**
 * The per-request access line, built once as the same ECS JSON the Winston formats make (logger
 * `Access`, level `info`) with one `JSON.stringify` per free-text field, and queued straight into
 * the process's `<app>-info` file (bypassing Winston's streams and formats) and to the console
 * when that is `json` or `pretty`.
 */
export class AccessLog {
  private readonly service: string;

  constructor(
    app: string,
    private readonly file: DailyFile | undefined,
    private readonly console: 'pretty' | 'json' | 'none',
  ) {
    this.service = `,"service":{"name":${JSON.stringify(`boxoffice-${app}`)}}`;
  }

  /** The access log made by `createLogger` together with `logger`, if it made `logger`. */
  static of(logger: LoggerService | false | undefined): AccessLog | undefined {
    return logger ? byLogger.get(logger) : undefined;
  }

  /** Remembers that `access` belongs with `logger` (see {@link AccessLog.of}). */
  static attach(logger: LoggerService, access: AccessLog): void {
    byLogger.set(logger, access);
  }

  write(entry: AccessEntry): void {
    const at = isoTimestamp(Date.now());
    const message =
      `${entry.method} ${entry.route} ${entry.statusCode} ${entry.elapsedMs.toFixed(1)}ms` +
      (entry.shed === undefined ? '' : ` (shed: ${entry.shed})`);
    if (this.console === 'pretty') {
      process.stdout.write(`[Access] ${at} ${entry.requestId} ${message}\n`);
    }
    if (this.file === undefined && this.console !== 'json') return;
    const line =
      `{"@timestamp":"${at}"${entry.clientIp === undefined ? '' : `,"client":{"ip":${JSON.stringify(entry.clientIp)}}`}` +
      `,"ecs.version":"${ECS_VERSION}","event":{"duration":${Math.round(entry.elapsedMs * 1e6)}}` +
      `,"http":{"request":{"id":${JSON.stringify(entry.requestId)},"method":${JSON.stringify(entry.method)}}` +
      `,"response":{"status_code":${entry.statusCode}}},"log":{"logger":"Access"},"log.level":"info"` +
      `,"message":${JSON.stringify(message)}${this.service},"url":{"path":${JSON.stringify(entry.path)},"route":${JSON.stringify(entry.route)}}` +
      `${entry.created === undefined ? '' : `,"boxoffice":{"created":${JSON.stringify(entry.created)}}`}}`;
    this.file?.append(line);
    if (this.console === 'json') process.stdout.write(`${line}\n`);
  }
}
