import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  Injectable,
  Logger,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiHeader } from '@nestjs/swagger';
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
 * synchronously. The purchase's after-step is AdmissionEnd, called by the route itself: an
 * interceptor would make Nest run its rxjs machinery (`defer`/`mergeAll`/`lastValueFrom`, an
 * async resource) on every purchase, ~6 % of a purchase's CPU (docs/performance.md).
 */
export const RequiresAdmission = (use: AdmissionUse) =>
  applyDecorators(
    SetMetadata(ADMISSION, use),
    UseGuards(AdmissionGuard),
    ApiHeader({
      name: 'Admission-Token',
      required: false,
      description:
        'Required (403 without a valid one) while the performance has a waiting room: see GET /queue/:ticketId',
    }),
  );

/** The request as the admission steps see it (Fastify's, or any with these fields). */
export interface AdmissionRequest {
  user?: AuthenticatedUser;
  body?: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** Set by AdmissionGuard: the admission a purchase used, for AdmissionEnd to end. */
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
export class AdmissionEnd {
  private readonly logger = new Logger(AdmissionEnd.name);

  constructor(private readonly gate: AdmissionGate) {}

  /**
   * Ends the session of the admission AdmissionGuard noted on `request`, if any; call it once the
   * purchase succeeded. Null when there is none (most purchases: no promise to wait for). Never
   * rejects: if ending fails, the session still ends at its TTL.
   */
  afterPurchase(request: AdmissionRequest): Promise<void> | null {
    const admitted = request[ADMITTED];
    const user = request.user;
    if (!admitted || !user) return null;
    return this.gate.complete(user.id, admitted.performanceId, admitted.ticketId).catch((error: unknown) => {
      this.logger.warn(`could not end the queue session of ticket ${admitted.ticketId}: ${String(error)}`);
    });
  }
}
