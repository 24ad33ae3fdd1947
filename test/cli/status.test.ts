/**
 * `tkgw status` without a reachable HTTP endpoint reads the store on disk, and must only read it:
 * the gateway may be running on that data dir.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startGateway } from '../helpers/gateway.js';
import { TestClient, waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Snapshot {
  devices: { known: number; online: number };
  records: { total: number; lastSeq: number };
  backlog: { rows: number };
  commands: { pending: number };
}

const IMEI = '865205030001111';
const position = (hhmmss: string) => `*HQ,${IMEI},V1,${hhmmss},A,5222.2120,N,00453.7100,E,12.50,90,011226,FFFFFBFF#`;

describe('tkgw status from the store', () => {
  it('reads a running gateway’s data dir without writing to it, and a stopped one’s the same', async () => {
    const t = tempDir('tkgw-status-');
    cleanups.push(t.cleanup);
    const gw = await startGateway({}, t.dir);
    cleanups.push(() => gw.stop());
    const c = await TestClient.connect(gw.port);
    cleanups.push(() => c.destroy());
    c.send(`*HQ,${IMEI},V0#`);
    for (const hms of ['101010', '101020', '101030']) c.send(position(hms));
    await waitFor(() => gw.app.store.stats().totalRecords >= 4, 'four records stored');

    const db = join(t.dir, 'gateway.db');
    const before = { wal: statSync(`${db}-wal`).size, floor: readFileSync(join(t.dir, 'seq.floor'), 'utf8') };
    const live = await runCli(['status', '--json', '--data-dir', t.dir, '--http-port', '0']);
    assert.equal(live.code, 0, live.stderr);
    const s = JSON.parse(live.stdout) as Snapshot;
    const stats = gw.app.store.stats();
    assert.equal(s.records.total, 4);
    assert.equal(s.records.lastSeq, stats.lastSeq);
    assert.equal(s.backlog.rows, stats.backlog.rows);
    // Opening the Store would have checkpointed (TRUNCATE) on close and moved the seq floor.
    assert.equal(statSync(`${db}-wal`).size, before.wal, 'the WAL is left as the gateway wrote it');
    assert.equal(readFileSync(join(t.dir, 'seq.floor'), 'utf8'), before.floor);

    c.send(position('101040'));
    await waitFor(() => gw.app.store.stats().totalRecords >= 5, 'the gateway goes on committing');
    await gw.stop();
    const stopped = await runCli(['status', '--data-dir', t.dir, '--http-port', '0']);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /gateway\s+not running/);
    assert.match(stopped.stdout, /records\s+5 stored/);
    assert.match(stopped.stdout, /devices\s+0 online \/ 1 known/, 'the device row written at shutdown');
    assert.match(stopped.stdout, /last ack unknown/);
  });

  it('exits 1 with a reason for a data dir without a gateway, and creates nothing there', async () => {
    const t = tempDir('tkgw-status-empty-');
    cleanups.push(t.cleanup);
    const dir = join(t.dir, 'nothing-here');
    const r = await runCli(['status', '--data-dir', dir, '--http-port', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no gateway database at .*nothing-here/);
    assert.equal(existsSync(dir), false);
  });
});
