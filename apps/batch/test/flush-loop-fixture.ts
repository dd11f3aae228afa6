import { vi } from 'vitest';
import type { PurchaseFlusher } from '@app/ticketing';
import { PurchaseFlushLoop } from '../src/loops/purchase-flush.loop';

/** A promise the test settles by hand. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every promise callback queued so far run. */
export const settle = async () => {
  for (let i = 0; i < 10; i += 1) await Promise.resolve();
};

/**
 * A purchase flush loop whose passes the test ends: each `flushOnce` adds a pass to `passes`, which
 * the test resolves with the number of purchases it wrote (0: the loop pauses). For the loops
 * that start their passes between the flusher's.
 */
export function flushLoopWithPasses(): {
  flushLoop: PurchaseFlushLoop;
  passes: ReturnType<typeof deferred<number>>[];
} {
  const passes: ReturnType<typeof deferred<number>>[] = [];
  const flusher = {
    flushOnce: vi.fn(() => {
      const pass = deferred<number>();
      passes.push(pass);
      return pass.promise;
    }),
  } as unknown as PurchaseFlusher;
  return { flushLoop: new PurchaseFlushLoop(flusher), passes };
}
