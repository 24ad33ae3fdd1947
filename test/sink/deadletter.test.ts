/**
 * The sink's two failure kinds against a real mosquitto and real databases (SQLite files, and
 * PostgreSQL when TKGW_TEST_PG is set): a message it cannot use is acknowledged and kept as a
 * dead letter, so it is never redelivered and what follows it is stored; a storage failure is
 * not acknowledged, so the broker delivers the message again once the database works.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import mqtt, { type MqttClient } from 'mqtt';
import { DEAD_LETTER_MAX_BYTES, RejectedBatchError, type DeadLetter, type SinkDb, type SinkRecord } from '../../src/sink/db.js';
import { Sink, type SinkLogger } from '../../src/sink/sink.js';
import { startBroker, type TestBroker } from '../helpers/broker.js';
import { waitFor } from '../helpers/net.js';
import { testBackends } from './backends.js';

const backends = testBackends();
const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  for (const b of backends) await b.cleanup();
});

const GW = 'gw-dl';
const topic = (t: string) => `depot/v1/acme/gw/${GW}/${t}`;
const rec = (seq: number, extra: Partial<SinkRecord> = {}): SinkRecord => ({ seq, deviceId: `d${seq % 3}`, type: 'position', msgType: 'V1', lat: 1, lon: 2, ...extra });
const batch = (seqs: number[], extra: Partial<SinkRecord> = {}) => JSON.stringify({ v: 1, gw: GW, batch: seqs[0], hist: false, recs: seqs.map((s) => rec(s, extra)) });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

interface Line {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function captureLog(): SinkLogger & { lines: Line[] } {
  const lines: Line[] = [];
  const push = (level: Line['level']) => (obj: object, msg?: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: push('info'), warn: push('warn'), error: push('error') };
}

async function publisher(broker: TestBroker): Promise<MqttClient> {
  const c = await mqtt.connectAsync(broker.url, { clientId: `pub-${process.pid}-${Math.random()}` });
  cleanups.push(() => c.endAsync());
  return c;
}

function sinkFor(broker: TestBroker, db: SinkDb, log: SinkLogger, clientId: string): Sink {
  return new Sink({ mqttUrl: broker.url, group: 'dl', topicRoot: 'depot/v1/+/gw/+', clientId, ackIntervalMs: 50, retryMinMs: 50, retryMaxMs: 200 }, db, log);
}

/** A broker of its own, a fresh database behind a FlakyDb, and a log to read. */
async function flakySetup(backend: (typeof backends)[number]): Promise<{ broker: TestBroker; url: string; log: ReturnType<typeof captureLog>; db: FlakyDb }> {
  const broker = await startBroker();
  cleanups.push(() => broker.stop());
  const url = await backend.fresh();
  return { broker, url, log: captureLog(), db: new FlakyDb(await backend.open(url)) };
}

/** Starts the sink and returns once it is connected and its shared subscription has reached the broker. */
async function startSubscribed(sink: Sink, log: { lines: Line[] }): Promise<void> {
  await sink.start();
  await waitFor(() => log.lines.some((l) => l.msg === 'sink connected'), 'sink connected');
  await new Promise((r) => setTimeout(r, 200));
}

/** The real database, with storeBatch failing on demand: a database that is down, then back. */
class FlakyDb implements SinkDb {
  /** storeBatch calls left to fail as a storage failure */
  failNext = 0;
  /** the same, only for batches of this gateway */
  failNextOf: { gw: string; calls: number } | undefined;
  /** seqs to refuse as the database refuses content it cannot hold */
  refuse = new Set<number>();
  /** every seq handed to storeBatch, in order (a redelivery shows as the seq twice) */
  seen: number[] = [];
  /** foldDevices calls left to fail */
  failFolds = 0;

  constructor(private readonly db: SinkDb) {}

