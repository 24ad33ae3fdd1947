/**
 * The store's contract with ingest, uplink, commands and ops. The store is the only durable
 * queue: a record is committed before it is acknowledged to the tracker and leaves the outbox
 * only after the uplink's acknowledgement.
 */

/** Uplink lane: `evt` (alarms, events, command results) is always sent ahead of `pos`. */
export type Lane = 'evt' | 'pos';

export interface NewOutboxRow {
  deviceId: string | null;
  lane: Lane;
  /** record type (`position`, `alarm`, `gap`, `device_online`, `command_result`, ...) */
  type: string;
  /** protected rows (alarms, events, command results, gaps) are never evicted by the quota */
  protected: boolean;
  /** gateway clock at receipt, ms since epoch */
  receivedAtMs: number;
  /** JSON text of the normalized record WITHOUT `seq` (the uplink splices `seq` in) */
  payload: string;
  /** the tracker's frame as received; kept even when the uplink does not send it */
  raw: Buffer | null;
}

export interface OutboxRow extends NewOutboxRow {
  seq: number;
  /** payload + raw bytes, as counted against the quota */
  bytes: number;
}

export interface BacklogStats {
  rows: number;
  bytes: number;
  /** age of the oldest row still in the outbox, seconds (0 when empty) */
  oldestAgeSec: number;
  /** rows per lane */
  evtRows: number;
  posRows: number;
}

export interface StoreStats {
  backlog: BacklogStats;
  /** highest seq ever assigned (persisted; survives restarts and evictions) */
  lastSeq: number;
  /** records ever committed (persisted counter) */
  totalRecords: number;
  /** rows evicted by the quota since the store was created (persisted counter) */
  evictedRows: number;
  /** database file size incl. WAL, bytes */
  dbBytes: number;
  /**
   * WAL checkpoints since start: copied between two commits with their fsyncs on the thread pool
   * (betweenCommits, a depot's pace), or on the worker thread (under a flood); the remainder
   * written during each of those, copied on the event loop (short, but it syncs there); and all of
   * it there when the background ones fell behind (eventLoop)
   */
  checkpoints: { betweenCommits: number; worker: number; remainder: number; eventLoop: number };
}

/** a device's row as the registry writes it */
export interface DeviceUpsert {
  deviceId: string;
  protocol: string;
  transport: 'tcp' | 'udp';
  remote: string | null;
  seenMs: number;
  online: boolean;
  lastPosition?: string | null;
}

export interface DeviceRow {
  deviceId: string;
  protocol: string;
  transport: 'tcp' | 'udp';
  remote: string | null;
  firstSeenMs: number;
  lastSeenMs: number;
  online: boolean;
  /** JSON of the device's last fix (valid, fixTime, lat, lon, speedKmh, course, receivedAt), or null */
  lastPosition: string | null;
}

export type CommandState =
  | 'accepted'
  | 'waiting'
  | 'sent'
  | 'acked'
  | 'confirmed'
  | 'rejected'
  | 'expired'
  | 'failed'
  | 'superseded';

/** states of a command still under way (not final): what "pending" counts */
export const OPEN_COMMAND_STATES: readonly CommandState[] = ['accepted', 'waiting', 'sent', 'acked'];

export interface CommandRow {
  id: string;
  deviceId: string;
  action: string;
  state: CommandState;
  reason: string | null;
  /** the validated request as JSON */
  request: string;
  createdMs: number;
  updatedMs: number;
  expiresMs: number;
  attempts: number;
  /** correlation of the last send, JSON (see protocol CommandCorrelation), or null */
  correlation: string | null;
  deviceReply: string | null;
}

export interface AuditEntry {
  id: number;
  commandId: string;
  ts: number;
  state: CommandState;
  reason: string | null;
  detail: string | null;
}
