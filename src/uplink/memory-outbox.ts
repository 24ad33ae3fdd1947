/**
 * An in-memory `UplinkOutbox` for unit tests and the simulator: same ordering and byte-limit
 * semantics as the store's outbox, no durability. Bounded by `maxRows`; when full, `append` throws,
 * because a test that overflows it has a bug worth seeing rather than silently dropped rows.
 */
import type { NewOutboxRow, OutboxRow, StoreStats } from '../store/types.js';
import type { OutboxBatchQuery, UplinkOutbox } from './outbox.js';

export class MemoryOutbox implements UplinkOutbox {
  /** ascending by seq: appends only ever add higher seqs */
  private rows: OutboxRow[] = [];
  private lastSeq = 0;
  private totalRecords = 0;
  private readonly meta = new Map<string, string>();
  private readonly listeners = new Set<(rows: readonly OutboxRow[]) => void>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxRows = 1_000_000,
  ) {}

  append(newRows: readonly NewOutboxRow[]): OutboxRow[] {
    if (this.rows.length + newRows.length > this.maxRows) throw new Error(`MemoryOutbox full (${this.maxRows} rows)`);
    const added = newRows.map((r) => ({ ...r, seq: ++this.lastSeq, bytes: Buffer.byteLength(r.payload) + (r.raw?.length ?? 0) }));
    this.rows.push(...added);
    this.totalRecords += added.length;
    for (const l of this.listeners) l(added);
    return added;
  }

  /** every row still waiting, in seq order (test inspection) */
  all(): readonly OutboxRow[] {
    return this.rows;
  }

  readBatch(q: OutboxBatchQuery): OutboxRow[] {
    const before = q.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const out: OutboxRow[] = [];
    let bytes = 0;
    for (const r of this.rows) {
      if (r.seq <= q.afterSeq || r.lane !== q.lane) continue;
      if (r.seq >= before || out.length >= q.limit) break;
      if (out.length > 0 && bytes + r.bytes > q.maxBytes) break;
      bytes += r.bytes;
      out.push(q.withRaw === false && r.raw !== null ? { ...r, raw: null } : r);
    }
    return out;
  }

  deleteSeqs(seqs: readonly number[]): number {
    const doomed = new Set(seqs);
    const before = this.rows.length;
    this.rows = this.rows.filter((r) => !doomed.has(r.seq));
    return before - this.rows.length;
  }

  deleteUpTo(seq: number): number {
    const before = this.rows.length;
    this.rows = this.rows.filter((r) => r.seq > seq);
    return before - this.rows.length;
  }

  stats(): StoreStats {
    let evtRows = 0;
    let bytes = 0;
    for (const r of this.rows) {
      if (r.lane === 'evt') evtRows++;
      bytes += r.bytes;
    }
    const oldest = this.rows.reduce((m, r) => Math.min(m, r.receivedAtMs), Infinity);
    return {
      backlog: {
        rows: this.rows.length,
        bytes,
        oldestAgeSec: this.rows.length > 0 ? Math.max(0, (this.now() - oldest) / 1000) : 0,
        evtRows,
        posRows: this.rows.length - evtRows,
      },
      lastSeq: this.lastSeq,
      totalRecords: this.totalRecords,
      evictedRows: 0,
      dbBytes: 0,
      checkpoints: { betweenCommits: 0, worker: 0, remainder: 0, eventLoop: 0 },
    };
  }

  onCommit(listener: (rows: readonly OutboxRow[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }

  setMeta(key: string, value: string): void {
    this.meta.set(key, value);
  }

  incrementCounter(key: string): number {
    const next = Number(this.meta.get(key) ?? 0) + 1;
    this.meta.set(key, String(next));
    return next;
  }
}
