import {
  applyDecorators,
  CallHandler,
  ExecutionContext,
  Injectable,
  Logger,
  NestInterceptor,
  SetMetadata,
  UseInterceptors,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiHeader } from '@nestjs/swagger';
import { concatMap, Observable } from 'rxjs';
import { AuthenticatedUser } from '@app/auth';
import { AdmissionGate, fitsId, performanceOfId } from '@app/ticketing';

const ADMISSION = 'admission';
type AdmissionUse = 'hold' | 'purchase';

/**
 * Marks a route that needs a waiting-room admission while the performance's queue is on: `hold`
 * takes the performance from `body.performanceId`, `purchase` from `body.reservationId`; a
 * purchase that succeeds ends the buyer's session and frees the slot.
 */
export const RequiresAdmission = (use: AdmissionUse) =>
  applyDecorators(
    SetMetadata(ADMISSION, use),
    UseInterceptors(AdmissionInterceptor),
    ApiHeader({
      name: 'Admission-Token',
      required: false,
      description:
        'Required (403 without a valid one) while the performance has a waiting room: see GET /queue/:ticketId',
    }),
  );

/** The admission check at the HTTP edge (see AdmissionGate): a Map lookup when no queue is on. */
@Injectable()
export class AdmissionInterceptor implements NestInterceptor {
  private readonly logger = new Logger(AdmissionInterceptor.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly gate: AdmissionGate,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> | Promise<Observable<unknown>> {
    const use = this.reflector.get<AdmissionUse | undefined>(ADMISSION, context.getHandler());
    const request = context.switchToHttp().getRequest<{
      user?: AuthenticatedUser;
      body?: unknown;
      headers: Record<string, string | string[] | undefined>;
    }>();
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
    if (!use || !request.user || typeof performanceId !== 'number' || !fitsId(performanceId)) return next.handle();
    // No queue, as this process knows: no promise, no Redis (the hot path of most performances).
    if (this.gate.knownOff(performanceId)) return next.handle();
    return this.admitted(use, request.user, performanceId, request.headers['admission-token'], next);
  }

  private async admitted(
    use: AdmissionUse,
    user: AuthenticatedUser,
    performanceId: number,
    token: unknown,
    next: CallHandler,
  ): Promise<Observable<unknown>> {
    const ticketId = await this.gate.admit(user.id, performanceId, token, use);
    if (use !== 'purchase' || ticketId === null) return next.handle();
    return next.handle().pipe(
      concatMap(async (answer) => {
        // The slot is freed before the answer; if that fails, the session still ends at its TTL.
        await this.gate.complete(user.id, performanceId, ticketId).catch((error: unknown) => {
          this.logger.warn(`could not end the queue session of ticket ${ticketId}: ${String(error)}`);
        });
        return answer;
      }),
    );
  }
}
