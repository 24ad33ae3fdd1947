/**
 * WAL checkpoints on a thread of their own, for floods (adaptive-checkpointer.ts chooses; at a
 * depot's pace loop-checkpointer.ts copies between commits instead). A checkpoint copies the WAL
 * into the database file and fsyncs it: ~100 ms for 40 MB on a fast disk, seconds on an SD card.
 * WAL mode lets another connection checkpoint while the gateway's connection keeps committing,
 * so a worker thread with its own connection does all of it, copy and fsyncs, on another core.
 * The worker is started on demand and ends 1 s after its last checkpoint: a worker is ~9-10 MB of
 * resident memory while it lives (~2 MB stay after it ends). Under a flood the requests come
 * about every half second, so it stays; starting one costs ~40 ms of CPU (35-47 ms measured
 * here, most of it on its own thread).
 */
import { Worker } from 'node:worker_threads';

export interface CheckpointLogger {
  warn(o: object, m?: string): void;
}

/** What the store needs of a checkpointer that runs off its commit path. */
export interface Checkpointer {
  /** checkpoints completed (tests and metrics) */
  readonly completed: number;
  request(): void;
  idle(): Promise<void>;
  close(): Promise<void>;
}

// Plain JavaScript evaluated in the worker, so it loads the same from dist/ and under tsx.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('node:module').createRequire(workerData.base)('better-sqlite3');
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
parentPort.on('message', () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true });
  } catch (err) {
    parentPort.postMessage({ ok: false, err: String(err) });
  }
});
`;

interface CheckpointResult {
  ok: boolean;
  err?: string;
}

export interface CheckpointerOptions {
  /** after each completed checkpoint, on the event loop (the store copies the remainder) */
  onComplete?: () => void;
  /** a worker ends this long after its last checkpoint */
  idleMs?: number;
}

export class BackgroundCheckpointer implements Checkpointer {
  /** checkpoints the worker completed (tests and metrics) */
  completed = 0;
  private worker: Worker | undefined;
  /**
   * the worker the running checkpoint was posted to: a worker that ends (terminated when idle,
   * or failed) may report its exit after a new one took the next request, and must not end that
   */
  private runningOn: Worker | undefined;
  private again = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly dbPath: string,
    private readonly log: CheckpointLogger,
    private readonly options: CheckpointerOptions = {},
  ) {}

  /** Asks for a checkpoint; one runs at a time, and a request during one runs right after it. */
  request(): void {
    if (this.closed) return;
    if (this.runningOn) {
      this.again = true;
      return;
    }
    let worker: Worker;
    try {
      worker = this.ensureWorker();
    } catch (err) {
      this.log.warn({ err: String(err) }, 'background checkpoint unavailable');
      return;
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.runningOn = worker;
    worker.postMessage('checkpoint');
  }

  /** Resolves when no checkpoint is running (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.runningOn) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { base: import.meta.url, path: this.dbPath } });
    worker.unref();
    worker.on('message', (m: CheckpointResult) => {
      if (this.runningOn === worker) this.finished(m);
    });
    worker.on('error', (err) => {
      // A worker that cannot open the database (or died) is replaced at the next request.
      if (this.worker === worker) this.worker = undefined;
      if (this.runningOn === worker) this.finished({ ok: false, err: String(err) });
    });
    // Ended without an 'error' (killed, or terminated while idle): a checkpoint it was running
    // must not stay "running", or close() would wait for it for ever.
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      if (this.runningOn === worker) this.finished({ ok: false, err: `checkpoint worker exited (code ${code})` });
    });
    this.worker = worker;
    return worker;
  }

  private finished(m: CheckpointResult): void {
    this.runningOn = undefined;
    if (m.ok) {
      this.completed++;
      this.options.onComplete?.();
    } else {
      this.log.warn({ err: m.err }, 'background WAL checkpoint failed');
    }
    if (this.again && !this.closed) {
      this.again = false;
      this.request();
      return;
    }
    for (const w of this.waiters.splice(0)) w();
    if (!this.closed && this.worker) {
      const worker = this.worker;
      this.idleTimer = setTimeout(() => {
        if (this.runningOn || this.worker !== worker) return;
        this.worker = undefined;
        void worker.terminate();
      }, this.options.idleMs ?? 1_000);
      this.idleTimer.unref();
    }
  }
}
