/**
 * Picks where each checkpoint copies the WAL. At a depot's pace (10,000 trackers every 10 s ask
 * for a checkpoint about every 40 s) the event loop copies between two commits (~20 ms each
 * time here) and no worker thread is ever started, which would cost ~9-10 MB of resident memory
 * while it lived. Under a flood (units uploading what they stored during an outage, tens of
 * thousands of records a second) checkpoints are asked for several times a second; there the
 * copy would take a measurable share of the loop that ingest needs (42.7k vs 45.7k and 51.0k vs
 * 63.8k records/s in alternating runs), so the worker thread does it on another core. What a
 * flood is, the ingest governor decides (src/ops/heap-growth.ts: the rate over the last 5 s),
 * for V8's settings and for this alike. One checkpoint runs at a time, whichever does it.
 */
import type { Checkpointer } from './checkpointer.js';
import { SerialRunner } from './serial-runner.js';

export class AdaptiveCheckpointer implements Checkpointer {
  private closed = false;
  private flood = false;
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
  ) {}

  get completed(): number {
    return this.onLoop.completed + this.onWorker.completed;
  }

  /** the ingest governor's flood mode: checkpoints asked for from now on go to the worker */
  setFlood(flood: boolean): void {
    this.flood = flood;
  }

  request(): void {
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
