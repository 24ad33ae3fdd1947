/**
 * The slice of the store the uplink depends on. The real store (`src/store/store.ts`) satisfies it
 * structurally; `MemoryOutbox` stands in for it in unit tests. The outbox is the only durable
 * queue between ingest and the cloud: the uplink keeps nothing of its own that a restart would need.
 */
import type { Lane, OutboxRow, StoreStats } from '../store/types.js';

export interface OutboxBatchQuery {
  lane: Lane;
  /** exclusive lower bound */
  afterSeq: number;
  /** exclusive upper bound; none = no bound */
  beforeSeq?: number;
  limit: number;
  /** the first row is returned even when it alone exceeds this, so an oversize row cannot wedge a lane */
  maxBytes: number;
  /** false: `raw` comes back null (the uplink sends frames only with includeRaw); default true */
  withRaw?: boolean;
}

export interface UplinkOutbox {
  /** rows of one lane in seq order */
  readBatch(q: OutboxBatchQuery): OutboxRow[];
  deleteSeqs(seqs: readonly number[]): number;
  /** deletes every row (any lane) with seq <= `seq` */
  deleteUpTo(seq: number): number;
  stats(): StoreStats;
  /** called after each group commit; returns the unsubscribe function */
  onCommit(listener: (rows: readonly OutboxRow[]) => void): () => void;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** atomically +1 a persisted counter and return the new value */
  incrementCounter(key: string): number;
}

/** Meta keys the uplink persists through the outbox. */
export const UPLINK_META = {
  session: 'uplink.session',
  bytesToday: 'uplink.bytesToday',
  bytesMonth: 'uplink.bytesMonth',
} as const;
