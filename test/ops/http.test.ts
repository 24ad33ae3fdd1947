import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/broker.js';
import { runCli, spawnGateway, startGateway } from '../helpers/gateway.js';
import { TestClient } from '../helpers/net.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('local HTTP endpoint', () => {
  it('serves Prometheus metrics and turns /healthz unhealthy when the store cannot write', async () => {
    const gw = await startGateway({ http: { port: await freePort() } });
    cleanups.push(() => gw.stop().catch(() => undefined));
    const c = await TestClient.connect(gw.port);
    cleanups.push(() => c.destroy());
    c.send('*HQ,135790246811220,V0#');
    await c.waitForBytes(23);
    const base = `http://127.0.0.1:${gw.httpPort}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^# TYPE tkgw_records_in_total counter$/m);
    assert.match(metrics, /^tkgw_records_in_total 1$/m);
    assert.match(metrics, /^tkgw_frames_total\{protocol="h02"\} 1$/m);
    assert.match(metrics, /^tkgw_backlog_rows\{lane="pos"\} 1$/m);
    assert.match(metrics, /^# TYPE tkgw_wal_checkpoints_total counter$/m);
    assert.match(metrics, /^tkgw_connections\{transport="tcp"\} 1$/m);
    assert.match(metrics, /^tkgw_process_/m);
    const ok = await fetch(`${base}/healthz`);
    assert.equal(ok.status, 200);
    // The disk is gone (simulated by closing the database under the running gateway).
    await gw.app.store.close();
    const bad = await fetch(`${base}/healthz`);
    assert.equal(bad.status, 503);
    const body = (await bad.json()) as { ok: boolean; checks: { store: { ok: boolean; detail: string } } };
    assert.equal(body.checks.store.ok, false);
    assert.match(body.checks.store.detail, /store not writable/);
  });

  it('requires the token when one is configured', async () => {
    const gw = await startGateway({ http: { port: await freePort(), token: 'a-long-enough-token-123' } });
    cleanups.push(() => gw.stop());
    const base = `http://127.0.0.1:${gw.httpPort}`;
    assert.equal((await fetch(`${base}/status`)).status, 401);
    assert.equal((await fetch(`${base}/status`, { headers: { authorization: 'Bearer a-long-enough-token-123' } })).status, 200);
  });
});

describe('tkgw start', () => {
  it('runs without any config file and serves trackers', async () => {
    const t = tempDir('tkgw-start-');
    cleanups.push(t.cleanup);
    const port = await freePort();
    const gw = await spawnGateway(['--host', '127.0.0.1', '--port', String(port), '--http-port', '0', '--data-dir', t.dir]);
    cleanups.push(() => gw.child.kill('SIGTERM'));
    assert.match(gw.logs(), /buffering records locally only/);
    const c = await TestClient.connect(port);
    cleanups.push(() => c.destroy());
    c.send('##,imei:359586015829802,A;');
    assert.equal((await c.waitForBytes(4)).toString(), 'LOAD');
    gw.child.kill('SIGTERM');
    const code = await new Promise((r) => gw.child.once('exit', r));
    assert.equal(code, 0, 'graceful stop exits 0');
    assert.match(gw.logs(), /gateway stopped/);
  });

  it('exits 1 with a one-line reason on a bad port or an unreadable config, before binding', async () => {
    const badPort = await runCli(['start', '--port', '99999']);
    assert.equal(badPort.code, 1);
    assert.match(badPort.stderr, /listeners\[0\]\.port/);
    const missing = await runCli(['start', '-c', '/nonexistent/config.yaml']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read config file \/nonexistent\/config.yaml/);
    const t = tempDir('tkgw-badcfg-');
    cleanups.push(t.cleanup);
    const file = join(t.dir, 'c.yaml');
    writeFileSync(file, 'listeners:\n  - port: -1\nuplink:\n  url: ftp://x\n');
    const check = await runCli(['check-config', '-c', file]);
    assert.equal(check.code, 1);
    assert.match(check.stderr, /listeners\[0\]\.port/);
    assert.match(check.stderr, /uplink\.url/);
  });
});
