/**
 * Sink storage: records keyed by (gateway, seq), gaps, per-device latest state, and the highest
 * contiguous seq per gateway. SQLite (embedded default) and PostgreSQL behind one interface.
 *
 * Device state is not upserted with each batch: the batch's transaction queues one row holding
 * its per-device updates (`device_pending`), and `foldDevices` applies the queue, merged, off the
 * per-batch path (the sink calls it on its ack timer). Upserting one device row per record inside
 * every batch's transaction cost more than the records themselves.
 *
 * Schema versions live in `sink_schema` (one row); `migrate()` brings any older sink database up
 * to date. Version 1 is the unversioned schema of the first release, so a database created by it
 * upgrades in place.
 */
import Database from 'better-sqlite3';

export interface SinkRecord {
  seq: number;
  deviceId?: string | null;
  type?: string;
  receivedAt?: string;
  msgType?: string;
  fromSeq?: number;
  toSeq?: number;
  [key: string]: unknown;
}

export interface DeviceState {
  deviceId: string;
  lastSeq: number;
  lastRecord: SinkRecord | null;
  lastPosition: SinkRecord | null;
  /** from the device's latest device_online / device_offline event; null before any */
  online: boolean | null;
}

export interface SeqRange {
  from: number;
  to: number;
  count: number;
}

export interface AnnouncedGap extends SeqRange {
  reason: string;
}

/** What the database knows about one gateway's seq space. */
export interface GapReport {
  gw: string;
  stored: number;
  /** highest seq stored, 0 when none */
  maxSeq: number;
  /** highest seq such that every seq up to it is stored or inside an announced gap */
  contiguous: number;
  announced: AnnouncedGap[];
  announcedTotal: number;
  /** holes covered neither by a stored record nor by an announced gap, lowest first */
  missing: SeqRange[];
  missingRanges: number;
  missingSeqs: number;
  /** messages of this gateway the sink acknowledged without storing (unreadable, refused) */
  deadLetters: number;
}

export interface SinkDb {
  migrate(): Promise<void>;
  /** 0: no sink tables; 1: the unversioned first schema; then the `sink_schema` version */
  schemaVersion(): Promise<number>;
  /**
   * One transaction: records (idempotent on (gw, seq)), gaps, and the batch's device updates
   * queued for `foldDevices`. `texts[i]`, when given, is the JSON text of `recs[i]` as received
   * (stored as is, not serialized again).
   */
  storeBatch(gw: string, recs: readonly SinkRecord[], texts?: readonly string[]): Promise<void>;
  /** Highest seq such that every seq up to it is stored or covered by a gap (computed from the db). */
  contiguous(gw: string): Promise<number>;
  /**
   * Applies the queued device updates of every batch committed so far (any gateway, any sink on
   * this database) to device state, and removes them from the queue in the same transaction.
   * Each column keeps the newest seq, so the order of batches and folds does not matter, and a
   * hole in the seqs (history drained behind live records) holds nothing back. At most
   * `maxPages` pages of FOLD_PAGE batches. Resolves true once the queue is empty; false when
   * pages are left or another sink was folding (PostgreSQL): the rest waits for a later call.
   */
  foldDevices(maxPages?: number): Promise<boolean>;
  count(gw: string): Promise<number>;
  /** records that came from trackers (they carry the protocol's `msgType`), not gateway events */
  countTracker(gw: string): Promise<number>;
  device(gw: string, deviceId: string): Promise<DeviceState | undefined>;
  /** every gateway with a record or a gap, sorted */
  gateways(): Promise<string[]>;
  /** `limit` bounds both lists; the totals count everything */
  gapReport(gw: string, limit?: number): Promise<GapReport>;
  /** Keeps a message the sink could not use (payload cut at DEAD_LETTER_MAX_BYTES, its full length kept). */
  storeDeadLetter(d: DeadLetter): Promise<void>;
  /** dead letters of one gateway, or (null) of topics that named none; 0 before schema 3 */
  deadLetterCount(gw: string | null): Promise<number>;
  /** the oldest `limit` dead letters, all gateways */
  deadLetters(limit?: number): Promise<StoredDeadLetter[]>;
  close(): Promise<void>;
}

/** A message the sink acknowledged without storing its records, kept for forensics. */
export interface DeadLetter {
  /** from the topic; null when the topic named none */
  gw: string | null;
  topic: string;
  /** ISO 8601 */
  receivedAt: string;
  reason: string;
  /** the bytes as received (for a record the database refused: that record's JSON) */
  payload: Buffer;
  /**
   * The seq of a single record the database refused. Stored with a `dead_letter` gap over it, so
   * the contiguous seq (down/ack) moves past it: the record is kept, here, and a gateway that got
   * no down/ack for it would resend it forever, to be refused each time.
   */
  seq?: number | null;
}

export interface StoredDeadLetter extends DeadLetter {
  id: number;
  /** the payload's full length; more than `payload.length` when it was cut */
  payloadBytes: number;
}

/** A dead letter keeps at most this much of its payload: a broker allows 256 MiB messages. */
export const DEAD_LETTER_MAX_BYTES = 1024 * 1024;

/**
 * The database refused the batch's content (a value out of range, a string it cannot hold), not
 * a storage failure: delivering the same message again fails the same way, so the sink keeps it
 * as a dead letter instead of leaving it unacknowledged.
 */
export class RejectedBatchError extends Error {
  override readonly name = 'RejectedBatchError';
}

// PostgreSQL SQLSTATE classes caused by the data itself: 22 data exception (bigint out of range,
// \u0000 in a jsonb string), 54 program limit exceeded (an index row over the btree limit, e.g. a
// gateway id of several KB). Anything else (connection, disk full, shutdown) is a storage failure.
function pgRejects(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('54'));
}

// SQLite result codes caused by the data itself (a string or blob over SQLITE_MAX_LENGTH).
function sqliteRejects(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_TOOBIG' || code === 'SQLITE_MISMATCH';
}

export const SINK_SCHEMA_VERSION = 5;

