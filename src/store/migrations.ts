import type Database from 'better-sqlite3';

/**
 * Ordered schema migrations; `user_version` holds how many have run. Append only: a shipped
 * migration is never edited, a change is a new one.
 */
const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [
  (db) =>
    db.exec(`
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        lane TEXT NOT NULL CHECK (lane IN ('evt', 'pos')),
        type TEXT NOT NULL,
        device_id TEXT,
        protected INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        payload TEXT NOT NULL,
        raw BLOB,
        bytes INTEGER NOT NULL
      );
      CREATE INDEX outbox_lane_seq ON outbox (lane, seq);
      CREATE INDEX outbox_evictable ON outbox (lane, protected, seq);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE devices (
        device_id TEXT PRIMARY KEY,
        protocol TEXT NOT NULL,
        transport TEXT NOT NULL,
        remote TEXT,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        online INTEGER NOT NULL,
        last_position TEXT
      );
      CREATE TABLE commands (
        id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        action TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        request TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        correlation TEXT,
        device_reply TEXT
      );
      CREATE INDEX commands_device_state ON commands (device_id, state);
      CREATE INDEX commands_state ON commands (state);
      -- Append-only: rows are inserted, and deleted only by retention (pruneAudit).
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        command_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        detail TEXT
      );
      CREATE INDEX audit_command ON audit (command_id, id);
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
    `),
  // The pos lane holds no protected rows (ingest puts those on evt), so eviction walks the
  // (lane, seq) index and filters; a second index on every insert cost ~20% of ingest.
  (db) => db.exec('DROP INDEX IF EXISTS outbox_evictable'),
  // Nearly every row is a position: the pos lane is read in seq (rowid) order with the lane as a
  // filter, so only the rare evt rows need an index of their own. Every position insert used to
  // update the full (lane, seq) index as well (~20% of the insert cost).
  (db) =>
    db.exec(`
      DROP INDEX IF EXISTS outbox_lane_seq;
      CREATE INDEX outbox_evt_seq ON outbox (seq) WHERE lane = 'evt';
    `),
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema ${current} is newer than this gateway (${MIGRATIONS.length}): refusing to downgrade`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      (MIGRATIONS[v] as (db: Database.Database) => void)(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
