import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PaymentDeclinedError } from '../errors';

export interface ChargeRequest {
  /** Made before the charge; a real gateway takes it as its idempotency key. */
  purchaseId: string;
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

/** The default gateway: approves every charge and every refund. */
@Injectable()
export class ApprovingPaymentGateway extends PaymentGateway {
  charge(): Promise<{ chargeId: string }> {
    return Promise.resolve({ chargeId: `ch_${randomUUID()}` });
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