/** Rows per multi-row INSERT: large enough to amortize the per-statement cost, small enough for any SQLite variable limit. */
const CHUNK = 100;

/** `n` parenthesised tuples of `columns` placeholders, for a multi-row VALUES list */
function tuples(n: number, columns: number): string {
  return Array(n).fill(`(${Array(columns).fill('?').join(', ')})`).join(', ');
}

/** The statement for `n` rows, prepared on first use (at most CHUNK sizes per cache). */
function cachedStatement(cache: Map<number, Database.Statement>, n: number, prepare: () => Database.Statement): Database.Statement {
  let s = cache.get(n);
  if (!s) {
    s = prepare();
    cache.set(n, s);
  }
  return s;
}

/** Runs `rows` CHUNK at a time through the n-row statement `stmtFor(n)`, one parameter list per chunk. */
function runChunked<T>(rows: readonly T[], columns: (row: T, index: number) => unknown[], stmtFor: (n: number) => Database.Statement): void {
  for (let i = 0; i < rows.length; i += CHUNK) {
    const n = Math.min(CHUNK, rows.length - i);
    const params: unknown[] = [];
    for (let k = 0; k < n; k++) params.push(...columns(rows[i + k] as T, i + k));
    stmtFor(n).run(params);
  }
}

interface DeviceUpdate {
  deviceId: string;
  lastSeq: number;
  positionSeq: number | null;
  online: boolean | null;
  onlineSeq: number | null;
}

type PlannedGaps = Array<{ from: number; to: number; reason: string }>;

function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** The gaps a batch announces: gap records, and a storage reset's jump over everything before it. */
function planGaps(recs: readonly SinkRecord[]): PlannedGaps {
  const gaps: PlannedGaps = [];
  for (const r of recs) {
    const type = r.type;
    // Safe integers only: a bigint column refuses anything past 2^63, and such a bound is no seq.
    if (type === 'gap' && Number.isSafeInteger(r.fromSeq) && Number.isSafeInteger(r.toSeq) && (r.fromSeq as number) <= (r.toSeq as number)) {
      gaps.push({ from: r.fromSeq as number, to: r.toSeq as number, reason: String(r['reason'] ?? '') });
    }
    // A storage reset jumps seqs past everything the quarantined database held.
    if (type === 'storage_reset' && r.seq > 1) gaps.push({ from: 1, to: r.seq - 1, reason: 'storage_reset' });
  }
  return gaps;
}

/** IMEIs are 15 digits, TK103 ids 11-15 characters: 64 leaves room for any tracker's id */
export const MAX_DEVICE_ID_CHARS = 64;

/** Newer of two seqs where null means none. */
const newer = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** Folds one update into `d`: the newest seq per column; online goes with the newest online/offline seq. */
function absorb(d: DeviceUpdate, lastSeq: number, positionSeq: number | null, online: boolean | null, onlineSeq: number | null): void {
  d.lastSeq = Math.max(d.lastSeq, lastSeq);
  d.positionSeq = newer(d.positionSeq, positionSeq);
  if (onlineSeq !== null && (d.onlineSeq === null || onlineSeq > d.onlineSeq)) {
    d.online = online;
    d.onlineSeq = onlineSeq;
  }
}

/**
 * A batch collapsed to one update per device: its highest seq, its highest seq with a position
 * (both keys present, as before), its latest online/offline event.
 */
function planDevices(recs: readonly SinkRecord[]): DeviceUpdate[] {
  const devices = new Map<string, DeviceUpdate>();
  for (const r of recs) {
    const id = text(r.deviceId);
    // The record is stored whatever its id; device state is kept for ids a tracker could have.
    // A longer one would fail PostgreSQL's (gw, device_id) key (a B-tree entry is at most ~2.7
    // KB) and with it, retried every tick, the whole fold page behind it.
    if (!id || id.length > MAX_DEVICE_ID_CHARS) continue;
    let d = devices.get(id);
    if (!d) {
      d = { deviceId: id, lastSeq: r.seq, positionSeq: null, online: null, onlineSeq: null };
      devices.set(id, d);
    }
    const hasPosition = r['lat'] !== undefined && r['lon'] !== undefined;
    const onlineEvent = r.type === 'device_online' || r.type === 'device_offline';
    absorb(d, r.seq, hasPosition ? r.seq : null, onlineEvent ? r.type === 'device_online' : null, onlineEvent ? r.seq : null);
  }
  return [...devices.values()];
}

/** A queued update as stored: `[deviceId, lastSeq, positionSeq, online (1/0), onlineSeq]`, nulls kept. */
type PendingTuple = [string, number, number | null, 0 | 1 | null, number | null];

/** The batch's updates as one queue row's text; null when no record names a device. */
function encodePending(recs: readonly SinkRecord[]): string | null {
  const devs = planDevices(recs);
  if (devs.length === 0) return null;
  return JSON.stringify(devs.map((d): PendingTuple => [d.deviceId, d.lastSeq, d.positionSeq, d.online === null ? null : d.online ? 1 : 0, d.onlineSeq]));
}

interface GatewayDeviceUpdate extends DeviceUpdate {
  gw: string;
}

/**
 * Queue rows merged to one update per (gateway, device). Not only fewer rows: PostgreSQL's upsert
 * cannot touch one key twice in a statement (a new device twice fails the page with 21000; an
 * existing one twice takes either row's seqs), so each (gateway, device) must appear once.
 */
function mergePending(rows: ReadonlyArray<{ gw: string; updates: string }>): GatewayDeviceUpdate[] {
  const merged = new Map<string, GatewayDeviceUpdate>();
  for (const row of rows) {
    for (const [deviceId, lastSeq, positionSeq, online, onlineSeq] of JSON.parse(row.updates) as PendingTuple[]) {
      const key = `${row.gw}\u0000${deviceId}`;
      let d = merged.get(key);
      if (!d) {
        d = { gw: row.gw, deviceId, lastSeq, positionSeq: null, online: null, onlineSeq: null };
        merged.set(key, d);
      }
      absorb(d, lastSeq, positionSeq, online === null ? null : online === 1, onlineSeq);
    }
  }
  return [...merged.values()];
}

