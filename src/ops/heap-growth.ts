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
 * The rate is what arrived in the last RATE_WINDOW_MS over at least that long, not over the last
 * second: trackers that report in step (a depot's units after a power cut all start their 10 s
 * cycle together, and so does the bench's simulator) send 10,000 reports within about a second
 * every 10 s, and 10,000 logins make ~20,000 rows. Measured per second, those waves switched
 * flood mode 16 times in one bench window and its optimized code stayed (100.8 MB against 95.6
 * in the gateway without switches). Over 5 s a wave is 2,000/s and a login storm 4,000/s, while
 * a flood of 75,000/s still reaches the threshold within half a second (a Pi 4's ~15,000/s within
 * two), sampled four times a second.
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

/** the rate is measured over this window, and over no less */
export const RATE_WINDOW_MS = 5000;

export class HeapGrowthGovernor {
  /** the samples of the last RATE_WINDOW_MS, oldest first (21 at four a second) */
  private samples: Array<{ total: number; ms: number }> = [];
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

  /** Called a few times a second with the records ingested so far. */
  sample(recordsTotal: number, nowMs: number): void {
    const newest = this.samples[this.samples.length - 1];
    if (newest && nowMs <= newest.ms) return;
    this.samples.push({ total: recordsTotal, ms: nowMs });
    // Keep one sample at or beyond the window's start, so the window is always covered.
    while (this.samples.length > 2 && nowMs - (this.samples[1] as { ms: number }).ms >= RATE_WINDOW_MS) this.samples.shift();
    const oldest = this.samples[0] as { total: number; ms: number };
    if (oldest.ms === nowMs) return;
    const perSec = ((recordsTotal - oldest.total) * 1000) / Math.max(RATE_WINDOW_MS, nowMs - oldest.ms);
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
