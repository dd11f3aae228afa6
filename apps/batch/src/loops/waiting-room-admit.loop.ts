import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { Env } from '@app/config';
import { describeFailure, PollingLoop, RepeatedFailureLog } from '@app/core';
import { AdmissionHalt, AdmissionStep, WaitingRoomStore } from '@app/ticketing';
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
  /**
   * 1 for each room whose admission is halted, labelled with its performance and the reason
   * (admission-halt.lua), as this process's last step of the room found it; no series otherwise.
   */
  readonly admissionHalted = new Gauge({
    name: 'boxoffice_queue_admission_halted',
    help: 'Waiting rooms admitting no one because the sale cannot sell (1), by performance and reason: PAUSED, CLOSED, ENDED, SALES_NOT_OPEN, SOLD_OUT',
    labelNames: ['performance', 'reason'],
    registers: [],
  });
  /** Why each halted room's admission is halted, as its last step here answered: a change is logged once. */
  private readonly halts = new Map<number, AdmissionHalt>();
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
      const rooms = await this.store.performances();
      for (const performanceId of rooms) {
        const step = await this.store.admit(performanceId, this.maxBatch);
        this.noteHalt(performanceId, step.outcome === 'HALTED' ? (step.halted ?? null) : null);
        this.admitted.inc(step.admitted.length);
        for (const { predictedAt } of step.admitted) {
          if (predictedAt !== null && step.at !== null) this.etaError.observe((step.at - predictedAt) / 1000);
        }
        this.onStep?.(performanceId, step);
        if (this.summary.add(performanceId, step, Date.now())) await this.logRoom(performanceId);
        more ||= step.outcome === 'OPENED' || step.admitted.length >= this.maxBatch;
      }
      // A room removed while halted: its series goes, without a line (the removal is the news).
      for (const performanceId of this.halts.keys()) {
        if (!rooms.includes(performanceId)) this.noteHalt(performanceId, null, false);
      }
      this.failures.succeeded();
      return more;
    } catch (error) {
      this.failures.failed(describeFailure(error));
      return false;
    }
  }

  /**
   * Records why the room's admission is halted now (null: it runs), logging a change once, not
   * every step: a halt can last hours, the steps run many times a second.
   */
  private noteHalt(performanceId: number, halt: AdmissionHalt | null, log = true): void {
    const before = this.halts.get(performanceId) ?? null;
    if (before === halt) return;
    const performance = String(performanceId);
    if (before) this.admissionHalted.remove({ performance, reason: before });
    if (halt) {
      this.halts.set(performanceId, halt);
      this.admissionHalted.set({ performance, reason: halt }, 1);
    } else {
      this.halts.delete(performanceId);
    }
    if (!log) return;
    this.logger.log({
      message: halt
        ? `waiting room ${performanceId}: admission halted (${halt})`
        : `waiting room ${performanceId}: admission runs again (was halted: ${before})`,
      // Named as the room's figures line names them (Kibana splits the rooms by performance_id).
      boxoffice: { queue: { performance_id: performanceId, ...(halt && { admission_halted: halt }) } },
    });
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
