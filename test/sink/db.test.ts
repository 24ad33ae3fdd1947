/**
 * The sink's storage layer on real database files (SQLite, and PostgreSQL when TKGW_TEST_PG is
 * set): idempotent batches, device state whatever the arrival order, the missing-range report,
 * and the upgrade of a database created by the first (unversioned) schema.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEAD_LETTER_MAX_BYTES, FOLD_PAGE, MAX_DEVICE_ID_CHARS, RejectedBatchError, SINK_SCHEMA_VERSION, type SinkDb, type SinkRecord } from '../../src/sink/db.js';
import { recordSpans } from '../../src/sink/json.js';
import { testBackends } from './backends.js';

const backends = testBackends();
after(async () => {
  for (const b of backends) await b.cleanup();
});

const pos = (seq: number, deviceId = 'dev-1', extra: Partial<SinkRecord> = {}): SinkRecord => ({
  seq,
  deviceId,
  protocol: 'h02',
  type: 'position',
  msgType: 'V1',
  receivedAt: `2026-01-01T08:00:${String(seq % 60).padStart(2, '0')}.000Z`,
  lat: 52 + seq / 1000,
  lon: 4.5,
  ...extra,
});
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** What the sink's tick does for a gateway: the contiguous seq (for down/ack), then the fold. */
const tick = async (db: SinkDb, gw: string) => {
  const upTo = await db.contiguous(gw);
  assert.equal(await db.foldDevices(), true);
  return upTo;
};

