/**
 * Decides what the uplink publishes next, in order of service:
 *   1. `evt` lane (alarms, events, gaps; command results singly to `up/cmd/res`), never delayed;
 *   2. live positions (committed after the connection came up), batched for up to batchMaxDelayMs;
 *   3. history positions (waiting when the connection came up), paced by a token bucket
 *      (backlogBytesPerSec) and stopped while a byte budget is exhausted.
 * Live and history are separate streams: a consumer sees each in seq order per device, but a live
 * record may arrive before older history of the same device. `hist` in the envelope tells them apart.
 *
 * Cursors only move forward within one connection; `restart()` at each connect rewinds them, so
 * whatever is still in the outbox (not yet acknowledged) goes again, with its original seq.
 */
import type { OutboxRow } from '../store/types.js';
import type { UplinkOutbox } from './outbox.js';

export type Stream = 'evt' | 'live' | 'hist';
export type Target = 'evt' | 'pos' | 'cmdRes';

export interface PlannedBatch {
  kind: 'batch';
  stream: Stream;
  target: Target;
  /** part of the backlog that was waiting when the connection came up */
  hist: boolean;
  rows: OutboxRow[];
}

export type Plan = PlannedBatch | { kind: 'wait'; ms: number } | { kind: 'none' };

export interface PlannerLimits {
  batchMaxRecords: number;
  batchMaxBytes: number;
  batchMaxDelayMs: number;
  backlogBytesPerSec: number;
  /** read the tracker frames only when they are sent (a Buffer per row otherwise wasted) */
  includeRaw?: boolean;
}

/** Record types that travel alone on `up/cmd/res` (CONTRACT section 4), not in an `up/evt` batch. */
const COMMAND_RESULT = 'command_result';

export class BatchPlanner {
  private cursors: Record<Stream, number> = { evt: 0, live: 0, hist: 0 };
  private boundarySeq = 0;
  private tokens = 0;
  private tokensAtMs = 0;

  constructor(
    private readonly outbox: Pick<UplinkOutbox, 'readBatch'>,
    private readonly limits: PlannerLimits,
    private readonly budget: { exhausted(): boolean },
    private readonly now: () => number,
  ) {}

  /** Highest seq that counts as history for the current connection. */
  get boundary(): number {
    return this.boundarySeq;
  }

  /**
   * A new connection: rows with seq <= `boundary` are history, later ones live. The history
   * bucket starts empty so a reconnect does not open with a burst of backlog.
   */
  restart(boundary: number): void {
    this.boundarySeq = boundary;
    this.cursors = { evt: 0, live: boundary, hist: 0 };
    this.tokens = 0;
    this.tokensAtMs = this.now();
  }

  /** Reads everything still in the outbox again from the start, keeping the history boundary. */
  rewind(): void {
    this.cursors = { evt: 0, live: this.boundarySeq, hist: 0 };
  }

  /** The next batch to publish, claimed (the cursor moves past it); or how long to wait; or nothing. */
  claimNext(): Plan {
    const evt = this.nextEvt();
    if (evt) return this.claim(evt);
    const now = this.now();
    const l = this.limits;
    let liveWaitMs: number | undefined;
    const live = this.outbox.readBatch({ lane: 'pos', afterSeq: this.cursors.live, limit: l.batchMaxRecords, maxBytes: l.batchMaxBytes, withRaw: l.includeRaw !== false });
    if (live.length > 0) {
      const last = live[live.length - 1] as OutboxRow;
      // Fewer rows than the limit while more are waiting means the byte limit cut the batch.
      const full = live.length >= l.batchMaxRecords || this.outbox.readBatch({ lane: 'pos', afterSeq: last.seq, limit: 1, maxBytes: l.batchMaxBytes, withRaw: false }).length > 0;
      const age = now - (live[0] as OutboxRow).receivedAtMs;
      if (full || age >= l.batchMaxDelayMs) return this.claim({ kind: 'batch', stream: 'live', target: 'pos', hist: false, rows: live });
      // Clamped: a clock stepped backwards must not park live data for longer than the delay.
      liveWaitMs = Math.min(l.batchMaxDelayMs, Math.max(1, l.batchMaxDelayMs - age));
    }
    const waitOrNone = (ms?: number): Plan => (ms === undefined ? { kind: 'none' } : { kind: 'wait', ms });
    if (this.budget.exhausted()) return waitOrNone(liveWaitMs);
    const hist = this.outbox.readBatch({ lane: 'pos', afterSeq: this.cursors.hist, beforeSeq: this.boundarySeq + 1, limit: l.batchMaxRecords, maxBytes: l.batchMaxBytes, withRaw: l.includeRaw !== false });
    if (hist.length === 0) return waitOrNone(liveWaitMs);
    if (l.backlogBytesPerSec > 0) {
      const bytes = sumBytes(hist);
      // Capacity of one second (or one batch, if larger) so pacing is smooth but never deadlocks.
      const capacity = Math.max(l.backlogBytesPerSec, bytes);
      this.tokens = Math.min(capacity, this.tokens + (Math.max(0, now - this.tokensAtMs) / 1000) * l.backlogBytesPerSec);
      this.tokensAtMs = now;
      if (this.tokens < bytes) {
        const histWaitMs = Math.max(1, Math.ceil(((bytes - this.tokens) / l.backlogBytesPerSec) * 1000));
        return { kind: 'wait', ms: Math.min(histWaitMs, liveWaitMs ?? Infinity) };
      }
      this.tokens -= bytes;
    }
    return this.claim({ kind: 'batch', stream: 'hist', target: 'pos', hist: true, rows: hist });
  }

  private nextEvt(): PlannedBatch | undefined {
    const l = this.limits;
    const rows = this.outbox.readBatch({ lane: 'evt', afterSeq: this.cursors.evt, limit: l.batchMaxRecords, maxBytes: l.batchMaxBytes, withRaw: l.includeRaw !== false });
    const first = rows[0];
    if (!first) return undefined;
    const hist = first.seq <= this.boundarySeq;
    if (first.type === COMMAND_RESULT) return { kind: 'batch', stream: 'evt', target: 'cmdRes', hist, rows: [first] };
    // A batch is all history or all live, and stops short of the next command result.
    const cut = rows.findIndex((r) => r.type === COMMAND_RESULT || r.seq <= this.boundarySeq !== hist);
    return { kind: 'batch', stream: 'evt', target: 'evt', hist, rows: cut > 0 ? rows.slice(0, cut) : rows };
  }

  private claim(batch: PlannedBatch): PlannedBatch {
    this.cursors[batch.stream] = (batch.rows[batch.rows.length - 1] as OutboxRow).seq;
    return batch;
  }
}

export function sumBytes(rows: readonly OutboxRow[]): number {
  let n = 0;
  for (const r of rows) n += r.bytes;
  return n;
}