  migrate = () => this.db.migrate();
  schemaVersion = () => this.db.schemaVersion();
  async storeBatch(gw: string, recs: readonly SinkRecord[], texts?: readonly string[]): Promise<void> {
    this.seen.push(...recs.map((r) => r.seq));
    const ofGw = this.failNextOf?.gw === gw && this.failNextOf.calls > 0;
    if (ofGw && this.failNextOf) this.failNextOf.calls--;
    if (this.failNext > 0 || ofGw) {
      if (!ofGw) this.failNext--;
      throw Object.assign(new Error('SQLITE_IOERR: disk I/O error (test double)'), { code: 'SQLITE_IOERR' });
    }
    if (recs.some((r) => this.refuse.has(r.seq))) throw new RejectedBatchError('value out of range (test double)');
    return this.db.storeBatch(gw, recs, texts);
  }
  contiguous = (gw: string) => this.db.contiguous(gw);
  foldDevices = (maxPages?: number) => {
    if (this.failFolds > 0) {
      this.failFolds--;
      return Promise.reject(new Error('SQLITE_BUSY: database is locked (test double)'));
    }
    return this.db.foldDevices(maxPages);
  };
  count = (gw: string) => this.db.count(gw);
  countTracker = (gw: string) => this.db.countTracker(gw);
  device = (gw: string, id: string) => this.db.device(gw, id);
  gateways = () => this.db.gateways();
  gapReport = (gw: string, limit?: number) => this.db.gapReport(gw, limit);
  storeDeadLetter = (d: DeadLetter) => this.db.storeDeadLetter(d);
  deadLetterCount = (gw: string | null) => this.db.deadLetterCount(gw);
  deadLetters = (limit?: number) => this.db.deadLetters(limit);
  close = () => this.db.close();
}