// Queued batches applied per fold transaction: bounds one transaction (and on SQLite, one
// stretch of the event loop) when the queue is long, e.g. after a crash or a stalled fold.
export const FOLD_PAGE = 200;

// Holes in the union of stored seqs and announced gap ranges: an interval starting above the
// highest end seen before it leaves a hole. One window pass; the same SQL on both databases.
const HOLES_CTE = (p1: string) => `
  WITH iv AS (
    SELECT seq AS s, seq AS e FROM records WHERE gw = ${p1} AND seq >= 1
    UNION ALL
    SELECT CASE WHEN from_seq < 1 THEN 1 ELSE from_seq END, to_seq FROM gaps WHERE gw = ${p1} AND to_seq >= 1 AND to_seq >= from_seq
  ), o AS (
    SELECT s, MAX(e) OVER (ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end FROM iv
  ), holes AS (
    SELECT COALESCE(prev_end, 0) + 1 AS f, s - 1 AS t FROM o WHERE s > COALESCE(prev_end, 0) + 1
  )`;

function holesSql(p1: string, pLimit: string): string {
  return `${HOLES_CTE(p1)} SELECT f, t, COUNT(*) OVER () AS ranges, SUM(t - f + 1) OVER () AS seqs FROM holes ORDER BY f LIMIT ${pLimit}`;
}

function announcedSql(p1: string, pLimit: string): string {
  return `SELECT from_seq AS f, to_seq AS t, reason, COUNT(*) OVER () AS n FROM gaps WHERE gw = ${p1} ORDER BY from_seq, to_seq LIMIT ${pLimit}`;
}

const GATEWAYS_SQL = 'SELECT gw FROM records GROUP BY gw UNION SELECT gw FROM gaps ORDER BY 1';
// A gateway whose every message was unreadable is still a gateway to report.
const GATEWAYS_WITH_DEAD_LETTERS_SQL = 'SELECT gw FROM records GROUP BY gw UNION SELECT gw FROM gaps UNION SELECT gw FROM dead_letters WHERE gw IS NOT NULL ORDER BY 1';

interface ReportRows {
  deadLetters: number;
  stored: number;
  maxSeq: number;
  maxGapTo: number;
  announced: Array<{ f: unknown; t: unknown; reason: unknown; n: unknown }>;
  holes: Array<{ f: unknown; t: unknown; ranges: unknown; seqs: unknown }>;
}

function buildReport(gw: string, r: ReportRows): GapReport {
  const announced = r.announced.map((g) => ({ from: Number(g.f), to: Number(g.t), count: Number(g.t) - Number(g.f) + 1, reason: String(g.reason ?? '') }));
  const missing = r.holes.map((h) => ({ from: Number(h.f), to: Number(h.t), count: Number(h.t) - Number(h.f) + 1 }));
  const first = missing[0];
  return {
    gw,
    stored: r.stored,
    maxSeq: r.maxSeq,
    contiguous: first ? first.from - 1 : Math.max(r.maxSeq, r.maxGapTo),
    announced,
    announcedTotal: Number(r.announced[0]?.n ?? 0),
    missing,
    missingRanges: Number(r.holes[0]?.ranges ?? 0),
    missingSeqs: Number(r.holes[0]?.seqs ?? 0),
    deadLetters: r.deadLetters,
  };
}

interface Migration {
  version: number;
  sqlite: string;
  pg: string;
}

// Which device_online/offline event is the latest per device, read back from the records (the
// first schema kept `online` without the seq it came from).
const LATEST_ONLINE_EVENT = `
  SELECT r.gw, r.device_id, r.seq, r.type = 'device_online' AS online FROM records r
  JOIN (SELECT gw, device_id, MAX(seq) AS seq FROM records WHERE type IN ('device_online', 'device_offline') GROUP BY gw, device_id) m
    ON r.gw = m.gw AND r.seq = m.seq`;

