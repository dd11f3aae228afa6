import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BadRequestException, RequestMethod, UnsupportedMediaTypeException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError, corsOrigins, Env, EnvSource, TrustedProxies } from '@app/config';
import { AccessLog, RequestContext } from '@app/logging';
import { ErrorBodyDto, errorBody } from './common/error-body.dto';
import { LoadShedder, queuedMs, SHED_MESSAGE, SHED_RETRY_AFTER_SECONDS, ShedReason } from './common/load-shedding';
import { CompiledValidationPipe, VALIDATION_OPTIONS } from './common/compiled-validation';
import {
  answerClientError,
  answerConnect,
  answerExpectation,
  answerFrameworkError,
  CORS_EXPOSED_HEADERS,
  isConfiguredPreflight,
} from './common/fastify-errors';
import { carriesBody, NO_BODY, refuseOtherBodies } from './common/no-body';
import { addErrorResponses, routeFacts } from './common/openapi-errors';
import { acceptNullWhereNullable } from './common/openapi-nullables';
import { summarizeOperations } from './common/openapi-summaries';
import { isUtf8Charset, repeatedSingleHeader } from './common/header-checks';
import {
  inputProblems,
  jsonInputProblems,
  jsonPropertyNames,
  parsedPropertyNames,
  MAX_JSON_DEPTH,
  undecodableQuery,
} from './common/input-guard';
import { HttpMetrics } from './metrics/http-metrics';
import { API_PREFIX } from './common/location';
import { QueueStreams } from './waiting-room/queue-streams';

const AUTH_PATH = `/${API_PREFIX}/auth/`;
const BODY_LIMIT_BYTES = 64 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

type SendDone = (error: null, payload: unknown) => void;

/** Ids made by this process: a random UUID's first 24 characters, then a 12-hex-digit count. */
const requestIds = { prefix: '', next: 0 };
const REQUEST_IDS_PER_PREFIX = 2 ** 48;

/**
 * The id of a request that brought none: UUID-shaped (36 characters, version-4 layout), unique
 * across processes by its random prefix (~70 random bits, drawn again every 2^48 ids) and within
 * one by its count. `randomUUID()` per request was ~2 % of the liveness route's CPU; ids
 * correlate log lines and are no secret.
 */
function newRequestId(): string {
  if (requestIds.next % REQUEST_IDS_PER_PREFIX === 0) {
    requestIds.prefix = randomUUID().slice(0, 24);
    requestIds.next = 0;
  }
  const count = (requestIds.next++).toString(16);
  return requestIds.prefix + '000000000000'.slice(count.length) + count;
}

/** The `Location` a `201` answer carries (what the request created), if any. */
function createdPath(reply: FastifyReply): string | undefined {
  const location = reply.getHeader('location');
  return typeof location === 'string' ? location : undefined;
}

/**
 * `request.ip` without its cost when no proxy spoke: with a `trustProxy` function Fastify's getter
 * runs proxy-addr on every read (parses `X-Forwarded-For`, builds the address list: ~1.5 % of a
 * liveness request). Without that header the list is the socket's address alone, so the answer
 * is the same whatever the trusted proxies are. Undefined once the client has closed its side before
 * the answer: Node forgets the socket's address, whatever Fastify's types say.
 */
function clientIpOf(request: FastifyRequest): string | undefined {
  return request.headers['x-forwarded-for'] === undefined ? (request.socket.remoteAddress ?? request.ip) : request.ip;
}

