import {
  applyDecorators,
  CallHandler,
  CanActivate,
  ExecutionContext,
  Injectable,
  Logger,
  NestInterceptor,
  SetMetadata,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiHeader } from '@nestjs/swagger';
import { concatMap, Observable } from 'rxjs';
import { AuthenticatedUser } from '@app/auth';
import { AdmissionGate, fitsId, performanceOfId } from '@app/ticketing';

const ADMISSION = 'admission';
const ADMITTED = Symbol('admitted');
type AdmissionUse = 'hold' | 'purchase';

/**
 * Marks a route that needs a waiting-room admission while the performance's queue is on: `hold`
 * takes the performance from `body.performanceId`, `purchase` from `body.reservationId`; a
 * purchase that succeeds ends the buyer's session and frees the slot.
 *
 * The check is a guard (after the global authentication guards): without a queue it answers
 * synchronously, so Nest runs no interceptor machinery (rxjs `defer`/`mergeAll`, an async
 * resource per request) on a hold. Only a purchase has an interceptor, for its after-step.
 */
export const RequiresAdmission = (use: AdmissionUse) =>
  applyDecorators(
    SetMetadata(ADMISSION, use),
    UseGuards(AdmissionGuard),
    ...(use === 'purchase' ? [UseInterceptors(AdmissionInterceptor)] : []),
    ApiHeader({
      name: 'Admission-Token',
      required: false,
      description:
        'Required (403 without a valid one) while the performance has a waiting room: see GET /queue/:ticketId',
    }),
  );

interface AdmissionRequest {
  user?: AuthenticatedUser;
  body?: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** Set by AdmissionGuard: the admission a purchase used, for AdmissionInterceptor to end. */
  [ADMITTED]?: { performanceId: number; ticketId: string };
}

/** The admission check at the HTTP edge (see AdmissionGate): a Map lookup when no queue is on. */
@Injectable()
export class AdmissionGuard implements CanActivate {
  /** The use of each route handler, read once (decorator metadata does not change). */
  private readonly uses = new WeakMap<object, AdmissionUse | null>();

  constructor(
    private readonly reflector: Reflector,
    private readonly gate: AdmissionGate,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const handler = context.getHandler();
    let use = this.uses.get(handler);
    if (use === undefined) {
      use = this.reflector.get<AdmissionUse | undefined>(ADMISSION, handler) ?? null;
      this.uses.set(handler, use);
    }
    const request = context.switchToHttp().getRequest<AdmissionRequest>();
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
      string,
      unknown
    >;
    const performanceId =
      use === 'hold'
        ? body.performanceId
        : typeof body.reservationId === 'string'
          ? performanceOfId(body.reservationId.toLowerCase())
          : null;
    // No user or no well-formed performance: authentication and validation answer it.
    if (!use || !request.user || typeof performanceId !== 'number' || !fitsId(performanceId)) return true;
    // No queue, as this process knows: no promise, no Redis (the hot path of most performances).
    if (this.gate.knownOff(performanceId)) return true;
    return this.admitted(use, request, request.user, performanceId);
  }

  private async admitted(
    use: AdmissionUse,
    request: AdmissionRequest,
    user: AuthenticatedUser,
    performanceId: number,
  ): Promise<boolean> {
    const ticketId = await this.gate.admit(user.id, performanceId, request.headers['admission-token'], use);
    if (use === 'purchase' && ticketId !== null) request[ADMITTED] = { performanceId, ticketId };
    return true;
  }
}

/** After a purchase that used an admission: ends its session, freeing the slot, before the answer. */
@Injectable()
export class AdmissionInterceptor implements NestInterceptor {
  private readonly logger = new Logger(AdmissionInterceptor.name);

  constructor(private readonly gate: AdmissionGate) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AdmissionRequest>();
    const admitted = request[ADMITTED];
    const user = request.user;
    if (!admitted || !user) return next.handle();
    return next.handle().pipe(
      concatMap(async (answer) => {
        // The slot is freed before the answer; if that fails, the session still ends at its TTL.
        await this.gate.complete(user.id, admitted.performanceId, admitted.ticketId).catch((error: unknown) => {
          this.logger.warn(`could not end the queue session of ticket ${admitted.ticketId}: ${String(error)}`);
        });
        return answer;
      }),
    );
  }
}