const DEVICE_LATEST_VIEW = `
  CREATE VIEW device_latest AS
  SELECT d.gw, d.device_id, d.last_seq, d.last_position_seq, d.online, r.payload AS last_record, p.payload AS last_position
  FROM devices d
  LEFT JOIN records r ON r.gw = d.gw AND r.seq = d.last_seq
  LEFT JOIN records p ON p.gw = d.gw AND p.seq = d.last_position_seq`;

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sqlite: `
      CREATE TABLE IF NOT EXISTS records (gw TEXT NOT NULL, seq INTEGER NOT NULL, device_id TEXT, type TEXT, received_at TEXT, payload TEXT NOT NULL, PRIMARY KEY (gw, seq));
      CREATE TABLE IF NOT EXISTS gaps (gw TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL, reason TEXT, PRIMARY KEY (gw, from_seq, to_seq));
      CREATE TABLE IF NOT EXISTS devices (gw TEXT NOT NULL, device_id TEXT NOT NULL, last_seq INTEGER NOT NULL, last_record TEXT NOT NULL, last_position TEXT, online INTEGER, PRIMARY KEY (gw, device_id));
      CREATE TABLE IF NOT EXISTS progress (gw TEXT PRIMARY KEY, contiguous INTEGER NOT NULL);`,
    pg: `
      CREATE TABLE IF NOT EXISTS records (gw TEXT NOT NULL, seq BIGINT NOT NULL, device_id TEXT, type TEXT, received_at TEXT, payload JSONB NOT NULL, PRIMARY KEY (gw, seq));
      CREATE TABLE IF NOT EXISTS gaps (gw TEXT NOT NULL, from_seq BIGINT NOT NULL, to_seq BIGINT NOT NULL, reason TEXT, PRIMARY KEY (gw, from_seq, to_seq));
      CREATE TABLE IF NOT EXISTS devices (gw TEXT NOT NULL, device_id TEXT NOT NULL, last_seq BIGINT NOT NULL, last_record JSONB NOT NULL, last_position JSONB, online BOOLEAN, PRIMARY KEY (gw, device_id));
      CREATE TABLE IF NOT EXISTS progress (gw TEXT PRIMARY KEY, contiguous BIGINT NOT NULL);`,
  },
  {
    // Device state as seq references into records: copying each record's JSON into devices
    // twice per record cost more than storing the record itself. `device_latest` joins it back.
    version: 2,
    sqlite: `
      CREATE TABLE devices_v2 (gw TEXT NOT NULL, device_id TEXT NOT NULL, last_seq INTEGER NOT NULL, last_position_seq INTEGER, online INTEGER, online_seq INTEGER, PRIMARY KEY (gw, device_id)) WITHOUT ROWID;
      INSERT INTO devices_v2 (gw, device_id, last_seq, last_position_seq, online, online_seq)
        SELECT d.gw, d.device_id, d.last_seq, json_extract(d.last_position, '$.seq'), ev.online, ev.seq
        FROM devices d LEFT JOIN (${LATEST_ONLINE_EVENT}) ev ON ev.gw = d.gw AND ev.device_id = d.device_id;
      DROP TABLE devices;
      ALTER TABLE devices_v2 RENAME TO devices;
      ${DEVICE_LATEST_VIEW};`,
    pg: `
      CREATE TABLE devices_v2 (gw TEXT NOT NULL, device_id TEXT NOT NULL, last_seq BIGINT NOT NULL, last_position_seq BIGINT, online BOOLEAN, online_seq BIGINT, PRIMARY KEY (gw, device_id)) WITH (fillfactor = 50);
      INSERT INTO devices_v2 (gw, device_id, last_seq, last_position_seq, online, online_seq)
        SELECT d.gw, d.device_id, d.last_seq, (d.last_position->>'seq')::bigint, ev.online, ev.seq
        FROM devices d LEFT JOIN (${LATEST_ONLINE_EVENT}) ev ON ev.gw = d.gw AND ev.device_id = d.device_id;
      DROP TABLE devices;
      ALTER TABLE devices_v2 RENAME TO devices;
      ALTER INDEX devices_v2_pkey RENAME TO devices_pkey;
      ${DEVICE_LATEST_VIEW};`,
  },
  {
    // Messages the sink acknowledged without storing them: acknowledging is what keeps one
    // unreadable message from being redelivered forever ahead of everything behind it.
    version: 3,
    sqlite: `
      CREATE TABLE dead_letters (id INTEGER PRIMARY KEY, gw TEXT, seq INTEGER, topic TEXT NOT NULL, received_at TEXT NOT NULL, reason TEXT NOT NULL, payload BLOB NOT NULL, payload_bytes INTEGER NOT NULL);
      CREATE INDEX dead_letters_gw ON dead_letters (gw);`,
    pg: `
      CREATE TABLE dead_letters (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, gw TEXT, seq BIGINT, topic TEXT NOT NULL, received_at TEXT NOT NULL, reason TEXT NOT NULL, payload BYTEA NOT NULL, payload_bytes BIGINT NOT NULL);
      CREATE INDEX dead_letters_gw ON dead_letters (gw);`,
  },
  {
    // Nothing. Version 4 was a fold from the records behind a per-gateway mark (commit 0b10657,
    // reverted): a database it migrated says 4 and still needs version 5; its extra columns
    // (records.has_pos, progress.device_progress) are nullable or defaulted and go unused.
    version: 4,
    sqlite: '',
    pg: '',
  },
  {
    // Device updates queued by each batch's transaction, applied to devices by the fold. Schema
    // 3 kept devices current with every stored record, so the queue starts empty.
    version: 5,
    sqlite: `CREATE TABLE device_pending (id INTEGER PRIMARY KEY, gw TEXT NOT NULL, updates TEXT NOT NULL);`,
    pg: `CREATE TABLE device_pending (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, gw TEXT NOT NULL, updates TEXT NOT NULL);`,
  },
];

// Each column moves only forward in seq, whatever order the batches arrive in; a row with
// nothing newer (history drained behind live records) is left untouched.
const NEWER = (u: string, d: string) =>
  `(${u}.last_seq > ${d}.last_seq OR ${u}.last_position_seq > COALESCE(${d}.last_position_seq, -1) OR ${u}.online_seq > COALESCE(${d}.online_seq, -1))`;
const DEVICE_SET = (u: string, d: string) => `
    last_seq = CASE WHEN ${u}.last_seq > ${d}.last_seq THEN ${u}.last_seq ELSE ${d}.last_seq END,
    last_position_seq = CASE WHEN ${u}.last_position_seq > COALESCE(${d}.last_position_seq, -1) THEN ${u}.last_position_seq ELSE ${d}.last_position_seq END,
    online = CASE WHEN ${u}.online_seq > COALESCE(${d}.online_seq, -1) THEN ${u}.online ELSE ${d}.online END,
    online_seq = CASE WHEN ${u}.online_seq > COALESCE(${d}.online_seq, -1) THEN ${u}.online_seq ELSE ${d}.online_seq END`;
const DEVICE_UPSERT_SET = `ON CONFLICT (gw, device_id) DO UPDATE SET ${DEVICE_SET('excluded', 'devices')} WHERE ${NEWER('excluded', 'devices')}`;

// PostgreSQL, one statement (one round trip, one implicit transaction) per batch: PostgreSQL
// splits the JSON array itself, so each record is serialized once and sent without per-element
// array escaping. The device updates are queued in the same statement.
const PG_STORE_BATCH = `
  WITH ins AS (
    INSERT INTO records (gw, seq, device_id, type, received_at, payload)
    SELECT $1, (e->>'seq')::bigint, e->>'deviceId', e->>'type', e->>'receivedAt', e FROM jsonb_array_elements($2::jsonb) AS e
    ON CONFLICT DO NOTHING
  ), q AS (
    INSERT INTO device_pending (gw, updates) SELECT $1, $6::text WHERE $6::text IS NOT NULL
  )
  INSERT INTO gaps (gw, from_seq, to_seq, reason)
  SELECT $1, * FROM unnest($3::bigint[], $4::bigint[], $5::text[])
  ON CONFLICT DO NOTHING`;

