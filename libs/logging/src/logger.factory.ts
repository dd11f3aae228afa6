import ecsFormat from '@elastic/ecs-winston-format';
import { LoggerService } from '@nestjs/common';
import { WinstonModule, utilities as nestWinston } from 'nest-winston';
import winston from 'winston';
import { AccessLog } from './access-log';
import { DailyFile } from './daily-file';
import { DailyFileTransport } from './daily-file.transport';
import { RequestContext } from './request-context';

export interface LoggerOptions {
  /** The process: `api`, `batch` or `mailer`. Names the log files and `service.name`. */
  app: string;
  level: string;
  dir: string;
  console: 'pretty' | 'json' | 'none';
  /** Whether the api writes one line per answered request (also needs `level` to allow `info`). */
  accessLog?: boolean;
}

const FILE_LEVELS = ['error', 'warn', 'info', 'http', 'debug'] as const;

/** Adds the current request id as ECS `http.request.id`. */
const requestIdField = winston.format((info) => {
  const requestId = RequestContext.requestId();
  if (requestId) {
    const http = (info.http ?? {}) as Record<string, unknown>;
    info.http = { ...http, request: { ...(http.request as object), id: requestId } };
  }
  return info;
});

/**
 * Maps Nest's logger context to ECS `log.logger` and names the service. Nest's error() reaches
 * nest-winston as `stack: [trace]`, and without a trace that slot holds the context (or nothing):
 * a trace becomes ECS `error.stack_trace`, a context `log.logger`, and no `stack` field is left.
 */
const ecsNames = (app: string) =>
  winston.format((info) => {
    const [trace] = Array.isArray(info.stack) ? (info.stack as unknown[]) : [];
    delete info.stack;
    if (typeof trace === 'string' && trace.includes('\n')) {
      info.error = { ...(info.error as object), stack_trace: trace };
    } else if (typeof trace === 'string' && typeof info.context !== 'string') {
      info.context = trace;
    }
    if (typeof info.context === 'string') {
      info.log = { ...(info.log as object), logger: info.context };
      delete info.context;
    }
    info.service = { name: `boxoffice-${app}` };
    return info;
  })();

/**
 * What a log line keeps of an error besides its type, message, stack trace and cause: the fields
 * that say what failed (a PostgreSQL SQLSTATE and constraint, the statement's text), read from the
 * error or from the driver error it wraps. Nothing else: ECS formatting copies every enumerable
 * field of an error into the line, and a driver error carries the statement's parameters (a
 * password hash, an e-mail address) and pg's `detail` (the values of a violated key).
 */
const LOGGED_ERROR_FIELDS = ['code', 'constraint', 'table', 'column', 'query'] as const;

/** Where Winston keeps a line's extra arguments (triple-beam's SPLAT, a registered symbol). */
const SPLAT = Symbol.for('splat');

/**
 * A copy of `error` for a log line: same class (so ECS `error.type`), message, stack and cause, and
 * only the {@link LOGGED_ERROR_FIELDS} that are strings or numbers.
 */
export function loggableError(error: Error): Error {
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error;
  Object.defineProperty(copy, 'message', { value: error.message, configurable: true, writable: true });
  Object.defineProperty(copy, 'stack', { value: error.stack, configurable: true, writable: true });
  if (error.cause !== undefined) Object.defineProperty(copy, 'cause', { value: error.cause, configurable: true });
  const own = error as unknown as Record<string, unknown>;
  const driver = own.driverError as Record<string, unknown> | undefined;
  for (const field of LOGGED_ERROR_FIELDS) {
    const value = own[field] ?? driver?.[field];
    if (typeof value === 'string' || typeof value === 'number')
      (copy as unknown as Record<string, unknown>)[field] = value;
  }
  return copy;
}

/**
 * Fields no log line keeps at its top level, whoever put them there: the statement parameters, pg's
 * `detail` and the driver error of a database error that a logger spread into the line without
 * the error itself (nest-winston's `warn(error)`, `log(error)`: the error's own fields, no Error).
 */
