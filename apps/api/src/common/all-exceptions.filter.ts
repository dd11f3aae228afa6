import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  OnApplicationShutdown,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestContext } from '@app/logging';
import { Clock, DomainError, DomainErrorKind, RepeatedFailureLog, StoreUnavailableError } from '@app/core';
import { errorBody } from './error-body.dto';

const DOMAIN_STATUS: Record<DomainErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  unauthorized: HttpStatus.UNAUTHORIZED,
  payment_required: HttpStatus.PAYMENT_REQUIRED,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  too_many: HttpStatus.TOO_MANY_REQUESTS,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

/** The HTTP status of a domain error, as this filter answers it (also the SSE streams' error events). */
export function domainStatus(error: DomainError): number {
  return DOMAIN_STATUS[error.kind];
}

/**
 * While alike requests fail because a dependency is unavailable, the least time, in ms, between two
 * error lines about them: the first is logged in full, then a count of those since, every 10 s.
 */
export const UNAVAILABLE_SUMMARY_INTERVAL_MS = 10_000;

/** A request's failure as the error log says it. */
interface FailedRequest {
  /** "GET /api/v1/… failed: <error> (cause: <its cause>)". */
  line: string;
  error: Error;
  /** {@link failureKind} of a 503 of an unavailable dependency. */
  kind: string;
}

interface Mapped {
  status: number;
  message: string | string[];
  details?: Record<string, unknown>;
}

/**
 * Gives every error the uniform body; logs 5xx causes with the request id, never shows them (not
 * a `ServiceUnavailableException`: a 503 the app chose, readiness's "not ready", whose thrower logs why).
 * Knows no database errors: repositories raise what a client can cause (a duplicate, a vanished
 * parent row) as domain errors, libs/database a connection not had in time, a lock wait cut short
 * and PostgreSQL not there (restarting, refusing connections, ending this one) as
 * `DatabaseUnavailableError` (`unavailable`: 503 with its Retry-After), and any other database
 * error is a 500. Knows no Redis errors either: libs/redis raises an outage as
 * `StoreUnavailableError` (`unavailable`: 503 with its Retry-After), and any other Redis error is
 * a 500.
 *
 * A 500 (a bug) is logged in full, each one. A 503 of an unavailable dependency (a DomainError of
 * kind `unavailable`: Redis or PostgreSQL unavailable, a sale not replicated in time, a charge's
 * outcome unknown) is logged in full the first time of its {@link failureKind}, then counted: one
 * line every UNAVAILABLE_SUMMARY_INTERVAL_MS while they go on ("… and 1,234 more like it in the
 * last 10 s"), so an outage under load writes a few lines, not one with a stack per request (a
 * Redis Cluster reshard wrote 16,499). The access log keeps its line per request.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter, OnApplicationShutdown {
  private readonly logger = new Logger('Errors');
  private readonly unavailable: RepeatedFailureLog<FailedRequest>;
  /** Writes the counts due while kinds are remembered; stopped when none is. */
  private flushTimer?: NodeJS.Timeout;

  constructor(clock: Clock) {
    this.unavailable = new RepeatedFailureLog<FailedRequest>(
      {
        first: (failed) => this.logger.error({ message: failed.line, err: failed.error }),
        again: (latest, count, ms) =>
          this.logger.error(
            `… and ${count.toLocaleString('en-US')} more like it in the last ${Math.round(ms / 1000)} s ` +
              `(${latest.kind}); the last: ${latest.line}`,
          ),
      },
      () => clock.nowMs(),
      {
        intervalMs: UNAVAILABLE_SUMMARY_INTERVAL_MS,
        kindOf: (failed) => failed.kind,
      },
    );
  }

  /** Writes the counts not written yet: the last seconds of an outage the api stops in. */
  onApplicationShutdown(): void {
    this.stopFlushing();
    this.unavailable.flush(true);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const mapped = this.map(exception);
    const requestId = RequestContext.requestId() ?? String(request.id);

    // A 503 the app chose to answer (readiness: not ready) is no error; its thrower logs why.
    if (mapped.status >= 500 && !(exception instanceof ServiceUnavailableException)) {
      const line = `${request.method} ${request.url} failed: ${describe(exception)}`;
      const error = exception instanceof Error ? exception : new Error(String(exception));
      if (exception instanceof DomainError && exception.kind === 'unavailable') {
        this.countUnavailable({ line, error, kind: failureKind(exception) });
      } else {
        this.logger.error({ message: line, err: error });
      }
    }

    const body = errorBody(mapped.status, mapped.message, requestId, request.url.split('?')[0], mapped.details);
    const retryAfter =
      exception instanceof DomainError
        ? exception.retryAfterSeconds
        : exception instanceof HttpException
          ? (exception.getResponse() as { retryAfter?: number }).retryAfter
          : undefined;
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    void reply.status(mapped.status).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  private countUnavailable(failed: FailedRequest): void {
    this.unavailable.failed(failed);
    // A timer, not only the next failure: the count of an outage's last seconds is written then.
    this.flushTimer ??= setInterval(() => {
      if (!this.unavailable.flush()) this.stopFlushing();
    }, UNAVAILABLE_SUMMARY_INTERVAL_MS / 2).unref();
  }

  private stopFlushing(): void {
    clearInterval(this.flushTimer);
    this.flushTimer = undefined;
  }

  private map(exception: unknown): Mapped {
    if (exception instanceof DomainError) {
      return {
        status: DOMAIN_STATUS[exception.kind],
        message: exception.message,
        details: exception.details,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status >= 500)
        return {
          status,
          message: status === 503 ? exception.message : 'Internal server error',
        };
      const response = exception.getResponse();
      const message =
        typeof response === 'string'
          ? response
          : ((response as { message?: string | string[] }).message ?? exception.message);
      return { status, message };
    }
    // Errors raised by Fastify itself (bad JSON, wrong content type, body too large) carry a 4xx.
    const fastifyStatus = (exception as { statusCode?: unknown } | null)?.statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      return {
        status: fastifyStatus,
        message: publicFastifyMessage(exception as { code?: string; message: string }),
      };
    }
    return { status: 500, message: 'Internal server error' };
  }
}

function publicFastifyMessage(error: { code?: string; message: string }): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Unsupported content type: send application/json';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'Request body is too large';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Body cannot be empty when content-type is application/json';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case undefined:
      return 'Malformed JSON body';
    default:
      return error.message.replace(/\s+at\s.*$/s, '');
  }
}

/** For the log: the error, and what caused it (a store's own error behind a domain error). */
function describe(exception: unknown): string {
  if (!(exception instanceof Error)) return String(exception);
  const cause = exception.cause instanceof Error ? ` (cause: ${exception.cause.name}: ${exception.cause.message})` : '';
  return `${exception.name}: ${exception.message}${cause}`;
}

/**
 * What makes 503s alike in the error log: the error's class, the store of a StoreUnavailableError,
 * its cause's class and system code (ECONNREFUSED); never a message, which names slots and
 * addresses (`MOVED 4576 10.0.0.7:6379`), e.g. "StoreUnavailableError redis ← ReplyError".
 */
export function failureKind(error: DomainError): string {
  const parts = [error.constructor.name];
  if (error instanceof StoreUnavailableError) parts.push(error.store);
  if (error.cause instanceof Error) {
    const code = (error.cause as { code?: unknown }).code;
    parts.push(`← ${error.cause.constructor.name}${typeof code === 'string' ? ` ${code}` : ''}`);
  }
  return parts.join(' ');
}