// Known devices are updated through a join, which costs less than one speculative insert per
// row; devices not yet in the table (as of the statement's snapshot) are inserted, and ON
// CONFLICT covers a device inserted concurrently all the same.
const PG_UPSERT_DEVICES = `
  WITH u AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::boolean[], $6::bigint[]) AS u(gw, device_id, last_seq, last_position_seq, online, online_seq)
  ), upd AS (
    UPDATE devices d SET ${DEVICE_SET('u', 'd')}
    FROM u WHERE d.gw = u.gw AND d.device_id = u.device_id AND ${NEWER('u', 'd')}
  )
  INSERT INTO devices (gw, device_id, last_seq, last_position_seq, online, online_seq)
  SELECT u.* FROM u WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.gw = u.gw AND d.device_id = u.device_id)
  ${DEVICE_UPSERT_SET}`;

// Arbitrary constant: one PostgreSQL fold at a time per database. Two folds would take disjoint
// queue rows but could update shared device rows in opposite orders (an UPDATE through a join
// has no row order to rely on) and deadlock.
const PG_FOLD_LOCK = 7_301_994;

export interface OpenOptions {
  /**
   * A reader such as `tkgw sink-gaps`: SQLite refuses to create a missing file and leaves the
   * journal mode of the file as it is (a reader pointed at the wrong file must not convert it).
   */
  reader?: boolean;
}

export class SqliteSinkDb implements SinkDb {
  private readonly db: Database.Database;
  private readonly inserts = new Map<number, Database.Statement>();
  private readonly upserts = new Map<number, Database.Statement>();
  private gapStmt: Database.Statement | undefined;
  private pendingStmt: Database.Statement | undefined;
  private deadLetterTable = false;

  constructor(path: string, opts: OpenOptions = {}) {
    this.db = new Database(path, { fileMustExist: opts.reader ?? false });
    if (opts.reader) return;
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
  }

  async schemaVersion(): Promise<number> {
    return this.readVersion();
  }

  private readVersion(): number {
    const has = (name: string) => this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    if (has('sink_schema')) {
      const row = this.db.prepare('SELECT version FROM sink_schema').get() as { version: number } | undefined;
      if (row) return row.version;
    }
    return has('records') ? 1 : 0;
  }

  async migrate(): Promise<void> {
    // IMMEDIATE: two sinks starting on one file take turns instead of both migrating.
    this.db
      .transaction(() => {
        const from = this.readVersion();
        if (from > SINK_SCHEMA_VERSION) throw new Error(`sink database schema ${from} is newer than this tkgw (${SINK_SCHEMA_VERSION})`);
        for (const m of MIGRATIONS) if (m.version > from && m.sqlite) this.db.exec(m.sqlite);
        this.db.exec('CREATE TABLE IF NOT EXISTS sink_schema (version INTEGER NOT NULL); DELETE FROM sink_schema;');
        this.db.prepare('INSERT INTO sink_schema (version) VALUES (?)').run(SINK_SCHEMA_VERSION);
      })
      .immediate();
    this.inserts.clear();
    this.upserts.clear();
    this.gapStmt = undefined;
    this.pendingStmt = undefined;
  }

  private insertStmt(n: number): Database.Statement {
    return cachedStatement(this.inserts, n, () => this.db.prepare(`INSERT INTO records (gw, seq, device_id, type, received_at, payload) VALUES ${tuples(n, 6)} ON CONFLICT DO NOTHING`));
  }

  private upsertStmt(n: number): Database.Statement {
    return cachedStatement(this.upserts, n, () => this.db.prepare(`INSERT INTO devices (gw, device_id, last_seq, last_position_seq, online, online_seq) VALUES ${tuples(n, 6)} ${DEVICE_UPSERT_SET}`));
  }

  async storeBatch(gw: string, recs: readonly SinkRecord[], texts?: readonly string[]): Promise<void> {
    try {
      this.storeBatchSync(gw, recs, texts);
    } catch (err) {
      if (sqliteRejects(err)) throw new RejectedBatchError((err as Error).message, { cause: err });
      throw err;
    }
  }

  private storeBatchSync(gw: string, recs: readonly SinkRecord[], texts?: readonly string[]): void {
    const gaps = planGaps(recs);
    const pending = encodePending(recs);
    const json = texts?.length === recs.length ? texts : undefined;
    this.db.transaction(() => {
      runChunked(recs, (r, i) => [gw, r.seq, text(r.deviceId), text(r.type), text(r.receivedAt), json ? json[i] : JSON.stringify(r)], (n) => this.insertStmt(n));
      if (gaps.length > 0) {
        this.gapStmt ??= this.db.prepare('INSERT INTO gaps (gw, from_seq, to_seq, reason) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
        for (const g of gaps) this.gapStmt.run(gw, g.from, g.to, g.reason);
      }
      if (pending !== null) {
        this.pendingStmt ??= this.db.prepare('INSERT INTO device_pending (gw, updates) VALUES (?, ?)');
        this.pendingStmt.run(gw, pending);
      }
    })();
  }

  async foldDevices(maxPages = Number.POSITIVE_INFINITY): Promise<boolean> {
    for (let page = 1; this.foldPage(); page++) {
      if (page >= maxPages) return false;
      // Between pages: the sink's message handling runs on this thread too.
      await new Promise<void>((r) => setImmediate(r));
    }
    return true;
  }

  /**
   * One page of the queue in one transaction: the device rows move and the queue rows go
   * together, so a crash leaves each batch either folded or still queued. IMMEDIATE: a second
   * sink on the file waits its turn, and no queue row can commit below the page's last id while
   * the page is folded (SQLite has one writer), so deleting up to that id takes only this page.
   * True when the queue may hold more.
   */
  private foldPage(): boolean {
    return this.db
      .transaction(() => {
        const rows = this.db.prepare(`SELECT id, gw, updates FROM device_pending ORDER BY id LIMIT ${FOLD_PAGE}`).all() as Array<{ id: number; gw: string; updates: string }>;
        const last = rows[rows.length - 1];
        if (!last) return false;
        runChunked(mergePending(rows), (d) => [d.gw, d.deviceId, d.lastSeq, d.positionSeq, d.online === null ? null : d.online ? 1 : 0, d.onlineSeq], (n) => this.upsertStmt(n));
        this.db.prepare('DELETE FROM device_pending WHERE id <= ?').run(last.id);
        return rows.length === FOLD_PAGE;
      })
      .immediate();
  }

  async contiguous(gw: string): Promise<number> {
    return this.db.transaction(() => {
      let upTo = (this.db.prepare('SELECT contiguous FROM progress WHERE gw = ?').get(gw) as { contiguous: number } | undefined)?.contiguous ?? 0;
      const gaps = this.db.prepare('SELECT from_seq AS f, to_seq AS t FROM gaps WHERE gw = ? AND to_seq > ? ORDER BY from_seq').all(gw, upTo) as Array<{ f: number; t: number }>;
      const page = this.db.prepare(`SELECT seq FROM records WHERE gw = ? AND seq > ? ORDER BY seq LIMIT ${WALK_PAGE}`).pluck();
      for (let read = 0; read < WALK_MAX_ROWS; read += WALK_PAGE) {
        const step = walkPage(upTo, page.all(gw, upTo) as number[], gaps);
        upTo = step.upTo;
        if (!step.more) break;
      }
      this.db.prepare('INSERT INTO progress (gw, contiguous) VALUES (?, ?) ON CONFLICT (gw) DO UPDATE SET contiguous = MAX(excluded.contiguous, progress.contiguous)').run(gw, upTo);
      return upTo;
    })();
  }

  async count(gw: string): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM records WHERE gw = ?').get(gw) as { n: number }).n;
  }

