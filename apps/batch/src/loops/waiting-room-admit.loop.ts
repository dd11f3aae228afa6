import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { Env } from '@app/config';
import { describeFailure, PollingLoop, RepeatedFailureLog } from '@app/core';
import { AdmissionStep, WaitingRoomStore } from '@app/ticketing';
import { AdmissionSummary } from './admission-summary';

/**
 * Admits waiting buyers of every performance with a waiting room, and shuffles each pre-queue
 * at its opening. Any number of `batch` processes may run it: every step is one atomic script
 * that shares the room's rate bucket, so the rooms' admitPerSecond and maxActive hold across them.
 */
@Injectable()
export class WaitingRoomAdmitLoop extends PollingLoop {
  private readonly logger = new Logger(WaitingRoomAdmitLoop.name);
  private readonly failures = new RepeatedFailureLog((message) =>
    this.logger.warn(`queue admission failed: ${message}`),
  );
  private maxBatch = 1000;
  private readonly summary = new AdmissionSummary();
  /** Buyers admitted (rate() of it: admitted per second); in no registry until a process adds it. */
  readonly admitted = new Counter({
    name: 'boxoffice_queue_admitted_total',
    help: 'Buyers admitted from waiting rooms',
    registers: [],
  });
  /** Admission time minus the admission time last announced to the buyer, in seconds. */
  readonly etaError = new Histogram({
    name: 'boxoffice_queue_eta_error_seconds',
    help: 'Actual minus announced admission time of admitted buyers (positive: later than announced)',
    buckets: [-300, -60, -30, -10, -5, -1, 0, 1, 5, 10, 30, 60, 300],
    registers: [],
  });
  /** Every step's result, for whoever watches admissions (tests, logs). */
  onStep?: (performanceId: number, step: AdmissionStep) => void;

  constructor(
    private readonly store: WaitingRoomStore,
    @Inject(Env) private readonly env: Env,
  ) {
    super();
  }

  /** Starts the loop: a pause of WAITING_ROOM_ADMIT_PAUSE_MS between steps unless one was full. */
  start(pauseMs = this.env.WAITING_ROOM_ADMIT_PAUSE_MS, maxBatch = 1000): void {
    this.maxBatch = maxBatch;
    this.startLoop(pauseMs);
  }

  protected async step(): Promise<boolean> {
    try {
      let more = false;
      for (const performanceId of await this.store.performances()) {
        const step = await this.store.admit(performanceId, this.maxBatch);
        this.admitted.inc(step.admitted.length);
        for (const { predictedAt } of step.admitted) {
          if (predictedAt !== null && step.at !== null) this.etaError.observe((step.at - predictedAt) / 1000);
        }
        this.onStep?.(performanceId, step);
        if (this.summary.add(performanceId, step, Date.now())) await this.logRoom(performanceId);
        more ||= step.outcome === 'OPENED' || step.admitted.length >= this.maxBatch;
      }
      this.failures.succeeded();
      return more;
    } catch (error) {
      this.failures.failed(describeFailure(error));
      return false;
    }
  }

  /** A compact line of the room's figures for the Kibana panels (one Redis round trip, once a second). */
  private async logRoom(performanceId: number): Promise<void> {
    const queue = this.summary.take(performanceId, await this.store.figures(performanceId));
    if (queue) {
      this.logger.log({
        message: `waiting room ${performanceId}: ${queue.waiting} waiting, ${queue.active} active, ${queue.admitted} admitted`,
        boxoffice: { queue },
      });
    }
  }
}
