export interface LoadOutcome {
  answeredPurchases: { id: string; seatIds: number[] }[];
  answeredCancels: string[];
  unansweredCancels?: string[];
  unansweredPurchases?: string[];
  dbPurchases: { id: string; status: string; reservationId?: string }[];
  dbActiveTickets: { seatId: number; purchaseId: string }[];
  emailDeliveries: { purchaseId: string; kind?: 'confirmation' | 'cancellation' }[];
  redisCounts: { total: number; available: number; held: number; sold: number };
  serverErrors: number;
  queue?: QueueOutcome;
}

export interface QueueOutcome {
  admitPerSecond: number;
  pollAfterSeconds: number;
  firstHolds: number[];
  windowSeconds?: number;
}

export interface OutcomeCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export function checkOutcome(outcome: LoadOutcome): OutcomeCheck[];

export function holdRate(queue: QueueOutcome): { busiest: number; allowed: number; windowSeconds: number };
