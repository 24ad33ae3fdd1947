import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { openStore } from '../../src/store/store.js';
import { buildGt06Frame } from '../../src/protocol/gt06/index.js';
import type { ProtocolSession } from '../../src/protocol/types.js';
import { runCli, spawnGateway, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { TestClient, TestUdpClient, waitFor } from '../helpers/net.js';
import { freePort } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});
async function gateway(over: Parameters<typeof startGateway>[0] = {}): Promise<RunningGateway> {
  const gw = await startGateway(over);
  cleanups.push(() => gw.stop());
  return gw;
}
async function client(port: number): Promise<TestClient> {
  const c = await TestClient.connect(port);
  cleanups.push(() => c.destroy());
  return c;
}
const rows = (gw: RunningGateway, lane: 'pos' | 'evt' = 'pos') => gw.app.store.readBatch({ lane, afterSeq: 0, limit: 1_000_000, maxBytes: 1e12 });

describe('ingest over real sockets', () => {
  it('answers each family byte-exactly, and only after the record is committed', async () => {
    const gw = await gateway();
    const cases: Array<[string, Buffer, string]> = [
      ['h02', Buffer.from('*HQ,135790246811220,V0#'), '*HQ,135790246811220,V0#'],
      ['gt06', Buffer.from('78780d01086471700328358100093f040d0a', 'hex'), '78780501000955940d0a'],
      ['tk103', Buffer.from('(027045009305BP05355227045009305,{413,2,30073,16724}\n,01000000)'), '(027045009305AP05)'],
      ['gps103', Buffer.from('##,imei:359586015829802,A;'), 'LOAD'],
    ];
    for (const [family, frame, ack] of cases) {
      const c = await client(gw.port);
      c.send(frame);
      const expected = family === 'gt06' ? Buffer.from(ack, 'hex') : Buffer.from(ack);
      const got = await c.waitForBytes(expected.length);
      assert.equal(got.toString('hex'), expected.toString('hex'), `${family} ACK`);
      // Durable before acknowledged: the record is already in the store when the ACK is read.
      assert.ok(rows(gw).some((r) => r.raw?.equals(frame.subarray(0, r.raw.length)) && r.payload.includes(`"protocol":"${family}"`)), `${family} record stored`);
    }
  });

  it('serves UDP: one datagram one message, the reply goes to the source', async () => {
    const gw = await gateway();
    const u = await TestUdpClient.open();
    cleanups.push(() => u.close());
    await u.send('*HQ,865205035331981,HTBT,88#', gw.port);
    await waitFor(() => u.received.length === 1, 'UDP echo');
    assert.equal(u.received[0]?.toString(), '*HQ,865205035331981,HTBT,88#');
    await u.send('*HQ,865205035331981,V1,132926,A,1935.3933,N,07920.4134,E,  3.34,342,280519,FFFFFFFF#', gw.port);
    await waitFor(() => rows(gw).some((r) => r.payload.includes('"type":"position"')), 'UDP position stored');
    const device = gw.app.registry.get('865205035331981');
    assert.equal(device?.transport, 'udp');
    assert.equal(device?.online, true);
  });

  it('does not attribute or acknowledge GT06 frames before a login', async () => {
    const gw = await gateway();
    const c = await client(gw.port);
    c.send(Buffer.from('78780a13c40604000201298f5b0d0a', 'hex'));
    await waitFor(() => gw.app.ingest.counters.unattributed === 1, 'unattributed counted');
    c.send(buildGt06Frame(0x01, Buffer.from('0123456789012345', 'hex'), 1));
    await c.waitForBytes(10);
    assert.equal(c.received.toString('hex'), '787805010001d9dc0d0a', 'only the login was acknowledged');
  });

  it('closes what is not a tracker, counts it, and keeps serving a real device promptly', async () => {
    const gw = await gateway({ limits: { detectTimeoutSec: 1, loginTimeoutSec: 2, maxConnectionsPerIp: 5000, maxFrameBytes: 1024 } });
    const http = await client(gw.port);
    http.send('GET / HTTP/1.0\r\n\r\n');
    await http.waitClosed();
    const junk = await client(gw.port);
    junk.send(Buffer.from([0x00, 0x13, 0x37, 0xfe, 0xed, 0xfa, 0xce]));
    await junk.waitClosed();
    const oversize = await client(gw.port);
    oversize.send('*HQ,123456789012345,V1,' + 'A'.repeat(5000));
    const idle: TestClient[] = [];
    for (let i = 0; i < 2000; i++) idle.push(await client(gw.port));
    const slow = await client(gw.port);
    slow.send('*');
    // A well-behaved device among them still gets its ACK.
    const good = await client(gw.port);
    good.send('*HQ,135790246811220,V0#');
    await good.waitForBytes(23, 5000);
    await waitFor(() => idle.every((c) => c.closed) && slow.closed, 'idle and slow connections closed by the detection deadline', 20_000);
    assert.equal(good.closed, false);
    const counters = gw.app.ingest.counters;
    assert.equal(counters.undetected['http'], 1);
    assert.equal(counters.undetected['unknown_protocol'], 1);
    assert.ok(counters.junkBytes >= 1024, 'oversize frame discarded');
    const closed = gw.app.tcp[0]?.counters.closed ?? {};
    assert.ok((closed['detect_timeout'] ?? 0) >= 2000, `detect_timeout closes: ${JSON.stringify(closed)}`);
  });

  it('applies the deny list and the duplicate-login policy', async () => {
    const gw = await gateway({ devices: { deny: ['111111111111111'], duplicateLogin: 'replace' } });
    const denied = await client(gw.port);
    denied.send('*HQ,111111111111111,V0#');
    await denied.waitClosed();
    assert.equal(gw.app.ingest.counters.denied, 1);
    const first = await client(gw.port);
    first.send('*HQ,222222222222222,V0#');
    await first.waitForBytes(23);
    const second = await client(gw.port);
    second.send('*HQ,222222222222222,V0#');
    await second.waitForBytes(23);
    await first.waitClosed();
    assert.equal(gw.app.registry.get('222222222222222')?.online, true);
    assert.equal(gw.app.ingest.counters.duplicateLogins, 1);
  });

  it('stores the online and offline event of every device when hundreds come and go in one tick (a depot switch rebooting)', async () => {
    // Back-pressure refuses device rows beyond 30 pending here; the 280 events come in one tick.
    const gw = await gateway({ store: { groupCommitMaxRows: 3 } });
    const n = 140;
    const conns = Array.from({ length: n }, (_, i) => ({ id: `t${i}`, transport: 'tcp' as const, remote: `10.0.0.${i}:5000`, remoteAddress: `10.0.0.${i}`, lastSeenMs: 0, closed: false, write: () => true, close: () => undefined }));
    const session = {} as ProtocolSession;
    for (let i = 0; i < n; i++) gw.app.registry.bind(`35000000000${String(i).padStart(4, '0')}`, 'h02', conns[i] as (typeof conns)[number], session, Date.now());
    for (let i = 0; i < n; i++) gw.app.registry.unbind(`35000000000${String(i).padStart(4, '0')}`, conns[i] as (typeof conns)[number], 'peer_closed');
    const events = () => rows(gw, 'evt').map((r) => r.type);
    await waitFor(() => events().filter((t) => t === 'device_offline').length === n, `${n} device_offline events`, 10_000);
    assert.equal(events().filter((t) => t === 'device_online').length, n);
  });

  it('stores every record of 200 mixed TCP+UDP simulated devices exactly once, in per-device order', async () => {
    const gw = await gateway({ http: { port: await freePort() } });
    const [tcp, udp] = await Promise.all([
      runCli(['simulate', '--port', String(gw.port), '--protocol', 'mixed', '--devices', '100', '--count', '10', '--interval-ms', '50', '--alarm-every', '4'], { timeoutMs: 60_000 }),
      runCli(['simulate', '--port', String(gw.port), '--protocol', 'mixed', '--devices', '100', '--count', '10', '--interval-ms', '50', '--udp', '--id-offset', '100000'], { timeoutMs: 60_000 }),
    ]);
    const a = JSON.parse(tcp.stdout) as { sent: number; errors: number; devices: number };
    const b = JSON.parse(udp.stdout) as { sent: number; errors: number };
    assert.equal(a.devices, 100);
    assert.equal(a.errors + b.errors, 0);
    const sent = a.sent + b.sent;
    await waitFor(() => gw.app.store.stats().totalRecords >= sent, `${sent} records stored`, 20_000);
    const status = await runCli(['status', '--json', '--http-port', String(gw.httpPort)]);
    const snapshot = JSON.parse(status.stdout) as { records: { total: number }; devices: { known: number } };
    assert.equal(snapshot.records.total, sent, 'status total equals what the simulators sent');
    assert.equal(snapshot.devices.known, 200);
    const all = rows(gw).filter((r) => r.raw !== null);
    assert.equal(all.length + rows(gw, 'evt').filter((r) => r.raw !== null).length, sent, 'every record exactly once');
    // Heartbeat frames repeat byte for byte, so exactly-once is counted per device: the
    // simulators sent each device's logins and reports once, and that many rows exist.
    const perDevice = new Map<string, number>();
    for (const r of [...all, ...rows(gw, 'evt')]) if (r.raw && r.deviceId) perDevice.set(r.deviceId, (perDevice.get(r.deviceId) ?? 0) + 1);
    assert.equal(perDevice.size, 200);
    assert.deepEqual(new Set(perDevice.values()), new Set([11]), 'one login + 10 reports stored per device');
    const lastFix = new Map<string, string>();
    for (const r of [...all].sort((x, y) => x.seq - y.seq)) {
      const fix = (JSON.parse(r.payload) as { fixTime?: string }).fixTime;
      if (!fix || !r.deviceId) continue;
      const prev = lastFix.get(r.deviceId);
      assert.ok(prev === undefined || prev <= fix, `device ${r.deviceId} in order`);
      lastFix.set(r.deviceId, fix);
    }
  });

  it('takes bursts of reports in one TCP write (a unit uploading stored positions): each stored once, each ACKed', async () => {
    const gw = await gateway();
    // 23 reports in bursts of 5: the last burst is short; GT06 ACKs every frame, so acked == sent
    // shows the gateway answered every frame of every multi-frame segment.
    const [gt06, mixed] = await Promise.all([
      runCli(['simulate', '--port', String(gw.port), '--protocol', 'gt06', '--devices', '10', '--count', '23', '--interval-ms', '20', '--burst', '5', '--heartbeat-every', '4', '--alarm-every', '7'], { timeoutMs: 60_000 }),
      runCli(['simulate', '--port', String(gw.port), '--protocol', 'mixed', '--devices', '12', '--count', '23', '--interval-ms', '20', '--burst', '5', '--id-offset', '5000'], { timeoutMs: 60_000 }),
    ]);
    const a = JSON.parse(gt06.stdout) as { sent: number; acked: number; errors: number };
    const b = JSON.parse(mixed.stdout) as { sent: number; errors: number };
    assert.equal(a.errors + b.errors, 0);
    assert.equal(a.sent, 10 * 24);
    assert.equal(a.acked, a.sent, 'every GT06 frame of every burst ACKed');
    assert.equal(b.sent, 12 * 24);
    await waitFor(() => gw.app.store.stats().totalRecords >= a.sent + b.sent, 'all records stored', 20_000);
    const perDevice = new Map<string, number>();
    for (const r of [...rows(gw), ...rows(gw, 'evt')]) if (r.raw && r.deviceId) perDevice.set(r.deviceId, (perDevice.get(r.deviceId) ?? 0) + 1);
    assert.equal(perDevice.size, 22);
    assert.deepEqual(new Set(perDevice.values()), new Set([24]), 'one login + 23 reports stored per device');
    assert.equal(gw.app.store.stats().totalRecords, a.sent + b.sent);
  });

  it('rejects a burst outside 1..1000', async () => {
    const r = await runCli(['simulate', '--port', '1', '--burst', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--burst must be an integer 1\.\.1000/);
  });

  it('keeps every ACKed report across kill -9 of the gateway', async () => {
    const t = tempDir('tkgw-kill-');
    cleanups.push(t.cleanup);
    const port = await freePort();
    const args = ['--port', String(port), '--host', '127.0.0.1', '--data-dir', t.dir, '--http-port', '0'];
    const first = await spawnGateway(args);
    const report = join(t.dir, 'sim-report.json');
    const sim = runCli(['simulate', '--port', String(port), '--protocol', 'gt06', '--devices', '30', '--count', '400', '--interval-ms', '5', '--report', report], { timeoutMs: 90_000 });
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    await sim;
    const result = JSON.parse(readFileSync(report, 'utf8')) as { devices: Array<{ ackedFrames: string[] }> };
    const acked = result.devices.flatMap((d) => d.ackedFrames);
    assert.ok(acked.length > 100, `enough ACKed frames (${acked.length})`);
    const { store } = openStore({ dataDir: t.dir, quotaBytes: 1e12, synchronous: 'normal', groupCommitMs: 2, groupCommitMaxRows: 500, allowTmpfs: true });
    const stored = new Set([...store.readBatch({ lane: 'pos', afterSeq: 0, limit: 1e7, maxBytes: 1e12 }), ...store.readBatch({ lane: 'evt', afterSeq: 0, limit: 1e7, maxBytes: 1e12 })].map((r) => r.raw?.toString('hex')));
    await store.close();
    const missing = acked.filter((hex) => !stored.has(hex));
    assert.deepEqual(missing.length, 0, `${missing.length} ACKed reports missing after kill -9`);
    const second = await spawnGateway(args);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });

  it('starts on a corrupt database: quarantined, fresh store, storage_reset event, serving', async () => {
    const t = tempDir('tkgw-corrupt-');
    cleanups.push(t.cleanup);
    writeFileSync(join(t.dir, 'gateway.db'), Buffer.alloc(16384, 0x42));
    const gw = await startGateway({}, t.dir);
    cleanups.push(() => gw.stop());
    assert.ok(readdirSync(t.dir).some((f) => f.startsWith('gateway.db.corrupt-')));
    assert.ok(rows(gw, 'evt').some((r) => r.type === 'storage_reset'));
    const c = await client(gw.port);
    c.send('*HQ,135790246811220,V0#');
    await c.waitForBytes(23);
  });

  it('refuses to bind twice with a clear error (exit 1 before anything serves)', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as net.AddressInfo).port;
    const t = tempDir('tkgw-bind-');
    cleanups.push(t.cleanup);
    const r = await runCli(['start', '--host', '127.0.0.1', '--port', String(port), '--data-dir', t.dir, '--http-port', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot listen/);
  });
});
