import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './error-body.dto';

/**
 * The answer headers a page of a CORS origin may read (Retry-After of 409/429/503, the seat map's
 * ETag, the request id, a 201's Location).
 */
export const CORS_EXPOSED_HEADERS = ['Retry-After', 'ETag', 'X-Request-Id', 'Location'];

/**
 * The CORS headers of an answer to `origin` when it is one of `origins` (CORS_ORIGINS), as
 * @fastify/cors gives the answers it sees; none otherwise. For the answers given before its hook
 * runs (below), so that a page of an allowed origin can read their status and body.
 */
function corsHeaders(origin: string | undefined, origins: ReadonlySet<string> | undefined): [string, string][] {
  if (!origin || !origins?.has(origin)) return [];
  return [
    ['access-control-allow-origin', origin],
    ['vary', 'Origin'],
    ['access-control-expose-headers', CORS_EXPOSED_HEADERS.join(', ')],
  ];
}

/**
 * Whether `request` is a CORS preflight of one of `origins` (CORS_ORIGINS): an OPTIONS with the
 * `Origin` of a configured origin and `Access-Control-Request-Method`, as a browser sends before a
 * request of another origin that is not "simple".
 */
export function isConfiguredPreflight(request: FastifyRequest, origins: ReadonlySet<string>): boolean {
  const origin = request.headers.origin;
  return (
    request.method === 'OPTIONS' &&
    origin !== undefined &&
    origins.has(origin) &&
    request.headers['access-control-request-method'] !== undefined
  );
}

/**
 * Errors Fastify answers itself, before a route (and so the exception filter) is reached: a URL
 * that does not decode, a path parameter over the length limit. Answered with the uniform body,
 * and the CORS headers when the request's Origin is one of `origins`.
 */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  origins?: ReadonlySet<string>,
): void {
  const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  const message = status === 414 ? 'A path parameter is too long' : 'The URL is not valid';
  for (const [name, value] of corsHeaders(request.headers.origin, origins)) void reply.header(name, value);
  void reply
    .status(status)
    .header('x-request-id', request.id)
    .header('content-type', 'application/json; charset=utf-8')
    .send(errorBody(status, message, String(request.id), pathOf(request.raw.url)));
}

/**
 * Errors of the HTTP parser, before there is a request at all (headers or URL too large,
 * malformed HTTP, a request that took too long): the uniform body written on the socket, which
 * is then closed, as Node's and Fastify's own handlers do. The CORS headers go with it when the
 * Origin header read so far is one of `origins`.
 */
export function answerClientError(
  error: Error & { code?: string; rawPacket?: unknown },
  socket: Socket,
  origins?: ReadonlySet<string>,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'The request headers or the URL are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request took too long to arrive']
        : [400, 'Malformed HTTP request'];
  const packet = Buffer.isBuffer(error.rawPacket) ? error.rawPacket.toString('latin1') : '';
  const firstLine = packet.slice(0, 4096).split('\r\n', 1)[0];
  const origin = /\r\norigin:[ \t]*([^\r\n]*?)[ \t]*\r\n/i.exec(packet)?.[1];
  writeErrorAndClose(socket, status, message, firstLine.split(' ')[1], origin, origins);
  socket.destroy(error);
}

/** The message of the answer to a CONNECT request. */
export const CONNECT_REFUSED = 'CONNECT is not supported: this server is not a proxy';

/**
 * A CONNECT request (a tunnel through a proxy): Node hands it to the server's `connect` listeners
 * and, with none, closes the connection without a word. Answered 400 with the uniform body (as
 * Nginx answers it), the CORS headers for a configured origin, and the connection closed.
 */
export function answerConnect(request: IncomingMessage, socket: Duplex, origins?: ReadonlySet<string>): void {
  writeErrorAndClose(socket, 400, CONNECT_REFUSED, request.url, request.headers.origin, origins);
  socket.destroy();
}

/** The message of the answer to an `Expect` other than `100-continue`. */
export const EXPECTATION_REFUSED = 'the only expectation supported is Expect: 100-continue';

/**
 * A request whose `Expect` is not `100-continue`: Node answers it itself with an empty 417 and no
 * request id, unless the server listens for `checkExpectation` (then it is ours to answer). Answered
 * 417 with the uniform body (RFC 9110: 417 Expectation Failed), the CORS headers for a configured
 * origin, and the connection closed, so the body the client may send after is never read as a
 * request.
 */
export function answerExpectation(
  request: IncomingMessage,
  response: ServerResponse,
  origins?: ReadonlySet<string>,
): void {
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(417, EXPECTATION_REFUSED, requestId, pathOf(request.url)));
  response.writeHead(417, [
    ['content-type', 'application/json; charset=utf-8'],
    ['content-length', String(Buffer.byteLength(body))],
    ...corsHeaders(request.headers.origin, origins),
    ['x-request-id', requestId],
    ['connection', 'close'],
  ]);
  response.end(body);
}

/**
 * Writes an error answer with the uniform body straight on `socket` (no request object exists, or
 * Node will not let one answer), `target` the request target it names, and `connection: close`.
 * The caller destroys the socket after.
 */
function writeErrorAndClose(
  socket: Duplex,
  status: number,
  message: string,
  target: string | undefined,
  origin: string | undefined,
  origins: ReadonlySet<string> | undefined,
): void {
  if (!socket.writable) return;
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(status, message, requestId, pathOf(target)));
  const cors = corsHeaders(origin, origins)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.write(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `${cors}x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** The path of a request target, cut short and kept to printable ASCII for the error body. */
function pathOf(target: string | undefined): string {
  const path = (target ?? '').split('?')[0];
  return /^\/[\x21-\x7e]*$/.test(path) ? path.slice(0, 2048) : '';
}
