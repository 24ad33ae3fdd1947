import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectHealth, CpuLoad, cpuTemperatureC, FlashWriteMeter, memAvailableBytes } from '../../src/ops/health.js';
import { JobScheduler } from '../../src/ops/jobs.js';
import { newIngestCounters } from '../../src/ingest/connection.js';
import { silentLog, waitFor } from '../helpers/net.js';

describe('health and scheduled jobs', () => {
  it('collects the up/health figures from the gateway and the box', async () => {
    const h = await collectHealth(
      {
        store: () => ({ backlog: { rows: 3, bytes: 300, oldestAgeSec: 12.4, evtRows: 1, posRows: 2 }, lastSeq: 9, totalRecords: 9, evictedRows: 2, dbBytes: 4096 }),
        dataDir: '.',
        ingest: () => newIngestCounters(),
        devices: () => ({ known: 5, online: 3 }),
        connections: () => ({ tcp: 3, udp: 0 }),
        uplink: () => ({ connected: false, session: 4, bytesSentToday: 1000, reconnects: 2 }),
        startedAtMs: 0,
        now: () => 60_000,
      },
      new FlashWriteMeter(),
    );
    assert.deepEqual(h['backlog'], { rows: 3, bytes: 300, oldestAgeSec: 12 });
    assert.equal(h['evicted'], 2);
    assert.equal(h['dbBytes'], 4096);
    assert.equal(h['uptimeSec'], 60);
    assert.deepEqual(h['devices'], { online: 3, offline: 2 });
    assert.ok(typeof h['freeDiskBytes'] === 'number' && (h['freeDiskBytes'] as number) > 0);
    assert.ok('tempC' in (h['cpu'] as object));
    assert.ok((h['memory'] as { rssBytes: number }).rssBytes > 0);
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
  });

  it('computes CPU load between samples from /proc/stat, since boot on the first', () => {
    const lines = ['cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3', 'cpu  400 0 200 1000 100 0 0 0 0 0\n', 'garbage'];
    const load = new CpuLoad(() => lines.shift() ?? '');
    assert.equal(load.sample(), 20); // 200 busy of 1,000 ticks since boot
    assert.equal(load.sample(), 57.1); // then 400 busy of 700
    assert.equal(load.sample(), null);
  });

  it('reads MemAvailable in bytes', () => {
    assert.equal(memAvailableBytes(() => 'MemTotal:       1000 kB\nMemFree:  10 kB\nMemAvailable:     512 kB\n'), 512 * 1024);
    assert.equal(memAvailableBytes(() => 'MemTotal: 1 kB\n'), null);
    assert.ok((memAvailableBytes() ?? 0) > 0);
  });

  it('runs cron jobs and keeps going when one fails', async () => {
    const jobs = new JobScheduler(silentLog);
    let ran = 0;
    jobs.add('ok', '* * * * * *', () => ran++);
    jobs.add('boom', '* * * * * *', () => {
      throw new Error('disk gone');
    });
    await waitFor(() => ran >= 2, 'the every-second job to run twice', 5000);
    jobs.stop();
  });
});