for (const backend of backends) {
  describe(`sink failures on ${backend.name}`, () => {
    it('stops while the broker does not acknowledge its last down/ack (a graceful MQTT end would wait forever)', { timeout: 30_000 }, async () => {
      const broker = await startBroker();
      cleanups.push(() => broker.resume());
      cleanups.push(() => broker.stop());
      const url = await backend.fresh();
      const log = captureLog();
      // No ack tick before stop(): its own final down/ack is the one left in flight.
      const sink = new Sink({ mqttUrl: broker.url, group: 'dl', topicRoot: 'depot/v1/+/gw/+', clientId: `dl-s-${backend.name}-${process.pid}`, ackIntervalMs: 600_000 }, await backend.open(url), log);
      await startSubscribed(sink, log);
      const pub = await publisher(broker);
      await pub.publishAsync(topic('up/pos'), batch(range(1, 3)), { qos: 1 });
      await waitFor(() => sink.stored === 3, 'stored', 15_000);
      // The broker hangs: stop() publishes the final down/ack, which is never acknowledged.
      broker.pause();
      const t0 = Date.now();
      await sink.stop();
      assert.ok(Date.now() - t0 < 20_000, 'stop() returned');
      broker.resume();
    });

    it('acknowledges unusable messages as dead letters, stores the batches behind them, and never gets them again', { timeout: 60_000 }, async () => {
      const broker = await startBroker();
      cleanups.push(() => broker.stop());
      const url = await backend.fresh();
      const log = captureLog();
      const clientId = `dl-a-${backend.name}-${process.pid}`;
      let sink = sinkFor(broker, await backend.open(url), log, clientId);
      await startSubscribed(sink, log);

      const pub = await publisher(broker);
      const garbageZ = Buffer.from('this is not gzip at all');
      const notJson = '{"v":1,"recs":[{"seq":4}'; // cut short
      const noRecs = JSON.stringify({ v: 1, gw: GW, batch: 9 });
      const huge = Buffer.alloc(DEAD_LETTER_MAX_BYTES + 4096, 0x7b); // 1 MiB and more of "{"
      // Invalid records inside a good batch: skipped, counted, the rest stored.
      const mixed = JSON.stringify({ v: 1, gw: GW, recs: [rec(13), { seq: 'x' }, null, rec(14), { seq: 1.5 }, 7] });
      await pub.publishAsync(topic('up/pos/z'), garbageZ, { qos: 1 });
      await pub.publishAsync(topic('up/pos/z'), gzipSync(batch(range(1, 3))), { qos: 1 });
      await pub.publishAsync(topic('up/pos'), notJson, { qos: 1 });
      await pub.publishAsync(topic('up/pos'), batch(range(4, 8)), { qos: 1 });
      await pub.publishAsync(topic('up/evt'), noRecs, { qos: 1 });
      await pub.publishAsync(topic('up/evt'), batch(range(9, 12), { type: 'alarm' }), { qos: 1 });
      await pub.publishAsync(topic('up/pos'), huge, { qos: 1 });
      await pub.publishAsync(topic('up/pos'), mixed, { qos: 1 });
      await pub.publishAsync('depot/v1/acme/gw/not a valid id/up/pos', batch([1]), { qos: 1 });
      await waitFor(() => sink.stored === 14 && sink.deadLettered === 5, `everything handled (stored ${sink.stored}, dead letters ${sink.deadLettered})`, 15_000);
      assert.equal(sink.skipped, 4, 'the four records without an integer seq');
      assert.equal(sink.storeFailures, 0);
      const skippedLines = log.lines.filter((l) => l.msg === 'records without an integer seq skipped');
      assert.deepEqual(
        skippedLines.map((l) => [l.level, l.obj['skipped'], l.obj['records']]),
        [['error', 4, 6]],
        'one error line for the batch',
      );
      const deadLines = log.lines.filter((l) => l.msg === 'message kept as a dead letter and acknowledged');
      assert.equal(deadLines.length, 5, 'one line per dead letter');
      assert.ok(deadLines.every((l) => l.level === 'error' && typeof l.obj['reason'] === 'string'));
      await sink.stop();

      const db = await backend.open(url);
      assert.equal(await db.count(GW), 14, 'every good batch is stored');
      assert.equal(await db.contiguous(GW), 14);
      const dead = await db.deadLetters();
      assert.deepEqual(
        dead.map((d) => [d.gw, d.topic]),
        [
          [GW, topic('up/pos/z')],
          [GW, topic('up/pos')],
          [GW, topic('up/evt')],
          [GW, topic('up/pos')],
          [null, 'depot/v1/acme/gw/not a valid id/up/pos'],
        ],
      );
      const [z, json, recs, big, nogw] = dead;
      assert.match(z?.reason ?? '', /^not gzip/);
      assert.deepEqual(z?.payload, garbageZ, 'the bytes as received');
      assert.equal(z?.payloadBytes, garbageZ.length);
      assert.match(json?.reason ?? '', /^not JSON/);
      assert.equal(json?.payload.toString(), notJson);
      assert.equal(recs?.reason, 'no recs array in the envelope');
      assert.equal(recs?.payload.toString(), noRecs);
      assert.match(big?.reason ?? '', /^not JSON/);
      assert.equal(big?.payload.length, DEAD_LETTER_MAX_BYTES, 'cut at 1 MiB');
      assert.equal(big?.payloadBytes, huge.length, 'with its full length');
      assert.deepEqual(big?.payload, huge.subarray(0, DEAD_LETTER_MAX_BYTES));
      assert.match(nogw?.reason ?? '', /no valid gateway id/);
      assert.ok(dead.every((d) => !Number.isNaN(Date.parse(d.receivedAt))));
      assert.equal(await db.deadLetterCount(GW), 4);
      assert.equal(await db.deadLetterCount(null), 1);
      assert.equal((await db.gapReport(GW)).deadLetters, 4);
      await db.close();

      // The same persistent session again: an unacknowledged message would come back now.
      const log2 = captureLog();
      sink = sinkFor(broker, await backend.open(url), log2, clientId);
      await sink.start();
      await pub.publishAsync(topic('up/pos'), batch(range(15, 16)), { qos: 1 });
      await waitFor(() => sink.stored === 2, 'the next batch stored after the restart', 15_000);
      assert.equal(sink.deadLettered, 0, 'no dead letter delivered again');
      await sink.stop();
      const db2 = await backend.open(url);
      assert.equal((await db2.deadLetters()).length, 5, 'the dead-letter table did not grow');
      assert.equal(await db2.count(GW), 16);
      await db2.close();
    });

    it('backs a failing device fold off (0.5 s doubling) instead of retrying and logging every tick, then folds', { timeout: 60_000 }, async () => {
      const { broker, log, db } = await flakySetup(backend);
      const sink = sinkFor(broker, db, log, `dl-f-${backend.name}-${process.pid}`);
      db.failFolds = 3;
      await startSubscribed(sink, log);
      try {
        const pub = await publisher(broker);
        await pub.publishAsync(topic('up/pos'), batch(range(1, 3)), { qos: 1 });
        await waitFor(async () => (await db.device(GW, 'd1'))?.lastSeq === 1, 'device state folded once the fold works', 20_000);
        const retries = log.lines.filter((l) => l.msg === 'device state not folded').map((l) => l.obj['retryInMs']);
        assert.deepEqual(retries, [500, 1000, 2000], 'one warning per failure, each waiting twice as long');
      } finally {
        await sink.stop();
      }
    });

    it('does not acknowledge a batch while storing fails, backs off, and stores it once the database works again', { timeout: 60_000 }, async () => {
      const { broker, url, log, db } = await flakySetup(backend);
      const sink = sinkFor(broker, db, log, `dl-b-${backend.name}-${process.pid}`);
      await startSubscribed(sink, log);
      const pub = await publisher(broker);

      db.failNext = 4;
      await pub.publishAsync(topic('up/pos'), batch(range(1, 5)), { qos: 1 });
      await waitFor(() => sink.stored === 5, 'stored once the database works', 15_000);
      assert.equal(sink.storeFailures, 4);
      // Five deliveries of the same batch: the broker got no PUBACK for the first four.
      assert.deepEqual(db.seen, [...range(1, 5), ...range(1, 5), ...range(1, 5), ...range(1, 5), ...range(1, 5)]);
      const pauses = () => log.lines.filter((l) => l.msg === 'batch not stored: not acknowledged, reconnecting after a pause').map((l) => l.obj['retryInMs']);
      assert.deepEqual(pauses(), [50, 100, 200, 200], 'doubling up to the maximum');
      assert.equal(sink.deadLettered, 0, 'a storage failure is no reason to drop the message');

      // A success resets the pause.
      db.failNext = 1;
      await pub.publishAsync(topic('up/pos'), batch(range(6, 7)), { qos: 1 });
      await waitFor(() => sink.stored === 7, 'second batch stored', 15_000);
      assert.deepEqual(pauses(), [50, 100, 200, 200, 50]);
      await sink.stop();
      const check = await backend.open(url);
      assert.equal(await check.count(GW), 7);
      assert.equal(await check.deadLetterCount(GW), 0);
      await check.close();
    });

    it('sends a gateway its down/ack after a storage pause even when that gateway sends nothing more', { timeout: 60_000 }, async () => {
      const { broker, log, db } = await flakySetup(backend);
      // Ticks every 50 ms, a 400 ms pause after a storage failure: several ticks while disconnected.
      const sink = new Sink({ mqttUrl: broker.url, group: 'dl', topicRoot: 'depot/v1/+/gw/+', clientId: `dl-p-${backend.name}-${process.pid}`, ackIntervalMs: 50, retryMinMs: 400, retryMaxMs: 400 }, db, log);
      const acks = new Map<string, number>();
      const watcher = await publisher(broker);
      await watcher.subscribeAsync('depot/v1/acme/gw/+/down/ack', { qos: 1 });
      watcher.on('message', (t, m) => acks.set(t.split('/')[4] as string, (JSON.parse(m.toString()) as { upTo: number }).upTo));
      await startSubscribed(sink, log);
      try {
        const pub = await publisher(broker);
        db.failNextOf = { gw: 'gw-two', calls: 1 };
        // gw-one's batch is stored; gw-two's, right behind it, fails once and ends the session.
        await pub.publishAsync('depot/v1/acme/gw/gw-one/up/pos', JSON.stringify({ v: 1, gw: 'gw-one', recs: range(1, 3).map((s) => rec(s)) }), { qos: 1 });
        await pub.publishAsync('depot/v1/acme/gw/gw-two/up/pos', JSON.stringify({ v: 1, gw: 'gw-two', recs: range(1, 2).map((s) => rec(s)) }), { qos: 1 });
        await waitFor(() => acks.get('gw-one') === 3 && acks.get('gw-two') === 2, 'both gateways acknowledged', 10_000);
        assert.equal(sink.storeFailures, 1);
      } finally {
        await sink.stop();
      }
    });

    it('keeps only the records the database refuses as dead letters, and stores the rest of their batch', { timeout: 60_000 }, async () => {
      const { broker, url, log, db } = await flakySetup(backend);
      // PostgreSQL refuses a NUL in a jsonb string by itself; SQLite stores it, so the double refuses there.
      const nul = backend.name === 'postgres';
      if (!nul) db.refuse.add(3);
      const sink = sinkFor(broker, db, log, `dl-c-${backend.name}-${process.pid}`);
      await startSubscribed(sink, log);
      const pub = await publisher(broker);
      const recs = range(1, 5).map((s) => rec(s, s === 3 ? { reply: 'a\u0000b' } : {}));
      await pub.publishAsync(topic('up/pos'), JSON.stringify({ v: 1, gw: GW, recs }), { qos: 1 });
      await waitFor(() => sink.stored === 4 && sink.deadLettered === 1, `handled (stored ${sink.stored}, dead ${sink.deadLettered})`, 15_000);
      assert.equal(sink.storeFailures, 0);
      await sink.stop();
      const check = await backend.open(url);
      assert.equal(await check.count(GW), 4);
      const [d] = await check.deadLetters();
      assert.match(d?.reason ?? '', /^record seq 3 refused by the database/);
      assert.deepEqual(JSON.parse(d?.payload.toString() ?? ''), recs[2], "the refused record's own JSON");
      assert.equal(d?.seq, 3);
      // The record is kept, as a dead letter: down/ack moves past it, or the gateway would resend it forever.
      const report = await check.gapReport(GW);
      assert.deepEqual(report.announced, [{ from: 3, to: 3, count: 1, reason: 'dead_letter' }]);
      assert.equal(report.missingSeqs, 0);
      assert.equal(await check.contiguous(GW), 5);
      await check.close();
    });
  });
}