/** Builds the API application exactly as `main.ts` runs it; tests use it too. */
export async function createApiApp(
  module: { forRoot(overrides?: EnvSource): unknown },
  options: { overrides?: EnvSource; logger?: import('@nestjs/common').LoggerService | false } = {},
): Promise<NestFastifyApplication> {
  // The trusted proxies come from the configuration, which Nest reads after the adapter exists.
  const proxies: { trusted?: TrustedProxies } = {};
  // Likewise the CORS origins, for the answers Fastify and Node's parser give before @fastify/cors runs.
  const cors: { origins?: ReadonlySet<string> } = {};
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: (address: string) => proxies.trusted?.trusts(address) ?? false,
    // Take the caller's request id when it is a sane token; otherwise make one.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId();
    },
    // Fastify's own errors answer with the uniform body too.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
      answerFrameworkError(error, request, reply, cors.origins),
    clientErrorHandler: (error, socket) => answerClientError(error, socket, cors.origins),
    // Node answers an HTTP/1.1 request without Host itself, with a bare 400 no handler sees; the
    // onRequest hook refuses it instead, with the uniform body (configureApp).
    http: { requireHostHeader: false },
  });
  const app = await NestFactory.create<NestFastifyApplication>(module.forRoot(options.overrides) as never, adapter, {
    logger: options.logger ?? undefined,
    abortOnError: false,
    // Nest's own body parsers stay off: configureApp registers the JSON parser (see there).
    bodyParser: false,
  });
  // What Node's HTTP server answers itself, before Fastify sees a request (see fastify-errors.ts).
  const server = app.getHttpServer() as Server;
  server.on('checkExpectation', (request, response) => answerExpectation(request, response, cors.origins));
  server.on('connect', (request, socket) => answerConnect(request, socket, cors.origins));
  proxies.trusted = new TrustedProxies(app.get(Env).TRUST_PROXY);
  configureApp(app, app.get(Env).ACCESS_LOG ? AccessLog.of(options.logger) : undefined);
  const origins = corsOrigins(app.get(Env).CORS_ORIGINS);
  cors.origins = new Set(origins);
  // @fastify/cors (Nest's enableCors on Fastify): only when origins are configured, so the hot
  // routes of a deployment without browser pages on other origins pay nothing for it.
  if (origins.length > 0) app.enableCors(corsOptions(origins));
  return app;
}

/**
 * CORS for pages of `origins` (CORS_ORIGINS): the methods and request headers the API takes
 * (bearer tokens in Authorization, no cookies: no credentials mode), the answer headers a page
 * may read (Retry-After of 409/429/503, the seat map's ETag, the request id), preflights cached
 * 10 minutes by the browser. Only a preflight of a configured origin is answered as one (204);
 * @fastify/cors would answer any other OPTIONS itself, a `400 text/plain` without `Origin` or
 * `Access-Control-Request-Method` and a `204` to any origin, so for those its preflight handling
 * is off: the request goes on to its OPTIONS route, which hands it to the not-found handler, and
 * it is answered as without CORS_ORIGINS (404, the uniform body; no route of the API takes
 * OPTIONS), readable by a page of a configured origin as other errors are.
 */
export function corsOptions(origins: string[]) {
  const allowed = new Set(origins);
  const preflights = corsSettings(origins);
  const others = { ...preflights, preflight: false };
  return {
    delegator: (request: FastifyRequest, callback: (error: Error | null, options: typeof preflights) => void) =>
      callback(null, request.method !== 'OPTIONS' || isConfiguredPreflight(request, allowed) ? preflights : others),
  };
}

/** The settings of {@link corsOptions}, whatever the request. */
function corsSettings(origins: string[]) {
  return {
    origin: origins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: [
      'Authorization',
      'Content-Type',
      'Idempotency-Key',
      'Admission-Token',
      'If-None-Match',
      'X-Request-Id',
    ],
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600,
  };
}

/** The 415 message for a body sent with a Content-Encoding other than `identity` (gzip, br, …). */
export const CONTENT_ENCODING_REFUSED = 'content encoding is not supported: send the body uncompressed (identity)';

/** The 415 message for a JSON body whose Content-Type names a charset other than UTF-8. */
export const CHARSET_REFUSED = 'Unsupported charset: send application/json in UTF-8 (charset=utf-8 or none)';

/** The 400 message for a header sent twice that may be sent once (see header-checks). */
export const repeatedHeader = (name: string) => `the ${name} header must be sent once`;

/** The 400 message for an HTTP/1.1 request without a Host header. */
export const MISSING_HOST = 'the Host header is missing (HTTP/1.1 requires it)';

/** The 400 message for a request target holding a `#` (a fragment, which never leaves a client). */
export const FRAGMENT_REFUSED =
  'the request target must not contain "#" (a URL\'s fragment is not sent; encode a "#" as %23)';