for (const backend of backends) {
  describe(`sink db on ${backend.name}`, () => {
    it('stores a batch once, however often it is delivered', async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      const batch = range(1, 150).map((s) => pos(s, `dev-${s % 7}`));
      await db.storeBatch('gw-a', batch);
      await db.storeBatch('gw-a', batch);
      await db.storeBatch('gw-a', batch.slice(100));
      assert.equal(await db.count('gw-a'), 150);
      assert.equal(await db.countTracker('gw-a'), 150);
      assert.equal(await db.contiguous('gw-a'), 150);
      assert.equal(await db.count('gw-b'), 0, 'keyed by gateway');
      await db.close();
    });

    it('keeps the JSON text it was given for each record', async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      const text = '{"seq":1,"deviceId":"d","type":"position","lat":1.5,"lon":2.25,"note":"a \\"quoted\\" } ] ,"}';
      await db.storeBatch('gw', [JSON.parse(text) as SinkRecord], [text]);
      assert.equal(await tick(db, 'gw'), 1);
      const d = await db.device('gw', 'd');
      assert.deepEqual(d?.lastRecord, JSON.parse(text));
      await db.close();
    });

    it('keeps each device at its latest record, position and online state, in any arrival order', async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      // Live records first, then history (older seqs) and an older online event arriving late.
      await db.storeBatch('gw', [pos(10), { seq: 12, deviceId: 'dev-1', type: 'heartbeat', msgType: 'HTBT' }, { seq: 11, deviceId: 'dev-1', type: 'device_offline' }]);
      await db.storeBatch('gw', [pos(3), { seq: 2, deviceId: 'dev-1', type: 'device_online' }, pos(4, 'dev-2')]);
      assert.equal(await db.device('gw', 'dev-1'), undefined, 'not folded before the tick');
      // Seqs 1 and 5-9 not stored: the ack waits for them, device state does not.
      assert.equal(await tick(db, 'gw'), 0);
      const d = await db.device('gw', 'dev-1');
      assert.equal(d?.lastSeq, 12);
      assert.equal(d?.lastRecord?.type, 'heartbeat');
      assert.equal(d?.lastPosition?.seq, 10, 'the newest position, not the last to arrive');
      assert.equal(d?.online, false, 'the newest online/offline event wins');
      await db.storeBatch('gw', [{ seq: 13, deviceId: 'dev-1', type: 'device_online' }]);
      assert.equal((await db.device('gw', 'dev-1'))?.online, false, 'not folded before the tick');
      await tick(db, 'gw');
      assert.equal((await db.device('gw', 'dev-1'))?.online, true);
      assert.equal((await db.device('gw', 'dev-2'))?.online, null, 'no event yet');
      assert.equal((await db.device('gw', 'dev-2'))?.lastPosition?.seq, 4);
      assert.equal(await db.device('gw', 'nobody'), undefined);
      await db.close();
    });

    it('folds device state in pages, newest seq winning per column, whatever the order and the holes', { timeout: 30_000 }, async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      // More queued batches than one fold page holds: 2.5 pages of batches of 10 records.
      const n = 25 * FOLD_PAGE;
      // Every record of device dN at seqs = N mod 7; positions everywhere but at multiples of 5,
      // online/offline events at multiples of 11. Stored newest batch first, seq 100 held back.
      const rec = (s: number): SinkRecord =>
        s % 11 === 0 ? { seq: s, deviceId: `d${s % 7}`, type: s % 2 === 0 ? 'device_online' : 'device_offline' } : s % 5 === 0 ? { seq: s, deviceId: `d${s % 7}`, type: 'heartbeat' } : pos(s, `d${s % 7}`);
      const seqs = range(1, n).filter((s) => s !== 100);
      for (let i = seqs.length; i > 0; i -= 10) await db.storeBatch('gw-f', seqs.slice(Math.max(0, i - 10), i).map(rec));
      assert.equal(await tick(db, 'gw-f'), 99, 'the ack stops at the hole');
      const check = async (stored: (s: number) => boolean) => {
        for (let dev = 0; dev < 7; dev++) {
          const mine = range(1, n).filter((s) => s % 7 === dev && stored(s));
          const newest = (f: (s: number) => boolean) => mine.filter(f).pop();
          const d = await db.device('gw-f', `d${dev}`);
          assert.equal(d?.lastSeq, newest(() => true), `d${dev} last seq`);
          assert.equal(d?.lastPosition?.seq, newest((s) => s % 11 !== 0 && s % 5 !== 0), `d${dev} last position`);
          const ev = newest((s) => s % 11 === 0);
          assert.equal(d?.online, ev === undefined ? null : ev % 2 === 0, `d${dev} online`);
        }
      };
      await check((s) => s !== 100);
      // The hole closes late (history drained behind live records): nothing moves backwards.
      await db.storeBatch('gw-f', [rec(100)]);
      assert.equal(await tick(db, 'gw-f'), n);
      await check(() => true);
      assert.equal(await tick(db, 'gw-f'), n, 'folding an empty queue changes nothing');
      await check(() => true);
      await db.close();
    });

    it('folds at most the pages asked for, and the rest on later calls', { timeout: 30_000 }, async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      const batches = 2 * FOLD_PAGE + 5;
      for (let b = 0; b < batches; b++) await db.storeBatch('gw-p', [pos(b + 1, 'dev-p')]);
      assert.equal(await db.foldDevices(1), false, 'one page of three');
      assert.equal((await db.device('gw-p', 'dev-p'))?.lastSeq, FOLD_PAGE, 'the oldest page folded');
      assert.equal(await db.foldDevices(1), false);
      assert.equal(await db.foldDevices(1), true, 'the last, short page empties the queue');
      assert.equal((await db.device('gw-p', 'dev-p'))?.lastSeq, batches);
      await db.close();
    });

    it('stores a record with an id no tracker has but keeps no device state for it, and folds the rest', async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      const huge = 'x'.repeat(5000);
      await db.storeBatch('gw-l', [pos(1, huge), pos(2, 'dev-ok'), pos(3, 'y'.repeat(MAX_DEVICE_ID_CHARS))]);
      assert.equal(await tick(db, 'gw-l'), 3, 'stored and acknowledged');
      assert.equal(await db.device('gw-l', huge), undefined);
      assert.equal((await db.device('gw-l', 'dev-ok'))?.lastSeq, 2);
      assert.equal((await db.device('gw-l', 'y'.repeat(MAX_DEVICE_ID_CHARS)))?.lastSeq, 3, 'the longest id kept');
      await db.close();
    });

    it('converges after a crash between storing and folding', { timeout: 30_000 }, async () => {
      const url = await backend.fresh();
      let db = await backend.open(url);
      await db.migrate();
      await db.storeBatch('gw-c', range(1, 50).map((s) => pos(s, `d${s % 3}`)));
      assert.equal(await tick(db, 'gw-c'), 50);
      // Stored (and acknowledged: the broker delivers it no more), then the process dies before its fold.
      await db.storeBatch('gw-c', [...range(51, 80).map((s) => pos(s, `d${s % 3}`)), { seq: 81, deviceId: 'd0', type: 'device_offline' }]);
      await db.contiguous('gw-c');
      await db.close();
      db = await backend.open(url);
      await db.migrate();
      assert.equal((await db.device('gw-c', 'd0'))?.lastSeq, 48, 'the state as of the last fold');
      // The restarted sink's first fold takes what the crash left queued; a redelivery of part
      // of it changes nothing.
      await db.storeBatch('gw-c', range(61, 80).map((s) => pos(s, `d${s % 3}`)));
      assert.equal(await tick(db, 'gw-c'), 81);
      const d0 = await db.device('gw-c', 'd0');
      assert.equal(d0?.lastSeq, 81);
      assert.equal(d0?.lastPosition?.seq, 78);
      assert.equal(d0?.online, false);
      assert.equal((await db.device('gw-c', 'd2'))?.lastSeq, 80);
      await db.close();
    });

    it('folds with two sinks on one database, whichever stored which batch', { timeout: 30_000 }, async () => {
      const url = await backend.fresh();
      const a = await backend.open(url);
      const b = await backend.open(url);
      await Promise.all([a.migrate(), b.migrate()]);
      // Batches of 40 split between the two, out of order; each sink ticks after its own batch.
      const batches = range(0, 24).map((k) => range(40 * k + 1, 40 * k + 40).map((s) => (s % 9 === 0 ? { seq: s, deviceId: `d${s % 4}`, type: 'device_online' } : pos(s, `d${s % 4}`))));
      const order = [3, 0, 7, 1, 2, 5, 4, 6, 24, 8, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21, 23];
      await Promise.all(
        [0, 1].map(async (which) => {
          const db = which === 0 ? a : b;
          for (let i = which; i < order.length; i += 2) {
            await db.storeBatch('gw-2', batches[order[i] as number] as SinkRecord[]);
            await db.contiguous('gw-2');
            // false when the other sink is folding (PostgreSQL): the next fold takes the rest.
            await db.foldDevices();
          }
        }),
      );
      // Both fold once more, concurrently: on PostgreSQL one of them may find the other folding.
      await Promise.all([a.foldDevices(), b.foldDevices()]);
      assert.equal(await a.foldDevices(), true, 'alone, a fold is never turned away');
      for (let dev = 0; dev < 4; dev++) {
        const mine = range(1, 1000).filter((s) => s % 4 === dev);
        const d = await a.device('gw-2', `d${dev}`);
        assert.equal(d?.lastSeq, mine[mine.length - 1]);
        assert.equal(d?.lastPosition?.seq, mine.filter((s) => s % 9 !== 0).pop());
        assert.equal(d?.online, mine.some((s) => s % 9 === 0) ? true : null);
      }
      await a.close();
      await b.close();
    });

    it('reports announced gaps and the missing ranges no gap announced', async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      // 1-10 stored, 11-12 announced (quota), 13-14 missing, 15-20 stored, gap record itself at 21,
      // 22-24 missing, 25 stored, 26-29 missing, 30 stored.
      await db.storeBatch('gw-r', [...range(1, 10), ...range(15, 20), 25, 30].map((s) => pos(s)));
      await db.storeBatch('gw-r', [{ seq: 21, type: 'gap', fromSeq: 11, toSeq: 12, count: 2, reason: 'quota' }]);
      const r = await db.gapReport('gw-r');
      assert.equal(r.stored, 19);
      assert.equal(r.maxSeq, 30);
      assert.equal(r.contiguous, 12);
      assert.equal(r.contiguous, await db.contiguous('gw-r'), 'the same answer as the ack path');
      assert.deepEqual(r.announced, [{ from: 11, to: 12, count: 2, reason: 'quota' }]);
      assert.equal(r.announcedTotal, 1);
      assert.deepEqual(r.missing, [
        { from: 13, to: 14, count: 2 },
        { from: 22, to: 24, count: 3 },
        { from: 26, to: 29, count: 4 },
      ]);
      assert.equal(r.missingRanges, 3);
      assert.equal(r.missingSeqs, 9);
      const limited = await db.gapReport('gw-r', 2);
      assert.equal(limited.missing.length, 2);
      assert.equal(limited.missingRanges, 3, 'the totals count what the limit left out');
      assert.equal(limited.missingSeqs, 9);
      assert.equal(limited.contiguous, 12);

      // Filling the holes, and a storage reset covering everything below it.
      await db.storeBatch('gw-r', [13, 14, 22, 23, 24, 26, 27, 28, 29].map((s) => pos(s)));
      const full = await db.gapReport('gw-r');
      assert.deepEqual(full.missing, []);
      assert.equal(full.contiguous, 30);
      await db.storeBatch('gw-s', [{ seq: 500, type: 'storage_reset' }, pos(501), pos(503)]);
      const reset = await db.gapReport('gw-s');
      assert.deepEqual(reset.announced, [{ from: 1, to: 499, count: 499, reason: 'storage_reset' }]);
      assert.deepEqual(reset.missing, [{ from: 502, to: 502, count: 1 }]);
      assert.equal(reset.contiguous, 501);
      assert.deepEqual(await db.gateways(), ['gw-r', 'gw-s']);
      await db.close();
    });

    it('counts missing ranges beyond the report limit without listing them', async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      // Every other seq: 1,500 one-seq holes.
      const seqs = range(1, 1500).map((i) => 2 * i - 1);
      for (let i = 0; i < seqs.length; i += 200) await db.storeBatch('gw-h', seqs.slice(i, i + 200).map((s) => pos(s, `d${s % 13}`)));
      const r = await db.gapReport('gw-h', 1000);
      assert.equal(r.missing.length, 1000);
      assert.equal(r.missingRanges, 1499);
      assert.equal(r.missingSeqs, 1499);
      assert.deepEqual(r.missing[0], { from: 2, to: 2, count: 1 });
      assert.deepEqual(r.missing[999], { from: 2000, to: 2000, count: 1 });
      assert.equal(r.contiguous, 1);
      await db.close();
    });

    it('walks the contiguous seq across pages of stored seqs, gaps and holes', async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      const store = async (seqs: number[]) => {
        for (let i = 0; i < seqs.length; i += 500) await db.storeBatch('gw-p', seqs.slice(i, i + 500).map((s) => pos(s, `d${s % 5}`)));
      };
      // 1-999 stored, 1000-1500 announced (the gap record is 4001), 1501-4000 stored but 2001 missing.
      await store([...range(1, 999), ...range(1501, 2000), ...range(2002, 4000)]);
      await db.storeBatch('gw-p', [{ seq: 4001, type: 'gap', fromSeq: 1000, toSeq: 1500, count: 501, reason: 'quota' }]);
      assert.equal(await db.contiguous('gw-p'), 2000, 'across the first page, through the gap, up to the hole');
      await store([2001]);
      assert.equal(await db.contiguous('gw-p'), 4001, 'the hole filled: on across two more pages');
      assert.equal((await db.gapReport('gw-p')).contiguous, 4001, 'the same answer as the report');
      await db.close();
    });

    it('upgrades a database created by the first, unversioned schema', async () => {
      const url = await backend.fresh();
      const json = backend.name === 'postgres' ? (o: object) => `'${JSON.stringify(o)}'::jsonb` : (o: object) => `'${JSON.stringify(o)}'`;
      const p5 = { seq: 5, deviceId: 'old-1', type: 'position', msgType: 'V1', lat: 1, lon: 2 };
      const hb6 = { seq: 6, deviceId: 'old-1', type: 'heartbeat', msgType: 'HTBT' };
      const on4 = { seq: 4, deviceId: 'old-1', type: 'device_online' };
      const blob = backend.name === 'postgres' ? 'JSONB' : 'TEXT';
      const int = backend.name === 'postgres' ? 'BIGINT' : 'INTEGER';
      const online = backend.name === 'postgres' ? 'BOOLEAN' : 'INTEGER';
      await backend.exec(
        url,
        `CREATE TABLE records (gw TEXT NOT NULL, seq ${int} NOT NULL, device_id TEXT, type TEXT, received_at TEXT, payload ${blob} NOT NULL, PRIMARY KEY (gw, seq));
         CREATE TABLE gaps (gw TEXT NOT NULL, from_seq ${int} NOT NULL, to_seq ${int} NOT NULL, reason TEXT, PRIMARY KEY (gw, from_seq, to_seq));
         CREATE TABLE devices (gw TEXT NOT NULL, device_id TEXT NOT NULL, last_seq ${int} NOT NULL, last_record ${blob} NOT NULL, last_position ${blob}, online ${online}, PRIMARY KEY (gw, device_id));
         CREATE TABLE progress (gw TEXT PRIMARY KEY, contiguous ${int} NOT NULL);
         INSERT INTO records VALUES ('gw', 4, 'old-1', 'device_online', NULL, ${json(on4)}), ('gw', 5, 'old-1', 'position', NULL, ${json(p5)}), ('gw', 6, 'old-1', 'heartbeat', NULL, ${json(hb6)});
         INSERT INTO devices VALUES ('gw', 'old-1', 6, ${json(hb6)}, ${json(p5)}, ${backend.name === 'postgres' ? 'true' : '1'});`,
      );
      const db = await backend.open(url);
      assert.equal(await db.schemaVersion(), 1);
      await db.migrate();
      assert.equal(await db.schemaVersion(), SINK_SCHEMA_VERSION);
      const d = await db.device('gw', 'old-1');
      assert.equal(d?.lastSeq, 6);
      assert.deepEqual(d?.lastRecord, hb6);
      assert.deepEqual(d?.lastPosition, p5);
      assert.equal(d?.online, true);
      // The online state carries its seq now: an older event arriving late changes nothing.
      await db.storeBatch('gw', [{ seq: 3, deviceId: 'old-1', type: 'device_offline' }, pos(7, 'old-1'), pos(1, 'old-2'), pos(2, 'old-2')]);
      assert.equal(await tick(db, 'gw'), 7);
      const after = await db.device('gw', 'old-1');
      assert.equal(after?.online, true);
      assert.equal(after?.lastPosition?.seq, 7);
      assert.equal((await db.device('gw', 'old-2'))?.lastSeq, 2);
      await db.migrate();
      assert.equal(await db.schemaVersion(), SINK_SCHEMA_VERSION, 'migrating twice is a no-op');
      assert.equal(await db.count('gw'), 7);
      await db.close();
    });

    it('upgrades a database migrated by the reverted schema 4 (the fold behind a per-gateway mark)', async () => {
      const url = await backend.fresh();
      let db = await backend.open(url);
      await db.migrate();
      await db.close();
      const int = backend.name === 'postgres' ? 'BIGINT' : 'INTEGER';
      await backend.exec(
        url,
        `DROP TABLE device_pending;
         ALTER TABLE records ADD COLUMN has_pos ${backend.name === 'postgres' ? 'BOOLEAN' : 'INTEGER'};
         ALTER TABLE progress ADD COLUMN device_progress ${int} NOT NULL DEFAULT 0;
         UPDATE sink_schema SET version = 4;`,
      );
      db = await backend.open(url);
      assert.equal(await db.schemaVersion(), 4);
      await db.migrate();
      assert.equal(await db.schemaVersion(), SINK_SCHEMA_VERSION);
      await db.storeBatch('gw', [pos(1, 'dev-4'), pos(2, 'dev-4')]);
      assert.equal(await tick(db, 'gw'), 2);
      assert.equal((await db.device('gw', 'dev-4'))?.lastPosition?.seq, 2);
      await db.close();
    });

    it('keeps dead letters: the bytes as received, cut at 1 MiB with their full length, counted per gateway', async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      const small = Buffer.from([0x1f, 0x8b, 0x00, 0xff, 0x00]);
      const big = Buffer.alloc(DEAD_LETTER_MAX_BYTES + 1, 0x61);
      await db.storeDeadLetter({ gw: 'gw-a', topic: 't/gw/gw-a/up/pos/z', receivedAt: '2026-01-01T00:00:00.000Z', reason: 'not gzip', payload: small });
      await db.storeDeadLetter({ gw: 'gw-a', topic: 't/gw/gw-a/up/pos', receivedAt: '2026-01-01T00:00:01.000Z', reason: 'not JSON', payload: big });
      await db.storeDeadLetter({ gw: null, topic: 'elsewhere/up/pos', receivedAt: '2026-01-01T00:00:02.000Z', reason: 'no gateway', payload: Buffer.alloc(0), seq: 9 });
      const rows = await db.deadLetters();
      assert.deepEqual(
        rows.map((r) => [r.gw, r.seq, r.topic, r.receivedAt, r.reason, r.payload.length, r.payloadBytes]),
        [
          ['gw-a', null, 't/gw/gw-a/up/pos/z', '2026-01-01T00:00:00.000Z', 'not gzip', 5, 5],
          ['gw-a', null, 't/gw/gw-a/up/pos', '2026-01-01T00:00:01.000Z', 'not JSON', DEAD_LETTER_MAX_BYTES, DEAD_LETTER_MAX_BYTES + 1],
          [null, null, 'elsewhere/up/pos', '2026-01-01T00:00:02.000Z', 'no gateway', 0, 0],
        ],
      );
      assert.deepEqual(rows[0]?.payload, small);
      assert.equal(await db.deadLetterCount('gw-a'), 2);
      assert.equal(await db.deadLetterCount(null), 1);
      assert.equal(await db.deadLetterCount('gw-b'), 0);
      assert.equal((await db.gapReport('gw-a')).deadLetters, 2);
      assert.deepEqual(await db.gateways(), ['gw-a'], 'a gateway known only by its dead letters');
      await db.close();
    });

    it('covers the seq of a refused record kept as a dead letter, so the contiguous seq moves past it', async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      await db.storeBatch('gw', [pos(1), pos(2), pos(4)]);
      assert.equal(await db.contiguous('gw'), 2);
      await db.storeDeadLetter({ gw: 'gw', seq: 3, topic: 't/gw/gw/up/pos', receivedAt: '2026-01-01T00:00:00.000Z', reason: 'refused', payload: Buffer.from('{"seq":3}') });
      assert.equal(await db.contiguous('gw'), 4);
      assert.deepEqual((await db.gapReport('gw')).announced, [{ from: 3, to: 3, count: 1, reason: 'dead_letter' }]);
      await db.close();
    });

    it('refuses, as RejectedBatchError, a batch whose content the database cannot hold', { skip: backend.name !== 'postgres' && 'SQLite holds anything JSON.parse accepts' }, async () => {
      const db = await backend.open(await backend.fresh());
      await db.migrate();
      await assert.rejects(db.storeBatch('gw', [pos(1, 'd', { reply: 'a\u0000b' })]), RejectedBatchError);
      await assert.rejects(db.storeBatch('gw', [pos(2)], ['{"seq":2,"s":"\\u0000"}']), RejectedBatchError);
      await db.storeBatch('gw', [pos(3)]);
      assert.equal(await db.count('gw'), 1);
      await db.close();
    });

    it('reports 0 for a database without sink tables', async () => {
      const db = await backend.open(await backend.fresh());
      assert.equal(await db.schemaVersion(), 0);
      await db.close();
    });
  });
}

