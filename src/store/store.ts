/**
 * The durable store (better-sqlite3, WAL): the outbox every record passes through, devices,
 * commands and their append-only audit. A record is committed here before its ACK goes to the
 * tracker, and leaves only when the uplink's acknowledgement says the cloud has it.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AdaptiveCheckpointer } from './adaptive-checkpointer.js';
import { BackgroundCheckpointer, type Checkpointer } from './checkpointer.js';
import { type FileSync, LoopCheckpointer } from './loop-checkpointer.js';
import { isTmpfs } from './mounts.js';
import { migrate } from './migrations.js';
import type {
  AuditEntry,
  BacklogStats,
  CommandRow,
  CommandState,
  DeviceRow,
  DeviceUpsert,
  Lane,
  NewOutboxRow,
  OutboxRow,
  StoreStats,
} from './types.js';

export interface StoreLogger {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
  error(o: object, m?: string): void;
}

export interface StoreOptions {
  dataDir: string;
  /** outbox budget: payload + raw bytes of the rows waiting in the outbox */
  quotaBytes: number;
  /** 'full': every commit fsyncs the WAL, so an ACKed record survives a power cut */
  synchronous: 'full' | 'normal';
  /** window in which enqueued rows share one transaction (one fsync) */
  groupCommitMs: number;
  groupCommitMaxRows: number;
  /**
   * Pending rows a gateway event (device online/offline) may still take beyond the device-row
   * bound; default 0. Those events have nobody to send them again: a tracker whose report is
   * refused gets no ACK and repeats it, but a refused device_offline is gone, and 10,000 trackers
   * dropping at once (a depot switch rebooting) raised 10,000 of them in one tick, half of them
   * refused. What bounds them is the connections that raise them, so the composition root sets
   * this from its connection limits.
   */
  gatewayEventRoom?: number;
  /** refuse a data dir on tmpfs/ramfs (records would vanish at reboot) unless true */
  allowTmpfs: boolean;
  now?: () => number;
  log?: StoreLogger;
  /** mount table reader, injected by tests */
  mountTable?: () => string;
  /**
   * row bytes committed after which the WAL is checkpointed off the commit path (default 16 MiB);
   * four times as much without a completed checkpoint and the event loop does it itself
   */
  checkpointAfterBytes?: number;
  /** false: no checkpoint off the commit path; the bound above is then met on the event loop */
  backgroundCheckpoint?: boolean;
  /**
   * where a background checkpoint copies the WAL: 'loop' between two commits with its fsyncs on
   * the thread pool (loop-checkpointer.ts), 'worker' wholly on a worker thread (checkpointer.ts),
   * 'adaptive' (default) the loop at a depot's pace and the worker under a flood
   * (adaptive-checkpointer.ts)
   */
  checkpointOn?: 'adaptive' | 'loop' | 'worker';
  /** fdatasync of the WAL file on the thread pool; injected by tests to hold or fail a sync */
  walSync?: FileSync;
  /** fdatasync of the database file on the thread pool (loop checkpoints); injected by tests */
  dbSync?: FileSync;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    message: string,
    readonly code: 'tmpfs' | 'full' | 'io' | 'closed',
  ) {
    super(message);
  }
}

export interface OpenResult {
  store: Store;
  reset?: { quarantinedTo: string; reason: string };
}

export const DB_FILE = 'gateway.db';
const SEQ_FLOOR_FILE = 'seq.floor';
/** seqs reserved per write of the floor file: one fsync per this many records */
const SEQ_BLOCK = 100_000;
/** pending group-commit rows beyond groupCommitMaxRows x this are refused (back-pressure) */
const PENDING_FACTOR = 10;
/** once over quota, evict down to this share of it so eviction does not run on every commit */
const EVICT_TARGET = 0.9;
/** what a row adds to the WAL beyond its payload and frame (page headers, cells, index) */
const WAL_ROW_OVERHEAD = 64;
/** row bytes without a completed background checkpoint, x checkpointAfterBytes: checkpoint inline */
const INLINE_CHECKPOINT_FACTOR = 4;
/** rows committed but awaiting their WAL sync beyond groupCommitMaxRows x this: sync inline (bounds the heap a slow disk can cost, like PENDING_FACTOR) */
const UNSYNCED_FACTOR = 10;
/** protected rows alone beyond quota x this: refuse unprotected rows (never drop alarms) */
const HARD_LIMIT_FACTOR = 2;

/** every outbox column in the order OutboxDbArray reads them */
const ALL_COLUMNS = 'seq, lane, type, device_id, protected, received_at, payload, raw, bytes';
/** the same but the frame, for readers that do not send it */
const NO_RAW_COLUMNS = 'seq, lane, type, device_id, protected, received_at, payload, NULL AS raw, bytes';

/** SQLite's own default (2 MB); better-sqlite3's build sets 16 MB */
const PAGE_CACHE_KIB = 2048;
const OUTBOX_COLUMNS = 9;
/** rows per multi-row INSERT: 288 parameters, far below SQLite's 32,766 */
const INSERT_CHUNK = 32;

function multiRowInsert(rows: number): string {
  const tuple = `(${new Array(OUTBOX_COLUMNS).fill('?').join(', ')})`;
  return `INSERT INTO outbox (seq, lane, type, device_id, protected, received_at, payload, raw, bytes) VALUES ${new Array(rows).fill(tuple).join(', ')}`;
}

const silentLog: StoreLogger = { info() {}, warn() {}, error() {} };