/** The 400 message for a JSON body with a property named twice in one object. */
export const DUPLICATE_PROPERTY = 'JSON names a property twice in one object';

/**
 * Routes load shedding never sheds nor counts: the probes (a replica past capacity is busy, not
 * dead: a failed probe would restart it or take it out of rotation), Prometheus's scrape, and the
 * waiting room's event streams (open for minutes: counted, they would fill the cap).
 */
const NEVER_SHED = new Set(['/health/live', '/health/ready', '/metrics', `/${API_PREFIX}/queue/:ticketId/events`]);

function configureApp(app: NestFastifyApplication, accessLog: AccessLog | undefined): void {
  const metrics = app.get(HttpMetrics);
  const fastify = app.getHttpAdapter().getInstance();
  const env = app.get(Env);
  const shedder = new LoadShedder({
    maxInFlight: env.SHED_MAX_IN_FLIGHT,
    maxQueueMs: env.SHED_MAX_QUEUE_MS,
    eventLoopPercent: env.SHED_EVENT_LOOP_UTILIZATION_PERCENT,
  });
  shedder.start();
  fastify.addHook('onClose', (_instance, done) => {
    shedder.stop();
    done();
  });
  // Requests shed, with why, for their access line (only shed ones are ever in it).
  const shedReasons = new WeakMap<FastifyRequest, ShedReason>();
  if (shedder.enabled) {
    const release = () => shedder.release();
    // Load shedding: past capacity, a 503 now, before the body is read or anything done (see
    // LoadShedder). Counted until the answer is done or its connection closed ('close' comes
    // either way), so no path leaves the count raised.
    const shed = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
      const reason = shedder.verdict(queuedMs(request.headers['x-request-start']));
      if (reason === null) {
        shedder.admit();
        reply.raw.once('close', release);
        return done();
      }
      metrics.shedRequests.inc({ reason });
      shedReasons.set(request, reason);
      void reply
        .code(503)
        .header('retry-after', String(SHED_RETRY_AFTER_SECONDS))
        .header('content-type', 'application/json; charset=utf-8')
        .send(errorBody(503, SHED_MESSAGE, request.id, request.url.split('?')[0]));
    };
    // A hook of each route but NEVER_SHED's, after the global onRequest (request id, headers):
    // the probes pay nothing for it, and with shedding off no route does.
    fastify.addHook('onRoute', (route) => {
      if (NEVER_SHED.has(route.url)) return;
      const own =
        route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
      route.onRequest = [...own, shed];
    });
  }

  // Many clients send `Content-Type: application/json` on a DELETE or POST without a body: read
  // that as no body rather than refusing it. Nesting deeper than any DTO has is refused before
  // parsing (class-transformer recurses and would overflow the stack); anything else goes to
  // Fastify's own safe parser, which refuses `__proto__` and `constructor.prototype`.
  // A compressed body (any Content-Encoding but `identity`) is a 415: nothing here decodes one, and
  // its bytes are not the JSON they stand for; so is one whose Content-Type names a charset other
  // than UTF-8 (Fastify picks the parser by the media type alone). Bytes that are not UTF-8 are refused rather than
  // read as U+FFFD. JSON is the only body type:
  // Fastify's text/plain parser goes, so a plain-text body is a 415 like any other.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES },
    (request, raw, done) => {
      const encoding = request.headers['content-encoding'];
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
        return done(new UnsupportedMediaTypeException(CONTENT_ENCODING_REFUSED), undefined);
      }
      if (!isUtf8Charset(request.headers['content-type'])) {
        return done(new UnsupportedMediaTypeException(CHARSET_REFUSED), undefined);
      }
      if (!isUtf8(raw as Buffer)) return done(new BadRequestException('body is not valid UTF-8'), undefined);
      const body = (raw as Buffer).toString('utf8');
      if (body === '') return done(null, undefined);
      const names = jsonPropertyNames(body, MAX_JSON_DEPTH);
      if (names < 0) {
        return done(new BadRequestException(`JSON nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      }
      parseJson(request, body, (error: Error | null, parsed?: unknown) => {
        // The safe parser refuses `__proto__` and `constructor.prototype` with the words of a
        // syntax error; valid JSON that it refused names such a property: say which, as for any
        // unknown property. (Parsed again only on this error path.)
        const problems = error === null ? [] : jsonInputProblems(body);
        if (problems.length > 0) return done(new BadRequestException(problems), undefined);
        // A property named twice in one object: the parser kept the last, so fewer names are left
        // than the text had. Refused rather than guessing which one the sender meant.
        if (error === null && names > 0 && parsedPropertyNames(parsed) < names) {
          return done(new BadRequestException(DUPLICATE_PROPERTY), undefined);
        }
        done(error, parsed);
      });
    },
  );
  // Routes that take no body refuse one in any content type (a JSON one: NoBodyGuard).
  fastify.addHook('onRoute', refuseOtherBodies);
  // One check of every decoded body, query and path for what no route accepts (see input-guard),
  // and of a query string that does not decode (Fastify's parser keeps such text as it came).
  fastify.addHook('preValidation', (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    const queryProblem = undecodableQuery(request.url);
    if (queryProblem !== null) return done(new BadRequestException([queryProblem]));
    const problems = inputProblems(request.body, request.query, request.params);
    done(problems.length > 0 ? new BadRequestException(problems) : undefined);
  });

  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    void reply.header('x-request-id', request.id);
    // No MIME sniffing, no framing (clickjacking); tokens and personal data never stored by a cache.
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('content-security-policy', "frame-ancestors 'none'");
    if (request.headers.authorization !== undefined || request.url.startsWith(AUTH_PATH)) {
      void reply.header('cache-control', 'no-store');
    }
    RequestContext.enter({ requestId: request.id });
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400 (Node's check is off, see the adapter).
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return done(new BadRequestException(MISSING_HOST));
    }
    const repeated = repeatedSingleHeader(request.raw.rawHeaders);
    if (repeated !== null) return done(new BadRequestException(repeatedHeader(repeated)));
    // RFC 9112 §3.2: no fragment in a request target; the router would read `/x#a` as `/x?a`.
    if (request.url.includes('#')) return done(new BadRequestException(FRAGMENT_REFUSED));
    // No GET or HEAD of the API takes a body, and Fastify never reads one: refused as on the other
    // routes that take none, rather than answered as if it were not there.
    if ((request.method === 'GET' || request.method === 'HEAD') && carriesBody(request.headers)) {
      return done(new BadRequestException([NO_BODY]));
    }
    done();
  });
  // Keep-alive sockets (Nginx keeps a pool open) would hold shutdown forever: on close, drop the
  // idle ones now and close each busy one right after its in-flight response (drainConnections
  // lets Nginx close them first).
  const shutdown = { closing: false };
  shutdownStates.set(fastify.server, shutdown);
  fastify.addHook('preClose', (done: () => void) => {
    shutdown.closing = true;
    fastify.server.closeIdleConnections();
    done();
  });
  // One hook for everything said about an answer as it leaves (each hook is a step of Fastify's
  // hook runner on every request): the connection header while closing, the per-route latency
  // (to the answer handed to the socket, the same time the access line gives), and the access
  // line, queued before the response leaves and written right after this turn (see
  // @app/logging): a replica killed with SIGKILL loses the lines of its last turn.
  fastify.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: SendDone) => {
    if (shutdown.closing) void reply.header('connection', 'close');
    const route = request.routeOptions.url ?? 'unmatched';
    const elapsedMs = reply.elapsedTime;
    const statusCode = reply.statusCode;
    metrics.requestDuration.observe(request.method, route, statusCode, elapsedMs / 1000);
    if (accessLog) {
      const url = request.url;
      const query = url.indexOf('?');
      accessLog.write({
        requestId: request.id,
        method: request.method,
        route,
        path: query < 0 ? url : url.slice(0, query),
        statusCode,
        elapsedMs,
        clientIp: clientIpOf(request),
        created: statusCode === 201 ? createdPath(reply) : undefined,
        shed: statusCode === 503 ? shedReasons.get(request) : undefined,
      });
    }
    done(null, payload);
  });

  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  app.useGlobalPipes(new CompiledValidationPipe(VALIDATION_OPTIONS));
  if (app.get(Env).DOCS_ENABLED) setupSwagger(app);
}