  async countTracker(gw: string): Promise<number> {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM records WHERE gw = ? AND json_extract(payload, '$.msgType') IS NOT NULL").get(gw) as { n: number }).n;
  }

  async device(gw: string, deviceId: string): Promise<DeviceState | undefined> {
    const row = this.db.prepare('SELECT last_seq, online, last_record, last_position FROM device_latest WHERE gw = ? AND device_id = ?').get(gw, deviceId) as
      | { last_seq: number; online: number | null; last_record: string | null; last_position: string | null }
      | undefined;
    if (!row) return undefined;
    return {
      deviceId,
      lastSeq: row.last_seq,
      online: row.online === null ? null : row.online === 1,
      lastRecord: row.last_record === null ? null : (JSON.parse(row.last_record) as SinkRecord),
      lastPosition: row.last_position === null ? null : (JSON.parse(row.last_position) as SinkRecord),
    };
  }

  async gateways(): Promise<string[]> {
    return this.db.prepare(this.hasDeadLetters() ? GATEWAYS_WITH_DEAD_LETTERS_SQL : GATEWAYS_SQL).pluck().all() as string[];
  }

  async gapReport(gw: string, limit = 1000): Promise<GapReport> {
    return this.db.transaction(() => {
      const totals = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(MAX(seq), 0) AS max FROM records WHERE gw = ?').get(gw) as { n: number; max: number };
      const maxGapTo = this.db.prepare('SELECT COALESCE(MAX(to_seq), 0) FROM gaps WHERE gw = ?').pluck().get(gw) as number;
      return buildReport(gw, {
        deadLetters: this.countDeadLetters(gw),
        stored: totals.n,
        maxSeq: totals.max,
        maxGapTo,
        announced: this.db.prepare(announcedSql('@gw', '@limit')).all({ gw, limit }) as ReportRows['announced'],
        holes: this.db.prepare(holesSql('@gw', '@limit')).all({ gw, limit }) as ReportRows['holes'],
      });
    })();
  }

  /** Readers (`tkgw sink-gaps`) do not migrate: a database of schema 2 has no dead-letter table. */
  private hasDeadLetters(): boolean {
    this.deadLetterTable ||= this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dead_letters'").get() !== undefined;
    return this.deadLetterTable;
  }

  private countDeadLetters(gw: string | null): number {
    if (!this.hasDeadLetters()) return 0;
    return this.db.prepare('SELECT COUNT(*) FROM dead_letters WHERE gw IS ?').pluck().get(gw) as number;
  }

