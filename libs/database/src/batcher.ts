/** Bounds of a `Batcher`. */
export interface BatcherOptions<I = unknown> {
  /** Most items one call of the batch function gets; with `sizeOf`, the most their sizes add up to. */
  maxBatch: number;
  /** Most calls of the batch function running at once; further items wait and go together. */
  maxInFlight: number;
  /**
   * The size an item counts for against `maxBatch` (default 1): e.g. the rows it writes. An item
   * larger than `maxBatch` goes alone.
   */
  sizeOf?: (input: I) => number;
  /**
   * When true, an item submitted while a slot is free waits for the end of the event-loop turn
   * (`setImmediate`) before a batch leaves, so the items submitted in one turn go together rather
   * than the first alone and the rest after it. Costs that item one turn; saves statements.
   */
  lingerForTurn?: boolean;
}

interface Waiting<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for one kind of statement: items submitted while `maxInFlight` batches are
 * running wait, and go together as the next batch (at most `maxBatch` items) when one ends. An
 * item submitted while a slot is free goes at once, alone, so a quiet process adds no delay; with
 * `lingerForTurn` it goes at the end of the turn, with the others of that turn.
 * `run` answers one output per input, in order; its error rejects every item of its batch.
 */
export class Batcher<I, O> {
  private readonly waiting: Waiting<I, O>[] = [];
  private inFlight = 0;
  /** A drain is due at the end of this turn (lingerForTurn). */
  private drainAtTurnEnd = false;
  /** Batches sent and items they carried since the start (for tests and metrics). */
  readonly sent = { batches: 0, items: 0 };

  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions<I>,
  ) {}

  /** Resolves with this item's output once its batch has run; rejects with its batch's error. */
  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (!this.options.lingerForTurn) this.drain();
      else if (!this.drainAtTurnEnd && this.inFlight < this.options.maxInFlight) {
        this.drainAtTurnEnd = true;
        setImmediate(() => {
          this.drainAtTurnEnd = false;
          this.drain();
        });
      }
    });
  }

  private drain(): void {
    while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.itemsOfNextBatch());
      this.inFlight += 1;
      this.sent.batches += 1;
      this.sent.items += batch.length;
      void this.send(batch);
    }
  }

  /** How many of the waiting items (in order, at least one) the next batch takes. */
  private itemsOfNextBatch(): number {
    const { sizeOf, maxBatch } = this.options;
    if (!sizeOf) return maxBatch;
    let size = sizeOf(this.waiting[0].input);
    let items = 1;
    while (items < this.waiting.length && size + sizeOf(this.waiting[items].input) <= maxBatch) {
      size += sizeOf(this.waiting[items].input);
      items += 1;
    }
    return items;
  }

  /** Never rejects: the batch's outcome goes to its items. */
  private async send(batch: Waiting<I, O>[]): Promise<void> {
    let outputs: O[] | null = null;
    let failure: unknown;
    try {
      outputs = await this.run(batch.map((item) => item.input));
      if (outputs.length !== batch.length) {
        throw new Error(`batch of ${batch.length} items answered ${outputs.length} outputs`);
      }
    } catch (error) {
      outputs = null;
      failure = error;
    }
    // The next batch leaves before this one's callers go on.
    this.inFlight -= 1;
    this.drain();
    batch.forEach((item, index) => (outputs ? item.resolve(outputs[index]) : item.reject(failure)));
  }
}