function setupSwagger(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('boxoffice')
    .setDescription(
      'Ticketing for sales where demand far exceeds supply. Every error answers with `ErrorBodyDto`; ' +
        'each operation lists the error statuses it may answer, and any may answer 431 (request headers too large) ' +
        'or 503 with Retry-After (a store it needs is unavailable, or the api is past capacity and shed the request ' +
        'before doing anything with it: retry after Retry-After, a purchase with the same Idempotency-Key). ' +
        'The rules behind each answer, route by route, ' +
        'are in the guides under docs/guide/ in the boxoffice repository (its README lists them in "Using the API").',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  // Built on the first request for /docs, /docs-json or /docs-yaml, not at start: scanning every
  // controller and DTO was ~0.5 s of the api's ~5 s start CPU, paid by every replica and test start.
  const document = (): OpenAPIObject => {
    const built = SwaggerModule.createDocument(app, config, { extraModels: [ErrorBodyDto] });
    addErrorResponses(built, routeFacts(app));
    acceptNullWhereNullable(built);
    summarizeOperations(built);
    return built;
  };
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', yamlDocumentUrl: 'docs-yaml' });
}

/** Per api server: once true, every answer closes its connection (`Connection: close`). */
const shutdownStates = new WeakMap<Server, { closing: boolean }>();

/**
 * Longest wait of `drainConnections`, in ms: above Nginx's upstream `keepalive_timeout` (4 s in
 * deploy/nginx/nginx.conf.template), well within a shutdown's `SHUTDOWN_GRACE_MS` (15 s).
 */
export const DRAIN_MAX_MS = 6_000;

/**
 * Stops a replica taking requests without cutting one a proxy already sent it; run on SIGTERM
 * before `app.close()`. It stops accepting connections (a new one is refused, which Nginx retries
 * on another replica, a POST too: nothing was sent), answers every request still arriving on a
 * kept-alive connection with `Connection: close`, ends the waiting-room event streams (their
 * clients reconnect to another replica: QueueStreams.ending), and waits until no connection is
 * left (Nginx closes its idle ones after its upstream `keepalive_timeout`), at most `maxMs` ms;
 * then it drops
 * the idle ones left and waits for the busy ones' answers. Dropping idle connections at once (what
 * `app.close()` alone does) reset those Nginx had just written a request on that this busy process
 * had not read yet, and Nginx, which never resends a POST it sent, answered 502: a hold or purchase
 * failed at every rolling restart (ops trial 2026-12-07, O1).
 */
export async function drainConnections(app: NestFastifyApplication, maxMs = DRAIN_MAX_MS): Promise<void> {
  const server = app.getHttpServer() as Server;
  const state = shutdownStates.get(server);
  if (state === undefined || !server.listening) return;
  state.closing = true;
  // Waiting-room event streams never end on their own: each would hold its connection to the end.
  app.get(QueueStreams).endAll();
  // net.Server's close: http.Server's would drop the idle connections at once. Its callback comes
  // once the last connection ended.
  const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
  const drained = await Promise.race([closed.then(() => true), sleep(maxMs, false, { ref: false })]);
  if (drained) return;
  server.closeIdleConnections();
  await closed;
}

/**
 * Listens on HOST:PORT with a listen backlog of LISTEN_BACKLOG. A port another process holds
 * (EADDRINUSE) is a ConfigError naming PORT, so the start ends with one line saying what to change
 * rather than a stack; other errors as they are.
 */
export async function listen(app: NestFastifyApplication): Promise<void> {
  const env = app.get(Env);
  await app
    .listen({ port: env.PORT, host: env.HOST, backlog: env.LISTEN_BACKLOG })
    .catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error;
      throw new ConfigError([
        `PORT ${env.PORT} is in use on ${env.HOST} by another process: stop it, or set PORT to a free port`,
      ]);
    });
}