const DROPPED_FIELDS = ['parameters', 'detail', 'driverError'] as const;

/** Deletes the fields of `line` that are copies of `error`'s own enumerable fields (spread beside it). */
function dropSpreadCopies(line: Record<string | symbol, unknown>, error: Error): void {
  const own = error as unknown as Record<string, unknown>;
  for (const field of Object.keys(error)) {
    if (field !== 'level' && field !== 'message' && line[field] === own[field]) delete line[field];
  }
}

/**
 * Logged errors through {@link loggableError}, wherever a line carries one: `err` (Nest's
 * `logger.error({ message, err })`), `error` (`logger.error(error)`) and `context`
 * (`logger.warn('message', error)`), each moved to `err`, which ECS formatting turns into
 * `error.type`, `error.message` and the rest; Winston's splat (`logger.error('message', error)`).
 * The fields a logger spread beside an error are dropped with it, and {@link DROPPED_FIELDS}
 * wherever they come from.
 */
const redactErrors = winston.format((info) => {
  const line = info as Record<string | symbol, unknown>;
  for (const key of ['err', 'error', 'context']) {
    const value = line[key];
    if (!(value instanceof Error)) continue;
    dropSpreadCopies(line, value);
    delete line[key];
    line.err ??= loggableError(value);
  }
  const splat = line[SPLAT];
  if (Array.isArray(splat)) {
    line[SPLAT] = splat.map((item: unknown) => {
      if (!(item instanceof Error)) return item;
      // Winston copied the error's fields into the line before any format ran.
      dropSpreadCopies(line, item);
      return loggableError(item);
    });
  }
  for (const field of DROPPED_FIELDS) delete line[field];
  return info;
});

const onlyLevel = (level: string) => winston.format((info) => (info.level === level ? info : false))();

/** The winston logger of a process, and its daily files by level. */
function build(options: LoggerOptions): { winston: winston.Logger; files: Map<string, DailyFile> } {
  const ecs = winston.format.combine(requestIdField(), ecsNames(options.app), ecsFormat({ convertErr: true }));
  const files = new Map(
    FILE_LEVELS.map((level) => [
      level,
      new DailyFile({ dir: options.dir, prefix: `${options.app}-${level}`, keepDays: 14 }),
    ]),
  );
  // A transport's own level overrides the logger's: only the files of levels that LOG_LEVEL allows
  // get one, or a `debug` file transport would take debug lines whatever the logger's level.
  const levels = winston.config.npm.levels;
  const transports: winston.transport[] = FILE_LEVELS.filter((level) => levels[level] <= levels[options.level]).map(
    (level) =>
      new DailyFileTransport({
        file: files.get(level)!,
        level,
        format: winston.format.combine(onlyLevel(level), ecs),
      }),
  );
  if (options.console === 'pretty') {
    transports.push(
      new winston.transports.Console({
        format: winston.format.combine(
          requestIdField(),
          winston.format.timestamp(),
          nestWinston.format.nestLike(options.app, { colors: process.stdout.isTTY, prettyPrint: false }),
        ),
      }),
    );
  } else if (options.console === 'json') {
    transports.push(new winston.transports.Console({ format: ecs }));
  }
  return {
    winston: winston.createLogger({ level: options.level, format: redactErrors(), transports, exitOnError: false }),
    files,
  };
}

export function createWinston(options: LoggerOptions): winston.Logger {
  return build(options).winston;
}

/**
 * The Nest logger of a process: Winston with ECS JSON files per level, rotated daily. With
 * `accessLog` and a level that allows `info`, `AccessLog.of(logger)` is the access log writing
 * into the same `info` file.
 */
export function createLogger(options: LoggerOptions): LoggerService {
  const { winston: instance, files } = build(options);
  const logger = WinstonModule.createLogger({ instance });
  // Not `instance.isInfoEnabled()`: that is true whenever one file transport takes `info`.
  if (options.accessLog && winston.config.npm.levels[options.level] >= winston.config.npm.levels.info) {
    AccessLog.attach(logger, new AccessLog(options.app, files.get('info'), options.console));
  }
  return logger;
}