export function openStore(options: StoreOptions): OpenResult {
  const log = options.log ?? silentLog;
  const dir = resolve(options.dataDir);
  mkdirSync(dir, { recursive: true });
  if (!options.allowTmpfs && isTmpfs(dir, options.mountTable)) {
    throw new StoreError(
      `data dir ${dir} is on tmpfs/ramfs: records would be lost at reboot (set store.allowTmpfs to force)`,
      'tmpfs',
    );
  }
  const path = join(dir, DB_FILE);
  let reset: OpenResult['reset'];
  let db: Database.Database;
  try {
    db = openChecked(path);
  } catch (err) {
    // A corrupt file must not crash-loop the service: keep it for forensics, start fresh.
    const reason = err instanceof Error ? err.message : String(err);
    const quarantinedTo = quarantine(path, options.now?.() ?? Date.now());
    log.error({ path, quarantinedTo, reason }, 'database failed its integrity check: quarantined, starting a fresh one');
    db = openChecked(path);
    reset = { quarantinedTo, reason };
  }
  const store = new Store(db, path, dir, options, log);
  if (reset) store.recordStorageReset(reset.quarantinedTo, reset.reason);
  return reset ? { store, reset } : { store };
}

function openChecked(path: string): Database.Database {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`quick_check: ${String(check)}`);
    migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function quarantine(path: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[:.]/g, '-');
  const target = `${path}.corrupt-${stamp}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  return target;
}

/** Called once, after the transaction holding the row committed (or failed). */
export type CommitCallback = (err: StoreError | undefined, row: OutboxRow | undefined) => void;

interface Pending {
  row: NewOutboxRow;
  done: CommitCallback;
}

interface SyncGroup {
  batch: Pending[];
  rows: OutboxRow[];
  /** last seq the group's transaction issued (a quota `gap` row comes after the batch's rows) */
  upTo: number;
}

/** an outbox row in raw mode, columns as ALL_COLUMNS and NO_RAW_COLUMNS list them */
type OutboxDbArray = [seq: number, lane: Lane, type: string, deviceId: string | null, isProtected: number, receivedAt: number, payload: string, raw: Buffer | null, bytes: number];

interface CommandDbRow {
  id: string;
  device_id: string;
  action: string;
  state: CommandState;
  reason: string | null;
  request: string;
  created_ms: number;
  updated_ms: number;
  expires_ms: number;
  attempts: number;
  correlation: string | null;
  device_reply: string | null;
}

export class Store {
  /** transactions committed by the group committer (tests observe batching through it) */
  commitCount = 0;
  private readonly now: () => number;
  private readonly listeners = new Set<(rows: readonly OutboxRow[]) => void>();
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private commitQueued = false;
  private closed = false;
  private accepting = true;
  private closing: Promise<void> | undefined;
  /**
   * synchronous=full: group commits are written with synchronous=NORMAL and the WAL is then
   * fdatasync'ed on libuv's thread pool, so the event loop never waits for the disk (2-20 ms per
   * fsync on an SD card). Waiters and commit listeners hear of a group only once that sync
   * covers it: the same "durable before acknowledged" as FULL, without blocking.
   */
  private readonly asyncSync: boolean;
  private walFd: number | undefined;
  /** committed groups waiting for a WAL sync that has not started yet */
  private unsynced: SyncGroup[] = [];
  /** the groups the WAL sync in flight covers */
  private syncingGroups: SyncGroup[] = [];
  private syncInFlight: Promise<void> | undefined;
  /** highest seq known durable; readers never see past it (a seq the cloud saw must survive) */
  private durableSeq: number;
  private readonly checkpointer: Checkpointer | undefined;
  private readonly adaptiveCheckpointer: AdaptiveCheckpointer | undefined;
  private readonly loopCheckpointer: LoopCheckpointer | undefined;
  private readonly workerCheckpointer: BackgroundCheckpointer | undefined;
  private readonly checkpointAfterBytes: number;
  /** row bytes committed since the last completed checkpoint: a proxy for WAL growth */
  private walBytesSinceCheckpoint = 0;
  private walBytesAtRequest = 0;
  /** checkpoints the event loop ran itself because the background ones fell behind */
  inlineCheckpoints = 0;
  /** remainders the event loop copied after a background checkpoint (finishBackgroundCheckpoint) */
  remainderCheckpoints = 0;
  private nextSeq: number;
  private seqFloor: number;
  private backlogRows = { evt: 0, pos: 0 };
  private backlogBytes = 0;
  private protectedBytes = 0;
  private lastFullWarnMs = 0;
  private lastSyncFailLogMs = Number.NEGATIVE_INFINITY;
  private syncFailures = 0;
  private readonly stmts;
  private insertManyStmt: Database.Statement | undefined;
  /** reused for every chunk: no parameter array per statement */
  private readonly insertParams: unknown[] = new Array(INSERT_CHUNK * OUTBOX_COLUMNS).fill(null);
  private readonly floorPath: string;
  /** prepared once per filter shape (a handful of shapes exist) */
  private readonly commandQueries = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    readonly path: string,
    dir: string,
    private readonly options: StoreOptions,
    private readonly log: StoreLogger,
  ) {
    this.now = options.now ?? Date.now;
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('busy_timeout = 5000');
    // No autocheckpoint inside a commit: the store asks the background checkpointer by bytes
    // written (maybeCheckpoint), the ops job every few minutes, close() last; the event loop copies
    // only what was written during each background run (finishBackgroundCheckpoint), or all of it
    // when the background ones fell far behind.
    db.pragma('wal_autocheckpoint = 0');
    // better-sqlite3 builds SQLite with a 16 MB page cache per connection, which a busy outbox
    // fills: with 10,000 trackers it was 13 MB of the gateway's memory. The outbox appends at the
    // right edge of one B-tree and reads its left edge, so the pages that matter are few.
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO outbox (seq, lane, type, device_id, protected, received_at, payload, raw, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      // The lane is a literal so the planner can use the partial evt index (migration 3).
      readLane: {
        evt: db.prepare(`SELECT ${ALL_COLUMNS} FROM outbox WHERE lane = 'evt' AND seq > ? AND seq < ? ORDER BY seq LIMIT ?`).raw(),
        pos: db.prepare(`SELECT ${ALL_COLUMNS} FROM outbox WHERE lane = 'pos' AND seq > ? AND seq < ? ORDER BY seq LIMIT ?`).raw(),
      },
      readLaneNoRaw: {
        evt: db.prepare(`SELECT ${NO_RAW_COLUMNS} FROM outbox WHERE lane = 'evt' AND seq > ? AND seq < ? ORDER BY seq LIMIT ?`).raw(),
        pos: db.prepare(`SELECT ${NO_RAW_COLUMNS} FROM outbox WHERE lane = 'pos' AND seq > ? AND seq < ? ORDER BY seq LIMIT ?`).raw(),
      },
      // What a range delete removes, summed in SQLite: RETURNING built a JS object per deleted row.
      rangeSums: db.prepare('SELECT lane, protected, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM outbox WHERE seq >= ? AND seq <= ? GROUP BY lane, protected'),
      deleteRangeAll: db.prepare('DELETE FROM outbox WHERE seq >= ? AND seq <= ?'),
      evictCandidates: db.prepare("SELECT seq, bytes FROM outbox WHERE lane = 'pos' AND protected = 0 ORDER BY seq LIMIT ?"),
      deleteRange: db.prepare("DELETE FROM outbox WHERE lane = 'pos' AND protected = 0 AND seq >= ? AND seq <= ?"),
      // Seqs are issued in arrival order, so the lowest seq is the oldest row: an index lookup,
      // not the full scan MIN(received_at) costs on every status poll.
      oldest: db.prepare('SELECT received_at AS t FROM outbox ORDER BY seq LIMIT 1'),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      upsertDevice: db.prepare(
        `INSERT INTO devices (device_id, protocol, transport, remote, first_seen, last_seen, online, last_position)
         VALUES (@deviceId, @protocol, @transport, @remote, @seenMs, @seenMs, @online, @lastPosition)
         ON CONFLICT(device_id) DO UPDATE SET protocol = excluded.protocol, transport = excluded.transport,
           remote = COALESCE(excluded.remote, devices.remote), last_seen = MAX(devices.last_seen, excluded.last_seen),
           online = excluded.online, last_position = COALESCE(excluded.last_position, devices.last_position)`,
      ),
      setOnline: db.prepare('UPDATE devices SET online = ?, last_seen = MAX(last_seen, ?) WHERE device_id = ?'),
      allOffline: db.prepare('UPDATE devices SET online = 0 WHERE online = 1'),
      getDevice: db.prepare('SELECT * FROM devices WHERE device_id = ?'),
      listDevices: db.prepare('SELECT * FROM devices ORDER BY device_id'),
      insertCommand: db.prepare(
        `INSERT INTO commands (id, device_id, action, state, reason, request, created_ms, updated_ms, expires_ms, attempts, correlation, device_reply)
         VALUES (@id, @deviceId, @action, @state, @reason, @request, @createdMs, @updatedMs, @expiresMs, @attempts, @correlation, @deviceReply)`,
      ),
      getCommand: db.prepare('SELECT * FROM commands WHERE id = ?'),
      updateCommand: db.prepare(
        `UPDATE commands SET device_id = @deviceId, action = @action, state = @state, reason = @reason, request = @request,
           created_ms = @createdMs, updated_ms = @updatedMs, expires_ms = @expiresMs, attempts = @attempts,
           correlation = @correlation, device_reply = @deviceReply WHERE id = @id`,
      ),
      insertAudit: db.prepare('INSERT INTO audit (command_id, ts, state, reason, detail) VALUES (?, ?, ?, ?, ?)'),
      pruneAudit: db.prepare('DELETE FROM audit WHERE ts < ?'),
    };
    this.floorPath = join(dir, SEQ_FLOOR_FILE);
    const maxRow = db.prepare('SELECT MAX(seq) AS m FROM outbox').get() as { m: number | null };
    const lastIssued = Number(this.getMeta('seq.last') ?? 0);
    const floor = readFloor(this.floorPath);
    // Continue above every seq ever issued. A fresh db (first start, or after a storage reset)
    // starts above the reserved floor: the cloud de-duplicates on (gw, seq), so a reused seq
    // would make it drop real data.
    const fresh = maxRow.m === null && lastIssued === 0;
    this.nextSeq = (fresh ? floor : Math.max(maxRow.m ?? 0, lastIssued)) + 1;
    this.seqFloor = floor;
    this.reserveSeqs(this.nextSeq);
    this.durableSeq = this.nextSeq - 1;
    this.asyncSync = options.synchronous !== 'normal';
    this.checkpointAfterBytes = options.checkpointAfterBytes ?? 16 * 1024 * 1024;
    if (options.backgroundCheckpoint !== false) {
      const onComplete = () => this.finishBackgroundCheckpoint();
      const on = options.checkpointOn ?? 'adaptive';
      if (on !== 'worker') {
        this.loopCheckpointer = new LoopCheckpointer(path, () => this.copyWalWithoutSync(), log, { onComplete, walSync: options.walSync, dbSync: options.dbSync });
      }
      if (on !== 'loop') this.workerCheckpointer = new BackgroundCheckpointer(path, log, { onComplete });
      if (this.loopCheckpointer && this.workerCheckpointer) {
        this.adaptiveCheckpointer = new AdaptiveCheckpointer(this.loopCheckpointer, this.workerCheckpointer);
      }
      this.checkpointer = this.adaptiveCheckpointer ?? this.loopCheckpointer ?? this.workerCheckpointer;
    }
    this.recountBacklog();
  }

  get pendingRows(): number {
    return this.pending.length;
  }

  /** One transaction: assigns seqs, inserts, enforces the quota. */
  append(rows: readonly NewOutboxRow[]): OutboxRow[] {
    this.assertOpen();
    for (const r of rows) this.checkRoom(r);
    const before = this.memoryState();
    let committed: OutboxRow[];
    try {
      committed = this.db.transaction((batch: readonly NewOutboxRow[]) => this.insertRows(batch))(rows);
    } catch (err) {
      this.restoreMemoryState(before);
      throw err;
    }
    this.commitCount++;
    this.maybeCheckpoint();
    // A synchronous=FULL commit syncs the whole WAL: every group committed before it is durable.
    this.markDurable(this.nextSeq - 1);
    this.notify(committed);
    return committed;
  }

  /** Group commit: resolves only after the transaction holding the row has committed. */
  enqueue(row: NewOutboxRow): Promise<OutboxRow> {
    return new Promise<OutboxRow>((resolve, reject) => {
      this.enqueueThen(row, (err, committed) => (err ? reject(err) : resolve(committed as OutboxRow)));
    });
  }

  /**
   * Group commit with a callback instead of a promise: the ingest hot path queues hundreds of
   * thousands of rows a second, and a promise (plus its reaction jobs) per row was measurable.
   * `done` runs once, never synchronously inside this call. `origin` 'gateway' is for rows no
   * peer would send again if refused (see StoreOptions.gatewayEventRoom).
   */
  enqueueThen(row: NewOutboxRow, done: CommitCallback, origin: 'device' | 'gateway' = 'device'): void {
    let refused: StoreError | undefined;
    const bound = this.options.groupCommitMaxRows * PENDING_FACTOR + (origin === 'gateway' ? (this.options.gatewayEventRoom ?? 0) : 0);
    if (this.closed || !this.accepting) refused = new StoreError('store is closed', 'closed');
    else if (this.pending.length >= bound) {
      refused = new StoreError('group-commit queue full: the disk is not keeping up', 'full');
    } else {
      try {
        this.checkRoom(row);
      } catch (err) {
        refused = err instanceof StoreError ? err : new StoreError(String(err), 'io');
      }
    }
    if (refused) {
      const failure = refused;
      queueMicrotask(() => done(failure, undefined));
      return;
    }
    this.pending.push({ row, done });
    if (this.pending.length >= this.options.groupCommitMaxRows) {
      // A full group commits right after the caller's synchronous work (the rest of the frames of
      // the chunk it is decoding join it), and no callback ever runs inside enqueueThen itself.
      if (!this.commitQueued) {
        this.commitQueued = true;
        queueMicrotask(() => this.commitPending());
      }
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.commitPending(), this.options.groupCommitMs);
    }
  }

  /** Commits what is pending and resolves once it is durable. */
  async flush(): Promise<void> {
    this.commitPending();
    while (this.syncInFlight || this.unsynced.length > 0) {
      this.startSync();
      await this.syncInFlight;
    }
  }

  private commitPending(): void {
    this.commitQueued = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.closed) return;
    const batch = this.pending;
    this.pending = [];
    let committed: OutboxRow[];
    const before = this.memoryState();
    try {
      // No fsync inside the commit: the WAL sync follows on the thread pool (startSync).
      committed = this.withoutOwnSync(() => this.db.transaction((items: Pending[]) => this.insertRows(items.map((p) => p.row)))(batch));
    } catch (err) {
      // Nothing of this group is durable: every waiter learns it, none is acknowledged. The seqs
      // it took are handed out again: a hole would stall the cloud's contiguous acknowledgement.
      this.restoreMemoryState(before);
      this.log.error({ err: String(err), rows: batch.length }, 'group commit failed');
      const failure = err instanceof StoreError ? err : new StoreError(`commit failed: ${String(err)}`, 'io');
      for (const p of batch) settle(p, failure, undefined, this.log);
      return;
    }
    // Committed: whatever fails from here on must not hand its seqs out again.
    this.commitCount++;
    this.maybeCheckpoint();
    if (this.asyncSync) {
      this.unsynced.push({ batch, rows: committed, upTo: this.nextSeq - 1 });
      this.syncIfBehind();
      this.startSync();
      return;
    }
    this.durableSeq = this.nextSeq - 1;
    this.release(batch, committed);
  }

  /**
   * With synchronous=full: runs `work` with synchronous=NORMAL, so its commit takes no fsync of
   * its own, then sets FULL again for everything else (commands, the audit, the registry).
   */
  private withoutOwnSync<T>(work: () => T): T {
    return this.asyncSync ? this.withSynchronous('NORMAL', work) : work();
  }

  /**
   * Runs `work` at `level`, then sets the configured level again. A failure to set it again is
   * logged, not thrown: the work is done, and the next call sets both again.
   */
  private withSynchronous<T>(level: 'OFF' | 'NORMAL', work: () => T): T {
    this.setSynchronous(level);
    try {
      return work();
    } finally {
      const configured = this.asyncSync ? 'FULL' : 'NORMAL';
      try {
        this.setSynchronous(configured);
      } catch (err) {
        this.log.error({ err: String(err) }, `PRAGMA synchronous = ${configured} failed`);
      }
    }
  }

  /**
   * Not a prepared statement: SQLite applies PRAGMA synchronous when the statement is compiled, so
   * the first run of a prepared one changed nothing (measured: the first group commit after
   * opening, and the first PUBACK's delete, still ran with FULL). 4 us a call.
   */
  private setSynchronous(level: 'OFF' | 'NORMAL' | 'FULL'): void {
    this.db.pragma(`synchronous = ${level}`);
  }

  private release(batch: readonly Pending[], committed: readonly OutboxRow[]): void {
    for (let i = 0; i < batch.length; i++) settle(batch[i] as Pending, undefined, committed[i], this.log);
    this.notify(committed);
  }

  /** One WAL sync at a time; it covers every group committed before it started. */
  private startSync(): void {
    if (this.syncInFlight || this.unsynced.length === 0) return;
    const fd = this.openWal();
    if (fd === undefined) return;
    const groups = this.unsynced;
    this.unsynced = [];
    this.syncingGroups = groups;
    const upTo = groups[groups.length - 1]?.upTo ?? this.durableSeq;
    this.syncInFlight = new Promise<void>((resolve) => {
      (this.options.walSync ?? fdatasync)(fd, (err) => {
        this.syncInFlight = undefined;
        // Empty when a blocking sync (below) already released these groups.
        const mine = this.syncingGroups;
        this.syncingGroups = [];
        if (err) this.failSync(mine, err);
        else {
          this.markDurable(upTo);
          for (const g of mine) this.release(g.batch, g.rows);
        }
        resolve();
        if (!this.closed) this.startSync();
      });
    });
  }

  /**
   * A disk that cannot keep up must slow the trackers down (TCP back-pressure, as a blocking
   * FULL commit did), not make the gateway hold an ever longer list of undurable rows: past the
   * bound the WAL is synced right here, on the event loop.
   */
  private syncIfBehind(): void {
    let rows = 0;
    for (const g of this.unsynced) rows += g.batch.length;
    for (const g of this.syncingGroups) rows += g.batch.length;
    if (rows < this.options.groupCommitMaxRows * UNSYNCED_FACTOR) return;
    const fd = this.openWal();
    if (fd === undefined) return;
    const groups = [...this.syncingGroups, ...this.unsynced];
    this.syncingGroups = [];
    this.unsynced = [];
    try {
      fdatasyncSync(fd);
    } catch (err) {
      this.failSync(groups, err);
      return;
    }
    this.markDurable(this.nextSeq - 1);
    for (const g of groups) this.release(g.batch, g.rows);
  }

  private openWal(): number | undefined {
    try {
      return (this.walFd ??= openSync(`${this.path}-wal`, 'r'));
    } catch (err) {
      const groups = [...this.syncingGroups, ...this.unsynced];
      this.syncingGroups = [];
      this.unsynced = [];
      this.failSync(groups, err);
      return undefined;
    }
  }

  /**
   * The rows are in the database but not known durable: no waiter is acknowledged (the tracker
   * sends again), and the rows still go to the cloud once a later sync covers them.
   */
  private failSync(groups: readonly SyncGroup[], err: unknown): void {
    // One line per 10 s: a disk that has gone away fails every group, hundreds a second.
    this.syncFailures += groups.length;
    const nowMs = this.now();
    if (nowMs - this.lastSyncFailLogMs >= 10_000) {
      this.log.error({ err: String(err), groups: this.syncFailures }, 'WAL sync failed: those records are not acknowledged');
      this.lastSyncFailLogMs = nowMs;
      this.syncFailures = 0;
    }
    const failure = new StoreError(`WAL sync failed: ${String(err)}`, 'io');
    for (const g of groups) for (const p of g.batch) settle(p, failure, undefined, this.log);
  }

  private markDurable(seq: number): void {
    if (seq > this.durableSeq) this.durableSeq = seq;
  }

  /** What insertRows changes in memory, so a rolled-back transaction can undo it. */
  private memoryState() {
    return { nextSeq: this.nextSeq, evt: this.backlogRows.evt, pos: this.backlogRows.pos, bytes: this.backlogBytes, protectedBytes: this.protectedBytes };
  }

  private restoreMemoryState(s: ReturnType<Store['memoryState']>): void {
    this.nextSeq = s.nextSeq;
    this.backlogRows = { evt: s.evt, pos: s.pos };
    this.backlogBytes = s.bytes;
    this.protectedBytes = s.protectedBytes;
  }

  /**
   * Rows go in through one multi-row INSERT per INSERT_CHUNK rows: per statement, better-sqlite3
   * and SQLite pay a call, a step and a reset, which per row was a fifth of the insert cost.
   */
  private insertChunk(rows: number): void {
    const params = this.insertParams;
    if (rows === INSERT_CHUNK) {
      this.insertManyStmt ??= this.db.prepare(multiRowInsert(INSERT_CHUNK));
      this.insertManyStmt.run(params);
      return;
    }
    for (let i = 0; i < rows; i++) {
      const at = i * OUTBOX_COLUMNS;
      this.stmts.insert.run(params[at], params[at + 1], params[at + 2], params[at + 3], params[at + 4], params[at + 5], params[at + 6], params[at + 7], params[at + 8]);
    }
  }

  private insertRows(rows: readonly NewOutboxRow[]): OutboxRow[] {
    const out: OutboxRow[] = [];
    const params = this.insertParams;
    let queued = 0;
    for (const r of rows) {
      const seq = this.nextSeq++;
      if (seq >= this.seqFloor) this.reserveSeqs(seq);
      const bytes = Buffer.byteLength(r.payload) + (r.raw?.length ?? 0);
      this.walBytesSinceCheckpoint += bytes + WAL_ROW_OVERHEAD;
      const at = queued * OUTBOX_COLUMNS;
      params[at] = seq;
      params[at + 1] = r.lane;
      params[at + 2] = r.type;
      params[at + 3] = r.deviceId;
      params[at + 4] = r.protected ? 1 : 0;
      params[at + 5] = r.receivedAtMs;
      params[at + 6] = r.payload;
      params[at + 7] = r.raw;
      params[at + 8] = bytes;
      if (++queued === INSERT_CHUNK) {
        this.insertChunk(INSERT_CHUNK);
        queued = 0;
      }
      this.backlogRows[r.lane]++;
      this.backlogBytes += bytes;
      if (r.protected) this.protectedBytes += bytes;
      // The store owns a row once it is queued: it becomes the committed row rather than a copy
      // (unless the caller handed the same object in twice).
      const row = ((r as Partial<OutboxRow>).seq === undefined ? r : { ...r }) as OutboxRow;
      row.seq = seq;
      row.bytes = bytes;
      out.push(row);
    }
    if (queued > 0) this.insertChunk(queued);
    this.stmts.setMeta.run('seq.last', String(this.nextSeq - 1));
    // Tracker records carry their frame; gateway events do not, and are not counted as records.
    const fromTrackers = rows.reduce((n, r) => n + (r.raw !== null ? 1 : 0), 0);
    if (fromTrackers > 0) {
      const total = Number(this.getMeta('records.total') ?? 0) + fromTrackers;
      this.stmts.setMeta.run('records.total', String(total));
    }
    if (this.backlogBytes > this.options.quotaBytes) this.evict();
    return out;
  }

  /**
   * Quota policy: the oldest unprotected positions go first, never alarms, events or command
   * results; one protected `gap` row tells the cloud exactly which seqs it will never get.
   */
  private evict(): void {
    const target = this.options.quotaBytes * EVICT_TARGET;
    let excess = this.backlogBytes - target;
    if (excess <= 0) return;
    let fromSeq: number | undefined;
    let toSeq: number | undefined;
    let count = 0;
    let freed = 0;
    const candidates = this.stmts.evictCandidates.iterate(1_000_000) as IterableIterator<{ seq: number; bytes: number }>;
    for (const c of candidates) {
      fromSeq ??= c.seq;
      toSeq = c.seq;
      count++;
      freed += c.bytes;
      excess -= c.bytes;
      if (excess <= 0) break;
    }
    if (fromSeq === undefined || toSeq === undefined) return;
    this.stmts.deleteRange.run(fromSeq, toSeq);
    this.backlogRows.pos -= count;
    this.backlogBytes -= freed;
    this.stmts.setMeta.run('evicted.total', String(Number(this.getMeta('evicted.total') ?? 0) + count));
    const nowMs = this.now();
    const gap = {
      v: 1,
      type: 'gap',
      deviceId: null,
      fromSeq,
      toSeq,
      count,
      reason: 'quota',
      receivedAt: new Date(nowMs).toISOString(),
    };
    const payload = JSON.stringify(gap);
    const seq = this.nextSeq++;
    if (seq >= this.seqFloor) this.reserveSeqs(seq);
    const bytes = Buffer.byteLength(payload);
    this.stmts.insert.run(seq, 'evt', 'gap', null, 1, nowMs, payload, null, bytes);
    this.backlogRows.evt++;
    this.backlogBytes += bytes;
    this.protectedBytes += bytes;
    this.stmts.setMeta.run('seq.last', String(seq));
    this.log.warn({ fromSeq, toSeq, count, freedBytes: freed }, 'outbox over quota: oldest history evicted');
  }

  private checkRoom(row: NewOutboxRow): void {
    if (row.protected) return;
    if (this.protectedBytes > this.options.quotaBytes * HARD_LIMIT_FACTOR) {
      const nowMs = this.now();
      if (nowMs - this.lastFullWarnMs > 60_000) {
        this.lastFullWarnMs = nowMs;
        this.log.error({ protectedBytes: this.protectedBytes, quotaBytes: this.options.quotaBytes }, 'alarms and events alone fill twice the quota: refusing positions');
      }
      throw new StoreError('store full: protected records exceed twice the quota', 'full');
    }
  }

  /** Writes (and fsyncs) a seq floor above `seq`, so a fresh db after a reset never reuses seqs. */
  private reserveSeqs(seq: number): void {
    if (seq < this.seqFloor) return;
    const floor = seq + SEQ_BLOCK;
    const fd = openSync(this.floorPath, 'w');
    try {
      writeSync(fd, `${floor}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.seqFloor = floor;
  }

  recordStorageReset(quarantinedTo: string, reason: string): void {
    const nowMs = this.now();
    this.append([
      {
        deviceId: null,
        lane: 'evt',
        type: 'storage_reset',
        protected: true,
        receivedAtMs: nowMs,
        payload: JSON.stringify({ v: 1, type: 'storage_reset', deviceId: null, quarantinedTo, reason, receivedAt: new Date(nowMs).toISOString() }),
        raw: null,
      },
    ]);
  }

  readBatch(q: { lane: Lane; afterSeq: number; beforeSeq?: number; limit: number; maxBytes: number; withRaw?: boolean }): OutboxRow[] {
    this.assertOpen();
    const before = Math.min(q.beforeSeq ?? Number.MAX_SAFE_INTEGER, this.durableSeq + 1);
    const stmt = q.withRaw === false ? this.stmts.readLaneNoRaw[q.lane] : this.stmts.readLane[q.lane];
    // Arrays (raw mode), turned into OutboxRows here: better-sqlite3's row objects, copied again
    // field by field, cost ~1.5 us per row drained.
    const rows = stmt.all(q.afterSeq, before, q.limit) as OutboxDbArray[];
    const out: OutboxRow[] = [];
    let bytes = 0;
    for (const r of rows) {
      if (out.length > 0 && bytes + r[8] > q.maxBytes) break;
      bytes += r[8];
      out.push({ seq: r[0], lane: r[1], type: r[2], deviceId: r[3], protected: r[4] === 1, receivedAtMs: r[5], payload: r[6], raw: r[7], bytes: r[8] });
    }
    return out;
  }

  /**
   * Deletes of rows the cloud has acknowledged take no fsync of their own (withoutOwnSync): they
   * are durable with the next group commit's WAL sync. A power cut can only undo the last of
   * them, and then those rows are sent again under the seqs the cloud de-duplicates on. With FULL
   * every PUBACK waited for an fsync on the event loop (~2 per 1,000 records drained), which an
   * SD card makes 2-20 ms each and a busy disk longer: one held the event loop 76 ms in a profiled
   * live bench here. The same holds for deleteUpTo.
   */
  deleteSeqs(seqs: readonly number[]): number {
    this.assertOpen();
    // A batch is a run of consecutive seqs but for the other lane's rows between them: one
    // range DELETE per run instead of one statement per row (500 per PUBACK at full drain).
    const sorted = [...seqs].sort((a, b) => a - b);
    return this.withoutOwnSync(() => this.db.transaction(() => {
      let n = 0;
      for (let i = 0; i < sorted.length; ) {
        const from = sorted[i] as number;
        let to = from;
        while (i + 1 < sorted.length && (sorted[i + 1] as number) <= to + 1) to = sorted[++i] as number;
        i++;
        n += this.deleteSeqRange(from, to);
      }
      return n;
    })());
  }

  deleteUpTo(seq: number): number {
    this.assertOpen();
    return this.withoutOwnSync(() => this.db.transaction(() => this.deleteSeqRange(0, seq))());
  }

  /**
   * Deletes seqs from..to inside the caller's transaction and takes what they held off the
   * backlog counters, summed by SQLite: DELETE ... RETURNING built a JS object per deleted row,
   * which was 39% of the event loop at full drain (2.2 us a row).
   */
  private deleteSeqRange(from: number, to: number): number {
    const sums = this.stmts.rangeSums.all(from, to) as Array<{ lane: Lane; protected: number; n: number; b: number }>;
    this.stmts.deleteRangeAll.run(from, to);
    let n = 0;
    for (const g of sums) {
      this.backlogRows[g.lane] -= g.n;
      this.backlogBytes -= g.b;
      if (g.protected) this.protectedBytes -= g.b;
      n += g.n;
    }
    return n;
  }

  stats(): StoreStats {
    const backlog: BacklogStats = {
      rows: this.backlogRows.evt + this.backlogRows.pos,
      bytes: this.backlogBytes,
      oldestAgeSec: 0,
      evtRows: this.backlogRows.evt,
      posRows: this.backlogRows.pos,
    };
    if (!this.closed && backlog.rows > 0) {
      const t = (this.stmts.oldest.get() as { t: number | null }).t;
      if (t !== null) backlog.oldestAgeSec = Math.max(0, (this.now() - t) / 1000);
    }
    return {
      backlog,
      lastSeq: this.nextSeq - 1,
      totalRecords: this.closed ? 0 : Number(this.getMeta('records.total') ?? 0),
      evictedRows: this.closed ? 0 : Number(this.getMeta('evicted.total') ?? 0),
      dbBytes: fileSize(this.path) + fileSize(`${this.path}-wal`),
      checkpoints: {
        betweenCommits: this.loopCheckpointer?.completed ?? 0,
        worker: this.workerCheckpointer?.completed ?? 0,
        remainder: this.remainderCheckpoints,
        eventLoop: this.inlineCheckpoints,
      },
    };
  }

  onCommit(listener: (rows: readonly OutboxRow[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(rows: readonly OutboxRow[]): void {
    for (const l of this.listeners) {
      try {
        l(rows);
      } catch (err) {
        this.log.warn({ err: String(err) }, 'commit listener failed');
      }
    }
  }

  getMeta(key: string): string | undefined {
    this.assertOpen();
    return (this.stmts.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.assertOpen();
    this.stmts.setMeta.run(key, value);
  }

  incrementCounter(key: string): number {
    this.assertOpen();
    return this.db.transaction(() => {
      const next = Number(this.getMeta(key) ?? 0) + 1;
      this.stmts.setMeta.run(key, String(next));
      return next;
    })();
  }

  upsertDevice(d: DeviceUpsert): void {
    this.upsertDevices([d]);
  }

  /** Many devices in one transaction: one fsync for the whole registry flush, not one each. */
  upsertDevices(rows: Iterable<DeviceUpsert>): void {
    this.assertOpen();
    this.db.transaction(() => {
      for (const d of rows) this.stmts.upsertDevice.run({ ...d, online: d.online ? 1 : 0, lastPosition: d.lastPosition ?? null });
    })();
  }

  setDeviceOnline(deviceId: string, online: boolean, atMs: number): void {
    this.assertOpen();
    this.stmts.setOnline.run(online ? 1 : 0, atMs, deviceId);
  }

  markAllDevicesOffline(_atMs: number): void {
    this.assertOpen();
    this.stmts.allOffline.run();
  }

  getDevice(deviceId: string): DeviceRow | undefined {
    this.assertOpen();
    const r = this.stmts.getDevice.get(deviceId) as DeviceDbRow | undefined;
    return r ? toDeviceRow(r) : undefined;
  }

  listDevices(): DeviceRow[] {
    this.assertOpen();
    return (this.stmts.listDevices.all() as DeviceDbRow[]).map(toDeviceRow);
  }

  insertCommand(row: CommandRow, audit: { reason?: string | null; detail?: string | null }): void {
    this.assertOpen();
    this.db.transaction(() => {
      this.stmts.insertCommand.run(row);
      this.stmts.insertAudit.run(row.id, row.updatedMs, row.state, audit.reason ?? row.reason, audit.detail ?? null);
    })();
  }

  updateCommand(
    id: string,
    patch: Partial<Omit<CommandRow, 'id'>>,
    audit: { state: CommandState; reason?: string | null; detail?: string | null },
  ): CommandRow {
    this.assertOpen();
    return this.db.transaction(() => {
      const current = this.getCommand(id);
      if (!current) throw new Error(`no command ${id}`);
      const next: CommandRow = { ...current, ...patch, id };
      this.stmts.updateCommand.run(next);
      this.stmts.insertAudit.run(id, next.updatedMs, audit.state, audit.reason ?? null, audit.detail ?? null);
      return next;
    })();
  }

  getCommand(id: string): CommandRow | undefined {
    this.assertOpen();
    const r = this.stmts.getCommand.get(id) as CommandDbRow | undefined;
    return r ? toCommandRow(r) : undefined;
  }

  listCommands(filter: { deviceId?: string; states?: readonly CommandState[]; limit?: number } = {}): CommandRow[] {
    this.assertOpen();
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.deviceId !== undefined) {
      where.push('device_id = ?');
      args.push(filter.deviceId);
    }
    if (filter.states && filter.states.length > 0) {
      where.push(`state IN (${filter.states.map(() => '?').join(',')})`);
      args.push(...filter.states);
    }
    const sql = `SELECT * FROM commands ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_ms DESC, rowid DESC LIMIT ?`;
    args.push(filter.limit ?? 1000);
    let stmt = this.commandQueries.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.commandQueries.set(sql, stmt);
    }
    return (stmt.all(...args) as CommandDbRow[]).map(toCommandRow);
  }

  listAudit(commandId?: string, limit = 1000): AuditEntry[] {
    this.assertOpen();
    const rows = (commandId === undefined
      ? this.db.prepare('SELECT * FROM audit ORDER BY id DESC LIMIT ?').all(limit)
      : this.db.prepare('SELECT * FROM audit WHERE command_id = ? ORDER BY id LIMIT ?').all(commandId, limit)) as Array<{
      id: number;
      command_id: string;
      ts: number;
      state: CommandState;
      reason: string | null;
      detail: string | null;
    }>;
    return rows.map((r) => ({ id: r.id, commandId: r.command_id, ts: r.ts, state: r.state, reason: r.reason, detail: r.detail }));
  }

  /** PASSIVE goes to the background checkpointer when there is one; TRUNCATE runs here. */
  checkpoint(mode: 'PASSIVE' | 'TRUNCATE' = 'PASSIVE'): void {
    this.assertOpen();
    if (mode === 'PASSIVE' && this.checkpointer) {
      this.walBytesAtRequest = this.walBytesSinceCheckpoint;
      this.checkpointer.request();
      return;
    }
    this.db.pragma(`wal_checkpoint(${mode})`);
    this.walBytesSinceCheckpoint = 0;
  }

  /**
   * A background checkpoint copied the WAL as it stood when it began (the loop checkpointer's
   * snapshot, or the worker's start); the groups committed meanwhile are still
   * only in the WAL, and SQLite starts the WAL file over only at a write that finds every frame
   * copied. Under steady ingest that never happened: the file grew by everything written (389 MB
   * in 25 s of 1 ms group commits, measured). Copying that remainder here, between two commits,
   * lets the next commit start the WAL over; it is what was written during one background run,
   * so this stays short.
   */
  private finishBackgroundCheckpoint(): void {
    if (!this.closed) {
      try {
        this.db.pragma('wal_checkpoint(PASSIVE)');
        this.remainderCheckpoints++;
      } catch (err) {
        this.log.warn({ err: String(err) }, 'WAL checkpoint of the remainder failed');
      }
    }
    this.walBytesSinceCheckpoint = 0;
    this.walBytesAtRequest = 0;
  }

  /**
   * Ingest floods (the app's governor decides): background checkpoints copy on the worker thread
   * while one lasts, between commits otherwise. No effect with checkpointOn 'loop' or 'worker'.
   */
  setFloodMode(flood: boolean): void {
    this.adaptiveCheckpointer?.setFlood(flood);
  }

  /** The loop checkpointer's copy: its fsyncs run on the thread pool around it. */
  private copyWalWithoutSync(): void {
    this.withSynchronous('OFF', () => this.db.pragma('wal_checkpoint(PASSIVE)'));
  }

  /** background checkpoints completed (tests, metrics) */
  get backgroundCheckpoints(): number {
    return this.checkpointer?.completed ?? 0;
  }

  /** Resolves once no background checkpoint is running (tests). */
  checkpointIdle(): Promise<void> {
    return this.checkpointer?.idle() ?? Promise.resolve();
  }

  private maybeCheckpoint(): void {
    const written = this.walBytesSinceCheckpoint;
    if (written < this.checkpointAfterBytes) return;
    if (this.checkpointer && written < this.checkpointAfterBytes * INLINE_CHECKPOINT_FACTOR) {
      // Once per threshold's worth of bytes, not after every commit while one runs.
      if (this.walBytesAtRequest === 0 || written - this.walBytesAtRequest >= this.checkpointAfterBytes) {
        this.walBytesAtRequest = written;
        this.checkpointer.request();
      }
      return;
    }
    // No background checkpoints, or they have fallen far behind: bound the WAL here, on the event loop.
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
      this.inlineCheckpoints++;
      this.walBytesSinceCheckpoint = 0;
      this.walBytesAtRequest = 0;
    } catch (err) {
      this.log.warn({ err: String(err) }, 'WAL checkpoint failed');
    }
  }

  vacuum(): void {
    this.assertOpen();
    this.db.exec('VACUUM');
  }

  /** Retention is the only deletion the audit table ever sees. */
  pruneAudit(olderThanMs: number): number {
    this.assertOpen();
    return this.stmts.pruneAudit.run(olderThanMs).changes;
  }

  /** Takes no new rows from the moment it is called; resolves once the pending ones are durable. */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    if (this.closed) return;
    this.accepting = false;
    await this.flush();
    await this.checkpointer?.close();
    if (this.walFd !== undefined) {
      closeSync(this.walFd);
      this.walFd = undefined;
    }
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.log.warn({ err: String(err) }, 'final checkpoint failed');
    }
    this.closed = true;
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('store is closed', 'closed');
  }

  private recountBacklog(): void {
    const rows = this.db.prepare('SELECT lane, protected, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM outbox GROUP BY lane, protected').all() as Array<{
      lane: Lane;
      protected: number;
      n: number;
      b: number;
    }>;
    this.backlogRows = { evt: 0, pos: 0 };
    this.backlogBytes = 0;
    this.protectedBytes = 0;
    for (const r of rows) {
      this.backlogRows[r.lane] += r.n;
      this.backlogBytes += r.b;
      if (r.protected) this.protectedBytes += r.b;
    }
  }
}

