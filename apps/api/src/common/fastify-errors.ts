import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-body.dto';

/**
 * Errors Fastify answers itself, before a route (and so the exception filter) is reached: a URL
 * that does not decode, a path parameter over the length limit. Answered with the uniform body.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  const message = status === 414 ? 'A path parameter is too long' : 'The URL is not valid';
  void reply
    .status(status)
    .header('x-request-id', request.id)
    .header('content-type', 'application/json; charset=utf-8')
    .send(errorBody(status, message, String(request.id), pathOf(request.raw.url)));
}

/**
 * Errors of the HTTP parser, before there is a request at all (headers or URL too large,
 * malformed HTTP, a request that took too long): the uniform body written on the socket, which
 * is then closed, as Node's and Fastify's own handlers do.
 */
export function answerClientError(error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'The request headers or the URL are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request took too long to arrive']
        : [400, 'Malformed HTTP request'];
  const requestId = randomUUID();
  const raw = Buffer.isBuffer(error.rawPacket) ? error.rawPacket.subarray(0, 4096).toString('latin1') : '';
  const firstLine = raw.split('\r\n', 1)[0];
  const body = JSON.stringify(errorBody(status, message, requestId, pathOf(firstLine.split(' ')[1])));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** The path of a request target, cut short and kept to printable ASCII for the error body. */
function pathOf(target: string | undefined): string {
  const path = (target ?? '').split('?')[0];
  return /^\/[\x21-\x7e]*$/.test(path) ? path.slice(0, 2048) : '';
}