  async storeDeadLetter(d: DeadLetter): Promise<void> {
    const seq = d.gw === null ? null : (d.seq ?? null);
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO dead_letters (gw, seq, topic, received_at, reason, payload, payload_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(d.gw, seq, d.topic, d.receivedAt, d.reason, d.payload.subarray(0, DEAD_LETTER_MAX_BYTES), d.payload.length);
      if (seq !== null) this.db.prepare("INSERT INTO gaps (gw, from_seq, to_seq, reason) VALUES (?, ?, ?, 'dead_letter') ON CONFLICT DO NOTHING").run(d.gw, seq, seq);
    })();
  }

  async deadLetterCount(gw: string | null): Promise<number> {
    return this.countDeadLetters(gw);
  }

  async deadLetters(limit = 1000): Promise<StoredDeadLetter[]> {
    if (!this.hasDeadLetters()) return [];
    const rows = this.db.prepare('SELECT id, gw, seq, topic, received_at, reason, payload, payload_bytes FROM dead_letters ORDER BY id LIMIT ?').all(limit) as Array<{
      id: number;
      gw: string | null;
      seq: number | null;
      topic: string;
      received_at: string;
      reason: string;
      payload: Buffer;
      payload_bytes: number;
    }>;
    return rows.map((r) => ({ id: r.id, gw: r.gw, seq: r.seq, topic: r.topic, receivedAt: r.received_at, reason: r.reason, payload: r.payload, payloadBytes: r.payload_bytes }));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

// The contiguous walk reads stored seqs page by page: behind a hole (a batch still in flight, a
// record lost) it stops after one page, where reading up to WALK_MAX_ROWS at once read that many
// rows on every ack tick (250 ms) for as long as the hole stayed open.
const WALK_PAGE = 1000;
// Bounds one call, as the single read did before; the next batch of the gateway walks on.
const WALK_MAX_ROWS = 100_000;

/** One page of the walk: the new contiguous seq, and whether the next page may extend it. */
export function walkPage(upTo: number, seqs: readonly number[], gaps: ReadonlyArray<{ f: number; t: number }>): { upTo: number; more: boolean } {
  const next = advance(upTo, seqs, gaps);
  const last = seqs[seqs.length - 1];
  return { upTo: next, more: seqs.length === WALK_PAGE && last !== undefined && next >= last };
}

/** Walks stored seqs and gap ranges upward from `upTo` while nothing is missing. */
export function advance(upTo: number, seqs: readonly number[], gaps: ReadonlyArray<{ f: number; t: number }>): number {
  let i = 0;
  for (;;) {
    const next = upTo + 1;
    while (i < seqs.length && (seqs[i] as number) < next) i++;
    if (i < seqs.length && seqs[i] === next) {
      upTo = next;
      continue;
    }
    const gap = gaps.find((g) => g.f <= next && g.t >= next);
    if (gap) {
      upTo = gap.t;
      continue;
    }
    return upTo;
  }
}

// Arbitrary constant: serializes concurrent `migrate()` calls of several sinks on one database.
const PG_MIGRATE_LOCK = 7_301_993;

export class PgSinkDb implements SinkDb {
  private deadLetterTable = false;

  private constructor(private readonly pool: import('pg').Pool) {}

  static async connect(url: string): Promise<PgSinkDb> {
    const { default: pg } = await import('pg');
    return new PgSinkDb(new pg.Pool({ connectionString: url, max: 4 }));
  }

  async schemaVersion(): Promise<number> {
    return this.readVersion(this.pool);
  }

  private async readVersion(q: Pick<import('pg').ClientBase, 'query'>): Promise<number> {
    const t = await q.query("SELECT to_regclass('sink_schema') IS NOT NULL AS v, to_regclass('records') IS NOT NULL AS r");
    const has = t.rows[0] as { v: boolean; r: boolean };
    if (has.v) {
      const row = (await q.query('SELECT version FROM sink_schema')).rows[0] as { version: number } | undefined;
      if (row) return Number(row.version);
    }
    return has.r ? 1 : 0;
  }

  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [PG_MIGRATE_LOCK]);
      const from = await this.readVersion(client);
      if (from > SINK_SCHEMA_VERSION) throw new Error(`sink database schema ${from} is newer than this tkgw (${SINK_SCHEMA_VERSION})`);
      for (const m of MIGRATIONS) if (m.version > from && m.pg) await client.query(m.pg);
      await client.query('CREATE TABLE IF NOT EXISTS sink_schema (version INTEGER NOT NULL); DELETE FROM sink_schema;');
      await client.query('INSERT INTO sink_schema (version) VALUES ($1)', [SINK_SCHEMA_VERSION]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async storeBatch(gw: string, recs: readonly SinkRecord[], texts?: readonly string[]): Promise<void> {
    if (recs.length === 0) return;
    const gaps = planGaps(recs);
    try {
      await this.storeQuery(gw, recs, texts, gaps, encodePending(recs));
    } catch (err) {
      if (pgRejects(err)) throw new RejectedBatchError((err as Error).message, { cause: err });
      throw err;
    }
  }

  private async storeQuery(gw: string, recs: readonly SinkRecord[], texts: readonly string[] | undefined, gaps: PlannedGaps, pending: string | null): Promise<void> {
    await this.pool.query({
      name: 'sink_store_batch',
      text: PG_STORE_BATCH,
      values: [
        gw,
        texts?.length === recs.length ? `[${texts.join(',')}]` : JSON.stringify(recs),
        gaps.map((g) => g.from),
        gaps.map((g) => g.to),
        gaps.map((g) => g.reason),
        pending,
      ],
    });
  }

  async foldDevices(maxPages = Number.POSITIVE_INFINITY): Promise<boolean> {
    for (let page = 1; ; page++) {
      const step = await this.foldPage();
      if (step !== 'more') return step === 'done';
      if (page >= maxPages) return false;
    }
  }

  /**
   * One page of the queue in one transaction, the device rows and the queue rows together. A
   * queue row committed after the page's snapshot, even with a lower id (ids are taken at insert,
   * not at commit), is not deleted: it waits for the next page or fold.
   */
  private async foldPage(): Promise<'done' | 'more' | 'busy'> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const locked = (await client.query('SELECT pg_try_advisory_xact_lock($1) AS ok', [PG_FOLD_LOCK])).rows[0] as { ok: boolean };
      if (!locked.ok) {
        await client.query('COMMIT');
        return 'busy';
      }
      const rows = (
        await client.query({
          name: 'sink_fold_take',
          text: `DELETE FROM device_pending WHERE id IN (SELECT id FROM device_pending ORDER BY id LIMIT ${FOLD_PAGE}) RETURNING gw, updates`,
        })
      ).rows as Array<{ gw: string; updates: string }>;
      const devs = mergePending(rows);
      if (devs.length > 0) {
        await client.query({
          name: 'sink_upsert_devices',
          text: PG_UPSERT_DEVICES,
          values: [devs.map((x) => x.gw), devs.map((x) => x.deviceId), devs.map((x) => x.lastSeq), devs.map((x) => x.positionSeq), devs.map((x) => x.online), devs.map((x) => x.onlineSeq)],
        });
      }
      await client.query('COMMIT');
      return rows.length === FOLD_PAGE ? 'more' : 'done';
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async contiguous(gw: string): Promise<number> {
    const p = await this.pool.query('SELECT contiguous FROM progress WHERE gw = $1', [gw]);
    let upTo = Number((p.rows[0] as { contiguous?: string } | undefined)?.contiguous ?? 0);
    const gaps = (await this.pool.query('SELECT from_seq AS f, to_seq AS t FROM gaps WHERE gw = $1 AND to_seq > $2 ORDER BY from_seq', [gw, upTo])).rows.map((r: { f: string; t: string }) => ({ f: Number(r.f), t: Number(r.t) }));
    for (let read = 0; read < WALK_MAX_ROWS; read += WALK_PAGE) {
      const seqs = (await this.pool.query({ name: 'sink_walk_page', text: `SELECT seq FROM records WHERE gw = $1 AND seq > $2 ORDER BY seq LIMIT ${WALK_PAGE}`, values: [gw, upTo] })).rows.map((r: { seq: string }) => Number(r.seq));
      const step = walkPage(upTo, seqs, gaps);
      upTo = step.upTo;
      if (!step.more) break;
    }
    await this.pool.query('INSERT INTO progress (gw, contiguous) VALUES ($1, $2) ON CONFLICT (gw) DO UPDATE SET contiguous = GREATEST(EXCLUDED.contiguous, progress.contiguous)', [gw, upTo]);
    return upTo;
  }

  async count(gw: string): Promise<number> {
    return Number((await this.pool.query('SELECT COUNT(*) AS n FROM records WHERE gw = $1', [gw])).rows[0]?.n ?? 0);
  }

  async countTracker(gw: string): Promise<number> {
    return Number((await this.pool.query("SELECT COUNT(*) AS n FROM records WHERE gw = $1 AND payload ? 'msgType'", [gw])).rows[0]?.n ?? 0);
  }

  async device(gw: string, deviceId: string): Promise<DeviceState | undefined> {
    const row = (await this.pool.query('SELECT last_seq, online, last_record, last_position FROM device_latest WHERE gw = $1 AND device_id = $2', [gw, deviceId])).rows[0] as
      | { last_seq: string; online: boolean | null; last_record: SinkRecord | null; last_position: SinkRecord | null }
      | undefined;
    if (!row) return undefined;
    return { deviceId, lastSeq: Number(row.last_seq), online: row.online, lastRecord: row.last_record, lastPosition: row.last_position };
  }

  async gateways(): Promise<string[]> {
    return (await this.pool.query((await this.hasDeadLetters(this.pool)) ? GATEWAYS_WITH_DEAD_LETTERS_SQL : GATEWAYS_SQL)).rows.map((r: { gw: string }) => r.gw);
  }

  /** Readers (`tkgw sink-gaps`) do not migrate: a database of schema 2 has no dead-letter table. */
  private async hasDeadLetters(q: Pick<import('pg').ClientBase, 'query'>): Promise<boolean> {
    this.deadLetterTable ||= ((await q.query("SELECT to_regclass('dead_letters') IS NOT NULL AS t")).rows[0] as { t: boolean }).t;
    return this.deadLetterTable;
  }

  private async countDeadLetters(q: Pick<import('pg').ClientBase, 'query'>, gw: string | null): Promise<number> {
    if (!(await this.hasDeadLetters(q))) return 0;
    return Number(((await q.query('SELECT COUNT(*) AS n FROM dead_letters WHERE gw IS NOT DISTINCT FROM $1', [gw])).rows[0] as { n: string }).n);
  }

  async storeDeadLetter(d: DeadLetter): Promise<void> {
    const seq = d.gw === null ? null : (d.seq ?? null);
    // One statement, one transaction: the dead letter and the gap over its seq together.
    await this.pool.query(
      `WITH dl AS (INSERT INTO dead_letters (gw, seq, topic, received_at, reason, payload, payload_bytes) VALUES ($1, $2::bigint, $3, $4, $5, $6, $7))
       INSERT INTO gaps (gw, from_seq, to_seq, reason) SELECT $1, $2::bigint, $2::bigint, 'dead_letter' WHERE $2::bigint IS NOT NULL ON CONFLICT DO NOTHING`,
      [d.gw, seq, d.topic, d.receivedAt, d.reason, d.payload.subarray(0, DEAD_LETTER_MAX_BYTES), d.payload.length],
    );
  }

  async deadLetterCount(gw: string | null): Promise<number> {
    return this.countDeadLetters(this.pool, gw);
  }

  async deadLetters(limit = 1000): Promise<StoredDeadLetter[]> {
    if (!(await this.hasDeadLetters(this.pool))) return [];
    const rows = (await this.pool.query('SELECT id, gw, seq, topic, received_at, reason, payload, payload_bytes FROM dead_letters ORDER BY id LIMIT $1', [limit])).rows as Array<{
      id: string;
      gw: string | null;
      seq: string | null;
      topic: string;
      received_at: string;
      reason: string;
      payload: Buffer;
      payload_bytes: string;
    }>;
    return rows.map((r) => ({ id: Number(r.id), gw: r.gw, seq: r.seq === null ? null : Number(r.seq), topic: r.topic, receivedAt: r.received_at, reason: r.reason, payload: r.payload, payloadBytes: Number(r.payload_bytes) }));
  }

  async gapReport(gw: string, limit = 1000): Promise<GapReport> {
    const client = await this.pool.connect();
    try {
      // One snapshot for the totals and both lists.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const totals = (await client.query('SELECT COUNT(*) AS n, COALESCE(MAX(seq), 0) AS max FROM records WHERE gw = $1', [gw])).rows[0] as { n: string; max: string };
      const maxGapTo = (await client.query('SELECT COALESCE(MAX(to_seq), 0) AS t FROM gaps WHERE gw = $1', [gw])).rows[0] as { t: string };
      const announced = (await client.query(announcedSql('$1', '$2'), [gw, limit])).rows as ReportRows['announced'];
      const holes = (await client.query(holesSql('$1', '$2'), [gw, limit])).rows as ReportRows['holes'];
      const deadLetters = await this.countDeadLetters(client, gw);
      await client.query('COMMIT');
      return buildReport(gw, { deadLetters, stored: Number(totals.n), maxSeq: Number(totals.max), maxGapTo: Number(maxGapTo.t), announced, holes });
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export async function openSinkDb(url: string, opts: OpenOptions = {}): Promise<SinkDb> {
  if (url.startsWith('sqlite:')) return new SqliteSinkDb(url.slice('sqlite:'.length), opts);
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return PgSinkDb.connect(url);
  throw new Error(`--db must be sqlite:<path> or postgres://... (got "${url}")`);
}