interface DeviceDbRow {
  device_id: string;
  protocol: string;
  transport: 'tcp' | 'udp';
  remote: string | null;
  first_seen: number;
  last_seen: number;
  online: number;
  last_position: string | null;
}

function toDeviceRow(r: DeviceDbRow): DeviceRow {
  return {
    deviceId: r.device_id,
    protocol: r.protocol,
    transport: r.transport,
    remote: r.remote,
    firstSeenMs: r.first_seen,
    lastSeenMs: r.last_seen,
    online: r.online === 1,
    lastPosition: r.last_position,
  };
}

function toCommandRow(r: CommandDbRow): CommandRow {
  return {
    id: r.id,
    deviceId: r.device_id,
    action: r.action,
    state: r.state,
    reason: r.reason,
    request: r.request,
    createdMs: r.created_ms,
    updatedMs: r.updated_ms,
    expiresMs: r.expires_ms,
    attempts: r.attempts,
    correlation: r.correlation,
    deviceReply: r.device_reply,
  };
}

/** A waiter that throws must not keep the rest of its group from learning the outcome. */
function settle(p: Pending, err: StoreError | undefined, row: OutboxRow | undefined, log: StoreLogger): void {
  try {
    p.done(err, row);
  } catch (cbErr) {
    log.warn({ err: String(cbErr) }, 'commit callback failed');
  }
}

function readFloor(path: string): number {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
