/**
 * Sink storage: records keyed by (gateway, seq), gaps, per-device latest state, and the highest
 * contiguous seq per gateway. SQLite (embedded default) and PostgreSQL behind one interface.
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

export interface SinkDb {
  migrate(): Promise<void>;
  /** One transaction: records (idempotent on (gw, seq)), gaps and device state. */
  storeBatch(gw: string, recs: readonly SinkRecord[]): Promise<void>;
  /** Highest seq such that every seq up to it is stored or covered by a gap (computed from the db). */
  contiguous(gw: string): Promise<number>;
  count(gw: string): Promise<number>;
  /** records that came from trackers (they carry the protocol's `msgType`), not gateway events */
  countTracker(gw: string): Promise<number>;
  close(): Promise<void>;
}

const DEVICE_EVENTS = new Set(['device_online', 'device_offline']);

export class SqliteSinkDb implements SinkDb {
  private readonly db: Database.Database;
  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
  }

  async migrate(): Promise<void> {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS records (gw TEXT NOT NULL, seq INTEGER NOT NULL, device_id TEXT, type TEXT, received_at TEXT, payload TEXT NOT NULL, PRIMARY KEY (gw, seq));
      CREATE TABLE IF NOT EXISTS gaps (gw TEXT NOT NULL, from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL, reason TEXT, PRIMARY KEY (gw, from_seq, to_seq));
      CREATE TABLE IF NOT EXISTS devices (gw TEXT NOT NULL, device_id TEXT NOT NULL, last_seq INTEGER NOT NULL, last_record TEXT NOT NULL, last_position TEXT, online INTEGER, PRIMARY KEY (gw, device_id));
      CREATE TABLE IF NOT EXISTS progress (gw TEXT PRIMARY KEY, contiguous INTEGER NOT NULL);
    `);
  }

  async storeBatch(gw: string, recs: readonly SinkRecord[]): Promise<void> {
    const insert = this.db.prepare('INSERT INTO records (gw, seq, device_id, type, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING');
    const gap = this.db.prepare('INSERT INTO gaps (gw, from_seq, to_seq, reason) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING');
    const device = this.db.prepare(
      `INSERT INTO devices (gw, device_id, last_seq, last_record, last_position, online) VALUES (@gw, @id, @seq, @rec, @pos, @online)
       ON CONFLICT (gw, device_id) DO UPDATE SET
         last_record = CASE WHEN excluded.last_seq > devices.last_seq THEN excluded.last_record ELSE devices.last_record END,
         last_position = CASE WHEN excluded.last_seq > devices.last_seq AND excluded.last_position IS NOT NULL THEN excluded.last_position ELSE devices.last_position END,
         online = CASE WHEN excluded.last_seq > devices.last_seq AND excluded.online IS NOT NULL THEN excluded.online ELSE devices.online END,
         last_seq = MAX(excluded.last_seq, devices.last_seq)`,
    );
    this.db.transaction(() => {
      for (const r of recs) {
        const json = JSON.stringify(r);
        insert.run(gw, r.seq, r.deviceId ?? null, r.type ?? null, r.receivedAt ?? null, json);
        if (r.type === 'gap' && r.fromSeq !== undefined && r.toSeq !== undefined) gap.run(gw, r.fromSeq, r.toSeq, String(r['reason'] ?? ''));
        // A storage reset jumps seqs past everything the quarantined database held.
        if (r.type === 'storage_reset' && r.seq > 1) gap.run(gw, 1, r.seq - 1, 'storage_reset');
        if (r.deviceId) {
          const hasPos = r['lat'] !== undefined && r['lon'] !== undefined;
          const online = r.type && DEVICE_EVENTS.has(r.type) ? (r.type === 'device_online' ? 1 : 0) : null;
          device.run({ gw, id: r.deviceId, seq: r.seq, rec: json, pos: hasPos ? json : null, online });
        }
      }
    })();
  }

  async contiguous(gw: string): Promise<number> {
    return this.db.transaction(() => {
      let upTo = (this.db.prepare('SELECT contiguous FROM progress WHERE gw = ?').get(gw) as { contiguous: number } | undefined)?.contiguous ?? 0;
      const seqs = this.db.prepare('SELECT seq FROM records WHERE gw = ? AND seq > ? ORDER BY seq LIMIT 100000').pluck().all(gw, upTo) as number[];
      const gaps = this.db.prepare('SELECT from_seq AS f, to_seq AS t FROM gaps WHERE gw = ? AND to_seq > ? ORDER BY from_seq').all(gw, upTo) as Array<{ f: number; t: number }>;
      upTo = advance(upTo, seqs, gaps);
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

  async close(): Promise<void> {
    this.db.close();
  }
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

export class PgSinkDb implements SinkDb {
  private constructor(private readonly pool: import('pg').Pool) {}

  static async connect(url: string): Promise<PgSinkDb> {
    const { default: pg } = await import('pg');
    return new PgSinkDb(new pg.Pool({ connectionString: url, max: 4 }));
  }

  async migrate(): Promise<void> {
    await this.pool.query(`
      CREATE TABLE IF NOT EXISTS records (gw TEXT NOT NULL, seq BIGINT NOT NULL, device_id TEXT, type TEXT, received_at TEXT, payload JSONB NOT NULL, PRIMARY KEY (gw, seq));
      CREATE TABLE IF NOT EXISTS gaps (gw TEXT NOT NULL, from_seq BIGINT NOT NULL, to_seq BIGINT NOT NULL, reason TEXT, PRIMARY KEY (gw, from_seq, to_seq));
      CREATE TABLE IF NOT EXISTS devices (gw TEXT NOT NULL, device_id TEXT NOT NULL, last_seq BIGINT NOT NULL, last_record JSONB NOT NULL, last_position JSONB, online BOOLEAN, PRIMARY KEY (gw, device_id));
      CREATE TABLE IF NOT EXISTS progress (gw TEXT PRIMARY KEY, contiguous BIGINT NOT NULL);
    `);
  }

  async storeBatch(gw: string, recs: readonly SinkRecord[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (const r of recs) {
        const json = JSON.stringify(r);
        await client.query('INSERT INTO records (gw, seq, device_id, type, received_at, payload) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING', [gw, r.seq, r.deviceId ?? null, r.type ?? null, r.receivedAt ?? null, json]);
        if (r.type === 'gap' && r.fromSeq !== undefined && r.toSeq !== undefined) {
          await client.query('INSERT INTO gaps (gw, from_seq, to_seq, reason) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [gw, r.fromSeq, r.toSeq, String(r['reason'] ?? '')]);
        }
        if (r.type === 'storage_reset' && r.seq > 1) {
          await client.query('INSERT INTO gaps (gw, from_seq, to_seq, reason) VALUES ($1, 1, $2, $3) ON CONFLICT DO NOTHING', [gw, r.seq - 1, 'storage_reset']);
        }
        if (r.deviceId) {
          const hasPos = r['lat'] !== undefined && r['lon'] !== undefined;
          const online = r.type && DEVICE_EVENTS.has(r.type) ? r.type === 'device_online' : null;
          await client.query(
            `INSERT INTO devices (gw, device_id, last_seq, last_record, last_position, online) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (gw, device_id) DO UPDATE SET
               last_record = CASE WHEN EXCLUDED.last_seq > devices.last_seq THEN EXCLUDED.last_record ELSE devices.last_record END,
               last_position = CASE WHEN EXCLUDED.last_seq > devices.last_seq AND EXCLUDED.last_position IS NOT NULL THEN EXCLUDED.last_position ELSE devices.last_position END,
               online = CASE WHEN EXCLUDED.last_seq > devices.last_seq AND EXCLUDED.online IS NOT NULL THEN EXCLUDED.online ELSE devices.online END,
               last_seq = GREATEST(EXCLUDED.last_seq, devices.last_seq)`,
            [gw, r.deviceId, r.seq, json, hasPos ? json : null, online],
          );
        }
      }
      await client.query('COMMIT');
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
    const seqs = (await this.pool.query('SELECT seq FROM records WHERE gw = $1 AND seq > $2 ORDER BY seq LIMIT 100000', [gw, upTo])).rows.map((r: { seq: string }) => Number(r.seq));
    const gaps = (await this.pool.query('SELECT from_seq AS f, to_seq AS t FROM gaps WHERE gw = $1 AND to_seq > $2 ORDER BY from_seq', [gw, upTo])).rows.map((r: { f: string; t: string }) => ({ f: Number(r.f), t: Number(r.t) }));
    upTo = advance(upTo, seqs, gaps);
    await this.pool.query('INSERT INTO progress (gw, contiguous) VALUES ($1, $2) ON CONFLICT (gw) DO UPDATE SET contiguous = GREATEST(EXCLUDED.contiguous, progress.contiguous)', [gw, upTo]);
    return upTo;
  }

  async count(gw: string): Promise<number> {
    return Number((await this.pool.query('SELECT COUNT(*) AS n FROM records WHERE gw = $1', [gw])).rows[0]?.n ?? 0);
  }

  async countTracker(gw: string): Promise<number> {
    return Number((await this.pool.query("SELECT COUNT(*) AS n FROM records WHERE gw = $1 AND payload ? 'msgType'", [gw])).rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export async function openSinkDb(url: string): Promise<SinkDb> {
  if (url.startsWith('sqlite:')) return new SqliteSinkDb(url.slice('sqlite:'.length));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return PgSinkDb.connect(url);
  throw new Error(`--db must be sqlite:<path> or postgres://... (got "${url}")`);
}
