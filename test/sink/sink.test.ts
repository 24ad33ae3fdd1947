/**
 * The cloud sink end to end: real gateway (`ackMode: app`), real mosquitto, simulated trackers,
 * the sink on SQLite (and on PostgreSQL when TKGW_TEST_PG is set).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSinkDb, type SinkDb } from '../../src/sink/db.js';
import { Sink } from '../../src/sink/sink.js';
import { startSimulation } from '../../src/sim/simulator.js';
import { startBroker } from '../helpers/broker.js';
import { startGateway } from '../helpers/gateway.js';
import { silentLog, waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Backend {
  name: string;
  open(): Promise<SinkDb>;
}

const t = tempDir('tkgw-sink-');
cleanups.push(t.cleanup);
const backends: Backend[] = [{ name: 'sqlite', open: () => openSinkDb(`sqlite:${join(t.dir, 'sink.db')}`) }];
const pgUrl = process.env['TKGW_TEST_PG'];
if (pgUrl) {
  const dbName = `tkgw_test_${process.pid}`;
  const testUrl = pgUrl.replace(/\/[^/]*$/, `/${dbName}`);
  let created: Promise<void> | undefined;
  const createOnce = async () => {
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    cleanups.push(async () => {
      const a = new pg.Client({ connectionString: pgUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await a.end();
    });
  };
  backends.push({
    name: 'postgres',
    open: async () => {
      await (created ??= createOnce());
      return openSinkDb(testUrl);
    },
  });
}

for (const backend of backends) {
  describe(`sink on ${backend.name}`, () => {
    it('stores every record once through a broker outage and a sink restart; down/ack empties the outbox', async () => {
      const broker = await startBroker();
      cleanups.push(() => broker.stop());
      const gw = await startGateway({ uplink: { url: broker.url, ackMode: 'app', appAckTimeoutSec: 3, batchMaxDelayMs: 10, reconnectMinMs: 200, reconnectMaxMs: 1000 } });
      cleanups.push(() => gw.stop());
      const gwId = gw.config.gatewayId;
      const mk = async (id: string) => {
        const s = new Sink({ mqttUrl: broker.url, group: 'g1', topicRoot: 'depot/v1/+/gw/+', clientId: id, ackIntervalMs: 100 }, await backend.open(), silentLog);
        await s.start();
        return s;
      };
      let sink = await mk(`sink-${backend.name}-a`);
      const sim = startSimulation({ host: '127.0.0.1', port: gw.port, protocol: 'mixed', devices: 12, count: 60, intervalMs: 60, udp: false, alarmEvery: 7 });
      await waitFor(() => sink.stored > 50, 'records flowing to the sink', 15_000);
      await broker.restart();
      await waitFor(() => sink.stored > 200, 'flowing again after the broker restart', 20_000);
      await sink.stop();
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(gw.app.store.stats().backlog.rows > 0, 'with the sink stopped, rows wait in the outbox');
      sink = await mk(`sink-${backend.name}-a`);
      const result = await sim.done;
      await waitFor(() => gw.app.store.stats().backlog.rows === 0, 'outbox emptied by down/ack', 30_000);
      const db = await backend.open();
      assert.equal(await db.countTracker(gwId), result.summary.sent, 'every record the devices sent is stored once');
      const report = await db.gapReport(gwId);
      assert.deepEqual(report.missing, [], 'no hole in the seqs after the outage and the restart');
      assert.equal(report.contiguous, await db.contiguous(gwId));
      assert.ok(report.contiguous >= report.maxSeq && report.maxSeq > 0);
      await db.close();
      await sink.stop();
    });

    it('two sinks in one shared-subscription group split the load, nothing twice, nothing missing', async () => {
      const broker = await startBroker();
      cleanups.push(() => broker.stop());
      const gw = await startGateway({ uplink: { url: broker.url, ackMode: 'app', appAckTimeoutSec: 3, batchMaxDelayMs: 10, batchMaxRecords: 20 } });
      cleanups.push(() => gw.stop());
      const a = new Sink({ mqttUrl: broker.url, group: 'g2', topicRoot: 'depot/v1/+/gw/+', clientId: `two-a-${backend.name}`, ackIntervalMs: 100 }, await backend.open(), silentLog);
      const b = new Sink({ mqttUrl: broker.url, group: 'g2', topicRoot: 'depot/v1/+/gw/+', clientId: `two-b-${backend.name}`, ackIntervalMs: 100 }, await backend.open(), silentLog);
      await a.start();
      await b.start();
      await new Promise((r) => setTimeout(r, 500));
      const result = await startSimulation({ host: '127.0.0.1', port: gw.port, protocol: 'mixed', devices: 16, count: 30, intervalMs: 40, udp: false, alarmEvery: 0 }).done;
      await waitFor(() => gw.app.store.stats().backlog.rows === 0, 'outbox emptied by down/ack', 30_000);
      assert.ok(a.stored > 0 && b.stored > 0, `both sinks stored (${a.stored}, ${b.stored})`);
      const db = await backend.open();
      assert.equal(await db.countTracker(gw.config.gatewayId), result.summary.sent);
      await db.close();
      await a.stop();
      await b.stop();
    });
  });
}
