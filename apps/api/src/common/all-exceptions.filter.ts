import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestContext } from '@app/logging';
import { DomainError, DomainErrorKind } from '@app/core';
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
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const mapped = this.map(exception);
    const requestId = RequestContext.requestId() ?? String(request.id);

    // A 503 the app chose to answer (readiness: not ready) is no error; its thrower logs why.
    if (mapped.status >= 500 && !(exception instanceof ServiceUnavailableException)) {
      this.logger.error({
        message: `${request.method} ${request.url} failed: ${describe(exception)}`,
        err: exception instanceof Error ? exception : new Error(String(exception)),
      });
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

  private map(exception: unknown): Mapped {
    if (exception instanceof DomainError) {
      return { status: DOMAIN_STATUS[exception.kind], message: exception.message, details: exception.details };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status >= 500) return { status, message: status === 503 ? exception.message : 'Internal server error' };
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
      return { status: fastifyStatus, message: publicFastifyMessage(exception as { code?: string; message: string }) };
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
