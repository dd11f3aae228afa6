import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Env } from '@app/config';
import {
  ApprovingPaymentGateway,
  chargeLookupOf,
  DecliningPaymentGateway,
  refundIdempotencyKey,
} from './payment-gateway';

describe('ApprovingPaymentGateway', () => {
  afterEach(() => vi.restoreAllMocks());

  it('warns once at start in production that it moves no money, and not elsewhere', () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    new ApprovingPaymentGateway({ NODE_ENV: 'test' } as Env).onApplicationBootstrap();
    new ApprovingPaymentGateway({ NODE_ENV: 'development' } as Env).onApplicationBootstrap();
    expect(warn).not.toHaveBeenCalled();
    new ApprovingPaymentGateway({ NODE_ENV: 'production' } as Env).onApplicationBootstrap();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('moves no money'));
  });

  it('approves a charge with an id of its idempotency key, and a refund', async () => {
    const gateway = new ApprovingPaymentGateway({ NODE_ENV: 'test' } as Env);
    const request = {
      purchaseId: 'p',
      reservationId: 'h',
      idempotencyKey: 'k1',
      paymentToken: null,
      userId: 'u',
      amount: 1050,
      currency: 'KRW',
    };
    expect(await gateway.charge(request)).toEqual({ chargeId: 'ch_k1' });
    const refund = { chargeId: 'ch_k1', idempotencyKey: refundIdempotencyKey('P'), amount: 1050, currency: 'KRW' };
    await expect(gateway.refund(refund)).resolves.toBeUndefined();
    // A repeat of one key is the same refund: approved again.
    await expect(gateway.refund(refund)).resolves.toBeUndefined();
  });

  it('finds, for any key, the charge `charge` answers for it: its ledger is the payment attempts, and it moves no money', async () => {
    const gateway = new ApprovingPaymentGateway({ NODE_ENV: 'test' } as Env);
    const lookup = {
      purchaseId: 'p',
      reservationId: 'h',
      idempotencyKey: 'k2',
      userId: 'u',
      amount: 1050,
      currency: 'KRW',
    };
    expect(await gateway.findCharge(lookup)).toEqual({ chargeId: 'ch_k2' });
    expect(await gateway.charge({ ...lookup, paymentToken: null })).toEqual({ chargeId: 'ch_k2' });
  });

  it('keys a refund by its purchase alone, whatever the letter case of its id', () => {
    const id = '0B6F3F5E-6D2C-4A43-9D55-2F0B0C1D2E3F';
    expect(refundIdempotencyKey(id)).toBe(`refund:${id.toLowerCase()}`);
    expect(refundIdempotencyKey(id)).toBe(refundIdempotencyKey(id.toLowerCase()));
  });
});

describe('DecliningPaymentGateway', () => {
  it('finds no charge under any key: it never charged', async () => {
    const lookup = {
      purchaseId: 'p',
      reservationId: 'h',
      idempotencyKey: 'k',
      userId: 'u',
      amount: 1050,
      currency: 'KRW',
    };
    expect(await new DecliningPaymentGateway().findCharge()).toBeNull();
    // The lookup of an attempt carries its fields, never the buyer's token.
    const attempt = { ...lookup, paymentToken: 'pm_secret', status: 'PENDING' };
    expect(chargeLookupOf(attempt)).toEqual(lookup);
  });
});
