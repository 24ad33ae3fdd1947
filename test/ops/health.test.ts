import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collectHealth, FlashWriteMeter } from '../../src/ops/health.js';
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
