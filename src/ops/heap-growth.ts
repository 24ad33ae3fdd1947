/**
 * V8's settings by load. At a depot's pace (10,000 trackers every 10 s is 1,000 records/s) memory
 * is what the box runs short of: the old generation's growth past the live heap is capped and
 * the optimizing compiler is off (src/cli/v8-memory.ts has the measurements). Under a flood
 * (trackers emptying their own buffers after an outage) CPU is: every record's objects outlive the
 * small young generation while they wait for their group commit, so promoted garbage arrives at
 * tens of MB/s and a capped heap mark-compacts four times as often (12 vs 3 mark-compacts in one
 * flood, ~10% fewer records/s over 8 alternating ingest runs each), and unoptimized code takes
 * 1.5-2x the CPU per record. So flood mode holds while the ingest rate is above
 * `floodRecordsPerSec` and ends once it falls below half of it (the half keeps a rate near the
 * threshold from switching every second).
 *
 * No I/O of its own: the caller samples the ingest counter and applies the mode.
 */
export interface HeapGrowthOptions {
  /** records/s above which flood mode starts */
  floodRecordsPerSec: number;
}

/**
 * Well above a depot's pace (1,000 records/s for 10,000 trackers every 10 s) and well below what
 * the gateway ingests in a flood here (40,000-70,000 records/s; a Pi 4 a few times less).
 */
export const DEFAULT_FLOOD_RECORDS_PER_SEC = 5000;

export class HeapGrowthGovernor {
  private lastTotal: number | undefined;
  private lastMs = 0;
  private capped = true;
  private switches = 0;

  constructor(
    private readonly apply: (flood: boolean) => void,
    private readonly options: HeapGrowthOptions,
  ) {}

  /** true while the depot-pace settings hold (not in flood mode) */
  get isCapped(): boolean {
    return this.capped;
  }

  /** times flood mode started or ended */
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
      this.apply(true);
    } else if (!this.capped && perSec < this.options.floodRecordsPerSec / 2) {
      this.capped = true;
      this.switches++;
      this.apply(false);
    }
  }
}
