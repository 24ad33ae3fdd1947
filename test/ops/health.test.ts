import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { collectHealth, CpuLoadMeter, cpuTemperatureC, FlashWriteMeter } from '../../src/ops/health.js';
import { newIngestCounters } from '../../src/ingest/connection.js';

describe('health and scheduled jobs', () => {
  it('collects the up/health figures from the gateway and the box', async () => {
    const h = await collectHealth(
      {
        store: () => ({ backlog: { rows: 3, bytes: 300, oldestAgeSec: 12.4, evtRows: 1, posRows: 2 }, lastSeq: 9, totalRecords: 9, evictedRows: 2, dbBytes: 4096, checkpoints: { betweenCommits: 0, worker: 0, remainder: 0, eventLoop: 0 } }),
        dataDir: '.',
        ingest: () => newIngestCounters(),
        devices: () => ({ known: 5, online: 3 }),
        connections: () => ({ tcp: 3, udp: 0 }),
        uplink: () => ({ connected: false, session: 4, bytesSentToday: 1000, reconnects: 2 }),
        startedAtMs: 0,
        now: () => 60_000,
      },
      new FlashWriteMeter(),
      new CpuLoadMeter(),
    );
    assert.deepEqual(h['backlog'], { rows: 3, bytes: 300, oldestAgeSec: 12 });
    assert.equal(h['evicted'], 2);
    assert.equal(h['dbBytes'], 4096);
    assert.equal(h['uptimeSec'], 60);
    assert.deepEqual(h['devices'], { online: 3, offline: 2 });
    assert.ok(typeof h['freeDiskBytes'] === 'number' && (h['freeDiskBytes'] as number) > 0);
    const temp = (h['cpu'] as { tempC: unknown }).tempC;
    assert.ok(temp === null || (typeof temp === 'number' && temp > -50 && temp < 150), `tempC ${String(temp)}`);
    // Real figures of this box: the load from its CPU times, memory from systeminformation.
    const load = (h['cpu'] as { loadPct: number | null }).loadPct;
    assert.ok(typeof load === 'number' && load >= 0 && load <= 100, `loadPct ${load}`);
    const mem = h['memory'] as { rssBytes: number; availableBytes: number; totalBytes: number };
    assert.ok(mem.rssBytes > 0);
    assert.equal(mem.totalBytes, totalmem());
    assert.ok(mem.availableBytes > 0 && mem.availableBytes <= mem.totalBytes);
  });

  it('reports the CPU load over the interval since the previous reading', () => {
    const times = (user: number, sys: number, idle: number) => ({ times: { user, nice: 0, sys, idle, irq: 0 } });
    let reading = [times(300, 100, 600), times(100, 100, 800)];
    const meter = new CpuLoadMeter(() => reading);
    // The first reading covers the time since boot: 600 busy of 2,000.
    assert.equal(meter.percent(), 30);
    // Then only what happened since: core 0 busy 150 of 200, core 1 busy 50 of 200.
    reading = [times(400, 150, 650), times(140, 110, 950)];
    assert.equal(meter.percent(), 50);
    // No time passed (or a counter went backwards): no figure rather than a made-up one.
    assert.equal(meter.percent(), null);
  });

  it('reads the CPU sensor, preferring the SoC zone, and null without sensors', () => {
    const root = mkdtempSync(join(tmpdir(), 'tkgw-thermal-'));
    const zone = (name: string, type: string, milli: string) => {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, 'type'), `${type}\n`);
      writeFileSync(join(root, name, 'temp'), `${milli}\n`);
    };
    assert.equal(cpuTemperatureC(join(root, 'absent')), null);
    assert.equal(cpuTemperatureC(root), null);
    zone('thermal_zone0', 'acpitz', '27800');
    assert.equal(cpuTemperatureC(root), 27.8);
    zone('thermal_zone1', 'cpu-thermal', '48312');
    assert.equal(cpuTemperatureC(root), 48.3);
    rmSync(root, { recursive: true, force: true });
  });
});
