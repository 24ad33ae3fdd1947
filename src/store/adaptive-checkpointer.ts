/**
 * Picks where each checkpoint copies the WAL. At a depot's pace (10,000 trackers every 10 s ask
 * for a checkpoint about every 40 s) the event loop copies between two commits (~20 ms each
 * time here) and no worker thread is ever started, which would cost ~9-10 MB of resident memory
 * while it lived. Under a flood (units uploading what they stored during an outage, tens of
 * thousands of records a second) checkpoints are asked for several times a second; there the
 * copy would take a measurable share of the loop that ingest needs, so the worker thread does it
 * on another core, as it did before. One checkpoint runs at a time, whichever does it.
 */
import type { CheckpointReason, Checkpointer } from './checkpointer.js';
import { SerialRunner } from './serial-runner.js';

/** WAL thresholds crossed closer together than this are a flood: the worker copies */
export const FLOOD_REQUEST_GAP_MS = 10_000;

export class AdaptiveCheckpointer implements Checkpointer {
  private closed = false;
  private flood = false;
  private lastBytesRequestMs = Number.NEGATIVE_INFINITY;
  private readonly runner = new SerialRunner(
    async () => {
      const target = this.flood ? this.onWorker : this.onLoop;
      target.request();
      await target.idle();
    },
    () => this.closed,
  );

  constructor(
    readonly onLoop: Checkpointer,
    readonly onWorker: Checkpointer,
    private readonly now: () => number,
    private readonly floodGapMs = FLOOD_REQUEST_GAP_MS,
  ) {}

  get completed(): number {
    return this.onLoop.completed + this.onWorker.completed;
  }

  /**
   * Only the WAL's growth measures the write rate: a scheduled checkpoint (every 5 minutes) that
   * came a few seconds after a threshold was not a flood, and sent a depot's gateway to the worker
   * (seen: 115 MB for a moment, ~2.4 MB more after it ended). It goes to the worker only while a
   * flood is still on.
   */
  request(reason: CheckpointReason = 'scheduled'): void {
    if (this.closed) return;
    const now = this.now();
    const sinceThreshold = now - this.lastBytesRequestMs;
    if (reason === 'bytes') {
      this.flood = sinceThreshold < this.floodGapMs;
      this.lastBytesRequestMs = now;
    } else {
      this.flood &&= sinceThreshold < this.floodGapMs;
    }
    this.runner.request();
  }

  idle(): Promise<void> {
    return this.runner.idle();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    await Promise.all([this.onLoop.close(), this.onWorker.close()]);
  }
}
