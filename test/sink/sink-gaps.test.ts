/** `tkgw sink-gaps` as a process (dist/cli.js) against prepared SQLite sink databases. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSinkDb, type GapReport, type SinkRecord } from '../../src/sink/db.js';
import { runCli } from '../helpers/gateway.js';
import { tempDir } from '../helpers/tmp.js';

const t = tempDir('tkgw-sinkgaps-');
after(() => t.cleanup());
const dbPath = join(t.dir, 'sink.db');
const pos = (seq: number): SinkRecord => ({ seq, deviceId: 'd1', type: 'position', msgType: 'V1', lat: 1, lon: 2 });

before(async () => {
  const db = await openSinkDb(`sqlite:${dbPath}`);
  await db.migrate();
  // gw-1: 1-10, quota gap 11-20 announced by the gap record 21, 22-30, then 31-34 missing, 35.
  await db.storeBatch('gw-1', [...Array.from({ length: 10 }, (_, i) => pos(i + 1)), { seq: 21, type: 'gap', fromSeq: 11, toSeq: 20, count: 10, reason: 'quota' }]);
  await db.storeBatch('gw-1', [...Array.from({ length: 9 }, (_, i) => pos(22 + i)), pos(35)]);
  // gw-2: complete after a storage reset.
  await db.storeBatch('gw-2', [{ seq: 100, type: 'storage_reset' }, pos(101)]);
  // Messages the sink acknowledged unstored: two of gw-1's, one whose topic named no gateway.
  const dead = (gw: string | null) => ({ gw, topic: `depot/v1/t/gw/${gw ?? '?'}/up/pos`, receivedAt: '2026-01-01T00:00:00.000Z', reason: 'not JSON', payload: Buffer.from('{') });
  await db.storeDeadLetter(dead('gw-1'));
  await db.storeDeadLetter(dead('gw-1'));
  await db.storeDeadLetter(dead(null));
  await db.close();
});

describe('tkgw sink-gaps', () => {
  it('prints every gateway: contiguous, highest, stored, announced gaps and missing ranges', async () => {
    const r = await runCli(['sink-gaps', '--db', `sqlite:${dbPath}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        'gw-1: contiguous up to 30, highest seq 35, 21 records stored',
        '  announced gaps: 1',
        '    11-20  10 seqs  quota',
        '  missing, not announced: 1 ranges, 4 seqs',
        '    31-34  4 seqs',
        '  dead letters (messages acknowledged unstored): 2',
        'gw-2: contiguous up to 101, highest seq 101, 2 records stored',
        '  announced gaps: 1',
        '    1-99  99 seqs  storage_reset',
        '  missing, not announced: 0 ranges, 0 seqs',
        '  dead letters (messages acknowledged unstored): 0',
        'dead letters naming no gateway: 1',
        '',
      ].join('\n'),
    );
  });

  it('prints one JSON document with --json, one gateway with --gw, bounded by --limit', async () => {
    const r = await runCli(['sink-gaps', '--db', `sqlite:${dbPath}`, '--gw', 'gw-1', '--json', '--limit', '1']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { v: number; gateways: GapReport[] };
    assert.equal(doc.v, 1);
    assert.equal(doc.gateways.length, 1);
    assert.deepEqual(doc.gateways[0], {
      gw: 'gw-1',
      stored: 21,
      maxSeq: 35,
      contiguous: 30,
      announced: [{ from: 11, to: 20, count: 10, reason: 'quota' }],
      announcedTotal: 1,
      missing: [{ from: 31, to: 34, count: 4 }],
      missingRanges: 1,
      missingSeqs: 4,
      deadLetters: 2,
    });
    assert.equal('deadLettersWithoutGateway' in doc, false, 'with --gw, only that gateway');
    const all = await runCli(['sink-gaps', '--db', `sqlite:${dbPath}`, '--json']);
    const allDoc = JSON.parse(all.stdout) as { gateways: GapReport[]; deadLettersWithoutGateway: number };
    assert.deepEqual(
      allDoc.gateways.map((g) => [g.gw, g.deadLetters]),
      [
        ['gw-1', 2],
        ['gw-2', 0],
      ],
    );
    assert.equal(allDoc.deadLettersWithoutGateway, 1);
  });

  it('reads a schema 2 database (before dead letters) without migrating it', async () => {
    const old = join(t.dir, 'v2.db');
    const db = await openSinkDb(`sqlite:${old}`);
    await db.migrate();
    await db.storeBatch('gw-old', [pos(1)]);
    await db.close();
    const { default: Database } = await import('better-sqlite3');
    const raw = new Database(old);
    raw.exec('DROP TABLE dead_letters; DROP TABLE device_pending; UPDATE sink_schema SET version = 2;');
    raw.close();
    const r = await runCli(['sink-gaps', '--db', `sqlite:${old}`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { gateways: GapReport[]; deadLettersWithoutGateway: number };
    assert.deepEqual([doc.gateways[0]?.gw, doc.gateways[0]?.deadLetters, doc.deadLettersWithoutGateway], ['gw-old', 0, 0]);
    const check = new Database(old);
    assert.equal(check.prepare('SELECT version FROM sink_schema').pluck().get(), 2, 'a reader does not migrate');
    check.close();
  });

  it('lists a gateway whose every message became a dead letter', async () => {
    const only = join(t.dir, 'only-dead.db');
    const db = await openSinkDb(`sqlite:${only}`);
    await db.migrate();
    await db.storeDeadLetter({ gw: 'gw-x', topic: 'depot/v1/t/gw/gw-x/up/pos/z', receivedAt: '2026-01-01T00:00:00.000Z', reason: 'not gzip', payload: Buffer.from('x') });
    await db.close();
    const r = await runCli(['sink-gaps', '--db', `sqlite:${only}`, '--gw', 'gw-x']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^gw-x: contiguous up to 0, highest seq 0, 0 records stored\n[^]* {2}dead letters \(messages acknowledged unstored\): 1\n$/);
  });

  it('exits 1 with a one-line reason for a bad --db, a missing file, a file that is not a sink database, an unknown gateway', async () => {
    const notSink = join(t.dir, 'other.db');
    writeFileSync(notSink, '');
    const cases: Array<[string[], RegExp]> = [
      [['--db', 'mysql://x'], /--db must be sqlite:<path> or postgres:\/\//],
      [['--db', `sqlite:${join(t.dir, 'missing.db')}`], /cannot read the sink database/],
      [['--db', `sqlite:${notSink}`], /no sink tables/],
      [['--db', `sqlite:${dbPath}`, '--gw', 'nope'], /gateway "nope" has no records or gaps/],
      [['--db', `sqlite:${dbPath}`, '--limit', '0'], /--limit must be a positive integer/],
    ];
    for (const [args, reason] of cases) {
      const r = await runCli(['sink-gaps', ...args]);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, reason);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.equal(r.stdout, '');
    }
  });
});
