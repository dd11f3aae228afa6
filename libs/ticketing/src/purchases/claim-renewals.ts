import { Injectable, Logger } from '@nestjs/common';

/** A claim while its work runs: how to renew it and how often. */
export interface RenewedClaim {
  /** Its renewal period, ms (claimRenewalMs of its lease: a fifth of it). */
  periodMs: number;
  /** Renews the claim's lease: false once the claim is no longer this work's (renewed no more). */
  renew: () => Promise<boolean>;
  /** What a failed renewal's warning names, e.g. `claim of hold <id>`. */
  what: string;
}

interface LiveRenewal extends RenewedClaim {
  /**
   * When it was taken or last renewed (`performance.now()`, ms): a monotonic clock, as the lease's
   * own clock in Redis is; the wall clock set back would leave the claim unrenewed that long.
   */
  renewedAt: number;
}

/**
 * One timer renewing every live claim of the process: a purchase attempt's claim on its hold
 * (PurchaseCheckout) and a request's claim of its Idempotency-Key (PurchaseService), each on its own
 * period, instead of a timer per claim. The timer runs while any claim is live, ticking at the
 * shortest period of the claims live since it started (`tickMs`); a tick renews each claim at least
 * its period less half a tick since it was taken or last renewed, so a claim waits at least half its
 * period and at most 1.5 periods between renewals (0.3 of its lease; one new tick more when a claim
 * of a shorter period restarts the timer meanwhile: 0.35 of a hold claim's lease with the key
 * claims' default periods), and one whose work ends within half a period is never renewed. A claim whose renewal answers false is renewed no more; a renewal
 * that fails is logged and tried again at the next due tick.
 */
@Injectable()
export class ClaimRenewals {
  private readonly logger = new Logger(ClaimRenewals.name);
  private readonly live = new Set<LiveRenewal>();
  /** The shared timer while any claim is live; null otherwise. */
  private timer: NodeJS.Timeout | null = null;
  /** The timer's period, ms: the shortest period of the claims live since it started. */
  private tickMs = 0;

  /**
   * Runs `work` while renewing `claim` (taken just before) with the others; stops when `work` ends,
   * whichever way, and answers or throws what it did.
   */
  async whileRenewed<T>(claim: RenewedClaim, work: () => Promise<T>): Promise<T> {
    const renewal: LiveRenewal = { ...claim, renewedAt: performance.now() };
    this.live.add(renewal);
    if (this.timer === null || claim.periodMs < this.tickMs) {
      if (this.timer !== null) clearInterval(this.timer);
      this.tickMs = claim.periodMs;
      this.timer = setInterval(() => this.renewDue(), this.tickMs);
    }
    try {
      return await work();
    } finally {
      this.live.delete(renewal);
      if (this.live.size === 0 && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
      }
    }
  }

  /** One tick: renews each live claim due (see the class). */
  private renewDue(): void {
    const now = performance.now();
    for (const renewal of this.live) {
      if (now - renewal.renewedAt < renewal.periodMs - this.tickMs / 2) continue;
      renewal.renewedAt = now;
      renewal
        .renew()
        .then((renewed) => {
          if (!renewed) this.live.delete(renewal);
        })
        .catch((error: Error) => this.logger.warn(`${renewal.what} not renewed: ${error.message}`));
    }
  }
}