describe('recordSpans', () => {
  it('finds each record of the top-level recs array, whatever the strings hold', () => {
    const recs = [{ seq: 1, s: 'a "q" \\ } ] { [ ,' }, { seq: 2, nested: { a: [1, { b: '"recs":[' }] } }, { seq: 3, u: 'é€😀\\' }];
    const text = JSON.stringify({ v: 1, gw: 'recs', inner: { recs: [{ x: 1 }] }, recs, after: [1, 2] });
    const spans = recordSpans(text);
    assert.ok(spans);
    assert.equal(spans.length, 6);
    for (let i = 0; i < recs.length; i++) assert.equal(text.slice(spans[2 * i], spans[2 * i + 1]), JSON.stringify(recs[i]));
  });

  it('accepts whitespace and takes the last recs key, as JSON.parse does', () => {
    const text = '{ "recs" : [ {"seq":9} ],\n "recs": [\n  {"seq": 1} ,\t{"seq":2}\n] }';
    const spans = recordSpans(text);
    assert.deepEqual(
      spans && [0, 1].map((i) => text.slice(spans[2 * i], spans[2 * i + 1])),
      ['{"seq": 1}', '{"seq":2}'],
    );
  });

  it('gives up on anything that is not an array of records', () => {
    assert.equal(recordSpans('{"v":1}'), undefined);
    assert.equal(recordSpans('{"recs":[1,2]}'), undefined);
    assert.equal(recordSpans('{"recs":{"seq":1}}'), undefined);
  });
});
