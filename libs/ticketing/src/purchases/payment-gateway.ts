import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Env } from '@app/config';
import { PaymentDeclinedError } from '../errors';

export interface ChargeRequest {
  /** Made before the charge. */
  purchaseId: string;
  /**
   * The gateway charges one key once: a retried charge with the same key (a retried request, or
   * `batch` learning the charge of a crashed one) answers the first charge and takes no more.
   */
  idempotencyKey: string;
  userId: string;
  /** An integer in minor units of `currency` (1050 KRW is ₩1,050; 1050 EUR is €10.50). */
  amount: number;
  /** ISO 4217 code. */
  currency: string;
}

/**
 * The port to whoever moves the money. The abstract class is the DI token: bind another
 * implementation with `{ provide: PaymentGateway, useClass: … }`.
 */
export abstract class PaymentGateway {
  /** Charges the buyer; throws `PaymentDeclinedError` when the payment is refused. */
  abstract charge(request: ChargeRequest): Promise<{ chargeId: string }>;

  /** Gives a charge back in full. */
  abstract refund(chargeId: string): Promise<void>;
}

/**
 * The default gateway: approves every charge and every refund, moving no money. A charge's id
 * follows from its idempotency key, so a retried charge is the same charge. Its ledger is the
 * payment attempts. A production process that starts with it says so at warn level, once: a
 * deployment that forgot to bind a real gateway would give tickets away.
 */
@Injectable()
export class ApprovingPaymentGateway extends PaymentGateway implements OnApplicationBootstrap {
  private readonly logger = new Logger(ApprovingPaymentGateway.name);

  constructor(@Inject(Env) private readonly env: Env) {
    super();
  }

  onApplicationBootstrap(): void {
    if (this.env.NODE_ENV !== 'production') return;
    this.logger.warn(
      'payments: the default ApprovingPaymentGateway approves every charge and moves no money; ' +
        'bind a real PaymentGateway before selling tickets (README, Purchases)',
    );
  }

  charge(request: ChargeRequest): Promise<{ chargeId: string }> {
    return Promise.resolve({ chargeId: `ch_${request.idempotencyKey}` });
  }

  refund(): Promise<void> {
    return Promise.resolve();
  }
}

/** A gateway that declines every charge, for tests and demos of the 402 path. */
@Injectable()
export class DecliningPaymentGateway extends PaymentGateway {
  charge(): Promise<{ chargeId: string }> {
    return Promise.reject(new PaymentDeclinedError());
  }

  refund(): Promise<void> {
    return Promise.resolve();
  }
}
