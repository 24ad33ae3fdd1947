/**
 * What `tkgw status` reads from a data dir when the gateway's HTTP endpoint does not answer: one
 * read-only connection and plain SELECTs. Opening a Store instead would write: migrations, the
 * seq floor file, the quarantine of a file that fails its check (the live gateway's database,
 * renamed away under it), and a TRUNCATE checkpoint on close, which takes the writer lock the
 * running gateway needs for its next group commit (its event loop waits up to busy_timeout).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DB_FILE } from './store.js';
import { OPEN_COMMAND_STATES } from './types.js';

export interface StoreSnapshot {
  devicesKnown: number;
  totalRecords: number;
  lastSeq: number;
  backlog: { rows: number; bytes: number; oldestAgeSec: number };
  uplinkSession: number;
  pendingCommands: number;
}

export function readStoreSnapshot(dataDir: string, nowMs: number = Date.now()): StoreSnapshot {
  const path = join(dataDir, DB_FILE);
  if (!existsSync(path)) throw new Error(`no gateway database at ${path}`);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 2000');
    // One read transaction: every figure from the same snapshot of a database still being written.
    return db.transaction(() => {
      const meta = (key: string): string | undefined => (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
      const backlog = db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b, MAX(seq) AS maxSeq FROM outbox').get() as { n: number; b: number; maxSeq: number | null };
      const oldest = db.prepare('SELECT received_at AS t FROM outbox ORDER BY seq LIMIT 1').get() as { t: number } | undefined;
      const pending = db.prepare(`SELECT COUNT(*) AS n FROM commands WHERE state IN (${OPEN_COMMAND_STATES.map(() => '?').join(', ')})`).get(...OPEN_COMMAND_STATES) as { n: number };
      const devices = db.prepare('SELECT COUNT(*) AS n FROM devices').get() as { n: number };
      return {
        devicesKnown: devices.n,
        totalRecords: Number(meta('records.total') ?? 0),
        lastSeq: Math.max(backlog.maxSeq ?? 0, Number(meta('seq.last') ?? 0)),
        backlog: { rows: backlog.n, bytes: backlog.b, oldestAgeSec: oldest ? Math.max(0, (nowMs - oldest.t) / 1000) : 0 },
        uplinkSession: Number(meta('uplink.session') ?? 0),
        pendingCommands: pending.n,
      };
    })();
  } finally {
    db.close();
  }
}
