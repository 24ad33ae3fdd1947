/**
 * WAL checkpoints without a thread of their own. A checkpoint is two costs of very different
 * kinds: copying the WAL's pages into the database file (page-cache writes: ~1 ms per MB of WAL
 * here, 19 ms for the 20 MB that 16 MiB of rows make) and the fsyncs around that copy (2-20 ms
 * each on an SD card, far more after a large copy). Only the fsyncs must stay off the event
 * loop, and the thread pool runs those; the copy runs on the loop, between two commits, with
 * SQLite's own syncs off. A worker thread for the whole checkpoint was ~9-10 MB of resident
 * memory while it lived (an isolate and its own better-sqlite3), most of what stood between a
 * gateway with 10,000 trackers and its memory budget.
 *
 * Why this is as safe as SQLite's own checkpoint after a power cut. SQLite starts the WAL file
 * over (overwriting frames from its start) only at a write that finds every frame copied and no
 * reader holding a snapshot inside the WAL; its own checkpoint fsyncs the WAL before copying and
 * the database file before it records the copy as complete. Here:
 *   1. a second connection opens a read transaction: its snapshot pins the WAL as it stands, so
 *      nothing can start it over, and no checkpoint copies past that snapshot;
 *   2. the WAL is fdatasynced on the thread pool: every frame the copy will read is on disk;
 *   3. the copy runs with synchronous=OFF (no fsync on the loop);
 *   4. the database file is fdatasynced on the thread pool;
 *   5. only then does the snapshot end, and the WAL may start over.
 * A power cut before step 5 finds every copied frame still in the (synced) WAL, which recovery
 * replays over whatever part of the copy reached the disk. If step 4 fails, the snapshot stays
 * pinned and the next request retries the sync before anything else.
 */
import Database from 'better-sqlite3';
import { closeSync, fdatasync, openSync } from 'node:fs';
import type { Checkpointer, CheckpointLogger } from './checkpointer.js';
import { SerialRunner } from './serial-runner.js';

export type FileSync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

export interface LoopCheckpointerOptions {
  /** after each completed checkpoint, on the event loop (the store copies the remainder) */
  onComplete?: () => void;
  /** fdatasync of the WAL file on the thread pool; injected by tests to hold or fail it */
  walSync?: FileSync;
  /** fdatasync of the database file on the thread pool; injected by tests to hold or fail it */
  dbSync?: FileSync;
}

export class LoopCheckpointer implements Checkpointer {
  completed = 0;
  private closed = false;
  private readonly runner = new SerialRunner(
    () => this.runOnce(),
    () => this.closed,
  );
  private reader: Database.Database | undefined;
  private snapshotRead: Database.Statement | undefined;
  private pinned = false;
  /** copied without a completed database sync: the snapshot must stay pinned */
  private dbUnsynced = false;
  private walFd: number | undefined;
  private dbFd: number | undefined;

  /**
   * @param copyWithoutSync copies the WAL into the database file on the store's connection with
   * synchronous=OFF; runs on the event loop
   */
  constructor(
    private readonly dbPath: string,
    private readonly copyWithoutSync: () => void,
    private readonly log: CheckpointLogger,
    private readonly options: LoopCheckpointerOptions = {},
  ) {}

  /** Asks for a checkpoint; one runs at a time, and a request during one runs right after it. */
  request(): void {
    this.runner.request();
  }

  /** Resolves when no checkpoint is running (tests, shutdown). */
  idle(): Promise<void> {
    return this.runner.idle();
  }

  /**
   * Ends the snapshot even when the last database sync failed: the store's next step is its
   * final checkpoint at its own synchronous level, which syncs the database file before it lets
   * the WAL start over.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    this.unpin();
    this.reader?.close();
    this.reader = undefined;
    for (const fd of [this.walFd, this.dbFd]) if (fd !== undefined) closeSync(fd);
    this.walFd = this.dbFd = undefined;
  }

  private async runOnce(): Promise<void> {
    try {
      await this.checkpoint();
      this.completed++;
      if (!this.closed) this.options.onComplete?.();
    } catch (err) {
      this.log.warn({ err: String(err), snapshotPinned: this.pinned }, 'WAL checkpoint failed');
    }
  }

  private async checkpoint(): Promise<void> {
    if (this.dbUnsynced) {
      await this.sync(this.options.dbSync, (this.dbFd ??= openSync(this.dbPath, 'r')));
      this.dbUnsynced = false;
      this.unpin();
    }
    this.pin();
    try {
      await this.sync(this.options.walSync, (this.walFd ??= openSync(`${this.dbPath}-wal`, 'r')));
    } catch (err) {
      this.unpin();
      throw err;
    }
    // From here the copy may have written pages whose sync has not completed: set before the
    // copy, since a copy that fails half-way may have written some.
    this.dbUnsynced = true;
    let copyError: unknown;
    try {
      this.copyWithoutSync();
    } catch (err) {
      copyError = err;
    }
    await this.sync(this.options.dbSync, (this.dbFd ??= openSync(this.dbPath, 'r')));
    this.dbUnsynced = false;
    this.unpin();
    if (copyError !== undefined) throw copyError;
  }

  private pin(): void {
    if (this.pinned) return;
    if (!this.reader) {
      const reader = new Database(this.dbPath, { fileMustExist: true });
      // It reads one page of the schema per checkpoint: no page cache worth the name.
      reader.pragma('cache_size = -64');
      this.snapshotRead = reader.prepare('SELECT COUNT(*) FROM sqlite_schema');
      this.reader = reader;
    }
    this.reader.exec('BEGIN');
    try {
      // A deferred transaction takes its snapshot at its first read.
      this.snapshotRead?.get();
    } catch (err) {
      this.reader.exec('ROLLBACK');
      throw err;
    }
    this.pinned = true;
  }

  private unpin(): void {
    if (!this.pinned) return;
    this.pinned = false;
    try {
      this.reader?.exec('COMMIT');
    } catch (err) {
      this.log.warn({ err: String(err) }, 'ending the checkpoint snapshot failed');
    }
  }

  private sync(injected: FileSync | undefined, fd: number): Promise<void> {
    return new Promise((resolve, reject) => (injected ?? fdatasync)(fd, (err) => (err ? reject(err) : resolve())));
  }
}
