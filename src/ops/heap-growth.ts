/**
 * How far V8 may grow the old generation past the live heap, by load. At a depot's pace (10,000
 * trackers every 10 s is 1,000 records/s) memory is what the box runs short of, so the growth is
 * capped (src/cli/v8-memory.ts has the measurements). Under a flood (trackers emptying their own
 * buffers after an outage) every record's objects outlive the small young generation while they
 * wait for their group commit, so promoted garbage arrives at tens of MB/s and a capped heap
 * mark-compacts four times as often: 12 vs 3 mark-compacts in one flood, ~10% fewer records/s
 * (8 alternating ingest runs each) with CPU the only thing short. So the cap is lifted while the
 * ingest rate is above `floodRecordsPerSec` and put back once it falls below half of it (the
 * half keeps a rate near the threshold from switching every second).
 *
 * No I/O of its own: the caller samples the ingest counter and applies the setting.
 */
export interface HeapGrowthOptions {
  /** the cap in percent of the live heap, > 0 */
  cappedPercent: number;
  /** records/s above which the cap is lifted */
  floodRecordsPerSec: number;
}

/**
 * Well above a depot's pace (1,000 records/s for 10,000 trackers every 10 s) and well below what
 * the gateway ingests in a flood here (40,000-70,000 records/s; a Pi 4 a few times less).
 */
export const DEFAULT_FLOOD_RECORDS_PER_SEC = 5000;

/** what V8's --heap-growing-percent takes for "V8's own choice" */
export const V8_CHOOSES = 0;

export class HeapGrowthGovernor {
  private lastTotal: number | undefined;
  private lastMs = 0;
  private capped = true;
  private switches = 0;

  constructor(
    private readonly apply: (percent: number) => void,
    private readonly options: HeapGrowthOptions,
  ) {}

  /** true while the cap holds */
  get isCapped(): boolean {
    return this.capped;
  }

  /** times the cap was lifted or put back */
  get switchCount(): number {
    return this.switches;
  }

  /** Called about once a second with the records ingested so far. */
  sample(recordsTotal: number, nowMs: number): void {
    const previous = this.lastTotal;
    const elapsedMs = nowMs - this.lastMs;
    this.lastTotal = recordsTotal;
    this.lastMs = nowMs;
    if (previous === undefined || elapsedMs <= 0) return;
    const perSec = ((recordsTotal - previous) * 1000) / elapsedMs;
    if (this.capped && perSec > this.options.floodRecordsPerSec) {
      this.capped = false;
      this.switches++;
      this.apply(V8_CHOOSES);
    } else if (!this.capped && perSec < this.options.floodRecordsPerSec / 2) {
      this.capped = true;
      this.switches++;
      this.apply(this.options.cappedPercent);
    }
  }
}
